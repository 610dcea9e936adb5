# Two commands on a fresh clone: `make serve` and `make test`. Each sets up what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DATA_DIR ?= data

.PHONY: serve test lint bench setup clean labextension

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# The editable install needs no frontend (make labextension builds it for the tests).
	SKIP_JUPYTER_BUILDER=1 $(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

serve: $(STAMP)
	$(BIN)/nbshare serve --data-dir $(DATA_DIR) $(ARGS)

test: $(STAMP) labextension
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
	rm -rf labextension/node_modules labextension/lib labextension/tsconfig.tsbuildinfo src/nbshare/labextension

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
