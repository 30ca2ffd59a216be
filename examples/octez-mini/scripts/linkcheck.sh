#!/bin/sh
# Usage: scripts/linkcheck.sh DOC_DIR
#
# Checks every link of the generated HTML, as Octez's `make -C docs linkcheck`
# does with Sphinx: a relative href or src must name an existing file (from
# the page's folder) and, with a #fragment, an element with that id in it.
# Absolute http(s) links are listed but not fetched (CI jobs may have no
# network). Fails on a broken link.
set -eu
dir=${1:?Usage: scripts/linkcheck.sh DOC_DIR}
[ -f "$dir/index.html" ] || { echo "Error: $dir/index.html not found (in CI: needs documentation:build)" >&2; exit 1; }
broken=0 checked=0 external=0
links=$(mktemp)
for page in $(find "$dir" -name '*.html' | sort); do
  grep -o '\(href\|src\)="[^"]*"' "$page" | sed 's/^[a-z]*="//; s/"$//' | sed "s|^|$page |" >> "$links" || true
done
while read -r page target; do
  case $target in
    http://* | https://*) external=$((external + 1)); echo "external (not fetched): $target"; continue ;;
  esac
  checked=$((checked + 1))
  file=${target%%#*}
  anchor=""
  case $target in *'#'*) anchor=${target#*#} ;; esac
  if [ -n "$file" ]; then file=$(dirname "$page")/$file; else file=$page; fi
  case $file in */) file=${file}index.html ;; esac
  if [ ! -f "$file" ]; then
    echo "BROKEN: $page -> $target: no file $file"
    broken=$((broken + 1))
  elif [ -n "$anchor" ] && ! grep -q "id=\"$anchor\"" "$file"; then
    echo "BROKEN: $page -> $target: no id $anchor in $file"
    broken=$((broken + 1))
  fi
done < "$links"
rm -f "$links"
echo "linkcheck: $checked local links checked, $broken broken, $external external"
[ "$broken" -eq 0 ]
