(** A tiny typed interpreter for a subset of Michelson, the Tezos contract
    language.

    A program is a sequence of instructions separated by [;], optionally
    wrapped in [{ }]. Values are [int] or [nat]; the interpreter checks types
    as it goes, the way the Octez typechecker rejects ill-typed scripts before
    running them. Supported: [PUSH int N], [PUSH nat N], [ADD], [SUB], [MUL],
    [NEG], [ABS], [DUP], [DROP], [SWAP], [FAILWITH]. Integers are OCaml's
    native ints, and an overflow is an error. *)

type ty = Int | Nat

let string_of_ty = function Int -> "int" | Nat -> "nat"

exception Failed of string

let fail fmt = Printf.ksprintf (fun m -> raise (Failed m)) fmt

(** [parse program] is the list of instructions, each a list of words. *)
let parse program =
  let body = String.trim program in
  let body =
    let n = String.length body in
    if n >= 2 && body.[0] = '{' && body.[n - 1] = '}' then String.sub body 1 (n - 2) else body
  in
  String.split_on_char ';' body
  |> List.map (fun ins ->
         String.split_on_char ' ' (String.map (function '\t' | '\n' | '\r' -> ' ' | c -> c) ins)
         |> List.filter (( <> ) ""))
  |> List.filter (( <> ) [])

let add_checked pc a b =
  let s = a + b in
  if (a >= 0) = (b >= 0) && (s >= 0) <> (a >= 0) then
    fail "integer overflow at instruction #%d" pc
  else s

let mul_checked pc a b =
  if a <> 0 && (b = min_int || a * b / a <> b || (a = -1 && b = min_int)) then
    fail "integer overflow at instruction #%d" pc
  else a * b

(* ADD and MUL of two nats is a nat; anything involving an int is an int. *)
let arith_ty a b = if a = Nat && b = Nat then Nat else Int

let step pc stack ins =
  let need k what =
    if List.length stack < k then
      fail "stack underflow at instruction #%d (%s): needs %d element(s), stack has %d" pc what
        k (List.length stack)
  in
  match ins with
  | [ "PUSH"; ty; lit ] ->
      let ty =
        match ty with
        | "int" -> Int
        | "nat" -> Nat
        | t -> fail "instruction #%d: unsupported type %s" pc t
      in
      let v =
        match int_of_string_opt lit with
        | Some v when String.for_all (function '0' .. '9' | '-' -> true | _ -> false) lit -> v
        | _ -> fail "instruction #%d: invalid %s literal %s" pc (string_of_ty ty) lit
      in
      if ty = Nat && v < 0 then fail "instruction #%d: nat literal %s is negative" pc lit;
      (v, ty) :: stack
  | "PUSH" :: _ -> fail "instruction #%d: PUSH expects a type and a literal" pc
  | [ op ] -> (
      match (op, stack) with
      | ("ADD" | "SUB" | "MUL"), ((a, ta) :: (b, tb) :: rest) ->
          if op = "ADD" then (add_checked pc a b, arith_ty ta tb) :: rest
          else if op = "SUB" then (add_checked pc a (-b), Int) :: rest
          else (mul_checked pc a b, arith_ty ta tb) :: rest
      | "NEG", (a, _) :: rest -> (-a, Int) :: rest
      | "ABS", (a, Int) :: rest -> (abs a, Nat) :: rest
      | "ABS", (_, t) :: _ ->
          fail "instruction #%d: ABS expects an int, got %s" pc (string_of_ty t)
      | "DUP", top :: rest -> top :: top :: rest
      | "DROP", _ :: rest -> rest
      | "SWAP", a :: b :: rest -> b :: a :: rest
      | "FAILWITH", (a, _) :: _ -> fail "script reached FAILWITH instruction with %d" a
      | ("ADD" | "SUB" | "MUL" | "SWAP"), _ -> need 2 op; assert false
      | ("NEG" | "ABS" | "DUP" | "DROP" | "FAILWITH"), _ -> need 1 op; assert false
      | _ -> fail "instruction #%d: unknown primitive %s" pc op)
  | op :: _ ->
      if List.mem op [ "ADD"; "SUB"; "MUL"; "NEG"; "ABS"; "DUP"; "DROP"; "SWAP"; "FAILWITH" ]
      then fail "instruction #%d: %s takes no argument" pc op
      else fail "instruction #%d: unknown primitive %s" pc op
  | [] -> stack

(** [run program] runs [program] on an empty stack: the final stack, top
    first, with the type of each value, or the error that stopped it. *)
let run program =
  try
    let _, stack =
      List.fold_left (fun (pc, stack) ins -> (pc + 1, step pc stack ins)) (1, []) (parse program)
    in
    Ok stack
  with Failed m -> Error m

(** [show stack] prints a stack as Octez does, top first: [{ 1 ; 2 }]. *)
let show = function
  | [] -> "{}"
  | stack -> "{ " ^ String.concat " ; " (List.map (fun (v, _) -> string_of_int v) stack) ^ " }"
