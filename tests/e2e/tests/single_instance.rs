//! A second launch hands over to the running window instead of opening another one.

use fantoccini::Locator;
use rounds_e2e::{Harness, Result};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_launch_focuses_the_first_window_and_exits() -> Result<()> {
    let h = Harness::start().await?;
    let user = h.wait_for("#username").await?;
    user.send_keys("drsmith").await?;
    assert_eq!(h.app_pids().len(), 1);

    let mut second = h.launch_again()?;
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(s) = second.try_wait()? {
            break s;
        }
        if Instant::now() > deadline {
            let _ = second.kill();
            return Err("the second launch kept running: single instance is broken".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "second launch exited with {status}");

    // Still exactly one app, and it is the same window with what the clinician had typed.
    assert_eq!(h.app_pids().len(), 1);
    let value = h
        .client
        .find(Locator::Id("username"))
        .await?
        .prop("value")
        .await?;
    assert_eq!(value.as_deref(), Some("drsmith"));
    h.stop().await
}
