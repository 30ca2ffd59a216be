#!/usr/bin/env python3
"""Packs a root filesystem folder as a `docker load` archive (one layer, the given architecture).

usage: mkimage.py ROOTFS ARCH TAG OUT.tar      ARCH is a Docker architecture: amd64, arm64, s390x
"""
import hashlib
import io
import json
import sys
import tarfile


def tar_bytes(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        members(tar)
    return buf.getvalue()


def main():
    rootfs, arch, tag, out = sys.argv[1:5]
    layer = tar_bytes(lambda t: t.add(rootfs, arcname="."))
    layer_digest = hashlib.sha256(layer).hexdigest()
    config = json.dumps({
        "architecture": arch,
        "os": "linux",
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["sh"],
        },
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + layer_digest]},
        "history": [{"created_by": "tezos-ci-local scripts/mkimage.py"}],
    }, sort_keys=True).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    layer_name = layer_digest + "/layer.tar"
    manifest = json.dumps([{"Config": config_name, "RepoTags": [tag], "Layers": [layer_name]}]).encode()

    with tarfile.open(out, "w") as tar:
        for name, data in ((config_name, config), (layer_name, layer), ("manifest.json", manifest)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


if __name__ == "__main__":
    main()
