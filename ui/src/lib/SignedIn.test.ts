import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, render, screen } from "@testing-library/svelte";
import SignedIn from "./SignedIn.svelte";
import { mockBackend } from "./mockBackend";

afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

describe("signed-in session", () => {
  it("renews two minutes before the session ends, not before", async () => {
    vi.useFakeTimers();
    const now = Date.now();
    const backend = mockBackend();
    const sessions: unknown[] = [];
    render(SignedIn, {
      backend,
      session: { state: "signedIn", user: "drsmith", until: Math.floor(now / 1000) + 600 },
      onSession: (s: unknown) => sessions.push(s),
    });
    expect(screen.getByText("drsmith")).toBeTruthy();
    await vi.advanceTimersByTimeAsync(470_000);
    expect(backend.renewCalls).toBe(0);
    await vi.advanceTimersByTimeAsync(20_000);
    expect(backend.renewCalls).toBe(1);
    expect(sessions).toEqual([{ state: "signedIn", user: "drsmith", until: 1_900_003_600 }]);
  });

  it("goes back to sign-in when the clinic refuses the renewal", async () => {
    vi.useFakeTimers();
    const backend = mockBackend({
      renew: { ok: false, error: { code: "sessionExpired", message: "Please sign in again.", field: null } },
    });
    const sessions: unknown[] = [];
    render(SignedIn, {
      backend,
      session: { state: "signedIn", user: "drsmith", until: Math.floor(Date.now() / 1000) + 60 },
      onSession: (s: unknown) => sessions.push(s),
    });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sessions).toEqual([{ state: "signedOut" }]);
  });
});
