# datadesk: `make run` serves the demo, `make test` runs the whole suite (SQLite + PostgreSQL).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres

.PHONY: install run test test-sqlite test-postgresql check bench-grid bench-import bench-export bench-load clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/datadesk db upgrade
	$(BIN)/datadesk serve

test: $(STAMP)
	bash scripts/system-deps
	bash scripts/test-all

test-sqlite: $(STAMP)
	$(BIN)/python -m pytest -q

test-postgresql: $(STAMP)
	DATADESK_TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/python -m pytest -q

check: $(STAMP)
	$(BIN)/ruff check datadesk tests bench
	$(BIN)/ruff format --check datadesk tests bench
	$(BIN)/mypy
	$(BIN)/hadolint Dockerfile

bench-grid: $(STAMP)
	bash scripts/system-deps
	$(BIN)/python -m bench.grid

bench-import: $(STAMP)
	$(BIN)/python -m bench.imports

bench-export: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench.export

bench-load: $(STAMP)
	$(BIN)/python -m bench.load

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
