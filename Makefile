# One entry point for set-up, demo and tests. Every target is idempotent: the virtual
# environment is (re)built only when a pyproject changes.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.onnxhub-installed
CONTRIB := $(wildcard contrib/onnxhub-*)
# kserve's client pins protobuf < 7 and pandas < 3, which the project venv does not hold: it gets
# its own environment, driven from tests/server/test_errors_and_routes.py as a subprocess
KSERVE_VENV ?= .venv-kserve
KSERVE_STAMP := $(KSERVE_VENV)/.installed

.PHONY: setup browser demo test lint typecheck schema

setup: $(STAMP) browser

# Debian's headless Chromium for the browser tests (tests/browser drive it through Playwright)
browser:
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium chromium-driver)

$(STAMP): pyproject.toml Makefile $(wildcard contrib/*/pyproject.toml)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch comes first, pinned to the CPU build this machine kind ships (see README)
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[sklearn,tf,torch,test,dev]' $(foreach c,$(CONTRIB),-e $(c))
	touch $(STAMP)

$(KSERVE_STAMP):
	$(PYTHON) -m venv $(KSERVE_VENV)
	$(KSERVE_VENV)/bin/python -m pip install -q 'kserve>=0.14'
	touch $(KSERVE_STAMP)

demo: $(STAMP)
	$(VENV)/bin/onnxhub demo

test: $(STAMP) browser $(KSERVE_STAMP) lint typecheck
	ONNXHUB_KSERVE_PYTHON=$(KSERVE_VENV)/bin/python $(PY) -m pytest tests $(foreach c,$(CONTRIB),$(c)/tests)

lint: $(STAMP)
	$(VENV)/bin/ruff check hub plugins contrib tests bench
	$(VENV)/bin/ruff format --check hub plugins contrib tests bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy

schema: $(STAMP)
	$(PY) -m hub.catalog.schema > registry.db.sql
