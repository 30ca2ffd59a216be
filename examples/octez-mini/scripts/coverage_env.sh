# Sourced by the x86_64 test jobs. When build_x86_64 was instrumented (it made
# _bin/x86_64/cov/, see scripts/instrument.sh) and BISECT_FILE is set, the
# tests run the instrumented executables, which add their counts, when they
# exit, to $OCAMLPROF_DUMP: one file per job, named after it, under
# BISECT_FILE (the directory Octez's bisect_ppx writes to), so that the
# artifacts of every test job land side by side in test_coverage.
if [ -n "${BISECT_FILE:-}" ] && [ -d "_bin/${ARCH:-x86_64}/cov" ]; then
  mkdir -p "$BISECT_FILE"
  # CI_JOB_NAME may hold spaces, colons and brackets ("unit:lib: [lib_crypto]").
  OCAMLPROF_DUMP=${BISECT_FILE%/}/$(printf '%s' "${CI_JOB_NAME:-local}" | tr -c 'A-Za-z0-9_.-' '_').dump
  CLIENT=$PWD/_bin/${ARCH:-x86_64}/cov/octez-mini-client.byte
  MINI_COVERAGE=yes
  export OCAMLPROF_DUMP CLIENT MINI_COVERAGE
  echo "coverage: the instrumented executables count into $OCAMLPROF_DUMP"
fi
