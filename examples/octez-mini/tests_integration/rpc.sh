#!/bin/sh
# integration:rpc -- the client against a node reached over the network.
# In CI the "node" is a service container (alias node) that serves three RPCs
# with busybox httpd; this script waits for it, fetches the head header and
# its predecessor, and checks their hashes and the link between them.
set -eu
CLIENT=${CLIENT:-$PWD/_build/${ARCH:-x86_64}/bin/octez-mini-client}
[ -x "$CLIENT" ] || { echo "Error: $CLIENT not found: build first (in CI: needs build_x86_64)" >&2; exit 1; }
if [ -n "${BISECT_FILE:-}" ]; then mkdir -p "$BISECT_FILE"; fi
export MINI_ENDPOINT=${MINI_ENDPOINT:-http://node:8732}

# A service container may still be starting when the job starts. Give up
# after 30 seconds (a failing name lookup can take seconds by itself).
deadline=$(($(date +%s) + 30))
until version=$("$CLIENT" rpc get /version 2>/dev/null); do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "Error: no node answers at $MINI_ENDPOINT after 30 seconds" >&2
    "$CLIENT" rpc get /version
    exit 1
  fi
  sleep 1
done
echo "node at $MINI_ENDPOINT: $version"

"$CLIENT" rpc get /chains/main/blocks/head/header > head.json
"$CLIENT" rpc get /chains/main/blocks/2/header > pred.json
cat head.json pred.json
head=$("$CLIENT" check header head.json)
pred=$("$CLIENT" check header pred.json)
echo "head $head and its predecessor $pred hash correctly"
if ! grep -q "\"predecessor\": \"$pred\"" head.json; then
  echo "Error: the head does not point to block 2" >&2
  exit 1
fi
# The same chain baked locally must end on the same head.
"$CLIENT" bake local 3 > /dev/null
if [ "$(cat local/head)" != "$head" ]; then
  echo "Error: the node's head $head is not the locally baked $(cat local/head)" >&2
  exit 1
fi
echo "rpc ok: the node's head is $head"
