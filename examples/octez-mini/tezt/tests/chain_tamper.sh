# Title: chain: tampered chains are detected
# Tags: chain node

client bake "$TEZT_TMP/a" 5 > /dev/null
cp -r "$TEZT_TMP/a" "$TEZT_TMP/b"
sed 's/"timestamp": 1650000090/"timestamp": 1650000091/' "$TEZT_TMP/a/block_0003.json" > "$TEZT_TMP/b/block_0003.json"
check_fails "changed timestamp" "its header hashes to" client check chain "$TEZT_TMP/b"

rm -rf "$TEZT_TMP/b"; cp -r "$TEZT_TMP/a" "$TEZT_TMP/b"
rm "$TEZT_TMP/b/block_0002.json"
check_fails "missing block" "expected level 2" client check chain "$TEZT_TMP/b"

rm -rf "$TEZT_TMP/b"; cp -r "$TEZT_TMP/a" "$TEZT_TMP/b"
echo BLockGenesisGenesisGenesisGenesisGenesisf79b5d1CoW2 > "$TEZT_TMP/b/head"
check_fails "wrong head" "is not the last block" client check chain "$TEZT_TMP/b"
