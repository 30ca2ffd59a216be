# Helpers for Tezt-like tests, sourced first by every tezt/tests/*.sh.
# A test is a shell script that exits 0 on success; the first failed check
# stops it, like a failed Check in Tezt. tezt/main.sh gives it:
#   CLIENT     the octez-mini-client to test
#   TEZT_TMP   a fresh temporary directory, removed afterwards
set -eu
: "${CLIENT:?CLIENT must name the octez-mini-client to test}"
: "${TEZT_TMP:?TEZT_TMP must name a temporary directory}"

# log MESSAGE...: a timestamped line in the test's log.
log() {
  echo "[$(date -u +%H:%M:%S)] $*"
}

# client ARGUMENT...: runs the client, logging the command line as Tezt does.
client() {
  log "octez-mini-client $*" >&2
  "$CLIENT" "$@"
}

# check_equal NAME EXPECTED ACTUAL
check_equal() {
  if [ "$2" != "$3" ]; then
    log "Check failed: $1: expected [$2], got [$3]" >&2
    exit 1
  fi
  log "ok: $1"
}

# check_fails NAME ERROR_SUBSTRING COMMAND...
check_fails() {
  _name=$1 _want=$2
  shift 2
  if _err=$("$@" 2>&1 >/dev/null); then
    log "Check failed: $_name: the command succeeded" >&2
    exit 1
  fi
  case $_err in
    *"$_want"*) log "ok: $_name (failed as expected: $_err)" ;;
    *) log "Check failed: $_name: expected an error with [$_want], got [$_err]" >&2; exit 1 ;;
  esac
}
