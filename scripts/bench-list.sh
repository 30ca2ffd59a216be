#!/usr/bin/env bash
# Times `tezos-ci-local list` (release build) beside `gitlab-ci-local --list` on the 2026 Octez
# pipeline, in one run: the fixture is copied into a temporary git checkout (master and a feature
# branch pushed to a local `origin`, one more commit changing a source file), then both listers
# run alternately, N times each, and the script prints a table (median, min, max) and the ratio.
#
# Usage: scripts/bench-list.sh [N]          (default N=10)
# Environment: SOURCE (default merge_request_event, the pipeline with the most jobs: 142),
#              SHARED_DIR (default ../shared next to the repository), CARGO_TARGET_DIR.
#
# It installs nothing, except that it calls ../shared/tools/peer-gitlab-ci-local.sh when
# gitlab-ci-local is missing (and says so).
set -euo pipefail

n=${1:-10}
source_kind=${SOURCE:-merge_request_event}
repo=$(cd "$(dirname "$0")/.." && pwd)
shared=${SHARED_DIR:-$repo/../shared}
fixture=$shared/fixtures/octez/2026-08-21-d26a8bef
[ -f "$fixture/.gitlab-ci.yml" ] || { echo "no fixture at $fixture" >&2; exit 2; }

if ! command -v gitlab-ci-local >/dev/null 2>&1; then
  echo "gitlab-ci-local is missing: installing it with $shared/tools/peer-gitlab-ci-local.sh" >&2
  bash "$shared/tools/peer-gitlab-ci-local.sh" >&2
fi
peer_version=$(gitlab-ci-local --version 2>/dev/null)

. "$repo/scripts/bench-lib.sh"
ours=$(tcl_binary)
[ -x "$ours" ] || { echo "no binary at $ours" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
checkout=$work/octez
mkdir -p "$checkout" "$work/origin.git"
cp -r "$fixture/." "$checkout/"
chmod -R u+w "$checkout"
git -C "$work/origin.git" init -q --bare
(
  cd "$checkout"
  git init -q -b master
  echo ".gitlab-ci-local/" >> .git/info/exclude   # the peer's state directory
  mkdir -p src/lib_base && echo "let x = 1" > src/lib_base/base.ml
  git add -A && git commit -q -m "Octez pipeline"
  git remote add origin "$work/origin.git"
  git push -q -u origin master
  git remote set-head origin master
  git checkout -q -b feature
  git push -q -u origin feature
  echo "let x = 2" > src/lib_base/base.ml
  git commit -q -am "change a source file"
)

ours_cmd=("$ours" -C "$checkout" list --source "$source_kind" --variable CI_PROJECT_NAMESPACE=tezos)
peer_cmd=(gitlab-ci-local --list --variable CI_PROJECT_NAMESPACE=tezos
  --variable "CI_PIPELINE_SOURCE=$source_kind"
  --ignore-predefined-vars CI_PROJECT_NAMESPACE,CI_PIPELINE_SOURCE)

# Both must list the same number of jobs, or the timing compares different work.
ours_jobs=$("${ours_cmd[@]}" | tail -n +2 | wc -l)
peer_jobs=$(cd "$checkout" && "${peer_cmd[@]}" 2>/dev/null | awk '/^name /{found=1; next} found && NF' | wc -l)
echo "jobs listed for a $source_kind pipeline: tezos-ci-local $ours_jobs, gitlab-ci-local $peer_jobs" >&2

now_ms() { date +%s%N | awk '{printf "%.1f", $1 / 1000000}'; }
ours_t=(); peer_t=()
for i in $(seq "$n"); do
  t0=$(now_ms); "${ours_cmd[@]}" >/dev/null; t1=$(now_ms)
  ours_t+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b - a}')")
  t0=$(now_ms); (cd "$checkout" && "${peer_cmd[@]}" >/dev/null 2>&1); t1=$(now_ms)
  peer_t+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b - a}')")
  echo "  round $i/$n: tezos-ci-local ${ours_t[-1]} ms, gitlab-ci-local ${peer_t[-1]} ms" >&2
done

# median, min, max of a list of numbers
stats() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END{m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "%.1f %.1f %.1f", m, v[1], v[NR]}'; }
read -r om omin omax <<<"$(stats "${ours_t[@]}")"
read -r pm pmin pmax <<<"$(stats "${peer_t[@]}")"

echo
echo "list of the 2026 Octez pipeline ($source_kind, $ours_jobs jobs), $n runs each, alternating"
printf '%-28s %12s %12s %12s\n' "" "median (ms)" "min (ms)" "max (ms)"
printf '%-28s %12s %12s %12s\n' "tezos-ci-local (release)" "$om" "$omin" "$omax"
printf '%-28s %12s %12s %12s\n' "gitlab-ci-local $peer_version" "$pm" "$pmin" "$pmax"
awk -v o="$om" -v p="$pm" -v omin="$omin" -v pmin="$pmin" 'BEGIN{
  printf "ratio (gitlab-ci-local / tezos-ci-local): %.1fx on the median, %.1fx on the min (goal: 20x)\n", p / o, pmin / omin }'
