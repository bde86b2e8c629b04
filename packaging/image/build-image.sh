#!/usr/bin/env bash
# Builds the executor-agent container image (OCI) from Debian 12 packages and the project's .deb,
# without pulling any base image and without a container runtime:
#   mmdebstrap --variant=essential bookworm + the .deb (apt resolves its Depends from Debian's
#   archive) -> docs, man pages and caches left out -> container.toml, state/runtime/file-root
#   directories -> one layer, written as an OCI image layout by write_oci.py (Python stdlib)
#   -> an oci-archive tar.
#
# Usage: packaging/image/build-image.sh [--deb FILE] [--output FILE] [--layout DIR] [--tag TAG]
#   --deb     the package to install (default: the one build/executor-agent_*.deb)
#   --output  the oci-archive to write (default: build/executor-agent-image.oci.tar)
#   --layout  also keep the OCI image-layout directory here (default: not kept)
#   --tag     the name recorded in the image (default: executor-agent:<package version>)
# Environment:
#   SOURCE_DATE_EPOCH  fixes every timestamp (default: the time of the last git commit); with the
#                      same .deb and the same mirror content the image is the same, byte for byte
#   MIRROR, SECURITY_MIRROR   Debian archives (default http://deb.debian.org/debian{,-security})
#   IMAGE_SOURCE       the org.opencontainers.image.source label (e.g. the repository URL)
# Needs: mmdebstrap, python3, root (or mmdebstrap's unshare mode: subuids for this user).
# Output: the archive's path, size and digests; load it with `podman load -i FILE`, push it with
#   `skopeo copy oci-archive:FILE docker://REGISTRY/executor-agent:TAG`. See docs/container-image.md.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
deb=""
output="$src/build/executor-agent-image.oci.tar"
layout=""
tag=""
while [ $# -gt 0 ]; do
  case "$1" in
    --deb) deb=$2; shift 2 ;;
    --output) output=$2; shift 2 ;;
    --layout) layout=$2; shift 2 ;;
    --tag) tag=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-image.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

fail() { echo "build-image.sh: $*" >&2; exit 1; }
step() { echo "build-image.sh: $*"; }

for tool in mmdebstrap python3 dpkg-deb; do
  command -v "$tool" >/dev/null || fail "$tool not found (apt-get install mmdebstrap python3 dpkg)"
done

if [ -z "$deb" ]; then
  debs=("$src"/build/executor-agent_*.deb)
  [ -f "${debs[0]}" ] || fail "no build/executor-agent_*.deb; build it first (cd build && cpack -G DEB)"
  [ ${#debs[@]} -eq 1 ] || fail "several packages in build/ (${debs[*]}); pick one with --deb"
  deb=${debs[0]}
fi
[ -f "$deb" ] || fail "$deb: no such file"
[ "$(dpkg-deb -f "$deb" Package)" = executor-agent ] || fail "$deb is not the executor-agent package"
version=$(dpkg-deb -f "$deb" Version)
arch=$(dpkg-deb -f "$deb" Architecture)
[ -n "$tag" ] || tag="executor-agent:$version"

if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
  SOURCE_DATE_EPOCH=$(git -C "$src" log -1 --format=%ct 2>/dev/null || date +%s)
fi
export SOURCE_DATE_EPOCH
revision=$(git -C "$src" rev-parse HEAD 2>/dev/null || true)
mirror=${MIRROR:-http://deb.debian.org/debian}
security_mirror=${SECURITY_MIRROR:-http://deb.debian.org/debian-security}

work=$(mktemp -d "${TMPDIR:-/tmp}/build-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
# apt opens local packages as its _apt user, and mmdebstrap's unshare mode as a mapped uid.
chmod 0755 "$work"
cp "$deb" "$work/$(basename "$deb")"
chmod 0644 "$work/$(basename "$deb")"
deb_in=$work/$(basename "$deb")

step "package: $(basename "$deb") (version $version, $arch); SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH"
step "Depends: $(dpkg-deb -f "$deb" Depends)"

# --- the root filesystem ---------------------------------------------------------------------
# essential: Debian's Essential:yes set (dpkg, coreutils, dash, bash...: what maintainer scripts
# and an operator's `kubectl exec` need) plus the .deb and its Depends. No apt in the image: apt
# runs from the host, into the chroot (mmdebstrap). The file-mirror-automount hook makes the .deb
# visible at the same path inside the chroot for dpkg. The merged-usr hook sets up Debian 12's
# merged /usr the way debootstrap does and installs usr-is-merged; without it apt satisfies
# init-system-helpers' "usrmerge | usr-is-merged" with usrmerge, which drags in perl (+40 MB).
# --skip=output/dev: no device nodes in the layer (every runtime mounts its own /dev).
# Left out (dpkg path-exclude, kept in the image so derived layers stay lean too): manuals, info,
# translations, documentation but the copyright files (licences must ship with the binaries).
strip_hook=$(cat <<'EOF'
set -e
root=$1
rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/lintian "$root"/usr/share/linda
find "$root"/usr/share/locale -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +
find "$root"/usr/share/doc -mindepth 1 ! -type d ! -name copyright -delete
find "$root"/usr/share/doc -mindepth 1 -type d -empty -delete
# What the runtime provides (it bind-mounts them) or what is host- or build-specific.
rm -f "$root"/etc/resolv.conf "$root"/etc/hostname "$root"/etc/machine-id
rm -rf "$root"/var/cache/debconf/*-old "$root"/var/lib/dpkg/*-old "$root"/var/cache/ldconfig/aux-cache
find "$root"/var/log -type f -delete
find "$root"/run -mindepth 1 -delete
# The agent's directories (it would create them; in the image they also serve a read-only root
# filesystem with volumes mounted on them). 0755: workers resolve the runtime dir as their own uid.
install -d -m 0755 "$root"/var/lib/executor-agent "$root"/run/executor-agent "$root"/srv/executor-agent
chmod 0644 "$root"/etc/executor-agent/container.toml
EOF
)

step "mmdebstrap --variant=essential bookworm ($mirror) + $(basename "$deb")"
mmdebstrap \
  --variant=essential \
  --architectures="$arch" \
  --include="$deb_in" \
  --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
  --hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-include=/usr/share/locale/locale.alias' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/lintian/*' \
  --customize-hook="copy-in $here/container.toml /etc/executor-agent" \
  --customize-hook="$strip_hook" \
  --skip=cleanup/run \
  --skip=output/dev \
  bookworm "$work/rootfs.tar" \
  "deb $mirror bookworm main" \
  "deb $mirror bookworm-updates main" \
  "deb $security_mirror bookworm-security main" \
  >"$work/mmdebstrap.log" 2>&1 || { tail -40 "$work/mmdebstrap.log" >&2; fail "mmdebstrap failed"; }
step "root filesystem: $(du -h "$work/rootfs.tar" | cut -f1) uncompressed"

# --- the image configuration -------------------------------------------------------------------
# Entrypoint/Cmd: Kubernetes' `args` replace Cmd only, so one image serves the three pod kinds:
#   (default)                         serve --config /etc/executor-agent/container.toml
#   args: [run, /srv/..., --input ..] the run-once mode of Job pods
#   args: [serve, --config ..., ...]  function pods, with their own flags
# User 0: the agent needs root in the container's user namespace (CAP_SETUID/SETGID to map each
# worker to its own uid, cgroups, namespaces); see docs/container-image.md for what else the
# jail needs from the runtime.
python3 - "$work/config.json" "$version" "$revision" "$SOURCE_DATE_EPOCH" "${IMAGE_SOURCE:-}" \
  "$(basename "$deb")" <<'EOF'
import datetime, json, sys
path, version, revision, epoch, source, deb = sys.argv[1:7]
created = datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc).strftime(
    "%Y-%m-%dT%H:%M:%SZ")
labels = {
    "org.opencontainers.image.title": "executor-agent",
    "org.opencontainers.image.description":
        "Runs untrusted Python policies in a Linux jail (executor-agent serve | run)",
    "org.opencontainers.image.version": version,
    "org.opencontainers.image.created": created,
    "org.opencontainers.image.documentation": "docs/container-image.md",
}
if revision:
    labels["org.opencontainers.image.revision"] = revision
if source:
    labels["org.opencontainers.image.source"] = source
config = {
    "User": "0:0",
    "Entrypoint": ["/usr/bin/executor-agent"],
    "Cmd": ["serve", "--config", "/etc/executor-agent/container.toml"],
    "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"],
    "WorkingDir": "/",
    "ExposedPorts": {"8080/tcp": {}},
    "StopSignal": "SIGTERM",
    "Labels": labels,
}
history = ("packaging/image/build-image.sh: mmdebstrap --variant=essential bookworm "
           "--include=" + deb)
with open(path, "w") as f:
    json.dump({"config": config, "history": history}, f)
EOF

# --- the OCI layout and archive ------------------------------------------------------------------
mkdir -p "$(dirname "$output")"
python3 "$here/write_oci.py" --rootfs "$work/rootfs.tar" --config-json "$work/config.json" \
  --ref "$tag" --layout "$work/layout" --archive "$output" --epoch "$SOURCE_DATE_EPOCH" \
  --architecture "$arch" >"$work/result.json" || fail "write_oci.py failed"
if [ -n "$layout" ]; then
  rm -rf "$layout"
  mkdir -p "$(dirname "$layout")"
  cp -a "$work/layout" "$layout"
fi

python3 - "$work/result.json" "$layout" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
mib = lambda n: f"{n / 1048576:.1f} MiB"
print(f"build-image.sh: image {r['ref']} (created {r['created']})")
print(f"build-image.sh:   archive  {r['archive']}: {mib(r['archive_size'])}, {r['archive_sha256']}")
print(f"build-image.sh:   manifest {r['manifest_digest']} (the digest a registry reports)")
print(f"build-image.sh:   config   {r['config_digest']} (the image id podman/docker show)")
print(f"build-image.sh:   layer    {mib(r['layer_size'])} compressed, {mib(r['rootfs_size'])} uncompressed")
if sys.argv[2]:
    print(f"build-image.sh:   layout   {sys.argv[2]} (skopeo copy oci:{sys.argv[2]}:{r['ref']} ...)")
EOF
