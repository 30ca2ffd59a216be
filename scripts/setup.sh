#!/usr/bin/env bash
# Sets up a Debian machine for tezos-ci-local, offline: the build dependencies, a Docker engine
# (Debian's docker.io) started if none answers, qemu-user-static registered in binfmt_misc for
# arm64 and s390x, and the images the examples and tests use, built locally without a registry:
#   tezos-ci-local/busybox:{amd64,arm64,s390x}  (from Debian's busybox-static), also tagged
#       busybox:latest, arm64v8/busybox:latest, s390x/busybox:latest when the engine has none
#   tezos-ci-local/debian:bookworm              (debootstrap minbase, with git), also debian:bookworm
#   tezos-ci-local/ocaml:amd64, tezos-ci-local/ocaml:arm64        (debootstrap + Debian's OCaml)
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

# 1. Packages: the engine, qemu, what builds the images, what the crate links against, and the
# browser the report's tests use.
need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v qemu-aarch64-static >/dev/null || need+=(qemu-user-static)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v python3 >/dev/null || need+=(python3)
command -v pkg-config >/dev/null || need+=(pkg-config)
[ -e /usr/include/openssl/ssl.h ] || need+=(libssl-dev)
command -v cc >/dev/null || need+=(gcc)
command -v git >/dev/null || need+=(git)
# The TLS engine of tests/engine_tls.rs gets its certificates from the openssl command.
command -v openssl >/dev/null || need+=(openssl)
# Headless chromium renders the HTML report in tests/report_browser.rs.
command -v chromium >/dev/null || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# 1b. What the engine-pool tests use (tests/engines.rs, scripts/engines.sh): podman (its
# Docker-compatible service as an engine), openssh-server (an ssh:// engine), ip and nsenter
# (extra engines in network namespaces). Installed, never started as services here.
need=()
command -v podman >/dev/null || need+=(podman)
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null || need+=(openssh-client)
command -v ip >/dev/null || need+=(iproute2)
command -v nsenter >/dev/null || need+=(util-linux)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]} (engine pools)"
  # Debian starts a server it installs unless policy-rc.d says no: no sshd on this machine.
  own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; own_policy=1
  fi
  ok=1
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; } || ok=0
  [ "$own_policy" = 0 ] || rm -f /usr/sbin/policy-rc.d
  [ "$ok" = 1 ] || { log "installing ${need[*]} failed"; exit 1; }
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

# 5. OCaml images for examples/octez-mini and pipelines/ocaml.yml: Debian bookworm with Debian's
# OCaml 4.13, dune, findlib, Alcotest, odoc and opam, one image per platform. The arm64 root is
# made by `debootstrap --foreign` and finished under qemu (binfmt above); apt-get then installs
# the OCaml packages inside each root, so that it resolves their virtual dependencies, which
# debootstrap's --include does not. First time, on a busy 2-core machine: 9 minutes for amd64,
# 21 for arm64 (package scripts under qemu); seconds after.
ocaml_packages="ocaml-nox ocaml-dune ocaml-findlib libalcotest-ocaml-dev ocaml-odoc opam"
for arch in amd64 arm64; do
  tag=tezos-ci-local/ocaml:$arch
  docker image inspect "$tag" >/dev/null 2>&1 && continue
  log "building $tag (debootstrap and apt-get$([ "$arch" = amd64 ] || echo ' under qemu'))"
  mirror=$(grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1 | awk '{print $2}')
  [ -n "$mirror" ] || mirror=$(grep -h '^deb ' /etc/apt/sources.list 2>/dev/null | head -1 | awk '{print $2}')
  root=$work/ocaml-$arch
  # debootstrap mounts /proc and /sys in the root: never leave them mounted under $work.
  trap 'for m in proc sys; do if mountpoint -q "$root/$m"; then umount -l "$root/$m"; fi; done; rm -rf "$work"' EXIT
  if [ "$arch" = amd64 ]; then
    debootstrap --variant=minbase bookworm "$root" "${mirror:-http://deb.debian.org/debian}" >/dev/null
  else
    debootstrap --foreign --arch "$arch" --variant=minbase bookworm "$root" "${mirror:-http://deb.debian.org/debian}" >/dev/null
    chroot "$root" /debootstrap/debootstrap --second-stage >/dev/null
  fi
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  chroot "$root" sh -c "export DEBIAN_FRONTEND=noninteractive; apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends $ocaml_packages \
    && apt-get clean && rm -rf /var/lib/apt/lists/* /usr/share/doc /usr/share/man" >"$work/apt.log" 2>&1 \
    || { tail -n 30 "$work/apt.log" >&2; log "installing OCaml in $tag failed"; exit 1; }
  : >"$root/etc/resolv.conf"
  for m in proc sys; do if mountpoint -q "$root/$m"; then umount -l "$root/$m"; fi; done
  # `docker import` would label the image amd64 whatever --platform says: mkimage.py sets it.
  python3 "$here/mkimage.py" "$root" "$arch" "$tag" "$work/ocaml-$arch.tar"
  docker load -q -i "$work/ocaml-$arch.tar" >/dev/null
  rm -f "$work/ocaml-$arch.tar"
  rm -rf "$root"
done
docker image inspect debian:bookworm >/dev/null 2>&1 || docker tag tezos-ci-local/debian:bookworm debian:bookworm
docker image ls --format '{{.Repository}}:{{.Tag}}' | grep -E '^(tezos-ci-local/busybox|tezos-ci-local/debian|busybox|arm64v8/busybox|s390x/busybox|debian|tezos-ci-local/ocaml):' | sort | sed 's/^/setup: image /' >&2
