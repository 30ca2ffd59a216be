# Unit tests of lib_block/block.sh. The expected hashes were computed
# independently with Python's hashlib and struct from the documented layout.

genesis=BLockGenesisGenesisGenesisGenesisGenesisf79b5d1CoW2
empty_ops=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

check "genesis" "$genesis" "$(block_genesis)"
check "operations hash of no operation" "$empty_ops" "$(block_operations_hash)"
check "operations hash of two operations" \
  "$(printf 'transfer 1\ntransfer 2\n' | sha256sum | cut -d ' ' -f 1)" \
  "$(block_operations_hash 'transfer 1' 'transfer 2')"
check "serialization layout" \
  "000000018fcf233671b6a04fcf679d2a381c2544ea6c1ea29ba6157776ed8424c7ccd00b00000000625900ae$empty_ops" \
  "$(block_serialize 1 "$genesis" 1650000046 "$empty_ops")"
check "hash of level 1" BLTC15jKvxWsgLjWT2wMMfw7d6R2GUNiR2yh22WkKAAXVCCyK7r \
  "$(block_hash 1 "$genesis" 1650000030 "$empty_ops")"
check_fails "level with leading zero is refused" "invalid level" block_serialize 01 "$genesis" 1 "$empty_ops"
check_fails "predecessor must be a block hash" "is not a block hash" \
  block_serialize 1 tz1Ke2h7sDdakHJQh8WX4Z372du1KChsksyU 1 "$empty_ops"
check_fails "operations hash must be 32 bytes" "invalid operations hash" block_serialize 1 "$genesis" 1 abcd

json=$(block_header_json 1 "$genesis" 1650000030 "$empty_ops")
check "json_field reads numbers" 1650000030 "$(echo "$json" | json_field timestamp)"
check "json_field reads strings" "$genesis" "$(echo "$json" | json_field predecessor)"
check "json_field reads the hash" BLTC15jKvxWsgLjWT2wMMfw7d6R2GUNiR2yh22WkKAAXVCCyK7r "$(echo "$json" | json_field hash)"
check_fails "json_field fails on absent fields" "" json_field nope < /dev/null

dir=$(mktemp -d)
check "chain_bake prints the head" BLX3Neht4EuMARAeuiJa6scb7FPAbg9Khd25bf4xpaRkAa83fje "$(chain_bake "$dir" 3)"
check "chain_bake links level 2 to level 1" BLTC15jKvxWsgLjWT2wMMfw7d6R2GUNiR2yh22WkKAAXVCCyK7r \
  "$(json_field predecessor < "$dir/block_0002.json")"
check "block_check_json accepts a baked block" BLoXCkojwgfHXLSGWa7AMoA3cHZcKCJ13H1LcynyEgEeoapcyQU \
  "$(block_check_json "$dir/block_0002.json")"
check "chain_check accepts the chain" \
  "chain ok: 3 blocks, head BLX3Neht4EuMARAeuiJa6scb7FPAbg9Khd25bf4xpaRkAa83fje" "$(chain_check "$dir")"
sed 's/1650000060/1650000061/' "$dir/block_0002.json" > "$dir/tampered" && mv "$dir/tampered" "$dir/block_0002.json"
check_fails "chain_check detects a tampered header" "its header hashes to" chain_check "$dir"
rm -rf "$dir"
