//! The one place where core errors become what the UI sees.
//!
//! The UI gets a closed `code` (generated into TypeScript, so it can react to `mfaRequired` or
//! `offline` without matching strings) and a sentence a tired clinician understands. The
//! technical detail goes to the (redacted) log, never to the webview.

use rounds_core::CoreError;
use rounds_core::auth::{AuthError, Field};
use rounds_core::net::NetError;
use rounds_core::policy::PolicyError;
use rounds_core::update::UpdateError;
use rounds_core::vault::VaultError;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum ErrorCode {
    InvalidInput,
    MfaRequired,
    SessionExpired,
    Offline,
    CertificateRejected,
    ServerError,
    PolicyLocked,
    PolicyInvalid,
    KeychainUnavailable,
    NotConfigured,
    NotAvailable,
    /// The server signs clinicians in on its own page (authorization code + PKCE).
    BrowserSignInNeeded,
    /// Rounds is locked: the UI shows the lock view.
    Locked,
    Internal,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct UiError {
    pub code: ErrorCode,
    pub message: String,
    /// The form field the message belongs to, when there is one.
    pub field: Option<Field>,
}

impl UiError {
    /// A window could not be opened (detail to the log only).
    pub fn window(detail: String) -> Self {
        tracing::warn!(error = %detail, "window failed");
        Self::new(
            ErrorCode::Internal,
            "Rounds could not open the visit window. Try again; tell IT if it keeps happening.",
        )
    }

    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
        }
    }
}

impl From<CoreError> for UiError {
    fn from(e: CoreError) -> Self {
        // The detail (host, verifier reason, path) is for IT; it passes the redacting logger.
        tracing::warn!(error = %e, "command failed");
        use ErrorCode as C;
        match e {
            CoreError::Auth(a) => match a {
                AuthError::InvalidInput { field, reason } => Self {
                    code: C::InvalidInput,
                    message: reason,
                    field: Some(field),
                },
                AuthError::MfaRequired => Self {
                    code: C::MfaRequired,
                    message: "Enter the 6-digit code from your authenticator app.".into(),
                    field: Some(Field::Totp),
                },
                AuthError::SessionExpired => Self::new(
                    C::SessionExpired,
                    "Your session has ended. Please sign in again.",
                ),
                AuthError::NotAvailable => Self::new(
                    C::NotAvailable,
                    "Signing in is not switched on in this preview build. Nothing was sent.",
                ),
                AuthError::WrongPassword => Self {
                    code: C::InvalidInput,
                    message: "The user name or password is not right. Please try again.".into(),
                    field: Some(Field::Password),
                },
                AuthError::WrongCode => Self {
                    code: C::InvalidInput,
                    message: "That code is not right. Enter the code your authenticator app shows now.".into(),
                    field: Some(Field::Totp),
                },
                AuthError::CodeAlreadyUsed => Self {
                    code: C::InvalidInput,
                    message: "That code was already used. Wait for the next code in your authenticator app.".into(),
                    field: Some(Field::Totp),
                },
                AuthError::AccountLocked { .. } => Self::new(
                    C::InvalidInput,
                    "Your account is locked after too many wrong attempts. Wait 15 minutes or ask IT to unlock it.",
                ),
                AuthError::PasswordExpired => Self::new(
                    C::InvalidInput,
                    "Your password has expired. Ask IT to reset it.",
                ),
                AuthError::SignInExpired => Self::new(
                    C::SessionExpired,
                    "That took too long. Please start signing in again.",
                ),
                AuthError::NoEnrollment => Self::new(
                    C::SessionExpired,
                    "Please start signing in again to set up your authenticator.",
                ),
                AuthError::BrowserSignInNeeded { .. } => Self::new(
                    C::BrowserSignInNeeded,
                    "Your clinic signs you in on its own page. Use \u{201c}Sign in with your clinic\u{2019}s page\u{201d}; your password was not sent.",
                ),
                AuthError::CallbackPortBusy { port } => Self::new(
                    C::Internal,
                    format!("Another program on this computer is using port {port}, which Rounds needs to finish signing in. Close it and try again, or tell IT."),
                ),
                AuthError::BrowserDenied => Self::new(
                    C::SessionExpired,
                    "Sign-in was declined on the clinic\u{2019}s page. Start again when you are ready.",
                ),
                AuthError::BrowserCancelled => Self::new(
                    C::SessionExpired,
                    "Sign-in was cancelled. Nothing was stored.",
                ),
                AuthError::BrowserUnavailable { .. } => Self::new(
                    C::Internal,
                    "Rounds could not open your web browser for the clinic\u{2019}s sign-in page. Tell IT that no default browser is set.",
                ),
                AuthError::ClientRejected { .. } | AuthError::Server { .. } => Self::new(
                    C::ServerError,
                    "Your clinic's server did not accept the sign-in request. Try again in a minute; tell IT if it keeps happening.",
                ),
                AuthError::Net(n) => net(n),
                AuthError::Vault(v) => Self::from(CoreError::Vault(v)),
            },
            CoreError::Net(n) => net(n),
            CoreError::Vault(v) => match v {
                VaultError::Locked { .. } => Self::new(
                    C::KeychainUnavailable,
                    "Your computer's keychain is locked. Unlock it (or sign in to your computer again) and try once more.",
                ),
                _ => Self::new(
                    C::KeychainUnavailable,
                    "Rounds cannot reach your computer's keychain, so it cannot keep you signed in safely. Ask IT to check the keychain service.",
                ),
            },
            CoreError::Policy(PolicyError::Locked { source_name, .. }) => Self::new(
                C::PolicyLocked,
                format!(
                    "Your organisation manages this setting ({source_name}), so it cannot be changed here."
                ),
            ),
            CoreError::Policy(
                PolicyError::NotUserSetting { .. } | PolicyError::BadValue { .. },
            ) => Self::new(
                C::InvalidInput,
                "That setting cannot be changed to this value.",
            ),
            CoreError::Policy(_) => Self::new(
                C::PolicyInvalid,
                "Your organisation's settings for Rounds could not be read, so safe defaults are in use. Tell IT.",
            ),
            CoreError::Config(rounds_core::config::ConfigError::Write { .. }) => Self::new(
                C::Internal,
                "Your setting could not be saved on this computer. Nothing else changed; try again, and tell IT if it keeps happening.",
            ),
            CoreError::Config(_) => Self::new(
                C::Internal,
                "Your Rounds settings file could not be read. Safe defaults are in use.",
            ),
            CoreError::InvalidProfile { reason } => Self::new(C::InvalidInput, reason),
            CoreError::NoServer => Self::new(
                C::NotConfigured,
                "No clinic server is set up on this computer. Ask IT for your clinic's Rounds settings.",
            ),
            CoreError::Schedule(e) => {
                use rounds_core::schedule::SyncErrorKind as K;
                match e.kind() {
                    K::SignIn => Self::new(
                        C::SessionExpired,
                        "Your sign-in has ended. Sign in again to see your schedule.",
                    ),
                    K::Keychain => Self::new(
                        C::KeychainUnavailable,
                        "Rounds cannot reach your computer's keychain to open your schedule. Unlock it and try again.",
                    ),
                    K::Network => Self::new(
                        C::Offline,
                        "The clinic's server cannot be reached. Your saved schedule is shown; Rounds will update it when the connection is back.",
                    ),
                    K::Cache => Self::new(
                        C::Internal,
                        "The schedule saved on this computer could not be opened. Close Rounds and open it again; tell IT if it keeps happening.",
                    ),
                    _ => Self::new(
                        C::ServerError,
                        "The clinic's server did not give Rounds your schedule. Rounds will try again shortly.",
                    ),
                }
            }
            CoreError::Video(v) => video(v),
            CoreError::Password(p) => password(p),
            CoreError::Locked => Self::new(
                C::Locked,
                "Rounds is locked. Unlock it with your password and code to see patient information.",
            ),
            CoreError::NotLocked => Self::new(C::InvalidInput, "Rounds is not locked."),
            CoreError::LockedForOther { user } => Self::new(
                C::InvalidInput,
                format!(
                    "Only {user} can unlock this session. To use Rounds as someone else, choose Sign out first."
                ),
            ),
            CoreError::Update(u) => update(u),
            CoreError::Audit(_) | CoreError::Internal(_) => Self::new(
                C::Internal,
                "Something went wrong inside Rounds. Your data is safe; please try again, and tell IT if it keeps happening.",
            ),
        }
    }
}

/// Update refusals name what failed in plain words and say the running version stays.
fn update(u: UpdateError) -> UiError {
    use ErrorCode as C;
    match u {
        UpdateError::VisitOpen => UiError::new(
            C::InvalidInput,
            "Updates wait until your visit ends. Nothing changes during a visit.",
        ),
        UpdateError::NothingToInstall | UpdateError::NotAllowed => {
            UiError::new(C::NotAvailable, "There is no update to install right now.")
        }
        UpdateError::Net(_) | UpdateError::Manifest { .. } => UiError::new(
            C::Offline,
            "Rounds could not reach the update server. This version keeps working; Rounds tries again later.",
        ),
        UpdateError::Install { .. } => UiError::new(
            C::Internal,
            "The update could not be installed. This version keeps working; tell IT if it keeps happening.",
        ),
        refused => UiError::new(
            C::ServerError,
            format!(
                "The update was refused: {refused}. This version keeps working; IT can see the detail in the log."
            ),
        ),
    }
}

fn net(n: NetError) -> UiError {
    use ErrorCode as C;
    // Every refusal below happens before a request byte is written: the sentence says so.
    match n {
        NetError::Certificate { host, .. } => UiError::new(
            C::CertificateRejected,
            format!(
                "This network is presenting a certificate for {host} that Rounds does not trust. \
                 Rounds did not send your password. Use another network, or tell IT."
            ),
        ),
        NetError::PinMismatch { host, .. } => UiError::new(
            C::CertificateRejected,
            format!(
                "This network is presenting a certificate that is not from your hospital. \
                 Rounds did not send your password. Use another network, or tell IT: \
                 the key of {host} does not match the one your hospital set."
            ),
        ),
        NetError::WeakTls { host, .. } => UiError::new(
            C::CertificateRejected,
            format!(
                "{host} only offers an outdated, insecure connection, so Rounds did not use it. \
                 Rounds did not send your password. Tell IT: the server needs TLS 1.2 or newer."
            ),
        ),
        NetError::Redirect { to, .. } => UiError::new(
            C::ServerError,
            format!(
                "Your clinic's server tried to send Rounds to another address ({to}). \
                 Rounds did not follow it and sent nothing there. Tell IT."
            ),
        ),
        NetError::CredentialOrigin { .. } => UiError::new(
            C::Internal,
            "Rounds stopped a request that would have sent your sign-in to a different server. \
             Nothing was sent. Please tell IT.",
        ),
        NetError::Connect { .. } | NetError::Timeout { .. } => UiError::new(
            C::Offline,
            "Rounds cannot reach your clinic's server. Check your network connection; you can keep working offline.",
        ),
        NetError::InsecureScheme { .. } | NetError::BadUrl { .. } | NetError::CaBundle { .. } => {
            UiError::new(
                C::PolicyInvalid,
                "The clinic server address on this computer is not a secure one, so Rounds will not use it. Tell IT.",
            )
        }
        NetError::Status { .. }
        | NetError::TooLarge { .. }
        | NetError::Decode { .. }
        | NetError::Setup(_) => UiError::new(
            C::ServerError,
            "Your clinic's server gave an answer Rounds could not use. Try again in a minute; tell IT if it keeps happening.",
        ),
    }
}

fn video(v: rounds_core::video::VideoError) -> UiError {
    use ErrorCode as C;
    use rounds_core::video::VideoError as V;
    match v {
        V::OutsideWindow { opens_at, .. } => UiError::new(
            C::InvalidInput,
            match opens_at {
                Some(_) => {
                    "This visit cannot be joined yet: it opens 15 minutes before its start. Try again then."
                }
                None => "This visit cannot be joined at this time.",
            },
        ),
        V::NotActive => UiError::new(C::InvalidInput, "This visit was cancelled or has finished."),
        V::NotAParticipant => {
            UiError::new(C::InvalidInput, "You are not a participant of this visit.")
        }
        V::NotFound => UiError::new(
            C::InvalidInput,
            "The clinic no longer has this appointment. The schedule will update.",
        ),
        V::NotOffered => UiError::new(
            C::NotAvailable,
            "This visit has no video link Rounds may open, and your clinic's server has no video service. Ask IT.",
        ),
        V::SignInAgain | V::Auth(_) => UiError::new(
            C::SessionExpired,
            "Your sign-in has ended. Sign in again to start the visit.",
        ),
        V::Untrusted { .. } => UiError::new(
            C::CertificateRejected,
            "The clinic's video service failed Rounds' security checks, so the visit was not opened. Tell IT.",
        ),
        V::DomainNotAllowed { domain } => UiError::new(
            C::NotAvailable,
            format!(
                "This visit's video link goes to {domain}, which your organisation has not approved for video visits, so it was not opened. Ask IT to allow that server, or contact the patient another way."
            ),
        ),
        V::BadLink(problem) => UiError::new(
            C::ServerError,
            format!(
                "This visit cannot be opened: {problem}. Ask the clinic to correct the appointment."
            ),
        ),
        V::Net(n) => net(n),
        V::ServerBusy { .. } | V::Server { .. } | V::BadAnswer { .. } => UiError::new(
            C::ServerError,
            "The clinic's server did not give Rounds the video room. Try again in a minute; tell IT if it keeps happening.",
        ),
        V::BadAppointmentId | V::Page(_) | V::NotAvailable => UiError::new(
            C::Internal,
            "Rounds could not start this visit. Try again; tell IT if it keeps happening.",
        ),
    }
}

/// The change-password form's refusals, each beside its field where it has one.
fn password(e: rounds_core::app::PasswordChangeError) -> UiError {
    use ErrorCode as C;
    use rounds_core::app::PasswordChangeError as P;
    let at = |field: Field, message: String| UiError {
        code: C::InvalidInput,
        message,
        field: Some(field),
    };
    match e {
        P::WeakLocally { .. } => at(
            Field::NewPassword,
            "This new password is too easy to guess. Follow the advice under the field; nothing was sent.".into(),
        ),
        P::WrongCurrentPassword => at(
            Field::Password,
            "Your current password is not right. Your password was not changed.".into(),
        ),
        P::CodeRequired => at(
            Field::Totp,
            "Enter the 6-digit code from your authenticator app.".into(),
        ),
        P::WrongCode => at(
            Field::Totp,
            "That code is not right or was already used. Enter the code your authenticator app shows now.".into(),
        ),
        P::TooWeak { violations } => {
            let mut why: Vec<&str> = Vec::new();
            for v in &violations {
                why.push(match v.as_str() {
                    "min_length" => "it is shorter than the clinic allows",
                    "max_length" => "it is longer than the clinic allows",
                    _ => "the clinic also asks for a digit, a capital and a small letter, and a symbol",
                });
            }
            at(
                Field::NewPassword,
                format!("The clinic's server did not accept this password: {}. Your password was not changed.", why.join("; ")),
            )
        }
        P::Reused { history_count } => at(
            Field::NewPassword,
            format!("You have used this password before. Choose one that is not among your last {history_count}."),
        ),
        P::AccountLocked => UiError::new(
            C::InvalidInput,
            "Your account is locked after too many wrong attempts. Wait 15 minutes or ask IT to unlock it.",
        ),
        P::NotSupported => UiError::new(
            C::NotAvailable,
            "Your clinic's server does not let Rounds change passwords. Change it on the clinic's own web page.",
        ),
        P::SessionExpired => UiError::new(
            C::SessionExpired,
            "Your session has ended. Sign in again, then change your password.",
        ),
        P::Server { .. } => UiError::new(
            C::ServerError,
            "The clinic's server could not change your password just now. Nothing was changed; try again in a few minutes.",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_refusal_says_nothing_was_sent() {
        let e: UiError = CoreError::Net(NetError::Certificate {
            host: "https://emr.example.org".into(),
            detail: "UnknownIssuer".into(),
        })
        .into();
        assert_eq!(e.code, ErrorCode::CertificateRejected);
        assert!(e.message.contains("did not send your password"));
        assert!(
            !e.message.contains("UnknownIssuer"),
            "detail is for the log"
        );
    }
}
