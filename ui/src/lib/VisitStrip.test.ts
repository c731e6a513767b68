import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen } from "@testing-library/svelte";
import SignedIn from "./SignedIn.svelte";
import { mockBackend } from "./mockBackend";
import { dayBounds } from "./day";

afterEach(cleanup);

const today = dayBounds(new Date());

describe("video visit from the schedule", () => {
  it("starts a video visit from its row and follows it, naming nobody in the lobby notice", async () => {
    const backend = mockBackend({
      visits: [
        {
          id: "v1", start: today.from + 9 * 3600, end: today.from + 9.5 * 3600, patient: "Pat Example",
          visitType: "Video Visit", status: "booked", video: true, comment: null, link: null, waitingSince: null,
        },
        {
          id: "o1", start: today.from + 10 * 3600, end: today.from + 10.5 * 3600, patient: "Office Only",
          visitType: "Office Visit", status: "booked", video: false, comment: null, link: null, waitingSince: null,
        },
      ],
    });
    render(SignedIn, {
      backend,
      session: { state: "signedIn", user: "drsmith", until: Math.floor(Date.now() / 1000) + 3600 },
      onSession: () => {},
    });
    const start = await screen.findAllByRole("button", { name: /Start visit at .* \(video\)/ });
    expect(start).toHaveLength(1);
    await fireEvent.click(start[0]!);
    expect(backend.visitCalls).toEqual(["v1"]);
    expect((await screen.findByTestId("visit-strip")).dataset.phase).toBe("joining");

    backend.visit = {
      ...backend.visit!, phase: "joined", participants: 1, canHost: true, badge: "inProgress",
      knocking: [{ id: "k1", name: "Pat Example", since: Math.floor(Date.now() / 1000) }], mediaUnsupported: true,
    };
    // The core tells of the visit's change; the strip re-reads it (no polling).
    backend.emit("visit");
    const knock = await screen.findByTestId("visit-knocking");
    expect(knock.textContent).toContain("Someone is waiting");
    expect(knock.textContent).not.toContain("Pat Example");
    expect(await screen.findByTestId("visit-badge")).toBeTruthy();
    await fireEvent.click(screen.getByRole("button", { name: "Open in browser" }));
    expect(backend.visitCalls).toContain("browser:v1");
    await fireEvent.click(screen.getByRole("button", { name: "Close visit" }));
    expect(screen.queryByTestId("visit-strip")).toBeNull();
  });
});
