//! The embedded SQLite store: one file `otwatch.db` in WAL mode, versioned
//! migrations, one writer connection and a small pool of read connections.
//!
//! Alerts are kept as their full JSON record plus one indexed column for
//! every filter and sort of [`AlertFilter`] / [`AlertSort`]; pages are cut
//! with keyset (cursor) pagination, so page N costs the same as page 1.
//! See `docs/store.md` for the schema, durability and the cursor format.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use otwatch_alerts::{Alert, Engine, ScenarioKey, Severity};
use otwatch_core::Timestamp;
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params, params_from_iter};
use rusqlite_migration::{M, Migrations};

use crate::{
    AlertFilter, AlertSort, AuditRecord, Count, DeviceEdits, DeviceRecord, DeviceView, EventFilter,
    EventRecord, Op, Page, PcapRecord, Result, Resume, Role, Session, Store, StoreError, Token,
    User,
};

/// The database file inside the store directory.
pub const DB_FILE: &str = "otwatch.db";

/// `meta` key of the highest alert sequence ever stored (kept by `PutAlert`).
const META_HIGH_WATER: &str = "alert_sequence_high_water";
/// `meta` key the sensor writes its own next sequence under.
const META_NEXT_SEQUENCE: &str = "next_sequence";

/// Limits of a [`SqliteStore`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreConfig {
    /// Timeline events kept; the oldest (by insertion) go first.
    pub max_events: u64,
    /// Audit records kept; the oldest go first.
    pub max_audit: u64,
    /// Read connections (API reads run on these, beside the writer).
    pub read_connections: usize,
    /// How long a statement waits for a lock before failing.
    pub busy_timeout: Duration,
    /// `synchronous=FULL`: every commit is synced to disk, so it also
    /// survives a power loss, at a cost in write latency. Off by default
    /// (`NORMAL`: durable against a process crash; see `docs/store.md`).
    pub sync_every_commit: bool,
    /// Page cache of each connection, in KiB (`PRAGMA cache_size`).
    pub cache_kib: u32,
    /// Bytes of the database file that each connection maps into memory
    /// (`PRAGMA mmap_size`; 0: none). Reads of mapped pages are plain
    /// memory reads instead of a `read()` and a copy per page; the mapping
    /// is shared with the kernel's page cache, so it costs address space,
    /// not memory.
    pub mmap_bytes: u64,
    /// Checkpoints of the write-ahead log run on a thread of their own at
    /// this interval, instead of inside the commit that crosses SQLite's
    /// threshold (which then takes tens of milliseconds more, and a user's
    /// action may be waiting behind it). `None`: SQLite's automatic
    /// checkpoints. Passive: never blocks readers or the writer.
    pub checkpoint_every: Option<Duration>,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            max_events: 1_000_000,
            max_audit: 100_000,
            read_connections: 4,
            busy_timeout: Duration::from_secs(5),
            sync_every_commit: false,
            cache_kib: 16 * 1024,
            mmap_bytes: 1 << 30,
            checkpoint_every: None,
        }
    }
}

/// The schema, one entry per version (`PRAGMA user_version`). Never edit a
/// released entry: add a new one.
const MIGRATIONS: &[&str] = &[
    // 1: the tables.
    r#"
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE alerts (
    id              TEXT PRIMARY KEY,
    numeric_id      INTEGER NOT NULL,
    revision        INTEGER NOT NULL,
    status          TEXT NOT NULL,
    severity        INTEGER NOT NULL,
    engine          TEXT NOT NULL,
    protocol        TEXT,
    type_id         TEXT NOT NULL,
    src_ip          TEXT,
    dst_ip          TEXT,
    src_mac         TEXT,
    dst_mac         TEXT,
    src_device_id   INTEGER,
    dst_device_id   INTEGER,
    first_detection INTEGER NOT NULL,
    last_detection  INTEGER NOT NULL,
    title           TEXT NOT NULL,
    message         TEXT NOT NULL
);
CREATE TABLE alert_bodies (
    alert_id TEXT PRIMARY KEY REFERENCES alerts(id) ON DELETE CASCADE,
    body     TEXT NOT NULL
);
CREATE TABLE alert_keys (
    alert_id TEXT PRIMARY KEY REFERENCES alerts(id) ON DELETE CASCADE,
    key      TEXT NOT NULL
);
CREATE TABLE learned (key TEXT PRIMARY KEY);
CREATE TABLE muted (key TEXT PRIMARY KEY);
CREATE TABLE events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    ts         INTEGER NOT NULL,
    severity   TEXT NOT NULL,
    kind       TEXT NOT NULL,
    title      TEXT NOT NULL,
    device_ip  TEXT,
    device_mac TEXT,
    peer_ip    TEXT,
    owner      TEXT,
    alert_id   TEXT,
    content    TEXT NOT NULL
);
CREATE TABLE devices (
    id         INTEGER PRIMARY KEY,
    ip         TEXT,
    mac        TEXT,
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    facts      TEXT NOT NULL
);
CREATE TABLE device_edits (id INTEGER PRIMARY KEY, edits TEXT NOT NULL);
CREATE TABLE baseline (id INTEGER PRIMARY KEY CHECK (id = 1), doc BLOB NOT NULL);
CREATE TABLE pcaps (
    alert_id TEXT PRIMARY KEY,
    path     TEXT NOT NULL,
    bytes    INTEGER NOT NULL,
    packets  INTEGER NOT NULL,
    created  INTEGER NOT NULL
);
CREATE TABLE users (
    name          TEXT PRIMARY KEY,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created       INTEGER NOT NULL,
    last_login    INTEGER
);
CREATE TABLE tokens (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE,
    role        TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    created     INTEGER NOT NULL,
    last_used   INTEGER,
    created_by  TEXT NOT NULL
);
CREATE TABLE sessions (
    secret_hash TEXT PRIMARY KEY,
    user        TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    role        TEXT NOT NULL,
    created     INTEGER NOT NULL,
    expires     INTEGER NOT NULL
);
CREATE TABLE audit (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    ts     INTEGER NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"#,
    // 2: the indexes behind every alert sort and filter and the timeline.
    r#"
CREATE INDEX alerts_last ON alerts(last_detection, numeric_id);
CREATE INDEX alerts_first ON alerts(first_detection, numeric_id);
CREATE INDEX alerts_severity ON alerts(severity, last_detection, numeric_id);
CREATE INDEX alerts_numeric ON alerts(numeric_id);
-- Every small filter column: counts of filters on these read this index
-- alone (no row lookups).
CREATE INDEX alerts_filter ON alerts(status, engine, severity, protocol, type_id, revision,
    last_detection, first_detection, numeric_id);
CREATE INDEX alerts_engine ON alerts(engine, last_detection);
CREATE INDEX alerts_type ON alerts(type_id, last_detection);
CREATE INDEX alerts_protocol ON alerts(protocol, last_detection);
CREATE INDEX alerts_revision ON alerts(revision);
CREATE INDEX alerts_src_ip ON alerts(src_ip);
CREATE INDEX alerts_dst_ip ON alerts(dst_ip);
CREATE INDEX alerts_src_mac ON alerts(src_mac);
CREATE INDEX alerts_dst_mac ON alerts(dst_mac);
CREATE INDEX alerts_src_dev ON alerts(src_device_id);
CREATE INDEX alerts_dst_dev ON alerts(dst_device_id);
CREATE INDEX events_ts ON events(ts, id);
CREATE INDEX events_kind ON events(kind, ts);
CREATE INDEX events_device_ip ON events(device_ip);
CREATE INDEX events_device_mac ON events(device_mac);
CREATE INDEX events_peer_ip ON events(peer_ip);
CREATE INDEX sessions_user ON sessions(user);
"#,
    // 2: a narrow index on devices, so that counting them (every page of
    // the device list) reads it instead of every device's facts.
    r#"
CREATE INDEX devices_last_seen ON devices(last_seen);
"#,
];

/// The schema version a fresh or migrated store is at.
pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

fn migrations() -> Migrations<'static> {
    Migrations::new(MIGRATIONS.iter().map(|sql| M::up(sql)).collect())
}

fn backend(what: impl Into<String>, e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend {
        what: what.into(),
        detail: e.to_string(),
    }
}

fn corrupt(table: &'static str, id: impl Into<String>, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        table,
        id: id.into(),
        detail: e.to_string(),
    }
}

/// Ranks the three-level severity so that `ORDER BY severity DESC` puts the
/// most severe first.
fn severity_rank(s: Severity) -> i64 {
    match s {
        Severity::High => 3,
        Severity::Medium => 2,
        Severity::Low => 1,
    }
}

fn engine_name(e: Engine) -> String {
    // The serde (snake_case) name: stable and what the API uses.
    serde_json::to_value(e)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn invalid(what: impl Into<String>, e: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid {
        what: what.into(),
        detail: e.to_string(),
    }
}

fn u64_to_i64(what: &str, v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| invalid(what, format!("{v} is above {}", i64::MAX)))
}

fn key_text(k: &ScenarioKey) -> Result<String> {
    serde_json::to_string(k).map_err(|e| invalid("encode scenario key", e))
}

fn key_parse(table: &'static str, text: &str) -> Result<ScenarioKey> {
    serde_json::from_str(text).map_err(|e| corrupt(table, text, e))
}

/// Escapes `%`, `_` and `\` for `LIKE ... ESCAPE '\'` and wraps in `%`.
fn like_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// A device given as text: its IP (canonical form), MAC (lower case) and
/// device id, whichever it parses as.
fn device_forms(text: &str) -> (String, Option<i64>) {
    let t = text.trim();
    let canonical = match t.parse::<IpAddr>() {
        Ok(ip) => ip.to_string(),
        Err(_) => t.to_ascii_lowercase().replace('-', ":"),
    };
    (canonical, t.parse::<i64>().ok())
}

/// Keyset cursor: `<sort tag>.<value>[.<value>].<numeric id>`, all decimal.
/// Opaque to callers; a cursor of another sort or a malformed one is
/// [`StoreError::BadCursor`].
fn sort_tag(sort: AlertSort) -> &'static str {
    match sort {
        AlertSort::LastDetectionDesc => "ld",
        AlertSort::LastDetectionAsc => "la",
        AlertSort::FirstDetectionDesc => "fd",
        AlertSort::FirstDetectionAsc => "fa",
        AlertSort::SeverityDesc => "sd",
        AlertSort::IdAsc => "ia",
    }
}

/// (key columns in order, descending?)
fn sort_columns(sort: AlertSort) -> (&'static [&'static str], bool) {
    match sort {
        AlertSort::LastDetectionDesc => (&["last_detection", "numeric_id"], true),
        AlertSort::LastDetectionAsc => (&["last_detection", "numeric_id"], false),
        AlertSort::FirstDetectionDesc => (&["first_detection", "numeric_id"], true),
        AlertSort::FirstDetectionAsc => (&["first_detection", "numeric_id"], false),
        AlertSort::SeverityDesc => (&["severity", "last_detection", "numeric_id"], true),
        AlertSort::IdAsc => (&["numeric_id"], false),
    }
}

/// The index that holds alerts in `sort` order (migration 2).
fn sort_index(sort: AlertSort) -> &'static str {
    match sort {
        AlertSort::LastDetectionDesc | AlertSort::LastDetectionAsc => "alerts_last",
        AlertSort::FirstDetectionDesc | AlertSort::FirstDetectionAsc => "alerts_first",
        AlertSort::SeverityDesc => "alerts_severity",
        AlertSort::IdAsc => "alerts_numeric",
    }
}

/// When at least 1 alert in this many matches the filter, a page is cut by
/// walking the sort's index (about `limit * WALK_RATIO` rows looked at);
/// below, by the filter's own index and a sort of the matching rows.
const WALK_RATIO: i64 = 32;

fn parse_cursor(cursor: &str, tag: &str, values: usize) -> Result<Vec<i64>> {
    let bad = |why: &str| StoreError::BadCursor(format!("{cursor:?}: {why}"));
    let mut parts = cursor.split('.');
    if parts.next() != Some(tag) {
        return Err(bad("not a cursor of this list and sort order"));
    }
    let vals = parts
        .map(|p| p.parse::<i64>().map_err(|_| bad("a value is not a number")))
        .collect::<Result<Vec<i64>>>()?;
    if vals.len() != values {
        return Err(bad("wrong number of values"));
    }
    Ok(vals)
}

fn make_cursor(tag: &str, vals: &[i64]) -> String {
    let mut s = tag.to_string();
    for v in vals {
        s.push('.');
        s.push_str(&v.to_string());
    }
    s
}

/// The embedded store (see the module docs).
pub struct SqliteStore {
    path: PathBuf,
    config: StoreConfig,
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    /// Callers waiting for the write connection (see [`SqliteStore::write`]).
    write_waiters: AtomicUsize,
    /// The number of alerts as last counted, and when: the list plan only
    /// needs it roughly, and counting 100k rows costs milliseconds.
    alert_count_hint: Mutex<Option<(std::time::Instant, i64)>>,
    /// The background checkpoint thread ([`StoreConfig::checkpoint_every`]).
    _checkpointer: Option<Checkpointer>,
}

/// Frames (pages) of write-ahead log beyond which the background
/// checkpoint restarts and truncates the log: 64 MiB of 4 KiB pages, the
/// size SQLite truncates it back to (`journal_size_limit`). A restart holds
/// new writes for a moment; under a full-speed replay the log grows by up
/// to 90 MB/s, so about one a second (256 MiB made the waits longer).
const WAL_RESTART_FRAMES: i64 = 16_384;

/// A thread that checkpoints the write-ahead log at an interval until the
/// store is dropped.
struct Checkpointer {
    stop: std::sync::mpsc::SyncSender<()>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    fn spawn(conn: Connection, every: Duration) -> std::io::Result<Checkpointer> {
        let (stop, rx) = std::sync::mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("otwatch-store-ckpt".into())
            .spawn(move || {
                let mut reported = false;
                // A checkpoint answers (busy, frames in the log, frames
                // checkpointed); a busy answer only means another
                // checkpoint was running.
                let checkpoint = |mode: &str| {
                    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
                        Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
                    })
                };
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(every) {
                    let mut r = checkpoint("PASSIVE");
                    // Passive checkpoints copy the log into the database
                    // but never make the writer start the log over while
                    // readers keep coming (an API under load always has
                    // one): the file would grow without end (3.8 GB in 30 s
                    // of replay and queries). Past the limit, the log is
                    // restarted and truncated: that waits (up to the busy
                    // timeout) for the readers of older snapshots, which
                    // take milliseconds, and holds new writes meanwhile.
                    if let Ok((0, frames)) = r
                        && frames > WAL_RESTART_FRAMES
                    {
                        r = checkpoint("TRUNCATE");
                    }
                    if let Err(e) = r
                        && !reported
                    {
                        reported = true;
                        eprintln!("otwatch store: background checkpoint failed: {e}");
                    }
                }
            })?;
        Ok(Checkpointer {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        let _ = self.stop.try_send(());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// How long [`SqliteStore`] reuses its alert count for choosing a plan.
const COUNT_HINT_TTL: std::time::Duration = std::time::Duration::from_secs(1);

fn configure(conn: &Connection, config: &StoreConfig, what: &str) -> Result<()> {
    conn.set_prepared_statement_cache_capacity(64);
    conn.busy_timeout(config.busy_timeout)
        .map_err(|e| backend(format!("{what}: busy_timeout"), e))?;
    let sync = if config.sync_every_commit {
        "FULL"
    } else {
        "NORMAL"
    };
    for (pragma, value) in [
        ("foreign_keys", "ON"),
        ("synchronous", sync),
        // The WAL file is truncated back to this size after a checkpoint.
        ("journal_size_limit", "67108864"),
    ] {
        conn.pragma_update(None, pragma, value)
            .map_err(|e| backend(format!("{what}: {pragma}"), e))?;
    }
    // `cache_size` takes a negative number of KiB; `mmap_size` answers with
    // the size it took (capped by the library's compile-time maximum).
    conn.pragma_update(None, "cache_size", -i64::from(config.cache_kib))
        .map_err(|e| backend(format!("{what}: cache_size"), e))?;
    let mmap = i64::try_from(config.mmap_bytes).unwrap_or(i64::MAX);
    let _: i64 = conn
        .pragma_update_and_check(None, "mmap_size", mmap, |r| r.get(0))
        .map_err(|e| backend(format!("{what}: mmap_size"), e))?;
    Ok(())
}

impl SqliteStore {
    /// Opens (creating `dir` and `dir/otwatch.db` when missing) with the
    /// default limits, migrating an older schema forward.
    pub fn open(dir: &Path) -> Result<SqliteStore> {
        Self::open_with(dir, StoreConfig::default())
    }

    pub fn open_with(dir: &Path, config: StoreConfig) -> Result<SqliteStore> {
        Self::open_at(dir, config, None)
    }

    /// Opens and migrates only up to schema `version` (tests of migrations).
    #[doc(hidden)]
    pub fn open_at_version(dir: &Path, version: usize) -> Result<SqliteStore> {
        Self::open_at(dir, StoreConfig::default(), Some(version))
    }

    fn open_at(dir: &Path, config: StoreConfig, version: Option<usize>) -> Result<SqliteStore> {
        std::fs::create_dir_all(dir)
            .map_err(|e| backend(format!("create directory {}", dir.display()), e))?;
        let path = dir.join(DB_FILE);
        let what = format!("open {}", path.display());
        let mut w = Connection::open(&path).map_err(|e| backend(&what, e))?;
        let mode: String = w
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .map_err(|e| backend(format!("{what}: journal_mode"), e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(backend(&what, format!("journal_mode is {mode}, not WAL")));
        }
        configure(&w, &config, &what)?;
        if config.checkpoint_every.is_some() {
            w.pragma_update(None, "wal_autocheckpoint", 0)
                .map_err(|e| backend(format!("{what}: wal_autocheckpoint"), e))?;
        }
        let m = migrations();
        match version {
            Some(v) => m.to_version(&mut w, v),
            None => m.to_latest(&mut w),
        }
        .map_err(|e| backend(format!("{what}: migrate"), e))?;
        let mut readers = Vec::new();
        for _ in 0..config.read_connections.max(1) {
            let r = Connection::open_with_flags(
                &path,
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(|e| backend(&what, e))?;
            configure(&r, &config, &what)?;
            r.pragma_update(None, "query_only", "ON")
                .map_err(|e| backend(format!("{what}: query_only"), e))?;
            readers.push(Mutex::new(r));
        }
        let checkpointer = match config.checkpoint_every {
            None => None,
            Some(every) => {
                let c = Connection::open_with_flags(
                    &path,
                    OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .map_err(|e| backend(&what, e))?;
                configure(&c, &config, &what)?;
                Some(
                    Checkpointer::spawn(c, every.max(Duration::from_millis(10)))
                        .map_err(|e| backend(format!("{what}: checkpoint thread"), e))?,
                )
            }
        };
        Ok(SqliteStore {
            _checkpointer: checkpointer,
            path,
            config,
            writer: Mutex::new(w),
            readers,
            next_reader: AtomicUsize::new(0),
            write_waiters: AtomicUsize::new(0),
            alert_count_hint: Mutex::new(None),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<usize> {
        let v: i64 = self
            .read()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| backend("read user_version", e))?;
        Ok(usize::try_from(v).unwrap_or(0))
    }

    /// Number of stored timeline events.
    pub fn event_count(&self) -> Result<u64> {
        self.count("events")
    }

    /// Number of stored audit records.
    pub fn audit_count(&self) -> Result<u64> {
        self.count("audit")
    }

    fn count(&self, table: &'static str) -> Result<u64> {
        let n: i64 = self
            .read()
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .map_err(|e| backend(format!("count {table}"), e))?;
        Ok(n.max(0) as u64)
    }

    fn write(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave a transaction half
        // applied (rusqlite rolls back on drop), so the poison is harmless.
        if let Ok(g) = self.writer.try_lock() {
            return g;
        }
        // Someone holds it (most often the batching writer, which cuts its
        // batch short when it sees a waiter: a user's write goes next).
        self.write_waiters.fetch_add(1, Ordering::AcqRel);
        let g = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        self.write_waiters.fetch_sub(1, Ordering::AcqRel);
        g
    }

    /// A free read connection (or the next one in turn, waiting for it).
    fn read(&self) -> MutexGuard<'_, Connection> {
        let n = self.readers.len();
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        for i in 0..n {
            if let Ok(g) = self.readers[(start + i) % n].try_lock() {
                return g;
            }
        }
        self.readers[start % n]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Removes the oldest rows of an AUTOINCREMENT table beyond `cap`. Rows
    /// of these tables are only ever removed here, so the ids are one
    /// contiguous range and the cut is a single index range delete.
    fn enforce_cap(conn: &Connection, table: &'static str, cap: u64) -> Result<()> {
        let cap = i64::try_from(cap).unwrap_or(i64::MAX);
        conn.execute(
            &format!("DELETE FROM {table} WHERE id <= (SELECT MAX(id) FROM {table}) - ?1"),
            [cap],
        )
        .map_err(|e| backend(format!("cap {table}"), e))?;
        Ok(())
    }

    fn apply_op(tx: &Connection, op: &Op) -> Result<bool> {
        let mut event = false;
        match op {
            Op::PutAlert { alert, key } => put_alert(tx, alert, key)?,
            Op::DeleteAlert { id } => {
                exec(tx, "DELETE FROM alerts WHERE id = ?1", [id])
                    .map_err(|e| backend(format!("delete alert {id}"), e))?;
                exec(tx, "DELETE FROM pcaps WHERE alert_id = ?1", [id])
                    .map_err(|e| backend(format!("delete pcap of {id}"), e))?;
            }
            Op::Learned { key, on } => set_key(tx, "learned", key, *on)?,
            Op::Muted { key, on } => set_key(tx, "muted", key, *on)?,
            Op::Event(e) => {
                insert_event(tx, e)?;
                event = true;
            }
            Op::PutDevice(d) => {
                let facts = serde_json::to_string(&d.facts)
                    .map_err(|e| invalid(format!("encode device {}", d.id), e))?;
                exec(
                    tx,
                    "INSERT INTO devices(id, ip, mac, first_seen, last_seen, facts) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(id) DO UPDATE SET \
                     ip = excluded.ip, mac = excluded.mac, first_seen = excluded.first_seen, \
                     last_seen = excluded.last_seen, facts = excluded.facts",
                    params![
                        u64_to_i64("device id", d.id)?,
                        d.ip.map(|i| i.to_string()),
                        d.mac.as_ref().map(|m| m.to_ascii_lowercase()),
                        d.first_seen.0,
                        d.last_seen.0,
                        facts
                    ],
                )
                .map_err(|e| backend(format!("put device {}", d.id), e))?;
            }
            Op::Baseline(doc) => {
                exec(
                    tx,
                    "INSERT INTO baseline(id, doc) VALUES (1, ?1) \
                     ON CONFLICT(id) DO UPDATE SET doc = excluded.doc",
                    [doc],
                )
                .map_err(|e| backend("put baseline", e))?;
            }
            Op::Pcap(p) => {
                exec(
                    tx,
                    "INSERT INTO pcaps(alert_id, path, bytes, packets, created) \
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(alert_id) DO UPDATE SET \
                     path = excluded.path, bytes = excluded.bytes, packets = excluded.packets, \
                     created = excluded.created",
                    params![
                        p.alert_id,
                        p.path,
                        u64_to_i64("pcap bytes", p.bytes)?,
                        u64_to_i64("pcap packets", p.packets)?,
                        p.created.0
                    ],
                )
                .map_err(|e| backend(format!("put pcap of {}", p.alert_id), e))?;
            }
            Op::PcapGone { alert_id } => {
                exec(tx, "DELETE FROM pcaps WHERE alert_id = ?1", [alert_id])
                    .map_err(|e| backend(format!("delete pcap of {alert_id}"), e))?;
            }
            Op::Meta { key, value } => {
                exec(
                    tx,
                    "INSERT INTO meta(key, value) VALUES (?1, ?2) \
                     ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    [key, value],
                )
                .map_err(|e| backend(format!("put meta {key}"), e))?;
            }
        }
        Ok(event)
    }
}

fn put_alert(tx: &Connection, a: &Alert, key: &ScenarioKey) -> Result<()> {
    let what = || format!("put alert {}", a.id);
    let body = serde_json::to_string(a).map_err(|e| invalid(what(), e))?;
    let numeric = u64_to_i64("alert numeric_id", a.numeric_id)?;
    let changed = exec(
        tx,
        "INSERT INTO alerts(id, numeric_id, revision, status, severity, engine, protocol, \
             type_id, src_ip, dst_ip, src_mac, dst_mac, src_device_id, dst_device_id, \
             first_detection, last_detection, title, message) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, \
             ?18) \
             ON CONFLICT(id) DO UPDATE SET numeric_id = excluded.numeric_id, \
             revision = excluded.revision, status = excluded.status, \
             severity = excluded.severity, engine = excluded.engine, \
             protocol = excluded.protocol, type_id = excluded.type_id, \
             src_ip = excluded.src_ip, dst_ip = excluded.dst_ip, src_mac = excluded.src_mac, \
             dst_mac = excluded.dst_mac, src_device_id = excluded.src_device_id, \
             dst_device_id = excluded.dst_device_id, \
             first_detection = excluded.first_detection, \
             last_detection = excluded.last_detection, title = excluded.title, \
             message = excluded.message \
             WHERE excluded.revision >= alerts.revision",
        params![
            a.id,
            numeric,
            u64_to_i64("alert revision", a.revision)?,
            a.status.as_str(),
            severity_rank(a.severity),
            engine_name(a.engine),
            a.protocol,
            a.type_id,
            a.source.ip.map(|i| i.to_string()),
            a.destination.ip.map(|i| i.to_string()),
            a.source.mac.map(|m| m.to_string()),
            a.destination.mac.map(|m| m.to_string()),
            a.source
                .id
                .map(|i| u64_to_i64("device id", i))
                .transpose()?,
            a.destination
                .id
                .map(|i| u64_to_i64("device id", i))
                .transpose()?,
            a.first_detection.0,
            a.last_detection.0,
            a.title,
            a.message
        ],
    )
    .map_err(|e| backend(what(), e))?;
    if changed > 0 {
        exec(
            tx,
            "INSERT INTO alert_bodies(alert_id, body) VALUES (?1, ?2) \
             ON CONFLICT(alert_id) DO UPDATE SET body = excluded.body",
            params![a.id, body],
        )
        .map_err(|e| backend(what(), e))?;
        exec(
            tx,
            "INSERT INTO alert_keys(alert_id, key) VALUES (?1, ?2) \
             ON CONFLICT(alert_id) DO UPDATE SET key = excluded.key",
            params![a.id, key_text(key)?],
        )
        .map_err(|e| backend(what(), e))?;
    }
    Ok(())
}

fn set_key(tx: &Connection, table: &'static str, key: &ScenarioKey, on: bool) -> Result<()> {
    let k = key_text(key)?;
    let sql = if on {
        format!("INSERT OR IGNORE INTO {table}(key) VALUES (?1)")
    } else {
        format!("DELETE FROM {table} WHERE key = ?1")
    };
    exec(tx, &sql, [k]).map_err(|e| backend(format!("update {table}"), e))?;
    Ok(())
}

fn insert_event(tx: &Connection, e: &EventRecord) -> Result<u64> {
    exec(
        tx,
        "INSERT INTO events(ts, severity, kind, title, device_ip, device_mac, peer_ip, owner, \
         alert_id, content) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            e.ts.0,
            e.severity.to_ascii_uppercase(),
            e.kind,
            e.title,
            e.device_ip.map(|i| i.to_string()),
            e.device_mac.as_ref().map(|m| m.to_ascii_lowercase()),
            e.peer_ip.map(|i| i.to_string()),
            e.owner,
            e.alert_id,
            e.content
        ],
    )
    .map_err(|err| backend("add event", err))?;
    Ok(tx.last_insert_rowid() as u64)
}

/// Ops of a batch between two looks at [`Store::apply_until`]'s `cut`.
const CUT_CHECK: usize = 32;

/// Indexes of the `PutAlert`s of a batch that a later `PutAlert` of the same
/// alert with a revision at least as high replaces anyway: skipping them
/// leaves the same final state (an alert updated at every detection is
/// written once per batch, not once per detection).
fn superseded_puts(ops: &[Op]) -> HashSet<usize> {
    let mut later: HashMap<&str, u64> = HashMap::new();
    let mut skip = HashSet::new();
    for (i, op) in ops.iter().enumerate().rev() {
        if let Op::PutAlert { alert, .. } = op {
            match later.get_mut(alert.id.as_str()) {
                Some(rev) if *rev >= alert.revision => {
                    skip.insert(i);
                }
                Some(rev) => *rev = alert.revision,
                None => {
                    later.insert(&alert.id, alert.revision);
                }
            }
        }
    }
    skip
}

/// Runs `sql` through the connection's statement cache (the batch path runs
/// the same few statements thousands of times).
fn exec(conn: &Connection, sql: &str, p: impl rusqlite::Params) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(p)
}

fn opt_ip(table: &'static str, id: &str, v: Option<String>) -> Result<Option<IpAddr>> {
    v.map(|s| {
        s.parse::<IpAddr>()
            .map_err(|e| corrupt(table, id, format!("{s:?}: {e}")))
    })
    .transpose()
}

fn role_parse(table: &'static str, id: &str, s: &str) -> Result<Role> {
    Role::parse(s).ok_or_else(|| corrupt(table, id, format!("unknown role {s:?}")))
}

fn alert_parse(id: &str, body: &str) -> Result<Alert> {
    serde_json::from_str(body).map_err(|e| corrupt("alerts", id, e))
}

/// Filter -> SQL `WHERE` terms and their parameters.
/// What [`count_rows`] found.
struct Counted {
    /// Rows counted (`bound + 1` when the count stopped at its bound).
    rows: i64,
    /// Whether `rows` is every match.
    exact: bool,
    counted: bool,
}

impl Counted {
    /// `Page::total` and `Page::total_exact` for the caller's `count`, once
    /// the page (its `items` items, `more` when a next page exists) is read.
    fn total(&self, count: Count, first_page: bool, items: usize, more: bool) -> (u64, bool) {
        let rows = self.rows.max(0) as u64;
        match count {
            _ if self.counted && self.exact => (rows, true),
            Count::AtMost(n) if self.counted => (n, false),
            // Nothing counted (or only the plan's few): what the page shows.
            _ => (items as u64 + u64::from(more), first_page && !more),
        }
    }
}

/// Counts the rows of `from_where` (a table, optional index hint and WHERE
/// clause bound to `args`) as far as the caller's `count` and the plan's
/// `plan_need` ask: a bounded count stops reading rows at its bound.
fn count_rows(
    tx: &rusqlite::Transaction<'_>,
    from_where: &str,
    args: &[Value],
    count: Count,
    plan_need: i64,
) -> rusqlite::Result<Counted> {
    let user = match count {
        Count::Exact => None,
        Count::AtMost(n) => Some(i64::try_from(n).unwrap_or(i64::MAX)),
        Count::Skip => Some(0),
    };
    let bound = user.map(|u| u.max(plan_need));
    match bound {
        None => {
            let rows = tx.query_row(
                &format!("SELECT COUNT(*) FROM {from_where}"),
                params_from_iter(args.iter()),
                |r| r.get(0),
            )?;
            Ok(Counted {
                rows,
                exact: true,
                counted: true,
            })
        }
        Some(0) => Ok(Counted {
            rows: 0,
            exact: false,
            counted: false,
        }),
        Some(b) => {
            let mut a = args.to_vec();
            a.push(Value::Integer(b.saturating_add(1)));
            let rows: i64 = tx.query_row(
                &format!("SELECT COUNT(*) FROM (SELECT 1 FROM {from_where} LIMIT ?)"),
                params_from_iter(a.iter()),
                |r| r.get(0),
            )?;
            Ok(Counted {
                rows,
                exact: rows <= b,
                // A count made only for the plan is not the caller's.
                counted: user.is_some_and(|u| u > 0) || rows <= b,
            })
        }
    }
}

fn alert_where(f: &AlertFilter, terms: &mut Vec<String>, args: &mut Vec<Value>) {
    fn any_of(col: &str, vals: Vec<Value>, terms: &mut Vec<String>, args: &mut Vec<Value>) {
        if vals.is_empty() {
            return;
        }
        let marks = vec!["?"; vals.len()].join(", ");
        terms.push(format!("{col} IN ({marks})"));
        args.extend(vals);
    }
    any_of(
        "status",
        f.status
            .iter()
            .map(|s| Value::Text(s.as_str().into()))
            .collect(),
        terms,
        args,
    );
    any_of(
        "severity",
        f.severity
            .iter()
            .map(|s| Value::Integer(severity_rank(*s)))
            .collect(),
        terms,
        args,
    );
    any_of(
        "engine",
        f.engine
            .iter()
            .map(|e| Value::Text(engine_name(*e)))
            .collect(),
        terms,
        args,
    );
    any_of(
        "protocol",
        f.protocol.iter().map(|p| Value::Text(p.clone())).collect(),
        terms,
        args,
    );
    any_of(
        "type_id",
        f.type_id.iter().map(|t| Value::Text(t.clone())).collect(),
        terms,
        args,
    );
    if let Some(d) = &f.device {
        let (text, id) = device_forms(d);
        terms.push(
            "(src_ip = ? OR dst_ip = ? OR src_mac = ? OR dst_mac = ? \
             OR src_device_id = ? OR dst_device_id = ?)"
                .into(),
        );
        for _ in 0..4 {
            args.push(Value::Text(text.clone()));
        }
        let id = id.map_or(Value::Null, Value::Integer);
        args.push(id.clone());
        args.push(id);
    }
    if let Some(t) = f.from {
        terms.push("last_detection >= ?".into());
        args.push(Value::Integer(t.0));
    }
    if let Some(t) = f.to {
        terms.push("last_detection <= ?".into());
        args.push(Value::Integer(t.0));
    }
    if let Some(t) = f.first_from {
        terms.push("first_detection >= ?".into());
        args.push(Value::Integer(t.0));
    }
    if let Some(t) = &f.text {
        let p = like_pattern(t);
        terms.push("(title LIKE ? ESCAPE '\\' OR message LIKE ? ESCAPE '\\')".into());
        args.push(Value::Text(p.clone()));
        args.push(Value::Text(p));
    }
    if let Some(r) = f.min_revision {
        terms.push("revision > ?".into());
        args.push(Value::Integer(i64::try_from(r).unwrap_or(i64::MAX)));
    }
}

fn event_where(f: &EventFilter, terms: &mut Vec<String>, args: &mut Vec<Value>) {
    if let Some(t) = f.from {
        terms.push("ts >= ?".into());
        args.push(Value::Integer(t.0));
    }
    if let Some(t) = f.to {
        terms.push("ts <= ?".into());
        args.push(Value::Integer(t.0));
    }
    if !f.kinds.is_empty() {
        terms.push(format!("kind IN ({})", vec!["?"; f.kinds.len()].join(", ")));
        args.extend(f.kinds.iter().map(|k| Value::Text(k.clone())));
    }
    if !f.severity.is_empty() {
        terms.push(format!(
            "severity IN ({})",
            vec!["?"; f.severity.len()].join(", ")
        ));
        args.extend(
            f.severity
                .iter()
                .map(|s| Value::Text(s.to_ascii_uppercase())),
        );
    }
    if let Some(d) = &f.device {
        let (text, _) = device_forms(d);
        terms.push("(device_ip = ? OR device_mac = ? OR peer_ip = ?)".into());
        for _ in 0..3 {
            args.push(Value::Text(text.clone()));
        }
    }
    if let Some(k) = &f.keyword {
        let p = like_pattern(k);
        terms.push("(title LIKE ? ESCAPE '\\' OR content LIKE ? ESCAPE '\\')".into());
        args.push(Value::Text(p.clone()));
        args.push(Value::Text(p));
    }
}

fn where_sql(terms: &[String]) -> String {
    if terms.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", terms.join(" AND "))
    }
}

fn event_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawEvent> {
    Ok(RawEvent {
        id: r.get(0)?,
        ts: r.get(1)?,
        severity: r.get(2)?,
        kind: r.get(3)?,
        title: r.get(4)?,
        device_ip: r.get(5)?,
        device_mac: r.get(6)?,
        peer_ip: r.get(7)?,
        owner: r.get(8)?,
        alert_id: r.get(9)?,
        content: r.get(10)?,
    })
}

struct RawEvent {
    id: i64,
    ts: i64,
    severity: String,
    kind: String,
    title: String,
    device_ip: Option<String>,
    device_mac: Option<String>,
    peer_ip: Option<String>,
    owner: Option<String>,
    alert_id: Option<String>,
    content: String,
}

impl RawEvent {
    fn decode(self) -> Result<EventRecord> {
        let id = self.id.to_string();
        Ok(EventRecord {
            id: self.id as u64,
            ts: Timestamp(self.ts),
            severity: self.severity,
            kind: self.kind,
            title: self.title,
            device_ip: opt_ip("events", &id, self.device_ip)?,
            device_mac: self.device_mac,
            peer_ip: opt_ip("events", &id, self.peer_ip)?,
            owner: self.owner,
            alert_id: self.alert_id,
            content: self.content,
        })
    }
}

const EVENT_COLS: &str =
    "id, ts, severity, kind, title, device_ip, device_mac, peer_ip, owner, alert_id, content";
const TOKEN_COLS: &str = "id, name, role, secret_hash, created, last_used, created_by";
const USER_COLS: &str = "name, role, password_hash, created, last_login";

type RawToken = (i64, String, String, String, i64, Option<i64>, String);

fn token_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawToken> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

fn token_decode(t: RawToken) -> Result<Token> {
    let id = t.0.to_string();
    Ok(Token {
        id: t.0 as u64,
        name: t.1,
        role: role_parse("tokens", &id, &t.2)?,
        secret_hash: t.3,
        created: Timestamp(t.4),
        last_used: t.5.map(Timestamp),
        created_by: t.6,
    })
}

fn user_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, String, String, i64, Option<i64>)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn user_decode(u: (String, String, String, i64, Option<i64>)) -> Result<User> {
    Ok(User {
        role: role_parse("users", &u.0, &u.1)?,
        name: u.0,
        password_hash: u.2,
        created: Timestamp(u.3),
        last_login: u.4.map(Timestamp),
    })
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}

fn device_view(conn: &Connection, id: u64) -> Result<Option<DeviceView>> {
    let iid = u64_to_i64("device id", id)?;
    let row = conn
        .query_row(
            "SELECT d.id, d.ip, d.mac, d.first_seen, d.last_seen, d.facts, e.edits \
             FROM devices d LEFT JOIN device_edits e ON e.id = d.id WHERE d.id = ?1",
            [iid],
            device_raw,
        )
        .optional()
        .map_err(|e| backend(format!("read device {id}"), e))?;
    row.map(device_decode).transpose()
}

type RawDevice = (
    i64,
    Option<String>,
    Option<String>,
    i64,
    i64,
    String,
    Option<String>,
);

fn device_raw(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawDevice> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

fn device_decode(d: RawDevice) -> Result<DeviceView> {
    let id = d.0.to_string();
    let facts = serde_json::from_str(&d.5).map_err(|e| corrupt("devices", &id, e))?;
    let edits = match d.6 {
        Some(t) => serde_json::from_str(&t).map_err(|e| corrupt("device_edits", &id, e))?,
        None => DeviceEdits::default(),
    };
    Ok(DeviceView {
        record: DeviceRecord {
            id: d.0 as u64,
            ip: opt_ip("devices", &id, d.1)?,
            mac: d.2,
            first_seen: Timestamp(d.3),
            last_seen: Timestamp(d.4),
            facts,
        },
        edits,
    })
}

impl Store for SqliteStore {
    fn apply_until(&self, ops: &[Op], cut: &dyn Fn() -> bool) -> Result<usize> {
        if ops.is_empty() {
            return Ok(0);
        }
        let mut conn = self.write();
        let tx = conn.transaction().map_err(|e| backend("begin batch", e))?;
        let superseded = superseded_puts(ops);
        let mut events = false;
        let mut high_water: Option<i64> = None;
        let mut done = ops.len();
        for (i, op) in ops.iter().enumerate() {
            if i > 0
                && i % CUT_CHECK == 0
                && (cut() || self.write_waiters.load(Ordering::Acquire) > 0)
            {
                // Puts skipped for a newer one beyond the cut: the newest
                // of each within the cut is applied now (unless the alert
                // was deleted after it).
                let within = superseded_puts(&ops[..i]);
                for k in superseded.iter().copied().filter(|k| *k < i) {
                    let Op::PutAlert { alert, .. } = &ops[k] else {
                        continue;
                    };
                    let deleted = ops[k + 1..i]
                        .iter()
                        .any(|o| matches!(o, Op::DeleteAlert { id } if *id == alert.id));
                    if !within.contains(&k) && !deleted {
                        events |= Self::apply_op(&tx, &ops[k])?;
                    }
                }
                done = i;
                break;
            }
            if !superseded.contains(&i) {
                events |= Self::apply_op(&tx, op)?;
            }
            if let Op::PutAlert { alert, .. } = op {
                let n = u64_to_i64("alert numeric_id", alert.numeric_id)?;
                high_water = Some(high_water.map_or(n, |h| h.max(n)));
            }
        }
        if events {
            Self::enforce_cap(&tx, "events", self.config.max_events)?;
        }
        // The high-water mark survives the alerts' deletion: sequences are
        // never reused.
        if let Some(h) = high_water {
            exec(
                &tx,
                "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET \
                 value = CAST(max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER)) AS TEXT)",
                params![META_HIGH_WATER, h.to_string()],
            )
            .map_err(|e| backend("put alert high-water mark", e))?;
        }
        tx.commit().map_err(|e| backend("commit batch", e))?;
        Ok(done)
    }

    fn resume(&self) -> Result<Resume> {
        let mut conn = self.read();
        let tx = conn
            .transaction()
            .map_err(|e| backend("resume: begin", e))?;
        let mut alerts = Vec::new();
        {
            let mut st = tx
                .prepare(
                    "SELECT a.id, b.body, k.key FROM alerts a \
                     JOIN alert_bodies b ON b.alert_id = a.id \
                     LEFT JOIN alert_keys k ON k.alert_id = a.id ORDER BY a.numeric_id",
                )
                .map_err(|e| backend("resume alerts", e))?;
            let rows = st
                .query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<String>>(2)?,
                    ))
                })
                .map_err(|e| backend("resume alerts", e))?;
            for row in rows {
                let (id, body, key) = row.map_err(|e| backend("resume alerts", e))?;
                let alert = alert_parse(&id, &body)?;
                let key = match key {
                    Some(k) => key_parse("alert_keys", &k)?,
                    None => return Err(corrupt("alert_keys", id, "no scenario key")),
                };
                alerts.push((alert, key));
            }
        }
        let keys = |table: &'static str| -> Result<Vec<ScenarioKey>> {
            let mut st = tx
                .prepare(&format!("SELECT key FROM {table} ORDER BY key"))
                .map_err(|e| backend(format!("resume {table}"), e))?;
            let rows = st
                .query_map([], |r| r.get::<_, String>(0))
                .map_err(|e| backend(format!("resume {table}"), e))?;
            let mut out = Vec::new();
            for r in rows {
                out.push(key_parse(
                    table,
                    &r.map_err(|e| backend(format!("resume {table}"), e))?,
                )?);
            }
            Ok(out)
        };
        let learned = keys("learned")?;
        let muted = keys("muted")?;
        let meta_u64 = |key: &str| -> Result<u64> {
            let v: Option<String> = tx
                .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
                .optional()
                .map_err(|e| backend(format!("resume meta {key}"), e))?;
            match v {
                None => Ok(0),
                Some(s) => s
                    .trim()
                    .parse::<u64>()
                    .map_err(|e| corrupt("meta", key, format!("{s:?}: {e}"))),
            }
        };
        let meta_next = meta_u64(META_NEXT_SEQUENCE)?;
        let high_water = meta_u64(META_HIGH_WATER)?;
        let max_numeric: Option<i64> = tx
            .query_row("SELECT MAX(numeric_id) FROM alerts", [], |r| r.get(0))
            .map_err(|e| backend("resume max numeric_id", e))?;
        let stored_next = max_numeric.map_or(0, |m| m as u64 + 1);
        let hw_next = if high_water > 0 || max_numeric.is_some() {
            high_water + 1
        } else {
            0
        };
        let next_sequence = meta_next.max(stored_next).max(hw_next);
        let baseline = tx
            .query_row("SELECT doc FROM baseline WHERE id = 1", [], |r| r.get(0))
            .optional()
            .map_err(|e| backend("resume baseline", e))?;
        Ok(Resume {
            alerts,
            learned,
            muted,
            next_sequence,
            baseline,
        })
    }

    fn meta(&self, key: &str) -> Result<Option<String>> {
        self.read()
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| backend(format!("read meta {key}"), e))
    }

    fn alert(&self, id: &str) -> Result<Option<Alert>> {
        let body: Option<String> = self
            .read()
            .query_row(
                "SELECT body FROM alert_bodies WHERE alert_id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| backend(format!("read alert {id}"), e))?;
        body.map(|b| alert_parse(id, &b)).transpose()
    }

    fn alert_by_numeric_id(&self, numeric_id: u64) -> Result<Option<Alert>> {
        let Ok(n) = i64::try_from(numeric_id) else {
            return Ok(None);
        };
        let row: Option<(String, String)> = self
            .read()
            .query_row(
                "SELECT a.id, b.body FROM alerts a JOIN alert_bodies b ON b.alert_id = a.id \
                 WHERE a.numeric_id = ?1 ORDER BY a.id LIMIT 1",
                [n],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| backend(format!("read alert #{numeric_id}"), e))?;
        row.map(|(id, b)| alert_parse(&id, &b)).transpose()
    }

    fn alerts_counted(
        &self,
        filter: &AlertFilter,
        sort: AlertSort,
        cursor: Option<&str>,
        limit: usize,
        count: Count,
    ) -> Result<Page<Alert>> {
        let (cols, desc) = sort_columns(sort);
        let tag = sort_tag(sort);
        let after = cursor
            .map(|c| parse_cursor(c, tag, cols.len()))
            .transpose()?;
        let mut terms = Vec::new();
        let mut args = Vec::new();
        alert_where(filter, &mut terms, &mut args);
        let mut conn = self.read();
        let tx = conn
            .transaction()
            .map_err(|e| backend("list alerts: begin", e))?;
        // Filters on the small columns only are counted on the covering
        // index (a scan of it is ~10x cheaper than row lookups).
        // A first-detection bound has its own index: a recent one is a short
        // range there, which the planner (without statistics) would not
        // choose over the status index, so it is named.
        let covered = !terms.is_empty() && filter.device.is_none() && filter.text.is_none();
        let count_hint = match (filter.first_from, covered) {
            (Some(_), _) => " INDEXED BY alerts_first",
            (None, true) => " INDEXED BY alerts_filter",
            (None, false) => "",
        };
        // SQLite's planner prefers an index on a filter column and then
        // sorts every matching row, even when most rows match (a page of
        // `status IN (New, Active)` sorted by severity costs ~150 ms at
        // 100k alerts instead of <1 ms). Choose from the match ratio, which
        // a count up to `all / WALK_RATIO` rows decides.
        let all = if terms.is_empty() {
            None
        } else {
            // Only the plan depends on it (never the answer): a count of
            // up to a second ago will do.
            let hint = *self
                .alert_count_hint
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            Some(match hint {
                Some((at, n)) if at.elapsed() < COUNT_HINT_TTL => n,
                _ => {
                    let n: i64 = tx
                        .query_row("SELECT COUNT(*) FROM alerts", [], |r| r.get(0))
                        .map_err(|e| backend("count alerts", e))?;
                    *self
                        .alert_count_hint
                        .lock()
                        .unwrap_or_else(|p| p.into_inner()) = Some((std::time::Instant::now(), n));
                    n
                }
            })
        };
        let plan_need = all.map_or(0, |a| (a + WALK_RATIO - 1) / WALK_RATIO);
        let counted = count_rows(
            &tx,
            &format!("alerts{count_hint}{}", where_sql(&terms)),
            &args,
            count,
            plan_need,
        )
        .map_err(|e| backend("count alerts", e))?;
        let walk = match all {
            None => true,
            Some(all) => counted.rows.saturating_mul(WALK_RATIO) >= all,
        };
        let hint = if walk {
            format!(" INDEXED BY {}", sort_index(sort))
        } else if filter.first_from.is_some() {
            " INDEXED BY alerts_first".to_string()
        } else {
            String::new()
        };
        if let Some(vals) = &after {
            let marks = vec!["?"; vals.len()].join(", ");
            terms.push(format!(
                "({}) {} ({marks})",
                cols.join(", "),
                if desc { "<" } else { ">" }
            ));
            args.extend(vals.iter().map(|v| Value::Integer(*v)));
        }
        let dir = if desc { "DESC" } else { "ASC" };
        let order = cols
            .iter()
            .map(|c| format!("{c} {dir}"))
            .collect::<Vec<_>>()
            .join(", ");
        let fetch = limit.saturating_add(1);
        args.push(Value::Integer(i64::try_from(fetch).unwrap_or(i64::MAX)));
        // The page is cut on the narrow indexed rows first; only its rows
        // fetch their (large) JSON bodies.
        let keys = cols.join(", ");
        let sql = format!(
            "SELECT p.id, b.body, {} FROM \
             (SELECT id, {keys} FROM alerts{hint}{} ORDER BY {order} LIMIT ?) p \
             JOIN alert_bodies b ON b.alert_id = p.id ORDER BY {}",
            cols.iter()
                .map(|c| format!("p.{c}"))
                .collect::<Vec<_>>()
                .join(", "),
            where_sql(&terms),
            cols.iter()
                .map(|c| format!("p.{c} {dir}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut st = tx.prepare(&sql).map_err(|e| backend("list alerts", e))?;
        let n = cols.len();
        let rows = st
            .query_map(params_from_iter(args.iter()), |r| {
                let mut key = Vec::with_capacity(n);
                for i in 0..n {
                    key.push(r.get::<_, i64>(2 + i)?);
                }
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, key))
            })
            .map_err(|e| backend("list alerts", e))?;
        let mut items = Vec::new();
        let mut last_key = None;
        let mut more = false;
        for row in rows {
            let (id, body, key) = row.map_err(|e| backend("list alerts", e))?;
            if items.len() == limit {
                more = true;
                break;
            }
            items.push(alert_parse(&id, &body)?);
            last_key = Some(key);
        }
        let next_cursor = match (more, last_key) {
            (true, Some(k)) => Some(make_cursor(tag, &k)),
            _ => None,
        };
        let (total, total_exact) = counted.total(count, cursor.is_none(), items.len(), more);
        Ok(Page {
            items,
            next_cursor,
            total,
            total_exact,
        })
    }

    fn alert_count(&self) -> Result<u64> {
        self.count("alerts")
    }

    fn pcap(&self, alert_id: &str) -> Result<Option<PcapRecord>> {
        let row: Option<(String, i64, i64, i64)> = self
            .read()
            .query_row(
                "SELECT path, bytes, packets, created FROM pcaps WHERE alert_id = ?1",
                [alert_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
            .map_err(|e| backend(format!("read pcap of {alert_id}"), e))?;
        Ok(row.map(|(path, bytes, packets, created)| PcapRecord {
            alert_id: alert_id.to_string(),
            path,
            bytes: bytes.max(0) as u64,
            packets: packets.max(0) as u64,
            created: Timestamp(created),
        }))
    }

    fn add_event(&self, e: &EventRecord) -> Result<u64> {
        let mut conn = self.write();
        let tx = conn.transaction().map_err(|e| backend("add event", e))?;
        let id = insert_event(&tx, e)?;
        Self::enforce_cap(&tx, "events", self.config.max_events)?;
        tx.commit().map_err(|e| backend("add event: commit", e))?;
        Ok(id)
    }

    fn events_counted(
        &self,
        filter: &EventFilter,
        cursor: Option<&str>,
        limit: usize,
        count: Count,
    ) -> Result<Page<EventRecord>> {
        const TAG: &str = "ev";
        let after = cursor.map(|c| parse_cursor(c, TAG, 2)).transpose()?;
        let mut terms = Vec::new();
        let mut args = Vec::new();
        event_where(filter, &mut terms, &mut args);
        let mut conn = self.read();
        let tx = conn
            .transaction()
            .map_err(|e| backend("list events: begin", e))?;
        let counted = count_rows(
            &tx,
            &format!("events{}", where_sql(&terms)),
            &args,
            count,
            0,
        )
        .map_err(|e| backend("count events", e))?;
        if let Some(v) = &after {
            terms.push("(ts, id) < (?, ?)".into());
            args.push(Value::Integer(v[0]));
            args.push(Value::Integer(v[1]));
        }
        args.push(Value::Integer(
            i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX),
        ));
        let sql = format!(
            "SELECT {EVENT_COLS} FROM events{} ORDER BY ts DESC, id DESC LIMIT ?",
            where_sql(&terms)
        );
        let mut st = tx.prepare(&sql).map_err(|e| backend("list events", e))?;
        let rows = st
            .query_map(params_from_iter(args.iter()), event_row)
            .map_err(|e| backend("list events", e))?;
        let mut items = Vec::new();
        let mut more = false;
        for row in rows {
            let raw = row.map_err(|e| backend("list events", e))?;
            if items.len() == limit {
                more = true;
                break;
            }
            items.push(raw.decode()?);
        }
        let next_cursor = match (more, items.last()) {
            (true, Some(e)) => Some(make_cursor(TAG, &[e.ts.0, e.id as i64])),
            _ => None,
        };
        let (total, total_exact) = counted.total(count, cursor.is_none(), items.len(), more);
        Ok(Page {
            items,
            next_cursor,
            total,
            total_exact,
        })
    }

    fn devices(&self) -> Result<Vec<DeviceView>> {
        let conn = self.read();
        let mut st = conn
            .prepare(
                "SELECT d.id, d.ip, d.mac, d.first_seen, d.last_seen, d.facts, e.edits \
                 FROM devices d LEFT JOIN device_edits e ON e.id = d.id ORDER BY d.id",
            )
            .map_err(|e| backend("list devices", e))?;
        let rows = st
            .query_map([], device_raw)
            .map_err(|e| backend("list devices", e))?;
        let mut out = Vec::new();
        for r in rows {
            out.push(device_decode(r.map_err(|e| backend("list devices", e))?)?);
        }
        Ok(out)
    }

    fn devices_page(&self, offset: usize, limit: usize) -> Result<(Vec<DeviceView>, u64)> {
        let mut conn = self.read();
        // One read transaction: the count and the page see the same rows.
        let tx = conn
            .transaction()
            .map_err(|e| backend("list devices: begin", e))?;
        let total: i64 = tx
            .query_row("SELECT COUNT(*) FROM devices", [], |r| r.get(0))
            .map_err(|e| backend("count devices", e))?;
        let mut st = tx
            .prepare_cached(
                "SELECT d.id, d.ip, d.mac, d.first_seen, d.last_seen, d.facts, e.edits \
                 FROM devices d LEFT JOIN device_edits e ON e.id = d.id \
                 ORDER BY d.id LIMIT ?1 OFFSET ?2",
            )
            .map_err(|e| backend("list devices", e))?;
        let lim = i64::try_from(limit).unwrap_or(i64::MAX);
        let off = i64::try_from(offset).unwrap_or(i64::MAX);
        let rows = st
            .query_map([lim, off], device_raw)
            .map_err(|e| backend("list devices", e))?;
        let mut out = Vec::new();
        for r in rows {
            out.push(device_decode(r.map_err(|e| backend("list devices", e))?)?);
        }
        Ok((out, total.max(0) as u64))
    }

    fn device(&self, id: u64) -> Result<Option<DeviceView>> {
        device_view(&self.read(), id)
    }

    fn edit_device(&self, id: u64, edits: &DeviceEdits) -> Result<DeviceView> {
        let mut conn = self.write();
        let tx = conn
            .transaction()
            .map_err(|e| backend(format!("edit device {id}"), e))?;
        let Some(mut view) = device_view(&tx, id)? else {
            return Err(StoreError::NotFound {
                what: "device",
                name: id.to_string(),
            });
        };
        let e = &mut view.edits;
        if edits.name.is_some() {
            e.name.clone_from(&edits.name);
        }
        if edits.kind.is_some() {
            e.kind.clone_from(&edits.kind);
        }
        e.authorized = edits.authorized.or(e.authorized);
        e.programming_device = edits.programming_device.or(e.programming_device);
        e.scanner = edits.scanner.or(e.scanner);
        e.important = edits.important.or(e.important);
        let text = serde_json::to_string(&view.edits)
            .map_err(|err| backend(format!("edit device {id}"), err))?;
        tx.execute(
            "INSERT INTO device_edits(id, edits) VALUES (?1, ?2) \
             ON CONFLICT(id) DO UPDATE SET edits = excluded.edits",
            params![u64_to_i64("device id", id)?, text],
        )
        .map_err(|err| backend(format!("edit device {id}"), err))?;
        tx.commit()
            .map_err(|err| backend(format!("edit device {id}"), err))?;
        Ok(view)
    }

    fn delete_device(&self, id: u64) -> Result<()> {
        let iid = u64_to_i64("device id", id)?;
        let mut conn = self.write();
        let tx = conn
            .transaction()
            .map_err(|e| backend(format!("delete device {id}"), e))?;
        let n = tx
            .execute("DELETE FROM devices WHERE id = ?1", [iid])
            .map_err(|e| backend(format!("delete device {id}"), e))?;
        tx.execute("DELETE FROM device_edits WHERE id = ?1", [iid])
            .map_err(|e| backend(format!("delete device {id}"), e))?;
        if n == 0 {
            return Err(StoreError::NotFound {
                what: "device",
                name: id.to_string(),
            });
        }
        tx.commit()
            .map_err(|e| backend(format!("delete device {id}"), e))
    }

    fn baseline(&self) -> Result<Option<Vec<u8>>> {
        self.read()
            .query_row("SELECT doc FROM baseline WHERE id = 1", [], |r| r.get(0))
            .optional()
            .map_err(|e| backend("read baseline", e))
    }

    fn add_user(&self, u: &User) -> Result<()> {
        self.write()
            .execute(
                "INSERT INTO users(name, role, password_hash, created, last_login) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    u.name,
                    u.role.as_str(),
                    u.password_hash,
                    u.created.0,
                    u.last_login.map(|t| t.0)
                ],
            )
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::Exists {
                        what: "user",
                        name: u.name.clone(),
                    }
                } else {
                    backend(format!("add user {}", u.name), e)
                }
            })?;
        Ok(())
    }

    fn user(&self, name: &str) -> Result<Option<User>> {
        let row = self
            .read()
            .query_row(
                &format!("SELECT {USER_COLS} FROM users WHERE name = ?1"),
                [name],
                user_row,
            )
            .optional()
            .map_err(|e| backend(format!("read user {name}"), e))?;
        row.map(user_decode).transpose()
    }

    fn users(&self) -> Result<Vec<User>> {
        let conn = self.read();
        let mut st = conn
            .prepare(&format!("SELECT {USER_COLS} FROM users ORDER BY name"))
            .map_err(|e| backend("list users", e))?;
        let rows = st
            .query_map([], user_row)
            .map_err(|e| backend("list users", e))?;
        let mut out = Vec::new();
        for r in rows {
            out.push(user_decode(r.map_err(|e| backend("list users", e))?)?);
        }
        Ok(out)
    }

    fn set_user_role(&self, name: &str, role: Role) -> Result<()> {
        self.update_user(name, "role", Value::Text(role.as_str().into()))
    }

    fn set_user_password(&self, name: &str, password_hash: &str) -> Result<()> {
        self.update_user(name, "password_hash", Value::Text(password_hash.into()))
    }

    fn delete_user(&self, name: &str) -> Result<()> {
        let n = self
            .write()
            .execute("DELETE FROM users WHERE name = ?1", [name])
            .map_err(|e| backend(format!("delete user {name}"), e))?;
        if n == 0 {
            return Err(StoreError::NotFound {
                what: "user",
                name: name.into(),
            });
        }
        Ok(())
    }

    fn touch_user_login(&self, name: &str, ts: Timestamp) -> Result<()> {
        self.update_user(name, "last_login", Value::Integer(ts.0))
    }

    fn add_token(&self, t: &Token) -> Result<u64> {
        let conn = self.write();
        conn.execute(
            "INSERT INTO tokens(name, role, secret_hash, created, last_used, created_by) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                t.name,
                t.role.as_str(),
                t.secret_hash,
                t.created.0,
                t.last_used.map(|x| x.0),
                t.created_by
            ],
        )
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::Exists {
                    what: "token",
                    name: t.name.clone(),
                }
            } else {
                backend(format!("add token {}", t.name), e)
            }
        })?;
        Ok(conn.last_insert_rowid() as u64)
    }

    fn token_by_hash(&self, secret_hash: &str) -> Result<Option<Token>> {
        let row = self
            .read()
            .query_row(
                &format!("SELECT {TOKEN_COLS} FROM tokens WHERE secret_hash = ?1"),
                [secret_hash],
                token_row,
            )
            .optional()
            .map_err(|e| backend("read token", e))?;
        row.map(token_decode).transpose()
    }

    fn tokens(&self) -> Result<Vec<Token>> {
        let conn = self.read();
        let mut st = conn
            .prepare(&format!("SELECT {TOKEN_COLS} FROM tokens ORDER BY id"))
            .map_err(|e| backend("list tokens", e))?;
        let rows = st
            .query_map([], token_row)
            .map_err(|e| backend("list tokens", e))?;
        let mut out = Vec::new();
        for r in rows {
            out.push(token_decode(r.map_err(|e| backend("list tokens", e))?)?);
        }
        Ok(out)
    }

    fn delete_token(&self, id: u64) -> Result<()> {
        let n = self
            .write()
            .execute(
                "DELETE FROM tokens WHERE id = ?1",
                [u64_to_i64("token id", id)?],
            )
            .map_err(|e| backend(format!("delete token {id}"), e))?;
        if n == 0 {
            return Err(StoreError::NotFound {
                what: "token",
                name: id.to_string(),
            });
        }
        Ok(())
    }

    fn touch_token(&self, id: u64, ts: Timestamp) -> Result<()> {
        let n = self
            .write()
            .execute(
                "UPDATE tokens SET last_used = ?1 WHERE id = ?2",
                params![ts.0, u64_to_i64("token id", id)?],
            )
            .map_err(|e| backend(format!("touch token {id}"), e))?;
        if n == 0 {
            return Err(StoreError::NotFound {
                what: "token",
                name: id.to_string(),
            });
        }
        Ok(())
    }

    fn add_session(&self, s: &Session) -> Result<()> {
        let conn = self.write();
        let known: bool = conn
            .query_row(
                "SELECT EXISTS(SELECT 1 FROM users WHERE name = ?1)",
                [&s.user],
                |r| r.get(0),
            )
            .map_err(|e| backend("add session", e))?;
        if !known {
            return Err(StoreError::NotFound {
                what: "user",
                name: s.user.clone(),
            });
        }
        // Sessions that expired before this login began are gone for good:
        // each login clears them, so the table holds what logins of one
        // session lifetime left (logins are rate limited).
        conn.execute("DELETE FROM sessions WHERE expires <= ?1", [s.created.0])
            .map_err(|e| backend("purge expired sessions", e))?;
        conn.execute(
            "INSERT INTO sessions(secret_hash, user, role, created, expires) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                s.secret_hash,
                s.user,
                s.role.as_str(),
                s.created.0,
                s.expires.0
            ],
        )
        .map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::Exists {
                    what: "session",
                    name: s.user.clone(),
                }
            } else {
                backend(format!("add session of {}", s.user), e)
            }
        })?;
        Ok(())
    }

    fn session(&self, secret_hash: &str) -> Result<Option<Session>> {
        let row: Option<(String, String, String, i64, i64)> = self
            .read()
            .query_row(
                "SELECT secret_hash, user, role, created, expires FROM sessions \
                 WHERE secret_hash = ?1",
                [secret_hash],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()
            .map_err(|e| backend("read session", e))?;
        row.map(|(h, user, role, c, x)| {
            Ok(Session {
                role: role_parse("sessions", &user, &role)?,
                secret_hash: h,
                user,
                created: Timestamp(c),
                expires: Timestamp(x),
            })
        })
        .transpose()
    }

    fn delete_session(&self, secret_hash: &str) -> Result<()> {
        // Logging out twice is not an error.
        self.write()
            .execute("DELETE FROM sessions WHERE secret_hash = ?1", [secret_hash])
            .map_err(|e| backend("delete session", e))?;
        Ok(())
    }

    fn audit(&self, r: &AuditRecord) -> Result<()> {
        let mut conn = self.write();
        let tx = conn.transaction().map_err(|e| backend("audit", e))?;
        tx.execute(
            "INSERT INTO audit(ts, actor, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![r.ts.0, r.actor, r.action, r.target, r.detail],
        )
        .map_err(|e| backend("audit", e))?;
        Self::enforce_cap(&tx, "audit", self.config.max_audit)?;
        tx.commit().map_err(|e| backend("audit: commit", e))
    }

    fn audit_log(&self, limit: usize) -> Result<Vec<AuditRecord>> {
        let conn = self.read();
        let mut st = conn
            .prepare(
                "SELECT id, ts, actor, action, target, detail FROM audit \
                 ORDER BY id DESC LIMIT ?1",
            )
            .map_err(|e| backend("read audit", e))?;
        let rows = st
            .query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
                Ok(AuditRecord {
                    id: r.get::<_, i64>(0)? as u64,
                    ts: Timestamp(r.get(1)?),
                    actor: r.get(2)?,
                    action: r.get(3)?,
                    target: r.get(4)?,
                    detail: r.get(5)?,
                })
            })
            .map_err(|e| backend("read audit", e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| backend("read audit", e))
    }

    fn setting(&self, key: &str) -> Result<Option<serde_json::Value>> {
        let v: Option<String> = self
            .read()
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| backend(format!("read setting {key}"), e))?;
        v.map(|t| serde_json::from_str(&t).map_err(|e| corrupt("settings", key, e)))
            .transpose()
    }

    fn set_setting(&self, key: &str, value: &serde_json::Value) -> Result<()> {
        let text = serde_json::to_string(value)
            .map_err(|e| backend(format!("encode setting {key}"), e))?;
        self.write()
            .execute(
                "INSERT INTO settings(key, value) VALUES (?1, ?2) \
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [key, &text],
            )
            .map_err(|e| backend(format!("write setting {key}"), e))?;
        Ok(())
    }

    fn delete_setting(&self, key: &str) -> Result<()> {
        // Deleting an absent setting is not an error (idempotent).
        self.write()
            .execute("DELETE FROM settings WHERE key = ?1", [key])
            .map_err(|e| backend(format!("delete setting {key}"), e))?;
        Ok(())
    }

    fn settings_with_prefix(&self, prefix: &str) -> Result<Vec<(String, serde_json::Value)>> {
        let conn = self.read();
        let mut pattern = like_pattern(prefix);
        pattern.remove(0);
        let mut st = conn
            .prepare(
                "SELECT key, value FROM settings WHERE key LIKE ?1 ESCAPE '\\' \
                 AND substr(key, 1, length(?2)) = ?2 ORDER BY key",
            )
            .map_err(|e| backend("list settings", e))?;
        let rows = st
            .query_map([&pattern, prefix], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(|e| backend("list settings", e))?;
        let mut out = Vec::new();
        for r in rows {
            let (k, v) = r.map_err(|e| backend("list settings", e))?;
            let v = serde_json::from_str(&v).map_err(|e| corrupt("settings", &k, e))?;
            out.push((k, v));
        }
        Ok(out)
    }
}

impl SqliteStore {
    fn update_user(&self, name: &str, col: &'static str, v: Value) -> Result<()> {
        let n = self
            .write()
            .execute(
                &format!("UPDATE users SET {col} = ?1 WHERE name = ?2"),
                params![v, name],
            )
            .map_err(|e| backend(format!("update user {name}"), e))?;
        if n == 0 {
            return Err(StoreError::NotFound {
                what: "user",
                name: name.into(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = make_cursor("sd", &[3, -5, 42]);
        assert_eq!(parse_cursor(&c, "sd", 3).unwrap(), vec![3, -5, 42]);
        for bad in ["", "sd.1.2", "ld.3.-5.42", "sd.x.1.2", "sd.1.2.3.4"] {
            assert!(
                matches!(parse_cursor(bad, "sd", 3), Err(StoreError::BadCursor(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn only_puts_replaced_later_in_the_batch_are_skipped() {
        let (a, key) = {
            let t = otwatch_alerts::Catalog::builtin()
                .get("modbus_function_code")
                .unwrap();
            let a = Alert::new(
                "s1",
                1,
                t,
                Timestamp(1),
                "m".into(),
                None,
                Default::default(),
                Default::default(),
            );
            let key = ScenarioKey {
                type_id: a.type_id.clone(),
                fields: vec![],
            };
            (a, key)
        };
        let put = |id: &str, rev: u64| {
            let mut a = a.clone();
            a.id = id.into();
            a.revision = rev;
            Op::PutAlert {
                alert: Box::new(a),
                key: key.clone(),
            }
        };
        let ops = vec![
            put("x", 1),
            put("x", 2),
            put("y", 5),
            Op::DeleteAlert { id: "x".into() },
            put("x", 3),
            put("y", 4),
            put("x", 3),
        ];
        let mut skip: Vec<usize> = superseded_puts(&ops).into_iter().collect();
        skip.sort();
        // x@1, x@2 and the first x@3 are replaced by the last x@3; y@5 is
        // not replaced by the lower y@4 (which the store then ignores).
        assert_eq!(skip, vec![0, 1, 4]);
    }

    #[test]
    fn device_text_is_normalised() {
        assert_eq!(device_forms(" 10.0.0.1 ").0, "10.0.0.1");
        assert_eq!(device_forms("00-0E-8C-01-02-03").0, "00:0e:8c:01:02:03");
        assert_eq!(device_forms("17"), ("17".into(), Some(17)));
    }
}
