//! Hand-written migrations keyed on `PRAGMA user_version`: one SQL batch per version, each in
//! its own transaction with the version bump, so a crash never leaves half a schema.

use sqlx::sqlite::SqliteConnection;
use sqlx::{Connection as _, Row as _};

use super::Unreadable;

/// Version n+1 is `MIGRATIONS[n]`. Append only; never edit a shipped entry.
const MIGRATIONS: &[&str] = &[
    // 1: appointments as the day view needs them (PHI: patient_display, comment), patient
    // names fetched by uuid, and the sync's small key/value state (cursor, watermark).
    "CREATE TABLE appointments (
        id TEXT PRIMARY KEY NOT NULL,
        start INTEGER NOT NULL,
        ends INTEGER NOT NULL,
        last_updated INTEGER,
        status TEXT NOT NULL,
        visit_type TEXT,
        video INTEGER NOT NULL,
        comment TEXT,
        patient_id TEXT,
        patient_display TEXT,
        clinicians TEXT NOT NULL,
        seen_run INTEGER NOT NULL DEFAULT 0
     );
     CREATE INDEX appointments_by_start ON appointments(start);
     CREATE TABLE patients (
        id TEXT PRIMARY KEY NOT NULL,
        name TEXT NOT NULL,
        fetched_at INTEGER NOT NULL
     );
     CREATE TABLE sync_state (
        key TEXT PRIMARY KEY NOT NULL,
        value TEXT NOT NULL
     );",
    // 2: the visit's own link (schedule::link, JSON: source + Jitsi domain/room or why it
    // cannot be used), for servers without a telehealth join service.
    "ALTER TABLE appointments ADD COLUMN link TEXT;",
    // 3: since when the patient has been waiting (unix seconds): the `meta.lastUpdated` of
    // the first copy seen with status arrived/checked-in, kept while it stays so
    // (cache/write.rs), so a later unrelated edit does not restart the patient's wait.
    "ALTER TABLE appointments ADD COLUMN arrived_at INTEGER;",
];

pub(super) async fn run(
    conn: &mut SqliteConnection,
) -> Result<Result<(), Unreadable>, sqlx::Error> {
    let v: i64 = sqlx::query("PRAGMA user_version")
        .fetch_one(&mut *conn)
        .await?
        .try_get(0)?;
    if v > MIGRATIONS.len() as i64 {
        return Ok(Err(Unreadable::NewerVersion));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(v.max(0) as usize) {
        let mut tx = conn.begin().await?;
        sqlx::raw_sql(*sql).execute(&mut *tx).await?;
        let bump = format!("PRAGMA user_version = {}", i + 1);
        sqlx::raw_sql(sqlx::AssertSqlSafe(bump))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    Ok(Ok(()))
}
