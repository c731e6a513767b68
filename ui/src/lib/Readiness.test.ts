import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen } from "@testing-library/svelte";
import Readiness from "./Readiness.svelte";
import IdleWarning from "./IdleWarning.svelte";
import RenewPrompt from "./RenewPrompt.svelte";
import { mockBackend } from "./mockBackend";
import type { LockView, ReadinessView, SessionState, Visit } from "./backend";

afterEach(cleanup);

const now = Math.floor(Date.now() / 1000);
const visit = { id: "v1", start: now + 300, end: now + 2100, video: true, status: "booked" } as Visit;

const ready: ReadinessView = {
  appointmentId: "v1",
  ready: true,
  checkedAt: now,
  domain: "meet.example.org",
  times: { dnsMs: 1, connectMs: 12, tlsMs: 30 },
  checks: [
    { kind: "camera", status: "ok", says: "Integrated Camera is connected.", todo: null },
    { kind: "microphone", status: "ok", says: "HDA Intel PCH is connected.", todo: null },
    { kind: "videoServer", status: "ok", says: "The video server answers.", todo: null },
    { kind: "session", status: "ok", says: "Your sign-in lasts.", todo: null },
    { kind: "window", status: "ok", says: "The visit opens in a Rounds window.", todo: null },
  ],
};
const noCamera: ReadinessView = {
  ...ready,
  ready: false,
  checks: ready.checks.map((c) =>
    c.kind === "camera"
      ? {
          ...c,
          status: "attention",
          says: "The camera is not connected.",
          todo: "Plug it in, or pick another one in the device check when the visit opens.",
        }
      : c,
  ),
};

describe("visit readiness", () => {
  it("says ready, and the panel lists every check with the network times", async () => {
    const backend = mockBackend();
    render(Readiness, { backend, visit, view: ready, onChecked: () => {} });
    expect(screen.getByTestId("readiness-state").textContent).toBe("Ready for the visit");
    const toggle = screen.getByRole("button", { name: /Show readiness details/ });
    expect(toggle.getAttribute("aria-expanded")).toBe("false");
    await fireEvent.click(toggle);
    const panel = screen.getByTestId("readiness-panel");
    expect(panel.querySelectorAll("li")).toHaveLength(5);
    expect(panel.textContent).toContain("round trip 12 ms");
  });

  it("says what needs attention and what to do, and checks again on request", async () => {
    const backend = mockBackend();
    backend.readiness = [ready];
    const seen: ReadinessView[] = [];
    render(Readiness, { backend, visit, view: noCamera, onChecked: (v: ReadinessView) => seen.push(v) });
    expect(screen.getByTestId("readiness-state").textContent).toBe("Needs attention");
    expect(screen.getByTestId("readiness-problem").textContent).toContain(
      "The camera is not connected. Plug it in",
    );
    await fireEvent.click(screen.getByTestId("readiness-toggle"));
    const cam = screen.getByTestId("readiness-panel").querySelector("[data-check=camera]");
    expect(cam?.getAttribute("data-status")).toBe("attention");
    expect(cam?.textContent).toContain("What to do:");
    await fireEvent.click(screen.getByRole("button", { name: "Check again" }));
    await new Promise((r) => setTimeout(r, 0));
    expect(backend.readinessCalls).toEqual(["v1"]);
    expect(seen[0]?.ready).toBe(true);
  });
});

describe("idle lock warning", () => {
  const open: LockView = { state: "open", user: "drsmith", idleMinutes: 15, reason: null, warnSeconds: 42 };

  it("shows calmly before the lock and 'Stay signed in' counts as use", async () => {
    const backend = mockBackend();
    let lock: LockView | null = null;
    render(IdleWarning, { backend, lock: open, onLock: (v: LockView) => (lock = v) });
    expect(screen.getByTestId("idle-warning").textContent).toContain("lock in about 40 seconds");
    await fireEvent.click(screen.getByRole("button", { name: "Stay signed in" }));
    expect(backend.activityCalls).toEqual([true]);
    expect(lock).not.toBeNull();
  });

  it("is not there without a warning or once locked", () => {
    const backend = mockBackend();
    render(IdleWarning, { backend, lock: { ...open, warnSeconds: null }, onLock: () => {} });
    expect(screen.queryByTestId("idle-warning")).toBeNull();
    cleanup();
    render(IdleWarning, { backend, lock: { ...open, state: "locked" }, onLock: () => {} });
    expect(screen.queryByTestId("idle-warning")).toBeNull();
  });
});

describe("renew before the visit", () => {
  it("asks for password and code when the core says so, and signs in again", async () => {
    const backend = mockBackend();
    backend.renewAsk = {
      sessionEnd: now + 600,
      visitStart: now + 300,
      visitEnd: now + 2100,
      says: "Your sign-in ends at 10:10, during your 10:05–10:35 visit.",
    };
    const sessions: SessionState[] = [];
    render(RenewPrompt, { backend, user: "drsmith", onSession: (s: SessionState) => sessions.push(s) });
    expect((await screen.findByTestId("renew-says")).textContent).toContain("during your");
    await fireEvent.input(screen.getByLabelText("Password for drsmith"), { target: { value: "pw-1234567" } });
    await fireEvent.input(screen.getByLabelText(/6-digit code/), { target: { value: "123456" } });
    await fireEvent.click(screen.getByRole("button", { name: "Sign in again" }));
    await new Promise((r) => setTimeout(r, 0));
    expect(backend.signInCalls.map((r) => r.username)).toEqual(["drsmith"]);
    expect(sessions[0]?.state).toBe("signedIn");
    expect(screen.queryByTestId("renew-prompt")).toBeNull();
  });

  it("shows nothing when the core does not ask (e.g. during a call)", async () => {
    const backend = mockBackend();
    render(RenewPrompt, { backend, user: "drsmith", onSession: () => {} });
    await new Promise((r) => setTimeout(r, 0));
    expect(screen.queryByTestId("renew-prompt")).toBeNull();
  });
});
