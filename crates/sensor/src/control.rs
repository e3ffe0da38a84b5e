//! `otwatch_api::Control` for the running sensor: every call becomes a job
//! run on the analysis thread between packets, so it sees and changes the
//! live state; the caller waits for the answer (with a deadline).
//!
//! Settings documents (alert settings, exclusion rules, custom rules, threat
//! intelligence, subnets) use the same schemas as the `otwatch analyze`
//! files (TOML there, the same structure as JSON here: they are converted
//! and parsed by the same code, so the same checks and messages apply), and
//! are kept in the store so that a restart resumes with them.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc::SyncSender;
use std::time::Duration;

use otwatch_alerts::{Alert, Catalog, TriageError};
use otwatch_api::control::LearningStatus;
use otwatch_api::{AlertAction, Control, ControlError, DeviceAction};
use otwatch_engines::Engines;
use otwatch_store::{EventRecord, Op};
use serde_json::{Value, json};

use crate::metrics::Metrics;
use crate::runtime::{Core, DeviceIds, Job, event_record, wall_now};

/// Store keys of the settings documents.
pub const KEY_ALERT_SETTINGS: &str = "alert_settings";
pub const KEY_EXCLUSIONS: &str = "exclusions";
pub const KEY_CUSTOM_RULES: &str = "custom_rules";
pub const KEY_SUBNETS: &str = "subnets";
pub const TI_PREFIX: &str = "ti:";

/// The settings documents in force.
#[derive(Clone, Debug, Default)]
pub struct Docs {
    pub alert_settings: Value,
    pub exclusions: Value,
    pub custom_rules: Value,
    pub subnets: Value,
    /// Threat-intelligence packages by name (package text).
    pub ti: BTreeMap<String, String>,
}

fn invalid(field: &str, message: impl std::fmt::Display) -> ControlError {
    ControlError::Invalid {
        field: field.to_string(),
        message: message.to_string(),
    }
}

/// JSON → TOML text under `root` (an array of tables) or at the top.
fn toml_text(v: &Value, root: Option<&str>, field: &str) -> Result<String, ControlError> {
    let wrapped = match root {
        Some(r) => {
            if !v.is_array() {
                return Err(invalid(field, "expected a JSON array of rules"));
            }
            json!({ r: v })
        }
        None => {
            if !v.is_object() {
                return Err(invalid(field, "expected a JSON object"));
            }
            v.clone()
        }
    };
    toml::to_string(&wrapped).map_err(|e| {
        invalid(
            field,
            format!("cannot be expressed as settings: {e} (null values are not allowed)"),
        )
    })
}

/// Parses alert settings into a catalog.
pub fn catalog_from(v: &Value) -> Result<Catalog, ControlError> {
    if v.is_null() {
        return Ok(Catalog::builtin().clone());
    }
    let text = toml_text(v, None, "alert_settings")?;
    let o = otwatch_alerts::Overrides::from_toml_str(&text)
        .map_err(|e| invalid("alert_settings", e.message()))?;
    Catalog::builtin()
        .with_overrides(&o)
        .map_err(|e| invalid("alert_settings", e))
}

pub fn exclusions_from(v: &Value) -> Result<Vec<otwatch_alerts::ExclusionRule>, ControlError> {
    if v.is_null() {
        return Ok(Vec::new());
    }
    let text = toml_text(v, Some("exclusion"), "exclusions")?;
    otwatch_alerts::parse_rules(&text).map_err(|e| invalid("exclusions", e))
}

pub fn custom_from(v: &Value) -> Result<otwatch_engines::custom::CustomRules, ControlError> {
    if v.is_null() {
        return Ok(otwatch_engines::custom::CustomRules::new(Vec::new()));
    }
    let text = toml_text(v, Some("rule"), "custom_rules")?;
    let rules =
        otwatch_engines::custom::parse_rules(&text).map_err(|e| invalid("custom_rules", e))?;
    Ok(otwatch_engines::custom::CustomRules::new(rules))
}

/// Builds the threat intelligence from the packages and installs it.
pub fn install_ti(packages: &BTreeMap<String, String>) -> Result<(), ControlError> {
    let mut list = Vec::new();
    for (name, text) in packages {
        let p = otwatch_engines::ti::Package::parse(text, Path::new(name))
            .map_err(|e| invalid(&format!("ti.{name}"), e))?;
        list.push(p);
    }
    otwatch_engines::ti::global().replace(otwatch_engines::ti::ThreatIntel::new(list));
    Ok(())
}

/// Applies a subnets document to the baseline.
pub fn apply_subnets(engines: &mut Engines, v: &Value) -> Result<(), ControlError> {
    if v.is_null() {
        return Ok(());
    }
    let o = v.as_object().ok_or_else(|| {
        invalid(
            "subnets",
            "expected an object {ot_subnets, resolve_internal}",
        )
    })?;
    for k in o.keys() {
        if k != "ot_subnets" && k != "resolve_internal" {
            return Err(invalid(
                &format!("subnets.{k}"),
                "unknown key (use ot_subnets, resolve_internal)",
            ));
        }
    }
    let nets = match o.get("ot_subnets") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("all") => Some(None),
        Some(Value::Array(a)) => {
            let mut list = Vec::new();
            for (i, x) in a.iter().enumerate() {
                let s = x.as_str().ok_or_else(|| {
                    invalid(
                        &format!("subnets.ot_subnets[{i}]"),
                        "expected a CIDR string",
                    )
                })?;
                match otwatch_engines::parse_subnets(s) {
                    Ok(Some(mut n)) => list.append(&mut n),
                    Ok(None) => {
                        return Err(invalid(
                            &format!("subnets.ot_subnets[{i}]"),
                            "`all` goes alone: \"ot_subnets\": \"all\"",
                        ));
                    }
                    Err(e) => return Err(invalid(&format!("subnets.ot_subnets[{i}]"), e)),
                }
            }
            Some(Some(list))
        }
        Some(_) => {
            return Err(invalid(
                "subnets.ot_subnets",
                "expected \"all\" or an array of CIDR strings",
            ));
        }
    };
    let resolve = match o.get("resolve_internal") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            return Err(invalid(
                "subnets.resolve_internal",
                "expected true or false",
            ));
        }
    };
    let b = engines.baseline_mut();
    match nets {
        Some(None) => b.set_all_ot(true),
        Some(Some(list)) => {
            b.set_all_ot(false);
            b.set_ot_subnets(&list);
        }
        None => {}
    }
    if let Some(r) = resolve {
        b.resolve_internal = r;
    }
    Ok(())
}

/// Rebuilds the engines from `catalog` (thresholds and switches), keeping
/// the baseline; custom rules are added back.
pub fn rebuild_engines(core: &mut Core, catalog: &Catalog) -> Result<(), ControlError> {
    let custom = custom_from(&core.docs.custom_rules)?;
    let old = std::mem::replace(core.engines(), Engines::new());
    let mut e = otwatch_engines::builtin(catalog, old.into_baseline());
    e.push(Box::new(custom));
    *core.engines() = e;
    core.manager.set_catalog(catalog.clone());
    core.catalog = catalog.clone();
    Ok(())
}

fn triage(e: TriageError) -> ControlError {
    match e {
        TriageError::UnknownAlert(id) => ControlError::NotFound {
            what: "alert".into(),
            id,
        },
        other => ControlError::Refused(other.to_string()),
    }
}

fn user_event(core: &mut Core, actor: &str, content: String) {
    core.ops.send(Op::Event(EventRecord {
        id: 0,
        ts: wall_now(),
        severity: "INFO".into(),
        kind: "USER_OPERATION".into(),
        title: "User Operation".into(),
        device_ip: None,
        device_mac: None,
        peer_ip: None,
        owner: Some(actor.to_string()),
        alert_id: None,
        content,
    }));
}

/// `aa:bb:cc:dd:ee:ff` (or with `-`).
pub fn parse_mac(s: &str) -> Option<otwatch_core::MacAddr> {
    let mut b = [0u8; 6];
    let mut parts = s.split([':', '-']);
    for x in &mut b {
        *x = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(otwatch_core::MacAddr(b))
}

fn store_err(e: otwatch_store::StoreError) -> ControlError {
    ControlError::Internal(e.to_string())
}

impl Core {
    pub fn alert_action(
        &mut self,
        id: &str,
        action: AlertAction,
        actor: &str,
    ) -> Result<Alert, ControlError> {
        let now = wall_now();
        let m = &mut self.manager;
        match &action {
            AlertAction::Status { status } => m.set_status(id, *status, now),
            AlertAction::Learn => m.learn(id, now),
            AlertAction::Unlearn => m.unlearn(id, now),
            AlertAction::Mute => m.mute(id, now),
            AlertAction::Unmute => m.unmute(id, now),
            AlertAction::Comment { text } => {
                if text.chars().count() > 4000 {
                    return Err(invalid("comment", "longer than 4000 characters"));
                }
                m.comment(id, now, actor, text)
            }
            AlertAction::Severity { severity } => m.set_severity(id, *severity, now),
        }
        .map_err(triage)?;
        let key = self.manager.scenario_key(id).cloned();
        if let Some(key) = key {
            let capture_now = self.now();
            match action {
                AlertAction::Learn => {
                    self.engines().learn(&key, capture_now);
                    self.ops.send(Op::Learned { key, on: true });
                }
                AlertAction::Unlearn => {
                    self.engines().unlearn(&key);
                    self.ops.send(Op::Learned { key, on: false });
                }
                AlertAction::Mute => self.ops.send(Op::Muted { key, on: true }),
                AlertAction::Unmute => self.ops.send(Op::Muted { key, on: false }),
                _ => {}
            }
        }
        self.touch(id);
        self.acting = Some(actor.to_string());
        self.drain_manager_events();
        self.acting = None;
        self.flush_touched();
        self.commit_later();
        self.manager
            .get(id)
            .cloned()
            .ok_or_else(|| ControlError::NotFound {
                what: "alert".into(),
                id: id.into(),
            })
    }

    pub fn device_action(
        &mut self,
        id: u64,
        action: DeviceAction,
        actor: &str,
    ) -> Result<u64, ControlError> {
        let view =
            self.store
                .device(id)
                .map_err(store_err)?
                .ok_or_else(|| ControlError::NotFound {
                    what: "device".into(),
                    id: id.to_string(),
                })?;
        let ip = view.record.ip;
        let now = self.now();
        match action {
            DeviceAction::Edit { edits } => {
                if let Some(ip) = ip
                    && (edits.authorized.is_some()
                        || edits.programming_device.is_some()
                        || edits.scanner.is_some())
                {
                    let b = self.engines().baseline_mut();
                    if b.device(ip).is_none() {
                        let mac = view.record.mac.as_deref().and_then(parse_mac);
                        b.see_device(ip, mac, now.0);
                    }
                    if let Some(d) = b.device_mut(ip) {
                        if let Some(a) = edits.authorized {
                            d.authorized = a;
                        }
                        if let Some(p) = edits.programming_device {
                            d.programming = p;
                        }
                        if let Some(s) = edits.scanner {
                            d.scanner = s;
                        }
                    }
                }
                user_event(
                    self,
                    actor,
                    format!(
                        "device {id} edited: {}",
                        serde_json::to_string(&edits).unwrap_or_default()
                    ),
                );
            }
            DeviceAction::Merge { from } => {
                for f in &from {
                    if *f == id {
                        return Err(invalid("from", "a device cannot be merged into itself"));
                    }
                    let other = self.store.device(*f).map_err(store_err)?.ok_or_else(|| {
                        ControlError::NotFound {
                            what: "device".into(),
                            id: f.to_string(),
                        }
                    })?;
                    if let Some(k) = DeviceIds::key(other.record.ip, other.record.mac.as_deref()) {
                        self.ids.alias(k, id);
                    }
                    self.store.delete_device(*f).map_err(store_err)?;
                }
                let e = otwatch_alerts::timeline::TimelineEntry::new(
                    wall_now(),
                    otwatch_alerts::timeline::EventSeverity::Info,
                    "DEVICE_UNIFICATION",
                    format!("devices {from:?} merged into device {id} by {actor}"),
                );
                self.ops.send(Op::Event(event_record(&e)));
            }
            DeviceAction::Delete => {
                if let Some(ip) = ip {
                    self.engines().baseline_mut().remove_device(ip);
                }
                self.ids.forget(id);
                self.store.delete_device(id).map_err(store_err)?;
                let mut e = otwatch_alerts::timeline::TimelineEntry::new(
                    wall_now(),
                    otwatch_alerts::timeline::EventSeverity::Info,
                    "DELETE_DEVICE",
                    format!("device {id} deleted by {actor}"),
                );
                e.device_ip = ip;
                self.ops.send(Op::Event(event_record(&e)));
            }
        }
        self.commit_later();
        Ok(id)
    }

    pub fn learning_status(&mut self) -> LearningStatus {
        let b = self.engines().baseline();
        let since = (b.learning.started != 0)
            .then(|| otwatch_core::Timestamp(b.learning.started).to_rfc3339());
        LearningStatus {
            learning: b.learning(),
            auto_end: b.learning.auto_end,
            since,
            stats: serde_json::to_value(b.stats()).unwrap_or(Value::Null),
        }
    }

    fn save_doc(&mut self, key: &str, v: &Value) -> Result<(), ControlError> {
        if v.is_null() {
            self.store.delete_setting(key).map_err(store_err)
        } else {
            self.store.set_setting(key, v).map_err(store_err)
        }
    }

    /// Device-to-device connections learned in the baseline (channels),
    /// with the sensor's device ids. `last_seen` is the later of the two
    /// devices' last activity as the inventory knows it (channels keep no
    /// time of their own).
    pub fn connections(&mut self) -> Value {
        let chans = self.engines().baseline().channels();
        let last: HashMap<IpAddr, otwatch_core::Timestamp> = self
            .pipeline
            .sink()
            .1
            .0
            .devices()
            .into_iter()
            .filter_map(|d| d.ip.map(|ip| (ip, d.last_seen)))
            .collect();
        let mut out = Vec::with_capacity(chans.len());
        for c in chans {
            let cid = self.ids.get(&format!("ip:{}", c.client));
            let sid = self.ids.get(&format!("ip:{}", c.server));
            let first = otwatch_core::Timestamp(c.first_seen);
            let seen = [last.get(&c.client), last.get(&c.server)]
                .into_iter()
                .flatten()
                .copied()
                .max()
                .unwrap_or(first);
            let commands: Vec<String> = c
                .entries
                .iter()
                .filter_map(|e| serde_json::to_value(e).ok())
                .map(|v| match v {
                    Value::String(s) => s,
                    other => other.to_string(),
                })
                .collect();
            out.push(json!({
                "first_device_id": cid,
                "second_device_id": sid,
                "first_ip": c.client,
                "second_ip": c.server,
                "first_seen": first,
                "last_seen": seen.max(first),
                "ports": [c.port],
                "protocols": [{"name": c.proto, "commands": commands}],
            }));
        }
        Value::Array(out)
    }

    pub fn status_doc(&mut self) -> Value {
        let learning = self.engines().baseline().learning();
        let fs = *self.pipeline.flow_stats();
        json!({
            "sensor": self.cfg.sensor.name,
            "learning": learning,
            "packets": self.metrics.packets.load(Relaxed),
            "bytes": self.metrics.bytes.load(Relaxed),
            "flows_created": fs.created,
            "devices": self.pipeline.sink().1.0.len(),
            "alerts": self.manager.len(),
            "capture_time": self.pipeline.now(),
            "interfaces": self.metrics.interfaces(),
            "replays_pending": self.replay_pending(),
            "replays": self.replay_log.iter().cloned().collect::<Vec<_>>(),
        })
    }
}

/// The API's handle on the running sensor.
pub struct SensorControl {
    jobs: SyncSender<Job>,
    metrics: Arc<Metrics>,
    /// The analysis thread's priority, lent to it while it runs jobs.
    priority: Arc<crate::priority::Priority>,
    /// Where uploaded captures are kept until replayed.
    pub upload_dir: PathBuf,
    timeout: Duration,
}

impl SensorControl {
    pub fn new(
        jobs: SyncSender<Job>,
        metrics: Arc<Metrics>,
        upload_dir: PathBuf,
        priority: Arc<crate::priority::Priority>,
    ) -> Self {
        SensorControl {
            jobs,
            metrics,
            priority,
            upload_dir,
            timeout: Duration::from_secs(15),
        }
    }

    /// Runs `f` on the analysis thread and waits for its answer.
    pub fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Core) -> T + Send + 'static,
    ) -> Result<T, ControlError> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.metrics.job_queue.fetch_add(1, Relaxed);
        self.jobs
            .try_send(Box::new(move |core: &mut Core| {
                // What the packets changed so far goes the ordinary way.
                core.settle();
                core.ops.set_urgent(true);
                let answer = f(core);
                core.ops.set_urgent(false);
                // Whatever the call changed shows in /api/status before the
                // caller gets the answer.
                core.publish_status();
                let _ = tx.send((answer, core.pending_commit.take()));
            }))
            .map_err(|e| {
                self.metrics.job_queue.fetch_sub(1, Relaxed);
                ControlError::Unavailable(match e {
                    std::sync::mpsc::TrySendError::Full(_) => {
                        "the sensor is busy (too many pending requests); retry shortly".into()
                    }
                    std::sync::mpsc::TrySendError::Disconnected(_) => {
                        "the sensor is stopping".into()
                    }
                })
            })?;
        self.priority.boost();
        let t0 = std::time::Instant::now();
        let (answer, commit) = rx.recv_timeout(self.timeout).map_err(|_| {
            ControlError::Unavailable(format!(
                "the sensor did not answer within {} s",
                self.timeout.as_secs()
            ))
        })?;
        // What the call changed is committed before its caller is answered;
        // the wait is here, off the analysis thread.
        if let Some(c) = commit {
            c.wait_timeout(self.timeout.saturating_sub(t0.elapsed()))
                .map_err(|e| ControlError::Unavailable(format!("store: {e}")))?;
        }
        Ok(answer)
    }

    /// Asks the analysis thread to stop (after finishing its current slice).
    pub fn stop(&self) -> Result<(), ControlError> {
        self.call(|c| c.stop = true)
    }
}

impl Control for SensorControl {
    fn alert_action(
        &self,
        id: &str,
        action: AlertAction,
        actor: &str,
    ) -> Result<Alert, ControlError> {
        let (id, actor) = (id.to_string(), actor.to_string());
        self.call(move |c| c.alert_action(&id, action, &actor))?
    }

    fn device_action(
        &self,
        id: u64,
        action: DeviceAction,
        actor: &str,
    ) -> Result<u64, ControlError> {
        let actor = actor.to_string();
        self.call(move |c| c.device_action(id, action, &actor))?
    }

    fn learning(&self) -> Result<LearningStatus, ControlError> {
        self.call(|c| c.learning_status())
    }

    fn set_learning(&self, on: bool, actor: &str) -> Result<LearningStatus, ControlError> {
        let actor = actor.to_string();
        self.call(move |c| {
            let now = c.now();
            c.engines().baseline_mut().set_learning(on, now);
            let json = c.engines().baseline().to_json();
            c.ops.send(Op::Baseline(json));
            user_event(
                c,
                &actor,
                format!("learning mode turned {}", if on { "on" } else { "off" }),
            );
            c.commit_later();
            c.learning_status()
        })
    }

    fn alert_settings(&self) -> Result<Value, ControlError> {
        self.call(|c| {
            let types: BTreeMap<String, Value> = c
                .catalog
                .iter()
                .map(|t| {
                    (
                        t.id.clone(),
                        json!({
                            "title": t.title,
                            "engine": t.engine,
                            "enabled": t.enabled,
                            "thresholds": t.thresholds,
                        }),
                    )
                })
                .collect();
            let engines: BTreeMap<String, bool> = otwatch_alerts::Engine::ALL
                .iter()
                .map(|e| (e.name().to_string(), c.catalog.engine_enabled(*e)))
                .collect();
            json!({ "overrides": c.docs.alert_settings, "engines": engines, "types": types })
        })
    }

    fn set_alert_settings(&self, overrides: &Value, actor: &str) -> Result<Value, ControlError> {
        let catalog = catalog_from(overrides)?;
        let (v, actor) = (overrides.clone(), actor.to_string());
        self.call(move |c| {
            rebuild_engines(c, &catalog)?;
            c.save_doc(KEY_ALERT_SETTINGS, &v)?;
            c.docs.alert_settings = v;
            user_event(c, &actor, "alert settings changed".into());
            c.commit_later();
            Ok::<_, ControlError>(())
        })??;
        self.alert_settings()
    }

    fn exclusions(&self) -> Result<Value, ControlError> {
        self.call(|c| c.docs.exclusions.clone())
    }

    fn set_exclusions(&self, rules: &Value, actor: &str) -> Result<(), ControlError> {
        let parsed = exclusions_from(rules)?;
        let (v, actor) = (rules.clone(), actor.to_string());
        self.call(move |c| {
            let before: Vec<String> = c
                .manager
                .exclusions()
                .iter()
                .map(|r| r.name.clone())
                .collect();
            c.manager
                .set_exclusions(parsed)
                .map_err(|e| invalid("exclusions", e))?;
            c.save_doc(KEY_EXCLUSIONS, &v)?;
            c.docs.exclusions = v;
            let after: Vec<String> = c
                .manager
                .exclusions()
                .iter()
                .map(|r| r.name.clone())
                .collect();
            let now = wall_now();
            for (kind, names) in [
                (
                    "EXCLUSION_RULE_CREATED",
                    after
                        .iter()
                        .filter(|n| !before.contains(n))
                        .collect::<Vec<_>>(),
                ),
                (
                    "EXCLUSION_RULE_REMOVED",
                    before.iter().filter(|n| !after.contains(n)).collect(),
                ),
                (
                    "EXCLUSION_RULE_UPDATED",
                    after.iter().filter(|n| before.contains(n)).collect(),
                ),
            ] {
                for n in names {
                    let mut e = otwatch_alerts::timeline::TimelineEntry::new(
                        now,
                        otwatch_alerts::timeline::EventSeverity::Info,
                        kind,
                        format!("exclusion rule \"{n}\""),
                    );
                    e.owner = Some(actor.clone());
                    c.ops.send(Op::Event(event_record(&e)));
                }
            }
            c.commit_later();
            Ok(())
        })?
    }

    fn custom_rules(&self) -> Result<Value, ControlError> {
        self.call(|c| c.docs.custom_rules.clone())
    }

    fn set_custom_rules(&self, rules: &Value, actor: &str) -> Result<(), ControlError> {
        custom_from(rules)?;
        let (v, actor) = (rules.clone(), actor.to_string());
        self.call(move |c| {
            let old = std::mem::replace(&mut c.docs.custom_rules, v.clone());
            let cat = c.catalog.clone();
            if let Err(e) = rebuild_engines(c, &cat) {
                c.docs.custom_rules = old;
                return Err(e);
            }
            c.save_doc(KEY_CUSTOM_RULES, &v)?;
            let mut e = otwatch_alerts::timeline::TimelineEntry::new(
                wall_now(),
                otwatch_alerts::timeline::EventSeverity::Info,
                "USER_DEFINED_RULE_EDITED",
                format!(
                    "custom rules replaced ({} rules)",
                    v.as_array().map_or(0, |a| a.len())
                ),
            );
            e.owner = Some(actor);
            c.ops.send(Op::Event(event_record(&e)));
            c.commit_later();
            Ok(())
        })?
    }

    fn ti_packages(&self) -> Result<Value, ControlError> {
        self.call(|c| {
            let ti = otwatch_engines::ti::global().snapshot();
            let list: Vec<Value> = ti
                .packages()
                .iter()
                .map(|p| json!({"name": p.name, "source": p.source, "version": p.version, "indicators": p.indicators.len()}))
                .collect();
            json!({ "stored": c.docs.ti.keys().collect::<Vec<_>>(), "loaded": list })
        })
    }

    fn put_ti_package(&self, name: &str, text: &str, actor: &str) -> Result<(), ControlError> {
        if name.is_empty()
            || name.len() > 100
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(invalid(
                "name",
                "use 1-100 letters, digits, '-', '_' or '.'",
            ));
        }
        otwatch_engines::ti::Package::parse(text, Path::new(name))
            .map_err(|e| invalid("package", e))?;
        let (name, text, actor) = (name.to_string(), text.to_string(), actor.to_string());
        self.call(move |c| {
            let mut next = c.docs.ti.clone();
            next.insert(name.clone(), text.clone());
            install_ti(&next)?;
            c.store
                .set_setting(&format!("{TI_PREFIX}{name}"), &Value::String(text))
                .map_err(store_err)?;
            c.docs.ti = next;
            let e = otwatch_alerts::timeline::TimelineEntry::new(
                wall_now(),
                otwatch_alerts::timeline::EventSeverity::Info,
                "DIP_UPLOADED",
                format!("threat-intelligence package {name} installed by {actor}"),
            );
            c.ops.send(Op::Event(event_record(&e)));
            Ok(())
        })?
    }

    fn delete_ti_package(&self, name: &str, actor: &str) -> Result<(), ControlError> {
        let (name, actor) = (name.to_string(), actor.to_string());
        self.call(move |c| {
            if !c.docs.ti.contains_key(&name) {
                return Err(ControlError::NotFound {
                    what: "threat-intelligence package".into(),
                    id: name,
                });
            }
            let mut next = c.docs.ti.clone();
            next.remove(&name);
            install_ti(&next)?;
            c.store
                .delete_setting(&format!("{TI_PREFIX}{name}"))
                .map_err(store_err)?;
            c.docs.ti = next;
            user_event(
                c,
                &actor,
                format!("threat-intelligence package {name} removed"),
            );
            Ok(())
        })?
    }

    fn subnets(&self) -> Result<Value, ControlError> {
        self.call(|c| {
            let b = c.engines().baseline();
            json!({
                "subnets": b.subnets(),
                "resolve_internal": b.resolve_internal,
                "settings": c.docs.subnets,
            })
        })
    }

    fn set_subnets(&self, doc: &Value, actor: &str) -> Result<(), ControlError> {
        let (v, actor) = (doc.clone(), actor.to_string());
        self.call(move |c| {
            apply_subnets(c.engines(), &v)?;
            c.save_doc(KEY_SUBNETS, &v)?;
            c.docs.subnets = v;
            let json = c.engines().baseline().to_json();
            c.ops.send(Op::Baseline(json));
            user_event(c, &actor, "subnets changed".into());
            c.commit_later();
            Ok(())
        })?
    }

    fn baseline(&self) -> Result<Vec<u8>, ControlError> {
        self.call(|c| c.engines().baseline().to_json())
    }

    fn connections(&self) -> Result<Value, ControlError> {
        self.call(|c| c.connections())
    }

    fn replay(&self, path: PathBuf, actor: &str) -> Result<String, ControlError> {
        let actor = actor.to_string();
        // The upload is kept under the store until it is replayed, then deleted.
        std::fs::create_dir_all(&self.upload_dir)
            .map_err(|e| ControlError::Internal(format!("{}: {e}", self.upload_dir.display())))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "upload".into());
        let dest = self.upload_dir.join(format!("{}-{name}", wall_now().0));
        if std::fs::rename(&path, &dest).is_err() {
            std::fs::copy(&path, &dest).map_err(|e| {
                ControlError::Internal(format!("cannot keep the upload in {}: {e}", dest.display()))
            })?;
            let _ = std::fs::remove_file(&path);
        }
        self.call(move |c| {
            let label = c.queue_replay(vec![dest], crate::runtime::AfterReplay::Delete);
            user_event(c, &actor, format!("capture {label} queued for replay"));
            label
        })
    }

    fn status(&self) -> Result<Value, ControlError> {
        // The published document: no wait for the packet path.
        if let Some(doc) = self.metrics.status.lock().ok().and_then(|s| s.clone()) {
            return Ok(doc);
        }
        self.call(|c| c.status_doc())
    }

    fn metrics(&self) -> String {
        self.metrics.render()
    }
}
