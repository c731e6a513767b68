#!/usr/bin/env bash
# Checks a Rounds .deb the way hospital IT would meet it: control fields, file list, then an
# install into a throwaway dpkg root (never the real system) and a run of the installed
# rounds-cli. Usage: tests/package/check-deb.sh path/to/Rounds_<version>_amd64.deb
# Exits non-zero with one line per problem. Run by `make test-package` and `make package`.
set -eu

deb=${1:?usage: $0 path/to/Rounds_VERSION_amd64.deb}
here=$(cd "$(dirname "$0")/../.." && pwd)
fails=0
fail() { echo "check-deb: FAIL: $*" >&2; fails=$((fails + 1)); }
ok() { echo "check-deb: ok: $*"; }

if [ ! -f "$deb" ]; then
  echo "check-deb: FAIL: no package at $deb (did the bundle step run? is tauri.conf.json's version" \
    "the one in Cargo.toml?); that directory holds: $(ls "$(dirname "$deb")" 2>/dev/null | tr '\n' ' ')" >&2
  exit 1
fi
dpkg-deb --info "$deb" >/dev/null || { echo "check-deb: FAIL: $deb is not a readable .deb" >&2; exit 1; }

# The version every part must agree on: [workspace.package] in Cargo.toml.
want_version=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' "$here/Cargo.toml")
[ -n "$want_version" ] || { echo "check-deb: FAIL: no version in Cargo.toml [workspace.package]" >&2; exit 1; }

field() { dpkg-deb --field "$deb" "$1" 2>/dev/null || true; }

# --- control fields -----------------------------------------------------------------------
[ "$(field Package)" = rounds ] && ok "Package: rounds" || fail "Package is '$(field Package)', want 'rounds'"
[ "$(field Version)" = "$want_version" ] && ok "Version: $want_version (Cargo.toml)" \
  || fail "Version is '$(field Version)', Cargo.toml says '$want_version'"
[ "$(field Architecture)" = amd64 ] || fail "Architecture is '$(field Architecture)', want amd64"

maintainer=$(field Maintainer)
case "$maintainer" in
  "" | rounds) fail "Maintainer is '$maintainer' (Tauri's fallback): set bundle.publisher" ;;
  *) ok "Maintainer: $maintainer" ;;
esac

depends=$(field Depends)
# WebKitGTK + GTK (added by Tauri); libdbus-1-3: rounds-cli talks to the Secret Service itself.
for dep in libwebkit2gtk-4.1-0 libgtk-3-0 libdbus-1-3; do
  # Whole names only: a comma-separated list, maybe with version constraints.
  if printf '%s\n' "$depends" | tr ',' '\n' | sed 's/^ *//; s/ .*//' | grep -qx "$dep"; then
    ok "Depends has $dep"
  else
    fail "Depends ('$depends') lacks $dep"
  fi
done
if printf '%s\n' "$(field Recommends)" | tr ',' '\n' | sed 's/^ *//; s/ .*//' | grep -qx gnome-keyring; then
  ok "Recommends has gnome-keyring (Secret Service)"
else
  fail "Recommends ('$(field Recommends)') lacks gnome-keyring (the Secret Service the vault prefers to kernel keyutils)"
fi

description=$(field Description)
long_lines=$(printf '%s\n' "$description" | tail -n +2 | grep -cv '^ *(none)$' || true)
if [ "$long_lines" -ge 3 ]; then ok "long description: $long_lines lines"; else
  fail "long description is missing or too short ($long_lines lines): set bundle.longDescription"; fi

# --- file list ----------------------------------------------------------------------------
listing=$(dpkg-deb --contents "$deb")
# Paths without the leading ./ (dpkg-deb shows whatever the archive holds; Tauri writes none).
paths=$(printf '%s\n' "$listing" | awk '{print $NF}' | sed 's,^\./,,')
has() { printf '%s\n' "$paths" | grep -qx "$1"; }
for path in \
  usr/bin/rounds \
  usr/bin/rounds-cli \
  usr/share/applications/Rounds.desktop \
  usr/share/icons/hicolor/32x32/apps/rounds.png \
  usr/share/icons/hicolor/128x128/apps/rounds.png \
  usr/share/rounds/rounds-policy.schema.json \
  usr/share/rounds/policy.example.json \
  usr/share/doc/rounds/it-deployment.md; do
  has "$path" && ok "ships /$path" || fail "does not ship /$path"
done
for exe in usr/bin/rounds usr/bin/rounds-cli; do
  mode=$(printf '%s\n' "$listing" | awk -v p="$exe" '$NF == p || $NF == "./" p {print $1}')
  case "$mode" in -rwxr-xr-x) ;; "") ;; *) fail "/$exe has mode $mode, want -rwxr-xr-x" ;; esac
done
# IT owns /etc/rounds: the package must never ship (and so on upgrade overwrite) a policy.
if printf '%s\n' "$paths" | grep -q '^etc'; then
  fail "ships files under /etc: IT's /etc/rounds/policy.json must never come from the package"
else
  ok "nothing under /etc (IT's policy is never overwritten)"
fi

# --- install into a throwaway root ---------------------------------------------------------
root=$(mktemp -d "${TMPDIR:-/tmp}/rounds-deb-root.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/var/lib/dpkg/triggers"
: >"$root/var/lib/dpkg/status"
# An empty root has none of the dependencies: --force-depends; the package has no maintainer
# scripts, so nothing runs. --log keeps the real /var/log/dpkg.log untouched.
if dpkg --root="$root" --log=/dev/null --force-depends --force-not-root -i "$deb" >"$root/.dpkg.out" 2>&1; then
  ok "dpkg installs it into a throwaway root"
else
  fail "dpkg --root install failed: $(tail -n 3 "$root/.dpkg.out")"
fi
status=$(dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Status} ${Version}' rounds 2>/dev/null || true)
[ "$status" = "install ok installed $want_version" ] || fail "dpkg status in the throwaway root: '$status'"

desktop="$root/usr/share/applications/Rounds.desktop"
if [ -f "$desktop" ]; then
  grep -qx 'Exec=rounds' "$desktop" && ok ".desktop has Exec=rounds" || fail ".desktop lacks Exec=rounds: $(grep '^Exec' "$desktop")"
  grep -qx 'Icon=rounds' "$desktop" || fail ".desktop lacks Icon=rounds"
  if command -v desktop-file-validate >/dev/null 2>&1; then
    desktop-file-validate "$desktop" || fail "desktop-file-validate rejects Rounds.desktop"
  fi
fi

cli="$root/usr/bin/rounds-cli"
if [ -x "$cli" ]; then
  missing_libs=$(ldd "$cli" "$root/usr/bin/rounds" 2>&1 | grep 'not found' || true)
  [ -z "$missing_libs" ] || fail "shared libraries not found: $missing_libs"
  got=$("$cli" --version 2>&1 || true)
  [ "$got" = "rounds-cli $want_version" ] && ok "installed rounds-cli --version: $got" \
    || fail "installed rounds-cli --version says '$got', want 'rounds-cli $want_version'"
  # The schema IT reads in /usr/share/rounds is the one the binary validates with.
  if "$cli" policy schema >"$root/.schema.json" 2>"$root/.schema.err"; then
    cmp -s "$root/.schema.json" "$root/usr/share/rounds/rounds-policy.schema.json" \
      && ok "shipped schema = installed 'rounds-cli policy schema'" \
      || fail "/usr/share/rounds/rounds-policy.schema.json differs from 'rounds-cli policy schema' (regenerate policy/rounds-policy.schema.json)"
  else
    fail "installed 'rounds-cli policy schema' failed: $(cat "$root/.schema.err")"
  fi
  if "$cli" policy validate "$root/usr/share/rounds/policy.example.json" >"$root/.validate.out" 2>&1; then
    ok "installed rounds-cli accepts the shipped example policy"
  else
    fail "the shipped example policy does not validate: $(cat "$root/.validate.out")"
  fi
  # Rejected closed: a bad policy must fail validation (exit non-zero), through the shipped binary.
  printf '{"mandatory": {"session": {"idle_lock_minutes": 0}}}\n' >"$root/.bad.json"
  if "$cli" policy validate "$root/.bad.json" >/dev/null 2>&1; then
    fail "installed rounds-cli accepted an out-of-range policy"
  else
    ok "installed rounds-cli rejects an out-of-range policy"
  fi
else
  fail "no executable rounds-cli in the installed root"
fi

if dpkg --root="$root" --log=/dev/null --force-not-root --purge rounds >>"$root/.dpkg.out" 2>&1; then
  left=$(cd "$root" && find usr -type f 2>/dev/null | head -5)
  [ -z "$left" ] && ok "dpkg --purge removes every file" || fail "files left after purge: $left"
else
  fail "dpkg --purge failed: $(tail -n 3 "$root/.dpkg.out")"
fi

# Can the real system's apt resolve the dependencies? Simulation only (-s): nothing changes.
if command -v apt-get >/dev/null 2>&1 && [ -n "$(ls /var/lib/apt/lists/ 2>/dev/null | grep -v -e lock -e partial -e auxfiles)" ]; then
  if sim=$(apt-get install -s -qq "$(realpath "$deb")" 2>&1); then
    ok "apt-get -s resolves its dependencies on this system"
  else
    fail "apt-get install -s cannot resolve the dependencies: $(printf '%s\n' "$sim" | tail -n 3)"
  fi
else
  echo "check-deb: skip: apt has no package lists here; dependency resolution not simulated"
fi

size=$(du -k "$deb" | cut -f1)
if [ "$fails" -ne 0 ]; then
  echo "check-deb: $fails problem(s) in $deb" >&2
  exit 1
fi
echo "check-deb: $deb passed (${size} KiB)"
