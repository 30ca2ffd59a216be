# Title: base58check: round trips for every prefix, and corruption
# Tags: base58 crypto

zeros32=0000000000000000000000000000000000000000000000000000000000000000
digest=$(client hash sha256 74657a6f73)
for kind in B o P expr; do
  encoded=$(client b58check encode "$kind" "$digest")
  case $encoded in
    "$kind"*) log "ok: $kind hash starts with $kind: $encoded" ;;
    *) log "Check failed: $encoded does not start with $kind" >&2; exit 1 ;;
  esac
  prefix=$(client b58check decode "$encoded" | sed "s/$digest\$//")
  check_equal "$kind round trip" "$prefix$digest" "$(client b58check decode "$encoded")"
done
check_equal "chain id starts with Net" Net "$(client b58check encode Net 7a06a770 | cut -c 1-3)"
check_equal "leading zero bytes survive" "00000000$zeros32" \
  "$(client b58check decode "$(client b58check encode raw "00000000$zeros32")")"
good=$(client b58check encode B "$digest")
# Replace the last character by another one of the alphabet.
last=$(echo "$good" | sed 's/.*\(.\)$/\1/')
if [ "$last" = 2 ]; then other=3; else other=2; fi
bad=$(echo "$good" | sed "s/.\$/$other/")
check_fails "a changed character breaks the checksum" "bad base58check checksum" client b58check decode "$bad"
check_fails "0 is not base58" "invalid base58 character" client b58check decode "B0$good"
