#: Hexadecimal encoding of byte strings.
#: Octez passes every hash and key around as bytes; this mini version keeps
#: them as lowercase hex strings and only turns them into raw bytes to hash them.
#: Only POSIX sh, od, tr and awk are used, so it runs on busybox and Debian alike.

## hex_encode STRING
## Prints the lowercase hexadecimal encoding of the bytes of STRING.
hex_encode() {
  printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'
  echo
}

## hex_is_valid HEX
## Succeeds when HEX is an even number of hexadecimal digits (empty is valid).
hex_is_valid() {
  case $1 in
    *[!0-9a-fA-F]*) return 1 ;;
  esac
  [ $((${#1} % 2)) -eq 0 ]
}

## hex_to_bin HEX
## Writes the raw bytes that HEX encodes to standard output (NUL bytes included).
hex_to_bin() {
  hex_is_valid "$1" || { echo "Error: invalid hex string '$1'" >&2; return 1; }
  # printf's format understands \ooo octal escapes, so awk turns each byte
  # into one; this is the portable way to emit arbitrary bytes from sh.
  printf "$(printf '%s\n' "$1" | awk '
    BEGIN { H = "0123456789abcdef" }
    { s = tolower($0)
      for (i = 1; i < length(s); i += 2)
        printf "\\%03o", (index(H, substr(s, i, 1)) - 1) * 16 + index(H, substr(s, i + 1, 1)) - 1 }')"
}

## hex_decode HEX
## Prints the text that HEX encodes; the inverse of hex_encode.
hex_decode() {
  hex_to_bin "$1" || return 1
  echo
}
