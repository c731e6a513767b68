import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen } from "@testing-library/svelte";
import UpdateNotice from "./UpdateNotice.svelte";
import { mockBackend, upToDate } from "./mockBackend";

afterEach(cleanup);

const available = {
  ...upToDate,
  state: { kind: "available" as const, version: "0.2.0", notes: "The day view loads faster.", date: null, atClose: false },
  message: "Rounds 0.2.0 is available (you have 0.1.0). It installs when you choose: now, or when you close Rounds.",
  canInstallNow: true,
};

describe("update notice", () => {
  it("says nothing when Rounds is up to date", async () => {
    const backend = mockBackend();
    render(UpdateNotice, { backend });
    await Promise.resolve();
    expect(screen.queryByTestId("update-notice")).toBeNull();
  });

  it("says what changes and when, and installs only when asked", async () => {
    const backend = mockBackend();
    backend.update = available;
    render(UpdateNotice, { backend });
    expect((await screen.findByTestId("update-message")).textContent).toContain("Rounds 0.2.0 is available");
    expect(screen.getByTestId("update-notes").textContent).toContain("loads faster");
    expect(screen.getByText(/set by your organisation/)).toBeTruthy();
    expect(backend.updateCalls).toEqual([]);
    await fireEvent.click(screen.getByTestId("update-install-now"));
    expect((await screen.findByTestId("update-notice")).dataset.state).toBe("installed");
    expect(screen.getByTestId("update-message").textContent).toContain("starts the next time you open Rounds");
    await fireEvent.click(screen.getByTestId("update-restart"));
    expect(backend.updateCalls).toEqual(["now", "restart"]);
  });

  it("waits during a visit: no install now, no restart", async () => {
    const backend = mockBackend();
    backend.update = { ...available, visitOpen: true, canInstallNow: false };
    render(UpdateNotice, { backend, visitOpen: true });
    const now = (await screen.findByTestId("update-install-now")) as HTMLButtonElement;
    expect(now.disabled).toBe(true);
    expect((screen.getByTestId("update-at-close") as HTMLButtonElement).disabled).toBe(true);
  });

  it("can wait for the close of Rounds instead", async () => {
    const backend = mockBackend();
    backend.update = available;
    render(UpdateNotice, { backend });
    await fireEvent.click(await screen.findByTestId("update-at-close"));
    expect((await screen.findByTestId("update-message")).textContent).toBe(
      "Rounds 0.2.0 will install when you close Rounds.",
    );
    expect(screen.queryByTestId("update-install-now")).toBeNull();
  });
});
