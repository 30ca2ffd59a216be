#!/bin/sh
# Usage: scripts/coverage_report.sh
#
# Merges the coverage that the test jobs recorded (_coverage_output/JOB.dump,
# ocamlprof counts of the executables scripts/instrument.sh compiled) and
# measures, in the sources of the libraries and the client, the share of
# instrumented points (function bodies, match and if arms, loops, handlers)
# that some test reached, like Octez's `make coverage-report` with bisect_ppx.
# Writes _coverage_report/index.html, one annotated page per source (ocamlprof
# writes each point's count in a comment) and summary.txt, and prints the
# line GitLab's `coverage:` regex reads:
#   Coverage: REACHED/POINTS (PERCENT%)
set -eu
sources="src/lib_crypto/hex.ml src/lib_crypto/sha256.ml src/lib_crypto/base58.ml
src/lib_michelson/michelson.ml src/bin_client/main.ml"
set -- _coverage_output/*.dump
[ -e "$1" ] || { echo "Error: no _coverage_output/*.dump: did the test jobs run the instrumented build (needs build_x86_64)?" >&2; exit 1; }
out=_coverage_report
rm -rf "$out"
mkdir -p "$out/work"
ocaml scripts/cov_merge.ml "$out/work/merged.dump" "$@"
echo "merged $# dump(s): $(echo "$@" | tr ' ' '\n' | sed 's|.*/||; s|\.dump$||' | tr '\n' ' ')"
# ocamlprof finds a source's counts by the name it was compiled under (scripts/instrument.sh
# compiles them side by side, without their folders).
for src in $sources; do cp "$src" "$out/work/"; done
{
  echo '<!DOCTYPE html>'
  echo '<html lang="en"><head><meta charset="utf-8"><title>octez-mini coverage</title></head><body>'
  echo '<h1>octez-mini coverage</h1><table><tr><th>source</th><th>points reached</th></tr>'
} > "$out/index.html"
: > "$out/work/counts.txt"
for src in $sources; do
  base=$(basename "$src")
  (cd "$out/work" && ocamlprof -f merged.dump "$base") > "$out/work/$base.annotated"
  # Every instrumented point is a "(* N *)" comment; the source's own comments hold no bare number.
  grep -o '(\* [0-9][0-9]* \*)' "$out/work/$base.annotated" | awk -v src="$src" '
    { total++; if ($2 > 0) reached++ }
    END { printf "%s %d %d\n", src, reached, total }' >> "$out/work/counts.txt"
  page=$(echo "$src" | tr / -).html
  {
    echo "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>$src</title></head><body>"
    echo "<p><a href=\"index.html\">index</a></p><h1>$src</h1><pre>"
    sed 's/&/\&amp;/g; s/</\&lt;/g; s/>/\&gt;/g; s|(\* 0 \*)|<strong>(* 0 *)</strong>|g' "$out/work/$base.annotated"
    echo "</pre></body></html>"
  } > "$out/$page"
done
awk '{ printf "<tr><td><a href=\"%s.html\">%s</a></td><td>%d/%d</td></tr>\n", gensub_safe($1), $1, $2, $3 }
  function gensub_safe(s) { gsub(/\//, "-", s); return s }' "$out/work/counts.txt" >> "$out/index.html"
awk '{ r += $2; t += $3; printf "  %-32s %d/%d\n", $1, $2, $3 }
  END { printf "Coverage: %d/%d (%.2f%%)\n", r, t, t ? 100 * r / t : 0 > "/dev/stderr" }' \
  "$out/work/counts.txt" 2> "$out/summary.txt"
printf '</table><p>%s</p></body></html>\n' "$(cat "$out/summary.txt")" >> "$out/index.html"
rm -rf "$out/work"
cat "$out/summary.txt"
