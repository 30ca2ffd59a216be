# Title: base58check: known Tezos and Bitcoin vectors
# Tags: base58 crypto

check_equal "Bitcoin wiki address" 16UwLL9Risc3QfPqBUvKofHmBQ7wMtjvM \
  "$(client b58check encode raw 00010966776006953D5567439E5E39F86A0D273BEE)"
check_equal "Tezos null address" tz1Ke2h7sDdakHJQh8WX4Z372du1KChsksyU \
  "$(client b58check encode tz1 0000000000000000000000000000000000000000)"
check_equal "genesis block hash decodes to a B prefix" 0134 \
  "$(client b58check decode BLockGenesisGenesisGenesisGenesisGenesisf79b5d1CoW2 | cut -c 1-4)"
check_equal "all-zero block hash" BKiHLREqU3JkXfzEDYAkmmfX48gBDtYhMrpA98s7Aq4SzbUAB6M \
  "$(client b58check encode B 0000000000000000000000000000000000000000000000000000000000000000)"
