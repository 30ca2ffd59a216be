#!/bin/sh
# Usage: scripts/build.sh ARCH [--client-only]      (ARCH is x86_64 or arm64)
#
# Builds octez-mini with dune (release profile) and gathers what the test jobs
# need into _bin/ARCH/:
#   bin/octez-mini-client       the client, a native executable for ARCH
#   test/test_*.exe             the Alcotest unit tests (not with --client-only)
#   cov/                        with COVERAGE_OPTIONS=--instrument: the same
#                               client and tests compiled by scripts/instrument.sh
#                               with ocamlcp, which count what runs
#   VERSION, SHA256SUMS         what was built, on which machine, and checksums
# --client-only builds the client alone (the arm64 build runs under qemu, where
# compiling is slow).
set -eu

arch=${1:-}
client_only=no
[ "${2:-}" = --client-only ] && client_only=yes
case $arch in
  x86_64) machine=x86_64 ;;
  arm64) machine=aarch64 ;;
  *) echo "Usage: $0 x86_64|arm64 [--client-only]" >&2; exit 2 ;;
esac
# Refuse to build on the wrong machine: a build_arm64 job that the runner did
# not send to an arm64 platform must fail, not silently build for x86_64.
if [ "$(uname -m)" != "$machine" ]; then
  echo "Error: ARCH=$arch builds on $machine machines only; this one is $(uname -m)" >&2
  exit 1
fi
. ./scripts/version.sh
compiler=ocaml-$(ocamlfind ocamlopt -version)
case $compiler in
  "$deps_image_version" | "$deps_image_version".*) ;;
  *) echo "Error: this image has $compiler; scripts/version.sh wants $deps_image_version" >&2; exit 1 ;;
esac
instrument=no
case " ${COVERAGE_OPTIONS:-} " in *" --instrument "*) instrument=yes ;; esac

out=_bin/$arch
rm -rf "$out"
mkdir -p "$out/bin"
if [ "$client_only" = yes ]; then
  dune build --profile release ./src/bin_client/main.exe
else
  dune build --profile release @install \
    ./src/lib_crypto/test/test_crypto.exe ./src/lib_michelson/test/test_michelson.exe
  mkdir -p "$out/test"
  cp _build/default/src/lib_crypto/test/test_crypto.exe _build/default/src/lib_michelson/test/test_michelson.exe "$out/test/"
fi
cp _build/default/src/bin_client/main.exe "$out/bin/octez-mini-client"
[ "$instrument" = no ] || ./scripts/instrument.sh "$out/cov"

cat > "$out/VERSION" <<EOV
version=$mini_version
commit=${CI_COMMIT_SHORT_SHA:-unknown}
target=$arch
machine=$(uname -m)
instrumented=$instrument
compiler=$compiler
EOV
(cd "$out" && find . -type f ! -name SHA256SUMS ! -name VERSION | sort | xargs sha256sum > SHA256SUMS)

# Smoke test on the machine we built on: base58check and SHA-256 of the
# all-zero key hash must give the well-known Tezos burn address.
burn=$("$out/bin/octez-mini-client" b58check encode tz1 0000000000000000000000000000000000000000)
if [ "$burn" != tz1Ke2h7sDdakHJQh8WX4Z372du1KChsksyU ]; then
  echo "Error: smoke test failed on $(uname -m): got '$burn'" >&2
  exit 1
fi
"$out/bin/octez-mini-client" version
cat "$out/VERSION"
