//! Clinician accounts with OpenEMR's password policy (§2.1) and per-user TOTP state.
//!
//! Passwords are kept in plain text: this is a throw-away test server whose seeded passwords are
//! printed at start anyway. Nothing here is ever persisted.

use std::collections::HashMap;

use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::totp;
use crate::util;

/// OpenEMR security globals with recent defaults (§2.1).
#[derive(Debug, Clone, Serialize)]
pub struct Policy {
    pub min_length: usize,
    pub max_length: usize,
    pub require_strong: bool,
    pub history_count: usize,
    pub expiration_days: i64,
    pub grace_days: i64,
    pub max_failed_logins: u32,
    /// `time_reset_password_max_failed_logins`, seconds.
    #[serde(skip)]
    pub failed_login_reset_secs: i64,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            min_length: 9,
            max_length: 72,
            require_strong: true,
            history_count: 5,
            expiration_days: 180,
            grace_days: 30,
            max_failed_logins: 20,
            failed_login_reset_secs: 3600,
        }
    }
}

/// MFA state of an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mfa {
    /// No second factor required (like an OpenEMR user without MFA).
    NotRequired,
    /// Must enroll TOTP (§1.7) before tokens are issued.
    MustEnroll,
    /// Enrolled with this raw secret (20 bytes).
    Enrolled(Vec<u8>),
}

/// One clinician.
#[derive(Debug, Clone)]
pub struct User {
    pub username: String,
    pub display_name: String,
    pub email: String,
    /// FHIR id of the clinician; referenced from appointments.
    pub uuid: String,
    /// OpenEMR references providers with an NPI as `Practitioner/`, others as `Person/` (§3.3).
    pub has_npi: bool,
    pub password: String,
    /// Previous passwords, newest first (for `password_history`).
    pub history: Vec<String>,
    pub last_changed: OffsetDateTime,
    pub mfa: Mfa,
    /// Last TOTP step accepted (replay protection).
    pub last_otp_step: Option<u64>,
    pub failed_logins: u32,
    pub last_failed_login: Option<OffsetDateTime>,
    pub failed_otps: u32,
    pub locked_until: Option<OffsetDateTime>,
    /// Why it is locked (goes into the error description).
    pub lock_reason: String,
}

impl User {
    /// New clinician with a password changed `age_days` ago.
    pub fn new(
        username: &str,
        display: &str,
        password: &str,
        age_days: i64,
        mfa: Mfa,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            username: username.into(),
            display_name: display.into(),
            email: format!("{username}@sandbox-clinic.example"),
            uuid: util::uuid_from(&format!("user:{username}")),
            has_npi: true,
            password: password.into(),
            history: Vec::new(),
            last_changed: now - Duration::days(age_days),
            mfa,
            last_otp_step: None,
            failed_logins: 0,
            last_failed_login: None,
            failed_otps: 0,
            locked_until: None,
            lock_reason: String::new(),
        }
    }

    /// `Practitioner/<uuid>` or `Person/<uuid>`.
    pub fn fhir_ref(&self) -> String {
        if self.has_npi {
            format!("Practitioner/{}", self.uuid)
        } else {
            format!("Person/{}", self.uuid)
        }
    }

    /// Whether the account is locked at `now`.
    pub fn locked(&self, now: OffsetDateTime) -> bool {
        self.locked_until.is_some_and(|t| t > now)
    }

    /// Current code of an enrolled user (for the demo banner and the control API).
    pub fn current_code(&self, now: OffsetDateTime) -> Option<String> {
        match &self.mfa {
            Mfa::Enrolled(s) => Some(totp::code_now(s, now.unix_timestamp())),
            _ => None,
        }
    }
}

/// Password age as §2.2 reports it.
#[derive(Debug, Clone, Serialize)]
pub struct PasswordStatus {
    pub last_changed_at: String,
    pub expires_at: Option<String>,
    pub grace_ends_at: Option<String>,
    pub state: &'static str,
}

/// Why a password login failed.
#[derive(Debug, PartialEq, Eq)]
pub enum LoginError {
    BadCredentials,
    Locked(String),
    PasswordExpired,
}

/// All accounts plus the policy.
#[derive(Debug, Default)]
pub struct Users {
    pub policy: Policy,
    pub by_name: HashMap<String, User>,
}

impl Users {
    /// Adds or replaces an account.
    pub fn insert(&mut self, u: User) {
        self.by_name.insert(u.username.clone(), u);
    }

    /// Account by its FHIR uuid.
    pub fn by_uuid(&self, uuid: &str) -> Option<&User> {
        self.by_name.values().find(|u| u.uuid == uuid)
    }

    /// Password expiry state of a user at `now`.
    pub fn status(&self, u: &User, now: OffsetDateTime) -> PasswordStatus {
        let p = &self.policy;
        let (expires, grace, state) = if p.expiration_days == 0 {
            (None, None, "ok")
        } else {
            let exp = u.last_changed + Duration::days(p.expiration_days);
            let grace = exp + Duration::days(p.grace_days);
            let state = if now > exp {
                "grace"
            } else if exp - now <= Duration::days(14) {
                "expiring"
            } else {
                "ok"
            };
            (Some(exp), Some(grace), state)
        };
        PasswordStatus {
            last_changed_at: util::rfc3339_z(u.last_changed),
            expires_at: expires.map(util::rfc3339_z),
            grace_ends_at: grace.map(util::rfc3339_z),
            state,
        }
    }

    /// Username + password check with lockout and expiry. Wrong passwords count as failed
    /// logins; a locked account is refused even with the right password.
    pub fn check_password(
        &mut self,
        username: &str,
        password: &str,
        now: OffsetDateTime,
    ) -> Result<User, LoginError> {
        let policy = self.policy.clone();
        let Some(u) = self.by_name.get_mut(username) else {
            return Err(LoginError::BadCredentials);
        };
        if u.locked(now) {
            return Err(LoginError::Locked(u.lock_reason.clone()));
        }
        if u.password != password {
            if u.last_failed_login
                .is_some_and(|t| now - t > Duration::seconds(policy.failed_login_reset_secs))
            {
                u.failed_logins = 0;
            }
            u.failed_logins += 1;
            u.last_failed_login = Some(now);
            if u.failed_logins >= policy.max_failed_logins {
                u.locked_until = Some(now + Duration::seconds(policy.failed_login_reset_secs));
                u.lock_reason = format!(
                    "Account locked after {} failed logins; try again in {} minutes",
                    policy.max_failed_logins,
                    policy.failed_login_reset_secs / 60
                );
                u.failed_logins = 0;
            }
            return Err(LoginError::BadCredentials);
        }
        if policy.expiration_days > 0
            && now > u.last_changed + Duration::days(policy.expiration_days + policy.grace_days)
        {
            return Err(LoginError::PasswordExpired);
        }
        u.failed_logins = 0;
        Ok(u.clone())
    }

    /// Checks a TOTP code against `secret` for `username`: replay-protected, and 5 wrong codes
    /// lock the account for `lock_secs`. Returns Err(Some(reason)) when locked.
    pub fn check_otp(
        &mut self,
        username: &str,
        secret: &[u8],
        code: &str,
        now: OffsetDateTime,
        lock_secs: i64,
    ) -> Result<(), Option<String>> {
        let Some(u) = self.by_name.get_mut(username) else {
            return Err(None);
        };
        if u.locked(now) {
            return Err(Some(u.lock_reason.clone()));
        }
        match totp::verify(secret, code.trim(), now.unix_timestamp(), u.last_otp_step) {
            Some(step) => {
                u.last_otp_step = Some(step);
                u.failed_otps = 0;
                Ok(())
            }
            None => {
                u.failed_otps += 1;
                if u.failed_otps >= 5 {
                    u.failed_otps = 0;
                    u.locked_until = Some(now + Duration::seconds(lock_secs));
                    u.lock_reason = format!(
                        "Account locked after 5 invalid one-time codes; try again in {} minutes",
                        (lock_secs + 59) / 60
                    );
                    return Err(Some(u.lock_reason.clone()));
                }
                Err(None)
            }
        }
    }

    /// Password rules in §2.3 order after the current-password/OTP checks: length, strength,
    /// history. Returns the violations or the reuse error.
    pub fn check_new_password(&self, u: &User, new: &str) -> Result<(), NewPasswordError> {
        let p = &self.policy;
        let mut v = Vec::new();
        let len = new.chars().count();
        if len < p.min_length {
            v.push("min_length");
        }
        if len > p.max_length {
            v.push("max_length");
        }
        if p.require_strong {
            let strong = new.chars().any(|c| c.is_ascii_digit())
                && new.chars().any(|c| c.is_lowercase())
                && new.chars().any(|c| c.is_uppercase())
                && new.chars().any(|c| !c.is_alphanumeric());
            if !strong {
                v.push("strength");
            }
        }
        if !v.is_empty() {
            return Err(NewPasswordError::TooWeak(v));
        }
        let recent = std::iter::once(&u.password)
            .chain(u.history.iter())
            .take(p.history_count.max(1));
        if recent.into_iter().any(|old| old == new) {
            return Err(NewPasswordError::Reused(p.history_count));
        }
        Ok(())
    }
}

/// Rejections of a new password.
#[derive(Debug, PartialEq, Eq)]
pub enum NewPasswordError {
    TooWeak(Vec<&'static str>),
    Reused(usize),
}
