import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen } from "@testing-library/svelte";
import App from "../App.svelte";
import { mockBackend, okPassword } from "./mockBackend";
import type { PasswordView } from "./backend";

afterEach(() => cleanup());

function signedIn(password: PasswordView) {
  const backend = mockBackend();
  backend.sessionState = async () => ({ ok: true, value: { state: "signedIn", user: "drsmith", until: 1_900_000_000 } });
  backend.password = password;
  return backend;
}

async function fillChange(current: string, next: string, again: string, code: string) {
  await fireEvent.input(screen.getByLabelText("Current password"), { target: { value: current } });
  await fireEvent.input(screen.getByLabelText("New password"), { target: { value: next } });
  await fireEvent.input(screen.getByLabelText("New password again"), { target: { value: again } });
  await fireEvent.input(screen.getByLabelText(/6-digit code/), { target: { value: code } });
}

const expired: PasswordView = { ...okPassword, state: "expired", daysLeft: -3, dueOn: "2026-11-20", graceEndsOn: "2026-12-20" };
const dueSoon: PasswordView = { ...okPassword, state: "reminder", daysLeft: 5, dueOn: "2026-11-28", remind: true, stage: 7 };

describe("password rotation and change", () => {
  it("an expired password puts the change before anything else: no schedule, no way around it", async () => {
    const backend = signedIn(expired);
    render(App, { backend });
    expect(await screen.findByTestId("password-expired")).toBeTruthy();
    expect(screen.queryByTestId("signed-in")).toBeNull();
    expect(screen.queryByRole("button", { name: "Cancel" })).toBeNull();
    expect(backend.dayCalls).toEqual([]);
  });

  it("meters the new password while typing and only then lets it be sent", async () => {
    const backend = signedIn(expired);
    render(App, { backend });
    await screen.findByTestId("change-password");
    const submit = screen.getByRole("button", { name: "Change password" }) as HTMLButtonElement;
    await fillChange("old-one", "password", "password", "123456");
    expect((await screen.findByText("This is a well-known password.")).textContent).toBeTruthy();
    expect(screen.getByTestId("strength").dataset.acceptable).toBe("false");
    expect(submit.disabled).toBe(true);
    await fillChange("old-one", "quiet otter lantern meadow", "quiet otter lantern meadw", "123456");
    expect(await screen.findByText("The two new passwords are not the same.")).toBeTruthy();
    expect(submit.disabled).toBe(true);
    await fireEvent.input(screen.getByLabelText("New password again"), { target: { value: "quiet otter lantern meadow" } });
    expect(screen.getByTestId("strength").dataset.acceptable).toBe("true");
    expect(submit.disabled).toBe(false);
    await fireEvent.click(submit);
    expect(backend.changeCalls).toEqual([{ current: "old-one", new: "quiet otter lantern meadow", otp: "123456" }]);
    // Success: the clinic ended the session; sign in again, told why.
    expect((await screen.findByTestId("signin-notice")).textContent).toContain("Your password was changed");
  });

  it("shows the server's refusal beside its field and keeps the form", async () => {
    const backend = signedIn(expired);
    backend.changeAnswer = {
      ok: false,
      error: { code: "invalidInput", message: "You have used this password before.", field: "newPassword" },
    };
    render(App, { backend });
    await screen.findByTestId("change-password");
    await fillChange("old-one", "quiet otter lantern meadow", "quiet otter lantern meadow", "123456");
    await fireEvent.click(screen.getByRole("button", { name: "Change password" }));
    expect(await screen.findByText("You have used this password before.")).toBeTruthy();
    expect(screen.getByLabelText("New password").getAttribute("aria-invalid")).toBe("true");
    expect(screen.getByTestId("change-password")).toBeTruthy();
  });

  it("reminds at sign-in and as a banner, and snoozes for the day", async () => {
    const backend = signedIn(dueSoon);
    render(App, { backend });
    expect((await screen.findByTestId("password-reminder-card")).textContent).toContain("in 5 days");
    await fireEvent.click(screen.getByRole("button", { name: "Not now" }));
    expect((await screen.findByTestId("password-reminder")).dataset.days).toBe("5");
    expect(screen.getByTestId("signed-in")).toBeTruthy();
    await fireEvent.click(screen.getByRole("button", { name: "Remind me tomorrow" }));
    expect(backend.snoozeCalls).toBe(1);
    expect(screen.queryByTestId("password-reminder")).toBeNull();
  });

  it("opens the change from the header and can be cancelled when not expired", async () => {
    const backend = signedIn(okPassword);
    render(App, { backend });
    await fireEvent.click(await screen.findByTestId("open-change-password"));
    expect(await screen.findByTestId("change-password")).toBeTruthy();
    await fireEvent.click(screen.getByRole("button", { name: "Cancel" }));
    expect(await screen.findByTestId("signed-in")).toBeTruthy();
  });
});
