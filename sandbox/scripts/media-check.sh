#!/usr/bin/env bash
# Hand check of the Jitsi stand-in's real media: a host page and a patient page in two headless
# Chromiums, lobby → admit → media → E2EE on → endConference, printing the /media stats.
#   sandbox/scripts/media-check.sh            fake camera/microphone (media must flow)
#   BLOCK_MEDIA=1 sandbox/scripts/media-check.sh   no fake devices: getUserMedia fails on both
#   REJOIN=1 sandbox/scripts/media-check.sh   the patient's browser quits, leaves, comes back, is admitted again
# Needs: cargo build -p rounds-sandbox, chromium, curl, jq. Run from the workspace root.
set -euo pipefail
BIN=${BIN:-target/debug/rounds-sandbox}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
ROOM=${ROOM:-appt-mediacheck}
WAIT=${WAIT:-8}
TMP=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT

"$BIN" --port 0 --seed none --state-dir "$TMP/sbx" >"$TMP/ready" 2>"$TMP/sbx.log" &
PIDS+=($!)
for _ in $(seq 50); do [ -s "$TMP/ready" ] && break; sleep 0.1; done
BASE=$(jq -r .base_url "$TMP/ready"); CTL=$(jq -r .control_url "$TMP/ready"); CA=$(jq -r .ca_pem "$TMP/ready")
cmd() { curl -sS --cacert "$CA" -H 'content-type: application/json' -d "$1" "$BASE/_sandbox/jitsi/$ROOM/commands" >/dev/null; }
summary() { curl -sS "$CTL/control/jitsi/rooms/$ROOM"; }
show() {
  echo "== $1"
  summary | jq -c '{e2ee, lobby, participants: [.participants[].id], media: (.media | to_entries | map({id: .key, mod: .value.moderator,
    state: .value.state, ice: .value.iceState, dec: .value.framesDecoded, enc: .value.framesEncoded,
    samples: .value.totalSamplesReceived, level: .value.audioLevel, e2ee: .value.e2ee, error: .value.error, t: .value.t}))}'
}

FLAGS=(--no-sandbox --headless=new --disable-gpu --no-first-run --disable-background-networking
  --disable-component-update --disable-sync --ignore-certificate-errors --autoplay-policy=no-user-gesture-required)
[ -z "${BLOCK_MEDIA:-}" ] && FLAGS+=(--use-fake-device-for-media-stream --use-fake-ui-for-media-stream)
browse() { "$CHROMIUM" "${FLAGS[@]}" --user-data-dir="$TMP/$1" "$2" >"$TMP/$1.log" 2>&1 & LAST=$!; PIDS+=($LAST); }

HOST=$(curl -sS -d '{"name":"Dr Host"}' "$CTL/control/jitsi/rooms/$ROOM/host-link")
PAT=$(curl -sS -d '{"name":"Pat Patient"}' "$CTL/control/jitsi/rooms/$ROOM/patient-link")
PID_=$(echo "$PAT" | jq -r .id)
cmd '{"name":"toggleLobby","args":[true]}'
browse host "$(echo "$HOST" | jq -r .url)"
sleep 3
admit() {
  for _ in $(seq 100); do summary | jq -e --arg id "$PID_" '.knocking | map(.id) | index($id)' >/dev/null && break; sleep 0.2; done
  show "patient knocking"
  ADMIT=$(date +%s%3N)
  cmd "{\"name\":\"answerKnockingParticipant\",\"args\":[\"$PID_\",true]}"
  sleep "$WAIT"
  show "after ${WAIT}s of media (admitted at $ADMIT)"
}
browse patient "$(echo "$PAT" | jq -r .url)"
admit
if [ -n "${REJOIN:-}" ]; then
  kill "$LAST"; sleep 1
  curl -sS -d "{\"id\":\"$PID_\"}" "$CTL/control/jitsi/rooms/$ROOM/leave" >/dev/null
  sleep 2
  show "patient gone"
  browse patient2 "$(echo "$PAT" | jq -r .url)"
  admit
fi
sleep 3
show "3s later"
cmd '{"name":"toggleE2EE","args":[true]}'
sleep "$WAIT"
show "E2EE on for ${WAIT}s"
cmd '{"name":"endConference","args":[]}'
sleep 3
show "after endConference"
sleep 3
show "3s later (counters must not move)"
