# Unit tests of lib_crypto/sha256.sh, against the FIPS 180-2 test vectors.

check "sha256 of the empty string" \
  e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 "$(sha256_hex '')"
check "sha256 of abc" \
  ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad "$(sha256_hex 616263)"
check "sha256 hashes bytes, not their hex text" \
  6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d "$(sha256_hex 00)"
check "sha256d of abc" \
  4f8b42c22dd3729b519ba6f68d2da7cc5b2d606d05daed5ad5128cc03e6c6358 "$(sha256d_hex 616263)"
check_fails "sha256 refuses invalid hex" "invalid hex string" sha256_hex xyz
