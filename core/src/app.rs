//! The one API surface of the core: the desktop shell, `rounds-cli` and the tests call this.
//!
//! Every method returns plain serializable state for the UI; nothing here ever returns a secret.

use crate::auth::{AuthError, SignInRequest};
use crate::config::UserConfig;
use crate::error::CoreError;
use crate::net::{NetClient, NetConfig, origin};
use crate::paths::Paths;
use crate::policy::{LINUX_POLICY_PATH, PolicyState};
use crate::vault::{Vault, VaultStatus};
use serde::Serialize;
use std::path::PathBuf;
use url::Url;

/// Where this process finds its files and its policy.
#[derive(Debug, Clone)]
pub struct Environment {
    pub paths: Paths,
    pub policy_path: PathBuf,
}

impl Environment {
    /// The real locations for the current user and platform.
    ///
    /// Debug builds (dev, demo and tests) honour `ROUNDS_POLICY_FILE`; release builds never do,
    /// so a user cannot point a managed install at a policy of their own.
    pub fn from_os() -> Result<Self, CoreError> {
        let paths = Paths::for_current_user()
            .ok_or_else(|| CoreError::Internal("no home directory for this user".into()))?;
        let mut policy_path = PathBuf::from(LINUX_POLICY_PATH);
        if cfg!(debug_assertions)
            && let Some(p) = std::env::var_os("ROUNDS_POLICY_FILE")
        {
            policy_path = PathBuf::from(p);
        }
        Ok(Self { paths, policy_path })
    }
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ServerInfo {
    pub display_name: String,
    /// Origin only (scheme, host, port): safe to show and to log.
    pub origin: String,
    pub host: String,
    pub site: String,
    /// True when IT's policy sets the server (the UI shows it as locked).
    pub managed: bool,
    pub username: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub enum PolicyStatus {
    Absent,
    Active,
    Rejected,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct PolicySummary {
    pub status: PolicyStatus,
    pub path: String,
    /// Why a policy file was rejected (it is then not applied at all).
    pub problem: Option<String>,
}

/// What the sign-in screen needs to draw itself.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    pub version: String,
    pub server: Option<ServerInfo>,
    pub policy: PolicySummary,
    /// A settings-file problem the user should know about (the app still starts).
    pub config_problem: Option<String>,
}

/// The result of reaching the clinic server over a verified TLS connection.
#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ServerCheck {
    pub origin: String,
    pub encrypted: bool,
}

#[derive(Debug, Clone, Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SessionState {
    pub signed_in: bool,
    pub username: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DoctorReport {
    pub version: String,
    pub keychain: VaultStatus,
    pub policy: PolicySummary,
    pub server: Option<ServerInfo>,
    pub config_problem: Option<String>,
    pub paths: Paths,
}

pub struct Core {
    env: Environment,
    policy: PolicyState,
    config: UserConfig,
    config_problem: Option<String>,
    net: NetClient,
}

impl Core {
    pub fn load(env: Environment) -> Result<Self, CoreError> {
        let policy = PolicyState::load(&env.policy_path);
        let (config, config_problem) = match UserConfig::load(&env.paths.config_file()) {
            Ok(c) => (c, None),
            Err(e) => {
                tracing::warn!(error = %e, "user settings ignored");
                (UserConfig::default(), Some(e.to_string()))
            }
        };
        let net = NetClient::new(&net_config(&policy))?;
        Ok(Self {
            env,
            policy,
            config,
            config_problem,
            net,
        })
    }

    /// The network rules policy sets (CA, pins, proxy), for the CLI's server posture check.
    pub fn net_config(&self) -> NetConfig {
        net_config(&self.policy)
    }

    pub fn environment(&self) -> &Environment {
        &self.env
    }

    pub fn app_info(&self) -> AppInfo {
        AppInfo {
            version: crate::VERSION.into(),
            server: self.server(),
            policy: self.policy_summary(),
            config_problem: self.config_problem.clone(),
        }
    }

    /// Policy's server wins over the user's profile: IT decides where clinicians sign in.
    fn server(&self) -> Option<ServerInfo> {
        let info = |name: &str, url: &Url, site: &str, managed, username| ServerInfo {
            display_name: name.into(),
            origin: origin(url),
            host: url.host_str().unwrap_or_default().into(),
            site: site.into(),
            managed,
            username,
        };
        let profile = self.config.active();
        let username = profile.and_then(|p| p.username.clone());
        if let Some(s) = self.policy.effective().server {
            return Some(info(&s.display_name, &s.url, &s.site, true, username));
        }
        profile.map(|p| info(&p.display_name, &p.server_url, &p.site, false, username))
    }

    fn server_url(&self) -> Option<(Url, String)> {
        if let Some(s) = self.policy.effective().server {
            return Some((s.url, s.site));
        }
        self.config
            .active()
            .map(|p| (p.server_url.clone(), p.site.clone()))
    }

    pub fn policy_summary(&self) -> PolicySummary {
        let path = self.policy.path().display().to_string();
        match &self.policy {
            PolicyState::Absent { .. } => PolicySummary {
                status: PolicyStatus::Absent,
                path,
                problem: None,
            },
            PolicyState::Active { .. } => PolicySummary {
                status: PolicyStatus::Active,
                path,
                problem: None,
            },
            PolicyState::Rejected { reason, .. } => PolicySummary {
                status: PolicyStatus::Rejected,
                path,
                problem: Some(reason.clone()),
            },
        }
    }

    /// Reaches the clinic's OAuth discovery document over a verified connection. No credential
    /// is sent; this tells the clinician before they type a password whether the network is safe.
    pub async fn check_server(&self) -> Result<ServerCheck, CoreError> {
        let (base, site) = self.server_url().ok_or(CoreError::NoServer)?;
        let url = base
            .join(&format!("oauth2/{site}/.well-known/openid-configuration"))
            .map_err(|e| CoreError::Internal(e.to_string()))?;
        let doc = self.net.get_json(&url).await?;
        if doc.get("token_endpoint").and_then(|v| v.as_str()).is_none() {
            return Err(crate::net::NetError::Decode {
                host: origin(&base),
                detail: "discovery document has no token_endpoint".into(),
            }
            .into());
        }
        tracing::info!(server = %origin(&base), "clinic server reachable");
        Ok(ServerCheck {
            origin: origin(&base),
            encrypted: base.scheme() == "https",
        })
    }

    /// Validates the form now; the exchange with the server arrives with the sign-in issue.
    pub async fn sign_in(&self, req: SignInRequest) -> Result<SessionState, CoreError> {
        req.validate()?;
        self.server_url().ok_or(CoreError::NoServer)?;
        tracing::info!("sign-in attempted; not available in this build");
        Err(AuthError::NotAvailable.into())
    }

    /// Everything support needs to know, none of it secret.
    pub fn doctor(&self) -> DoctorReport {
        DoctorReport {
            version: crate::VERSION.into(),
            keychain: Vault::status(),
            policy: self.policy_summary(),
            server: self.server(),
            config_problem: self.config_problem.clone(),
            paths: self.env.paths.clone(),
        }
    }
}

/// Maps IT's policy to the network module's settings (the network never reads policy itself).
fn net_config(policy: &PolicyState) -> NetConfig {
    NetConfig {
        ca_bundle: policy.effective().ca_bundle,
        ..NetConfig::default()
    }
}
