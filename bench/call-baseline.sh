#!/usr/bin/env bash
# Baseline for the call footprint (issue 15): the same two-party fake-media call as
# tests/e2e/tests/call.rs, but the clinician's side is a plain Chromium tab (headed, on a
# private Xvfb, same machine flags as the test's wrapper) on the sandbox's host link, and the
# patient a headless Chromium. Prints PSS and CPU of the clinician's Chromium tree over SECS.
#   make build && bench/call-baseline.sh          (SECS=120 by default)
# Run it right after `ROUNDS_CALL_SECS=120 cargo test -p rounds-e2e --test call -- --nocapture`
# and compare the two lines: these machines are noisy, only same-session ratios mean anything.
set -euo pipefail
SECS=${SECS:-120}
BIN=${BIN:-target/debug/rounds-sandbox}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
ROOM=appt-baseline
TMP=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
setsid "$BIN" --port 0 --seed none --state-dir "$TMP/sbx" >"$TMP/ready" 2>"$TMP/sbx.log" & PIDS+=($!)
for _ in $(seq 50); do [ -s "$TMP/ready" ] && break; sleep 0.1; done
BASE=$(jq -r .base_url "$TMP/ready"); CTL=$(jq -r .control_url "$TMP/ready"); CA=$(jq -r .ca_pem "$TMP/ready")
cmd() { curl -sS --cacert "$CA" -H 'content-type: application/json' -d "$1" "$BASE/_sandbox/jitsi/$ROOM/commands" >/dev/null; }
setsid Xvfb :97 -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 & PIDS+=($!)
sleep 1
COMMON=(--no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run --disable-background-networking
  --disable-component-update --disable-sync --ignore-certificate-errors
  --use-fake-device-for-media-stream --use-fake-ui-for-media-stream --autoplay-policy=no-user-gesture-required)
HOST=$(curl -sS -d '{"name":"Dr Host"}' "$CTL/control/jitsi/rooms/$ROOM/host-link" | jq -r .url)
PAT=$(curl -sS -d '{"name":"Pat Patient"}' "$CTL/control/jitsi/rooms/$ROOM/patient-link" | jq -r .url)
DISPLAY=:97 setsid "$CHROMIUM" "${COMMON[@]}" --user-data-dir="$TMP/host" --window-size=1100,760 "$HOST" >/dev/null 2>&1 & HOSTPID=$!; PIDS+=($HOSTPID)
sleep 3
cmd '{"name":"toggleE2EE","args":[true]}'
setsid "$CHROMIUM" "${COMMON[@]}" --headless=new --user-data-dir="$TMP/patient" "$PAT" >/dev/null 2>&1 & PIDS+=($!)
for _ in $(seq 100); do
  n=$(curl -sS "$CTL/control/jitsi/rooms/$ROOM" | jq '[.media[] | select(.framesDecoded > 0)] | length')
  [ "$n" = 2 ] && break; sleep 0.2
done
# PSS and CPU ticks of the host's process group (Chromium and all its helpers).
usage() {
  local pss=0 ticks=0
  for p in $(pgrep -g "$HOSTPID"); do
    k=$(awk '/^Pss:/{print $2}' /proc/$p/smaps_rollup 2>/dev/null || echo 0); pss=$((pss + ${k:-0}))
    t=$(awk '{print $14+$15}' /proc/$p/stat 2>/dev/null || echo 0); ticks=$((ticks + ${t:-0}))
  done
  echo "$pss $ticks"
}
read -r _ t0 < <(usage); peak=0; start=$(date +%s)
while [ $(( $(date +%s) - start )) -lt "$SECS" ]; do
  sleep 5; read -r p _ < <(usage); [ "$p" -gt "$peak" ] && peak=$p
done
read -r p1 t1 < <(usage)
el=$(( $(date +%s) - start ))
curl -sS "$CTL/control/jitsi/rooms/$ROOM" | jq -c '[.media[] | {moderator, framesDecoded, totalSamplesReceived, e2ee: .e2ee.on}]'
awk -v p="$p1" -v pk="$peak" -v t="$((t1 - t0))" -v s="$el" 'BEGIN {
  printf "baseline (plain Chromium tab) over %d s: PSS %.0f MiB (peak %.0f), CPU %.1f s = %.0f%% of one core\n", s, p/1024, pk/1024, t/100, t/s }'
