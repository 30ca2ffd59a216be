# Title: hex: encode and decode round trips
# Tags: hex

for text in "a" "Tezos" "hello, world" "tab	and  spaces" "ꜩ 100" "0123456789"; do
  hex=$(client hex encode "$text")
  check_equal "round trip of [$text]" "$text" "$(client hex decode "$hex")"
done
check_equal "raw base58check round trip of binary bytes" 00ff01 "$(client b58check decode "$(client b58check encode raw 00ff01)")"
check_fails "odd-length hex is refused" "invalid hex string" client hex decode abc
