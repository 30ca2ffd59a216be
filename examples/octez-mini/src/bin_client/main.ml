(* octez-mini-client, the command line of octez-mini (a tiny octez-client). *)

let version = "0.4.0"

(* Each command: its words, its arguments, what it does. `man` prints this
   table, documentation:build_all renders it. *)
let commands =
  [ ("version", "Print the version and the machine this client runs on.");
    ("hex encode STRING", "Print the hexadecimal encoding of STRING.");
    ("hex decode HEX", "Print the text that HEX encodes.");
    ("hash sha256 HEX", "Print the SHA-256 digest of the bytes HEX encodes.");
    ( "b58check encode KIND HEX",
      "Encode HEX with the base58check prefix KIND (B, o, P, Net, tz1, expr) or, with KIND raw, as is." );
    ("b58check decode BASE58", "Check a base58check string and print its bytes (prefix included) as hex.");
    ("run script PROGRAM", "Typecheck and run a mini-Michelson PROGRAM on an empty stack.");
    ("man", "Print this manual.") ]

let usage () =
  prerr_endline "Usage: octez-mini-client COMMAND [ARGUMENT...]";
  prerr_endline "Commands:";
  List.iter (fun (u, d) -> Printf.eprintf "  %-30s %s\n" u d) commands;
  exit 2

(* The machine the process runs on, as `uname -m` says: under qemu, the
   emulated one. *)
let machine () =
  match Unix.open_process_in "uname -m" with
  | exception Unix.Unix_error _ -> "unknown"
  | ic ->
      let m = try input_line ic with End_of_file -> "unknown" in
      ignore (Unix.close_process_in ic);
      m

let ok = function
  | Ok s -> print_endline s
  | Error e ->
      prerr_endline ("Error: " ^ e);
      exit 1

let ( let* ) = Result.bind

let () =
  match List.tl (Array.to_list Sys.argv) with
  | [ "version" ] ->
      Printf.printf "Octez-mini %s (OCaml %s, target %s, machine %s)\n" version Sys.ocaml_version
        Build_info.architecture (machine ())
  | [ "man" ] -> List.iter (fun (u, d) -> Printf.printf "%s\t%s\n" u d) commands
  | [ "hex"; "encode"; s ] -> print_endline (Hex.encode s)
  | [ "hex"; "decode"; h ] -> ok (Hex.decode h)
  | [ "hash"; "sha256"; h ] -> ok (Result.map (fun b -> Hex.encode (Sha256.digest b)) (Hex.decode h))
  | [ "b58check"; "encode"; kind; h ] ->
      ok
        (let* payload = Hex.decode h in
         let* prefix = if kind = "raw" then Ok "" else Base58.prefix kind in
         Ok (Base58.encode_check (prefix ^ payload)))
  | [ "b58check"; "decode"; s ] -> ok (Result.map Hex.encode (Base58.decode_check s))
  | [ "run"; "script"; p ] -> ok (Result.map Michelson.show (Michelson.run p))
  | _ -> usage ()
