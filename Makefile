# The two commands of the README: `make demo` and `make test`. Both set up everything first.
PYTHON := .venv/bin/python

.PHONY: setup demo test lint bench clean

setup:
	@bash scripts/bootstrap.sh

demo: setup
	@bash scripts/demo.sh

test: setup
	$(PYTHON) -m pytest

lint: setup
	$(PYTHON) -m ruff check trim_telemetry_otel tests benchmarks example deploy scripts
	$(PYTHON) -m ruff format --check trim_telemetry_otel tests benchmarks example deploy scripts
	$(PYTHON) -m mypy

bench: setup
	$(PYTHON) benchmarks/overhead.py

clean:
	rm -rf .telemetry .pytest_cache .mypy_cache .ruff_cache .coverage* htmlcov build dist
