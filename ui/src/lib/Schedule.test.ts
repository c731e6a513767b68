import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, within } from "@testing-library/svelte";
import Schedule from "./Schedule.svelte";
import { mockBackend } from "./mockBackend";
import { dayBounds } from "./day";
import type { Visit } from "./backend";

afterEach(cleanup);

const today = dayBounds(new Date());
const at = (h: number, m = 0) => today.from + h * 3600 + m * 60;
const visit = (id: string, h: number, over: Partial<Visit> = {}): Visit => ({
  id,
  start: at(h),
  end: at(h, 30),
  patient: `Patient ${id}`,
  visitType: "Office Visit",
  status: "booked",
  video: false,
  comment: null,
  link: null,
  waitingSince: null,
  ...over,
});

describe("patient waiting", () => {
  it("says who waits and for how long, in words, and opens that visit in one click", async () => {
    const since = Math.floor(Date.now() / 1000) - 4 * 60 - 5;
    const backend = mockBackend({
      visits: [
        visit("first", 9, { video: true }),
        visit("second", 10, { video: true, status: "arrived", waitingSince: since }),
      ],
    });
    const opened: string[] = [];
    render(Schedule, { backend, onStartVisit: (id: string) => opened.push(id), visitBadge: null });
    const badge = await screen.findByTestId("waiting");
    expect(badge.textContent?.trim()).toBe("Waiting 4 min");
    const rows = screen.getAllByRole("listitem") as [HTMLElement, HTMLElement];
    expect(within(rows[0]).queryByTestId("waiting")).toBeNull();
    const open = within(rows[1]).getByRole("button", { name: /patient waiting/ });
    expect(open.textContent).toContain("Open visit — patient waiting");
    await fireEvent.click(open);
    expect(opened).toEqual(["second"]);
  });
});

describe("day view", () => {
  it("lists today's visits in order with type, status and a video badge", async () => {
    const backend = mockBackend({
      visits: [
        visit("a", 9, { video: true, visitType: "Telehealth" }),
        visit("b", 10, { status: "cancelled" }),
        visit("tomorrow", 33),
      ],
    });
    render(Schedule, { backend, onStartVisit: () => {}, visitBadge: null });
    const rows = await screen.findAllByRole("listitem");
    expect(rows).toHaveLength(2);
    const [first, second] = rows as [HTMLElement, HTMLElement];
    expect(within(first).getByText("Patient a")).toBeTruthy();
    expect(within(first).getByText("Video")).toBeTruthy();
    expect(second.dataset.status).toBe("cancelled");
    expect(within(second).getByText("Cancelled")).toBeTruthy();
    expect(screen.getByTestId("sync-status").textContent).toContain("Up to date");
  });

  it("moves between days by button and keyboard, and says what to do on an empty day", async () => {
    const backend = mockBackend({ visits: [visit("a", 9), visit("next", 24 + 9)] });
    render(Schedule, { backend, onStartVisit: () => {}, visitBadge: null });
    await screen.findByText("Patient a");
    await fireEvent.click(screen.getByRole("button", { name: "Next day →" }));
    expect(await screen.findByText("Patient next")).toBeTruthy();
    await fireEvent.keyDown(window, { key: "ArrowRight" });
    expect((await screen.findByTestId("no-visits")).textContent).toContain("No visits on this day");
    await fireEvent.keyDown(window, { key: "t" });
    expect(await screen.findByText("Patient a")).toBeTruthy();
    expect((screen.getByRole("button", { name: "Today" }) as HTMLButtonElement).disabled).toBe(true);
  });

  it("shows the saved day offline, with when it was last synced, and offers a retry", async () => {
    const backend = mockBackend({
      visits: [visit("a", 9)],
      sync: { phase: "failed", pages: 0, appointments: 0, skipped: 0, lastSynced: at(8, 5), error: "network" },
    });
    render(Schedule, { backend, onStartVisit: () => {}, visitBadge: null });
    expect(await screen.findByText("Patient a")).toBeTruthy();
    const problem = screen.getByTestId("sync-problem");
    expect(problem.textContent).toContain("Offline");
    expect(problem.textContent).toContain("today");
    expect(screen.getByRole("button", { name: "Try now" })).toBeTruthy();
  });

  it("shows progress while the first download runs", async () => {
    const backend = mockBackend({
      sync: { phase: "window", pages: 3, appointments: 250, skipped: 0, lastSynced: null, error: null },
    });
    render(Schedule, { backend, onStartVisit: () => {}, visitBadge: null });
    expect((await screen.findByTestId("sync-status")).textContent).toContain("3 pages, 250 visits");
    expect(screen.getByTestId("no-visits").textContent).toContain("not been downloaded yet");
  });

  it("renders a 300-visit day", async () => {
    const many = Array.from({ length: 300 }, (_, i) => visit(`v${i}`, 7 + (i % 12), { start: at(7) + i * 120 }));
    const backend = mockBackend({ visits: many });
    const t0 = performance.now();
    render(Schedule, { backend, onStartVisit: () => {}, visitBadge: null });
    await screen.findByText("Patient v299");
    const ms = performance.now() - t0;
    expect(screen.getAllByRole("listitem")).toHaveLength(300);
    console.info(`300 visits rendered in ${ms.toFixed(0)} ms (jsdom)`);
  });
});

describe("following the core", () => {
  it("re-reads the day when the core says the schedule changed, once per burst, and never on its own", async () => {
    const backend = mockBackend({ visits: [visit("a", 9)] });
    render(Schedule, { backend, onStartVisit: () => {}, visitBadge: null });
    expect(await screen.findByText("Patient a")).toBeTruthy();
    await new Promise((r) => setTimeout(r, 1500));
    const before = backend.dayCalls.length;
    expect(before).toBe(1);
    backend.visits = [visit("a", 9), visit("b", 11)];
    for (let i = 0; i < 10; i++) backend.emit("schedule");
    expect(await screen.findByText("Patient b")).toBeTruthy();
    await new Promise((r) => setTimeout(r, 50));
    // A run of ten changes: one read at once, one more after it (none lost, none piled up).
    expect(backend.dayCalls.length - before).toBe(2);
    // Changes the day view does not show are not followed.
    backend.emit("session");
    backend.emit("visit");
    await new Promise((r) => setTimeout(r, 50));
    expect(backend.dayCalls.length - before).toBe(2);
  });
});
