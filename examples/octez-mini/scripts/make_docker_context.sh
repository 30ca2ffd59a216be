#!/bin/sh
# Usage: scripts/make_docker_context.sh IMAGE_TAG
#
# Prepares what publish:docker_manual publishes: the Docker build context
# _docker/ (Dockerfile, client, VERSION) and _docker/context.tar.gz with its
# checksum. Octez's job builds and pushes images with docker-in-docker; this
# example's jobs have neither a Docker daemon nor a registry, so it stops at
# the context and prints the commands that would build and push it.
set -eu
tag=${1:?Usage: scripts/make_docker_context.sh IMAGE_TAG}
build=_bin/x86_64
[ -x "$build/bin/octez-mini-client" ] || { echo "Error: $build not found (in CI: needs build_x86_64)" >&2; exit 1; }
rm -rf _docker
mkdir -p _docker/context
cp Dockerfile "$build/bin/octez-mini-client" "$build/VERSION" _docker/context/
# Every COPY source of the Dockerfile must be in the context.
for f in $(sed -n 's/^COPY \([^ ]*\) .*/\1/p' Dockerfile); do
  [ -e "_docker/context/$f" ] || { echo "Error: Dockerfile copies $f, which is not in the context" >&2; exit 1; }
done
(cd _docker/context && tar -cf - Dockerfile octez-mini-client VERSION) | gzip -n > _docker/context.tar.gz
(cd _docker && sha256sum context.tar.gz > context.tar.gz.sha256)
echo "$tag" > _docker/image-tag
cat _docker/context.tar.gz.sha256
echo "Context ready for $tag. With a Docker daemon and a registry this job would run:"
echo "  docker build -t $tag _docker/context && docker push $tag"
