#!/usr/bin/env bash
# Repacks a .deb made by `tauri bundle` (gzip) with xz, as Debian's own packages are: the
# release package shrinks by about a quarter (10.9 MB → 8.0 MB measured), which keeps it within
# its 10 MiB budget now that the leaked-password filter (1.9 MB, incompressible) is inside.
# Same files, modes, control data and md5sums; owner root:root.
set -euo pipefail
deb=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dpkg-deb -R "$deb" "$work/root"
dpkg-deb -Zxz -z9 --root-owner-group -b "$work/root" "$work/out.deb" >/dev/null
mv "$work/out.deb" "$deb"
echo "deb-xz: $deb repacked with xz ($(stat -c %s "$deb") bytes)"
