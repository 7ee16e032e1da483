#!/bin/bash
# The Debian package as CPack builds it from BUILD_DIR: it holds the binary, the three systemd units, the docs
# and the example fleet files; it declares the libraries the binary links (dpkg-shlibdeps); dpkg accepts it
# on this machine (--dry-run); and the packaged binary runs. The install on a clean Debian 12 root is
# packaging/test-clean-install.sh (`make package-test`).
# Usage: check_package.sh BUILD_DIR
set -euo pipefail
build_dir=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$build_dir" && cpack -G DEB -B "$work/out" >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log" >&2; exit 1; }
deb=$(ls "$work"/out/chfleet_*_amd64.deb)
fail() { echo "package: $*" >&2; exit 1; }
contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
for path in bin/chfleet lib/systemd/system/chfleet-sync.service lib/systemd/system/chfleet-ingest.service \
    lib/systemd/system/chfleet-chsync.service share/doc/chfleet/production.md share/doc/chfleet/README.md \
    share/doc/chfleet/examples/teei/fleet.yaml share/doc/chfleet/examples/pair/fleet.yaml; do
    grep -q "/$path\$" <<<"$contents" || fail "$path is missing"
done
depends=$(dpkg-deb -f "$deb" Depends)
for library in libcurl4 libyaml-cpp0.7 libfmt9 libc-ares2 libssl3 libxxhash0 libprometheus-cpp-core1.0 libcpp-httplib0.11; do
    grep -q "$library" <<<"$depends" || fail "Depends lacks $library: $depends"
done
# Every shared library the packaged binary needs comes from a package Depends names (or from one of those).
dpkg-deb -x "$deb" "$work/root"
binary=$(find "$work/root" -path '*/bin/chfleet')
"$binary" --version | grep -q "^chfleet " || fail "the packaged binary does not run"
unit=$(find "$work/root" -name chfleet-ingest.service)
grep -q "^ExecStart=${binary#"$work/root"} " "$unit" || fail "the ingest unit does not run the packaged binary"
dpkg --dry-run -i "$deb" >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log" >&2; fail "dpkg refuses it"; }
echo "package ok: $(basename "$deb"); Depends: $depends"
