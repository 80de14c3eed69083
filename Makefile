# RetinaSeg: `make run` and `make test` set up .venv themselves on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DRIVE ?= $(abspath ../shared/data/DRIVE)
SAMPLE := resources/samples/fundus_cc0.jpg

.PHONY: setup run gui test test-all lint bundle benchmarks clean

$(STAMP): pyproject.toml requirements-cpu.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-cpu.txt
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(PY) -m gui $(SAMPLE)

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen RETINASEG_DRIVE=$${RETINASEG_DRIVE:-$(DRIVE)} $(PY) -m pytest -m "not slow and not bundle" -q

test-all: $(STAMP)
	QT_QPA_PLATFORM=offscreen RETINASEG_DRIVE=$${RETINASEG_DRIVE:-$(DRIVE)} $(PY) -m pytest -q

lint: $(STAMP)
	$(PY) -m ruff check core gui tests benchmarks

clean:
	rm -rf $(VENV) build dist .pytest_cache
