#!/usr/bin/env bash
# Refresh the third-party browser files nbshare serves itself, so rendered
# notebooks never call a CDN. Run by hand when bumping a version; the results
# are committed (they ship in the wheel, so `pip install .` needs no npm).
set -euo pipefail
REQUIREJS=2.3.8                # AMD loader that plotly/bokeh/widget outputs call
HTML_MANAGER=1.0.15            # @jupyter-widgets/html-manager, renders saved widget state (ipywidgets 8)
PLOTLY=2.35.3                  # plotly.js for application/vnd.plotly.v1+json outputs (2.x reads old figures)
dest="$(cd "$(dirname "$0")/.." && pwd)/src/nbshare/static/vendor"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "requirejs@$REQUIREJS" "@jupyter-widgets/html-manager@$HTML_MANAGER" \
  "plotly.js-dist-min@$PLOTLY" >/dev/null
mkdir r h p
tar xzf "requirejs-$REQUIREJS.tgz" -C r
tar xzf "jupyter-widgets-html-manager-$HTML_MANAGER.tgz" -C h
tar xzf "plotly.js-dist-min-$PLOTLY.tgz" -C p
cp r/package/require.js "$dest/require.js"
cp h/package/dist/embed-amd.js "$dest/html-manager-embed-amd.js"
cp p/package/plotly.min.js "$dest/plotly.min.js"
echo "vendored requirejs $REQUIREJS, html-manager $HTML_MANAGER and plotly.js $PLOTLY into $dest"
