import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen } from "@testing-library/svelte";
import App from "../App.svelte";
import { mockBackend } from "./mockBackend";

afterEach(() => {
  cleanup();
  localStorage.clear();
  sessionStorage.clear();
});

async function fill(user: string, pass: string, code: string) {
  await fireEvent.input(screen.getByLabelText("User name"), { target: { value: user } });
  await fireEvent.input(screen.getByLabelText("Password"), { target: { value: pass } });
  await fireEvent.input(screen.getByLabelText(/6-digit code/), { target: { value: code } });
}

describe("sign-in screen", () => {
  it("shows the clinic and a verified connection, with every field labelled", async () => {
    render(App, { backend: mockBackend() });
    expect(await screen.findByText("Sandbox Clinic")).toBeTruthy();
    expect(await screen.findByText(/Secure connection verified/)).toBeTruthy();
    for (const label of ["User name", "Password", /6-digit code/]) {
      expect(screen.getByLabelText(label)).toBeTruthy();
    }
    expect(screen.getByRole("button", { name: "Sign in" })).toBeTruthy();
  });

  it("sends what was typed, keeps only digits of the code, and stores nothing in the webview", async () => {
    const backend = mockBackend({
      signIn: { ok: false, error: { code: "notAvailable", message: "Not in this build.", field: null } },
    });
    render(App, { backend });
    await screen.findByText("Sandbox Clinic");
    await fill("drsmith", "pw secret", "123 456");
    await fireEvent.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByText("Not in this build.")).toBeTruthy();
    expect(backend.signInCalls).toEqual([{ username: "drsmith", password: "pw secret", totp: "123456" }]);
    // The single-use code is cleared after an attempt; nothing lands in webview storage.
    expect((screen.getByLabelText(/6-digit code/) as HTMLInputElement).value).toBe("");
    expect(localStorage.length + sessionStorage.length).toBe(0);
  });

  it("puts a field error beside its field and marks it invalid", async () => {
    const backend = mockBackend({
      signIn: {
        ok: false,
        error: { code: "invalidInput", message: "Enter your user name.", field: "username" },
      },
    });
    render(App, { backend });
    await screen.findByText("Sandbox Clinic");
    await fireEvent.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByText("Enter your user name.")).toBeTruthy();
    expect(screen.getByLabelText("User name").getAttribute("aria-invalid")).toBe("true");
  });

  it("says plainly when the network's certificate is refused, and offers a retry", async () => {
    const backend = mockBackend({
      check: {
        ok: false,
        error: { code: "certificateRejected", message: "Rounds did not send your password.", field: null },
      },
    });
    render(App, { backend });
    expect(await screen.findByText("Rounds did not send your password.")).toBeTruthy();
    expect(screen.getByRole("button", { name: "Try again" })).toBeTruthy();
  });

  it("tells the clinician what to do when no server is set up", async () => {
    render(App, { backend: mockBackend({ info: { server: null } }) });
    expect(await screen.findByTestId("no-server")).toBeTruthy();
    expect((screen.getByLabelText("User name") as HTMLInputElement).disabled).toBe(true);
  });

  it("offers the clinic's own page when the server has no MFA step, and never shows a password field", async () => {
    const backend = mockBackend({ method: "browser" });
    render(App, { backend });
    const start = await screen.findByRole("button", { name: "Sign in with your clinic's page" });
    expect(screen.queryByLabelText("Password")).toBeNull();
    await fireEvent.click(start);
    expect(await screen.findByTestId("browser-waiting")).toBeTruthy();
    expect(backend.browserCalls).toBe(1);
    await fireEvent.click(screen.getByRole("button", { name: "Cancel" }));
    expect(backend.cancelCalls).toBe(1);
  });

  it("switches to the clinic's page when the server says so, with the reason shown", async () => {
    const backend = mockBackend({
      signIn: {
        ok: false,
        error: { code: "browserSignInNeeded", message: "Your clinic signs you in on its own page.", field: null },
      },
      browser: { ok: false, error: { code: "sessionExpired", message: "Sign-in was cancelled.", field: null } },
    });
    render(App, { backend });
    await screen.findByText("Sandbox Clinic");
    await fill("drsmith", "pw", "123456");
    await fireEvent.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByText("Your clinic signs you in on its own page.")).toBeTruthy();
    await fireEvent.click(screen.getByRole("button", { name: "Sign in with your clinic's page" }));
    expect(await screen.findByText("Sign-in was cancelled.")).toBeTruthy();
  });
});
