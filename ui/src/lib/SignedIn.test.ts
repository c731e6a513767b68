import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, render, screen } from "@testing-library/svelte";
import SignedIn from "./SignedIn.svelte";
import { mockBackend } from "./mockBackend";

afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

describe("signed-in session", () => {
  it("follows the core's renewal: the header shows the new end, and the page has no timer of its own", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    const now = Date.now();
    const backend = mockBackend();
    const sessions: unknown[] = [];
    render(SignedIn, {
      backend,
      session: { state: "signedIn", user: "drsmith", until: Math.floor(now / 1000) + 600 },
      onSession: (s: unknown) => sessions.push(s),
    });
    expect(screen.getByText("drsmith")).toBeTruthy();
    await vi.advanceTimersByTimeAsync(700_000);
    expect(sessions).toEqual([]);
    const renewed = { state: "signedIn", user: "drsmith", until: 1_900_003_600 } as const;
    backend.sessionState = async () => ({ ok: true, value: renewed });
    backend.emit("session");
    await vi.waitFor(() => expect(sessions).toEqual([renewed]));
  });

  it("goes back to sign-in when the core says the session ended", async () => {
    const backend = mockBackend();
    const sessions: unknown[] = [];
    render(SignedIn, {
      backend,
      session: { state: "signedIn", user: "drsmith", until: Math.floor(Date.now() / 1000) + 60 },
      onSession: (s: unknown) => sessions.push(s),
    });
    backend.sessionState = async () => ({ ok: true, value: { state: "signedOut" } });
    backend.emit("session");
    await vi.waitFor(() => expect(sessions).toEqual([{ state: "signedOut" }]));
  });

  it("lets go of every subscription when it leaves the screen", async () => {
    const backend = mockBackend();
    const { unmount } = render(SignedIn, {
      backend,
      session: { state: "signedIn", user: "drsmith", until: Math.floor(Date.now() / 1000) + 600 },
      onSession: () => {},
    });
    expect(backend.listeners()).toBeGreaterThan(0);
    unmount();
    expect(backend.listeners()).toBe(0);
  });
});
