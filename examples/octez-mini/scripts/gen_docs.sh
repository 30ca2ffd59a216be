#!/bin/sh
# Usage: scripts/gen_docs.sh OUT_DIR [CLIENT]
#
# Generates the HTML reference of octez-mini's libraries from their doc
# comments with odoc, through `dune build @doc`, into OUT_DIR. With CLIENT (a
# built octez-mini-client), also writes OUT_DIR/cli.html from `CLIENT man`
# and links it from the index, as Octez's full documentation build adds the
# CLI manuals. documentation:linkcheck checks every link of the result.
set -eu
out=${1:?Usage: scripts/gen_docs.sh OUT_DIR [CLIENT]}
client=${2:-}
command -v odoc >/dev/null || { echo "Error: odoc is not in this image" >&2; exit 1; }
dune build @doc
rm -rf "$out"
mkdir -p "$out"
cp -R _build/default/_doc/_html/. "$out/"
find "$out" -name .dune-keep -exec rm -f {} +
if [ -n "$client" ]; then
  {
    echo '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>octez-mini-client manual</title></head><body>'
    echo '<p><a href="index.html">index</a></p><h1 id="commands">octez-mini-client</h1><dl>'
    "$client" man | sed 's/&/\&amp;/g; s/</\&lt;/g; s/>/\&gt;/g' |
      awk -F '\t' '{ printf "<dt><code>octez-mini-client %s</code></dt><dd>%s</dd>\n", $1, $2 }'
    echo '</dl></body></html>'
  } > "$out/cli.html"
  sed -i 's|</body>|<p><a href="cli.html#commands">The octez-mini-client manual</a></p></body>|' "$out/index.html"
fi
echo "documentation: $(find "$out" -name '*.html' | wc -l | tr -d ' ') pages in $out"
