# Title: michelson: arithmetic programs
# Tags: michelson

while IFS='|' read -r program expected; do
  check_equal "$program" "$expected" "$(client run script "$program")"
done <<'PROGRAMS'
PUSH int 3; PUSH int 4; ADD; DUP; MUL|{ 49 }
{ PUSH nat 10; PUSH nat 3; SUB }|{ -7 }
PUSH int 6; DUP; DUP; MUL; MUL|{ 216 }
PUSH int 1; PUSH int 2; PUSH int 3; SWAP; DROP; ADD|{ 4 }
PUSH int -12; ABS; PUSH nat 2; MUL|{ 24 }
PUSH int 5; NEG; NEG|{ 5 }
PUSH nat 65536; DUP; MUL|{ 4294967296 }
PROGRAMS
