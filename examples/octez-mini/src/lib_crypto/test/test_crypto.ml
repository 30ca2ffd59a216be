(* Unit tests of lib_crypto. The SHA-256 vectors are FIPS 180-2's; the base58
   ones were computed independently (Python's int arithmetic), and two are
   famous: the Bitcoin wiki's address and the Tezos null address tz1Ke2h7... *)

let hex = Alcotest.string
let ok_string = Alcotest.(result string string)
let of_hex h = match Hex.decode h with Ok b -> b | Error e -> Alcotest.fail e

let error_contains what = function
  | Ok v -> Alcotest.failf "expected an error with %S, got Ok %S" what v
  | Error e ->
      let n = String.length what in
      let rec has i = i + n <= String.length e && (String.sub e i n = what || has (i + 1)) in
      if not (has 0) then Alcotest.failf "expected an error with %S, got %S" what e

let test_hex () =
  Alcotest.check hex "ASCII" "68656c6c6f20776f726c64" (Hex.encode "hello world");
  Alcotest.check hex "empty" "" (Hex.encode "");
  Alcotest.check hex "UTF-8 of the tez symbol is three bytes" "ea9ca9" (Hex.encode "ꜩ");
  Alcotest.check ok_string "decode inverts encode" (Ok "Tezos rocks")
    (Hex.decode (Hex.encode "Tezos rocks"));
  Alcotest.check ok_string "upper case" (Ok "AB") (Hex.decode "4142");
  Alcotest.check ok_string "NUL bytes" (Ok "\000\001\255\000") (Hex.decode "0001ff00");
  Alcotest.(check bool) "valid" true (Hex.is_valid "00aaFF");
  Alcotest.(check bool) "odd length" false (Hex.is_valid "abc");
  Alcotest.(check bool) "not hex" false (Hex.is_valid "0g");
  error_contains "invalid hex string" (Hex.decode "zz")

let test_sha256 () =
  let sha h = Hex.encode (Sha256.digest (of_hex h)) in
  Alcotest.check hex "empty" "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    (sha "");
  Alcotest.check hex "abc" "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    (sha "616263");
  Alcotest.check hex "one zero byte"
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d" (sha "00");
  Alcotest.check hex "two blocks (FIPS 180-2, 448 bits)"
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    (Hex.encode (Sha256.digest "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"));
  Alcotest.check hex "twice"
    "4f8b42c22dd3729b519ba6f68d2da7cc5b2d606d05daed5ad5128cc03e6c6358"
    (Hex.encode (Sha256.digest2 "abc"))

let test_base58 () =
  Alcotest.check hex "hello world" "StV1DL6CwTryKyV" (Base58.encode "hello world");
  Alcotest.check hex "leading zero bytes are 1s" "111z" (Base58.encode (of_hex "00000039"));
  Alcotest.check hex "nothing" "" (Base58.encode "");
  Alcotest.check ok_string "decode keeps leading 1s as zero bytes" (Ok "00000039")
    (Result.map Hex.encode (Base58.decode "111z"));
  error_contains "invalid base58 character \"0\"" (Base58.decode "10z")

let test_base58check () =
  Alcotest.check hex "a Bitcoin address" "16UwLL9Risc3QfPqBUvKofHmBQ7wMtjvM"
    (Base58.encode_check (of_hex "00010966776006953D5567439E5E39F86A0D273BEE"));
  let tz1 = match Base58.prefix "tz1" with Ok p -> p | Error e -> Alcotest.fail e in
  Alcotest.check hex "the null tz1 address" "tz1Ke2h7sDdakHJQh8WX4Z372du1KChsksyU"
    (Base58.encode_check (tz1 ^ String.make 20 '\000'));
  Alcotest.check ok_string "the genesis block hash"
    (Ok "01348fcf233671b6a04fcf679d2a381c2544ea6c1ea29ba6157776ed8424c7ccd00b")
    (Result.map Hex.encode
       (Base58.decode_check "BLockGenesisGenesisGenesisGenesisGenesisf79b5d1CoW2"));
  error_contains "bad base58check checksum"
    (Base58.decode_check "BLockGenesisGenesisGenesisGenesisGenesisf79b5d1CoW3");
  error_contains "too short" (Base58.decode_check "1z");
  error_contains "unknown base58check prefix" (Base58.prefix "tz9")

let () =
  Alcotest.run "lib_crypto"
    [ ("hex", [ Alcotest.test_case "encode and decode" `Quick test_hex ]);
      ("sha256", [ Alcotest.test_case "FIPS 180-2 vectors" `Quick test_sha256 ]);
      ( "base58",
        [ Alcotest.test_case "base58" `Quick test_base58;
          Alcotest.test_case "base58check" `Quick test_base58check ] ) ]
