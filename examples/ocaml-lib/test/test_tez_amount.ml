let amount = Alcotest.testable (fun f t -> Format.pp_print_string f (Tez_amount.to_string t)) ( = )
let parsed = Alcotest.(result amount string)
let mutez n = Option.get (Tez_amount.of_mutez n)

let test_parse () =
  Alcotest.check parsed "whole" (Ok (mutez 42_000_000)) (Tez_amount.of_string "42");
  Alcotest.check parsed "decimals" (Ok (mutez 1_500_000)) (Tez_amount.of_string "1.5");
  Alcotest.check parsed "one mutez" (Ok (mutez 1)) (Tez_amount.of_string "0.000001");
  Alcotest.(check bool) "seven decimals" true (Result.is_error (Tez_amount.of_string "0.0000001"));
  Alcotest.(check bool) "sign" true (Result.is_error (Tez_amount.of_string "-1"));
  Alcotest.(check bool) "empty" true (Result.is_error (Tez_amount.of_string ""));
  Alcotest.(check bool) "too large" true
    (Result.is_error (Tez_amount.of_string "99999999999999999999"))

let test_print () =
  List.iter
    (fun s ->
      Alcotest.(check string) s s (Tez_amount.to_string (Result.get_ok (Tez_amount.of_string s))))
    [ "0"; "1.5"; "0.000001"; "42"; "123.45" ]

let test_arith () =
  Alcotest.check parsed "add" (Ok (mutez 3)) (Tez_amount.add (mutez 1) (mutez 2));
  Alcotest.(check bool) "overflow" true (Result.is_error (Tez_amount.add (mutez max_int) (mutez 1)));
  Alcotest.check parsed "sub" (Ok (mutez 1)) (Tez_amount.sub (mutez 3) (mutez 2));
  Alcotest.(check bool) "negative" true (Result.is_error (Tez_amount.sub (mutez 1) (mutez 2)))

let () =
  Alcotest.run "tez-amount"
    [ ( "tez",
        [ Alcotest.test_case "parse" `Quick test_parse;
          Alcotest.test_case "print" `Quick test_print;
          Alcotest.test_case "arithmetic" `Quick test_arith ] ) ]
