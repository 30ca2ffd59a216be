# Title: chain: bake twenty blocks and validate them
# Tags: chain node

head=$(client bake "$TEZT_TMP/chain" 20)
log "head after 20 blocks: $head"
check_equal "head file" "$head" "$(cat "$TEZT_TMP/chain/head")"
check_equal "chain validates" "chain ok: 20 blocks, head $head" "$(client check chain "$TEZT_TMP/chain")"
check_equal "level 3 (reference vector)" BLX3Neht4EuMARAeuiJa6scb7FPAbg9Khd25bf4xpaRkAa83fje \
  "$(client check header "$TEZT_TMP/chain/block_0003.json")"
level20=$(cat "$TEZT_TMP/chain/block_0020.json")
check_equal "hash block recomputes level 20" "$head" \
  "$(client hash block 20 "$(echo "$level20" | sed 's/.*"predecessor": "\([^"]*\)".*/\1/')" 1650000600)"
