import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen } from "@testing-library/svelte";
import App from "../App.svelte";
import { mockBackend } from "./mockBackend";

afterEach(cleanup);

async function open(name: RegExp) {
  await fireEvent.click(await screen.findByRole("button", { name }));
}

describe("settings and the managed panel", () => {
  it("disables a locked setting, names who locked it, and saves an open one", async () => {
    const backend = mockBackend();
    render(App, { backend });
    await open(/^Settings$/);
    const theme = (await screen.findByLabelText("Theme")) as HTMLSelectElement;
    expect(theme.disabled).toBe(true);
    expect(screen.getByText(/Set by your organisation \(Policy file\)/)).toBeTruthy();

    const size = screen.getByLabelText("Text size") as HTMLSelectElement;
    expect(size.disabled).toBe(false);
    await fireEvent.change(size, { target: { value: "large" } });
    expect(await screen.findByText("Saved.")).toBeTruthy();
    expect(backend.settingCalls).toEqual([["appearance.text_size", { kind: "choice", value: "large" }]]);
  });

  it("lists every policy setting with its source and lock", async () => {
    render(App, { backend: mockBackend() });
    await open(/Managed by your organisation/);
    const rows = await screen.findAllByRole("row");
    const text = rows.map((r) => r.textContent ?? "").join("\n");
    expect(text).toContain("Lock after inactivity (minutes)");
    expect(text).toContain("Set by your organisation (Policy file)");
    expect(text).toContain("Suggested by your organisation (Policy file)");
    expect(text).toContain("/etc/rounds/policy.json");
  });
});
