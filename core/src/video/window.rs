//! Where the visit runs, and the Chromium-family app window that carries the call on Linux.
//!
//! WebKitGTK has no WebRTC on any distribution (video-platforms.md), so on Linux the visit
//! page opens in Chrome, Chromium or Edge with `--app=`: a window with no tabs, address bar or
//! extensions that looks like part of Rounds. It runs on a profile of its own, made fresh for
//! each visit under the app's data dir and deleted when the visit ends, so no cookie, cache
//! entry or token outlives the visit and nothing of the clinician's own browser is touched.
//!
//! The profile is pre-granted camera and microphone for exactly the visit's two origins
//! ([`VisitOrigins::chromium_patterns`]), so the clinician is not asked and nothing else may
//! ask. The browser trusts exactly the video server's key that Rounds verified (hospital CA,
//! pins) through `--ignore-certificate-errors-spki-list`, which Chromium honours only for a
//! profile given with `--user-data-dir`.

use super::permissions::VisitOrigins;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Policy `video.linux_window`, mirrored here so the decision stays a plain function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinuxWindow {
    AppWindow,
    SystemBrowser,
}

/// Where a visit opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WindowChoice {
    /// Rounds' own visit webview (it can carry the call: WebView2, WKWebView).
    Embedded,
    /// A Chromium-family app window on this profile-less path (Linux).
    AppWindow(PathBuf),
    /// The default browser (no Chromium-family browser here, or IT chose it).
    SystemBrowser,
}

/// The one decision: the embedded view when it can carry media; otherwise the app window
/// when policy allows it and a browser was found; otherwise the system browser.
pub fn choose(embedded_media: bool, mode: LinuxWindow, browser: Option<PathBuf>) -> WindowChoice {
    match (embedded_media, mode, browser) {
        (true, _, _) => WindowChoice::Embedded,
        (false, LinuxWindow::AppWindow, Some(b)) => WindowChoice::AppWindow(b),
        _ => WindowChoice::SystemBrowser,
    }
}

/// Names tried on `PATH`, in order: Chrome, Chromium (Debian and Ubuntu names), Edge.
pub const BROWSER_NAMES: &[&str] = &[
    "google-chrome",
    "google-chrome-stable",
    "chromium",
    "chromium-browser",
    "microsoft-edge",
    "microsoft-edge-stable",
];

/// The browser to use: IT's path when it is an executable file, else the first of
/// [`BROWSER_NAMES`] found on `path_var`.
pub fn find_browser(
    policy_path: Option<&Path>,
    path_var: Option<&std::ffi::OsStr>,
) -> Option<PathBuf> {
    if let Some(p) = policy_path {
        if is_executable(p) {
            return Some(p.to_path_buf());
        }
        tracing::warn!(path = %p.display(), "video.browser_path is not an executable file; looking on PATH");
    }
    let dirs: Vec<PathBuf> = std::env::split_paths(path_var?).collect();
    BROWSER_NAMES
        .iter()
        .flat_map(|n| dirs.iter().map(move |d| d.join(n)))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        p.is_file()
    }
}

/// Everything the app window is started with.
#[derive(Debug, Clone)]
pub struct AppWindowSpec {
    pub browser: PathBuf,
    pub page_url: url::Url,
    pub origins: VisitOrigins,
    /// base64 SHA-256 of the video server's SPKI, as Rounds verified it.
    pub spki_sha256: Option<String>,
    pub profile: PathBuf,
}

/// The command line. No URL but the loopback page (it carries a nonce, never the token).
pub fn app_window_args(spec: &AppWindowSpec) -> Vec<OsString> {
    let mut a: Vec<OsString> = vec![
        format!("--user-data-dir={}", spec.profile.display()).into(),
        format!("--app={}", spec.page_url).into(),
        "--class=Rounds".into(),
        "--window-size=1100,760".into(),
        "--no-first-run".into(),
        "--no-default-browser-check".into(),
        "--disable-extensions".into(),
        "--disable-component-extensions-with-background-pages".into(),
        "--disable-sync".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-default-apps".into(),
        "--disable-breakpad".into(),
        "--metrics-recording-only".into(),
        // Its own throwaway key, not an item in the clinician's keychain.
        "--password-store=basic".into(),
        "--disable-features=Translate,MediaRouter,OptimizationHints,AutofillServerCommunication,PasswordManagerOnboarding".into(),
    ];
    if let Some(spki) = &spec.spki_sha256 {
        a.push(format!("--ignore-certificate-errors-spki-list={spki}").into());
    }
    a
}

/// The fresh profile's `Default/Preferences`: media for the two origins, no password saving,
/// no autofill, no translate prompt, no "restore pages" bubble.
pub fn profile_preferences(origins: &VisitOrigins) -> serde_json::Value {
    let grants: serde_json::Map<String, serde_json::Value> = origins
        .chromium_patterns()
        .into_iter()
        .map(|p| (p, serde_json::json!({"setting": 1})))
        .collect();
    serde_json::json!({
        "profile": {
            "content_settings": {"exceptions": {
                "media_stream_camera": grants.clone(),
                "media_stream_mic": grants,
            }},
            "password_manager_enabled": false,
            "exit_type": "Normal",
            "exited_cleanly": true,
        },
        "credentials_enable_service": false,
        "autofill": {"profile_enabled": false, "credit_card_enabled": false},
        "translate": {"enabled": false},
        "browser": {"has_seen_welcome_page": true, "check_default_browser": false},
        "download": {"prompt_for_download": true},
    })
}

/// Makes the profile directory (0700) and writes its preferences.
pub fn prepare_profile(dir: &Path, origins: &VisitOrigins) -> std::io::Result<()> {
    let default = dir.join("Default");
    std::fs::create_dir_all(&default)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    std::fs::write(dir.join("First Run"), b"")?;
    let prefs = serde_json::to_vec(&profile_preferences(origins)).unwrap_or_default();
    std::fs::write(default.join("Preferences"), prefs)
}

/// Where visit profiles live: `<data_dir>/visit-window/`.
pub fn profiles_root(data_dir: &Path) -> PathBuf {
    data_dir.join("visit-window")
}

/// Deletes every visit profile left behind (a crash, a power cut): called at start.
pub fn wipe_all(data_dir: &Path) {
    let root = profiles_root(data_dir);
    if root.exists()
        && let Err(e) = std::fs::remove_dir_all(&root)
    {
        tracing::warn!(error = %e, "old visit window profiles could not be deleted");
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a test that cannot set up should stop there
mod tests {
    use super::*;
    use url::Url;

    fn origins() -> VisitOrigins {
        VisitOrigins::new(
            &Url::parse("http://127.0.0.1:40123/visit/n/").unwrap(),
            &Url::parse("https://meet.example.org").unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn embedded_when_it_can_carry_media_else_app_window_else_system_browser() {
        let b = Some(PathBuf::from("/usr/bin/chromium"));
        assert_eq!(
            choose(true, LinuxWindow::AppWindow, b.clone()),
            WindowChoice::Embedded
        );
        assert_eq!(
            choose(false, LinuxWindow::AppWindow, b.clone()),
            WindowChoice::AppWindow(PathBuf::from("/usr/bin/chromium"))
        );
        assert_eq!(
            choose(false, LinuxWindow::AppWindow, None),
            WindowChoice::SystemBrowser
        );
        assert_eq!(
            choose(false, LinuxWindow::SystemBrowser, b),
            WindowChoice::SystemBrowser
        );
    }

    #[cfg(unix)]
    #[test]
    fn finds_the_policy_path_first_then_chrome_chromium_edge_on_path() {
        use std::os::unix::fs::PermissionsExt as _;
        let d = tempfile::tempdir().unwrap();
        let mk = |name: &str, exec: bool| {
            let p = d.path().join(name);
            std::fs::write(&p, "#!/bin/sh\n").unwrap();
            let mode = if exec { 0o755 } else { 0o644 };
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            p
        };
        let path = std::env::join_paths([d.path()]).unwrap();
        assert_eq!(find_browser(None, Some(&path)), None);
        mk("microsoft-edge", true);
        mk("chromium", false); // not executable: skipped
        assert_eq!(
            find_browser(None, Some(&path)),
            Some(d.path().join("microsoft-edge"))
        );
        mk("google-chrome", true);
        assert_eq!(
            find_browser(None, Some(&path)),
            Some(d.path().join("google-chrome"))
        );
        let it = mk("it-chosen", true);
        assert_eq!(find_browser(Some(&it), Some(&path)), Some(it));
        let missing = d.path().join("gone");
        assert_eq!(
            find_browser(Some(&missing), Some(&path)),
            Some(d.path().join("google-chrome"))
        );
    }

    #[test]
    fn the_command_line_has_the_page_the_profile_and_the_verified_key_only() {
        let spec = AppWindowSpec {
            browser: "/usr/bin/chromium".into(),
            page_url: Url::parse("http://127.0.0.1:40123/visit/n/").unwrap(),
            origins: origins(),
            spki_sha256: Some("AAAA".into()),
            profile: "/data/visit-window/x".into(),
        };
        let a: Vec<String> = app_window_args(&spec)
            .into_iter()
            .map(|s| s.into_string().unwrap())
            .collect();
        assert!(a.contains(&"--app=http://127.0.0.1:40123/visit/n/".to_string()));
        assert!(a.contains(&"--user-data-dir=/data/visit-window/x".to_string()));
        assert!(a.contains(&"--ignore-certificate-errors-spki-list=AAAA".to_string()));
        for flag in [
            "--disable-extensions",
            "--disable-sync",
            "--no-first-run",
            "--password-store=basic",
        ] {
            assert!(a.contains(&flag.to_string()), "{flag}");
        }
        // Nothing that loosens the browser for everyone.
        for bad in [
            "--no-sandbox",
            "--ignore-certificate-errors",
            "--use-fake-ui-for-media-stream",
            "--disable-web-security",
        ] {
            assert!(
                !a.iter()
                    .any(|x| x == bad || x.starts_with(&format!("{bad}="))),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_profile_grants_media_to_the_two_origins_and_saves_no_passwords() {
        let p = profile_preferences(&origins());
        let cam = &p["profile"]["content_settings"]["exceptions"]["media_stream_camera"];
        let keys: Vec<&String> = cam.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            ["http://127.0.0.1:40123,*", "https://meet.example.org:443,*"]
        );
        assert_eq!(p["credentials_enable_service"], false);
        assert_eq!(p["profile"]["password_manager_enabled"], false);
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("p");
        prepare_profile(&dir, &origins()).unwrap();
        assert!(dir.join("Default/Preferences").is_file());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700);
        }
    }
}
