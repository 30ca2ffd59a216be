(* Unit tests of lib_michelson: results, types and rejections. *)

let stack = Alcotest.(result string string)
let run p = Result.map Michelson.show (Michelson.run p)

let rejects what p =
  match Michelson.run p with
  | Ok s -> Alcotest.failf "%s: expected an error with %S, got %s" p what (Michelson.show s)
  | Error e ->
      let n = String.length what in
      let rec has i = i + n <= String.length e && (String.sub e i n = what || has (i + 1)) in
      if not (has 0) then Alcotest.failf "%s: expected an error with %S, got %S" p what e

let test_arithmetic () =
  Alcotest.check stack "square of a sum" (Ok "{ 49 }") (run "{ PUSH int 3; PUSH int 4; ADD; DUP; MUL }");
  Alcotest.check stack "SUB of nats is an int" (Ok "{ -7 }") (run "PUSH nat 10; PUSH nat 3; SUB");
  Alcotest.check stack "NEG twice" (Ok "{ 5 }") (run "PUSH int 5; NEG; NEG");
  Alcotest.check stack "empty program" (Ok "{}") (run "{}");
  Alcotest.check stack "top first" (Ok "{ 3 ; 2 ; 1 }") (run "PUSH int 1; PUSH int 2; PUSH int 3");
  Alcotest.check stack "SWAP and DROP" (Ok "{ 4 }")
    (run "PUSH int 1; PUSH int 2; PUSH int 3; SWAP; DROP; ADD")

let test_types () =
  rejects "ABS expects an int, got nat" "PUSH nat 3; ABS";
  rejects "ABS expects an int, got nat" "PUSH nat 2; PUSH nat 3; MUL; ABS";
  Alcotest.check stack "MUL of an int and a nat is an int" (Ok "{ 6 }")
    (run "PUSH nat 2; PUSH int 3; MUL; ABS");
  rejects "unsupported type string" "PUSH string 3";
  rejects "nat literal -3 is negative" "PUSH nat -3";
  rejects "invalid int literal 0x10" "PUSH int 0x10"

let test_rejections () =
  rejects "stack underflow at instruction #3 (SWAP)" "PUSH int 1; DROP; SWAP";
  rejects "FAILWITH instruction with 7" "PUSH int 7; FAILWITH; PUSH int 1";
  rejects "integer overflow" "PUSH int 4294967296; DUP; MUL; DUP; MUL";
  rejects "unknown primitive LAMBDA" "PUSH int 1; LAMBDA";
  rejects "DUP takes no argument" "PUSH int 1; DUP 2";
  rejects "PUSH expects a type and a literal" "PUSH int"

let () =
  Alcotest.run "lib_michelson"
    [ ( "interpreter",
        [ Alcotest.test_case "arithmetic" `Quick test_arithmetic;
          Alcotest.test_case "types" `Quick test_types;
          Alcotest.test_case "rejections" `Quick test_rejections ] ) ]
