//! The sensor's durable store.
//!
//! [`Store`] is the one interface every caller (the sensor's writer thread,
//! the REST API, the `token`/`user` commands) uses; `SqliteStore` is the
//! embedded implementation (WAL, migrations). A PostgreSQL implementation for
//! the console implements the same trait without touching callers.
//!
//! Writes from the packet path arrive as batches of [`Op`]s (one transaction
//! per batch, see `writer`), so the packet thread never waits on the disk.
//! Administrative writes (users, tokens, rules, settings) are direct calls.
//! Everything is synchronous: async callers use `spawn_blocking`.

use std::net::IpAddr;

pub mod sqlite;
pub mod writer;

pub use sqlite::{SqliteStore, StoreConfig};
pub use writer::{Writer, WriterConfig, WriterStats};

use otwatch_alerts::{Alert, ScenarioKey};
use otwatch_core::Timestamp;
use serde::{Deserialize, Serialize};

/// What went wrong, with the table/record concerned.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened, read or written.
    #[error("store {what}: {detail}")]
    Backend { what: String, detail: String },
    /// A record failed to decode (corrupt or from a newer version).
    #[error("store: {table} record {id}: {detail}")]
    Corrupt {
        table: &'static str,
        id: String,
        detail: String,
    },
    /// A unique name is taken (user, token, rule).
    #[error("{what} `{name}` already exists")]
    Exists { what: &'static str, name: String },
    /// The record does not exist.
    #[error("{what} `{name}` not found")]
    NotFound { what: &'static str, name: String },
    /// A pagination cursor that this list did not hand out (malformed, or
    /// from another sort order).
    #[error("bad cursor {0}")]
    BadCursor(String),
    /// A record that can never be stored as given (a value out of range, a
    /// document that does not encode). Retrying cannot help.
    #[error("store {what}: {detail}")]
    Invalid { what: String, detail: String },
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Roles of the reference §9.1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// View only.
    Readonly,
    /// Also manage alerts and devices, comment, forward.
    Analyst,
    /// Everything: settings, users, rules, tokens.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Readonly => "readonly",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s.to_ascii_lowercase().as_str() {
            "readonly" | "read-only" | "read_only" => Some(Role::Readonly),
            "analyst" | "security-analyst" | "security_analyst" => Some(Role::Analyst),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// One write from the sensor's packet path; applied in batches, one
/// transaction per batch, in order.
#[derive(Clone, Debug)]
pub enum Op {
    /// Insert or replace an alert (kept only if `alert.revision` is not
    /// below the stored one), with its scenario key (needed to resume).
    PutAlert {
        alert: Box<Alert>,
        key: ScenarioKey,
    },
    /// Remove an alert (retention, eviction) and its PCAP record.
    DeleteAlert {
        id: String,
    },
    /// The learned / muted scenario sets (add or remove one key).
    Learned {
        key: ScenarioKey,
        on: bool,
    },
    Muted {
        key: ScenarioKey,
        on: bool,
    },
    /// Append a timeline event.
    Event(EventRecord),
    /// Insert or replace a device's observed facts.
    PutDevice(DeviceRecord),
    /// Replace the baseline document (JSON, `Baseline::to_json`).
    Baseline(Vec<u8>),
    /// A PCAP file was written for an alert.
    Pcap(PcapRecord),
    /// The PCAP of an alert was removed (size cap).
    PcapGone {
        alert_id: String,
    },
    /// A key/value of the sensor's own state (`next_sequence`, counters...).
    Meta {
        key: String,
        value: String,
    },
}

/// A timeline event as stored (reference §4.4 / §6.3).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    /// Store-assigned, increasing; 0 when not stored yet.
    #[serde(default)]
    pub id: u64,
    pub ts: Timestamp,
    /// `INFO`, `NOTICE` or `ALERT`.
    pub severity: String,
    /// The reference's type name (`PROGRAM_DEVICE`, `ALERT_DETECTED`, `USER_EVENT` ...).
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub device_ip: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub device_mac: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub peer_ip: Option<IpAddr>,
    /// The user who acted, for manual events and user operations.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub owner: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub alert_id: Option<String>,
    pub content: String,
}

/// A device: what the sensor observed (`facts`, the inventory's JSON) plus
/// what users set (`edits`), kept apart so that new observations never
/// overwrite a user's edit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeviceRecord {
    pub id: u64,
    pub ip: Option<IpAddr>,
    pub mac: Option<String>,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// `otwatch_assets::Device` serialized.
    pub facts: serde_json::Value,
}

/// User-set device attributes (API `PATCH /devices/<id>`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DeviceEdits {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default, rename = "type")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub authorized: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub programming_device: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub scanner: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub important: Option<bool>,
}

/// A stored device with the user's edits applied on top.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeviceView {
    pub record: DeviceRecord,
    pub edits: DeviceEdits,
}

/// Where an alert's capture is on disk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PcapRecord {
    pub alert_id: String,
    pub path: String,
    pub bytes: u64,
    pub packets: u64,
    pub created: Timestamp,
}

/// Alert sort orders.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertSort {
    /// Newest last detection first (the default).
    #[default]
    LastDetectionDesc,
    LastDetectionAsc,
    FirstDetectionDesc,
    FirstDetectionAsc,
    /// Most severe first, then newest.
    SeverityDesc,
    /// Numeric id ascending.
    IdAsc,
}

/// Filters of `GET /api/alerts` (all ANDed; `None` = any).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AlertFilter {
    /// `New`, `Active`, `Closed` (any of).
    pub status: Vec<otwatch_alerts::Status>,
    pub severity: Vec<otwatch_alerts::Severity>,
    pub engine: Vec<otwatch_alerts::Engine>,
    pub protocol: Vec<String>,
    /// Catalog type ids.
    pub type_id: Vec<String>,
    /// Equals the source or destination IP, MAC (any case, `:` or `-`) or
    /// device id (as text).
    pub device: Option<String>,
    /// Last detection at or after `from` and at or before `to` (inclusive).
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    /// First detection at or after (the Defender-compatible `fromTime`).
    pub first_from: Option<Timestamp>,
    /// Substring of title or message, case-insensitive (ASCII); `%` and `_`
    /// match themselves.
    pub text: Option<String>,
    /// Only alerts whose revision is above (sync, incremental readers).
    pub min_revision: Option<u64>,
}

/// A page of results and the opaque cursor of the next page (`None` at the end).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
    /// Matching records in all pages when `total_exact`; otherwise at least
    /// this many match (the count stopped at its bound, see [`Count`]).
    pub total: u64,
    pub total_exact: bool,
}

/// How far a paged read counts the matching records for [`Page::total`].
///
/// Counting every match of a broad filter reads every row of the table
/// (milliseconds per hundred thousand rows, on every page a UI loads),
/// while "10,000+" says as much to a reader; so lists count up to a
/// bound unless asked for the exact number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Count {
    /// Every match.
    Exact,
    /// Up to this many: beyond, `total` is the bound and `total_exact` false.
    AtMost(u64),
    /// No count: `total` is what the page shows (its items, plus one when
    /// there is a next page) and `total_exact` is true only when this is
    /// the first page and there is no next.
    Skip,
}

impl Count {
    /// The default of the API's lists (the bound Elasticsearch also uses).
    pub const DEFAULT: Count = Count::AtMost(10_000);
}

/// Filters of the timeline (reference §4.4).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EventFilter {
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    /// Type names (any of).
    pub kinds: Vec<String>,
    /// IP or MAC of the device or the peer.
    pub device: Option<String>,
    /// `INFO` / `NOTICE` / `ALERT` (any of).
    pub severity: Vec<String>,
    /// Case-insensitive substring of title or content.
    pub keyword: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub name: String,
    pub role: Role,
    /// Argon2 PHC string; never serialized to API clients.
    #[serde(skip_serializing)]
    pub password_hash: String,
    pub created: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub last_login: Option<Timestamp>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Token {
    /// Store id (shown in lists; the secret is never stored).
    pub id: u64,
    pub name: String,
    pub role: Role,
    /// SHA-256 of the secret, hex; never serialized to API clients.
    #[serde(skip_serializing)]
    pub secret_hash: String,
    pub created: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub last_used: Option<Timestamp>,
    /// User who created it (`cli` from the command line).
    pub created_by: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// SHA-256 of the cookie secret, hex.
    #[serde(skip_serializing)]
    pub secret_hash: String,
    pub user: String,
    pub role: Role,
    pub created: Timestamp,
    pub expires: Timestamp,
}

/// One audit-trail record: who changed what.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    #[serde(default)]
    pub id: u64,
    pub ts: Timestamp,
    /// User name or `token:<name>`.
    pub actor: String,
    /// `alert.learn`, `user.add`, `token.create`, ...
    pub action: String,
    /// The object (alert id, user name...).
    pub target: String,
    pub detail: String,
}

/// Everything the sensor needs to resume after a restart.
#[derive(Clone, Debug, Default)]
pub struct Resume {
    pub alerts: Vec<(Alert, ScenarioKey)>,
    pub learned: Vec<ScenarioKey>,
    pub muted: Vec<ScenarioKey>,
    /// One above the highest alert sequence ever stored (never reused).
    pub next_sequence: u64,
    pub baseline: Option<Vec<u8>>,
}

/// The sensor's persistence. Implementations are `Send + Sync`; each call is
/// atomic.
pub trait Store: Send + Sync {
    // ---- the packet path's writes ----
    /// Applies `ops` in one transaction, in order.
    fn apply(&self, ops: &[Op]) -> Result<()> {
        self.apply_until(ops, &|| false).map(|_| ())
    }
    /// Applies `ops` in order in one transaction, asking `cut` every few
    /// ops whether to stop early: when it answers true, the ops applied so
    /// far are committed and their number returned (the caller applies the
    /// rest later). Lets a long batch make way for a user's action.
    fn apply_until(&self, ops: &[Op], cut: &dyn Fn() -> bool) -> Result<usize>;

    // ---- resume ----
    fn resume(&self) -> Result<Resume>;
    fn meta(&self, key: &str) -> Result<Option<String>>;

    // ---- alerts ----
    fn alert(&self, id: &str) -> Result<Option<Alert>>;
    fn alert_by_numeric_id(&self, numeric_id: u64) -> Result<Option<Alert>>;
    /// `cursor` is a previous page's `next_cursor` for the same sort (else
    /// [`StoreError::BadCursor`]); `limit` is capped by the caller.
    fn alerts(
        &self,
        filter: &AlertFilter,
        sort: AlertSort,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Alert>> {
        self.alerts_counted(filter, sort, cursor, limit, Count::Exact)
    }
    /// [`Store::alerts`], counting the matches only as far as `count` says.
    fn alerts_counted(
        &self,
        filter: &AlertFilter,
        sort: AlertSort,
        cursor: Option<&str>,
        limit: usize,
        count: Count,
    ) -> Result<Page<Alert>>;
    fn alert_count(&self) -> Result<u64>;
    fn pcap(&self, alert_id: &str) -> Result<Option<PcapRecord>>;

    // ---- timeline ----
    /// Appends a manual (or any) event; returns its id. Capacity is capped
    /// (oldest out).
    fn add_event(&self, e: &EventRecord) -> Result<u64>;
    /// Newest first (time, then id); `cursor` as for [`Store::alerts`].
    fn events(
        &self,
        filter: &EventFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<EventRecord>> {
        self.events_counted(filter, cursor, limit, Count::Exact)
    }
    /// [`Store::events`], counting the matches only as far as `count` says.
    fn events_counted(
        &self,
        filter: &EventFilter,
        cursor: Option<&str>,
        limit: usize,
        count: Count,
    ) -> Result<Page<EventRecord>>;

    // ---- devices ----
    fn devices(&self) -> Result<Vec<DeviceView>>;
    /// The devices ordered by id, `limit` of them after the first `offset`,
    /// and the number of all devices: a page of the unfiltered list without
    /// reading every device. The default reads them all.
    fn devices_page(&self, offset: usize, limit: usize) -> Result<(Vec<DeviceView>, u64)> {
        let all = self.devices()?;
        let total = all.len() as u64;
        Ok((all.into_iter().skip(offset).take(limit).collect(), total))
    }
    fn device(&self, id: u64) -> Result<Option<DeviceView>>;
    /// Merges `edits` into the device's stored edits (fields that are `Some`).
    fn edit_device(&self, id: u64, edits: &DeviceEdits) -> Result<DeviceView>;
    fn delete_device(&self, id: u64) -> Result<()>;

    // ---- baseline ----
    fn baseline(&self) -> Result<Option<Vec<u8>>>;

    // ---- users, tokens, sessions, audit ----
    fn add_user(&self, u: &User) -> Result<()>;
    fn user(&self, name: &str) -> Result<Option<User>>;
    fn users(&self) -> Result<Vec<User>>;
    fn set_user_role(&self, name: &str, role: Role) -> Result<()>;
    fn set_user_password(&self, name: &str, password_hash: &str) -> Result<()>;
    fn delete_user(&self, name: &str) -> Result<()>;
    fn touch_user_login(&self, name: &str, ts: Timestamp) -> Result<()>;
    /// Stores a token (its `id` is assigned and returned).
    fn add_token(&self, t: &Token) -> Result<u64>;
    fn token_by_hash(&self, secret_hash: &str) -> Result<Option<Token>>;
    fn tokens(&self) -> Result<Vec<Token>>;
    fn delete_token(&self, id: u64) -> Result<()>;
    fn touch_token(&self, id: u64, ts: Timestamp) -> Result<()>;
    fn add_session(&self, s: &Session) -> Result<()>;
    fn session(&self, secret_hash: &str) -> Result<Option<Session>>;
    fn delete_session(&self, secret_hash: &str) -> Result<()>;
    fn audit(&self, r: &AuditRecord) -> Result<()>;
    /// Newest first.
    fn audit_log(&self, limit: usize) -> Result<Vec<AuditRecord>>;

    // ---- settings and rules (documents the API edits) ----
    /// Named JSON documents: `exclusions`, `custom_rules`, `alert_settings`,
    /// `subnets`, `ti:<name>`, ...
    fn setting(&self, key: &str) -> Result<Option<serde_json::Value>>;
    fn set_setting(&self, key: &str, value: &serde_json::Value) -> Result<()>;
    fn delete_setting(&self, key: &str) -> Result<()>;
    fn settings_with_prefix(&self, prefix: &str) -> Result<Vec<(String, serde_json::Value)>>;
}
