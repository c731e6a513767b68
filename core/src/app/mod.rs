//! The one API surface of the core: the desktop shell, `rounds-cli` and the tests call this.
//!
//! Every method returns plain serializable state for the UI; nothing here ever returns a secret.

mod changes;
mod enroll;
mod labels;
mod lock;
mod passwords;
mod posture;
mod profiles;
mod readiness;
mod schedule;
mod session;
mod update;
mod video;
mod views;
mod waiting;

pub use enroll::{EnrollmentCode, EnrollmentView};
pub use lock::{LockEvent, LockReason, LockState, LockView};
pub use passwords::{PasswordChangeError, PasswordChangeRequest, PasswordView};
pub use posture::{
    CachePosture, ConnectionPosture, E2eePosture, PinState, SecurityPosture, SessionPosture,
    TrustRules, TrustSource,
};
pub use profiles::{NewProfile, ProfileView, ProfilesView};
pub use schedule::DayView;
pub use video::{VisitOpen, VisitWindowKind, VisitWindowRequest};
pub use views::*;

use crate::auth::SignInRequest;
use crate::config::UserConfig;
use crate::error::CoreError;
use crate::net::{NetClient, NetConfig, ProxyConfig, origin};
use crate::paths::Paths;
use crate::policy::{self, Effective, Entry, Origin, Policy, Resolved, USER_KEYS};
use crate::vault::Vault;
use serde_json::Value;
use std::path::PathBuf;
use url::Url;

/// Where this process finds its files and its policy.
#[derive(Debug, Clone)]
pub struct Environment {
    pub paths: Paths,
    /// Replaces the system policy file. Only debug builds (dev, demo, tests) honour
    /// `ROUNDS_POLICY_FILE`, so a user cannot point a managed install at a policy of their own.
    pub policy_override: Option<PathBuf>,
}

impl Environment {
    pub fn from_os() -> Result<Self, CoreError> {
        let paths = Paths::for_current_user()
            .ok_or_else(|| CoreError::Internal("no home directory for this user".into()))?;
        let policy_override = if cfg!(debug_assertions) {
            std::env::var_os("ROUNDS_POLICY_FILE").map(PathBuf::from)
        } else {
            None
        };
        Ok(Self {
            paths,
            policy_override,
        })
    }

    /// Reads IT's policy from this platform's sources (cheap: a few small files).
    pub fn load_policy(&self) -> Policy {
        let overrides = policy::Overrides {
            file: self.policy_override.clone(),
            ..policy::Overrides::from_debug_env()
        };
        Policy::load(&policy::platform_sources(overrides))
    }
}

pub struct Core {
    env: Environment,
    policy: Policy,
    resolved: std::sync::RwLock<Resolved>,
    config: std::sync::RwLock<UserConfig>,
    config_problem: Option<String>,
    net: NetClient,
    sign_in: std::sync::Arc<crate::auth::SignInMemory>,
    /// Ends a browser sign-in that is waiting for the clinic's page.
    browser_cancel: std::sync::Arc<tokio::sync::Notify>,
    /// The signed-in profile's schedule cache and its background sync.
    schedule: tokio::sync::Mutex<Option<schedule::Running>>,
    /// The running video visit (its loopback page), one at a time.
    visit: tokio::sync::Mutex<Option<video::RunningVisit>>,
    /// The local audit log, opened on first use.
    audit: std::sync::Mutex<Option<std::sync::Arc<crate::audit::AuditLog>>>,
    /// The idle clock and the lock (automatic logoff).
    idle: std::sync::Mutex<lock::Idle>,
    /// Visit readiness checked in the background, by appointment (app/readiness.rs).
    readiness: readiness::Shared,
    /// The password rotation's clock when a test sets one (`None`: the system clock).
    clock: std::sync::RwLock<Option<passwords::TestClock>>,
    /// The video server of the last visit opened (its `external_api.js`), for the posture.
    video_origin: std::sync::Mutex<Option<Url>>,
    /// What changed, for front ends that follow the core instead of polling it (app/changes.rs).
    changes: changes::Publisher,
    /// What the shell's clock remembers between ticks (app/changes.rs).
    ticks: std::sync::Mutex<changes::Clock>,
}

impl Core {
    pub fn load(env: Environment) -> Result<Self, CoreError> {
        let policy = env.load_policy();
        Self::with_policy(env, policy)
    }

    /// For a caller that needed the policy before the core (the shell reads the log level from
    /// it before logging starts), so it is read once.
    pub fn with_policy(env: Environment, policy: Policy) -> Result<Self, CoreError> {
        for r in policy.reports() {
            if let Some(problem) = &r.problem {
                tracing::warn!(source = %r.name, error = %problem, "policy rejected; secure defaults kept");
            }
        }
        let (config, config_problem) = match UserConfig::load(&env.paths.config_file()) {
            Ok(c) => (c, None),
            Err(e) => {
                tracing::warn!(error = %e, "user settings ignored");
                (UserConfig::default(), Some(e.to_string()))
            }
        };
        // A visit window's profile left by a crash or power cut goes before anything else.
        crate::video::window::wipe_all(&env.paths.data_dir);
        let resolved = policy.resolve(&config.settings);
        let net = NetClient::new(&net_config(&resolved.effective))?;
        Ok(Self {
            env,
            policy,
            resolved: std::sync::RwLock::new(resolved),
            config: std::sync::RwLock::new(config),
            config_problem,
            net,
            sign_in: Default::default(),
            browser_cancel: Default::default(),
            schedule: Default::default(),
            visit: Default::default(),
            audit: Default::default(),
            idle: Default::default(),
            readiness: Default::default(),
            clock: Default::default(),
            video_origin: Default::default(),
            changes: Default::default(),
            ticks: Default::default(),
        })
    }

    pub fn environment(&self) -> &Environment {
        &self.env
    }

    /// The settings in force right now.
    pub fn effective(&self) -> Effective {
        self.resolved().effective
    }

    fn resolved(&self) -> Resolved {
        match self.resolved.read() {
            Ok(r) => r.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// The network rules policy sets (CA, pins, proxy), e.g. for the CLI's server check.
    pub fn net_config(&self) -> NetConfig {
        net_config(&self.effective())
    }

    pub fn app_info(&self) -> AppInfo {
        let e = self.effective();
        AppInfo {
            version: crate::VERSION.into(),
            server: self.server(),
            policy: self.policy_view(),
            appearance: Appearance {
                theme: e.appearance.theme,
                text_size: e.appearance.text_size,
            },
            config_problem: self.config_problem.clone(),
        }
    }

    /// Policy's servers win over the user's profile: IT decides where clinicians sign in.
    fn server(&self) -> Option<ServerInfo> {
        let r = self.resolved();
        let cfg = self.config.read().ok()?;
        let profile = cfg.active();
        let remembered = |id: &str| cfg.last_users.get(id).cloned();
        let username = profile
            .and_then(|p| p.username.clone().or_else(|| remembered(&p.id)))
            .or_else(|| remembered("managed"));
        let managed = r.origin("clinic.servers").is_some_and(Origin::locked);
        if let Some(s) = r.effective.clinic.servers.first()
            && let Ok(url) = Url::parse(&s.url)
            && (managed || profile.is_none())
        {
            return Some(server_info(
                &s.display_name,
                &url,
                &s.site,
                managed,
                username,
            ));
        }
        profile.map(|p| server_info(&p.display_name, &p.server_url, &p.site, false, username))
    }

    fn server_url(&self) -> Option<(Url, String)> {
        let s = self.server()?;
        Some((Url::parse(&s.origin).ok()?, s.site))
    }

    pub fn policy_view(&self) -> PolicyView {
        let r = self.resolved();
        let settings = r
            .entries
            .iter()
            .filter(|e| matches!(e.origin, Origin::Mandatory(_) | Origin::Recommended(_)))
            .map(setting_view)
            .collect();
        PolicyView {
            managed: self.policy.managed(),
            problem: self.policy.problem().map(str::to_string),
            sources: self.policy.reports().to_vec(),
            settings,
        }
    }

    /// Every setting in force with its origin (for `rounds-cli policy show`).
    pub fn all_settings(&self) -> Vec<SettingView> {
        self.resolved().entries.iter().map(setting_view).collect()
    }

    /// The settings screen: what the user may change, and what policy locked.
    pub fn user_settings(&self) -> Vec<UserSetting> {
        let r = self.resolved();
        USER_KEYS
            .iter()
            .filter_map(|key| {
                let entry = r.entries.iter().find(|e| e.key == *key)?;
                let control = match &entry.value {
                    Value::Bool(b) => Control::Toggle { value: *b },
                    v => Control::Choice {
                        value: v.as_str().unwrap_or_default().to_string(),
                        options: labels::options(key)
                            .into_iter()
                            .map(|(value, label)| ChoiceOption {
                                value: value.into(),
                                label: label.into(),
                            })
                            .collect(),
                    },
                };
                Some(UserSetting {
                    key: key.to_string(),
                    label: labels::label(key),
                    control,
                    origin: entry.origin.clone(),
                    locked: entry.origin.locked(),
                })
            })
            .collect()
    }

    /// Changes one of the user's own settings; refused when policy locks it.
    pub fn set_user_setting(&self, key: &str, value: Value) -> Result<Vec<UserSetting>, CoreError> {
        policy::check_user_value(&self.resolved(), key, &value)?;
        self.update_config(|c| {
            c.settings.insert(key.to_string(), value);
        })?;
        let settings = self
            .config
            .read()
            .map(|c| c.settings.clone())
            .unwrap_or_default();
        let resolved = self.policy.resolve(&settings);
        if let Ok(mut r) = self.resolved.write() {
            *r = resolved;
        }
        tracing::info!(key, "user setting changed");
        Ok(self.user_settings())
    }

    /// The one way the settings file changes: a changed copy is validated and saved, then kept
    /// (never half a change); an unchanged one is not written again.
    fn update_config(&self, f: impl FnOnce(&mut UserConfig)) -> Result<(), CoreError> {
        let mut cfg = self
            .config
            .write()
            .map_err(|_| CoreError::Internal("settings lock poisoned".into()))?;
        let mut next = cfg.clone();
        f(&mut next);
        if next == *cfg {
            return Ok(());
        }
        next.validate()
            .map_err(|reason| CoreError::InvalidProfile { reason })?;
        next.save(&self.env.paths.config_file())?;
        *cfg = next;
        Ok(())
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

    /// Password + code → signed in (tokens in the keychain) or → authenticator enrollment.
    /// The code may be empty only for a clinician who has no authenticator yet: the server then
    /// answers with enrollment; an enrolled one gets `MfaRequired` ("enter the code").
    pub async fn sign_in(&self, req: SignInRequest) -> Result<SessionState, CoreError> {
        req.validate_credentials()?;
        self.server_url().ok_or(CoreError::NoServer)?;
        self.sign_in_keychain(req).await
    }

    /// Everything support needs to know, none of it secret.
    pub fn doctor(&self) -> DoctorReport {
        DoctorReport {
            version: crate::VERSION.into(),
            keychain: Vault::status(),
            policy: self.policy_view(),
            server: self.server(),
            config_problem: self.config_problem.clone(),
            paths: self.env.paths.clone(),
        }
    }
}

fn setting_view(e: &Entry) -> SettingView {
    SettingView {
        key: e.key.clone(),
        label: labels::label(&e.key),
        value: labels::show(&e.key, &e.value),
        origin: e.origin.clone(),
        locked: e.origin.locked(),
    }
}

fn server_info(
    name: &str,
    url: &Url,
    site: &str,
    managed: bool,
    username: Option<String>,
) -> ServerInfo {
    ServerInfo {
        display_name: name.into(),
        origin: origin(url),
        host: url.host_str().unwrap_or_default().into(),
        site: site.into(),
        managed,
        username,
    }
}

/// Maps IT's policy to the network module's settings (the network never reads policy itself).
fn net_config(e: &Effective) -> NetConfig {
    let proxy = match e.network.proxy.as_str() {
        "system" => ProxyConfig::System,
        "direct" => ProxyConfig::Direct,
        other => Url::parse(other).map(ProxyConfig::Url).unwrap_or_default(),
    };
    NetConfig {
        ca_bundle: e.network.ca_bundle.clone(),
        ca_only: e.network.ca_only,
        spki_pins: e.network.spki_pins.clone(),
        proxy,
    }
}
