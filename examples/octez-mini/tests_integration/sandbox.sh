#!/bin/sh
# integration:sandbox -- a two-node sandbox, the octez-mini version of Octez's
# flextesa sandboxes: node A bakes a chain, node B bootstraps by validating and
# accepting A's blocks one at a time, then refuses a forged block.
# Everything lands in _sandbox/, which CI keeps as an artifact when this fails.
set -eu
CLIENT=${CLIENT:-$PWD/_build/${ARCH:-x86_64}/bin/octez-mini-client}
[ -x "$CLIENT" ] || { echo "Error: $CLIENT not found: build first (in CI: needs build_x86_64)" >&2; exit 1; }
if [ -n "${BISECT_FILE:-}" ]; then mkdir -p "$BISECT_FILE"; fi
blocks=${SANDBOX_BLOCKS:-12}

rm -rf _sandbox
mkdir -p _sandbox/node_a _sandbox/node_b
head_a=$("$CLIENT" bake _sandbox/node_a "$blocks")
echo "node_a: baked $blocks blocks, head $head_a"

# node_b starts at genesis.
head_b=BLockGenesisGenesisGenesisGenesisGenesisf79b5d1CoW2
for block in _sandbox/node_a/block_*.json; do
  hash=$("$CLIENT" check header "$block")
  pred=$(sed 's/.*"predecessor": "\([^"]*\)".*/\1/' "$block")
  if [ "$pred" != "$head_b" ]; then
    echo "Error: node_b: $block does not extend its head $head_b" >&2
    exit 1
  fi
  cp "$block" _sandbox/node_b/
  head_b=$hash
  echo "$head_b" > _sandbox/node_b/head
  echo "node_b: accepted $(basename "$block" .json) $hash"
done
"$CLIENT" check chain _sandbox/node_b
if [ "$head_b" != "$head_a" ]; then
  echo "Error: node_b ended on $head_b, node_a on $head_a" >&2
  exit 1
fi

# A forged block claims the hash of the real one but carries another timestamp.
next=$((blocks + 1))
"$CLIENT" bake _sandbox/next "$next" > /dev/null
real=$(printf '_sandbox/next/block_%04d.json' "$next")
sed 's/"timestamp": \([0-9]*\)/"timestamp": 1\1/' "$real" > _sandbox/forged.json
if "$CLIENT" check header _sandbox/forged.json 2> _sandbox/forged.err; then
  echo "Error: node_b accepted a forged block" >&2
  exit 1
fi
echo "node_b: refused forged block: $(cat _sandbox/forged.err)"
echo "sandbox ok: both nodes at $head_a"
