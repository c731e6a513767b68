// The visit page: runs the clinic's Jitsi IFrame API for one visit and tells the Rounds core
// every event. The token comes once from /ticket; host commands are checked by the core first.
"use strict";
(async () => {
  const $ = (id) => document.getElementById(id);
  const post = (path, body) =>
    fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const report = async (event, data) => {
    try {
      const r = await post("events", { event, data: data ?? {} });
      if (r.ok) show(await r.json());
    } catch (_) {
      /* the core went away (Rounds closed): nothing to tell it */
    }
  };
  const problem = (text) => {
    $("problem").textContent = text;
    $("problem").hidden = false;
  };
  let api = null;
  let hostReady = false;

  function show(view) {
    if (!view) return;
    const words = {
      joining: "Connecting…",
      joined: `In the visit · ${view.participants} in the call`,
      left: "You left the visit.",
      ended: "The visit has ended.",
      failed: "The visit could not continue.",
    };
    $("status").textContent = words[view.phase] ?? "";
    for (const b of document.querySelectorAll("[data-host]")) b.hidden = !view.canHost;
    // Once the core itself says we host (it has seen Jitsi make us moderator): the lobby on
    // (policy: on by default) and E2EE on where this window can; earlier the core refuses both.
    if (view.canHost && !hostReady && api) {
      hostReady = true;
      if (ticket.lobby) run({ lockRoom: true });
      if (ticket.e2eeAllowed && e2eeCapable) run({ toggleE2ee: true });
    }
    const k = $("knocking");
    // Rebuilt only when who is knocking changes, so a keyboard user's focus on Admit
    // survives the core's updates.
    const knockKey = JSON.stringify((view.knocking ?? []).map((p) => [p.id, p.name]));
    if (knockKey !== k.dataset.key) renderKnocks(k, view.knocking ?? [], knockKey);
    k.hidden = (view.knocking ?? []).length === 0;
    if (view.phase === "ended" || view.phase === "left") api?.dispose();
  }

  function renderKnocks(k, knocking, key) {
    k.dataset.key = key;
    k.replaceChildren();
    for (const p of knocking) {
      const row = document.createElement("div");
      row.textContent = `${p.name || "Someone"} is waiting to be let in. `;
      for (const [label, cmd] of [["Admit", "admit"], ["Deny", "deny"]]) {
        const b = document.createElement("button");
        b.type = "button";
        b.textContent = label;
        b.dataset.answer = cmd;
        b.addEventListener("click", () => run({ [cmd]: { id: p.id } }));
        row.append(b);
      }
      k.append(row);
    }
  }

  async function run(cmd) {
    const r = await post("command", cmd);
    if (!r.ok) return problem("That is only for the host of the visit.");
    const { name, args } = await r.json();
    api?.executeCommand(name, ...args);
  }
  for (const b of document.querySelectorAll("[data-cmd]")) {
    const cmd = b.dataset.cmd;
    b.addEventListener("click", () => run(cmd === "lockRoom" ? { lockRoom: true } : cmd));
  }

  // E2EE needs insertable streams; say honestly when this browser has none. Where policy
  // requires E2EE and it is not possible here, the visit is not joined at all.
  const e2eeCapable =
    typeof window.RTCRtpScriptTransform === "function" ||
    "createEncodedStreams" in (window.RTCRtpSender?.prototype ?? {});

  const t = await fetch("ticket");
  if (!t.ok) return problem("This visit page was already opened. Start the visit again from Rounds.");
  const ticket = await t.json();
  if (ticket.e2eeRequired && !e2eeCapable) {
    ticket.jwt = null;
    await report("e2ee", { state: "notSupported" });
    await report("loadFailed");
    return problem(
      "Your organisation requires end-to-end encryption for video visits, and this window cannot provide it. Use \u201cOpen in browser\u201d in Rounds (Chrome, Edge or another browser that supports it).",
    );
  }
  // Rounds' own device check first, where this window can carry a call at all.
  const mediaCapable =
    typeof window.RTCPeerConnection === "function" && typeof navigator.mediaDevices?.getUserMedia === "function";
  let devices = null;
  if (mediaCapable && window.RoundsDeviceCheck) {
    $("status").textContent = "Check your camera and sound, then join.";
    const remembered = await fetch("devices")
      .then((r) => (r.ok ? r.json() : {}))
      .catch(() => ({}));
    devices = await window.RoundsDeviceCheck.run(remembered);
    const labels = {};
    for (const k of ["camera", "microphone", "speaker"]) if (devices[k]?.label) labels[k] = devices[k].label;
    post("devices", labels).catch(() => {});
    $("status").textContent = "Connecting to the clinic's video service…";
  }
  await new Promise((resolve, reject) => {
    const s = document.createElement("script");
    s.src = `https://${ticket.domain}/external_api.js`;
    s.onload = resolve;
    s.onerror = reject;
    document.head.append(s);
  }).catch(() => null);
  if (typeof window.JitsiMeetExternalAPI !== "function") {
    await report("loadFailed");
    return problem("The clinic's video service could not be reached. Check the connection and start the visit again.");
  }
  api = new window.JitsiMeetExternalAPI(ticket.domain, {
    roomName: ticket.room,
    // Only a token the clinic's telehealth service issued; a visit from the appointment's own
    // link has none (the room is then as open as the deployment makes it: lobby first).
    ...(ticket.jwt ? { jwt: ticket.jwt } : {}),
    parentNode: $("meeting"),
    width: "100%",
    height: "100%",
    userInfo: { displayName: ticket.displayName },
    configOverwrite: { prejoinConfig: { enabled: true }, disableDeepLinking: true },
  });
  ticket.jwt = null;
  // The meeting's frame is the server's; a screen reader still needs its name (WCAG 4.1.2).
  const frame = typeof api.getIFrame === "function" ? api.getIFrame() : $("meeting").querySelector("iframe");
  if (frame) frame.title = "Video call";
  // The devices chosen in the check; Jitsi matches them by label (ids differ per origin).
  api.addListener("videoConferenceJoined", () => {
    for (const [fn, d] of [
      ["setVideoInputDevice", devices?.camera],
      ["setAudioInputDevice", devices?.microphone],
      ["setAudioOutputDevice", devices?.speaker],
    ]) {
      if (d?.label && typeof api[fn] === "function") api[fn](d.label, d.id);
    }
  });
  // Who is in the call (ids and names from the meeting itself), with Remove for the host.
  const people = new Map();
  let canHost = false;
  const showPeople = () => {
    const list = $("people");
    list.replaceChildren();
    for (const [id, name] of people) {
      const row = document.createElement("li");
      row.textContent = `${name || "Participant"} `;
      if (canHost) {
        const b = document.createElement("button");
        b.type = "button";
        b.textContent = "Remove";
        b.setAttribute("aria-label", `Remove ${name || "participant"} from the visit`);
        b.addEventListener("click", () => run({ kick: { id } }));
        row.append(b);
      }
      list.append(row);
    }
    list.hidden = people.size === 0;
  };
  api.addListener("participantJoined", (d) => {
    if (d && typeof d.id === "string") people.set(d.id, String(d.displayName ?? "").slice(0, 64));
    showPeople();
  });
  api.addListener("participantLeft", (d) => {
    if (d) people.delete(d.id);
    showPeople();
  });
  api.addListener("participantKickedOut", (d) => {
    if (d?.kicked) people.delete(d.kicked.id);
    showPeople();
  });
  api.addListener("participantRoleChanged", (d) => {
    if (d && d.role === "moderator") {
      canHost = true;
      showPeople();
    }
  });
  for (const name of [
    "videoConferenceJoined", "videoConferenceLeft", "participantJoined", "participantLeft",
    "participantRoleChanged", "knockingParticipant", "participantKickedOut", "errorOccurred",
    "passwordRequired", "readyToClose",
  ]) {
    api.addListener(name, (data) => report(name, data));
  }
  await report("e2ee", { state: !ticket.e2eeAllowed ? "offByPolicy" : e2eeCapable ? "on" : "notSupported" });
  if (typeof window.RTCPeerConnection !== "function") {
    await report("mediaUnsupported");
    problem("This window cannot carry video on this computer. Use \u201cOpen in browser\u201d in Rounds.");
  }
})();
