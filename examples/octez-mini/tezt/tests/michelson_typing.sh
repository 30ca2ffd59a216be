# Title: michelson: ill-typed and failing programs are rejected
# Tags: michelson typing

check_fails "ABS of a nat" "ABS expects an int, got nat" client run script "PUSH nat 3; ABS"
check_fails "negative nat" "is negative" client run script "PUSH nat -3"
check_fails "string type" "unsupported type string" client run script "PUSH string 3"
check_fails "underflow" "stack underflow at instruction #3 (SWAP)" client run script "PUSH int 1; DROP; SWAP"
check_fails "FAILWITH" "FAILWITH instruction with 7" client run script "PUSH int 7; FAILWITH; PUSH int 1"
check_fails "MUL of nats is a nat" "ABS expects an int, got nat" client run script "PUSH nat 2; PUSH nat 3; MUL; ABS"
check_equal "MUL of an int and a nat is an int" "{ 6 }" "$(client run script 'PUSH nat 2; PUSH int 3; MUL; ABS')"
