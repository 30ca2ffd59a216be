# Unit tests of lib_michelson/michelson.sh: results, typing and errors.

check "empty program" "{}" "$(mich_run '')"
check "PUSH" "{ 7 }" "$(mich_run 'PUSH int 7')"
check "braces are optional" "{ 7 }" "$(mich_run '{ PUSH nat 7 }')"
check "stack is printed top first" "{ 2 ; 1 }" "$(mich_run 'PUSH int 1; PUSH int 2')"
check "ADD" "{ 7 }" "$(mich_run 'PUSH int 3; PUSH int 4; ADD')"
check "SUB is top minus second" "{ -1 }" "$(mich_run 'PUSH int 4; PUSH int 3; SUB')"
check "MUL" "{ 42 }" "$(mich_run 'PUSH nat 6; PUSH nat 7; MUL')"
check "DUP and MUL square" "{ 49 }" "$(mich_run 'PUSH int 3; PUSH int 4; ADD; DUP; MUL')"
check "SWAP" "{ 1 ; 2 }" "$(mich_run 'PUSH int 1; PUSH int 2; SWAP')"
check "DROP" "{ 1 }" "$(mich_run 'PUSH int 1; PUSH int 2; DROP')"
check "NEG of 0 is 0" "{ 0 }" "$(mich_run 'PUSH int 0; NEG')"
check "ABS makes a nat" "{ 5 }" "$(mich_run 'PUSH int -5; ABS')"
check "53-bit integers are exact" "{ 9007199254740991 }" "$(mich_run 'PUSH int 9007199254740990; PUSH int 1; ADD')"
check "whitespace and newlines are ignored" "{ 3 }" "$(mich_run '
  PUSH  int 1 ;
  PUSH	int 2 ;
  ADD')"

check_fails "underflow is reported with the instruction" "stack underflow at instruction #2 (ADD)" \
  mich_run 'PUSH int 1; ADD'
check_fails "negative nat literals are rejected" "nat literal -1 is negative" mich_run 'PUSH nat -1'
check_fails "ABS of a nat is ill-typed" "ABS expects an int, got nat" mich_run 'PUSH nat 1; ABS'
check_fails "SUB of nats is an int" "ABS expects an int" mich_run 'PUSH nat 1; PUSH nat 2; SUB; ABS; ABS'
check_fails "unknown primitives are rejected" "unknown primitive CONCAT" mich_run 'PUSH int 1; CONCAT'
check_fails "FAILWITH fails with the top value" "FAILWITH instruction with 42" mich_run 'PUSH int 42; FAILWITH'
check_fails "overflow is detected" "integer overflow" mich_run 'PUSH int 9007199254740991; PUSH int 1; ADD'
check_fails "arguments to DUP are rejected" "DUP takes no argument" mich_run 'PUSH int 1; DUP 2'
