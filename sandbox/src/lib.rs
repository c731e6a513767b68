//! Rounds sandbox clinic: an OpenEMR + Jitsi stand-in on loopback TLS, written from
//! `shared/notes/clinic-api.md` (never from the client's code).
//!
//! [`start`] binds the clinic (HTTPS, throw-away CA) and control (plain HTTP) listeners and
//! returns at once; the binary prints one JSON line and serves until killed. Tests call
//! [`start`] in-process.

// Handlers return early with a ready HTTP error (`Result<_, Response>`); those paths are cold and
// boxing the response would only add noise.
#![allow(clippy::result_large_err)]

pub mod control;
pub mod faults;
pub mod fhir;
pub mod jitsi;
pub mod jitsi_media;
pub mod jwt;
pub mod login;
pub mod oauth;
pub mod password;
pub mod seed;
pub mod server;
pub mod state;
pub mod store;
pub mod telehealth;
pub mod tls;
pub mod totp;
pub mod users;
pub mod util;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use axum::Router;
use axum::routing::{get, post};
use serde::Serialize;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::state::{AppState, Clock, Keys};
use crate::tls::{LeafKind, TestCa};
use crate::util::BoxError;

/// Which seed data to load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seed {
    /// Demo clinicians, demo client, a clinic week.
    Demo,
    /// Nothing (tests add what they need through the control API).
    None,
}

/// Start-up options (mirrors the CLI).
#[derive(Debug, Clone)]
pub struct Options {
    /// Clinic HTTPS port on 127.0.0.1; 0 = any free port.
    pub port: u16,
    /// Control API port on 127.0.0.1; 0 = any free port.
    pub control_port: u16,
    /// Where `ca.pem` (and alternate listeners' files) are written.
    pub state_dir: PathBuf,
    pub seed: Seed,
    /// Extra generated appointments.
    pub appointments: usize,
    /// OpenEMR site id.
    pub site: String,
}

impl Options {
    /// Defaults for tests: any ports, no seed.
    pub fn new(state_dir: impl Into<PathBuf>) -> Self {
        Self {
            port: 0,
            control_port: 0,
            state_dir: state_dir.into(),
            seed: Seed::None,
            appointments: 0,
            site: "default".into(),
        }
    }
}

/// The JSON line the binary prints (field order as documented).
#[derive(Debug, Clone, Serialize)]
pub struct Ready {
    pub base_url: String,
    pub site: String,
    pub ca_pem: String,
    pub control_url: String,
}

/// A running sandbox.
pub struct Sandbox {
    pub ready: Ready,
    pub state: Arc<AppState>,
}

/// Binds both listeners, seeds data and spawns the servers on the current tokio runtime.
pub async fn start(opts: Options) -> Result<Sandbox, BoxError> {
    std::fs::create_dir_all(&opts.state_dir)?;
    let state_dir = std::fs::canonicalize(&opts.state_dir)?;
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], opts.port))).await?;
    let control_listener =
        TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], opts.control_port))).await?;
    let port = listener.local_addr()?.port();
    let control_url = format!("http://127.0.0.1:{}", control_listener.local_addr()?.port());

    let ca = TestCa::new("Rounds Sandbox Test CA")?;
    let ca_path = state_dir.join("ca.pem");
    std::fs::write(&ca_path, &ca.pem)?;
    let leaf = ca.leaf(LeafKind::Good)?;
    let acceptor = TlsAcceptor::from(tls::server_config(&leaf)?);

    let id_token_key = aws_lc_rs::signature::EcdsaKeyPair::generate(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
    )
    .map_err(|_| "cannot generate the id_token key")?;
    let state = Arc::new(AppState {
        site: opts.site.clone(),
        base_url: format!("https://127.0.0.1:{port}"),
        state_dir: state_dir.clone(),
        clock: Clock::default(),
        config: Mutex::new(state::Config::default()),
        keys: Keys {
            jitsi_secret: util::random_bytes(32),
            room_key: util::random_bytes(32),
            id_token_key,
            kid: util::b64url(&util::random_bytes(8)),
        },
        ca,
        users: Mutex::new(users::Users::default()),
        oauth: Mutex::new(oauth::OAuthStore::default()),
        store: RwLock::new(store::Store::default()),
        faults: Mutex::new(faults::Faults::default()),
        rooms: Mutex::new(jitsi::Rooms::default()),
        requests: Mutex::new(Vec::new()),
        conns: Mutex::new(Vec::new()),
        children: Mutex::new(Vec::new()),
    });

    if opts.seed == Seed::Demo {
        let now = state.now();
        seed::demo_users(&mut state.users.lock().expect("users lock"), now);
        oauth::add_client(
            &state,
            seed::DEMO_CLIENT_ID,
            seed::DEMO_CLIENT_SECRET,
            seed::DEMO_REDIRECT_URI,
            seed::APP_SCOPE,
        );
        seed::directory(&state, seed::GENERATED_PATIENTS.max(50));
        seed::demo_week(&state);
    } else if opts.appointments > 0 {
        seed::directory(&state, seed::GENERATED_PATIENTS);
    }
    if opts.appointments > 0 {
        seed::generate(&state, opts.appointments);
    }

    let app = clinic_router(state.clone());
    tokio::spawn(server::serve_tls(
        listener,
        acceptor,
        app,
        state.clone(),
        "main".into(),
    ));
    let control_app = control::router(state.clone());
    tokio::spawn(async move {
        let _ = axum::serve(control_listener, control_app).await;
    });

    Ok(Sandbox {
        ready: Ready {
            base_url: state.base_url.clone(),
            site: state.site.clone(),
            ca_pem: ca_path.to_string_lossy().into_owned(),
            control_url,
        },
        state,
    })
}

/// All clinic routes (OpenEMR + Jitsi stand-in), behind the record/fault middleware.
pub fn clinic_router(state: Arc<AppState>) -> Router {
    let site = state.site.clone();
    let o = format!("/oauth2/{site}");
    let f = format!("/apis/{site}/fhir");
    let c = format!("/apis/{site}/clinic");
    Router::new()
        .route(
            &format!("{o}/.well-known/openid-configuration"),
            get(oauth::discovery),
        )
        .route(&format!("{o}/jwk"), get(oauth::jwks))
        .route(&format!("{o}/registration"), post(oauth::register))
        .route(&format!("{o}/token"), post(oauth::token))
        .route(&format!("{o}/mfa/associate"), post(oauth::mfa_associate))
        .route(
            &format!("{o}/userinfo"),
            get(oauth::userinfo).post(oauth::userinfo),
        )
        .route(&format!("{o}/introspect"), post(oauth::introspect))
        .route(&format!("{o}/logout"), get(oauth::logout))
        .route(
            &format!("{o}/authorize"),
            get(login::authorize_get).post(login::authorize_post),
        )
        .route(&format!("{o}/provider/login"), post(login::login_post))
        .route(&format!("{f}/metadata"), get(fhir::metadata))
        .route(&format!("{f}/Appointment"), get(fhir::search_appointments))
        .route(
            &format!("{f}/Appointment/{{id}}"),
            get(fhir::read_appointment),
        )
        .route(&format!("{f}/{{ty}}"), get(fhir::search_other))
        .route(&format!("{f}/{{ty}}/{{id}}"), get(fhir::read_other))
        .route(&format!("{c}/password/status"), get(password::status))
        .route(&format!("{c}/password/change"), post(password::change))
        .route(
            &format!("{c}/telehealth/{{id}}/join"),
            post(telehealth::join),
        )
        .route("/external_api.js", get(jitsi::external_api_js))
        .route("/_sandbox/jitsi/{room}/events", get(jitsi::poll_events))
        .route("/_sandbox/jitsi/{room}/commands", post(jitsi::post_command))
        .route("/_sandbox/jitsi/media.js", get(jitsi_media::media_js))
        .route("/_sandbox/jitsi/e2ee-worker.js", get(jitsi_media::e2ee_js))
        .route(
            "/_sandbox/jitsi/{room}/signal",
            get(jitsi_media::poll_signals).post(jitsi_media::post_signal),
        )
        .route(
            "/_sandbox/jitsi/{room}/media",
            post(jitsi_media::post_media),
        )
        .route(
            "/_sandbox/jitsi/{room}/presence",
            post(jitsi_media::post_presence),
        )
        .route("/{room}", get(jitsi::meeting_page))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            faults::middleware,
        ))
        .with_state(state)
}

async fn not_found() -> axum::response::Response {
    util::oauth_error(
        axum::http::StatusCode::NOT_FOUND,
        "not_found",
        "No such endpoint",
        None,
    )
}
