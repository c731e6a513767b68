//! Rounds' native core: everything the app does that is not drawing a window.
//!
//! It has no Tauri dependency on purpose: the desktop shell (`src-tauri`), the IT/support CLI
//! (`rounds-cli`) and the tests all drive this one API surface ([`app::Core`]), so behaviour is
//! tested without a window and cannot fork between front ends.
//!
//! One module per concern, each with its own `thiserror` enum; [`error::CoreError`] gathers them
//! so the shell can map every failure to a UI code in exactly one place.

pub mod app;
pub mod audit;
pub mod auth;
pub mod changes;
pub mod config;
pub mod error;
pub mod logging;
mod loopback;
pub mod net;
pub mod password;
pub mod paths;
pub mod policy;
pub mod readiness;
pub mod rotation;
pub mod schedule;
pub mod secret;
pub mod update;
pub mod vault;
pub mod video;

pub use app::Core;
pub use error::CoreError;

/// The product version, shown in the UI and in `rounds-cli doctor`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
