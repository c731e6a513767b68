//! Schedule sync figures against the in-process sandbox over loopback TLS, as ratios to floors
//! measured in the same run (the machines are noisy; compare ratios, not times):
//!
//! `cargo bench -p rounds-clinic-tests --bench schedule_bench` (env `SIZES=10000,100000`).
//!
//! - **full sync** (window run, 100 per page, Patient names fetched, one SQLCipher transaction
//!   per page) vs the **floor** = bare download of the same pages with the same `NetClient`
//!   (following `next` links) + `serde_json::Value` parse + plain-SQLite insert of the same
//!   fields in ONE transaction (no encryption, no name lookups). Target ≤ 2×.
//! - incremental sync after 10 changes: time (target ≤ 50 ms) and bytes vs the full sync.
//! - day query on the open cache (target ≤ 20 ms), all visits and one clinician's.
//! - open: raw key (no KDF) vs passphrase key (PBKDF2, 256k rounds), each including the
//!   HMAC check of every page that `Cache::open` does.
//! - SQLCipher vs plain SQLite on the same page-insert workload (`commit_page`).
//! - VmHWM before/after the full sync (the sandbox lives in this process: its memory is in the
//!   baseline).

use std::path::Path;
use std::time::{Duration, Instant};

#[path = "../tests/schedule_common/mod.rs"]
mod schedule_common;

use rounds_clinic_tests::temp_dir;
use rounds_core::net::{Credential, Url};
use rounds_core::schedule::cache::PageWrite;
use rounds_core::schedule::key::new_raw_key;
use rounds_core::schedule::{
    Appointment, Cache, CacheKey, MemoryKeyStore, SyncMode, instant, parse_bundle,
};
use rounds_core::secret::Secret;
use schedule_common::*;
use serde_json::{Value, json};
use sqlx::ConnectOptions as _;
use sqlx::Connection as _;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The floor: download every page (same client, same first query), then parse, then insert.
async fn floor(
    sb: &rounds_sandbox::Sandbox,
    first: &Url,
    token: &str,
    dir: &Path,
) -> (Duration, Duration, Duration, u64) {
    let net = net(sb);
    let server = Url::parse(&sb.ready.base_url).expect("url");
    let t = Instant::now();
    let mut pages: Vec<Vec<u8>> = Vec::new();
    let mut next = Some(first.clone());
    while let Some(u) = next.take() {
        let cred = Credential::bearer(&server, Secret::new(token.into()));
        let b = net.get_bytes_with(&u, Some(&cred)).await.expect("page");
        // Finding the next link is part of paging, not of the parse being measured.
        let v: Value = serde_json::from_slice(&b).expect("json");
        next = v["link"].as_array().and_then(|l| {
            l.iter()
                .find(|x| x["relation"] == "next")
                .and_then(|x| Url::parse(x["url"].as_str()?).ok())
        });
        pages.push(b);
    }
    let download = t.elapsed();
    let bytes: u64 = pages.iter().map(|p| p.len() as u64).sum();
    let t = Instant::now();
    let mut rows: Vec<[String; 5]> = Vec::new();
    for p in &pages {
        let v: Value = serde_json::from_slice(p).expect("json");
        for e in v["entry"].as_array().into_iter().flatten() {
            let r = &e["resource"];
            let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
            rows.push([
                s("id"),
                s("start"),
                s("end"),
                s("status"),
                r["meta"]["lastUpdated"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            ]);
        }
    }
    let parse = t.elapsed();
    drop(pages);
    let t = Instant::now();
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(dir.join("floor.db"))
        .create_if_missing(true)
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
        .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
        .pragma("cache_size", "-8192") // same page cache as the Rounds cache
        .disable_statement_logging()
        .connect()
        .await
        .expect("floor db");
    sqlx::raw_sql(
        "CREATE TABLE a (id TEXT PRIMARY KEY, start TEXT, ends TEXT, status TEXT, lu TEXT)",
    )
    .execute(&mut conn)
    .await
    .expect("table");
    let mut tx = conn.begin().await.expect("tx");
    // Multi-row statements: sqlx runs SQLite on a worker thread, and one round trip per row
    // would make this "floor" slower than the product (rusqlite has no such round trip).
    for chunk in rows.chunks(200) {
        let mut sql = String::from("INSERT INTO a VALUES ");
        sql.push_str(&vec!["(?,?,?,?,?)"; chunk.len()].join(","));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for r in chunk {
            for f in r {
                q = q.bind(f.as_str());
            }
        }
        q.execute(&mut *tx).await.expect("insert");
    }
    tx.commit().await.expect("commit");
    let insert = t.elapsed();
    let _ = conn.close().await;
    (download, parse, insert, bytes)
}

/// Same pages through `commit_page` into a fresh file with `key`.
async fn insert_workload(pages: &[Vec<Appointment>], path: &Path, key: CacheKey) -> Duration {
    let cache = Cache::open_at(path, key).await.expect("open");
    let t = Instant::now();
    for p in pages {
        cache
            .commit_page(PageWrite {
                appointments: p,
                seen_run: Some(1),
                patients: &[],
                run: None,
                finish: None,
            })
            .await
            .expect("page");
    }
    let d = t.elapsed();
    cache.close().await;
    d
}

async fn bench(n: usize, rounds: usize) {
    println!("\n== {n} generated appointments (+86 demo) ==");
    let sb = clinic(n).await;
    let token = TokenEndpoint::of(&sb)
        .token_for(NO_MFA_USER)
        .await
        .expect("token");
    let mut sync_t = Vec::new();
    let mut floor_t = Vec::new();
    let (mut last_cache, mut full_bytes, mut hwm) = (None, 0, (0, 0));
    for r in 0..rounds {
        let dir = temp_dir("sched-bench");
        let keys = MemoryKeyStore::default();
        let cache = open_cache(&dir, &keys).await;
        let (src, _) = source(&sb).await;
        let s = syncer_with(&sb, cache.clone(), src).await;
        let before = vm_hwm_kib();
        let t = Instant::now();
        let sum = s.sync_once(SyncMode::Window).await.expect("full sync");
        let d = t.elapsed();
        hwm = (before, vm_hwm_kib());
        full_bytes = sum.bytes;
        // The floor follows the same first query the syncer sent.
        let first = {
            let mut u = base(&sb);
            u.path_segments_mut().expect("base").push("Appointment");
            let today = instant::day_start(instant::unix_now());
            u.query_pairs_mut()
                .append_pair(
                    "date",
                    &format!("ge{}", instant::format_date(today - 30 * 86_400)),
                )
                .append_pair(
                    "date",
                    &format!("le{}", instant::format_date(today + 90 * 86_400)),
                )
                .append_pair("_count", "100");
            u
        };
        let (dl, parse, ins, bytes) = floor(&sb, &first, &token, &dir).await;
        let fl = dl + parse + ins;
        println!(
            "round {r}: full sync {:.0} ms ({} pages, {} appts, {} patient requests, {:.1} MB) | floor {:.0} ms = download {:.0} + parse {:.0} + insert {:.0} ({:.1} MB) | ratio {:.2}×",
            ms(d),
            sum.pages,
            sum.appointments,
            sum.patient_requests,
            sum.bytes as f64 / 1e6,
            ms(fl),
            ms(dl),
            ms(parse),
            ms(ins),
            bytes as f64 / 1e6,
            d.as_secs_f64() / fl.as_secs_f64()
        );
        sync_t.push(d);
        floor_t.push(fl);
        last_cache = Some((s, dir));
    }
    let (sm, fm) = (median(sync_t), median(floor_t));
    println!(
        "FULL SYNC median {:.0} ms vs floor {:.0} ms → {:.2}× (target ≤ 2×)",
        ms(sm),
        ms(fm),
        sm.as_secs_f64() / fm.as_secs_f64()
    );
    println!(
        "VmHWM before full sync {} MiB, after {} MiB (+{} MiB)",
        hwm.0 / 1024,
        hwm.1 / 1024,
        hwm.1.saturating_sub(hwm.0) / 1024
    );

    let (s, dir) = last_cache.expect("a round ran");
    // Incremental after 10 changes.
    let ids = sandbox_ids(&sb);
    for id in ids.iter().step_by(ids.len() / 10).take(10) {
        control(
            &sb,
            "POST",
            &format!("/control/appointments/{id}/status"),
            json!({"status":"cancelled"}),
        )
        .await;
    }
    let t = Instant::now();
    let inc = s
        .sync_once(SyncMode::Incremental)
        .await
        .expect("incremental");
    let d = t.elapsed();
    println!(
        "INCREMENTAL (10 changes): {:.1} ms (target ≤ 50 ms), {} appointments, {} bytes = {:.3}% of the full sync's {}",
        ms(d),
        inc.appointments,
        inc.bytes,
        inc.bytes as f64 * 100.0 / full_bytes as f64,
        full_bytes
    );

    // Day queries on the open cache.
    let uuid = uuid_of(&sb, "drsmith").await;
    let today = instant::day_start(instant::unix_now());
    for (what, who) in [("all", None), ("drsmith", Some(uuid.as_str()))] {
        let mut v = Vec::new();
        let mut rows = 0;
        for _ in 0..21 {
            let t = Instant::now();
            rows = s
                .cache()
                .day(today, today + 86_400, who)
                .await
                .expect("day")
                .len();
            v.push(t.elapsed());
        }
        println!(
            "DAY QUERY ({what}): median {:.2} ms for {rows} visits (target ≤ 20 ms)",
            ms(median(v))
        );
    }

    // Open cost: raw key vs passphrase, same data.
    let counts = s.cache().counts().await.expect("counts");
    s.cache().close().await;
    let pages: Vec<Vec<Appointment>> = {
        // Re-download the window once to get the same parsed pages for the insert workload.
        let net = net(&sb);
        let server = Url::parse(&sb.ready.base_url).expect("url");
        let mut out = Vec::new();
        let mut next = Some({
            let mut u = base(&sb);
            u.path_segments_mut().expect("base").push("Appointment");
            u.query_pairs_mut().append_pair("_count", "100");
            u
        });
        while let Some(u) = next.take() {
            let cred = Credential::bearer(&server, Secret::new(token.clone()));
            let b = net.get_bytes_with(&u, Some(&cred)).await.expect("page");
            let r = parse_bundle(&b).expect("page");
            next = r.next.as_deref().and_then(|x| Url::parse(x).ok());
            out.push(r.appointments);
        }
        out
    };
    let key_hex = new_raw_key().expect("rng");
    let enc = insert_workload(
        &pages,
        &dir.join("enc.db"),
        CacheKey::Raw(Secret::new(key_hex.expose().into())),
    )
    .await;
    let plain = insert_workload(
        &pages,
        &dir.join("plain.db"),
        CacheKey::UnencryptedForBenchmark,
    )
    .await;
    println!(
        "INSERT WORKLOAD ({} pages, {} rows, one tx per page): SQLCipher {:.0} ms vs plain SQLite {:.0} ms → {:.2}×",
        pages.len(),
        counts.appointments,
        ms(enc),
        ms(plain),
        enc.as_secs_f64() / plain.as_secs_f64()
    );
    let pass = "correct horse battery staple";
    let _ = insert_workload(
        &pages,
        &dir.join("pass.db"),
        CacheKey::Passphrase(Secret::new(pass.into())),
    )
    .await;
    let mut raw_open = Vec::new();
    let mut pass_open = Vec::new();
    let mut plain_open = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let c = Cache::open_at(
            &dir.join("enc.db"),
            CacheKey::Raw(Secret::new(key_hex.expose().into())),
        )
        .await
        .expect("raw open");
        c.counts().await.expect("read");
        raw_open.push(t.elapsed());
        c.close().await;
        let t = Instant::now();
        let c = Cache::open_at(
            &dir.join("pass.db"),
            CacheKey::Passphrase(Secret::new(pass.into())),
        )
        .await
        .expect("pass open");
        c.counts().await.expect("read");
        pass_open.push(t.elapsed());
        c.close().await;
        let t = Instant::now();
        let c = Cache::open_at(&dir.join("plain.db"), CacheKey::UnencryptedForBenchmark)
            .await
            .expect("plain open");
        c.counts().await.expect("read");
        plain_open.push(t.elapsed());
        c.close().await;
    }
    let size = std::fs::metadata(dir.join("enc.db"))
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "OPEN + first read ({:.1} MB file, HMAC check of every page included): raw key {:.1} ms, passphrase (PBKDF2) {:.1} ms, plain SQLite {:.1} ms",
        size as f64 / 1e6,
        ms(median(raw_open)),
        ms(median(pass_open)),
        ms(median(plain_open))
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    let sizes: Vec<usize> = std::env::var("SIZES")
        .unwrap_or_else(|_| "10000,100000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        for n in sizes {
            bench(n, if n <= 20_000 { 3 } else { 1 }).await;
        }
    });
}
