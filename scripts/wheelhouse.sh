#!/usr/bin/env bash
# Download the wheels that tests install offline into .cache/wheelhouse:
#   - ipykernel and its dependencies, and setuptools for building a tiny package (the
#     environments `nbshare clone` builds);
#   - nbshare's own build requirements and its client dependencies, so a test can build
#     nbshare's wheel and install the light client (no `server` extra) into a fresh
#     virtual environment (tests/test_light_client.py);
#   - the peers' clients of tests/peer_clients.txt (NbHub's, notebooksharing.space's) and their
#     dependencies, as wheels in .cache/wheelhouse/peers (tests/test_peer_clients.py). A folder
#     of their own: their dependencies never compete with nbshare's in the main wheelhouse.
# Idempotent: a stamp per Python version and list of requirements records a complete
# download, so `make test` can call it every time; only the first call (and the first after
# pyproject.toml's requirements change) needs PyPI.
#   scripts/wheelhouse.sh                  wheels for .venv/bin/python
#   scripts/wheelhouse.sh path/to/python   wheels for another interpreter
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
python="${1:-$root/.venv/bin/python}"
dest="$root/.cache/wheelhouse"
# One requirement per line: the build system's and the core (client) dependencies, as pyproject
# declares them, so this list is never written twice.
requirements="$("$python" - "$root/pyproject.toml" <<'EOF'
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    pyproject = tomllib.load(f)
for line in ["ipykernel", "setuptools", *pyproject["build-system"]["requires"], *pyproject["project"]["dependencies"]]:
    print(line)
EOF
)"
key="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')-$(printf '%s' "$requirements" | sha256sum | cut -c1-12)"
stamp="$dest/.complete-$key"
if [[ ! -f "$stamp" ]]; then
  mkdir -p "$dest"
  mapfile -t wanted <<<"$requirements"
  "$python" -m pip download --quiet --disable-pip-version-check --dest "$dest" --only-binary=:all: "${wanted[@]}"
  touch "$stamp"
  echo "wheelhouse ready: $dest"
fi
# `pip wheel`, not `pip download --only-binary`: NbHub is a source archive, built here once.
peers="$root/tests/peer_clients.txt"
peers_stamp="$dest/peers/.complete-${key%%-*}-$(sha256sum "$peers" | cut -c1-12)"  # per Python version too
if [[ ! -f "$peers_stamp" ]]; then
  mkdir -p "$dest/peers"
  "$python" -m pip wheel --quiet --disable-pip-version-check --wheel-dir "$dest/peers" -r "$peers"
  touch "$peers_stamp"
  echo "peers' wheels ready: $dest/peers"
fi
