#!/usr/bin/env bash
# Installs every build and test dependency of executor-agent from Debian 12's packages.
# Idempotent: when everything is present it prints nothing and touches no package list.
set -euo pipefail

packages=(
  # toolchain
  g++ cmake ninja-build pkg-config git
  # sandbox: seccomp filters, capabilities, embedded Python (Debian's 3.11) and its runtime
  libseccomp-dev libcap-dev pybind11-dev python3 python3-dev libpython3.11-dev
  python3-requests python3-pip
  # agent and the libraries later issues use
  libboost1.81-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libarchive-dev
  libcurl4-openssl-dev libssl-dev libhwloc-dev libsqlite3-dev libpcre2-dev libsystemd-dev
  libcli11-dev libtomlplusplus-dev prometheus-cpp-dev libyaml-cpp-dev
  # tests and benchmarks (dpkg-dev, file, systemd: the .deb test builds the package, verifies the unit)
  libgtest-dev libgmock-dev libbenchmark-dev procps iproute2 util-linux unzip openssl dpkg-dev file systemd
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "deps.sh: missing packages: ${missing[*]}; run as root (or: sudo $0)" >&2
  exit 1
fi
echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
