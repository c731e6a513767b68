//! Child processes in their own process groups (so teardown also ends what they spawned) and
//! the watchdog that ends them all when a test hangs.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::Result;

/// Process groups alive right now, so the watchdog can end them all if a test hangs.
static GROUPS: std::sync::Mutex<Vec<u32>> = std::sync::Mutex::new(Vec::new());

fn kill_group(pgid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args([signal, "--", &format!("-{pgid}")])
        .stderr(Stdio::null())
        .status();
}

/// A child process in its own process group, so teardown also ends what it spawned.
pub(crate) struct Group(pub(crate) Child);

impl Drop for Group {
    fn drop(&mut self) {
        let pgid = self.0.id();
        if let Ok(mut g) = GROUPS.lock() {
            g.retain(|p| *p != pgid);
        }
        kill_group(pgid, "-TERM");
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        kill_group(pgid, "-KILL");
        let _ = self.0.wait();
    }
}

pub(crate) fn spawn_group(cmd: &mut Command) -> Result<Group> {
    use std::os::unix::process::CommandExt;
    let child = cmd.process_group(0).spawn()?;
    if let Ok(mut g) = GROUPS.lock() {
        g.push(child.id());
    }
    Ok(Group(child))
}

/// Fails the run instead of hanging it: WebDriver calls have no timeout of their own, and a
/// stuck WebKitWebDriver must cost CI two minutes, not ninety. On expiry it ends every process
/// group the harness started and exits non-zero.
pub struct Watchdog(Option<std::sync::mpsc::Sender<()>>);

impl Watchdog {
    pub fn start(limit: Duration) -> Self {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        std::thread::spawn(move || {
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(limit) {
                // Straight to stderr: the test harness's output capture would swallow eprintln!.
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "e2e watchdog: test exceeded {limit:?}; ending the app and its helpers"
                );
                let groups = GROUPS.lock().map(|g| g.clone()).unwrap_or_default();
                for pgid in groups {
                    kill_group(pgid, "-KILL");
                }
                std::process::exit(101);
            }
        });
        Self(Some(tx))
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}
