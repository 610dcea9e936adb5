# Two commands on a fresh clone: `make serve` and `make test`. Each sets up what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DATA_DIR ?= data

.PHONY: serve test lint bench setup clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

serve: $(STAMP)
	$(BIN)/nbshare serve --data-dir $(DATA_DIR) $(ARGS)

test: $(STAMP)
	scripts/ensure-debian-package.sh chromium "the browser tests" 'command -v chromium'
	scripts/ensure-debian-package.sh postgresql "the PostgreSQL tests" \
	  'ls /usr/lib/postgresql/*/bin/initdb || command -v initdb'
	scripts/wheelhouse.sh
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src

bench: $(STAMP)
	$(BIN)/python bench/render_bench.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info
