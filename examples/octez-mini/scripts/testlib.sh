# Assertions for the unit tests (src/*/test/*.sh), sourced by scripts/test_wrapper.sh
# before each test file. Every check appends one line to $T_RESULTS, which the
# wrapper turns into JUnit XML; a failed check does not stop the file, so that
# one run reports every failure.

# t_record STATUS NAME [MESSAGE]: one result line; tabs and newlines would break the format.
t_record() {
  _t_msg=$(printf '%s' "${3:-}" | tr '\t\n' '  ')
  printf '%s\t%s\t%s\t0\t%s\n' "$1" "$T_CLASS" "$2" "$_t_msg" >> "$T_RESULTS"
  if [ "$1" = pass ]; then echo "ok - $T_CLASS: $2"; else echo "not ok - $T_CLASS: $2: $_t_msg"; fi
}

# check NAME EXPECTED ACTUAL
check() {
  if [ "$2" = "$3" ]; then t_record pass "$1"; else t_record fail "$1" "expected [$2], got [$3]"; fi
}

# check_fails NAME ERROR_SUBSTRING COMMAND...: COMMAND must fail and say ERROR_SUBSTRING on stderr.
check_fails() {
  _t_name=$1 _t_want=$2
  shift 2
  if _t_err=$("$@" 2>&1 >/dev/null); then
    t_record fail "$_t_name" "succeeded, expected a failure mentioning [$_t_want]"
  else
    case $_t_err in
      *"$_t_want"*) t_record pass "$_t_name" ;;
      *) t_record fail "$_t_name" "failed with [$_t_err], expected [$_t_want]" ;;
    esac
  fi
}
