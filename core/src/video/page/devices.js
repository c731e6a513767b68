// The device check before joining (Rounds' own, before Jitsi's): camera, microphone and
// speaker, self-view, microphone level, test sound. What goes wrong is said in a doctor's
// words with what to do. The choice is remembered on this computer by label (device ids are
// re-keyed for every fresh visit window profile).
"use strict";
window.RoundsDeviceCheck = (() => {
  const $ = (id) => document.getElementById(id);
  const KINDS = [
    ["camera", "videoinput", "Camera"],
    ["microphone", "audioinput", "Microphone"],
    ["speaker", "audiooutput", "Speaker"],
  ];

  /** Plain words for a getUserMedia failure, per device kind. */
  function words(err, what) {
    switch (err?.name) {
      case "NotAllowedError":
      case "SecurityError":
        return `Rounds is not allowed to use the ${what}. Allow the ${what} for Rounds (or for this window) in your computer's privacy settings, then press Check again.`;
      case "NotFoundError":
      case "OverconstrainedError":
        return `No ${what} was found. Plug one in (or pick another below), then press Check again.`;
      case "NotReadableError":
      case "AbortError":
        return `The ${what} is busy or was unplugged. Close other apps that use it (another call, the camera app), then press Check again.`;
      default:
        return `The ${what} could not be started. Press Check again; if it keeps failing, restart the computer's ${what} or pick another.`;
    }
  }

  async function run(remembered) {
    const box = $("devices");
    box.hidden = false;
    // Visit controls mean nothing before joining.
    $("controls").hidden = true;
    const state = { camera: null, microphone: null, speaker: null, problems: {} };
    let stream = null;
    let audio = null;
    let raf = 0;

    const stop = () => {
      cancelAnimationFrame(raf);
      stream?.getTracks().forEach((t) => t.stop());
      stream = null;
      audio?.close().catch(() => {});
      audio = null;
    };

    async function fill() {
      const all = await navigator.mediaDevices.enumerateDevices().catch(() => []);
      for (const [key, kind] of KINDS) {
        const sel = $(`dev-${key}`);
        const want = state[key]?.label ?? remembered?.[key];
        sel.replaceChildren();
        const list = all.filter((d) => d.kind === kind && d.deviceId);
        for (const d of list) {
          const o = document.createElement("option");
          o.value = d.deviceId;
          o.textContent = d.label || `${key} ${sel.length + 1}`;
          if (d.label && d.label === want) o.selected = true;
          sel.append(o);
        }
        sel.disabled = list.length === 0;
        $(`row-${key}`).hidden = key === "speaker" && list.length === 0;
        const chosen = list.find((d) => d.deviceId === sel.value);
        state[key] = chosen ? { id: chosen.deviceId, label: chosen.label } : null;
      }
    }

    function meter() {
      const track = stream?.getAudioTracks()[0];
      if (!track) return;
      audio = new AudioContext();
      // Chromium starts an AudioContext suspended until the first click or key press here.
      audio.resume().catch(() => {});
      const wake = () => audio?.resume().catch(() => {});
      box.addEventListener("pointerdown", wake, { once: true });
      box.addEventListener("keydown", wake, { once: true });
      const an = audio.createAnalyser();
      an.fftSize = 512;
      audio.createMediaStreamSource(new MediaStream([track])).connect(an);
      const buf = new Uint8Array(an.fftSize);
      const bar = $("dev-level");
      const tick = () => {
        an.getByteTimeDomainData(buf);
        let peak = 0;
        for (const v of buf) peak = Math.max(peak, Math.abs(v - 128));
        bar.value = Math.min(100, Math.round((peak / 128) * 140));
        raf = requestAnimationFrame(tick);
      };
      tick();
    }

    async function check() {
      stop();
      state.problems = {};
      $("dev-status").textContent = "Checking your camera and microphone…";
      const tracks = [];
      for (const [key, constraint, what] of [
        ["camera", "video", "camera"],
        ["microphone", "audio", "microphone"],
      ]) {
        const id = state[key]?.id;
        try {
          const s = await navigator.mediaDevices.getUserMedia({
            [constraint]: id ? { deviceId: { exact: id } } : true,
          });
          tracks.push(...s.getTracks());
        } catch (e) {
          state.problems[key] = { name: e?.name ?? "Error", text: words(e, what) };
        }
      }
      stream = new MediaStream(tracks);
      $("dev-self").srcObject = stream.getVideoTracks().length ? stream : null;
      await fill(); // labels are only known once permitted
      meter();
      const p = Object.values(state.problems);
      $("dev-problem").textContent = p.map((x) => x.text).join(" ");
      $("dev-problem").hidden = p.length === 0;
      $("dev-status").textContent =
        p.length === 0 ? "Camera and microphone are working. Speak to see the level move." : "";
      box.dataset.ready = p.length === 0 ? "yes" : "no";
    }

    async function testSound() {
      const ctx = new AudioContext();
      const id = state.speaker?.id;
      if (id && typeof ctx.setSinkId === "function") await ctx.setSinkId(id).catch(() => {});
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      gain.gain.value = 0.2;
      osc.frequency.value = 660;
      osc.connect(gain).connect(ctx.destination);
      osc.start();
      osc.stop(ctx.currentTime + 0.6);
      osc.onended = () => ctx.close();
      $("dev-status").textContent = "Playing a test sound. Did you hear it? If not, pick another speaker.";
    }

    for (const [key] of KINDS) {
      $(`dev-${key}`).addEventListener("change", (e) => {
        const o = e.target.selectedOptions[0];
        state[key] = o ? { id: o.value, label: o.textContent } : null;
        if (key !== "speaker") check();
      });
    }
    $("dev-sound").addEventListener("click", testSound);
    $("dev-again").addEventListener("click", check);
    await check();
    $("dev-join").focus();
    await new Promise((resolve) => $("dev-join").addEventListener("click", resolve, { once: true }));
    stop();
    box.hidden = true;
    $("controls").hidden = false;
    return {
      camera: state.camera,
      microphone: state.microphone,
      speaker: state.speaker,
      problems: Object.keys(state.problems),
    };
  }

  return { run };
})();
