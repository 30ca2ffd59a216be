#: SHA-256 over hex-encoded bytes.
#: Octez hashes with Blake2b; busybox only ships sha256sum, so the mini
#: version uses SHA-256 everywhere a 32-byte hash is needed.

## sha256_hex HEX
## Prints the SHA-256 digest (hex) of the bytes that HEX encodes.
sha256_hex() {
  # Validate first: in a pipeline the exit status of hex_to_bin would be lost.
  hex_is_valid "$1" || { echo "Error: invalid hex string '$1'" >&2; return 1; }
  hex_to_bin "$1" | sha256sum | cut -d ' ' -f 1
}

## sha256d_hex HEX
## Prints SHA-256(SHA-256(bytes)), the digest base58check takes its checksum from.
sha256d_hex() {
  _sha_once=$(sha256_hex "$1") || return 1
  sha256_hex "$_sha_once"
}
