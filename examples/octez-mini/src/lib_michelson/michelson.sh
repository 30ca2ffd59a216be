#: A tiny typed interpreter for a subset of Michelson, the Tezos contract language.
#: A program is a sequence of instructions separated by ";", optionally wrapped in
#: "{ }". Values are int or nat, and the interpreter checks types as it goes, the
#: way the Octez typechecker rejects ill-typed scripts before running them.
#: Supported: PUSH int N, PUSH nat N, ADD, SUB, MUL, NEG, ABS, DUP, DROP, SWAP, FAILWITH.
#: Integers are awk doubles, so results are limited to 53 bits and checked.

## mich_run PROGRAM
## Runs PROGRAM on an empty stack and prints the final stack, top first, as
## "{ v1 ; v2 }". On error prints "Error: ..." on stderr and fails.
mich_run() {
  printf '%s\n' "$1" | awk '
    function fail(msg) { print "Error: " msg > "/dev/stderr"; exit 1 }
    function need(k, what) {
      if (sp < k) fail(sprintf("stack underflow at instruction #%d (%s): needs %d element(s), stack has %d", pc, what, k, sp))
    }
    function push(v, t) {
      if (v > 9007199254740991 || v < -9007199254740991)
        fail(sprintf("integer overflow at instruction #%d: the mini interpreter has 53-bit integers", pc))
      if (v == 0) v = 0  # NEG of 0 is -0 in floating point; print it as 0
      sp++; val[sp] = v; typ[sp] = t
    }
    # Result type of ADD and MUL: nat only when both operands are nat.
    function arith_type(a, b) { return (a == "nat" && b == "nat") ? "nat" : "int" }
    { prog = prog " " $0 }
    END {
      gsub(/^[ \t]*\{|\}[ \t]*$/, "", prog)
      n = split(prog, ins, ";"); sp = 0; pc = 0
      for (k = 1; k <= n; k++) {
        w = split(ins[k], tok, /[ \t]+/)
        # split() with a leading blank yields an empty first field; drop it.
        j = 0; for (i = 1; i <= w; i++) if (tok[i] != "") t[++j] = tok[i]
        if (j == 0) continue
        pc++; op = t[1]
        if (op == "PUSH") {
          if (j != 3) fail(sprintf("instruction #%d: PUSH expects a type and a literal", pc))
          if (t[2] != "int" && t[2] != "nat") fail(sprintf("instruction #%d: unsupported type %s", pc, t[2]))
          if (t[3] !~ /^-?[0-9]+$/) fail(sprintf("instruction #%d: invalid %s literal %s", pc, t[2], t[3]))
          if (t[2] == "nat" && t[3] ~ /^-/) fail(sprintf("instruction #%d: nat literal %s is negative", pc, t[3]))
          push(t[3] + 0, t[2])
        } else if (j != 1) {
          fail(sprintf("instruction #%d: %s takes no argument", pc, op))
        } else if (op == "ADD" || op == "SUB" || op == "MUL") {
          need(2, op)
          a = val[sp]; ta = typ[sp]; b = val[sp - 1]; tb = typ[sp - 1]; sp -= 2
          if (op == "ADD") push(a + b, arith_type(ta, tb))
          else if (op == "SUB") push(a - b, "int")
          else push(a * b, arith_type(ta, tb))
        } else if (op == "NEG") {
          need(1, op); a = val[sp]; sp--; push(-a, "int")
        } else if (op == "ABS") {
          need(1, op)
          if (typ[sp] != "int") fail(sprintf("instruction #%d: ABS expects an int, got %s", pc, typ[sp]))
          a = val[sp]; sp--; push(a < 0 ? -a : a, "nat")
        } else if (op == "DUP") {
          need(1, op); push(val[sp], typ[sp])
        } else if (op == "DROP") {
          need(1, op); sp--
        } else if (op == "SWAP") {
          need(2, op)
          a = val[sp]; val[sp] = val[sp - 1]; val[sp - 1] = a
          a = typ[sp]; typ[sp] = typ[sp - 1]; typ[sp - 1] = a
        } else if (op == "FAILWITH") {
          need(1, op); fail(sprintf("script reached FAILWITH instruction with %.0f", val[sp]))
        } else {
          fail(sprintf("instruction #%d: unknown primitive %s", pc, op))
        }
      }
      out = "{"
      for (i = sp; i >= 1; i--) out = out (i == sp ? " " : " ; ") sprintf("%.0f", val[i])
      print out (sp ? " }" : "}")
    }'
}
