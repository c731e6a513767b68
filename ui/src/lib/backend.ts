// The one module of the UI that talks to the Rust side (through the generated bindings).
// Everything else receives a `Backend`, so components are tested against a mock and can never
// reach Tauri APIs directly. A check in `architecture.test.ts` keeps it that way.
import {
  commands,
  events,
  type Change,
  type AppInfo_Serialize,
  type DayView_Serialize,
  type EnrollmentView,
  type SyncErrorKind,
  type SyncProgress_Serialize,
  type Visit_Serialize,
  type VisitView_Serialize,
  type SecurityPosture_Serialize,
  type ConnectionPosture_Serialize,
  type NewProfile_Deserialize,
  type ProfilesView_Serialize,
  type Origin,
  type PolicyView_Serialize,
  type SettingValue,
  type SettingView,
  type SourceReport_Serialize,
  type UserSetting,
  type ErrorCode,
  type Field,
  type LockView,
  type ReadinessView_Serialize,
  type RenewPrompt,
  type PasswordChangeRequest,
  type PasswordView_Serialize,
  type Problem,
  type Strength,
  type ServerCheck,
  type ServerInfo_Serialize,
  type SessionState,
  type SignInMethod,
  type SignInRequest,
  type UiError_Serialize,
  type VisitWindowKind,
  type UpdateView,
  type PageMarks,
} from "./bindings";

// The generated file offers each Rust type as sent (`_Serialize`) and as accepted
// (`_Deserialize`); the UI only ever receives, so it names the sent shapes.
export type AppInfo = AppInfo_Serialize;
export type ServerInfo = ServerInfo_Serialize;
export type UiError = UiError_Serialize;
export type PolicyView = PolicyView_Serialize;
export type SourceReport = SourceReport_Serialize;
export type ProfilesView = ProfilesView_Serialize;
export type DayView = DayView_Serialize;
export type SyncProgress = SyncProgress_Serialize;
export type Visit = Visit_Serialize;
export type VisitView = VisitView_Serialize;
export type PasswordView = PasswordView_Serialize;
export type ReadinessView = ReadinessView_Serialize;
export type ReadinessCheck = ReadinessView_Serialize["checks"][number];
export type { RenewPrompt };
export type SecurityPosture = SecurityPosture_Serialize;
export type ConnectionPosture = ConnectionPosture_Serialize;
export type { SyncErrorKind };
// Sent by the UI: the shape the Rust side accepts.
export type NewProfile = NewProfile_Deserialize;
export type {
  Change,
  PageMarks,
  EnrollmentView,
  ErrorCode,
  Field,
  LockView,
  Origin,
  PasswordChangeRequest,
  Problem,
  Strength,
  ServerCheck,
  SessionState,
  SettingValue,
  SignInMethod,
  SettingView,
  SignInRequest,
  UpdateView,
  UserSetting,
  VisitWindowKind,
};

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: UiError };

export interface Backend {
  /** Calls `handler` with what changed in the core (never the state itself: re-read it with
   * the commands below); returns the unsubscribe. The UI's one way to learn of a change:
   * nothing in the UI polls the core (see follow.ts). */
  onChange(handler: (what: Change) => void): () => void;
  appInfo(): Promise<AppInfo>;
  checkServer(): Promise<Outcome<ServerCheck>>;
  signIn(request: SignInRequest): Promise<Outcome<SessionState>>;
  /** Rounds' own form, or the clinic's page in the browser (servers without the MFA step). */
  signInMethod(): Promise<Outcome<SignInMethod>>;
  /** Opens the clinic's page in the system browser; resolves when the clinician is done there. */
  signInBrowser(): Promise<Outcome<SessionState>>;
  cancelBrowserSignIn(): Promise<void>;
  sessionState(): Promise<Outcome<SessionState>>;
  /** The authenticator to set up, once (then null). */
  takeEnrollment(): Promise<Outcome<EnrollmentView | null>>;
  confirmEnrollment(code: string): Promise<Outcome<SessionState>>;
  signOut(): Promise<Outcome<SessionState>>;
  policyView(): Promise<PolicyView>;
  /** One local day `[from, to)` (unix seconds) from the encrypted cache, with the sync state. */
  scheduleDay(from: number, to: number): Promise<Outcome<DayView>>;
  /** Sync now ("Try now"); returns at once with the progress. */
  syncNow(): Promise<Outcome<SyncProgress>>;
  /** Opens the visit for a video appointment (ticket, security checks, page) in the best
   * window here; says which. */
  startVisit(appointmentId: string): Promise<Outcome<VisitWindowKind>>;
  /** The same visit in the system browser. */
  openVisitInBrowser(appointmentId: string): Promise<Outcome<VisitWindowKind>>;
  /** The running visit as the core follows it; null when none. */
  visitView(): Promise<Outcome<VisitView | null>>;
  /** The security posture panel: TLS, trust, pins, sign-in time, keychain, cache, E2EE here. */
  securityPosture(): Promise<Outcome<SecurityPosture>>;
  endVisit(): Promise<Outcome<null>>;
  /** Readiness of the day's video visits starting within 10 minutes, as last checked. */
  readinessDay(from: number, to: number): Promise<Outcome<ReadinessView[]>>;
  /** Checks one visit now (the readiness panel). */
  visitReadiness(appointmentId: string): Promise<Outcome<ReadinessView>>;
  /** Whether to ask for a fresh sign-in now, so the session lasts through the next visit. */
  renewPrompt(): Promise<Outcome<RenewPrompt | null>>;
  /** Clinic accounts on this computer. */
  profiles(): Promise<ProfilesView>;
  addProfile(profile: NewProfile): Promise<Outcome<ProfilesView>>;
  switchProfile(id: string): Promise<Outcome<ProfilesView>>;
  /** Also deletes the account's keychain items. */
  removeProfile(id: string): Promise<Outcome<ProfilesView>>;
  userSettings(): Promise<UserSetting[]>;
  setUserSetting(key: string, value: SettingValue): Promise<Outcome<UserSetting[]>>;
  /** Tells the core the first screen has painted (startup timing in the log). */
  uiReady(marks: PageMarks): Promise<void>;
  /** Password age and reminder state, from the clinic ("unknown" where it cannot say). */
  passwordStatus(): Promise<Outcome<PasswordView>>;
  /** "Remind me tomorrow". */
  snoozePasswordReminder(): Promise<Outcome<null>>;
  /** The strength meter: the verdict only, never the password back. */
  checkNewPassword(candidate: string, minLength: number): Promise<Strength>;
  /** Current + new password + code; on success the session ends (sign in again). */
  changePassword(request: PasswordChangeRequest): Promise<Outcome<SessionState>>;
  /** The idle lock's state. */
  lockView(): Promise<LockView>;
  /** Reports whether there was input since the last report; the answer may be "locked". */
  noteActivity(active: boolean): Promise<Outcome<LockView>>;
  /** "Lock now". */
  lockNow(): Promise<Outcome<LockView>>;
  /** A full sign-in of the locked clinician (password + code). */
  unlock(request: SignInRequest): Promise<Outcome<SessionState>>;
  /** Unlock on the clinic's own page (servers without the MFA step). */
  unlockBrowser(): Promise<Outcome<SessionState>>;
  /** Where updates stand under IT's policy (no request to any server). */
  updateView(): Promise<Outcome<UpdateView>>;
  /** Download, verify and install the offered update now (refused during a visit). */
  installUpdateNow(): Promise<Outcome<UpdateView>>;
  /** Download and verify now; install when Rounds closes. */
  installUpdateAtClose(): Promise<Outcome<UpdateView>>;
  /** Restart into the installed version (refused during a visit). */
  restartForUpdate(): Promise<Outcome<null>>;
}

/** A failure of the bridge itself (not of a command): never shown as raw text. */
function bridgeError(): UiError {
  return {
    code: "internal",
    message: "Rounds could not complete that step. Please try again.",
    field: null,
  };
}

async function call<T>(
  run: () => Promise<{ status: "ok"; data: T } | { status: "error"; error: UiError }>,
): Promise<Outcome<T>> {
  try {
    const r = await run();
    return r.status === "ok" ? { ok: true, value: r.data } : { ok: false, error: r.error };
  } catch {
    return { ok: false, error: bridgeError() };
  }
}

export const tauriBackend: Backend = {
  onChange: (handler) => {
    let stop: (() => void) | null = null;
    let gone = false;
    events.coreChanged
      .listen((e) => handler(e.payload.what))
      .then((unlisten) => (gone ? unlisten() : (stop = unlisten)))
      .catch(() => {
        // No event bridge (never in the app): the screens still answer their own actions.
      });
    return () => {
      gone = true;
      stop?.();
    };
  },
  appInfo: () => commands.appInfo(),
  checkServer: () => call(() => commands.checkServer()),
  signIn: (request) => call(() => commands.signIn(request)),
  signInMethod: () => call(() => commands.signInMethod()),
  signInBrowser: () => call(() => commands.signInBrowser()),
  cancelBrowserSignIn: async () => {
    try {
      await commands.cancelBrowserSignIn();
    } catch {
      // The wait ends on its own (timeout); nothing to tell the clinician here.
    }
  },
  sessionState: () => call(() => commands.sessionState()),
  takeEnrollment: () => call(() => commands.takeEnrollment()),
  confirmEnrollment: (code) => call(() => commands.confirmEnrollment({ code })),
  signOut: () => call(() => commands.signOut()),
  policyView: () => commands.policyView(),
  profiles: () => commands.profiles(),
  scheduleDay: (from, to) => call(() => commands.scheduleDay(from, to)),
  syncNow: () => call(() => commands.syncNow()),
  // This webview's engine is the visit window's: whether it has WebRTC decides if the visit
  // can run in Rounds' own window or needs the app window (Linux's WebKitGTK has none).
  startVisit: (id) => call(() => commands.startVisit(id, typeof globalThis.RTCPeerConnection === "function")),
  openVisitInBrowser: (id) => call(() => commands.openVisitInBrowser(id)),
  visitView: () => call(() => commands.visitView()),
  endVisit: () => call(() => commands.endVisit()),
  // Readiness asks the same engine question as startVisit (which window the visit gets).
  readinessDay: (from, to) =>
    call(() => commands.readinessDay(from, to, typeof globalThis.RTCPeerConnection === "function")),
  visitReadiness: (id) =>
    call(() => commands.visitReadiness(id, typeof globalThis.RTCPeerConnection === "function")),
  renewPrompt: () => call(() => commands.renewPrompt()),
  // Same engine question as startVisit: which window (and so E2EE) a visit would get here.
  securityPosture: () =>
    call(() => commands.securityPosture(typeof globalThis.RTCPeerConnection === "function")),
  addProfile: (profile) => call(() => commands.addProfile(profile)),
  switchProfile: (id) => call(() => commands.switchProfile(id)),
  removeProfile: (id) => call(() => commands.removeProfile(id)),
  userSettings: () => commands.userSettings(),
  setUserSetting: (key, value) => call(() => commands.setUserSetting(key, value)),
  passwordStatus: () => call(() => commands.passwordStatus()),
  snoozePasswordReminder: () => call(() => commands.snoozePasswordReminder()),
  checkNewPassword: (candidate, minLength) => commands.checkNewPassword(candidate, minLength),
  changePassword: (request) => call(() => commands.changePassword(request)),
  lockView: () => commands.lockView(),
  noteActivity: (active) => call(() => commands.noteActivity(active)),
  lockNow: () => call(() => commands.lockNow()),
  unlock: (request) => call(() => commands.unlock(request)),
  unlockBrowser: () => call(() => commands.unlockBrowser()),
  updateView: () => call(() => commands.updateView()),
  installUpdateNow: () => call(() => commands.installUpdateNow()),
  installUpdateAtClose: () => call(() => commands.installUpdateAtClose()),
  restartForUpdate: () => call(() => commands.restartForUpdate()),
  uiReady: async (marks) => {
    try {
      await commands.uiReady(marks);
    } catch {
      // Timing only: never worth bothering the clinician about.
    }
  },
};
