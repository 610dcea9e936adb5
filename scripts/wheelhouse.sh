#!/usr/bin/env bash
# Download the wheels that the environment-building tests install offline (ipykernel and its
# dependencies, plus setuptools for building a tiny package) into .cache/wheelhouse.
# Idempotent: a stamp per Python version records a complete download, so `make test` can call
# it every time; only the first call needs PyPI.
#   scripts/wheelhouse.sh                  wheels for .venv/bin/python
#   scripts/wheelhouse.sh path/to/python   wheels for another interpreter
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
python="${1:-$root/.venv/bin/python}"
dest="$root/.cache/wheelhouse"
stamp="$dest/.complete-$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
if [[ -f "$stamp" ]]; then
  exit 0
fi
mkdir -p "$dest"
"$python" -m pip download --quiet --disable-pip-version-check --dest "$dest" --only-binary=:all: \
  ipykernel setuptools
touch "$stamp"
echo "wheelhouse ready: $dest"
