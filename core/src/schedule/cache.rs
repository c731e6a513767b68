//! The encrypted schedule cache: SQLCipher through sqlx, WAL, one transaction per page.
//!
//! PHI (names, comments, times) lives only here. The file name carries the profile id (a
//! `[a-z0-9-]` slug, else a hash), never a name. The key is sent as the first statement on
//! the connection, not through sqlx's connect options (those are `Debug`-printable), and
//! statement logging is off so no `PRAGMA key` can reach a log.
//!
//! One connection behind an async mutex, not a pool: a page transaction holds it for a few
//! milliseconds, so the day view waits at most that long; the key is derived once per open;
//! and SQLite's own error (e.g. "file is not a database") reaches us instead of a pool's
//! retry-until-timeout. A file the key does not open,
//! or whose pages fail SQLCipher's HMAC check, is moved aside (never deleted) and a fresh
//! cache is made; the caller is told so it can say so in plain words.

use std::path::{Path, PathBuf};
use std::str::FromStr as _;
use std::sync::Arc;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions as _, Connection as _, Row as _};
use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard};

use super::ScheduleError;
use super::instant::unix_now;
use super::key::{CacheKey, KeyStore, new_raw_key};
use crate::secret::Secret;

mod migrations;
mod query;
mod write;

pub use write::{Finish, PageStats, PageWrite, Run, RunKind, SyncState};

/// How [`Cache::open`] found the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheOpen {
    Created,
    Opened,
    /// The old file could not be read; it was moved to `moved_to` and a new cache was made
    /// (the schedule downloads again).
    Recovered {
        moved_to: PathBuf,
        reason: Unreadable,
    },
}

/// Why an existing cache file was set aside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unreadable {
    #[error("its key is no longer in the keychain")]
    NoKey,
    #[error("the key in the keychain does not open it")]
    WrongKeyOrHeader,
    #[error("it is damaged")]
    Damaged,
    #[error("a newer version of Rounds made it")]
    NewerVersion,
}

/// Row counts (for the UI's "n visits cached" and tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub appointments: i64,
    pub patients: i64,
}

/// An open cache. Cheap to clone (clones share the one connection).
#[derive(Clone)]
pub struct Cache {
    conn: Arc<Mutex<Option<SqliteConnection>>>,
    path: Arc<PathBuf>,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cache({})", self.path.display())
    }
}

pub(crate) fn db_err(e: sqlx::Error) -> ScheduleError {
    ScheduleError::Cache(e.to_string())
}

/// SQLITE_NOTADB (wrong key, or a damaged first page) or SQLITE_CORRUPT.
fn unreadable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => d
            .code()
            .and_then(|c| c.parse::<i32>().ok())
            .is_some_and(|c| matches!(c & 0xff, 11 | 26)),
        _ => false,
    }
}

/// `<dir>/schedule-<profile>.db`; a profile id that is not a safe slug is hashed instead.
pub fn file_for(dir: &Path, profile: &str) -> PathBuf {
    let name = if crate::vault::items::valid_profile(profile) {
        profile.to_string()
    } else {
        let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, profile.as_bytes());
        d.as_ref()[..8].iter().map(|b| format!("{b:02x}")).collect()
    };
    dir.join(format!("schedule-{name}.db"))
}

fn sidecars(path: &Path) -> [PathBuf; 3] {
    let s = path.as_os_str();
    let with = |x: &str| {
        let mut p = s.to_os_string();
        p.push(x);
        PathBuf::from(p)
    };
    [path.to_path_buf(), with("-wal"), with("-shm")]
}

/// Moves the file and its WAL/SHM to `<name>.unreadable-<unix time>`; returns the main one.
fn move_aside(path: &Path) -> Result<PathBuf, ScheduleError> {
    let t = unix_now();
    let mut main = None;
    for p in sidecars(path) {
        let mut to = p.clone().into_os_string();
        to.push(format!(".unreadable-{t}"));
        let to = PathBuf::from(to);
        match std::fs::rename(&p, &to) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(ScheduleError::Cache(format!("cannot move aside: {e}"))),
        }
        main.get_or_insert(to);
    }
    main.ok_or_else(|| ScheduleError::Cache("nothing to move aside".into()))
}

async fn connect(path: &Path, key: &CacheKey) -> Result<SqliteConnection, sqlx::Error> {
    let pragma = key
        .pragma()
        .map_err(|()| sqlx::Error::Configuration("the cache key is not 64 hex digits".into()))?;
    let mut conn = SqliteConnectOptions::from_str("sqlite://")?
        .filename(path)
        .create_if_missing(true)
        .busy_timeout(std::time::Duration::from_secs(10))
        .disable_statement_logging()
        .connect()
        .await?;
    if let Some(p) = pragma.as_ref() {
        // SQLCipher would print HMAC failures to stderr; the outcome is logged by us instead.
        sqlx::raw_sql("PRAGMA cipher_log_level = NONE;")
            .execute(&mut conn)
            .await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(p.as_str()))
            .execute(&mut conn)
            .await?;
    }
    sqlx::raw_sql(
        // 8 MiB of page cache: a 100,000-row cache's id index stays in memory, so upserts in
        // random id order do not re-read (and re-decrypt) pages from disk.
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY; \
         PRAGMA cache_size = -8192;",
    )
    .execute(&mut conn)
    .await?;
    Ok(conn)
}

/// Reads the schema page, then checks every page's HMAC (cheap next to decrypting them).
async fn verify(
    conn: &mut SqliteConnection,
    encrypted: bool,
) -> Result<Option<Unreadable>, sqlx::Error> {
    match sqlx::query("SELECT count(*) FROM sqlite_master")
        .fetch_one(&mut *conn)
        .await
    {
        Ok(_) => {}
        Err(e) if unreadable(&e) => return Ok(Some(Unreadable::WrongKeyOrHeader)),
        Err(e) => return Err(e),
    }
    if encrypted {
        let bad = match sqlx::query("PRAGMA cipher_integrity_check")
            .fetch_all(&mut *conn)
            .await
        {
            Ok(rows) => !rows.is_empty(),
            Err(e) if unreadable(&e) => true,
            Err(e) => return Err(e),
        };
        if bad {
            return Ok(Some(Unreadable::Damaged));
        }
    }
    Ok(None)
}

impl Cache {
    /// Opens (or makes) the cache of `profile` under `dir`, with its key from `keys` (made and
    /// stored there on first use). An unreadable file is moved aside and replaced.
    pub async fn open(
        dir: &Path,
        profile: &str,
        keys: &dyn KeyStore,
    ) -> Result<(Cache, CacheOpen), ScheduleError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| ScheduleError::Cache(format!("cannot create the cache folder: {e}")))?;
        let path = file_for(dir, profile);
        let exists = path.exists();
        let (key, mut outcome) = match keys.get_key(profile).map_err(ScheduleError::Vault)? {
            Some(k) => (
                k,
                if exists {
                    CacheOpen::Opened
                } else {
                    CacheOpen::Created
                },
            ),
            None => {
                let k = new_raw_key().map_err(ScheduleError::Vault)?;
                keys.put_key(profile, &k).map_err(ScheduleError::Vault)?;
                let outcome = if exists {
                    let moved_to = move_aside(&path)?;
                    tracing::warn!(profile, "schedule cache had no key; set aside");
                    CacheOpen::Recovered {
                        moved_to,
                        reason: Unreadable::NoKey,
                    }
                } else {
                    CacheOpen::Created
                };
                (k, outcome)
            }
        };
        if outcome == CacheOpen::Opened {
            match Self::open_checked(&path, CacheKey::Raw(Secret::new(key.expose().into()))).await {
                Ok(c) => return Ok((c, outcome)),
                Err(Opening::Unreadable(reason)) => {
                    let moved_to = move_aside(&path)?;
                    tracing::warn!(profile, %reason, "schedule cache unreadable; set aside");
                    outcome = CacheOpen::Recovered { moved_to, reason };
                }
                Err(Opening::Failed(e)) => return Err(e),
            }
        }
        let cache = match Self::open_checked(&path, CacheKey::Raw(key)).await {
            Ok(c) => c,
            Err(Opening::Unreadable(r)) => return Err(ScheduleError::Cache(r.to_string())),
            Err(Opening::Failed(e)) => return Err(e),
        };
        restrict_permissions(&path);
        Ok((cache, outcome))
    }

    /// Opens a cache file with the given key, without recovery (tests, benchmark).
    pub async fn open_at(path: &Path, key: CacheKey) -> Result<Cache, ScheduleError> {
        match Self::open_checked(path, key).await {
            Ok(c) => Ok(c),
            Err(Opening::Unreadable(r)) => Err(ScheduleError::Cache(r.to_string())),
            Err(Opening::Failed(e)) => Err(e),
        }
    }

    async fn open_checked(path: &Path, key: CacheKey) -> Result<Cache, Opening> {
        let encrypted = !matches!(key, CacheKey::UnencryptedForBenchmark);
        let mut conn = match connect(path, &key).await {
            Ok(c) => c,
            Err(e) if unreadable(&e) => {
                return Err(Opening::Unreadable(Unreadable::WrongKeyOrHeader));
            }
            Err(e) => return Err(Opening::Failed(db_err(e))),
        };
        drop(key);
        let checked = match verify(&mut conn, encrypted).await {
            Ok(Some(r)) => Err(Opening::Unreadable(r)),
            Ok(None) => match migrations::run(&mut conn).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(r)) => Err(Opening::Unreadable(r)),
                Err(e) if unreadable(&e) => Err(Opening::Unreadable(Unreadable::Damaged)),
                Err(e) => Err(Opening::Failed(db_err(e))),
            },
            Err(e) if unreadable(&e) => Err(Opening::Unreadable(Unreadable::Damaged)),
            Err(e) => Err(Opening::Failed(db_err(e))),
        };
        match checked {
            Ok(()) => Ok(Cache {
                conn: Arc::new(Mutex::new(Some(conn))),
                path: Arc::new(path.to_path_buf()),
            }),
            Err(e) => {
                let _ = conn.close().await;
                Err(e)
            }
        }
    }

    /// The connection, or an error once [`Cache::close`] ran.
    pub(crate) async fn conn(
        &self,
    ) -> Result<MappedMutexGuard<'_, SqliteConnection>, ScheduleError> {
        MutexGuard::try_map(self.conn.lock().await, |c| c.as_mut())
            .map_err(|_| ScheduleError::Cache("the cache is closed".into()))
    }

    /// Closes the connection for every clone (sign-out on a shared PC: SQLCipher wipes its
    /// copy of the key when the connection closes; later calls fail with "closed").
    pub async fn close(&self) {
        if let Some(c) = self.conn.lock().await.take() {
            let _ = c.close().await;
        }
    }

    /// Deletes a profile's cache file and its WAL/SHM (after [`Cache::close`]).
    pub fn remove_files(dir: &Path, profile: &str) -> std::io::Result<()> {
        for p in sidecars(&file_for(dir, profile)) {
            match std::fs::remove_file(&p) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub async fn counts(&self) -> Result<Counts, ScheduleError> {
        let row = sqlx::query(
            "SELECT (SELECT count(*) FROM appointments), (SELECT count(*) FROM patients)",
        )
        .fetch_one(&mut *self.conn().await?)
        .await
        .map_err(db_err)?;
        Ok(Counts {
            appointments: row.try_get(0).map_err(db_err)?,
            patients: row.try_get(1).map_err(db_err)?,
        })
    }

    /// SQLite's own `PRAGMA integrity_check`: `"ok"` when the b-trees are consistent.
    pub async fn integrity_check(&self) -> Result<String, ScheduleError> {
        let rows = sqlx::query("PRAGMA integrity_check")
            .fetch_all(&mut *self.conn().await?)
            .await
            .map_err(db_err)?;
        let lines: Result<Vec<String>, _> =
            rows.iter().map(|r| r.try_get::<String, _>(0)).collect();
        Ok(lines.map_err(db_err)?.join("\n"))
    }
}

enum Opening {
    Unreadable(Unreadable),
    Failed(ScheduleError),
}

#[cfg(unix)]
fn restrict_permissions(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    for p in sidecars(path) {
        let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600));
    }
}

#[cfg(not(unix))]
fn restrict_permissions(_: &Path) {}
