//! The schedule in the real window: sign in, the demo day appears (synced from the sandbox
//! into the SQLCipher cache), then the clinic goes away and Rounds is reopened: the same day is
//! still there, marked offline with its last-synced time. No patient name reaches the log or
//! the cache file in the clear.

use rounds_e2e::{Harness, Result};

async fn patient_names(h: &Harness) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for e in h
        .client
        .find_all(fantoccini::Locator::Css("[data-visit] .patient"))
        .await?
    {
        names.push(e.text().await?);
    }
    Ok(names)
}

fn files_under(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_day_is_shown_and_stays_offline_after_a_restart() -> Result<()> {
    let mut h = Harness::start().await?;
    h.sign_in_demo("drsmith").await?;
    if let Err(e) = h
        .wait_attr("[data-testid=sync-status]", "data-phase", "done")
        .await
    {
        h.screenshot("schedule-failed").await?;
        return Err(format!("the first sync did not finish: {e:?}\n{}", h.app_logs()).into());
    }
    h.wait_for("[data-visit]").await?;
    let online = patient_names(&h).await?;
    assert!(!online.is_empty(), "the demo day has visits for drsmith");
    assert!(
        online.iter().all(|n| !n.contains("not available")),
        "patient names resolved: {online:?}"
    );
    h.wait_for("[data-visit] .badge.video").await?;
    h.screenshot("schedule").await?;

    // The clinic disappears; the clinician reopens Rounds.
    h.sandbox.stop();
    h.restart_app().await?;
    let problem = match h
        .wait_for("[data-testid=sync-problem][data-kind=network]")
        .await
    {
        Ok(p) => p,
        Err(e) => {
            h.screenshot("schedule-offline-failed").await?;
            let page = h.client.source().await.unwrap_or_default();
            return Err(format!("no offline notice: {e:?}\n{page}\n{}", h.app_logs()).into());
        }
    };
    let words = problem.text().await?;
    assert!(
        words.contains("Offline") && words.contains("as of"),
        "{words}"
    );
    h.wait_for("[data-visit]").await?;
    assert_eq!(
        patient_names(&h).await?,
        online,
        "the same day, from the cache"
    );
    h.screenshot("schedule-offline").await?;

    // PHI only on screen and in the encrypted cache: not in the log, not in clear in any file.
    let logs = h.app_logs();
    let mut files = Vec::new();
    files_under(&h.home, &mut files);
    let cache: Vec<_> = files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "db"))
        .collect();
    assert!(
        !cache.is_empty(),
        "a cache file exists under HOME: {files:?}"
    );
    for name in &online {
        assert!(!logs.contains(name.as_str()), "{name} is in the log");
        for f in &files {
            let bytes = std::fs::read(f).unwrap_or_default();
            assert!(
                !bytes.windows(name.len()).any(|w| w == name.as_bytes()),
                "{name} in clear in {}",
                f.display()
            );
        }
    }
    h.stop().await
}
