#!/bin/sh
# Usage: scripts/build.sh ARCH        (ARCH is x86_64, arm64 or s390x)
#
# Builds octez-mini for ARCH into _build/ARCH/:
#   bin/octez-mini-client   the client: every library and the CLI in one script
#   lib/octez-mini.sh       the same without the call to cli_main, for tests to source
#   functions.txt           every function ("file name"), the denominator of coverage
#   VERSION, SHA256SUMS     what was built, on which machine, and checksums
#
# Each source is first "compiled" into _build/ARCH/obj/: checked with sh -n,
# stripped of whole-line comments, and instrumented for coverage when
# COVERAGE_OPTIONS contains --instrument (as Octez's builds use bisect_ppx).
# Compiled objects are kept in _cache/, keyed by the source, this script and
# the options, so that a job restoring the CI cache skips unchanged sources.
set -eu

arch=${1:-}
case $arch in
  x86_64) machine=x86_64 ;;
  arm64) machine=aarch64 ;;
  s390x) machine=s390x ;;
  *) echo "Usage: $0 x86_64|arm64|s390x" >&2; exit 2 ;;
esac
# Refuse to build on the wrong machine: a build_arm64 job that the runner did
# not send to an arm64 platform must fail, not silently build for x86_64.
if [ "$(uname -m)" != "$machine" ]; then
  echo "Error: ARCH=$arch builds on $machine machines only; this one is $(uname -m)" >&2
  exit 1
fi

. ./scripts/version.sh
commit=${CI_COMMIT_SHORT_SHA:-unknown}
instrument=no
case " ${COVERAGE_OPTIONS:-} " in *" --instrument "*) instrument=yes ;; esac

# Link order: a library only calls functions of the ones before it.
sources="src/lib_crypto/hex.sh src/lib_crypto/sha256.sh src/lib_crypto/base58.sh
src/lib_michelson/michelson.sh src/lib_block/block.sh src/bin_client/main.sh"

out=_build/$arch
rm -rf "$out"
mkdir -p "$out/bin" "$out/lib" "$out/obj" _cache
: > "$out/functions.txt"
: > "$out/cache-keys"
hits=0
misses=0
for src in $sources; do
  obj=$out/obj/$(echo "$src" | tr / _)
  key=$({ cat scripts/build.sh "$src"; echo "instrument=$instrument"; } | sha256sum | cut -c 1-32)
  echo "$key" >> "$out/cache-keys"
  if [ -f "_cache/$key" ]; then
    cp "_cache/$key" "$obj"
    hits=$((hits + 1))
  else
    sh -n "$src"
    awk -v instrument="$instrument" '
      /^[ \t]*#/ || /^[ \t]*$/ { next }
      { print }
      instrument == "yes" && /^[a-z_][a-z0-9_]*\(\) \{$/ {
        name = $0; sub(/\(\).*/, "", name); print "  __cov " name
      }' "$src" > "$obj"
    cp "$obj" "_cache/$key"
    misses=$((misses + 1))
  fi
  sed -n 's/^\([a-z_][a-z0-9_]*\)() {$/\1/p' "$src" | sed "s|^|$src |" >> "$out/functions.txt"
done
# Drop cache entries this build did not use, so that the cache does not grow forever.
for f in _cache/*; do
  grep -qx "${f#_cache/}" "$out/cache-keys" || rm -f "$f"
done
echo "compiled $((hits + misses)) sources: $hits from _cache/, $misses rebuilt"

{
  echo "#!/bin/sh"
  echo "# octez-mini $mini_version for $arch, assembled by scripts/build.sh: do not edit."
  echo "MINI_VERSION='$mini_version'"
  echo "MINI_COMMIT='$commit'"
  echo "MINI_TARGET='$arch'"
  echo "MINI_MACHINE='$(uname -m)'"
  if [ "$instrument" = yes ]; then
    # Each instrumented function appends its name to a file of BISECT_FILE (the
    # directory Octez's bisect_ppx writes to); one file per process avoids
    # interleaved writes. Without BISECT_FILE the client records nothing.
    echo '__cov() {'
    echo '  if [ -n "${BISECT_FILE:-}" ] && [ -d "$BISECT_FILE" ]; then'
    echo '    echo "$1" 2>/dev/null >> "${BISECT_FILE%/}/visits.$$"'
    echo '  fi'
    echo '  return 0'
    echo '}'
  fi
  for src in $sources; do
    cat "$out/obj/$(echo "$src" | tr / _)"
  done
} > "$out/lib/octez-mini.sh"
{
  cat "$out/lib/octez-mini.sh"
  echo 'cli_main "$@"'
} > "$out/bin/octez-mini-client"
chmod +x "$out/bin/octez-mini-client"

cat > "$out/VERSION" <<EOV
version=$mini_version
commit=$commit
target=$arch
machine=$(uname -m)
instrumented=$instrument
functions=$(wc -l < "$out/functions.txt" | tr -d ' ')
EOV
(cd "$out" && sha256sum bin/octez-mini-client lib/octez-mini.sh > SHA256SUMS)

# Smoke test on the machine we built on: base58check and SHA-256 of the
# all-zero key hash must give the well-known Tezos burn address.
burn=$("$out/bin/octez-mini-client" b58check encode tz1 0000000000000000000000000000000000000000)
if [ "$burn" != tz1Ke2h7sDdakHJQh8WX4Z372du1KChsksyU ]; then
  echo "Error: smoke test failed on $(uname -m): got '$burn'" >&2
  exit 1
fi
"$out/bin/octez-mini-client" version
cat "$out/VERSION"
