# Helpers shared by the benchmark scripts (sourced, not run).
# Times are measured with bash's own clock; every benchmark reports ratios measured in one run.

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# ensure_peer: installs gitlab-ci-local 4.70.1 (and its helper image) with the shared tools when missing.
ensure_peer() {
  if ! command -v gitlab-ci-local >/dev/null 2>&1 || ! docker image inspect docker.io/firecow/gitlab-ci-local-util:latest >/dev/null 2>&1; then
    local shared
    shared=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/shared/tools
    if [ -x "$shared/peer-gitlab-ci-local.sh" ] || [ -f "$shared/peer-gitlab-ci-local.sh" ]; then
      echo "bench: installing the peer gitlab-ci-local with $shared (docker-env.sh, peer-gitlab-ci-local.sh)" >&2
      bash "$shared/docker-env.sh" >/dev/null
      bash "$shared/peer-gitlab-ci-local.sh" >/dev/null
    else
      echo "bench: gitlab-ci-local is not installed and ../shared/tools is not there; skipping the peer" >&2
      return 1
    fi
  fi
}

# make_repo DIR: turns DIR into a git repository with one commit and an origin remote (the peer
# compares rules:changes with origin/main and refuses to run without one).
make_repo() {
  local dir=$1
  git -C "$dir" init -q -b main
  git -C "$dir" -c user.email=bench@example.com -c user.name=bench add -A
  git -C "$dir" -c user.email=bench@example.com -c user.name=bench commit -q -m "bench"
  git init -q --bare "$dir.origin.git"
  git -C "$dir" remote add origin "$dir.origin.git"
  git -C "$dir" push -q origin main
}

# tcl_binary: prints the tezos-ci-local binary to measure. TCL_BIN names one (for example a build of
# an earlier commit, to compare before and after a change); otherwise the release build of this
# checkout, built first, in CARGO_TARGET_DIR when set.
tcl_binary() {
  if [ -n "${TCL_BIN:-}" ]; then
    [ -x "$TCL_BIN" ] || { echo "bench: TCL_BIN=$TCL_BIN is not an executable" >&2; return 2; }
    echo "$TCL_BIN"
    return
  fi
  local repo
  repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  echo "bench: building tezos-ci-local (release)..." >&2
  cargo build --release -q --manifest-path "$repo/Cargo.toml" >&2
  echo "${CARGO_TARGET_DIR:-$repo/target}/release/tezos-ci-local"
}
