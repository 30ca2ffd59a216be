type t = int

let zero = 0
let of_mutez n = if n < 0 then None else Some n
let to_mutez t = t
let all_digits s = s <> "" && String.for_all (function '0' .. '9' -> true | _ -> false) s

let of_string s =
  let error () = Error (Printf.sprintf "invalid amount of tez %S" s) in
  let whole, frac =
    match String.index_opt s '.' with
    | None -> (s, "")
    | Some i -> (String.sub s 0 i, String.sub s (i + 1) (String.length s - i - 1))
  in
  if (not (all_digits whole)) || (frac <> "" && not (all_digits frac)) || String.length frac > 6
  then error ()
  else
    let frac = frac ^ String.make (6 - String.length frac) '0' in
    match int_of_string_opt whole with
    | Some w when w <= (max_int - int_of_string frac) / 1_000_000 ->
        Ok ((w * 1_000_000) + int_of_string frac)
    | _ -> Error (Printf.sprintf "amount of tez %S is too large" s)

let to_string t =
  let whole = t / 1_000_000 and frac = t mod 1_000_000 in
  if frac = 0 then string_of_int whole
  else
    let digits = Printf.sprintf "%06d" frac in
    let rec last i = if digits.[i] = '0' then last (i - 1) else i in
    Printf.sprintf "%d.%s" whole (String.sub digits 0 (last 5 + 1))

let add a b = if a > max_int - b then Error "tez addition overflows" else Ok (a + b)

let sub a b =
  if b > a then
    Error (Printf.sprintf "cannot subtract %s tez from %s tez" (to_string b) (to_string a))
  else Ok (a - b)
