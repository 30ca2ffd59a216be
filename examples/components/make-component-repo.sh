#!/bin/sh
# Makes the component project a bare git repository with two releases, 1.0.0 and 1.1.0 (the
# second changes the greeting's component version only), and prints the --project-source
# argument that points the app's pipeline at it.
# Usage: make-component-repo.sh DIR   (DIR must not exist)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dest=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -R "$here/greet-components/." "$work/"
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
git -C "$work" init -q -b main
git -C "$work" -c user.name=example -c user.email=example@localhost add -A
git -C "$work" -c user.name=example -c user.email=example@localhost commit -q -m "greet 1.0.0"
git -C "$work" tag 1.0.0
git -C "$work" -c user.name=example -c user.email=example@localhost commit -q --allow-empty -m "greet 1.1.0"
git -C "$work" tag 1.1.0
git clone -q --bare "$work" "$dest"
echo "examples/greet-components=$dest"
