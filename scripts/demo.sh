#!/usr/bin/env bash
# Starts the sandbox clinic on loopback TLS and opens Rounds against it, configured the way
# hospital IT would (a policy file naming the server and trusting the clinic's CA).
# With no display, it runs under a private Xvfb + D-Bus session and tells you how to look.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DEMO=$ROOT/.demo
APP=${ROUNDS_APP_BIN:-$ROOT/target/debug/rounds}
SANDBOX=${ROUNDS_SANDBOX_BIN:-$ROOT/target/debug/rounds-sandbox}
rm -rf "$DEMO" && mkdir -p "$DEMO/home" "$DEMO/run" "$ROOT/target/demo" && chmod 700 "$DEMO/run"

pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

# 1. The sandbox clinic: prints one JSON line with its URL and CA; demo users go to the log.
coproc SB { exec setsid "$SANDBOX" --port 0 --seed demo --state-dir "$DEMO/sandbox" 2>"$DEMO/sandbox.log"; }
pids+=("$SB_PID")
read -r READY <&"${SB[0]}"
BASE=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["base_url"])' "$READY")
CA=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["ca_pem"])' "$READY")
# The visit window is Chromium's app window. Chromium will not start as root without
# --no-sandbox, and the demo machine has no camera: as root, a wrapper adds both (a real
# clinician's account needs neither).
VIDEO=""
if [ "$(id -u)" = 0 ] && [ -x /usr/bin/chromium ]; then
  printf '#!/bin/sh\nexec /usr/bin/chromium --no-sandbox --use-fake-device-for-media-stream "$@"\n' >"$DEMO/chromium-demo.sh"
  chmod 755 "$DEMO/chromium-demo.sh"
  VIDEO=", \"video\": {\"browser_path\": \"$DEMO/chromium-demo.sh\"}"
fi
cat >"$DEMO/policy.json" <<JSON
{"mandatory": {"clinic": {"servers": [{"url": "$BASE", "site": "default", "display_name": "Sandbox Clinic"}]},
               "network": {"ca_bundle": "$CA"}$VIDEO},
 "recommended": {"session": {"idle_lock_minutes": 15}}}
JSON
sleep 0.3
echo "Sandbox clinic: $BASE  (CA: $CA)"
echo "Demo users and their authenticator secrets:"; sed 's/^/  /' "$DEMO/sandbox.log" || true

# 2. A display: the real one if there is one, else a private Xvfb.
if [ -z "${DISPLAY:-}" ]; then
  for n in $(seq 77 99); do [ -e "/tmp/.X$n-lock" ] || break; done
  setsid Xvfb ":$n" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
  pids+=("$!")
  export DISPLAY=":$n"
  for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X$n" ] && break; sleep 0.1; done
  HEADLESS=1
fi

# 3. Rounds, in a throwaway home with its own unlocked keyring (never your real one).
export HOME="$DEMO/home" XDG_RUNTIME_DIR="$DEMO/run" ROUNDS_POLICY_FILE="$DEMO/policy.json"
export WEBKIT_DISABLE_COMPOSITING_MODE=1
setsid dbus-run-session -- "$ROOT/tests/e2e/session.sh" "$APP" >"$DEMO/app.log" 2>&1 &
pids+=("$!")

if xdotool search --sync --onlyvisible --name '^Rounds$' >/dev/null 2>&1; then
  sleep 2
  SHOT="$ROOT/target/demo/rounds.png"
  import -window root "$SHOT" && echo "Screenshot of the window: $SHOT"
fi
if [ -n "${HEADLESS:-}" ]; then
  echo "Rounds is running on the virtual display $DISPLAY (no screen attached)."
  echo "Take a screenshot any time:  DISPLAY=$DISPLAY import -window root shot.png"
fi
echo "App log: $DEMO/app.log  ·  Rounds logs: $DEMO/home/.local/share/rounds/logs"
if [ -n "${DEMO_SECONDS:-}" ]; then sleep "$DEMO_SECONDS"; exit 0; fi
echo "Press Ctrl-C to stop the demo."
wait "${pids[-1]}"
