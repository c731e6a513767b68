#!/bin/sh
# Runs "$@" with a real, unlocked, throwaway gnome-keyring (Secret Service) on the current
# D-Bus session bus. The harness starts this under its own `dbus-run-session`, with HOME and
# XDG_* pointing into a temp dir, so tests never see or touch the developer's real keyring.
set -eu
eval "$(printf '%s' "${ROUNDS_TEST_KEYRING_PASSWORD:-rounds-test}" | gnome-keyring-daemon --unlock --components=secrets)"
export GNOME_KEYRING_CONTROL 2>/dev/null || true
exec "$@"
