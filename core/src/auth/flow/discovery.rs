//! What the clinic's discovery document offers, and this app's client there: kept apart from
//! the sign-in steps because the browser flow needs them too.

use super::{Account, Authenticator, ClientCreds, MFA_OTP_GRANT, PROFILE_SCOPE, SCOPE};
use super::{bad_doc, join, server_error};
use crate::auth::AuthError;
use crate::auth::transport::Transport;
use crate::secret::Secret;
use crate::vault::ItemKind;
use url::Url;

/// What discovery tells us.
#[derive(Debug, Clone)]
pub struct Discovery {
    /// `issuer` (OIDC Discovery §3), for the `iss` of an authorization response (RFC 9207).
    pub issuer: Option<String>,
    /// `authorization_response_iss_parameter_supported`: then an answer without `iss` is
    /// refused (RFC 9207 §2.4), so a mix-up attacker cannot simply leave it out.
    pub iss_required: bool,
    pub token_endpoint: Url,
    /// The clinic's own login page (browser sign-in, §1.5).
    pub authorization_endpoint: Option<Url>,
    pub userinfo_endpoint: Option<Url>,
    pub registration_endpoint: Option<Url>,
    pub mfa_associate_endpoint: Url,
    pub mfa_otp: bool,
    pub password_grant: bool,
    /// `scopes_supported` (empty when the server does not say).
    pub scopes_supported: Vec<String>,
}

impl Discovery {
    /// The scope Rounds asks for at this server: [`SCOPE`], plus `profile` where offered.
    pub fn scope(&self) -> String {
        if self.scopes_supported.iter().any(|s| s == PROFILE_SCOPE) {
            format!("{SCOPE} {PROFILE_SCOPE}")
        } else {
            SCOPE.to_string()
        }
    }

    /// The grant types to register (RFC 7591 §2: left out, it means `authorization_code`
    /// only, and a server may then refuse the refresh grant): the code and refresh grants,
    /// and the password + MFA-OTP grants only where the server offers them.
    fn grant_types(&self) -> Vec<&'static str> {
        let mut g = vec!["authorization_code", "refresh_token"];
        if self.password_grant {
            g.push("password");
        }
        if self.mfa_otp {
            g.push(MFA_OTP_GRANT);
        }
        g
    }
}

impl<T: Transport> Authenticator<'_, T> {
    /// Reads the discovery document (clinic-api.md §1.1); every endpoint must be on the
    /// server's own origin, or it is refused (credentials never go elsewhere).
    pub async fn discover(&self, acct: &Account) -> Result<Discovery, AuthError> {
        let url = join(
            &acct.server,
            &format!("oauth2/{}/.well-known/openid-configuration", acct.site),
        )?;
        let r = self.net.get_json(&url, None).await?;
        if !r.ok() {
            return Err(server_error(&r));
        }
        let ep = |key: &str| -> Result<Option<Url>, AuthError> {
            let Some(s) = r.str(key) else { return Ok(None) };
            let u = Url::parse(s).map_err(|_| bad_doc(key))?;
            if u.origin() != acct.server.origin() {
                return Err(bad_doc(key));
            }
            Ok(Some(u))
        };
        let token_endpoint = ep("token_endpoint")?.ok_or_else(|| bad_doc("token_endpoint"))?;
        let grants: Vec<&str> = r
            .body
            .get("grant_types_supported")
            .and_then(|v| v.as_array())
            .map(|a| a.iter().filter_map(|g| g.as_str()).collect())
            .unwrap_or_default();
        let scopes_supported = r
            .body
            .get("scopes_supported")
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let mfa_associate_endpoint = match ep("mfa_associate_endpoint")? {
            Some(u) => u,
            None => join(&acct.server, &format!("oauth2/{}/mfa/associate", acct.site))?,
        };
        Ok(Discovery {
            issuer: r.str("issuer").map(str::to_string),
            iss_required: r
                .body
                .get("authorization_response_iss_parameter_supported")
                .and_then(|v| v.as_bool())
                .unwrap_or(false),
            scopes_supported,
            registration_endpoint: ep("registration_endpoint")?,
            authorization_endpoint: ep("authorization_endpoint")?,
            userinfo_endpoint: ep("userinfo_endpoint")?,
            mfa_otp: grants.contains(&MFA_OTP_GRANT),
            password_grant: grants.contains(&"password"),
            token_endpoint,
            mfa_associate_endpoint,
        })
    }

    /// Stores a client IT provisioned (id + secret) for a profile, instead of registering one.
    pub fn set_client(&self, profile: &str, id: &str, secret: &Secret) -> Result<(), AuthError> {
        self.vault
            .put(profile, ItemKind::Client, secret, None, Some(id))?;
        Ok(())
    }

    /// The profile's client from the keychain, or a new one registered (RFC 7591) and stored.
    pub(in crate::auth) async fn client(
        &self,
        acct: &Account,
        d: &Discovery,
    ) -> Result<ClientCreds, AuthError> {
        if let Some(s) = self
            .vault
            .get(&acct.profile, ItemKind::Client, self.now())?
        {
            if let Some(id) = s.info.client_id {
                return Ok(ClientCreds {
                    id,
                    secret: s.secret,
                });
            }
            self.vault.delete(&acct.profile, ItemKind::Client)?;
        }
        let url = d
            .registration_endpoint
            .clone()
            .ok_or_else(|| AuthError::ClientRejected {
                detail: "no client is set up and the server offers no registration".into(),
            })?;
        // OIDC Registration §2 knows `native` and `web`; a desktop app with a loopback redirect
        // is `native` (RFC 8252 §8.4), and standard servers allow loopback http redirects only
        // for native clients. OpenEMR knows only `private` (confidential) and `public`, and
        // answers `invalid_client_metadata` to anything else: then register as `private`.
        let mut body = serde_json::json!({
            "application_type": "native",
            "client_name": "Rounds",
            "redirect_uris": [self.redirect.as_str()],
            "response_types": ["code"],
            "grant_types": d.grant_types(),
            "token_endpoint_auth_method": "client_secret_post",
            "scope": d.scope(),
        });
        let mut r = self.net.post_json(&url, &body, None).await?;
        if r.status == 400 && r.str("error") == Some("invalid_client_metadata") {
            tracing::info!(profile = %acct.profile, "native client refused; registering as OpenEMR's `private`");
            body["application_type"] = serde_json::json!("private");
            r = self.net.post_json(&url, &body, None).await?;
        }
        if !r.ok() {
            return Err(AuthError::ClientRejected {
                detail: r.str("error").unwrap_or("registration refused").into(),
            });
        }
        let (Some(id), Some(secret)) = (r.str("client_id"), r.str("client_secret")) else {
            return Err(bad_doc("client_secret"));
        };
        let secret = Secret::new(secret.to_string());
        self.vault
            .put(&acct.profile, ItemKind::Client, &secret, None, Some(id))?;
        tracing::info!(profile = %acct.profile, "client registered; its secret is in the keychain");
        Ok(ClientCreds {
            id: id.to_string(),
            secret,
        })
    }
}
