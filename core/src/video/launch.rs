//! The running app window: started on its fresh profile, watched, closed when the visit ends
//! (after a short grace so the clinician reads "The visit has ended"), and its profile deleted
//! whatever way it ends: the clinician closes it, the visit ends, Rounds signs out or quits.

use super::VisitPhase;
use super::window::{AppWindowSpec, app_window_args, prepare_profile};
use std::time::Duration;
use tokio::sync::{oneshot, watch};

/// How long an ended visit stays on screen before its window closes.
pub const ENDED_GRACE: Duration = Duration::from_secs(3);

/// A launched app window. Dropping it closes the window and deletes the profile.
pub struct AppWindow {
    stop: Option<oneshot::Sender<()>>,
    gone: watch::Receiver<bool>,
    pid: Option<u32>,
}

impl AppWindow {
    /// Prepares the profile and starts the browser. `phase` is the visit as the core follows
    /// it; `on_closed` runs once the window is gone and the profile deleted.
    pub fn launch(
        spec: &AppWindowSpec,
        mut phase: watch::Receiver<VisitPhase>,
        on_closed: impl FnOnce() + Send + 'static,
    ) -> std::io::Result<AppWindow> {
        prepare_profile(&spec.profile, &spec.origins)?;
        let mut cmd = tokio::process::Command::new(&spec.browser);
        cmd.args(app_window_args(spec))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true);
        #[cfg(unix)]
        cmd.process_group(0);
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&spec.profile);
                return Err(e);
            }
        };
        let pid = child.id();
        let (stop, mut stopped) = oneshot::channel::<()>();
        let (gone_tx, gone) = watch::channel(false);
        let profile = spec.profile.clone();
        tokio::spawn(async move {
            let ended = async {
                loop {
                    if *phase.borrow_and_update() == VisitPhase::Ended {
                        tokio::time::sleep(ENDED_GRACE).await;
                        return;
                    }
                    if phase.changed().await.is_err() {
                        // The page is gone: the visit is over.
                        return;
                    }
                }
            };
            let why = tokio::select! {
                _ = child.wait() => "closed by the clinician",
                _ = &mut stopped => "closed by Rounds",
                _ = ended => "visit ended",
            };
            terminate(pid, &mut child).await;
            wipe(&profile).await;
            tracing::info!(why, "visit window closed, its profile deleted");
            let _ = gone_tx.send(true);
            on_closed();
        });
        Ok(AppWindow {
            stop: Some(stop),
            gone,
            pid,
        })
    }

    /// The browser's process id (its process group), for footprint measurements.
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// Closes the window; returns once it is gone and its profile deleted (bounded).
    pub async fn close(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let mut gone = self.gone.clone();
        let _ = tokio::time::timeout(Duration::from_secs(10), gone.wait_for(|g| *g)).await;
    }
}

impl Drop for AppWindow {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

/// SIGTERM to the browser's whole process group (renderers, GPU, utility processes), SIGKILL
/// after 5 s.
async fn terminate(pid: Option<u32>, child: &mut tokio::process::Child) {
    signal_group(pid, false);
    if tokio::time::timeout(Duration::from_secs(5), child.wait())
        .await
        .is_err()
    {
        signal_group(pid, true);
        let _ = child.kill().await;
    }
    // Helpers of the group may outlive the browser by a moment.
    signal_group(pid, true);
}

#[cfg(target_os = "linux")]
fn signal_group(pid: Option<u32>, kill: bool) {
    use rustix::process::{Pid, Signal, kill_process_group};
    let Some(p) = pid
        .and_then(|p| i32::try_from(p).ok())
        .and_then(Pid::from_raw)
    else {
        return;
    };
    let _ = kill_process_group(p, if kill { Signal::KILL } else { Signal::TERM });
}

#[cfg(not(target_os = "linux"))]
fn signal_group(_pid: Option<u32>, _kill: bool) {}

/// Deletes the profile; retried briefly because a helper process may still be writing.
async fn wipe(profile: &std::path::Path) {
    for _ in 0..20 {
        match std::fs::remove_dir_all(profile) {
            Ok(()) => return,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    tracing::warn!("the visit window's profile could not be deleted; it is removed at next start");
}

#[cfg(all(test, unix))]
#[allow(clippy::unwrap_used)] // a test that cannot set up should stop there
mod tests {
    use super::*;
    use crate::video::permissions::VisitOrigins;
    use std::os::unix::fs::PermissionsExt as _;
    use url::Url;

    /// A stand-in "browser" that writes into its profile like Chromium does, then lives on.
    fn fake_browser(dir: &std::path::Path) -> std::path::PathBuf {
        let p = dir.join("fake-browser");
        std::fs::write(
            &p,
            "#!/bin/sh\nfor a in \"$@\"; do case $a in --user-data-dir=*) d=${a#--user-data-dir=};; esac; done\n\
             echo cookie > \"$d/Default/Cookies\"; sleep 30 & wait\n",
        )
        .unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    fn spec(dir: &std::path::Path) -> AppWindowSpec {
        AppWindowSpec {
            browser: fake_browser(dir),
            page_url: Url::parse("http://127.0.0.1:40123/visit/n/").unwrap(),
            origins: VisitOrigins::new(
                &Url::parse("http://127.0.0.1:40123/visit/n/").unwrap(),
                &Url::parse("https://meet.example.org").unwrap(),
            )
            .unwrap(),
            spki_sha256: None,
            profile: dir.join("visit-window/p1"),
        }
    }

    #[tokio::test]
    async fn an_ended_visit_closes_the_window_and_deletes_its_profile() {
        let d = tempfile::tempdir().unwrap();
        let s = spec(d.path());
        let (tx, rx) = watch::channel(VisitPhase::Joined);
        let (done_tx, done) = oneshot::channel();
        let w = AppWindow::launch(&s, rx, move || {
            let _ = done_tx.send(());
        })
        .unwrap();
        let cookies = s.profile.join("Default/Cookies");
        for _ in 0..50 {
            if cookies.exists() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(cookies.exists(), "the browser ran on the fresh profile");
        tx.send(VisitPhase::Ended).unwrap();
        tokio::time::timeout(ENDED_GRACE + Duration::from_secs(8), done)
            .await
            .expect("window closed after the grace")
            .unwrap();
        assert!(!s.profile.exists(), "profile deleted");
        let pid = w.pid().unwrap();
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists() || {
                // A zombie until reaped is fine; a running process is not.
                std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .map(|s| s.contains(") Z "))
                    .unwrap_or(true)
            }
        );
    }

    #[tokio::test]
    async fn closing_from_rounds_deletes_the_profile_too() {
        let d = tempfile::tempdir().unwrap();
        let s = spec(d.path());
        let (_tx, rx) = watch::channel(VisitPhase::Joining);
        let w = AppWindow::launch(&s, rx, || {}).unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        w.close().await;
        assert!(!s.profile.exists());
    }
}
