//! The update service: runs [`plan`](super::plan) and [`judge`](super::judge) against the
//! server with the core's network client, downloads and verifies the artifact, and hands it
//! to an [`Installer`] (the shell's is tauri-plugin-updater; the tests record or replace a file).
//!
//! One state per process, behind a mutex: the last answer, the offer, the verified artifact
//! waiting for "when you close Rounds". Every refusal is logged with its code and versions
//! only (artifact URLs may carry a signed query: only their origin is logged).

use super::{Offer, Plan, UpdateError, UpdatePolicy, UpdateState, UpdateView, describe, sign};
use crate::net::{Limits, NetClient, NetConfig, origin};
use semver::Version;
use std::sync::Mutex;
use std::time::Duration;

/// Largest artifact accepted (an AppImage is ~80 MB, the .deb ~8 MB).
pub const MAX_ARTIFACT_BYTES: usize = 512 * 1024 * 1024;

/// Everything one check needs, taken from the core at the time of the call.
#[derive(Debug, Clone)]
pub struct UpdateContext {
    pub policy: UpdatePolicy,
    pub net: NetConfig,
    pub running: Version,
    pub platform: super::Platform,
    pub visit_open: bool,
}

/// A downloaded artifact whose signature verified with the policy's key.
#[derive(Clone)]
pub struct VerifiedUpdate {
    pub version: String,
    /// The manifest entry it came from (`linux-x86_64-deb`, …).
    pub target: String,
    pub bytes: Vec<u8>,
    pub signature: String,
    /// The manifest as received (the plugin rebuilds its `Update` from it).
    pub manifest: serde_json::Value,
    /// The key in the form the plugin takes, so it re-verifies with the same key.
    pub public_key: String,
}

impl std::fmt::Debug for VerifiedUpdate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedUpdate")
            .field("version", &self.version)
            .field("target", &self.target)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// The step that puts a verified artifact in place (the app restarts into it later).
pub trait Installer: Send + Sync {
    fn install(&self, update: &VerifiedUpdate) -> Result<(), String>;
}

#[derive(Default)]
struct Inner {
    state: Option<UpdateState>,
    offer: Option<Offer>,
    ready: Option<VerifiedUpdate>,
}

#[derive(Default)]
pub struct Updates {
    inner: Mutex<Inner>,
}

impl Updates {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// The view for `ctx` without asking anyone.
    pub fn view(&self, ctx: &UpdateContext) -> UpdateView {
        let state = match super::plan(&ctx.policy, &ctx.running) {
            Plan::Skip(s) => s,
            Plan::Fetch(_) => self.lock().state.clone().unwrap_or(UpdateState::NotChecked),
        };
        let running = ctx.running.to_string();
        let available = matches!(state, UpdateState::Available { .. });
        UpdateView {
            message: describe(&state, &running, ctx.visit_open),
            running,
            mode: ctx.policy.mode,
            channel: ctx.policy.channel,
            pinned_version: ctx.policy.pinned_version.clone(),
            locked: ctx.policy.locked,
            state,
            visit_open: ctx.visit_open,
            can_install_now: available && !ctx.visit_open,
        }
    }

    fn set(&self, state: UpdateState, offer: Option<Offer>) {
        let mut g = self.lock();
        if g.ready.as_ref().map(|r| &r.version)
            != offer.as_ref().map(|o| o.version.to_string()).as_ref()
        {
            g.ready = None;
        }
        g.state = Some(state);
        g.offer = offer;
    }

    /// Asks the server what it offers and judges it. Never during a visit, never with `off`.
    pub async fn check(&self, ctx: &UpdateContext) -> UpdateView {
        if ctx.visit_open {
            return self.view(ctx);
        }
        if let Some(UpdateState::Installed { .. }) = self.lock().state {
            return self.view(ctx);
        }
        let url = match super::plan(&ctx.policy, &ctx.running) {
            Plan::Skip(_) => return self.view(ctx),
            Plan::Fetch(url) => url,
        };
        let t0 = std::time::Instant::now();
        match self.fetch_and_judge(ctx, &url).await {
            Ok(Ok(offer)) => {
                tracing::info!(offered = %offer.version, running = %ctx.running, ms = t0.elapsed().as_millis(), "update available");
                let state = UpdateState::Available {
                    version: offer.version.to_string(),
                    notes: offer.notes.clone(),
                    date: offer.pub_date.clone(),
                    at_close: false,
                };
                self.set(state, Some(offer));
            }
            Ok(Err(state)) => {
                tracing::info!(running = %ctx.running, state = ?state, "no update to offer");
                self.set(state, None);
            }
            Err(e) => self.record(&e, ctx),
        }
        self.view(ctx)
    }

    fn record(&self, e: &UpdateError, ctx: &UpdateContext) {
        tracing::warn!(code = e.code(), error = %e, running = %ctx.running, "update refused or failed; this version keeps running");
        let state = if e.is_refusal() {
            UpdateState::Refused {
                code: e.code().into(),
                reason: e.to_string(),
            }
        } else {
            UpdateState::Failed {
                reason: e.to_string(),
            }
        };
        self.set(state, None);
    }

    async fn fetch_and_judge(
        &self,
        ctx: &UpdateContext,
        url: &url::Url,
    ) -> Result<Result<Offer, UpdateState>, UpdateError> {
        let key = key_of(&ctx.policy)?;
        let net = NetClient::new(&ctx.net)?;
        let body = net.get_bytes_with(url, None).await?;
        let m = super::manifest::parse(&body)?;
        super::judge(&ctx.policy, &ctx.running, &m, &ctx.platform, &key)
    }

    /// Downloads and verifies the offered artifact (kept for the install). Refused during a
    /// visit; a refusal forgets the offer and leaves the running version as it is.
    pub async fn prepare(&self, ctx: &UpdateContext) -> Result<VerifiedUpdate, UpdateError> {
        if ctx.visit_open {
            return Err(UpdateError::VisitOpen);
        }
        let offer = {
            let g = self.lock();
            if let Some(r) = &g.ready {
                return Ok(r.clone());
            }
            g.offer.clone().ok_or(UpdateError::NothingToInstall)?
        };
        match download(ctx, &offer).await {
            Ok(v) => {
                self.lock().ready = Some(v.clone());
                Ok(v)
            }
            Err(e) => {
                self.record(&e, ctx);
                Err(e)
            }
        }
    }

    /// "Install now": prepare, then the installer. The restart stays the user's choice.
    pub async fn install_now(
        &self,
        ctx: &UpdateContext,
        installer: &dyn Installer,
    ) -> Result<UpdateView, UpdateError> {
        let v = self.prepare(ctx).await?;
        self.install(&v, installer, ctx)?;
        Ok(self.view(ctx))
    }

    /// "When I close Rounds": download and verify now, install at close.
    pub async fn install_at_close(&self, ctx: &UpdateContext) -> Result<UpdateView, UpdateError> {
        let v = self.prepare(ctx).await?;
        if let Some(UpdateState::Available { at_close, .. }) = &mut self.lock().state {
            *at_close = true;
        }
        tracing::info!(version = %v.version, "update verified; installs when Rounds closes");
        Ok(self.view(ctx))
    }

    /// At close: the update the user chose to install then, if any.
    pub fn finish_at_close(&self, ctx: &UpdateContext, installer: &dyn Installer) {
        let ready = {
            let g = self.lock();
            match (&g.state, &g.ready) {
                (Some(UpdateState::Available { at_close: true, .. }), Some(r)) => Some(r.clone()),
                _ => None,
            }
        };
        if let Some(v) = ready
            && let Err(e) = self.install(&v, installer, ctx)
        {
            tracing::warn!(error = %e, "update at close failed");
        }
    }

    fn install(
        &self,
        v: &VerifiedUpdate,
        installer: &dyn Installer,
        ctx: &UpdateContext,
    ) -> Result<(), UpdateError> {
        match installer.install(v) {
            Ok(()) => {
                tracing::info!(version = %v.version, target = %v.target, "update installed; starts with the next start");
                let mut g = self.lock();
                g.state = Some(UpdateState::Installed {
                    version: v.version.clone(),
                });
                g.ready = None;
                g.offer = None;
                Ok(())
            }
            Err(detail) => {
                let e = UpdateError::Install { detail };
                self.record(&e, ctx);
                Err(e)
            }
        }
    }
}

fn key_of(p: &UpdatePolicy) -> Result<sign::UpdateKey, UpdateError> {
    let k = p.public_key.as_deref().ok_or(UpdateError::NotAllowed)?;
    sign::parse_public_key(k).map_err(|detail| UpdateError::BadSignature { detail })
}

async fn download(ctx: &UpdateContext, offer: &Offer) -> Result<VerifiedUpdate, UpdateError> {
    let key = key_of(&ctx.policy)?;
    let limits = Limits {
        read: Duration::from_secs(30),
        total: Duration::from_secs(15 * 60),
        max_body: MAX_ARTIFACT_BYTES,
        ..Limits::default()
    };
    let t0 = std::time::Instant::now();
    let net = NetClient::with_limits(&ctx.net, limits)?;
    let bytes = net.get_bytes_with(&offer.artifact.url, None).await?;
    sign::verify_artifact(&key, &offer.artifact.signature, &bytes)?;
    tracing::info!(
        version = %offer.version,
        from = %origin(&offer.artifact.url),
        bytes = bytes.len(),
        ms = t0.elapsed().as_millis(),
        "update downloaded and verified"
    );
    Ok(VerifiedUpdate {
        version: offer.version.to_string(),
        target: offer.target.clone(),
        bytes,
        signature: offer.artifact.signature.clone(),
        manifest: offer.raw.clone(),
        public_key: key.tauri_form(),
    })
}
