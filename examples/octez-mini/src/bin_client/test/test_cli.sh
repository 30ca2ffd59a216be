# Tests of the assembled client, run as a separate program ($CLIENT), the way
# a user runs it. ARCH selects the build, so unit:cli-arm64 runs the same
# checks on the arm64 build under arm64.

expected_machine=$(sed -n 's/^machine=//p' "$(dirname "$CLIENT")/../VERSION")
check "the client runs on the machine it was built for" "$expected_machine" "$(uname -m)"
case $("$CLIENT" version) in
  "Octez-mini "*", machine $(uname -m))") t_record pass "version names the machine" ;;
  *) t_record fail "version names the machine" "got [$("$CLIENT" version)]" ;;
esac
check "man lists every command" 13 "$("$CLIENT" man | wc -l | tr -d ' ')"
check "hex encode" 74657a "$("$CLIENT" hex encode tez)"
check "hex decode" tez "$("$CLIENT" hex decode 74657a)"
check "hash sha256" ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad "$("$CLIENT" hash sha256 616263)"
check "b58check encode tz1" tz1Ke2h7sDdakHJQh8WX4Z372du1KChsksyU \
  "$("$CLIENT" b58check encode tz1 0000000000000000000000000000000000000000)"
check "b58check encode raw" 16UwLL9Risc3QfPqBUvKofHmBQ7wMtjvM \
  "$("$CLIENT" b58check encode raw 00010966776006953D5567439E5E39F86A0D273BEE)"
check "b58check decode" 06a19f0000000000000000000000000000000000000000 \
  "$("$CLIENT" b58check decode tz1Ke2h7sDdakHJQh8WX4Z372du1KChsksyU)"
check "run script" "{ 49 }" "$("$CLIENT" run script 'PUSH int 3; PUSH int 4; ADD; DUP; MUL')"
check "hash block" BLTC15jKvxWsgLjWT2wMMfw7d6R2GUNiR2yh22WkKAAXVCCyK7r \
  "$("$CLIENT" hash block 1 BLockGenesisGenesisGenesisGenesisGenesisf79b5d1CoW2 1650000030)"

dir=$(mktemp -d)
check "bake" BLX3Neht4EuMARAeuiJa6scb7FPAbg9Khd25bf4xpaRkAa83fje "$("$CLIENT" bake "$dir" 3)"
check "check chain" "chain ok: 3 blocks, head BLX3Neht4EuMARAeuiJa6scb7FPAbg9Khd25bf4xpaRkAa83fje" \
  "$("$CLIENT" check chain "$dir")"
check "check header from stdin" BLoXCkojwgfHXLSGWa7AMoA3cHZcKCJ13H1LcynyEgEeoapcyQU \
  "$("$CLIENT" check header - < "$dir/block_0002.json")"
rm -rf "$dir"

check_fails "errors go to stderr with a non-zero exit" "unknown primitive" "$CLIENT" run script NOP
check_fails "bad usage prints the usage" "Usage: octez-mini-client" "$CLIENT" hex encode
"$CLIENT" frobnicate 2>/dev/null; check "bad usage exits with 2" 2 $?
check_fails "rpc get without a node fails cleanly" "no answer from http://127.0.0.1:1/" \
  env MINI_ENDPOINT=http://127.0.0.1:1 "$CLIENT" rpc get /chains/main/blocks/head/header
