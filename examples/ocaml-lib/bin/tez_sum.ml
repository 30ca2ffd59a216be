(* tez-sum AMOUNT...: prints the sum of amounts of tez, exactly. *)

let () =
  let amounts = List.tl (Array.to_list Sys.argv) in
  let total =
    List.fold_left
      (fun acc s -> Result.bind acc (fun acc -> Result.bind (Tez_amount.of_string s) (Tez_amount.add acc)))
      (Ok Tez_amount.zero) amounts
  in
  match total with
  | Ok t -> print_endline (Tez_amount.to_string t)
  | Error e ->
      prerr_endline ("tez-sum: " ^ e);
      exit 1
