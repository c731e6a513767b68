//! Authenticator enrollment as the UI shows it: the one place a secret is sent to the webview.
//!
//! A clinician without MFA must add Rounds' clinic to an authenticator app before anything
//! else. That needs the TOTP seed on screen (as a QR code, and as text for typing by hand), so
//! this view deliberately carries it. It is handed out once (`take_enrollment` empties the
//! core's copy), never logged or stored, and the UI drops it as soon as the first code is
//! confirmed.

use super::Core;
use crate::error::CoreError;
use crate::secret::Secret;
use base64::Engine;
use serde::Serialize;

#[derive(Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct EnrollmentView {
    pub user: String,
    /// `data:image/svg+xml;base64,…` of the otpauth:// QR code (CSP allows data: images only).
    pub qr_image: String,
    /// The base32 seed in groups of four, for typing into an authenticator by hand.
    pub manual_key: String,
}

// Hand-written Debug so the seed can never reach a log line through `{:?}`.
impl std::fmt::Debug for EnrollmentView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnrollmentView")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// The first code from the newly set-up authenticator, as the UI sends it.
#[derive(Debug, serde::Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct EnrollmentCode {
    #[specta(type = String)]
    pub code: Secret,
}

impl Core {
    /// The pending enrollment, once. `None` when there is none or it was already shown.
    pub fn enrollment_view(&self) -> Result<Option<EnrollmentView>, CoreError> {
        let Some(e) = self.take_enrollment() else {
            return Ok(None);
        };
        let qr = qrcode::QrCode::new(e.otpauth_uri.expose().as_bytes())
            .map_err(|err| CoreError::Internal(format!("QR code: {err}")))?;
        let svg = qr
            .render::<qrcode::render::svg::Color>()
            .min_dimensions(240, 240)
            .quiet_zone(true)
            .build();
        let qr_image = format!(
            "data:image/svg+xml;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(svg)
        );
        Ok(Some(EnrollmentView {
            user: e.user,
            qr_image,
            manual_key: group(&e.secret),
        }))
    }
}

fn group(secret: &Secret) -> String {
    secret
        .expose()
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_key_is_grouped_and_debug_hides_the_seed() {
        let v = EnrollmentView {
            user: "drjones".into(),
            qr_image: "data:x".into(),
            manual_key: group(&Secret::new("JBSWY3DPEHPK3PXP".into())),
        };
        assert_eq!(v.manual_key, "JBSW Y3DP EHPK 3PXP");
        let shown = format!("{v:?}");
        assert!(
            !shown.contains("JBSW") && !shown.contains("data:"),
            "{shown}"
        );
    }
}
