// A scriptable stand-in for the Rust side, for fast component tests (the real window is
// covered by the WebDriver tests in tests/e2e).
import type { AppInfo, Backend, Outcome, ServerCheck, SessionState, SignInRequest } from "./backend";

export interface MockBackend extends Backend {
  signInCalls: SignInRequest[];
}

export function mockBackend(over: {
  info?: Partial<AppInfo>;
  check?: Outcome<ServerCheck>;
  signIn?: Outcome<SessionState>;
} = {}): MockBackend {
  const info: AppInfo = {
    version: "0.0.0-test",
    server: {
      displayName: "Sandbox Clinic",
      origin: "https://127.0.0.1:8443",
      host: "127.0.0.1",
      site: "default",
      managed: true,
      username: null,
    },
    policy: { status: "active", path: "/etc/rounds/policy.json", problem: null },
    configProblem: null,
    ...over.info,
  };
  const signInCalls: SignInRequest[] = [];
  return {
    signInCalls,
    uiReady: async () => {},
    appInfo: async () => info,
    checkServer: async () =>
      over.check ?? { ok: true, value: { origin: info.server?.origin ?? "", encrypted: true } },
    signIn: async (req) => {
      signInCalls.push(req);
      return over.signIn ?? { ok: true, value: { signedIn: true, username: req.username } };
    },
  };
}
