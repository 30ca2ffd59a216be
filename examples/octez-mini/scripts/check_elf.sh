#!/bin/sh
# Usage: scripts/check_elf.sh FILE MACHINE        (MACHINE is x86_64 or aarch64)
#
# Checks from its header that FILE is a 64-bit little-endian ELF executable for
# MACHINE (e_machine 0x3e for x86_64, 0xb7 for aarch64), then that it runs
# here and says it runs on this machine: the arm64 job runs it under qemu.
set -eu
file=${1:?Usage: scripts/check_elf.sh FILE MACHINE}
machine=${2:?Usage: scripts/check_elf.sh FILE MACHINE}
case $machine in
  x86_64) want=3e00 ;;
  aarch64) want=b700 ;;
  *) echo "Error: unknown machine $machine" >&2; exit 2 ;;
esac
bytes() { od -An -v -tx1 -j "$1" -N "$2" "$file" | tr -d ' \n'; }
[ "$(bytes 0 4)" = 7f454c46 ] || { echo "Error: $file is not an ELF file" >&2; exit 1; }
[ "$(bytes 4 2)" = 0201 ] || { echo "Error: $file is not a 64-bit little-endian ELF file" >&2; exit 1; }
got=$(bytes 18 2)
[ "$got" = "$want" ] || { echo "Error: $file is for e_machine 0x$got (little-endian), not $machine" >&2; exit 1; }
echo "$file: ELF 64-bit LSB, machine $machine (e_machine bytes $got)"
version=$("$file" version)
echo "$version"
case $version in
  *"machine $(uname -m))") ;;
  *) echo "Error: $file did not report this machine ($(uname -m))" >&2; exit 1 ;;
esac
