#: octez-mini-client, the command-line entry point (a tiny octez-client).
#: scripts/build.sh assembles it with the libraries into one executable and
#: appends the call to cli_main, so that this file can also be sourced by tests.

## cli_man
## Prints the manual: one "usage<TAB>description" line per command. The usage
## text and documentation:build_all's CLI page are both generated from it.
cli_man() {
  cat <<'EOF'
version	Print the version, commit and architecture of this build.
hex encode STRING	Print the hexadecimal encoding of STRING.
hex decode HEX	Print the text that HEX encodes.
hash sha256 HEX	Print the SHA-256 digest of the bytes HEX encodes.
b58check encode KIND HEX	Encode HEX with the base58check prefix KIND (B, o, P, Net, tz1, expr) or, with KIND raw, as is.
b58check decode BASE58	Check a base58check string and print its bytes (prefix included) as hex.
run script PROGRAM	Typecheck and run a mini-Michelson PROGRAM on an empty stack.
hash block LEVEL PREDECESSOR TIMESTAMP [OPERATION...]	Print the hash of a block header.
check header FILE	Check that the JSON header in FILE (- for stdin) hashes to its hash field.
bake DIR COUNT	Bake COUNT empty blocks on top of genesis into DIR.
check chain DIR	Check that the blocks in DIR form a valid chain.
rpc get PATH	GET PATH from the node at $MINI_ENDPOINT (default http://localhost:8732).
man	Print this manual.
EOF
}

## cli_usage
## Prints the list of commands on stderr.
cli_usage() {
  {
    echo "Usage: octez-mini-client COMMAND [ARGUMENT...]"
    echo "Commands:"
    cli_man | awk -F '\t' '{ printf "  %-52s %s\n", $1, $2 }'
  } >&2
}

## cli_version
## Prints the version line, including the machine the client was built on, so
## that a build job's output records the architecture it really ran on.
cli_version() {
  echo "Octez-mini ${MINI_VERSION:-dev} (commit ${MINI_COMMIT:-unknown}, target ${MINI_TARGET:-none}, machine ${MINI_MACHINE:-$(uname -m)})"
}

## rpc_get PATH
## Prints the body of GET $MINI_ENDPOINT/PATH; fails when the node does not answer.
rpc_get() {
  _rpc_url="${MINI_ENDPOINT:-http://localhost:8732}/${1#/}"
  wget -q -O - "$_rpc_url" || { echo "Error: no answer from $_rpc_url" >&2; return 1; }
}

## cli_main COMMAND [ARGUMENT...]
## Dispatches a command line to the libraries; exits 1 on error, 2 on bad usage.
cli_main() {
  case "$1 $2" in
    "version "*) cli_version ;;
    "man "*) cli_man ;;
    "hex encode") [ $# -eq 3 ] || { cli_usage; return 2; }; hex_encode "$3" ;;
    "hex decode") [ $# -eq 3 ] || { cli_usage; return 2; }; hex_decode "$3" ;;
    "hash sha256") [ $# -eq 3 ] || { cli_usage; return 2; }; sha256_hex "$3" ;;
    "b58check encode")
      [ $# -eq 4 ] || { cli_usage; return 2; }
      if [ "$3" = raw ]; then
        b58check_encode "$4"
      else
        _cli_prefix=$(b58_prefix "$3") || return 1
        b58check_encode "$_cli_prefix$4"
      fi ;;
    "b58check decode") [ $# -eq 3 ] || { cli_usage; return 2; }; b58check_decode "$3" ;;
    "run script") [ $# -eq 3 ] || { cli_usage; return 2; }; mich_run "$3" ;;
    "hash block")
      [ $# -ge 5 ] || { cli_usage; return 2; }
      shift 2
      _cli_level=$1 _cli_pred=$2 _cli_ts=$3
      shift 3
      _cli_ops=$(block_operations_hash "$@")
      block_hash "$_cli_level" "$_cli_pred" "$_cli_ts" "$_cli_ops" ;;
    "check header")
      [ $# -eq 3 ] || { cli_usage; return 2; }
      if [ "$3" = - ]; then
        # block_check_json reads a file; keep stdin in one so it can be read many times.
        _cli_tmp=$(mktemp) || return 1
        cat > "$_cli_tmp"
        block_check_json "$_cli_tmp"; _cli_rc=$?
        rm -f "$_cli_tmp"
        return $_cli_rc
      fi
      block_check_json "$3" ;;
    "bake "*) [ $# -eq 3 ] || { cli_usage; return 2; }; chain_bake "$2" "$3" ;;
    "check chain") [ $# -eq 3 ] || { cli_usage; return 2; }; chain_check "$3" ;;
    "rpc get") [ $# -eq 3 ] || { cli_usage; return 2; }; rpc_get "$3" ;;
    *) cli_usage; return 2 ;;
  esac
}
