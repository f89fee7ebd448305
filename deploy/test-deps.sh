#!/usr/bin/env bash
# Installs, once, what Brine's tests need from Debian: libzmq through python3-zmq
# (interoperability tests), PostgreSQL server binaries (a throwaway cluster per
# test run), git and dpkg-dev (state tests). Safe to run again: it only acts when
# something is missing.
set -euo pipefail
need=()
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import zmq' 2>/dev/null || need+=(python3-zmq)
command -v git >/dev/null || need+=(git)
command -v dpkg-deb >/dev/null || need+=(dpkg-dev)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || need+=(postgresql)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "test-deps: missing ${need[*]}; run as root or install them" >&2
  exit 1
fi
echo "test-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
