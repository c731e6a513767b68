import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen } from "@testing-library/svelte";
import App from "../App.svelte";
import { mockBackend } from "./mockBackend";
import type { Visit } from "./backend";

afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

const day = Math.floor(new Date().setHours(10, 0, 0, 0) / 1000);
const visits: Visit[] = [
  {
    id: "a1", start: day, end: day + 900, status: "booked", patient: "Ada Patientson",
    visitType: "Follow-up", video: true, comment: null, link: null, waitingSince: null,
  },
];

function signedIn() {
  // A keychain session at start, as after a restart.
  const backend = mockBackend({ visits });
  backend.sessionState = async () => ({ ok: true, value: { state: "signedIn", user: "drsmith", until: 1_900_000_000 } });
  return backend;
}

describe("idle lock", () => {
  it("reports input as it happens (at most every 5 s, nothing while idle); on the core's lock no patient is left in the DOM", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    const backend = signedIn();
    render(App, { backend });
    expect(await screen.findByText("Ada Patientson")).toBeTruthy();
    await fireEvent.keyDown(window, { key: "a" });
    await fireEvent.keyDown(window, { key: "b" });
    expect(backend.activityCalls).toEqual([true]);
    // Idle: no report, no call, however long.
    await vi.advanceTimersByTimeAsync(60_000);
    expect(backend.activityCalls).toEqual([true]);
    await fireEvent.keyDown(window, { key: "c" });
    expect(backend.activityCalls).toEqual([true, true]);
    // The core's clock locks and says so; the page re-reads the lock.
    backend.lock = { state: "locked", user: "drsmith", idleMinutes: 15, reason: "idle" };
    backend.emit("lock");
    expect(await screen.findByTestId("locked")).toBeTruthy();
    expect(screen.getByTestId("locked-why").textContent).toMatch(/after 15\s+minutes without use/);
    expect(document.body.innerHTML).not.toContain("Ada Patientson");
    expect(document.body.innerHTML).not.toContain("Follow-up");
    expect(screen.queryByTestId("signed-in")).toBeNull();
  });

  it("unlocks only with password and code; a wrong password keeps the lock", async () => {
    const backend = signedIn();
    render(App, { backend });
    await fireEvent.click(await screen.findByTestId("lock-now"));
    expect(await screen.findByTestId("locked")).toBeTruthy();
    expect(screen.getByTestId("locked-why").textContent).toContain("You locked Rounds");
    const unlock = screen.getByRole("button", { name: "Unlock" }) as HTMLButtonElement;
    expect(unlock.disabled).toBe(true);
    await fireEvent.input(screen.getByLabelText("Password"), { target: { value: "wrong" } });
    await fireEvent.input(screen.getByLabelText(/6-digit code/), { target: { value: "123456" } });
    await fireEvent.click(unlock);
    expect(await screen.findByText("The user name or password is not right.")).toBeTruthy();
    expect(screen.getByTestId("locked")).toBeTruthy();
    await fireEvent.input(screen.getByLabelText("Password"), { target: { value: "right" } });
    await fireEvent.input(screen.getByLabelText(/6-digit code/), { target: { value: "654321" } });
    await fireEvent.click(screen.getByRole("button", { name: "Unlock" }));
    expect(await screen.findByText("Ada Patientson")).toBeTruthy();
    expect(backend.unlockCalls.map((r) => r.username)).toEqual(["drsmith", "drsmith"]);
  });

  it("starts locked when the core kept the lock across a restart", async () => {
    const backend = signedIn();
    backend.lock = { state: "locked", user: "drsmith", idleMinutes: 5, reason: null };
    render(App, { backend });
    expect(await screen.findByTestId("locked")).toBeTruthy();
    expect(screen.getByTestId("locked-why").textContent).toContain("cleared from the screen");
    expect(document.body.innerHTML).not.toContain("Ada Patientson");
  });

  it("on a shared PC the idle lock signs out and says why", async () => {
    const backend = signedIn();
    render(App, { backend });
    expect(await screen.findByText("Ada Patientson")).toBeTruthy();
    backend.lock = { state: "signedOut", user: null, idleMinutes: 10, reason: null };
    backend.emit("lock");
    expect((await screen.findByTestId("signin-notice")).textContent).toContain("signed out after 10 minutes");
    expect(document.body.innerHTML).not.toContain("Ada Patientson");
  });
});
