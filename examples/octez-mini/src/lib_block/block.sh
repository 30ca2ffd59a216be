#: Block headers, their hashes, and a toy chain made of JSON files.
#: The binary layout follows the start of the Octez shell header: level as a
#: big-endian int32, the 32-byte predecessor hash, the timestamp as an int64
#: (seconds since the epoch) and the 32-byte operations hash. The block hash
#: is base58check("B" prefix . SHA-256(header bytes)).

## block_genesis
## Prints the hash of the genesis block, the predecessor of level 1 (the real
## Tezos genesis hash, whose payload spells nothing but is valid base58check).
block_genesis() {
  echo BLockGenesisGenesisGenesisGenesisGenesisf79b5d1CoW2
}

## block_serialize LEVEL PREDECESSOR TIMESTAMP OPERATIONS_HASH
## Prints the header bytes, as hex, for the given fields; fails on a malformed field.
block_serialize() {
  # Leading zeros are refused: printf would read "010" as octal.
  case $1 in '' | *[!0-9]* | 0?*) echo "Error: invalid level '$1'" >&2; return 1 ;; esac
  case $3 in '' | *[!0-9]* | 0?*) echo "Error: invalid timestamp '$3'" >&2; return 1 ;; esac
  _blk_pred=$(b58check_decode "$2") || return 1
  case $_blk_pred in
    0134????????????????????????????????????????????????????????????????) ;;
    *) echo "Error: predecessor '$2' is not a block hash" >&2; return 1 ;;
  esac
  if [ ${#4} -ne 64 ] || ! hex_is_valid "$4"; then
    echo "Error: invalid operations hash '$4'" >&2
    return 1
  fi
  printf '%08x%s%016x%s\n' "$1" "${_blk_pred#0134}" "$3" "$4"
}

## block_hash LEVEL PREDECESSOR TIMESTAMP OPERATIONS_HASH
## Prints the base58check block hash ("B...") of the header with these fields.
block_hash() {
  _blk_bytes=$(block_serialize "$@") || return 1
  _blk_digest=$(sha256_hex "$_blk_bytes") || return 1
  b58check_encode "0134$_blk_digest"
}

## block_operations_hash [OPERATION...]
## Prints the SHA-256 (hex) of the operations, one per line; with none, the hash
## of the empty list.
block_operations_hash() {
  if [ $# -eq 0 ]; then
    printf '' | sha256sum | cut -d ' ' -f 1
  else
    printf '%s\n' "$@" | sha256sum | cut -d ' ' -f 1
  fi
}

## block_header_json LEVEL PREDECESSOR TIMESTAMP OPERATIONS_HASH
## Prints the header as a one-line JSON object, with its hash, as the node's
## /chains/main/blocks/<block>/header RPC would.
block_header_json() {
  _blk_h=$(block_hash "$@") || return 1
  printf '{"level": %s, "predecessor": "%s", "timestamp": %s, "operations_hash": "%s", "hash": "%s"}\n' \
    "$1" "$2" "$3" "$4" "$_blk_h"
}

## json_field NAME
## Reads one flat JSON object on stdin and prints the value of field NAME
## (a string without its quotes, or a number); fails when the field is absent.
json_field() {
  awk -v name="$1" '
    { text = text $0 }
    END {
      key = "\"" name "\"[ \t]*:[ \t]*"
      if (!match(text, key)) exit 1
      rest = substr(text, RSTART + RLENGTH)
      if (substr(rest, 1, 1) == "\"") {
        rest = substr(rest, 2); print substr(rest, 1, index(rest, "\"") - 1)
      } else {
        match(rest, /^-?[0-9]+/); if (RLENGTH < 1) exit 1; print substr(rest, 1, RLENGTH)
      }
    }'
}

## block_check_json FILE
## Recomputes the hash of the header in FILE and fails unless it equals the
## "hash" field; prints the hash on success.
block_check_json() {
  [ -r "$1" ] || { echo "Error: cannot read '$1'" >&2; return 1; }
  _blk_claim=$(json_field hash < "$1") || { echo "Error: $1 has no hash" >&2; return 1; }
  _blk_real=$(block_hash "$(json_field level < "$1")" "$(json_field predecessor < "$1")" \
    "$(json_field timestamp < "$1")" "$(json_field operations_hash < "$1")") || return 1
  if [ "$_blk_claim" != "$_blk_real" ]; then
    echo "Error: $1 claims hash $_blk_claim but its header hashes to $_blk_real" >&2
    return 1
  fi
  echo "$_blk_real"
}

## chain_bake DIR COUNT [TIMESTAMP0]
## Bakes COUNT empty blocks on top of genesis into DIR (block_0001.json, ...),
## one every 30 seconds from TIMESTAMP0, and writes the head hash to DIR/head.
chain_bake() {
  case $2 in '' | *[!0-9]*) echo "Error: invalid block count '$2'" >&2; return 1 ;; esac
  mkdir -p "$1" || return 1
  _bake_pred=$(block_genesis)
  _bake_ops=$(block_operations_hash)
  _bake_level=1
  while [ "$_bake_level" -le "$2" ]; do
    _bake_ts=$((${3:-1650000000} + 30 * _bake_level))
    _bake_file=$(printf '%s/block_%04d.json' "$1" "$_bake_level")
    block_header_json "$_bake_level" "$_bake_pred" "$_bake_ts" "$_bake_ops" > "$_bake_file" || return 1
    _bake_pred=$(json_field hash < "$_bake_file")
    _bake_level=$((_bake_level + 1))
  done
  echo "$_bake_pred" > "$1/head"
  echo "$_bake_pred"
}

## chain_check DIR
## Validates the chain in DIR: every header hashes to its hash, levels follow
## each other from 1, each predecessor is the previous block, timestamps
## increase, and DIR/head is the last block. Prints a summary line.
chain_check() {
  _chk_pred=$(block_genesis); _chk_level=0; _chk_ts=0
  for _chk_file in "$1"/block_*.json; do
    [ -e "$_chk_file" ] || { echo "Error: no block in '$1'" >&2; return 1; }
    _chk_hash=$(block_check_json "$_chk_file") || return 1
    _chk_level=$((_chk_level + 1))
    if [ "$(json_field level < "$_chk_file")" != "$_chk_level" ]; then
      echo "Error: $_chk_file: expected level $_chk_level" >&2; return 1
    fi
    if [ "$(json_field predecessor < "$_chk_file")" != "$_chk_pred" ]; then
      echo "Error: $_chk_file: predecessor is not $_chk_pred" >&2; return 1
    fi
    _chk_t=$(json_field timestamp < "$_chk_file")
    if [ "$_chk_t" -le "$_chk_ts" ]; then
      echo "Error: $_chk_file: timestamp $_chk_t does not increase" >&2; return 1
    fi
    _chk_pred=$_chk_hash; _chk_ts=$_chk_t
  done
  if [ "$(cat "$1/head" 2>/dev/null)" != "$_chk_pred" ]; then
    echo "Error: $1/head is not the last block $_chk_pred" >&2; return 1
  fi
  echo "chain ok: $_chk_level blocks, head $_chk_pred"
}
