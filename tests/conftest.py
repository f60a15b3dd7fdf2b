"""Shared pytest fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# The offline copy of the upstream data sets, beside the repository checkout.
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "datasets"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """Local data directory: RMBENCH_DATA_DIR if set, else the shared offline copy."""
    path = Path(os.environ.get("RMBENCH_DATA_DIR") or DEFAULT_DATA_DIR)
    if not path.is_dir():
        pytest.skip(
            f"data directory {path} not found; set RMBENCH_DATA_DIR to a directory laid out "
            "like the upstream files (hh-rlhf/, rm-bench/, llmbar/, ...)"
        )
    return path
