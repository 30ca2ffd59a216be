#!/usr/bin/env bash
# Extra Docker engines on this machine, for tests and benchmarks of engine pools: each `dockerd`
# runs in its own network namespace (a second engine in the host's namespace takes the host
# engine's docker0 bridge away), with its own data root, exec root and cgroup parent, reached over
# TCP through a veth pair on an address of that namespace. The host's engine is never touched.
#
#   scripts/engines.sh start N    start engines 1..N (those already up are kept); prints one
#                                 address a line: tcp://SUBNET.I.2:2375
#   scripts/engines.sh stop       stop every engine of this prefix and remove all trace of them:
#                                 daemons, their containerd, containers, mounts, namespaces, veth
#                                 pairs, data roots. Idempotent; safe after a crash or a kill.
#   scripts/engines.sh kill I     SIGKILL engine I's dockerd (an engine that dies mid-job)
#   scripts/engines.sh status     one line an engine: its address and whether it answers
#   scripts/engines.sh exec I CMD run CMD in engine I's network namespace
#
# Environment:
#   TCL_ENGINES_PREFIX  names of namespaces and veths (default tcleng; at most 9 characters)
#   TCL_ENGINES_SUBNET  the first two bytes of the addresses (default 10.214: engine I is on
#                       10.214.I.0/24, the host end .1, the engine .2)
#   TCL_ENGINES_DIR     where data roots go (default /var/tmp/tezos-ci-local-engines/PREFIX; an
#                       ext4 or xfs, not an overlay or tmpfs, for overlay2)
#   TCL_ENGINES_IMAGES  images copied from the host engine into each new engine (default
#                       busybox:latest arm64v8/busybox:latest; "" for none)
#   TCL_ENGINES_TLS     1: the engines listen with TLS (`--tlsverify`) on port 2376, with a CA,
#                       server and client certificates of their own (made with openssl; the
#                       client key in the traditional PKCS#1 form Docker's guide makes); `start`
#                       prints tcp://ADDR:2376?cert_path=DIR, DIR holding ca.pem, cert.pem, key.pem
# Needs root, iproute2, nsenter (util-linux), dockerd (and openssl with TCL_ENGINES_TLS=1).
set -euo pipefail
prefix=${TCL_ENGINES_PREFIX:-tcleng}
subnet=${TCL_ENGINES_SUBNET:-10.214}
base=${TCL_ENGINES_DIR:-/var/tmp/tezos-ci-local-engines/$prefix}
images=${TCL_ENGINES_IMAGES-busybox:latest arm64v8/busybox:latest}
log() { printf 'engines: %s\n' "$*" >&2; }

if [ "${#prefix}" -gt 9 ]; then log "TCL_ENGINES_PREFIX must be at most 9 characters"; exit 2; fi
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then exec sudo -E bash "$0" "$@"; fi
  log "run me as root"; exit 2
fi

tls=${TCL_ENGINES_TLS:-0}
ns() { echo "$prefix-$1"; }
dir() { echo "$base/$1"; }
addr() { echo "$subnet.$1.2"; }
sock() { echo "$(dir "$1")/docker.sock"; }
answers() { timeout 5 docker -H "unix://$(sock "$1")" version --format '{{.Server.Version}}' >/dev/null 2>&1; }
# The address `start` and `status` print: clear on 2375, or TLS on 2376 with the client's files.
address() {
  if [ "$tls" = 1 ]; then echo "tcp://$(addr "$1"):2376?cert_path=$(dir "$1")/tls/client"
  else echo "tcp://$(addr "$1"):2375"; fi
}

# A CA, a server certificate for the engine's address and a client certificate, under DIR/tls.
make_tls() {
  local d=$1/tls a=$2
  mkdir -p "$d/client"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=tcl-test-ca \
    -keyout "$d/ca-key.pem" -out "$d/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$a" -keyout "$d/server-key.pem" \
    -out "$d/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:%s\nextendedKeyUsage=serverAuth\n' "$a" >"$d/server.ext"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca-key.pem" \
    -CAcreateserial -days 2 -extfile "$d/server.ext" -out "$d/server.pem" 2>/dev/null
  openssl genrsa -traditional -out "$d/client/key.pem" 2048 2>/dev/null
  openssl req -new -key "$d/client/key.pem" -subj /CN=client -out "$d/client.csr" 2>/dev/null
  printf 'extendedKeyUsage=clientAuth\n' >"$d/client.ext"
  openssl x509 -req -in "$d/client.csr" -CA "$d/ca.pem" -CAkey "$d/ca-key.pem" \
    -CAcreateserial -days 2 -extfile "$d/client.ext" -out "$d/client/cert.pem" 2>/dev/null
  cp "$d/ca.pem" "$d/client/ca.pem"
}

start_one() {
  local i=$1 n d a
  n=$(ns "$i"); d=$(dir "$i"); a=$(addr "$i")
  if answers "$i"; then return 0; fi
  # A half-started or killed engine of this number: clear it first.
  stop_one "$i"
  mkdir -p "$d/data" "$d/exec"
  ip netns add "$n"
  ip link add "$n-h" type veth peer name "$n-n"
  ip link set "$n-n" netns "$n"
  ip addr add "$subnet.$i.1/24" dev "$n-h"
  ip link set "$n-h" up
  nsenter --net="/var/run/netns/$n" ip addr add "$a/24" dev "$n-n"
  nsenter --net="/var/run/netns/$n" ip link set "$n-n" up
  nsenter --net="/var/run/netns/$n" ip link set lo up
  local listen=(-H "tcp://$a:2375")
  if [ "$tls" = 1 ]; then
    make_tls "$d" "$a"
    listen=(--tlsverify --tlscacert "$d/tls/ca.pem" --tlscert "$d/tls/server.pem"
      --tlskey "$d/tls/server-key.pem" -H "tcp://$a:2376")
  fi
  # `ip netns exec` remounts /sys, where dockerd then finds no devices cgroup: nsenter keeps the
  # mounts and changes only the network. Containers go under their own cgroup parent, so that
  # `stop` finds every process of this engine even after its daemon was killed.
  nsenter --net="/var/run/netns/$n" setsid dockerd \
    --data-root "$d/data" --exec-root "$d/exec" --pidfile "$d/dockerd.pid" \
    "${listen[@]}" -H "unix://$d/docker.sock" \
    --cgroup-parent "/$n" --iptables=false --ip6tables=false \
    >"$d/dockerd.log" 2>&1 </dev/null &
  echo "$n" >"$d/netns"
}

wait_one() {
  local i=$1
  for _ in $(seq 240); do answers "$i" && return 0; sleep 0.25; done
  log "engine $i did not come up; its log:"; tail -20 "$(dir "$i")/dockerd.log" >&2 || true
  return 1
}

load_images() {
  local i=$1 missing=()
  for img in $images; do
    docker -H "unix://$(sock "$i")" image inspect "$img" >/dev/null 2>&1 || missing+=("$img")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "engine $i: loading ${missing[*]}"
  docker save "${missing[@]}" | docker -H "unix://$(sock "$i")" load -q >/dev/null
}

# Kills every process listed in a cgroup tree (all controllers of cgroup v1, and v2), then removes
# the directories.
kill_cgroup() {
  local name=$1 c
  for c in /sys/fs/cgroup/*/"$name" /sys/fs/cgroup/"$name"; do
    [ -d "$c" ] || continue
    find "$c" -name cgroup.procs -exec cat {} + 2>/dev/null | while read -r pid; do
      kill -9 "$pid" 2>/dev/null || true
    done
  done
  for c in /sys/fs/cgroup/*/"$name" /sys/fs/cgroup/"$name"; do
    [ -d "$c" ] || continue
    find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
}

# Processes whose command line names this engine's directory: its dockerd, containerd and shims.
pids_of() {
  local d=$1 p
  for p in /proc/[0-9]*; do
    if { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -qF -- "$d/"; then echo "${p#/proc/}"; fi
  done
}

stop_one() {
  local i=$1 n d pid
  n=$(ns "$i"); d=$(dir "$i")
  if [ -f "$d/dockerd.pid" ]; then
    pid=$(cat "$d/dockerd.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    fi
  fi
  kill_cgroup "$n"
  for pid in $(pids_of "$d"); do kill -9 "$pid" 2>/dev/null || true; done
  kill_cgroup "$n"
  # Mounts the daemons left (overlay layers, shm, netns files), deepest first.
  if [ -d "$d" ]; then
    awk -v d="$d/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do
      umount -l "$m" 2>/dev/null || true
    done
  fi
  ip netns del "$n" 2>/dev/null || true
  ip link del "$n-h" 2>/dev/null || true
  rm -rf "$d"
}

numbers() {
  {
    [ -d "$base" ] && ls "$base"
    ip netns list 2>/dev/null | awk '{print $1}' | sed -n "s/^$prefix-\([0-9]\+\)$/\1/p"
  } | grep -E '^[0-9]+$' | sort -un
}

case "${1:-}" in
  start)
    count=${2:?usage: engines.sh start N}
    trap 'log "start failed; stopping what was started"; for i in $(seq "$count"); do stop_one "$i"; done' ERR
    for i in $(seq "$count"); do start_one "$i"; done
    for i in $(seq "$count"); do wait_one "$i"; done
    for i in $(seq "$count"); do load_images "$i"; done
    trap - ERR
    for i in $(seq "$count"); do address "$i"; done
    ;;
  stop)
    for i in $(numbers); do stop_one "$i"; done
    rmdir "$base" 2>/dev/null || true
    [ -n "${TCL_ENGINES_DIR:-}" ] || rmdir "$(dirname "$base")" 2>/dev/null || true
    ;;
  kill)
    i=${2:?usage: engines.sh kill I}
    kill -9 "$(cat "$(dir "$i")/dockerd.pid")"
    ;;
  status)
    for i in $(numbers); do
      if answers "$i"; then s=up; else s=down; fi
      echo "$i $(address "$i") $s"
    done
    ;;
  exec)
    i=${2:?usage: engines.sh exec I CMD...}; shift 2
    exec nsenter --net="/var/run/netns/$(ns "$i")" "$@"
    ;;
  *)
    sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
