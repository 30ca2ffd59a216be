#!/bin/sh
# Usage: scripts/instrument.sh OUT_DIR
#
# Coverage without bisect_ppx (Debian does not package it): compiles the
# libraries, the client and the unit tests again with ocamlcp -P a, OCaml's
# own profiler, which counts every branch point (function entries, match and
# if arms, loops, try handlers) of the instrumented sources. Each instrumented
# executable adds its counts, when it exits, to the file named by
# OCAMLPROF_DUMP. scripts/coverage_report.sh reads them with ocamlprof.
# Writes to OUT_DIR: octez-mini-client.byte, test_crypto.byte,
# test_michelson.byte (bytecode, run with ocamlrun) and the sources they were
# compiled from (ocamlprof needs them).
set -eu
out=${1:?Usage: scripts/instrument.sh OUT_DIR}
rm -rf "$out"
mkdir -p "$out"
cp src/lib_crypto/hex.ml src/lib_crypto/sha256.ml src/lib_crypto/base58.ml \
  src/lib_michelson/michelson.ml src/bin_client/main.ml \
  src/lib_crypto/test/test_crypto.ml src/lib_michelson/test/test_michelson.ml "$out/"
echo "let architecture = \"$(ocamlfind ocamlc -config | sed -n 's/^architecture: //p')\"" > "$out/build_info.ml"
cd "$out"
cp=ocamlfind
$cp ocamlcp -P a -package unix,alcotest -c hex.ml sha256.ml base58.ml michelson.ml build_info.ml \
  main.ml test_crypto.ml test_michelson.ml
$cp ocamlcp -P a -package unix -linkpkg hex.cmo sha256.cmo base58.cmo michelson.cmo \
  build_info.cmo main.cmo -o octez-mini-client.byte
$cp ocamlcp -P a -package alcotest -linkpkg hex.cmo sha256.cmo base58.cmo test_crypto.cmo -o test_crypto.byte
$cp ocamlcp -P a -package alcotest -linkpkg michelson.cmo test_michelson.cmo -o test_michelson.byte
rm -f ./*.cm[io]
echo "instrumented: $(ls ./*.byte | tr '\n' ' ')"
