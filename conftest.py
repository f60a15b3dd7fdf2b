"""Root conftest: loads the rmbench pytest plugins for the library tests and the claim suites."""

pytest_plugins = ["fixtures.plugin", "fixtures.claims"]
