# Every target creates its own virtual environment in .venv (only Python >= 3.10 needed).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HASH := $(shell cat pyproject.toml | cksum | cut -d' ' -f1)
STAMP := $(VENV)/.installed-$(HASH)
DEMO_STAMP := $(VENV)/.demo-$(HASH)

.PHONY: venv demo test test-all lint bench bench-dask bench-gpu docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,plot,dask,polars,progress,docs]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

venv: $(STAMP)

# the demo needs only the package and its four dependencies (no test or docs extras)
$(DEMO_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	rm -f $(VENV)/.demo-*
	touch $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	$(BIN)/panelre select grunfeld "inv ~ value + capital" --entity firm --time year

test: $(STAMP)
	$(BIN)/ruff check panelre tests
	$(BIN)/mypy panelre
	$(BIN)/python -m pytest -m "not slow" --doctest-modules --doctest-glob="*.md" panelre tests docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir $(VENV)/site

test-all: $(STAMP)
	$(BIN)/python -m pytest --doctest-modules --doctest-glob="*.md" panelre tests docs

lint: $(STAMP)
	$(BIN)/ruff check panelre tests benchmarks

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/mixed_bench.py
	$(BIN)/python benchmarks/crossed_bench.py
	$(BIN)/python benchmarks/gmm_bench.py

bench-dask: $(STAMP)
	$(BIN)/python benchmarks/dask_scale.py

bench-gpu: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[gpu]"
	$(BIN)/python benchmarks/gpu.py

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) site .pytest_cache
