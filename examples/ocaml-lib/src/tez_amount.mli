(** Amounts of tez, the Tezos currency, held exactly as a number of mutez
    (1 tez = 1,000,000 mutez), as Octez's [Tez_repr] does. *)

type t
(** A non-negative amount, at most [max_int] mutez. *)

val zero : t

val of_mutez : int -> t option
(** [of_mutez n] is [n] mutez, or [None] when [n] is negative. *)

val to_mutez : t -> int

val of_string : string -> (t, string) result
(** [of_string "1.5"] is 1.5 tez. At most six decimals; no sign, no exponent. *)

val to_string : t -> string
(** [to_string] prints the shortest decimal that {!of_string} reads back:
    ["1.5"], ["0.000001"], ["42"]. *)

val add : t -> t -> (t, string) result
(** [add a b] is [a + b], or an error when it overflows. *)

val sub : t -> t -> (t, string) result
(** [sub a b] is [a - b], or an error when [b] is larger. *)
