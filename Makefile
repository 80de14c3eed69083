# RetinaSeg: `make run` and `make test` set up .venv themselves on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DRIVE ?= $(abspath ../shared/data/DRIVE)
SAMPLE := resources/samples/fundus_cc0.jpg

.PHONY: setup run test test-all lint bundle bundle-test bundle-benchmark benchmarks clean

$(STAMP): pyproject.toml requirements-cpu.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-cpu.txt
	$(PY) -m pip install --quiet -e ".[test,cluster]"
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(PY) -m gui $(SAMPLE)

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen RETINASEG_DRIVE=$${RETINASEG_DRIVE:-$(DRIVE)} $(PY) -m pytest -m "not slow and not bundle" -q

test-all: $(STAMP)
	QT_QPA_PLATFORM=offscreen RETINASEG_DRIVE=$${RETINASEG_DRIVE:-$(DRIVE)} $(PY) -m pytest -q

bundle: $(STAMP)
	$(PY) -m pip install --quiet -e ".[bundle]"
	$(PY) -m PyInstaller --noconfirm --clean build.spec
	dist/RetinaSeg/RetinaSeg --self-test

# Builds the bundle from a fresh clone and smoke-tests it offline and offscreen (CI runs this).
bundle-test: $(STAMP)
	$(PY) -m pip install --quiet -e ".[bundle]"
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -m bundle -q

bundle-benchmark: bundle
	$(PY) benchmarks/bundle.py dist/RetinaSeg

benchmarks: $(STAMP)
	RETINASEG_DRIVE=$${RETINASEG_DRIVE:-$(DRIVE)} $(PY) benchmarks/quality.py
	RETINASEG_DRIVE=$${RETINASEG_DRIVE:-$(DRIVE)} $(PY) benchmarks/infer_speed.py
	RETINASEG_DRIVE=$${RETINASEG_DRIVE:-$(DRIVE)} $(PY) benchmarks/gui_startup.py
	$(PY) benchmarks/gui_paint.py

lint: $(STAMP)
	$(PY) -m ruff check core gui tests benchmarks

clean:
	rm -rf $(VENV) build dist .pytest_cache
