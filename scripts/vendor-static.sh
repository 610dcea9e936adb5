#!/usr/bin/env bash
# Refresh the third-party browser files nbshare serves itself, so rendered
# notebooks never call a CDN. Run by hand when bumping a version; the results
# are committed (they ship in the wheel, so `pip install .` needs no npm).
set -euo pipefail
REQUIREJS=2.3.8                # AMD loader that plotly/bokeh/widget outputs call
HTML_MANAGER=1.0.15            # @jupyter-widgets/html-manager, renders saved widget state (ipywidgets 8)
dest="$(cd "$(dirname "$0")/.." && pwd)/src/nbshare/static/vendor"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "requirejs@$REQUIREJS" "@jupyter-widgets/html-manager@$HTML_MANAGER" >/dev/null
mkdir r h
tar xzf "requirejs-$REQUIREJS.tgz" -C r
tar xzf "jupyter-widgets-html-manager-$HTML_MANAGER.tgz" -C h
cp r/package/require.js "$dest/require.js"
cp h/package/dist/embed-amd.js "$dest/html-manager-embed-amd.js"
echo "vendored requirejs $REQUIREJS and html-manager $HTML_MANAGER into $dest"
