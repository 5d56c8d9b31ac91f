#!/usr/bin/env bash
# Installs the real backends the tests and the benchmark run against (Debian packages, each
# with what it is for below). Idempotent and quick when everything is present, so test/run-all.sh
# can call it on every run: apt is only touched when dpkg says a package is missing.
set -euo pipefail

packages=(
  redis-server     # the bus and job queues in the distributed mode
  docker-registry  # Distribution 2.8.2: the reference for behaviour, layout and speed
  skopeo podman    # real registry clients that need no Docker engine
  docker-compose   # 1.29: validates docker-compose.yml (test/compose.spec.ts); no engine runs here
  # Swift all-in-one for the swift storage driver's suite; memcached keeps tempauth's tokens.
  swift swift-proxy swift-account swift-container swift-object python3-swiftclient memcached
  # Keystone (identity v3) and the authtoken middleware for a Swift proxy that trusts it.
  keystone python3-keystonemiddleware
)

missing=()
for package in "${packages[@]}"; do
  # `dpkg -s` also succeeds for removed-but-configured packages; check the status line instead.
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

# Root runs apt directly; anyone else goes through sudo when there is one (CI runners, laptops).
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install.sh: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  as_root=(sudo)
fi

echo "install.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
# No recommends: podman and swift would otherwise pull in a desktop's worth of extras.
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" >/dev/null
