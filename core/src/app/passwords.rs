//! Password age and the password change (issue 10) against the clinic's D3 endpoints
//! (clinic-api §2.2–2.3). Rounds never changes a password by itself: the UI shows the state
//! ([`PasswordView`]) and the clinician changes it with current + new password + code.
//!
//! - [`Core::password_status`]: server status + IT policy + the snooze → [`PasswordView`].
//! - [`Core::snooze_password_reminder`]: hides the reminder for the rest of the local day
//!   (stored per profile + user in the settings file; an expired password is never snoozed).
//! - [`Core::check_new_password`]: the strength meter (NIST-style, [`crate::password::check`]).
//! - [`Core::change_password`]: refused locally when weak (nothing sent); else sent; on
//!   success the server revoked every refresh token, so the app discards its own and the
//!   clinician signs in again with the new password.
//!
//! (Named `passwords`, not `password`: the log line `…::password: …` would read to the
//! redacting logger like a `password:` value.)

use super::Core;
use super::session::flat;
use crate::auth::{AuthError, KeychainTokens, SessionState};
use crate::error::CoreError;
use crate::net::{Credential, JsonReply, NetError, SecretJson, Url, origin};
use crate::password::Strength;
use crate::rotation::{self, Rotation, RotationState, ServerStatus};
use crate::schedule::TokenSource;
use crate::secret::Secret;
use serde::Serialize;
use serde_json::Value;
use time::{OffsetDateTime, UtcOffset};

pub use crate::password::PasswordChangeError;

/// Never ask for less than this, whatever policy or server say (NIST SP 800-63B).
const FLOOR: u32 = 8;

/// The password's state for the UI. Nothing secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct PasswordView {
    pub state: RotationState,
    /// Local date the password is due, `YYYY-MM-DD`.
    pub due_on: Option<String>,
    /// Whole local calendar days to `due_on` (≤ 0 once due).
    pub days_left: Option<i32>,
    /// Show the reminder (at sign-in and as a banner) now.
    pub remind: bool,
    /// The reminder day that applies (14, 7, 3, 1 by default).
    pub stage: Option<u16>,
    /// Local date after which the server refuses sign-in.
    pub grace_ends_on: Option<String>,
    /// Shortest new password accepted: the larger of IT policy's and the server's, at least 8.
    pub min_length: u32,
    /// The server also demands a digit, a lower- and an upper-case letter and a symbol
    /// (OpenEMR's `secure_password`); the UI says so beside the new-password field.
    pub server_requires_composition: bool,
    /// How many previous passwords the server refuses.
    pub history_count: u32,
}

/// What the change-password form sends (secrets in [`Secret`]s, dropped after use).
#[derive(Debug, serde::Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct PasswordChangeRequest {
    #[specta(type = String)]
    pub current: Secret,
    #[specta(type = String)]
    pub new: Secret,
    /// Empty when the account has no authenticator (clinic page sign-in).
    #[specta(type = String)]
    pub otp: Secret,
}

/// The server's `error` code when it is a plain word (never arbitrary server text).
fn error_code(body: &Value) -> &str {
    match body.get("error").and_then(Value::as_str) {
        Some(s)
            if (1..=64).contains(&s.len())
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') =>
        {
            s
        }
        Some(_) => "unreadable",
        None => "none",
    }
}

/// A reply of the change endpoint → the error it means (`None` for success).
fn change_error(r: &JsonReply) -> Option<PasswordChangeError> {
    use PasswordChangeError as E;
    let code = error_code(&r.body);
    let e = match (r.status, code) {
        (200..=299, _) => return None,
        (403, "invalid_current_password") => E::WrongCurrentPassword,
        (403, "otp_required") => E::CodeRequired,
        (403, "invalid_otp") => E::WrongCode,
        (400, "password_too_weak") => E::TooWeak {
            violations: r
                .body
                .get("violations")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .filter(|v| matches!(*v, "min_length" | "max_length" | "strength"))
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
        },
        (400, "password_reused") => E::Reused {
            history_count: r
                .body
                .get("history_count")
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(0),
        },
        (423, _) | (_, "account_locked") => E::AccountLocked,
        (404, _) => E::NotSupported,
        (401, _) => E::SessionExpired,
        (status, _) => E::Server { status },
    };
    Some(e)
}

/// `{origin}/apis/{site}/clinic/password/{leaf}` after checking `site`.
fn endpoint(server: &Url, site: &str, leaf: &str) -> Result<Url, CoreError> {
    let site_ok = !site.is_empty()
        && site.len() <= 64
        && site
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    let bad = |detail: String| {
        CoreError::Net(NetError::BadUrl {
            url: origin(server),
            detail,
        })
    };
    if !site_ok {
        return Err(bad("the site id is not valid".into()));
    }
    Url::parse(&format!(
        "{}/apis/{site}/clinic/password/{leaf}",
        origin(server)
    ))
    .map_err(|e| bad(e.to_string()))
}

/// The computer's UTC offset now (chrono reads the zone; `time` cannot, safely, in a
/// multi-threaded process on Unix).
fn system_offset() -> UtcOffset {
    let secs = chrono::Local::now().offset().local_minus_utc();
    UtcOffset::from_whole_seconds(secs).unwrap_or(UtcOffset::UTC)
}

/// Settings-file key of the snooze: profile id and user name.
fn snooze_key(profile: &str, user: &str) -> String {
    format!("{profile}/{user}")
}

/// A clock for tests: returns "now" with the local offset to use.
pub(super) type TestClock = std::sync::Arc<dyn Fn() -> OffsetDateTime + Send + Sync>;

impl Core {
    /// Replaces the system clock (and local offset) for the password rotation logic: `f`
    /// returns "now" in the offset to treat as local. Tests only; real builds use the system
    /// clock and the computer's time zone.
    pub fn set_clock_for_tests(&self, f: impl Fn() -> OffsetDateTime + Send + Sync + 'static) {
        if let Ok(mut c) = self.clock.write() {
            *c = Some(std::sync::Arc::new(f));
        }
    }

    /// Now, in the local offset.
    fn now_local(&self) -> OffsetDateTime {
        let test = self.clock.read().ok().and_then(|c| c.clone());
        match test {
            Some(f) => f(),
            None => OffsetDateTime::now_utc().to_offset(system_offset()),
        }
    }

    /// A Bearer GET, renewing the token once when refused with 401. `Ok(None)` for 404.
    async fn get_with_renewal(
        &self,
        tokens: &KeychainTokens,
        server: &Url,
        url: &Url,
    ) -> Result<Option<Value>, CoreError> {
        let token = tokens.token().await.map_err(flat)?;
        let first = self
            .net
            .get_json_with(url, Some(&Credential::bearer(server, token)))
            .await;
        let second = match first {
            Err(NetError::Status { status: 401, .. }) => {
                tracing::info!(host = %origin(url), "password status: token refused; renewing once");
                let token = tokens.renew().await.map_err(flat)?;
                self.net
                    .get_json_with(url, Some(&Credential::bearer(server, token)))
                    .await
            }
            other => other,
        };
        match second {
            Ok(v) => Ok(Some(v)),
            Err(NetError::Status { status: 404, .. }) => Ok(None),
            Err(NetError::Status { status: 401, .. }) => Err(AuthError::SessionExpired.into()),
            Err(e) => Err(e.into()),
        }
    }

    /// The password's age and what the UI must do about it: nothing, a reminder (snoozable
    /// for the day), or the change-password flow before anything else. A server without the
    /// endpoint (404, plain OpenEMR) gives state `unknown`: the UI shows nothing.
    pub async fn password_status(&self) -> Result<PasswordView, CoreError> {
        let acct = self.account(None)?;
        let url = endpoint(&acct.server, &acct.site, "status")?;
        let tokens = self.session_tokens(&acct)?;
        let policy = self.effective().password;
        let floor = u32::from(policy.min_length).max(FLOOR);
        let Some(body) = self.get_with_renewal(&tokens, &acct.server, &url).await? else {
            tracing::info!(host = %origin(&url), "password status: not offered by this server");
            return Ok(view(Rotation::unknown(), floor, false, 0));
        };
        let status = ServerStatus::from_json(&body).map_err(|detail| {
            tracing::warn!(host = %origin(&url), %detail, "password status unreadable");
            CoreError::Net(NetError::Decode {
                host: origin(&url),
                detail,
            })
        })?;
        let snoozed = self
            .config
            .read()
            .ok()
            .and_then(|c| {
                c.password_snoozed
                    .get(&snooze_key(&acct.profile, &acct.username))
                    .cloned()
            })
            .as_deref()
            .and_then(rotation::parse_date);
        let now = self.now_local();
        let r = rotation::assess(now, &status, &policy, snoozed, now.offset());
        tracing::info!(
            state = ?r.state,
            days_left = ?r.days_left,
            remind = r.remind,
            "password status"
        );
        Ok(view(
            r,
            floor.max(status.policy.min_length),
            status.policy.require_strong,
            status.policy.history_count,
        ))
    }

    /// "Remind me tomorrow": hides the reminder for the rest of today (local date), for the
    /// active profile and user. An expired password is not affected (never snoozable).
    pub fn snooze_password_reminder(&self) -> Result<(), CoreError> {
        let acct = self.account(None)?;
        let today = self.now_local().date();
        let key = snooze_key(&acct.profile, &acct.username);
        self.update_config(|c| {
            // Older snoozes mean nothing any more; keep the file small.
            c.password_snoozed
                .retain(|_, d| rotation::parse_date(d).is_some_and(|d| d >= today));
            c.password_snoozed.insert(key, rotation::format_date(today));
        })
    }

    /// The meter for a new password: [`crate::password::check`] with the user name, the
    /// clinic's display name and the server's host name parts as words to avoid, and the
    /// larger of policy's minimum and `min_length` (the server's, from [`PasswordView`]).
    pub fn check_new_password(&self, candidate: &Secret, min_length: usize) -> Strength {
        let policy_min = usize::from(self.effective().password.min_length);
        let mut words: Vec<String> = Vec::new();
        if let Ok(acct) = self.account(None) {
            words.push(acct.username.clone());
            if let Some(host) = acct.server.host_str() {
                words.extend(
                    host.split(['.', '-'])
                        .filter(|w| w.chars().count() >= 3)
                        .map(str::to_string),
                );
            }
        }
        if let Some(s) = self.server() {
            words.push(s.display_name.clone());
            words.extend(
                s.display_name
                    .split(|c: char| !c.is_alphanumeric())
                    .filter(|w| w.chars().count() >= 3)
                    .map(str::to_string),
            );
        }
        words.retain(|w| w.chars().count() >= 3);
        words.sort();
        words.dedup();
        let context: Vec<&str> = words.iter().map(String::as_str).collect();
        crate::password::check(candidate.expose(), policy_min.max(min_length), &context)
    }

    /// Changes the password on the clinic server: current + new password, and the
    /// authenticator code when the account has one. A new password the meter finds weak is
    /// refused here and nothing is sent. On success the server has revoked every refresh
    /// token: Rounds discards its own (as sign-out does, keeping the remembered user name) and
    /// answers `SignedOut`; the clinician signs in with the new password. On any error the
    /// session is left as it was.
    pub async fn change_password(
        &self,
        current: Secret,
        new: Secret,
        otp: Option<Secret>,
    ) -> Result<SessionState, CoreError> {
        self.ensure_unlocked()?;
        let strength = self.check_new_password(&new, 0);
        if !strength.acceptable {
            tracing::info!(problems = ?strength.problems, "new password refused locally; nothing sent");
            return Err(PasswordChangeError::WeakLocally {
                problems: strength.problems,
            }
            .into());
        }
        let acct = self.account(None)?;
        let url = endpoint(&acct.server, &acct.site, "change")?;
        let tokens = self.session_tokens(&acct)?;
        let mut body = SecretJson::for_server(&acct.server)
            .secret("current_password", current)
            .secret("new_password", new);
        if let Some(code) = otp.filter(|c| !c.is_empty()) {
            body = body.secret("otp", code);
        }
        let token = tokens.token().await.map_err(renewal_error)?;
        let mut reply = self
            .net
            .post_secret_json_reply(&url, &body, Some(&Credential::bearer(&acct.server, token)))
            .await?;
        if reply.status == 401 {
            tracing::info!(host = %origin(&url), "password change: token refused; renewing once");
            let token = tokens.renew().await.map_err(renewal_error)?;
            reply = self
                .net
                .post_secret_json_reply(&url, &body, Some(&Credential::bearer(&acct.server, token)))
                .await?;
        }
        drop(body);
        if let Some(e) = change_error(&reply) {
            tracing::warn!(
                host = %origin(&url),
                status = reply.status,
                error = error_code(&reply.body),
                "password change refused"
            );
            return Err(e.into());
        }
        tracing::info!(profile = %acct.profile, "password changed; the clinic revoked the session, signing out");
        self.end_session(false).await
    }
}

/// A token that cannot be had or renewed: the session is over (not a password problem).
fn renewal_error(e: AuthError) -> CoreError {
    match e {
        AuthError::SessionExpired => PasswordChangeError::SessionExpired.into(),
        other => flat(other),
    }
}

fn view(r: Rotation, min_length: u32, composition: bool, history_count: u32) -> PasswordView {
    PasswordView {
        state: r.state,
        due_on: r.due_on,
        days_left: r.days_left,
        remind: r.remind,
        stage: r.stage,
        grace_ends_on: r.grace_ends_on,
        min_length: min_length.max(FLOOR),
        server_requires_composition: composition,
        history_count,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, body: Value) -> JsonReply {
        JsonReply { status, body }
    }

    #[test]
    fn every_refusal_of_the_contract_maps_to_its_own_error() {
        use PasswordChangeError as E;
        let e = |s, b| change_error(&reply(s, b));
        assert_eq!(e(200, serde_json::json!({"last_changed_at": "x"})), None);
        assert_eq!(
            e(
                403,
                serde_json::json!({"error": "invalid_current_password"})
            ),
            Some(E::WrongCurrentPassword)
        );
        assert_eq!(
            e(403, serde_json::json!({"error": "otp_required"})),
            Some(E::CodeRequired)
        );
        assert_eq!(
            e(403, serde_json::json!({"error": "invalid_otp"})),
            Some(E::WrongCode)
        );
        assert_eq!(
            e(
                400,
                serde_json::json!({"error": "password_too_weak",
                    "violations": ["min_length", "strength", "<script>"]})
            ),
            Some(E::TooWeak {
                violations: vec!["min_length".into(), "strength".into()]
            })
        );
        assert_eq!(
            e(
                400,
                serde_json::json!({"error": "password_reused", "history_count": 5})
            ),
            Some(E::Reused { history_count: 5 })
        );
        assert_eq!(
            e(423, serde_json::json!({"error": "account_locked"})),
            Some(E::AccountLocked)
        );
        assert_eq!(e(404, Value::Null), Some(E::NotSupported));
        assert_eq!(
            e(401, serde_json::json!({"error": "invalid_token"})),
            Some(E::SessionExpired)
        );
        assert_eq!(
            e(400, serde_json::json!({"error": "invalid_request"})),
            Some(E::Server { status: 400 })
        );
        assert_eq!(e(500, Value::Null), Some(E::Server { status: 500 }));
    }

    #[test]
    fn view_never_asks_for_less_than_eight() {
        let v = view(Rotation::unknown(), 4, false, 0);
        assert_eq!(v.min_length, 8);
        let json = serde_json::to_value(&v).expect("json");
        assert_eq!(json["state"], "unknown");
        assert!(json.get("serverRequiresComposition").is_some());
        assert!(json.get("historyCount").is_some());
    }
}
