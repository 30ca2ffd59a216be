(* Usage: ocaml scripts/cov_merge.ml OUT DUMP...

   Adds up ocamlprof dump files (what executables compiled with ocamlcp write
   when they exit; see scripts/instrument.sh) into OUT, which ocamlprof reads.
   A dump is a marshalled list of (source file, (profiling modes, counters));
   dumps of different executables list different sources: every source of any
   of them is in OUT, with the sum of its counters. *)

type counters = (string * (string * int array)) list

let () =
  let out = Sys.argv.(1) in
  let merged : (string, string * int array) Hashtbl.t = Hashtbl.create 16 in
  let order = ref [] in
  for i = 2 to Array.length Sys.argv - 1 do
    let ic = open_in_bin Sys.argv.(i) in
    let (dump : counters) = input_value ic in
    close_in ic;
    List.iter
      (fun (source, (modes, counts)) ->
        match Hashtbl.find_opt merged source with
        | None ->
            Hashtbl.add merged source (modes, Array.copy counts);
            order := source :: !order
        | Some (m, sum) ->
            if m <> modes || Array.length sum <> Array.length counts then
              failwith
                (Printf.sprintf "%s: %s was instrumented differently in another dump"
                   Sys.argv.(i) source);
            Array.iteri (fun j c -> sum.(j) <- sum.(j) + c) counts)
      dump
  done;
  let oc = open_out_bin out in
  output_value oc
    (List.rev_map (fun s -> (s, Hashtbl.find merged s)) !order : counters);
  close_out oc
