# Unit tests of lib_crypto/hex.sh (run by scripts/test_wrapper.sh).

check "hex_encode of ASCII" 68656c6c6f20776f726c64 "$(hex_encode 'hello world')"
check "hex_encode of the empty string" "" "$(hex_encode '')"
# The tez symbol is three bytes of UTF-8.
check "hex_encode of UTF-8" ea9ca9 "$(hex_encode 'ꜩ')"
check "hex_encode keeps the case of letters" 4142616263 "$(hex_encode ABabc)"
check "hex_decode inverts hex_encode" "Tezos rocks" "$(hex_decode "$(hex_encode 'Tezos rocks')")"
check "hex_decode accepts upper case" "AB" "$(hex_decode 4142)"
check "hex_to_bin emits NUL bytes" "00 01 ff 00" "$(hex_to_bin 0001ff00 | od -An -v -tx1 | tr -s ' ' | sed 's/^ //')"

if hex_is_valid 00aaFF; then t_record pass "hex_is_valid accepts hex"; else t_record fail "hex_is_valid accepts hex" "rejected 00aaFF"; fi
if hex_is_valid ''; then t_record pass "hex_is_valid accepts empty"; else t_record fail "hex_is_valid accepts empty" "rejected ''"; fi
if hex_is_valid abc; then t_record fail "hex_is_valid rejects odd length" "accepted abc"; else t_record pass "hex_is_valid rejects odd length"; fi
if hex_is_valid 0g; then t_record fail "hex_is_valid rejects non-hex" "accepted 0g"; else t_record pass "hex_is_valid rejects non-hex"; fi
check_fails "hex_to_bin refuses invalid input" "invalid hex string" hex_to_bin zz
