#!/usr/bin/env bash
# Install the Debian 12 packages fev needs to build, test and benchmark;
# a no-op when they are all there already.
set -euo pipefail

packages=(
	build-essential cmake ninja-build pkg-config git
	liburcu-dev libbsd-dev libcmocka-dev libsystemd-dev libzmq3-dev
	libcurl4-openssl-dev libssl-dev libsqlite3-dev zlib1g-dev
	libuv1-dev
	libnats-dev nats-server openssl
	gnuplot-nox prometheus python3 util-linux procps jq
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "fev: missing packages: ${missing[*]}; run as root or install them" >&2
	exit 1
fi
echo "fev: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
