# Two commands on a fresh clone: `make serve` and `make test`. Each sets up what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# What each command needs: `make serve` the service only (nbshare[server]); `make test` and
# `make lint` everything a contributor runs (nbshare[dev], which includes the server).
SERVER_STAMP := $(VENV)/.installed-server
DEV_STAMP    := $(VENV)/.installed-dev
DATA_DIR ?= data
HUB_PROXY := tests/hub/node_modules/.bin/configurable-http-proxy
# The suite mostly waits (servers starting, browsers, venvs being built), so it runs on every
# core: one worker per core, each taking whole test files (module fixtures are not started
# twice). PYTEST_WORKERS= runs it in one process; PYTEST_ARGS adds pytest's own options.
PYTEST_WORKERS ?= -n auto --dist loadfile

.PHONY: serve test lint bench bench-publish setup clean labextension

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The editable installs need no frontend (make labextension builds it for the tests).
$(SERVER_STAMP): pyproject.toml | $(BIN)/python
	SKIP_JUPYTER_BUILDER=1 $(BIN)/python -m pip install --quiet -e '.[server]'
	touch $(SERVER_STAMP)

# The dev install holds the server's packages too, so it stands for both.
$(DEV_STAMP): pyproject.toml | $(BIN)/python
	SKIP_JUPYTER_BUILDER=1 $(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(DEV_STAMP) $(SERVER_STAMP)

setup: $(DEV_STAMP)

serve: $(SERVER_STAMP)
	$(BIN)/nbshare serve --data-dir $(DATA_DIR) $(ARGS)

test: $(DEV_STAMP) labextension $(HUB_PROXY)
	scripts/ensure-debian-package.sh chromium "the browser tests" 'command -v chromium'
	scripts/ensure-debian-package.sh postgresql "the PostgreSQL tests" \
	  'ls /usr/lib/postgresql/*/bin/initdb || command -v initdb'
	scripts/wheelhouse.sh
	$(BIN)/python -m pytest $(PYTEST_WORKERS) $(PYTEST_ARGS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src

bench: $(DEV_STAMP)
	$(BIN)/python bench/render_bench.py

bench-publish: $(DEV_STAMP)
	$(BIN)/python bench/publish_bench.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info
	rm -rf labextension/node_modules labextension/lib labextension/tsconfig.tsbuildinfo src/nbshare/labextension
	rm -rf tests/hub/node_modules

# --- the JupyterLab extension's frontend (labextension/, docs/jupyter.md) ---------------------
# TypeScript built with @jupyterlab/builder into src/nbshare/labextension/, which the wheel
# ships as share/jupyter/labextensions/nbshare and the browser tests load. Needs node and npm;
# only the first `npm ci` downloads. `make serve` does not need it.
LABEXT_DEPS  := labextension/node_modules/.package-lock.json
LABEXT_BUILT := src/nbshare/labextension/static/style.js

$(LABEXT_DEPS): labextension/package.json labextension/package-lock.json
	@command -v npm >/dev/null || { echo "Building the JupyterLab extension needs node (18+) and npm: https://nodejs.org, or apt-get install nodejs npm" >&2; exit 1; }
	cd labextension && npm ci --no-audit --no-fund
	touch $@

$(LABEXT_BUILT): $(LABEXT_DEPS) labextension/build.mjs labextension/tsconfig.json \
		$(wildcard labextension/src/*.ts labextension/style/*)
	cd labextension && npm run build
	touch $@

labextension: $(LABEXT_BUILT)

# --- configurable-http-proxy, the proxy JupyterHub runs, for tests/browser/test_jupyterhub.py ----
# From the npm registry, pinned by tests/hub/package-lock.json (HUB_PROXY is set at the top).

$(HUB_PROXY): tests/hub/package.json tests/hub/package-lock.json
	@command -v npm >/dev/null || { echo "The JupyterHub test needs node (20+) and npm for configurable-http-proxy" >&2; exit 1; }
	cd tests/hub && npm ci --no-audit --no-fund
	touch $@
