#!/usr/bin/env bash
# CPU of the empty Tauri app's process tree left idle for IDLE_SECS (default 600) under its own
# Xvfb + D-Bus session: the baseline for tests/e2e/tests/idle_cpu.rs (issue 19).
set -euo pipefail
IDLE_SECS=${IDLE_SECS:-600}
BIN=${1:-${CARGO_TARGET_DIR:-target}/release/empty-tauri-app}
Xvfb :88 -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 & X=$!
trap 'kill $X 2>/dev/null || true' EXIT
sleep 0.5
home=$(mktemp -d); mkdir -m 700 "$home/run"
HOME=$home XDG_RUNTIME_DIR=$home/run DISPLAY=:88 setsid dbus-run-session -- "$BIN" >/dev/null 2>&1 & A=$!
sleep 5
ticks() { # utime+stime (+ reaped children's) of $1 and its descendants
  local sum=0 p
  for p in $(pstree -p "$1" | grep -o '([0-9]\+)' | tr -d '()'); do
    [ -r /proc/$p/stat ] && sum=$((sum + $(awk '{print $14+$15+$16+$17}' /proc/$p/stat)))
  done
  echo $sum
}
c0=$(ticks $A); t0=$(date +%s)
sleep "$IDLE_SECS"
c1=$(ticks $A); t1=$(date +%s)
kill -- -$A 2>/dev/null || kill $A
awk -v c=$((c1 - c0)) -v w=$((t1 - t0)) -v b="$BIN" \
  'BEGIN { printf "IDLE_CPU %s: %.2f s CPU in %d s = %.2f %% of one core\n", b, c/100, w, 100*c/100/w }'
rm -rf "$home"
