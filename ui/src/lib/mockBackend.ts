// A scriptable stand-in for the Rust side, for fast component tests (the real window is
// covered by the WebDriver tests in tests/e2e).
import type {
  AppInfo,
  Backend,
  Outcome,
  DayView,
  PolicyView,
  ProfilesView,
  Visit,
  VisitView,
  SecurityPosture,
  ServerCheck,
  SessionState,
  SignInMethod,
  SignInRequest,
  UserSetting,
  LockView,
  ReadinessView,
  RenewPrompt,
  PasswordView,
  PasswordChangeRequest,
  UpdateView,
  Change,
} from "./backend";

export interface MockBackend extends Backend {
  /** Tells the subscribers what changed, as the core's event would. */
  emit(what: Change): void;
  /** How many subscriptions are live (a screen that forgets to unsubscribe leaks one). */
  listeners(): number;
  signInCalls: SignInRequest[];
  dayCalls: [number, number][];
  /** The cache's visits as the core would hold them (tests may change them). */
  visits: Visit[];
  visitCalls: string[];
  visit: VisitView | null;
  browserCalls: number;
  cancelCalls: number;
  settingCalls: [string, unknown][];
  /** The lock as the core would hold it; tests set it to "locked" to simulate the idle time. */
  lock: LockView;
  unlockCalls: SignInRequest[];
  activityCalls: boolean[];
  password: PasswordView;
  snoozeCalls: number;
  changeCalls: PasswordChangeRequest[];
  /** What the next change answers (default: success → signed out). */
  changeAnswer: Outcome<SessionState> | null;
  /** Readiness as the core would report it (tests set it). */
  readiness: ReadinessView[];
  readinessCalls: string[];
  /** The renewal question the core would ask now (tests set it). */
  renewAsk: RenewPrompt | null;
  /** Updates as the core would report them; tests set the state. */
  update: UpdateView;
  updateCalls: string[];
}

export const upToDate: UpdateView = {
  running: "0.1.0", mode: "channel", channel: "stable", pinnedVersion: null, locked: true,
  state: { kind: "upToDate" }, message: "Rounds 0.1.0 is up to date.", visitOpen: false, canInstallNow: false,
};

/** What the posture panel shows on a well-set-up computer (sandbox-like values). */
export const calmPosture: SecurityPosture = {
  clinic: {
    origin: "https://127.0.0.1:8443", tlsVersion: "TLS 1.3", cipherSuite: "TLS13_AES_256_GCM_SHA384",
    trustedBy: "hospitalCa", verifier: "rustls + webpki against the hospital CA bundle",
    trustRules: "osStoreAndHospitalCa", pin: "notPinned", accepted: true,
    verdict: "OK: Rounds would use this server.",
  },
  video: null,
  session: { signedIn: true, mfaAt: 1_899_999_000, until: 1_900_000_000 },
  keychain: { backend: "secret-service", reachable: true, detail: "Secret Service is unlocked and answering" },
  cache: { cipherVersion: "4.6.1 community", filePresent: true, fileEncrypted: true, keyInKeychain: true },
  policySources: [{ name: "Policy file", location: "/etc/rounds/policy.json", status: "absent", problem: null }],
  e2ee: { window: "embedded", available: true, requiredByPolicy: false, detail: "Rounds' own visit window encrypts." },
  checkedAt: 1_900_000_000,
  tookMs: 42,
};

export const okPassword: PasswordView = {
  state: "ok", dueOn: "2027-04-01", daysLeft: 120, remind: false, stage: null, graceEndsOn: null,
  minLength: 9, serverRequiresComposition: false, historyCount: 5,
};

export const samplePolicy: PolicyView = {
  managed: true,
  problem: null,
  sources: [{ name: "Policy file", location: "/etc/rounds/policy.json", status: "active", problem: null }],
  settings: [
    {
      key: "session.idle_lock_minutes",
      label: "Lock after inactivity (minutes)",
      value: "10",
      origin: { kind: "mandatory", source: "Policy file" },
      locked: true,
    },
    {
      key: "appearance.text_size",
      label: "Text size",
      value: "large",
      origin: { kind: "recommended", source: "Policy file" },
      locked: false,
    },
  ],
};

export const sampleSettings: UserSetting[] = [
  {
    key: "appearance.theme",
    label: "Theme",
    control: {
      kind: "choice",
      value: "dark",
      options: [
        { value: "system", label: "Same as my computer" },
        { value: "light", label: "Light" },
        { value: "dark", label: "Dark" },
      ],
    },
    origin: { kind: "mandatory", source: "Policy file" },
    locked: true,
  },
  {
    key: "appearance.text_size",
    label: "Text size",
    control: {
      kind: "choice",
      value: "normal",
      options: [
        { value: "normal", label: "Normal" },
        { value: "large", label: "Large" },
      ],
    },
    origin: { kind: "default" },
    locked: false,
  },
  {
    key: "notifications.sound",
    label: "Notification sound",
    control: { kind: "toggle", value: true },
    origin: { kind: "default" },
    locked: false,
  },
];

export function mockBackend(over: {
  info?: Partial<AppInfo>;
  check?: Outcome<ServerCheck>;
  signIn?: Outcome<SessionState>;
  method?: SignInMethod;
  profiles?: ProfilesView;
  /** Visits the cache holds (any day); the day view filters by [from, to). */
  visits?: Visit[];
  sync?: DayView["sync"];
  /** What the browser sign-in resolves to; a never-settling promise when absent. */
  browser?: Outcome<SessionState>;
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
    policy: samplePolicy,
    appearance: { theme: "system", textSize: "normal" },
    configProblem: null,
    ...over.info,
  };
  const signInCalls: SignInRequest[] = [];
  let profiles: ProfilesView = over.profiles ?? { profiles: [], locked: true };
  const settingCalls: [string, unknown][] = [];
  let settings = structuredClone(sampleSettings);
  const handlers = new Set<(what: Change) => void>();
  return {
    onChange(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
    emit(what) {
      for (const h of [...handlers]) h(what);
    },
    listeners: () => handlers.size,
    signInCalls,
    settingCalls,
    lock: { state: "open", user: "drsmith", idleMinutes: 15, reason: null },
    readiness: [],
    readinessCalls: [],
    renewAsk: null,
    async readinessDay() {
      return { ok: true, value: this.readiness };
    },
    async visitReadiness(id) {
      this.readinessCalls.push(id);
      const r = this.readiness.find((v) => v.appointmentId === id);
      return r
        ? { ok: true, value: r }
        : { ok: false, error: { code: "notAvailable", message: "This visit is not in the schedule.", field: null } };
    },
    async renewPrompt() {
      return { ok: true, value: this.renewAsk };
    },
    password: okPassword,
    snoozeCalls: 0,
    changeCalls: [],
    changeAnswer: null,
    async passwordStatus() {
      return { ok: true, value: this.password };
    },
    async snoozePasswordReminder() {
      this.snoozeCalls += 1;
      this.password = { ...this.password, remind: false };
      return { ok: true, value: null };
    },
    async checkNewPassword(candidate, minLength) {
      // A stand-in for the core's checker: length and one "common" word, enough for the UI.
      const problems: ("tooShort" | "common")[] = [];
      if (candidate.length < minLength) problems.push("tooShort");
      if (/password/i.test(candidate)) problems.push("common");
      const score = problems.length ? 1 : candidate.length >= 16 ? 4 : 3;
      const advice = problems.map((p) => (p === "tooShort" ? `Use at least ${minLength} characters.` : "This is a well-known password."));
      return { score, acceptable: problems.length === 0, problems, advice };
    },
    async changePassword(req) {
      this.changeCalls.push(req);
      return this.changeAnswer ?? { ok: true, value: { state: "signedOut" } };
    },
    unlockCalls: [],
    activityCalls: [],
    async lockView() {
      return this.lock;
    },
    async noteActivity(active) {
      this.activityCalls.push(active);
      return { ok: true, value: this.lock };
    },
    async lockNow() {
      this.lock = { ...this.lock, state: "locked", reason: "manual" };
      return { ok: true, value: this.lock };
    },
    async unlock(req) {
      this.unlockCalls.push(req);
      if (req.password !== "right") {
        return {
          ok: false,
          error: { code: "invalidInput", message: "The user name or password is not right.", field: "password" },
        };
      }
      this.lock = { ...this.lock, state: "open" };
      return { ok: true, value: { state: "signedIn", user: req.username, until: 1_900_000_000 } };
    },
    update: upToDate,
    updateCalls: [],
    async updateView() {
      return { ok: true, value: this.update };
    },
    async installUpdateNow() {
      this.updateCalls.push("now");
      if (this.update.visitOpen) {
        return { ok: false, error: { code: "invalidInput", message: "Updates wait until your visit ends.", field: null } };
      }
      const version = this.update.state.kind === "available" ? this.update.state.version : "?";
      this.update = {
        ...this.update, state: { kind: "installed", version }, canInstallNow: false,
        message: `Rounds ${version} is installed. It starts the next time you open Rounds.`,
      };
      return { ok: true, value: this.update };
    },
    async installUpdateAtClose() {
      this.updateCalls.push("atClose");
      if (this.update.state.kind === "available") {
        const version = this.update.state.version;
        this.update = {
          ...this.update, state: { ...this.update.state, atClose: true },
          message: `Rounds ${version} will install when you close Rounds.`,
        };
      }
      return { ok: true, value: this.update };
    },
    async restartForUpdate() {
      this.updateCalls.push("restart");
      return { ok: true, value: null };
    },
    async unlockBrowser() {
      this.lock = { ...this.lock, state: "open" };
      return { ok: true, value: { state: "signedIn", user: "drsmith", until: 1_900_000_000 } };
    },
    uiReady: async () => {},
    policyView: async () => info.policy,
    userSettings: async () => settings,
    setUserSetting: async (key, value) => {
      settingCalls.push([key, value]);
      const row = settings.find((s) => s.key === key);
      if (!row || row.locked) {
        return {
          ok: false,
          error: { code: "policyLocked", message: "Your organisation manages this setting.", field: null },
        };
      }
      settings = settings.map((s) =>
        s.key !== key
          ? s
          : {
              ...s,
              origin: { kind: "user" },
              control:
                s.control.kind === "toggle"
                  ? { kind: "toggle", value: value.kind === "toggle" ? value.value : s.control.value }
                  : { ...s.control, value: value.kind === "choice" ? value.value : s.control.value },
            },
      );
      return { ok: true, value: settings };
    },
    appInfo: async () => info,
    dayCalls: [],
    visits: over.visits ?? [],
    visitCalls: [],
    visit: null,
    async startVisit(id) {
      this.visitCalls.push(id);
      this.visit = {
        appointmentId: id, phase: "joining", moderator: true, canHost: false, participants: 0, knocking: [],
        e2ee: "notSupported", lobby: false, passwordRequired: false, failure: null, mediaUnsupported: false,
        startedAt: null, endedAt: null, badge: null,
      };
      return { ok: true, value: "embedded" };
    },
    async openVisitInBrowser(id) {
      this.visitCalls.push(`browser:${id}`);
      return { ok: true, value: "systemBrowser" };
    },
    async visitView() {
      return { ok: true, value: this.visit };
    },
    async endVisit() {
      this.visit = null;
      return { ok: true, value: null };
    },
    async securityPosture() {
      return { ok: true, value: calmPosture };
    },
    async scheduleDay(from, to) {
      this.dayCalls.push([from, to]);
      const visits = this.visits.filter((v) => v.start >= from && v.start < to);
      const sync = over.sync ?? {
        phase: "done",
        pages: 1,
        appointments: visits.length,
        skipped: 0,
        lastSynced: Math.floor(Date.now() / 1000),
        error: null,
      };
      return { ok: true, value: { visits, sync, notice: null } };
    },
    syncNow: async () => ({
      ok: true,
      value: { phase: "incremental", pages: 0, appointments: 0, skipped: 0, lastSynced: null, error: null },
    }),
    profiles: async () => profiles,
    addProfile: async (p) => {
      if (!p.serverUrl.startsWith("https://")) {
        return { ok: false, error: { code: "invalidInput", message: "Use the clinic's https address.", field: null } };
      }
      const id = p.displayName.toLowerCase().replace(/[^a-z0-9]+/g, "-");
      profiles = {
        ...profiles,
        profiles: [
          ...profiles.profiles.map((x) => ({ ...x, active: false })),
          { id, displayName: p.displayName, origin: p.serverUrl, site: p.site ?? "default", username: null, active: true },
        ],
      };
      return { ok: true, value: profiles };
    },
    switchProfile: async (id) => {
      profiles = { ...profiles, profiles: profiles.profiles.map((x) => ({ ...x, active: x.id === id })) };
      return { ok: true, value: profiles };
    },
    removeProfile: async (id) => {
      profiles = { ...profiles, profiles: profiles.profiles.filter((x) => x.id !== id) };
      return { ok: true, value: profiles };
    },
    checkServer: async () =>
      over.check ?? { ok: true, value: { origin: info.server?.origin ?? "", encrypted: true } },
    signIn: async (req) => {
      signInCalls.push(req);
      return over.signIn ?? { ok: true, value: { state: "signedIn", user: req.username, until: 1_900_000_000 } };
    },
    signInMethod: async () => ({ ok: true, value: over.method ?? "passwordAndCode" }),
    browserCalls: 0,
    cancelCalls: 0,
    async signInBrowser() {
      this.browserCalls += 1;
      return over.browser ?? new Promise<Outcome<SessionState>>(() => {});
    },
    async cancelBrowserSignIn() {
      this.cancelCalls += 1;
    },
    sessionState: async () => ({ ok: true, value: { state: "signedOut" } }),
    takeEnrollment: async () => ({
      ok: true,
      value: { user: "drjones", qrImage: "data:image/svg+xml;base64,PHN2Zy8+", manualKey: "JBSW Y3DP" },
    }),
    confirmEnrollment: async () => ({ ok: true, value: { state: "signedIn", user: "drjones", until: 1_900_000_000 } }),
    signOut: async () => ({ ok: true, value: { state: "signedOut" } }),
  };
}
