#!/usr/bin/env bash
# Installs everything chfleet needs to build, test and run its demo on Debian 12:
# the build toolchain and libraries, the real components (ClickHouse 18.16, ZooKeeper,
# dnsmasq, nftables, Prometheus for the monitoring checks), the packaging checks' tools (dpkg-shlibdeps,
# systemd-analyze, debootstrap), the embedded ClickHouse 26.5 engine (libchdb.so from npm, pinned) and the
# official ClickHouse Node.js client for the ingest compatibility check (npm ci).
# Idempotent: does nothing that is already done. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential g++ cmake ninja-build pkg-config make git curl ca-certificates
  libcurl4-openssl-dev libcpp-httplib-dev nlohmann-json3-dev libyaml-cpp-dev libcli11-dev
  libspdlog-dev libfmt-dev libc-ares-dev libssl-dev libxxhash-dev libzstd-dev liblz4-dev
  libgtest-dev libgmock-dev libbenchmark-dev libexpected-dev prometheus-cpp-dev
  clickhouse-server clickhouse-client zookeeper default-jre-headless
  dnsmasq-base nftables iproute2 procps bc prometheus faketime
  dpkg-dev systemd debootstrap
)

missing=()
# npm: machines that already carry Node.js from elsewhere must not get Debian's npm (it conflicts).
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  # clickhouse-server's postinst may try to start a service; policy-rc.d keeps it from doing so.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Embedded ClickHouse engine for the modern-server tests: chDB's shared library from npm, pinned. The package
# version is chDB's own: 26.5.3 carries ClickHouse 26.5.1.1 (SELECT version()), the engine the tests are
# written against. $CHDB_DIR/VERSION names the package the installed library came from; a library without it,
# or from another version, is replaced.
CHDB_PACKAGE=@chdb/lib-linux-x64-gnu
CHDB_VERSION=26.5.3
CHDB_DIR=third_party/chdb
if [ ! -f "$CHDB_DIR/libchdb.so" ] || [ "$(cat "$CHDB_DIR/VERSION" 2>/dev/null)" != "$CHDB_VERSION" ]; then
  echo "install-deps: fetching $CHDB_PACKAGE@$CHDB_VERSION"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$CHDB_PACKAGE@$CHDB_VERSION" >/dev/null && tar xzf ./*.tgz)
  mkdir -p "$CHDB_DIR"
  lib=$(find "$tmp/package" -name 'libchdb.so' | head -n 1)
  [ -n "$lib" ] || { echo "install-deps: libchdb.so not found in the npm package" >&2; exit 1; }
  rm -f "$CHDB_DIR/VERSION" "$CHDB_DIR/chdb.h"
  cp "$lib" "$CHDB_DIR/libchdb.so.tmp"
  mv "$CHDB_DIR/libchdb.so.tmp" "$CHDB_DIR/libchdb.so"
  hdr=$(find "$tmp/package" -name 'chdb.h' | head -n 1)
  [ -z "$hdr" ] || cp "$hdr" "$CHDB_DIR/chdb.h"
  echo "$CHDB_VERSION" >"$CHDB_DIR/VERSION"
  rm -rf "$tmp"
fi
# The official ClickHouse Node.js client, for the check that an unmodified client works against chfleet ingest.
NODE_CHECK_DIR=tests/integration/ingest/node
if [ -f "$NODE_CHECK_DIR/package-lock.json" ] && [ ! -d "$NODE_CHECK_DIR/node_modules/@clickhouse/client" ]; then
  echo "install-deps: installing @clickhouse/client for the ingest client check"
  (cd "$NODE_CHECK_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
# S3-compatible server for the backup tests (started by the fixture on a free port), pinned.
S3RVER_VERSION=3.7.1
S3RVER_DIR=third_party/s3rver
if [ "$(cat "$S3RVER_DIR/VERSION" 2>/dev/null)" != "$S3RVER_VERSION" ]; then
  echo "install-deps: installing s3rver@$S3RVER_VERSION"
  npm install --prefix "$S3RVER_DIR" --no-audit --no-fund --loglevel=error "s3rver@$S3RVER_VERSION" >/dev/null
  echo "$S3RVER_VERSION" >"$S3RVER_DIR/VERSION"
fi
echo "install-deps: all present"
