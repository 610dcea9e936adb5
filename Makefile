# Two commands on a fresh clone: `make serve` and `make test`. Each sets up what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# What each command needs: `make serve` the service only (nbshare[server]); `make test` and
# `make lint` everything a contributor runs (nbshare[dev], which includes the server).
SERVER_STAMP := $(VENV)/.installed-server
DEV_STAMP    := $(VENV)/.installed-dev
DATA_DIR ?= data

.PHONY: serve test lint bench setup clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(SERVER_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[server]'
	touch $(SERVER_STAMP)

# The dev install holds the server's packages too, so it stands for both.
$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(DEV_STAMP) $(SERVER_STAMP)

setup: $(DEV_STAMP)

serve: $(SERVER_STAMP)
	$(BIN)/nbshare serve --data-dir $(DATA_DIR) $(ARGS)

test: $(DEV_STAMP)
	scripts/ensure-debian-package.sh chromium "the browser tests" 'command -v chromium'
	scripts/ensure-debian-package.sh postgresql "the PostgreSQL tests" \
	  'ls /usr/lib/postgresql/*/bin/initdb || command -v initdb'
	scripts/wheelhouse.sh
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src

bench: $(DEV_STAMP)
	$(BIN)/python bench/render_bench.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info
