#!/usr/bin/env bash
# Sets up a Debian machine for tezos-ci-local, offline: the build dependencies, a Docker engine
# (Debian's docker.io) started if none answers, qemu-user-static registered in binfmt_misc for
# arm64 and s390x, and the images the examples and tests use, built locally without a registry:
#   tezos-ci-local/busybox:{amd64,arm64,s390x}  (from Debian's busybox-static), also tagged
#       busybox:latest, arm64v8/busybox:latest, s390x/busybox:latest when the engine has none
#   tezos-ci-local/debian:bookworm              (debootstrap minbase, with git), also debian:bookworm
# Run as root (or with sudo). Idempotent: a second run takes seconds.
# Environment: TCL_SKIP_IMAGES=1 skips the images; TCL_DOCKERD_LOG sets the engine's log file.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
here=$(cd "$(dirname "$0")" && pwd)
log() { printf 'setup: %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then exec sudo -E bash "$0" "$@"; fi
  log "run me as root"; exit 2
fi

# 1. Packages: the engine, qemu, what builds the images, and what the crate links against.
need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v qemu-aarch64-static >/dev/null || need+=(qemu-user-static)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v python3 >/dev/null || need+=(python3)
command -v pkg-config >/dev/null || need+=(pkg-config)
[ -e /usr/include/openssl/ssl.h ] || need+=(libssl-dev)
command -v cc >/dev/null || need+=(gcc)
command -v git >/dev/null || need+=(git)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# 2. The engine: start one unless one answers already (the user's own engine is left alone).
if ! docker info >/dev/null 2>&1; then
  log "starting dockerd"
  setsid dockerd --iptables=false --ip6tables=false >"${TCL_DOCKERD_LOG:-/tmp/tezos-ci-local-dockerd.log}" 2>&1 </dev/null &
  for _ in $(seq 120); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { log "dockerd did not come up; see ${TCL_DOCKERD_LOG:-/tmp/tezos-ci-local-dockerd.log}"; exit 1; }
fi

# 3. qemu in binfmt_misc, with the F flag that Debian's configuration sets (works in containers).
[ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
for arch in aarch64 s390x; do
  if [ ! -e "/proc/sys/fs/binfmt_misc/qemu-$arch" ]; then
    log "registering qemu-$arch"
    cat "/usr/lib/binfmt.d/qemu-$arch.conf" >/proc/sys/fs/binfmt_misc/register
  fi
done

[ "${TCL_SKIP_IMAGES:-0}" = 1 ] && exit 0

# 4. Images, built from Debian packages: no registry is needed. The tests use the project's own
# tags (tezos-ci-local/...), never a name a user may already have for another image; the usual
# names, which the examples use, are given to the same images only when the engine has none.
work=$(mktemp -d); chmod 755 "$work"; trap 'rm -rf "$work"' EXIT; cd "$work"
for arch in amd64 arm64 s390x; do
  tag=tezos-ci-local/busybox:$arch
  case $arch in amd64) usual=busybox:latest;; arm64) usual=arm64v8/busybox:latest;; s390x) usual=s390x/busybox:latest;; esac
  if ! docker image inspect "$tag" >/dev/null 2>&1; then
    log "building $tag"
    if [ "$arch" != amd64 ] && ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
      dpkg --add-architecture "$arch"; apt-get update -qq
    fi
    apt-get download -qq "busybox-static:$arch" >/dev/null
    mkdir -p "x-$arch" "root-$arch/bin" "root-$arch/tmp" "root-$arch/etc"
    dpkg-deb -x busybox-static_*_"$arch".deb "x-$arch"
    cp "x-$arch/bin/busybox" "root-$arch/bin/"
    chmod 1777 "root-$arch/tmp"
    printf 'root:x:0:0:root:/root:/bin/sh\n' >"root-$arch/etc/passwd"
    printf 'root:x:0:\n' >"root-$arch/etc/group"
    # Foreign busybox binaries list their applets through the qemu registered above.
    for a in $("./x-$arch/bin/busybox" --list); do
      [ "$a" = busybox ] || ln -sf busybox "root-$arch/bin/$a"
    done
    python3 "$here/mkimage.py" "root-$arch" "$arch" "$tag" "img-$arch.tar"
    docker load -q -i "img-$arch.tar" >/dev/null
    rm -rf "x-$arch" "root-$arch" "img-$arch.tar" busybox-static_*_"$arch".deb
  fi
  docker image inspect "$usual" >/dev/null 2>&1 || docker tag "$tag" "$usual"
done
if ! docker image inspect tezos-ci-local/debian:bookworm >/dev/null 2>&1; then
  log "building tezos-ci-local/debian:bookworm (debootstrap, about a minute)"
  mirror=$(grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1 | awk '{print $2}')
  [ -n "$mirror" ] || mirror=$(grep -h '^deb ' /etc/apt/sources.list 2>/dev/null | head -1 | awk '{print $2}')
  debootstrap --variant=minbase --include=git,ca-certificates bookworm "$work/deb" "${mirror:-http://deb.debian.org/debian}" >/dev/null
  tar -C "$work/deb" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' - tezos-ci-local/debian:bookworm >/dev/null
fi
docker image inspect debian:bookworm >/dev/null 2>&1 || docker tag tezos-ci-local/debian:bookworm debian:bookworm
docker image ls --format '{{.Repository}}:{{.Tag}}' | grep -E '^(tezos-ci-local/busybox|tezos-ci-local/debian|busybox|arm64v8/busybox|s390x/busybox|debian):' | sort | sed 's/^/setup: image /' >&2
