(** Hexadecimal encoding of byte strings, as Octez's [Hex] library. *)

let digits = "0123456789abcdef"

(** [encode bytes] is the lowercase hexadecimal text of [bytes]. *)
let encode bytes =
  String.init
    (2 * String.length bytes)
    (fun i ->
      let b = Char.code bytes.[i / 2] in
      digits.[if i mod 2 = 0 then b lsr 4 else b land 15])

let value_of = function
  | '0' .. '9' as c -> Some (Char.code c - Char.code '0')
  | 'a' .. 'f' as c -> Some (Char.code c - Char.code 'a' + 10)
  | 'A' .. 'F' as c -> Some (Char.code c - Char.code 'A' + 10)
  | _ -> None

(** [is_valid text] holds when [text] has an even length and only hex digits. *)
let is_valid text =
  String.length text mod 2 = 0
  && String.for_all (fun c -> value_of c <> None) text

(** [decode text] is the bytes that [text] encodes (either case), or an error
    naming [text] when it is not hexadecimal. *)
let decode text =
  if not (is_valid text) then Error (Printf.sprintf "invalid hex string '%s'" text)
  else
    Ok
      (String.init
         (String.length text / 2)
         (fun i ->
           match (value_of text.[2 * i], value_of text.[(2 * i) + 1]) with
           | Some hi, Some lo -> Char.chr ((hi * 16) + lo)
           | _ -> assert false))
