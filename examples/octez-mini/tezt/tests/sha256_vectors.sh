# Title: sha256: known digests through the client
# Tags: crypto sha256

check_equal "empty" e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 \
  "$(client hash sha256 '')"
check_equal "abc" ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad \
  "$(client hash sha256 616263)"
check_equal "1000 a's take 16 blocks" 41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3 \
  "$(client hash sha256 "$(awk 'BEGIN { while (n++ < 1000) printf "61" }')")"
check_fails "invalid hex is refused" "invalid hex string" client hash sha256 xyz
