import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen } from "@testing-library/svelte";
import App from "../App.svelte";
import { mockBackend } from "./mockBackend";

afterEach(cleanup);

const two = {
  locked: false,
  profiles: [
    { id: "north", displayName: "North Clinic", origin: "https://emr.north.example", site: "default", username: "drsmith", active: true },
    { id: "south", displayName: "South Clinic", origin: "https://emr.south.example", site: "default", username: null, active: false },
  ],
};

describe("clinic accounts", () => {
  it("lets the clinician pick the account on the sign-in screen", async () => {
    const backend = mockBackend({ profiles: structuredClone(two) });
    render(App, { backend });
    const pick = (await screen.findByLabelText("Clinic account")) as HTMLSelectElement;
    expect(pick.value).toBe("north");
    await fireEvent.change(pick, { target: { value: "south" } });
    expect((await backend.profiles()).profiles.find((p) => p.active)?.id).toBe("south");
  });

  it("shows no picker when IT fixes the server", async () => {
    render(App, { backend: mockBackend({ profiles: { ...structuredClone(two), locked: true } }) });
    await screen.findByText("Sandbox Clinic");
    expect(screen.queryByLabelText("Clinic account")).toBeNull();
  });

  it("adds a clinic, says plainly what is wrong with an address, and asks before removing", async () => {
    const backend = mockBackend({ profiles: { locked: false, profiles: [] } });
    render(App, { backend });
    await fireEvent.click(await screen.findByRole("button", { name: "Settings" }));
    await screen.findByText(/add your clinic below/);
    await fireEvent.input(screen.getByLabelText("Clinic name"), { target: { value: "East Clinic" } });
    await fireEvent.input(screen.getByLabelText("Server address"), { target: { value: "http://emr.east" } });
    await fireEvent.click(screen.getByRole("button", { name: "Add clinic" }));
    expect((await screen.findByTestId("clinics-error")).textContent).toContain("https");
    await fireEvent.input(screen.getByLabelText("Server address"), { target: { value: "https://emr.east.example" } });
    await fireEvent.click(screen.getByRole("button", { name: "Add clinic" }));
    expect(await screen.findByText("East Clinic")).toBeTruthy();
    expect(screen.getByText("In use")).toBeTruthy();

    await fireEvent.click(screen.getByRole("button", { name: "Remove East Clinic" }));
    expect((await backend.profiles()).profiles).toHaveLength(1);
    await fireEvent.click(screen.getByRole("button", { name: "Remove and sign out" }));
    expect(await screen.findByText(/add your clinic below/)).toBeTruthy();
    expect((await backend.profiles()).profiles).toHaveLength(0);
  });
});
