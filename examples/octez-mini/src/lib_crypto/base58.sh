#: Base58 and base58check, the encodings of every Tezos hash and address.
#: A base58check string is base58(prefix . payload . checksum) where the
#: checksum is the first 4 bytes of SHA-256(SHA-256(prefix . payload)), and the
#: prefix bytes are chosen so that the result starts with a readable tag
#: ("B" for blocks, "tz1" for implicit accounts, ...).
#: The big-number arithmetic is done in awk on arrays of bytes.

## b58_encode HEX
## Prints the base58 encoding (Bitcoin alphabet) of the bytes that HEX encodes.
b58_encode() {
  hex_is_valid "$1" || { echo "Error: invalid hex string '$1'" >&2; return 1; }
  printf '%s\n' "$1" | awk '
    BEGIN { A = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
            H = "0123456789abcdef" }
    { s = tolower($0); n = length(s) / 2
      for (i = 0; i < n; i++)
        b[i] = (index(H, substr(s, 2 * i + 1, 1)) - 1) * 16 + index(H, substr(s, 2 * i + 2, 1)) - 1
      # Each leading zero byte is written as a leading "1".
      z = 0; while (z < n && b[z] == 0) z++
      out = ""; start = z
      # Long division of the big-endian number by 58, least significant digit first.
      while (start < n) {
        rem = 0
        for (i = start; i < n; i++) {
          cur = rem * 256 + b[i]; b[i] = int(cur / 58); rem = cur - b[i] * 58
        }
        out = substr(A, rem + 1, 1) out
        while (start < n && b[start] == 0) start++
      }
      for (i = 0; i < z; i++) out = "1" out
      print out }'
}

## b58_decode BASE58
## Prints, as hex, the bytes that a base58 string encodes; fails on a character
## outside the alphabet (0, O, I and l are not in it).
b58_decode() {
  printf '%s\n' "$1" | awk '
    BEGIN { A = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz" }
    { s = $0; m = 0; z = 0; lead = 1
      for (i = 1; i <= length(s); i++) {
        c = substr(s, i, 1); v = index(A, c) - 1
        if (v < 0) { printf "Error: invalid base58 character \"%s\" at position %d\n", c, i > "/dev/stderr"; exit 1 }
        if (lead && v == 0) { z++; continue }
        lead = 0
        # Multiply the little-endian byte array by 58 and add the digit.
        carry = v
        for (j = 0; j < m; j++) { carry += b[j] * 58; b[j] = carry % 256; carry = int(carry / 256) }
        while (carry > 0) { b[m++] = carry % 256; carry = int(carry / 256) }
      }
      out = ""
      for (i = 0; i < z; i++) out = out "00"
      for (j = m - 1; j >= 0; j--) out = out sprintf("%02x", b[j])
      print out }'
}

## b58_prefix NAME
## Prints the hex prefix of a Tezos base58check kind: B (block hash),
## o (operation hash), P (protocol hash), Net (chain id), tz1 (ed25519 key hash),
## expr (script expression hash).
b58_prefix() {
  case $1 in
    B) echo 0134 ;;
    o) echo 0574 ;;
    P) echo 02aa ;;
    Net) echo 575200 ;;
    tz1) echo 06a19f ;;
    expr) echo 0d2c401b ;;
    *) echo "Error: unknown base58check prefix '$1'" >&2; return 1 ;;
  esac
}

## b58check_encode HEX
## Prints base58(HEX . checksum), HEX being prefix and payload together.
b58check_encode() {
  _b58_sum=$(sha256d_hex "$1") || return 1
  b58_encode "$1$(printf '%s' "$_b58_sum" | cut -c 1-8)"
}

## b58check_decode BASE58
## Checks the checksum of a base58check string and prints prefix and payload as hex.
b58check_decode() {
  _b58_raw=$(b58_decode "$1") || return 1
  if [ ${#_b58_raw} -lt 8 ]; then
    echo "Error: '$1' is too short to be base58check" >&2
    return 1
  fi
  _b58_body=${_b58_raw%????????}
  _b58_sum=$(sha256d_hex "$_b58_body") || return 1
  if [ "$(printf '%s' "$_b58_sum" | cut -c 1-8)" != "${_b58_raw#"$_b58_body"}" ]; then
    echo "Error: bad base58check checksum in '$1'" >&2
    return 1
  fi
  echo "$_b58_body"
}
