# Title: client: version, manual and usage errors
# Tags: client
# The client's command-line tests (unit:cli), run by tezt/main.sh.

version=$(client version)
log "$version"
build_dir=$(dirname "$CLIENT")/..
[ -f "$build_dir/VERSION" ] || build_dir=$build_dir/..
check_equal "version number" "$(sed -n 's/^version=//p' "$build_dir/VERSION")" \
  "$(echo "$version" | awk '{ print $2 }')"
case $version in
  *"machine $(uname -m))") log "ok: runs on this machine" ;;
  *) log "Check failed: $version does not name $(uname -m)" >&2; exit 1 ;;
esac
check_equal "manual has one line per command" 8 "$(client man | wc -l | tr -d ' ')"
check_fails "unknown commands print the usage" "Commands:" client frobnicate
set +e; client hex 2>/dev/null; rc=$?; set -e
check_equal "usage errors exit with 2" 2 "$rc"
set +e; client hex decode zz 2>/dev/null; rc=$?; set -e
check_equal "bad input exits with 1" 1 "$rc"
check_fails "bad input is named" "invalid hex string 'zz'" client hex decode zz
