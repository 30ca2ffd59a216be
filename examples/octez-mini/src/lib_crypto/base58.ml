(** Base58 (Bitcoin's alphabet) and base58check with Tezos prefixes.

    A base58check string is base58(prefix ^ payload ^ checksum) where the
    checksum is the first 4 bytes of {!Sha256.digest2}[ (prefix ^ payload)],
    and the prefix bytes make the text start with a readable tag: ["B"] for
    block hashes, ["tz1"] for implicit accounts, and so on. *)

let alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

(** [encode bytes] is the base58 text of [bytes]; leading zero bytes become
    leading ['1']s. *)
let encode bytes =
  let n = String.length bytes in
  let zeros =
    let rec count i = if i < n && bytes.[i] = '\000' then count (i + 1) else i in
    count 0
  in
  (* Base-58 digits, least significant first, of the number the bytes write. *)
  let digits = ref [] in
  for i = zeros to n - 1 do
    let carry = ref (Char.code bytes.[i]) in
    digits :=
      List.map
        (fun d ->
          let x = (d * 256) + !carry in
          carry := x / 58;
          x mod 58)
        !digits;
    while !carry > 0 do
      digits := !digits @ [ !carry mod 58 ];
      carry := !carry / 58
    done
  done;
  String.make zeros '1'
  ^ String.concat "" (List.rev_map (fun d -> String.make 1 alphabet.[d]) !digits)

(** [decode text] is the bytes that base58 [text] encodes, or an error naming
    the first character outside the alphabet ([0], [O], [I] and [l] are not in
    it). *)
let decode text =
  let exception Bad of int in
  try
    let zeros =
      let rec count i = if i < String.length text && text.[i] = '1' then count (i + 1) else i in
      count 0
    in
    (* Bytes, least significant first. *)
    let bytes = ref [] in
    String.iteri
      (fun i c ->
        if i >= zeros then (
          let v = match String.index_opt alphabet c with Some v -> v | None -> raise (Bad i) in
          let carry = ref v in
          bytes :=
            List.map
              (fun b ->
                let x = (b * 58) + !carry in
                carry := x / 256;
                x mod 256)
              !bytes;
          while !carry > 0 do
            bytes := !bytes @ [ !carry mod 256 ];
            carry := !carry / 256
          done)
        else if String.index_opt alphabet c = None then raise (Bad i))
      text;
    Ok
      (String.make zeros '\000'
      ^ String.concat "" (List.rev_map (fun b -> String.make 1 (Char.chr b)) !bytes))
  with Bad i ->
    Error (Printf.sprintf "invalid base58 character \"%c\" at position %d" text.[i] (i + 1))

(** The Tezos prefixes: [B] (block hash), [o] (operation hash), [P] (protocol
    hash), [Net] (chain id), [tz1] (ed25519 key hash), [expr] (script
    expression hash). *)
let prefixes =
  [ ("B", "\001\052"); ("o", "\005\116"); ("P", "\002\170"); ("Net", "\087\082\000");
    ("tz1", "\006\161\159"); ("expr", "\013\044\064\027") ]

(** [prefix kind] is the prefix bytes of [kind], or an error for an unknown kind. *)
let prefix kind =
  match List.assoc_opt kind prefixes with
  | Some p -> Ok p
  | None -> Error (Printf.sprintf "unknown base58check prefix '%s'" kind)

let checksum bytes = String.sub (Sha256.digest2 bytes) 0 4

(** [encode_check bytes] is base58([bytes] ^ checksum), [bytes] being the
    prefix and the payload together. *)
let encode_check bytes = encode (bytes ^ checksum bytes)

(** [decode_check text] checks the checksum of [text] and is its prefix and
    payload. *)
let decode_check text =
  match decode text with
  | Error _ as e -> e
  | Ok raw when String.length raw < 4 ->
      Error (Printf.sprintf "'%s' is too short to be base58check" text)
  | Ok raw ->
      let body = String.sub raw 0 (String.length raw - 4) in
      if checksum body = String.sub raw (String.length raw - 4) 4 then Ok body
      else Error (Printf.sprintf "bad base58check checksum in '%s'" text)
