//! The command table: every call the UI can make. Each one only translates to the core.

use crate::error::UiError;
use rounds_core::Core;
use rounds_core::app::{
    AppInfo, DayView, EnrollmentCode, EnrollmentView, LockView, NewProfile, PasswordChangeRequest,
    PasswordView, PolicyView, ProfilesView, ServerCheck, SessionState, SettingValue, UserSetting,
};
use rounds_core::app::{VisitWindowKind, VisitWindowRequest};
use rounds_core::auth::{SignInMethod, SignInRequest};
use rounds_core::password::Strength;
use rounds_core::schedule::SyncProgress;
use rounds_core::secret::Secret;
use rounds_core::video::VisitView;
use tauri::State;

/// What the sign-in screen needs: version, clinic server, policy state.
#[tauri::command]
#[specta::specta]
pub fn app_info(core: State<'_, Core>) -> AppInfo {
    core.app_info()
}

/// Reaches the clinic server over a verified TLS connection, sending no credential.
#[tauri::command]
#[specta::specta]
pub async fn check_server(core: State<'_, Core>) -> Result<ServerCheck, UiError> {
    Ok(core.check_server().await?)
}

/// Password + TOTP sign-in. The secrets arrive here and never go back to the webview.
#[tauri::command]
#[specta::specta]
pub async fn sign_in(
    core: State<'_, Core>,
    request: SignInRequest,
) -> Result<SessionState, UiError> {
    Ok(core.sign_in(request).await?)
}

/// The authenticator to set up, once: the QR code and the key for typing by hand. The one
/// secret that goes to the webview, because the clinician must see it to enroll.
/// Which sign-in the clinic's server needs: Rounds' own form, or the clinic's page.
#[tauri::command]
#[specta::specta]
pub async fn sign_in_method(core: State<'_, Core>) -> Result<SignInMethod, UiError> {
    Ok(core.sign_in_method().await?)
}

/// Opens the clinic's sign-in page in the system browser and waits until the clinician has
/// finished there (or cancels).
#[tauri::command]
#[specta::specta]
pub async fn sign_in_browser(core: State<'_, Core>) -> Result<SessionState, UiError> {
    Ok(core.sign_in_browser(crate::browser::open).await?)
}

#[tauri::command]
#[specta::specta]
pub fn cancel_browser_sign_in(core: State<'_, Core>) {
    core.cancel_browser_sign_in();
}

/// Clinic accounts on this computer, and whether policy fixes the server.
#[tauri::command]
#[specta::specta]
pub fn profiles(core: State<'_, Core>) -> ProfilesView {
    core.profiles()
}

#[tauri::command]
#[specta::specta]
pub fn add_profile(core: State<'_, Core>, profile: NewProfile) -> Result<ProfilesView, UiError> {
    Ok(core.add_profile(profile)?)
}

#[tauri::command]
#[specta::specta]
pub fn switch_profile(core: State<'_, Core>, id: String) -> Result<ProfilesView, UiError> {
    Ok(core.switch_profile(&id)?)
}

/// Removes a clinic account and deletes its keychain items.
#[tauri::command]
#[specta::specta]
pub async fn remove_profile(core: State<'_, Core>, id: String) -> Result<ProfilesView, UiError> {
    Ok(core.remove_profile(&id).await?)
}

#[tauri::command]
#[specta::specta]
pub fn take_enrollment(core: State<'_, Core>) -> Result<Option<EnrollmentView>, UiError> {
    Ok(core.enrollment_view()?)
}

/// The first code from the newly set-up authenticator: confirms it and signs in.
#[tauri::command]
#[specta::specta]
pub async fn confirm_enrollment(
    core: State<'_, Core>,
    request: EnrollmentCode,
) -> Result<SessionState, UiError> {
    Ok(core.confirm_enrollment(request.code).await?)
}

/// One click: the session and the refresh token leave the keychain.
#[tauri::command]
#[specta::specta]
pub async fn sign_out(
    app: tauri::AppHandle,
    core: State<'_, Core>,
) -> Result<SessionState, UiError> {
    // The visit window goes first: nothing of the visit stays on screen after sign-out.
    crate::visit::close(&app);
    Ok(core.sign_out().await?)
}

/// One local day of the schedule (`[from, to)`, unix seconds), from the encrypted cache.
#[tauri::command]
#[specta::specta]
pub async fn schedule_day(core: State<'_, Core>, from: u32, to: u32) -> Result<DayView, UiError> {
    Ok(core.schedule_day(from.into(), to.into()).await?)
}

/// Starts the video visit of an appointment in the best window here: Rounds' visit window
/// when this webview can carry the call (`embedded_media`, from the main window: same
/// engine), else the Chromium-family app window (Linux), else the default browser.
#[tauri::command]
#[specta::specta]
pub async fn start_visit(
    app: tauri::AppHandle,
    core: State<'_, Core>,
    appointment_id: String,
    embedded_media: bool,
) -> Result<VisitWindowKind, UiError> {
    crate::visit::close(&app);
    let open = core
        .start_visit(
            &appointment_id,
            Some(crate::notify::knock_notice()),
            VisitWindowRequest::Auto { embedded_media },
        )
        .await?;
    crate::visit::show(&app, open).map_err(UiError::window)
}

/// The same visit in the system browser ("Open in browser").
#[tauri::command]
#[specta::specta]
pub async fn open_visit_in_browser(
    app: tauri::AppHandle,
    core: State<'_, Core>,
    appointment_id: String,
) -> Result<VisitWindowKind, UiError> {
    crate::visit::close(&app);
    let open = core
        .start_visit(
            &appointment_id,
            Some(crate::notify::knock_notice()),
            VisitWindowRequest::SystemBrowser,
        )
        .await?;
    crate::visit::show(&app, open).map_err(UiError::window)
}

/// The running visit as the core follows it (no token, no room).
#[tauri::command]
#[specta::specta]
pub async fn visit_view(core: State<'_, Core>) -> Result<Option<VisitView>, UiError> {
    Ok(core.visit_view().await)
}

#[tauri::command]
#[specta::specta]
pub async fn end_visit(app: tauri::AppHandle, core: State<'_, Core>) -> Result<(), UiError> {
    crate::visit::close(&app);
    core.end_visit().await;
    Ok(())
}

/// "Try now": sync the schedule right away.
#[tauri::command]
#[specta::specta]
pub async fn sync_now(core: State<'_, Core>) -> Result<SyncProgress, UiError> {
    Ok(core.sync_now().await?)
}

/// "Managed by your organisation": every policy source and every setting it sets.
#[tauri::command]
#[specta::specta]
pub fn policy_view(core: State<'_, Core>) -> PolicyView {
    core.policy_view()
}

/// The user's own settings, with the ones policy locks marked.
#[tauri::command]
#[specta::specta]
pub fn user_settings(core: State<'_, Core>) -> Vec<UserSetting> {
    core.user_settings()
}

/// Changes one user setting; refused with `policyLocked` when IT set it.
#[tauri::command]
#[specta::specta]
pub fn set_user_setting(
    core: State<'_, Core>,
    key: String,
    value: SettingValue,
) -> Result<Vec<UserSetting>, UiError> {
    Ok(core.set_user_setting(&key, value.into_json())?)
}

/// The password's age and whether to remind (from the clinic; `unknown` where it cannot say).
#[tauri::command]
#[specta::specta]
pub async fn password_status(core: State<'_, Core>) -> Result<PasswordView, UiError> {
    Ok(core.password_status().await?)
}

/// "Remind me tomorrow".
#[tauri::command]
#[specta::specta]
pub fn snooze_password_reminder(core: State<'_, Core>) -> Result<(), UiError> {
    Ok(core.snooze_password_reminder()?)
}

/// The strength meter, on every keystroke: the candidate comes in, only the verdict goes out.
#[tauri::command]
#[specta::specta]
pub fn check_new_password(core: State<'_, Core>, candidate: String, min_length: u32) -> Strength {
    core.check_new_password(&Secret::new(candidate), min_length as usize)
}

/// Current + new password + code to the clinic; on success the session ends (sign in again).
#[tauri::command]
#[specta::specta]
pub async fn change_password(
    app: tauri::AppHandle,
    core: State<'_, Core>,
    request: PasswordChangeRequest,
) -> Result<SessionState, UiError> {
    let PasswordChangeRequest { current, new, otp } = request;
    let s = core.change_password(current, new, Some(otp)).await?;
    crate::visit::close(&app);
    Ok(s)
}

/// The lock's state (the UI asks on start and after its activity reports).
#[tauri::command]
#[specta::specta]
pub fn lock_view(core: State<'_, Core>) -> LockView {
    core.lock_view()
}

/// The UI saw input since its last report; the core also checks the idle time here, so the
/// answer may already be "locked".
#[tauri::command]
#[specta::specta]
pub async fn note_activity(
    app: tauri::AppHandle,
    core: State<'_, Core>,
    active: bool,
) -> Result<LockView, UiError> {
    if active {
        core.note_activity();
    }
    if let Some(ev) = core.idle_tick().await {
        crate::lock::apply(&app, ev);
    }
    Ok(core.lock_view())
}

/// "Lock now" (the clinician steps away).
#[tauri::command]
#[specta::specta]
pub async fn lock_now(app: tauri::AppHandle, core: State<'_, Core>) -> Result<LockView, UiError> {
    if let Some(ev) = core.lock_now().await {
        crate::lock::apply(&app, ev);
    }
    Ok(core.lock_view())
}

/// Unlocks with password + code: a full sign-in of the locked clinician at the clinic.
#[tauri::command]
#[specta::specta]
pub async fn unlock(
    app: tauri::AppHandle,
    core: State<'_, Core>,
    request: SignInRequest,
) -> Result<SessionState, UiError> {
    let s = core.unlock(request).await?;
    crate::lock::reveal(&app);
    Ok(s)
}

/// Unlocks on the clinic's own page in the system browser.
#[tauri::command]
#[specta::specta]
pub async fn unlock_browser(
    app: tauri::AppHandle,
    core: State<'_, Core>,
) -> Result<SessionState, UiError> {
    let s = core.unlock_browser(crate::browser::open).await?;
    crate::lock::reveal(&app);
    Ok(s)
}

/// When the process started, to report how long the first screen took.
pub struct Started(pub std::time::Instant);

/// The UI calls this once its first screen has painted (two animation frames after mount).
/// The time goes to the log; `ROUNDS_REPORT_STARTUP=1` also prints it for the footprint bench.
/// Where the page's first screen spent its time, in ms since the page's navigation began: the
/// script running, the app's facts back, the session state back (for the startup log only).
#[derive(Debug, Clone, serde::Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct PageMarks {
    pub script: u32,
    pub info: u32,
    pub session: u32,
    pub painted: u32,
}

#[tauri::command]
#[specta::specta]
pub fn ui_ready(started: State<'_, Started>, marks: PageMarks) {
    let ms = started.0.elapsed().as_millis();
    tracing::info!(
        ms,
        page_script = marks.script,
        page_info = marks.info,
        page_session = marks.session,
        page_painted = marks.painted,
        "first screen painted"
    );
    if std::env::var_os("ROUNDS_REPORT_STARTUP").is_some() {
        let epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default();
        println!("READY {epoch}");
    }
}

/// The typed builder shared by the app and by the bindings export test.
pub fn specta_builder() -> tauri_specta::Builder<tauri::Wry> {
    tauri_specta::Builder::<tauri::Wry>::new()
        .events(tauri_specta::collect_events![crate::events::CoreChanged])
        .commands(tauri_specta::collect_commands![
            crate::posture::security_posture,
            app_info,
            check_server,
            sign_in,
            sign_in_method,
            sign_in_browser,
            cancel_browser_sign_in,
            profiles,
            add_profile,
            switch_profile,
            remove_profile,
            schedule_day,
            sync_now,
            start_visit,
            open_visit_in_browser,
            visit_view,
            end_visit,
            crate::startup::session_state,
            sign_out,
            take_enrollment,
            confirm_enrollment,
            ui_ready,
            policy_view,
            user_settings,
            set_user_setting,
            password_status,
            snooze_password_reminder,
            check_new_password,
            change_password,
            lock_view,
            note_activity,
            lock_now,
            unlock,
            unlock_browser,
            crate::readiness::readiness_day,
            crate::readiness::visit_readiness,
            crate::readiness::renew_prompt,
            crate::updates::update_view,
            crate::updates::check_update,
            crate::updates::install_update_now,
            crate::updates::install_update_at_close,
            crate::updates::restart_for_update
        ])
}
