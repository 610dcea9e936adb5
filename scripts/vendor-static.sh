#!/usr/bin/env bash
# Refresh the third-party browser files nbshare serves itself, so rendered
# notebooks never call a CDN. Run by hand when bumping a version; the results
# are committed (they ship in the wheel, so `pip install .` needs no npm).
set -euo pipefail
REQUIREJS=2.3.8                # AMD loader that plotly/bokeh/widget outputs call
HTML_MANAGER=1.0.15            # @jupyter-widgets/html-manager, renders saved widget state (ipywidgets 8)
PLOTLY=2.35.3                  # plotly.js for application/vnd.plotly.v1+json outputs (2.x reads old figures)
VEGA=6.4.0                     # vega, vega-lite and vega-embed: Vega-Lite specs (altair), as mime
VEGA_LITE=6.5.0                #   bundles and as the HTML altair writes, which asks require.js for them
VEGA_EMBED=7.3.0
dest="$(cd "$(dirname "$0")/.." && pwd)/src/nbshare/static/vendor"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "requirejs@$REQUIREJS" "@jupyter-widgets/html-manager@$HTML_MANAGER" \
  "plotly.js-dist-min@$PLOTLY" "vega@$VEGA" "vega-lite@$VEGA_LITE" "vega-embed@$VEGA_EMBED" >/dev/null
mkdir r h p vg vl ve
tar xzf "requirejs-$REQUIREJS.tgz" -C r
tar xzf "jupyter-widgets-html-manager-$HTML_MANAGER.tgz" -C h
tar xzf "plotly.js-dist-min-$PLOTLY.tgz" -C p
tar xzf "vega-$VEGA.tgz" -C vg
tar xzf "vega-lite-$VEGA_LITE.tgz" -C vl
tar xzf "vega-embed-$VEGA_EMBED.tgz" -C ve
cp r/package/require.js "$dest/require.js"
cp h/package/dist/embed-amd.js "$dest/html-manager-embed-amd.js"
# Its Font Awesome fonts, which it asks for by these hashed names next to its modules
# (render/templates/nbshare/index.html.j2 tells require.js that is vendor/); woff2 is
# the first format its @font-face lists that browsers take, so the others never load.
rm -f "$dest"/*.woff2
cp h/package/dist/*.woff2 "$dest/"
cp p/package/plotly.min.js "$dest/plotly.min.js"
# UMD builds: AMD modules under require.js (which every page loads), globals without it.
cp vg/package/build/vega.min.js "$dest/vega.min.js"
cp vl/package/build/vega-lite.min.js "$dest/vega-lite.min.js"
cp ve/package/build/vega-embed.min.js "$dest/vega-embed.min.js"
echo "vendored requirejs $REQUIREJS, html-manager $HTML_MANAGER, plotly.js $PLOTLY, vega $VEGA," \
  "vega-lite $VEGA_LITE and vega-embed $VEGA_EMBED into $dest"
