# Unit tests of lib_crypto/base58.sh. The vectors were computed independently
# (Python's int arithmetic) and two of them are famous: the Bitcoin wiki's
# address example and the Tezos null address tz1Ke2h7...

check "b58_encode of hello world" StV1DL6CwTryKyV "$(b58_encode 68656c6c6f20776f726c64)"
check "b58_encode keeps leading zero bytes as 1s" 111z "$(b58_encode 00000039)"
check "b58_encode of nothing" "" "$(b58_encode '')"
check "b58_encode of a Bitcoin address" 16UwLL9Risc3QfPqBUvKofHmBQ7wMtjvM \
  "$(b58_encode 00010966776006953D5567439E5E39F86A0D273BEED61967F6)"
check "b58_decode inverts b58_encode" 00010966776006953d5567439e5e39f86a0d273beed61967f6 \
  "$(b58_decode 16UwLL9Risc3QfPqBUvKofHmBQ7wMtjvM)"
check "b58_decode keeps leading 1s as zero bytes" 00000039 "$(b58_decode 111z)"
check_fails "b58_decode refuses 0 (not in the alphabet)" 'invalid base58 character "0"' b58_decode 10z

check "b58check_encode of a Bitcoin payload" 16UwLL9Risc3QfPqBUvKofHmBQ7wMtjvM \
  "$(b58check_encode 00010966776006953D5567439E5E39F86A0D273BEE)"
check "b58check_encode of the null tz1 address" tz1Ke2h7sDdakHJQh8WX4Z372du1KChsksyU \
  "$(b58check_encode "$(b58_prefix tz1)0000000000000000000000000000000000000000")"
check "b58check_decode of the genesis block hash" \
  01348fcf233671b6a04fcf679d2a381c2544ea6c1ea29ba6157776ed8424c7ccd00b \
  "$(b58check_decode BLockGenesisGenesisGenesisGenesisGenesisf79b5d1CoW2)"
check_fails "b58check_decode detects a corrupted character" "bad base58check checksum" \
  b58check_decode BLockGenesisGenesisGenesisGenesisGenesisf79b5d1CoW3
check_fails "b58check_decode refuses short strings" "too short" b58check_decode 1z

check "b58_prefix of block hashes" 0134 "$(b58_prefix B)"
check "b58_prefix of chain ids" 575200 "$(b58_prefix Net)"
check_fails "b58_prefix refuses unknown kinds" "unknown base58check prefix" b58_prefix tz9
