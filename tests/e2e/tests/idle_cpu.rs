//! CPU while idle (issue 19), a measurement, not a check: signed in with the demo day on
//! screen and nobody at the computer, the CPU time of the app's whole process tree (the app
//! and its WebKit processes) over `IDLE_SECS` (default 600). Ignored by `make test`; run with
//! `ROUNDS_APP_BIN=<binary> IDLE_SECS=600 cargo test -p rounds-e2e --test idle_cpu -- --ignored
//! --nocapture`, once per build to compare, with the empty Tauri app measured beside it
//! (`bench/idle-cpu.sh`).

use rounds_e2e::{Harness, Result};
use std::time::{Duration, Instant};

/// CPU time of `pid` and every descendant (with their reaped children), in clock ticks.
fn tree_ticks(root: u32) -> u64 {
    let mut kids: std::collections::HashMap<u32, Vec<u32>> = Default::default();
    let mut ticks: std::collections::HashMap<u32, u64> = Default::default();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ppid = f.get(1).and_then(|v| v.parse().ok()).unwrap_or(0);
        // utime, stime, and cutime, cstime: a helper that ended still counts.
        let t: u64 = (11..=14)
            .filter_map(|i| f.get(i).and_then(|v| v.parse::<u64>().ok()))
            .sum();
        kids.entry(ppid).or_default().push(pid);
        ticks.insert(pid, t);
    }
    let mut sum = 0;
    let mut todo = vec![root];
    while let Some(p) = todo.pop() {
        sum += ticks.get(&p).copied().unwrap_or(0);
        todo.extend(kids.get(&p).into_iter().flatten().copied());
    }
    sum
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a 10-minute measurement; run by hand"]
async fn cpu_of_the_signed_in_app_left_idle() -> Result<()> {
    let idle = Duration::from_secs(
        std::env::var("IDLE_SECS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(600),
    );
    let h = Harness::start().await?;
    h.sign_in_demo("drsmith").await?;
    h.wait_attr("[data-testid=sync-status]", "data-phase", "done")
        .await?;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let root = *h.app_pids().iter().min().ok_or("the app's process")?;
    let t0 = Instant::now();
    let c0 = tree_ticks(root);
    tokio::time::sleep(idle).await;
    let used = tree_ticks(root).saturating_sub(c0) as f64 / 100.0;
    let wall = t0.elapsed().as_secs_f64();
    println!(
        "IDLE_CPU {}: {used:.2} s CPU in {wall:.0} s = {:.2} % of one core",
        h.app.display(),
        100.0 * used / wall
    );
    h.stop().await
}
