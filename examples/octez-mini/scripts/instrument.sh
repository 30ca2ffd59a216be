#!/bin/sh
# Usage: scripts/instrument.sh OUT_DIR
#
# Coverage without bisect_ppx (Debian does not package it): compiles the
# libraries, the client and the unit tests again as ocamlcp -P a does, with
# OCaml's own profiler, which counts every branch point (function entries, match and
# if arms, loops, try handlers) of the instrumented sources. Each instrumented
# executable adds its counts, when it exits, to the file named by
# OCAMLPROF_DUMP. scripts/coverage_report.sh reads them with ocamlprof.
# Writes to OUT_DIR: octez-mini-client.byte, test_crypto.byte and
# test_michelson.byte (bytecode, run with ocamlrun), and their compiled
# objects (which the build job's artifacts:exclude leaves out).
set -eu
out=${1:?Usage: scripts/instrument.sh OUT_DIR}
rm -rf "$out"
mkdir -p "$out"
cp src/lib_crypto/hex.ml src/lib_crypto/sha256.ml src/lib_crypto/base58.ml \
  src/lib_michelson/michelson.ml src/bin_client/main.ml \
  src/lib_crypto/test/test_crypto.ml src/lib_michelson/test/test_michelson.ml "$out/"
echo "let architecture = \"$(ocamlfind ocamlc -config | sed -n 's/^architecture: //p')\"" > "$out/build_info.ml"
cd "$out"
# What ocamlcp -P a does, in two steps: ocamlcp would compile each instrumented source from
# a temporary file of random name, which ends up in the objects, and no two builds would be
# byte-identical. Here the instrumented sources keep their names.
for ml in *.ml; do
  ocamlprof -instrument -m a "$ml" > "$ml.instrumented"
  mv "$ml.instrumented" "$ml"
done
c="ocamlfind ocamlc -package unix,alcotest"
$c -c hex.ml sha256.ml base58.ml michelson.ml build_info.ml main.ml test_crypto.ml test_michelson.ml
$c -linkpkg profiling.cmo hex.cmo sha256.cmo base58.cmo michelson.cmo build_info.cmo main.cmo \
  -o octez-mini-client.byte
$c -linkpkg profiling.cmo hex.cmo sha256.cmo base58.cmo test_crypto.cmo -o test_crypto.byte
$c -linkpkg profiling.cmo michelson.cmo test_michelson.cmo -o test_michelson.byte
# The sources were copied for the compiler only: coverage_report.sh reads the checkout's.
rm -f ./*.ml
echo "instrumented: $(ls ./*.byte | tr '\n' ' ')"
