#!/usr/bin/env python3
"""Turns a root filesystem tarball into a one-layer OCI image (image-layout 1.0.0), standard
library only, so that no container runtime, umoci or registry is needed to build the image.

    write_oci.py --rootfs rootfs.tar --config-json image-config.json --ref NAME:TAG \
                 --layout DIR [--archive FILE.oci.tar] [--epoch SECONDS]

--rootfs         an uncompressed tar of the root filesystem (mmdebstrap's output); it is the
                 layer as is: its sha256 is the layer's diff_id
--config-json    the image configuration's "config" object (Entrypoint, Cmd, Env, User,
                 ExposedPorts, Labels, ...) and "history" text, written by build-image.sh
--ref            the name:tag recorded in index.json (org.opencontainers.image.ref.name) and in
                 a Docker-style manifest.json (RepoTags), so that `podman load` and
                 `docker load` name the image
--layout         the OCI image-layout directory to write (created; must not exist)
--archive        also write the layout as one tar (the "oci-archive" format of podman, skopeo
                 and buildah; Docker >= 25 loads it too), members sorted, owned by 0:0, mtime
                 --epoch, so the same inputs give the same bytes
--epoch          SOURCE_DATE_EPOCH: the image's "created" time and every mtime in the archive

Prints one JSON object: the digests and sizes of the layer, config, manifest and archive.
"""
import argparse
import datetime
import gzip
import hashlib
import io
import json
import os
import shutil
import sys
import tarfile

CHUNK = 1 << 20


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def canonical(obj):
    # Sorted keys, no spaces: the same object always gives the same bytes (and digest).
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def put_blob(layout, data):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(layout, "blobs", "sha256", digest), "wb") as f:
        f.write(data)
    return "sha256:" + digest, len(data)


def gzip_layer(rootfs, layout):
    """Compresses the rootfs tar into a temporary blob; returns (diff_id, digest, size)."""
    tmp = os.path.join(layout, "blobs", "sha256", ".layer.tmp")
    raw = hashlib.sha256()
    with open(rootfs, "rb") as src, open(tmp, "wb") as dst:
        # mtime=0 and no file name in the gzip header: the bytes depend on the content only.
        with gzip.GzipFile(filename="", mode="wb", fileobj=dst, mtime=0, compresslevel=9) as gz:
            for block in iter(lambda: src.read(CHUNK), b""):
                raw.update(block)
                gz.write(block)
    digest = sha256_file(tmp)
    os.replace(tmp, os.path.join(layout, "blobs", "sha256", digest))
    return "sha256:" + raw.hexdigest(), "sha256:" + digest, os.path.getsize(
        os.path.join(layout, "blobs", "sha256", digest))


def write_archive(layout, archive, epoch):
    """The layout as one reproducible tar: sorted members, 0:0, fixed mtime, fixed modes."""
    tmp = archive + ".tmp"
    members = []
    for root, dirs, files in os.walk(layout):
        dirs.sort()
        rel_root = os.path.relpath(root, layout)
        for name in sorted(dirs + files):
            rel = os.path.normpath(os.path.join(rel_root, name))
            members.append(rel)
    members.sort()
    with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as tar:
        for rel in members:
            path = os.path.join(layout, rel)
            info = tar.gettarinfo(path, arcname=rel)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = epoch
            info.mode = 0o755 if info.isdir() else 0o644
            if info.isfile():
                with open(path, "rb") as f:
                    tar.addfile(info, f)
            else:
                tar.addfile(info)
    os.replace(tmp, archive)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rootfs", required=True)
    parser.add_argument("--config-json", required=True)
    parser.add_argument("--ref", required=True)
    parser.add_argument("--layout", required=True)
    parser.add_argument("--archive")
    parser.add_argument("--epoch", type=int, default=int(os.environ.get("SOURCE_DATE_EPOCH", "0")))
    parser.add_argument("--architecture", default="amd64")
    args = parser.parse_args()

    with open(args.config_json, encoding="utf-8") as f:
        spec = json.load(f)
    created = datetime.datetime.fromtimestamp(args.epoch, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")

    if os.path.exists(args.layout):
        sys.exit(f"write_oci.py: {args.layout} exists; remove it first")
    os.makedirs(os.path.join(args.layout, "blobs", "sha256"))

    diff_id, layer_digest, layer_size = gzip_layer(args.rootfs, args.layout)

    config = {
        "created": created,
        "architecture": args.architecture,
        "os": "linux",
        "config": spec["config"],
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": created, "created_by": spec.get("history", "")}],
    }
    config_digest, config_size = put_blob(args.layout, canonical(config))

    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config_digest, "size": config_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": layer_digest, "size": layer_size}],
        "annotations": {"org.opencontainers.image.created": created},
    }
    manifest_digest, manifest_size = put_blob(args.layout, canonical(manifest))

    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest_digest, "size": manifest_size,
            "platform": {"architecture": args.architecture, "os": "linux"},
            "annotations": {"org.opencontainers.image.ref.name": args.ref},
        }],
    }
    with open(os.path.join(args.layout, "index.json"), "wb") as f:
        f.write(canonical(index))
    with open(os.path.join(args.layout, "oci-layout"), "wb") as f:
        f.write(canonical({"imageLayoutVersion": "1.0.0"}))
    # Docker's own archive index (what `docker save` writes next to index.json since Docker 25),
    # for Docker engines that load only that format; OCI tools ignore it.
    with open(os.path.join(args.layout, "manifest.json"), "wb") as f:
        f.write(canonical([{
            "Config": "blobs/sha256/" + config_digest.split(":", 1)[1],
            "RepoTags": [args.ref],
            "Layers": ["blobs/sha256/" + layer_digest.split(":", 1)[1]],
        }]))

    result = {
        "ref": args.ref,
        "created": created,
        "manifest_digest": manifest_digest,
        "config_digest": config_digest,
        "layer_digest": layer_digest,
        "layer_diff_id": diff_id,
        "layer_size": layer_size,
        "rootfs_size": os.path.getsize(args.rootfs),
    }
    if args.archive:
        write_archive(args.layout, args.archive, args.epoch)
        result["archive"] = args.archive
        result["archive_size"] = os.path.getsize(args.archive)
        result["archive_sha256"] = "sha256:" + sha256_file(args.archive)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
