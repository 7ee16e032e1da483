#!/bin/bash
# The systemd units of packaging/systemd/, checked by systemd itself: `systemd-analyze verify` on each unit as
# installed, with the binary's path pointing at the one just built (verify also checks that it is executable).
# Usage: check_units.sh SOURCE_DIR BINARY_DIR
set -euo pipefail
source_dir=$1
binary_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
units=0
for template in "$source_dir"/packaging/systemd/*.service.in; do
    unit=$(basename "$template" .in)
    sed -e "s|@CHFLEET_BINDIR@|$binary_dir|g" -e "s|@CHFLEET_DOCDIR@|$source_dir/docs|g" "$template" >"$work/$unit"
    if grep -q '@[A-Z_]*@' "$work/$unit"; then
        echo "$unit: a placeholder is left unfilled" >&2
        exit 1
    fi
    units=$((units + 1))
done
if [ "$units" -lt 3 ]; then
    echo "expected the sync, CH-Sync and ingest units, found $units" >&2
    exit 1
fi
# verify prints every problem (unknown keys, bad values, missing executables) and fails on them.
cp "$source_dir"/packaging/systemd/*.timer "$work"/ 2>/dev/null || true
output=$(systemd-analyze verify "$work"/*.service "$work"/*.timer 2>&1) || { echo "$output" >&2; exit 1; }
if [ -n "$output" ]; then
    echo "$output" >&2
    exit 1
fi
echo "$units units verified"
