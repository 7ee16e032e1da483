#!/bin/bash
# Installs the chfleet Debian package on a clean Debian 12 (bookworm) root and runs it there: the proof that
# the package declares every library it needs. The root is a minimal debootstrap (variant minbase) kept in
# CHFLEET_BOOKWORM_ROOT (default /var/cache/chfleet-bookworm) as a pristine copy; each run installs into a
# fresh copy of it, through apt (which fetches the declared dependencies from Debian), then removes the copy.
# Needs root, debootstrap and the Debian mirror (CHFLEET_DEBIAN_MIRROR, default deb.debian.org).
# Usage: test-clean-install.sh BUILD_DIR   (after `make package`; `make package-test` does both)
set -euo pipefail
build_dir=$1
deb=$(ls -t "$build_dir"/chfleet_*_amd64.deb | head -1)
pristine=${CHFLEET_BOOKWORM_ROOT:-/var/cache/chfleet-bookworm}
mirror=${CHFLEET_DEBIAN_MIRROR:-http://deb.debian.org/debian}
if [ ! -x "$pristine/usr/bin/apt-get" ]; then
    echo "creating a minimal Debian 12 root in $pristine (once)" >&2
    rm -rf "$pristine.partial"
    debootstrap --variant=minbase bookworm "$pristine.partial" "$mirror" >&2
    mv "$pristine.partial" "$pristine"
fi
root=$(mktemp -d /var/tmp/chfleet-clean-root.XXXXXX)
mounted=()
cleanup() {
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount "${mounted[$i]}" || true; done
    rm -rf "$root"
}
trap cleanup EXIT
cp -a "$pristine/." "$root/"
for fs in proc sys dev; do
    mount --bind "/$fs" "$root/$fs"
    mounted+=("$root/$fs")
done
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp "$deb" "$root/tmp/chfleet.deb"
chroot "$root" apt-get update -qq
# apt installs the local package and whatever it declares; a missing declaration shows as chfleet failing below.
chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends /tmp/chfleet.deb
chroot "$root" chfleet --version
chroot "$root" chfleet topology check -f /usr/share/doc/chfleet/examples/teei/fleet.yaml >/dev/null
for unit in chfleet-sync chfleet-ingest chfleet-chsync; do
    test -f "$root/usr/lib/systemd/system/$unit.service"
done
echo "chfleet installs and runs on a clean Debian 12 root"
