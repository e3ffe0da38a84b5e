//! The alert manager: folds [`Detection`]s into [`Alert`]s and applies the
//! reference's lifecycle (§2): dedupe while open, exclusion rules, learn and
//! mute suppression, triage actions, auto-close and retention, and a bounded
//! change log for the event timeline.
//!
//! Pure logic: no I/O, no wall clock. Every time is a capture time given by
//! the caller (the detection's, or `ts`/`now` arguments), so the same inputs
//! give the same alerts, ids and events.
//!
//! # Scenario keys
//!
//! A [`ScenarioKey`] is the alert type plus the values of the type's
//! `aggregation_key` fields: `src`/`dst` are the endpoint's IP, else its MAC
//! (empty when neither is known), `protocol` is the detection's protocol,
//! every other field comes from [`Detection::key`] (empty when missing).
//! Only the listed fields count: a type keyed on `["src"]` (a scan) gathers
//! every destination of one source in one alert. At most one open alert
//! exists per key; learned and muted keys suppress matching detections.
//!
//! # Order of checks in [`AlertManager::ingest`]
//!
//! unknown type → disabled (type or engine) → learned → muted → exclusion
//! rules → update of the open alert with the same key → new alert. An
//! excluded detection neither creates nor updates an alert.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::net::IpAddr;

use otwatch_core::Timestamp;
use serde::{Deserialize, Serialize};

use crate::alert::{Alert, DeviceRef, Status};
use crate::catalog::{AlertType, Catalog, SensorSeverity};
use crate::detection::{Detection, Endpoint};
use crate::exclusion::{Candidate, ExclusionError, ExclusionRule};

const DAY_NS: i64 = 86_400 * Timestamp::NANOS_PER_SEC;

/// Manager limits and periods.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManagerConfig {
    /// An open alert closes itself when no identical traffic was seen for
    /// this long (reference: 90 days). Measured from `last_detection`.
    pub auto_close_after_ns: i64,
    /// Alerts of any status are deleted this long after their first
    /// detection (reference: 90 days).
    pub retention_ns: i64,
    /// Alerts kept in memory; beyond it the oldest closed alert is dropped
    /// (else the oldest alert).
    pub max_alerts: usize,
    /// Timeline events kept until [`AlertManager::drain_events`]; beyond it
    /// the oldest are dropped (counted).
    pub max_events: usize,
}

impl Default for ManagerConfig {
    fn default() -> Self {
        ManagerConfig {
            auto_close_after_ns: 90 * DAY_NS,
            retention_ns: 90 * DAY_NS,
            max_alerts: 100_000,
            max_events: 10_000,
        }
    }
}

/// The identity of an alert's traffic: alert type plus the values of the
/// type's aggregation-key fields, in the catalog's field order.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ScenarioKey {
    pub type_id: String,
    /// `(field, value)` for every field of the type's `aggregation_key`.
    pub fields: Vec<(String, String)>,
}

impl ScenarioKey {
    /// The key of a detection of type `t`.
    pub fn of(t: &AlertType, d: &Detection) -> ScenarioKey {
        let fields = t
            .aggregation_key
            .iter()
            .map(|f| {
                let v = match f.as_str() {
                    "src" => endpoint_id(&d.src),
                    "dst" => endpoint_id(&d.dst),
                    "protocol" => d.protocol.unwrap_or_default().to_string(),
                    other => d.key.get(other).cloned().unwrap_or_default(),
                };
                (f.clone(), v)
            })
            .collect();
        ScenarioKey {
            type_id: t.id.clone(),
            fields,
        }
    }
}

impl fmt::Display for ScenarioKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.type_id)?;
        for (k, v) in &self.fields {
            write!(f, " {k}={v}")?;
        }
        Ok(())
    }
}

fn endpoint_id(e: &Endpoint) -> String {
    match (e.ip, e.mac) {
        (Some(ip), _) => ip.to_string(),
        (None, Some(mac)) => mac.to_string(),
        (None, None) => String::new(),
    }
}

fn device_ref(e: &Endpoint) -> DeviceRef {
    DeviceRef {
        ip: e.ip,
        mac: e.mac,
        ..DeviceRef::default()
    }
}

/// Whether `ip` is an internet (public) address: not private, loopback,
/// link-local, multicast, broadcast, unspecified, shared (100.64/10) or
/// unique-local (fc00::/7); IPv6 only in global unicast (2000::/3).
pub fn is_internet(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v) => {
            let o = v.octets();
            !(v.is_private()
                || v.is_loopback()
                || v.is_link_local()
                || v.is_multicast()
                || v.is_broadcast()
                || v.is_unspecified()
                || o[0] == 0
                || o[0] >= 240
                || (o[0] == 100 && (o[1] & 0xc0) == 64))
        }
        IpAddr::V6(v) => match v.to_ipv4_mapped() {
            Some(v4) => is_internet(IpAddr::V4(v4)),
            None => (v.segments()[0] & 0xe000) == 0x2000,
        },
    }
}

/// Why a detection raised no alert although its type is enabled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Suppression {
    Learned,
    Muted,
}

/// What [`AlertManager::ingest`] did with a detection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A new alert (its global id).
    Created(String),
    /// Folded into the open alert with the same scenario key.
    Updated(String),
    /// An exclusion rule matched (its name); no alert.
    Excluded(String),
    Suppressed(Suppression),
    /// The type or its engine is switched off.
    Disabled,
    /// The type id is not in the catalog.
    UnknownType,
    /// A timeline event was recorded instead of an alert (custom rule with
    /// the "event" action).
    Event,
}

/// A refused triage action.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TriageError {
    #[error("no alert `{0}` on this sensor")]
    UnknownAlert(String),
    #[error("alert {id}: type `{type_id}` is not in the catalog")]
    UnknownType { id: String, type_id: String },
    #[error("alert {id}: type `{type_id}` cannot be learned")]
    NotLearnable { id: String, type_id: String },
    #[error("alert {id}: type `{type_id}` cannot be muted")]
    NotMutable { id: String, type_id: String },
    #[error("alert {id}: cannot mute traffic with an internet endpoint ({ip})")]
    InternetEndpoint { id: String, ip: IpAddr },
    #[error("alert {0} is already learned")]
    AlreadyLearned(String),
    #[error("alert {0} is not learned")]
    NotLearned(String),
    #[error("alert {0} is already muted")]
    AlreadyMuted(String),
    #[error("alert {0} is not muted")]
    NotMuted(String),
    #[error("alert {0} is learned: unlearn it to reopen it")]
    Learned(String),
    #[error("alert {0} is muted: unmute it to reopen it")]
    Muted(String),
    #[error("alert {id}: alert {other} is already open for the same traffic")]
    OpenDuplicate { id: String, other: String },
    #[error("alert {0}: empty comment")]
    EmptyComment(String),
    #[error("alert {0} already has {MAX_COMMENTS} comments, the most an alert keeps")]
    TooManyComments(String),
}

/// Comments an alert keeps at most: every list and sync of the alert
/// carries them, so they are bounded like everything else in a record.
pub const MAX_COMMENTS: usize = 200;

/// Kinds of timeline events, with the reference's event-type names (§6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum TimelineKind {
    /// `ALERT_REPORTED`: a new alert.
    Detected,
    /// `ALERT_UPDATED`: new detection, status (other than close), severity
    /// or comment change, unlearn/unmute.
    Updated,
    /// An alert was closed (by a user, or automatically).
    Closed,
    Learned,
    Unlearned,
    Muted,
    Unmuted,
    /// `MUTED_ALERT` ("Event Detected and Muted"): muted traffic recurred.
    MutedDetection,
    /// A detection matched an exclusion rule (no alert id).
    Excluded,
    /// Retention or the memory bound removed the alert.
    Deleted,
    /// `USER_DEFINED_RULE_OPERATION`: a custom rule whose action is
    /// "event" matched (no alert id).
    UserDefinedRule,
}

impl TimelineKind {
    /// The event-type name of the sensor events API.
    pub fn api_name(self) -> &'static str {
        match self {
            TimelineKind::Detected => "ALERT_REPORTED",
            TimelineKind::Updated => "ALERT_UPDATED",
            TimelineKind::Closed => "ALERT_CLOSED",
            TimelineKind::Learned => "ALERT_LEARNED",
            TimelineKind::Unlearned => "ALERT_UNLEARNED",
            TimelineKind::Muted => "ALERT_MUTED",
            TimelineKind::Unmuted => "ALERT_UNMUTED",
            TimelineKind::MutedDetection => "MUTED_ALERT",
            TimelineKind::Excluded => "ALERT_EXCLUDED",
            TimelineKind::Deleted => "ALERT_DELETED",
            TimelineKind::UserDefinedRule => "USER_DEFINED_RULE_OPERATION",
        }
    }
}

/// One change-log entry for the event timeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TimelineEvent {
    pub ts: Timestamp,
    pub kind: TimelineKind,
    /// The alert's global id (`None` for exclusion hits and suppressed
    /// detections of a deleted muted alert).
    pub alert_id: Option<String>,
    /// The alert title.
    pub title: String,
    pub message: String,
}

/// What [`AlertManager::tick`] changed (global ids).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TickReport {
    pub closed: Vec<String>,
    pub deleted: Vec<String>,
}

/// Running counters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ManagerStats {
    pub created: u64,
    pub updated: u64,
    pub excluded: u64,
    pub suppressed_learned: u64,
    pub suppressed_muted: u64,
    pub disabled: u64,
    pub unknown_type: u64,
    pub auto_closed: u64,
    pub expired: u64,
    /// Alerts dropped by `max_alerts`.
    pub evicted: u64,
    /// Timeline events dropped by `max_events`.
    pub events_dropped: u64,
    /// Timeline events recorded by custom rules whose action is "event".
    pub events: u64,
}

/// Resuming from stored state failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResumeError {
    #[error("alert {id}: sequence {seq} is not below the next sequence {next}")]
    SequenceAhead { id: String, seq: u64, next: u64 },
    #[error("alert {id} belongs to sensor `{sensor}`, not `{expected}`")]
    OtherSensor {
        id: String,
        sensor: String,
        expected: String,
    },
    #[error("alert {0} appears twice")]
    Duplicate(String),
}

struct Entry {
    alert: Alert,
    key: ScenarioKey,
}

/// The alerts of one sensor and their lifecycle.
pub struct AlertManager {
    catalog: Catalog,
    sensor_id: String,
    config: ManagerConfig,
    next_seq: u64,
    alerts: BTreeMap<u64, Entry>,
    /// Open alert per scenario key.
    open: BTreeMap<ScenarioKey, u64>,
    /// Closed alerts, oldest sequence first (eviction order).
    closed: BTreeSet<u64>,
    learned: BTreeSet<ScenarioKey>,
    muted: BTreeSet<ScenarioKey>,
    exclusions: Vec<ExclusionRule>,
    exclusion_hits: BTreeMap<String, u64>,
    events: VecDeque<TimelineEvent>,
    stats: ManagerStats,
}

impl AlertManager {
    /// An empty manager; the first alert gets sequence 1.
    pub fn new(catalog: Catalog, sensor_id: String, config: ManagerConfig) -> AlertManager {
        AlertManager {
            catalog,
            sensor_id,
            config,
            next_seq: 1,
            alerts: BTreeMap::new(),
            open: BTreeMap::new(),
            closed: BTreeSet::new(),
            learned: BTreeSet::new(),
            muted: BTreeSet::new(),
            exclusions: Vec::new(),
            exclusion_hits: BTreeMap::new(),
            events: VecDeque::new(),
            stats: ManagerStats::default(),
        }
    }

    /// A manager resumed from stored state: the next sequence to assign, the
    /// kept alerts with their scenario keys ([`AlertManager::scenario_key`]),
    /// and the learned and muted keys. `max_alerts` applies from the next
    /// new alert on.
    pub fn resume(
        catalog: Catalog,
        sensor_id: String,
        config: ManagerConfig,
        next_sequence: u64,
        alerts: Vec<(Alert, ScenarioKey)>,
        learned: impl IntoIterator<Item = ScenarioKey>,
        muted: impl IntoIterator<Item = ScenarioKey>,
    ) -> Result<AlertManager, ResumeError> {
        let mut m = AlertManager::new(catalog, sensor_id, config);
        m.next_seq = next_sequence.max(1);
        for (alert, key) in alerts {
            if alert.sensor_id != m.sensor_id {
                return Err(ResumeError::OtherSensor {
                    id: alert.id,
                    sensor: alert.sensor_id,
                    expected: m.sensor_id.clone(),
                });
            }
            let seq = alert.numeric_id;
            if seq >= m.next_seq {
                return Err(ResumeError::SequenceAhead {
                    id: alert.id,
                    seq,
                    next: m.next_seq,
                });
            }
            if m.alerts.contains_key(&seq) {
                return Err(ResumeError::Duplicate(alert.id));
            }
            if alert.status.is_open() && !m.open.contains_key(&key) {
                m.open.insert(key.clone(), seq);
            } else if !alert.status.is_open() {
                m.closed.insert(seq);
            }
            m.alerts.insert(seq, Entry { alert, key });
        }
        m.learned.extend(learned);
        m.muted.extend(muted);
        Ok(m)
    }

    pub fn sensor_id(&self) -> &str {
        &self.sensor_id
    }

    pub fn config(&self) -> &ManagerConfig {
        &self.config
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Replaces the catalog (after the admin changed overrides).
    pub fn set_catalog(&mut self, catalog: Catalog) {
        self.catalog = catalog;
    }

    /// The sequence the next new alert gets (to persist).
    pub fn next_sequence(&self) -> u64 {
        self.next_seq
    }

    /// Replaces the exclusion rules after checking that names are unique and
    /// titles exist in the catalog. Hit counters of kept names are kept.
    pub fn set_exclusions(&mut self, rules: Vec<ExclusionRule>) -> Result<(), ExclusionError> {
        let mut names = BTreeSet::new();
        for r in &rules {
            if !names.insert(r.name.as_str()) {
                return Err(ExclusionError::DuplicateName(r.name.clone()));
            }
            r.check_titles(&self.catalog)?;
        }
        self.exclusion_hits
            .retain(|k, _| names.contains(k.as_str()));
        self.exclusions = rules;
        Ok(())
    }

    pub fn exclusions(&self) -> &[ExclusionRule] {
        &self.exclusions
    }

    /// Detections excluded, per rule name (rules with hits only).
    pub fn exclusion_hits(&self) -> &BTreeMap<String, u64> {
        &self.exclusion_hits
    }

    pub fn stats(&self) -> &ManagerStats {
        &self.stats
    }

    /// An alert by global id (`<sensor_id>-<seq>`).
    pub fn get(&self, id: &str) -> Option<&Alert> {
        self.seq_of(id)
            .and_then(|s| self.alerts.get(&s))
            .map(|e| &e.alert)
    }

    /// The scenario key of an alert (to persist with it).
    pub fn scenario_key(&self, id: &str) -> Option<&ScenarioKey> {
        self.seq_of(id)
            .and_then(|s| self.alerts.get(&s))
            .map(|e| &e.key)
    }

    /// Every kept alert, oldest first.
    pub fn alerts(&self) -> impl Iterator<Item = &Alert> {
        self.alerts.values().map(|e| &e.alert)
    }

    pub fn len(&self) -> usize {
        self.alerts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.alerts.is_empty()
    }

    /// Learned scenario keys (for the baseline to persist).
    pub fn learned_keys(&self) -> impl Iterator<Item = &ScenarioKey> {
        self.learned.iter()
    }

    /// Muted scenario keys (for the store to persist).
    pub fn muted_keys(&self) -> impl Iterator<Item = &ScenarioKey> {
        self.muted.iter()
    }

    /// Takes the timeline events recorded since the last call, oldest first.
    pub fn drain_events(&mut self) -> Vec<TimelineEvent> {
        self.events.drain(..).collect()
    }

    fn seq_of(&self, id: &str) -> Option<u64> {
        let rest = id
            .strip_prefix(self.sensor_id.as_str())?
            .strip_prefix('-')?;
        if rest.starts_with('+') {
            return None;
        }
        rest.parse().ok()
    }

    fn event(
        &mut self,
        ts: Timestamp,
        kind: TimelineKind,
        alert_id: Option<String>,
        title: String,
        message: String,
    ) {
        if self.config.max_events == 0 {
            self.stats.events_dropped += 1;
            return;
        }
        while self.events.len() >= self.config.max_events {
            self.events.pop_front();
            self.stats.events_dropped += 1;
        }
        self.events.push_back(TimelineEvent {
            ts,
            kind,
            alert_id,
            title,
            message,
        });
    }

    fn alert_event(&mut self, seq: u64, ts: Timestamp, kind: TimelineKind, message: String) {
        let (id, title) = match self.alerts.get(&seq) {
            Some(e) => (e.alert.id.clone(), e.alert.title.clone()),
            None => return,
        };
        self.event(ts, kind, Some(id), title, message);
    }

    /// Keeps `open` and `closed` in step with the alert's status.
    fn reindex(&mut self, seq: u64) {
        let Some(e) = self.alerts.get(&seq) else {
            return;
        };
        if e.alert.status.is_open() {
            self.closed.remove(&seq);
            self.open.entry(e.key.clone()).or_insert(seq);
        } else {
            self.closed.insert(seq);
            if self.open.get(&e.key) == Some(&seq) {
                self.open.remove(&e.key);
            }
        }
    }

    fn remove(&mut self, seq: u64, ts: Timestamp, why: &str) -> Option<String> {
        let e = self.alerts.remove(&seq)?;
        self.closed.remove(&seq);
        if self.open.get(&e.key) == Some(&seq) {
            self.open.remove(&e.key);
        }
        let id = e.alert.id.clone();
        self.event(
            ts,
            TimelineKind::Deleted,
            Some(id.clone()),
            e.alert.title,
            why.to_string(),
        );
        Some(id)
    }

    fn auto_close_due(&self, a: &Alert, now: Timestamp) -> bool {
        a.status.is_open() && now.nanos_since(a.last_detection) >= self.config.auto_close_after_ns
    }

    fn auto_close(&mut self, seq: u64, now: Timestamp) -> Option<String> {
        let days = self.config.auto_close_after_ns as f64 / DAY_NS as f64;
        let e = self.alerts.get_mut(&seq)?;
        e.alert.set_status(Status::Closed, now);
        let id = e.alert.id.clone();
        self.reindex(seq);
        self.stats.auto_closed += 1;
        self.alert_event(
            seq,
            now,
            TimelineKind::Closed,
            format!("closed automatically: no identical traffic for {days} days"),
        );
        Some(id)
    }

    /// Folds one detection into the alerts.
    pub fn ingest(&mut self, d: Detection) -> Outcome {
        let Some(t) = self.catalog.get(d.type_id) else {
            self.stats.unknown_type += 1;
            return Outcome::UnknownType;
        };
        if !self.catalog.is_enabled(d.type_id) {
            self.stats.disabled += 1;
            return Outcome::Disabled;
        }
        let key = ScenarioKey::of(t, &d);
        let title = d.title.clone().unwrap_or_else(|| t.title.clone());
        if self.learned.contains(&key) {
            self.stats.suppressed_learned += 1;
            return Outcome::Suppressed(Suppression::Learned);
        }
        if self.muted.contains(&key) {
            self.stats.suppressed_muted += 1;
            let msg = format!("muted traffic detected again ({key}): {}", d.message);
            self.event(d.ts, TimelineKind::MutedDetection, None, title, msg);
            return Outcome::Suppressed(Suppression::Muted);
        }
        let cand = Candidate {
            ts: d.ts,
            title: &title,
            sensor: &self.sensor_id,
            src: &d.src,
            dst: &d.dst,
        };
        if let Some(rule) = self.exclusions.iter().find(|r| r.matches(&cand)) {
            let name = rule.name.clone();
            *self.exclusion_hits.entry(name.clone()).or_default() += 1;
            self.stats.excluded += 1;
            let msg = format!("excluded by rule \"{name}\": {}", d.message);
            self.event(d.ts, TimelineKind::Excluded, None, title, msg);
            return Outcome::Excluded(name);
        }
        if d.event_only {
            self.stats.events += 1;
            self.event(d.ts, TimelineKind::UserDefinedRule, None, title, d.message);
            return Outcome::Event;
        }
        if let Some(&seq) = self.open.get(&key) {
            let due = self
                .alerts
                .get(&seq)
                .is_some_and(|e| self.auto_close_due(&e.alert, d.ts));
            if due {
                self.auto_close(seq, d.ts);
            } else if let Some(e) = self.alerts.get_mut(&seq) {
                for (k, v) in &d.info {
                    e.alert.additional_info.insert((*k).to_string(), v.clone());
                }
                e.alert.record_violation(d.ts, d.message.clone());
                let id = e.alert.id.clone();
                self.stats.updated += 1;
                self.alert_event(seq, d.ts, TimelineKind::Updated, d.message);
                return Outcome::Updated(id);
            }
        }
        self.create(d, key)
    }

    fn create(&mut self, d: Detection, key: ScenarioKey) -> Outcome {
        let max = self.config.max_alerts.max(1);
        while self.alerts.len() >= max {
            let victim = match self.closed.first() {
                Some(&s) => s,
                None => match self.alerts.keys().next() {
                    Some(&s) => s,
                    None => break,
                },
            };
            self.remove(victim, d.ts, "dropped: alert memory bound reached");
            self.stats.evicted += 1;
        }
        let Some(t) = self.catalog.get(d.type_id) else {
            return Outcome::UnknownType;
        };
        let seq = self.next_seq;
        self.next_seq += 1;
        let mut alert = Alert::new(
            &self.sensor_id,
            seq,
            t,
            d.ts,
            d.message.clone(),
            d.protocol.map(str::to_string),
            device_ref(&d.src),
            device_ref(&d.dst),
        );
        if let Some(title) = &d.title {
            alert.title = title.clone();
        }
        if let Some(sev) = d.severity {
            alert.sensor_severity = sev;
            alert.severity = sev.severity();
        }
        alert.additional_info = d
            .info
            .iter()
            .map(|(k, v)| ((*k).to_string(), v.clone()))
            .collect();
        let id = alert.id.clone();
        self.alerts.insert(seq, Entry { alert, key });
        self.reindex(seq);
        self.stats.created += 1;
        self.alert_event(seq, d.ts, TimelineKind::Detected, d.message);
        Outcome::Created(id)
    }

    fn lookup(&self, id: &str) -> Result<u64, TriageError> {
        self.seq_of(id)
            .filter(|s| self.alerts.contains_key(s))
            .ok_or_else(|| TriageError::UnknownAlert(id.to_string()))
    }

    fn alert_type(&self, seq: u64) -> Result<&AlertType, TriageError> {
        let a = &self.alerts[&seq].alert;
        self.catalog
            .get(&a.type_id)
            .ok_or_else(|| TriageError::UnknownType {
                id: a.id.clone(),
                type_id: a.type_id.clone(),
            })
    }

    fn other_open(&self, seq: u64) -> Option<String> {
        let key = &self.alerts[&seq].key;
        self.open
            .get(key)
            .filter(|&&o| o != seq)
            .and_then(|o| self.alerts.get(o))
            .map(|e| e.alert.id.clone())
    }

    /// Sets the status. Reopening (New or Active on a closed alert) is
    /// refused while the alert is learned or muted, or when another alert is
    /// open for the same traffic. Setting the current status changes nothing.
    pub fn set_status(
        &mut self,
        id: &str,
        status: Status,
        ts: Timestamp,
    ) -> Result<(), TriageError> {
        let seq = self.lookup(id)?;
        let a = &self.alerts[&seq].alert;
        if a.status == status {
            return Ok(());
        }
        if status.is_open() && !a.status.is_open() {
            if a.learned {
                return Err(TriageError::Learned(id.to_string()));
            }
            if a.muted {
                return Err(TriageError::Muted(id.to_string()));
            }
            if let Some(other) = self.other_open(seq) {
                return Err(TriageError::OpenDuplicate {
                    id: id.to_string(),
                    other,
                });
            }
        }
        let from = a.status;
        if let Some(e) = self.alerts.get_mut(&seq) {
            e.alert.set_status(status, ts);
        }
        self.reindex(seq);
        let kind = if status == Status::Closed {
            TimelineKind::Closed
        } else {
            TimelineKind::Updated
        };
        let msg = format!("status {} → {}", from.as_str(), status.as_str());
        self.alert_event(seq, ts, kind, msg);
        Ok(())
    }

    /// Learn: closes the alert, marks it learned and adds its scenario key
    /// to the learned set, so matching detections raise nothing. Allowed on
    /// closed alerts too (the API's `handleAndLearn` on a handled alert).
    pub fn learn(&mut self, id: &str, ts: Timestamp) -> Result<(), TriageError> {
        let seq = self.lookup(id)?;
        let t = self.alert_type(seq)?;
        if !t.learnable {
            return Err(TriageError::NotLearnable {
                id: id.to_string(),
                type_id: t.id.clone(),
            });
        }
        let Some(e) = self.alerts.get_mut(&seq) else {
            return Err(TriageError::UnknownAlert(id.to_string()));
        };
        if e.alert.learned {
            return Err(TriageError::AlreadyLearned(id.to_string()));
        }
        e.alert.set_learned(true, ts);
        let key = e.key.clone();
        self.reindex(seq);
        let msg = format!("learned: {key} added to the baseline");
        self.learned.insert(key);
        self.alert_event(seq, ts, TimelineKind::Learned, msg);
        Ok(())
    }

    /// Unlearn (reference: "after unlearn, the status is set back to New"):
    /// removes the scenario key from the learned set and reopens the alert as
    /// New, unless another alert is open for the same traffic or the alert is
    /// also muted; then it stays Closed.
    pub fn unlearn(&mut self, id: &str, ts: Timestamp) -> Result<(), TriageError> {
        let seq = self.lookup(id)?;
        let other = self.other_open(seq);
        let Some(e) = self.alerts.get_mut(&seq) else {
            return Err(TriageError::UnknownAlert(id.to_string()));
        };
        if !e.alert.learned {
            return Err(TriageError::NotLearned(id.to_string()));
        }
        e.alert.set_learned(false, ts);
        let stay_closed = other.is_some() || e.alert.muted;
        if stay_closed {
            e.alert.set_status(Status::Closed, ts);
        }
        let key = e.key.clone();
        self.learned.remove(&key);
        self.reindex(seq);
        let msg = if stay_closed {
            format!("unlearned: {key} removed from the baseline; stays closed")
        } else {
            format!("unlearned: {key} removed from the baseline; status New")
        };
        self.alert_event(seq, ts, TimelineKind::Unlearned, msg);
        Ok(())
    }

    /// Mute: closes the alert and suppresses its scenario (without touching
    /// the learned set). Refused for types that are not mutable and when
    /// either endpoint is an internet address.
    pub fn mute(&mut self, id: &str, ts: Timestamp) -> Result<(), TriageError> {
        let seq = self.lookup(id)?;
        let t = self.alert_type(seq)?;
        if !t.mutable {
            return Err(TriageError::NotMutable {
                id: id.to_string(),
                type_id: t.id.clone(),
            });
        }
        let Some(e) = self.alerts.get_mut(&seq) else {
            return Err(TriageError::UnknownAlert(id.to_string()));
        };
        if e.alert.muted {
            return Err(TriageError::AlreadyMuted(id.to_string()));
        }
        let public = [e.alert.source.ip, e.alert.destination.ip]
            .into_iter()
            .flatten()
            .find(|&ip| is_internet(ip));
        if let Some(ip) = public {
            return Err(TriageError::InternetEndpoint {
                id: id.to_string(),
                ip,
            });
        }
        e.alert.set_muted(true, ts);
        let key = e.key.clone();
        self.reindex(seq);
        let msg = format!("muted: {key} suppressed");
        self.muted.insert(key);
        self.alert_event(seq, ts, TimelineKind::Muted, msg);
        Ok(())
    }

    /// Unmute: lifts the suppression; the alert stays Closed and the next
    /// matching traffic raises a new alert.
    pub fn unmute(&mut self, id: &str, ts: Timestamp) -> Result<(), TriageError> {
        let seq = self.lookup(id)?;
        let Some(e) = self.alerts.get_mut(&seq) else {
            return Err(TriageError::UnknownAlert(id.to_string()));
        };
        if !e.alert.muted {
            return Err(TriageError::NotMuted(id.to_string()));
        }
        e.alert.set_muted(false, ts);
        let key = e.key.clone();
        self.muted.remove(&key);
        self.reindex(seq);
        self.alert_event(seq, ts, TimelineKind::Unmuted, format!("unmuted: {key}"));
        Ok(())
    }

    pub fn comment(
        &mut self,
        id: &str,
        ts: Timestamp,
        user: &str,
        text: &str,
    ) -> Result<(), TriageError> {
        let seq = self.lookup(id)?;
        if text.trim().is_empty() {
            return Err(TriageError::EmptyComment(id.to_string()));
        }
        if self
            .alerts
            .get(&seq)
            .is_some_and(|e| e.alert.comments.len() >= MAX_COMMENTS)
        {
            return Err(TriageError::TooManyComments(id.to_string()));
        }
        if let Some(e) = self.alerts.get_mut(&seq) {
            e.alert.add_comment(ts, user.to_string(), text.to_string());
        }
        self.alert_event(
            seq,
            ts,
            TimelineKind::Updated,
            format!("comment by {user}: {text}"),
        );
        Ok(())
    }

    /// Fills the inventory ids (and names, when known) of an alert's
    /// devices; the sensor resolves them when the alert is created.
    pub fn set_device_ids(
        &mut self,
        id: &str,
        src: (Option<u64>, Option<String>),
        dst: (Option<u64>, Option<String>),
        ts: Timestamp,
    ) -> Result<(), TriageError> {
        let seq = self.lookup(id)?;
        let Some(e) = self.alerts.get_mut(&seq) else {
            return Err(TriageError::UnknownAlert(id.to_string()));
        };
        let a = &mut e.alert;
        let changed = (
            a.source.id,
            &a.source.name,
            a.destination.id,
            &a.destination.name,
        ) != (src.0, &src.1, dst.0, &dst.1);
        if changed {
            (a.source.id, a.source.name) = src;
            (a.destination.id, a.destination.name) = dst;
            a.changed(ts);
        }
        Ok(())
    }

    /// Records where an alert's capture is stored (`Some`), or that it was
    /// removed (`None`: `pcap_available` becomes false, the reference stays).
    pub fn set_pcap(
        &mut self,
        id: &str,
        reference: Option<String>,
        ts: Timestamp,
    ) -> Result<(), TriageError> {
        let seq = self.lookup(id)?;
        let Some(e) = self.alerts.get_mut(&seq) else {
            return Err(TriageError::UnknownAlert(id.to_string()));
        };
        match reference {
            Some(r) => e.alert.set_pcap(r, ts),
            None if e.alert.pcap_available => {
                e.alert.pcap_available = false;
                e.alert.changed(ts);
            }
            None => {}
        }
        Ok(())
    }

    /// Changes the severity (the three-level one follows). Setting the
    /// current severity changes nothing.
    pub fn set_severity(
        &mut self,
        id: &str,
        severity: SensorSeverity,
        ts: Timestamp,
    ) -> Result<(), TriageError> {
        let seq = self.lookup(id)?;
        let Some(e) = self.alerts.get_mut(&seq) else {
            return Err(TriageError::UnknownAlert(id.to_string()));
        };
        let from = e.alert.sensor_severity;
        if from == severity {
            return Ok(());
        }
        e.alert.set_severity(severity, ts);
        let msg = format!("severity {} → {}", from.as_str(), severity.as_str());
        self.alert_event(seq, ts, TimelineKind::Updated, msg);
        Ok(())
    }

    /// Time passes: open alerts whose last detection is at least
    /// `auto_close_after_ns` old close themselves; alerts whose first
    /// detection is at least `retention_ns` old are deleted.
    pub fn tick(&mut self, now: Timestamp) -> TickReport {
        let mut report = TickReport::default();
        let due: Vec<u64> = self
            .alerts
            .iter()
            .filter(|(_, e)| self.auto_close_due(&e.alert, now))
            .map(|(&s, _)| s)
            .collect();
        for seq in due {
            if let Some(id) = self.auto_close(seq, now) {
                report.closed.push(id);
            }
        }
        let expired: Vec<u64> = self
            .alerts
            .iter()
            .filter(|(_, e)| now.nanos_since(e.alert.first_detection) >= self.config.retention_ns)
            .map(|(&s, _)| s)
            .collect();
        for seq in expired {
            if let Some(id) = self.remove(seq, now, "deleted: retention period over") {
                self.stats.expired += 1;
                report.deleted.push(id);
            }
        }
        report
    }
}

#[cfg(test)]
#[path = "manager_tests.rs"]
mod tests;
