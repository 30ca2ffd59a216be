# Title: client: version, manual and usage errors
# Tags: client

version=$(client version)
log "$version"
build_dir=$(dirname "$CLIENT")/..
check_equal "version number" "$(sed -n 's/^version=//p' "$build_dir/VERSION")" \
  "$(echo "$version" | awk '{ print $2 }')"
case $version in
  *"machine $(uname -m))") log "ok: built for this machine" ;;
  *) log "Check failed: $version does not name $(uname -m)" >&2; exit 1 ;;
esac
check_equal "manual has one line per command" 13 "$(client man | wc -l | tr -d ' ')"
check_fails "unknown commands print the usage" "Commands:" client frobnicate
set +e; client hex 2>/dev/null; rc=$?; set -e
check_equal "usage errors exit with 2" 2 "$rc"
