//! Detection in `otwatch analyze`: the engines consume the event stream, the
//! alert manager folds their detections into alerts (dedupe, exclusions,
//! suppression), and the alerts are written as NDJSON and summarised.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use otwatch_alerts::timeline::{TimelineEntry, entry_for_detection, entry_for_manager_event};
use otwatch_alerts::{Alert, AlertManager, Catalog, Detection, ManagerConfig};
use otwatch_engines::Engines;
use serde::Serialize;

/// The engines that run on every analysis (the catalog decides which alert
/// types and engines are enabled), checking and learning into `baseline`.
pub fn engines(catalog: &Catalog, baseline: otwatch_engines::Baseline) -> Engines {
    otwatch_engines::builtin(catalog, baseline)
}

/// A fresh alert manager for an offline run (sensor id `offline`).
pub fn manager() -> AlertManager {
    AlertManager::new(
        Catalog::builtin().clone(),
        "offline".to_string(),
        ManagerConfig::default(),
    )
}

/// The timeline of an offline run: network events, detections that are
/// network events, and the alert manager's changes.
#[derive(Default)]
pub struct Timeline {
    entries: Vec<TimelineEntry>,
}

impl Timeline {
    pub fn extend(&mut self, e: impl IntoIterator<Item = TimelineEntry>) {
        self.entries.extend(e);
    }

    /// Writes the entries in time order (stable for equal times).
    pub fn write_ndjson(mut self, path: &Path) -> std::io::Result<()> {
        self.entries.sort_by_key(|e| e.ts);
        let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
        for e in &self.entries {
            serde_json::to_writer(&mut w, e).map_err(std::io::Error::other)?;
            w.write_all(b"\n")?;
        }
        w.flush()
    }
}

/// Hands a detection to the manager, recording the timeline entries it
/// makes when a timeline is kept.
pub fn ingest(manager: &mut AlertManager, d: Detection, timeline: Option<&mut Timeline>) {
    let Some(t) = timeline else {
        manager.ingest(d);
        return;
    };
    if let Some(e) = entry_for_detection(&d) {
        t.entries.push(e);
    }
    manager.ingest(d);
    for ev in manager.drain_events() {
        let dev = ev
            .alert_id
            .as_deref()
            .and_then(|id| manager.get(id))
            .map(|a| (a.source.ip, a.source.mac));
        t.entries.push(entry_for_manager_event(&ev, dev));
    }
}

/// Reads an alert-settings file (engine and type switches, thresholds) and
/// applies it to the built-in catalog; the error names the file and the
/// culprit.
pub fn load_settings(path: &Path) -> Result<Catalog, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read alert settings {}: {e}", path.display()))?;
    let o = otwatch_alerts::Overrides::from_toml_str(&text)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Catalog::builtin()
        .with_overrides(&o)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Reads a custom-rule file; the error names the file, the rule and the field.
pub fn load_rules(path: &Path) -> Result<otwatch_engines::custom::CustomRules, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read custom rules {}: {e}", path.display()))?;
    let rules = otwatch_engines::custom::parse_rules(&text)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(otwatch_engines::custom::CustomRules::new(rules))
}

/// Reads an exclusion-rule file into the manager; the error names the file,
/// the rule and the field.
pub fn load_exclusions(path: &Path, manager: &mut AlertManager) -> Result<(), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read exclusion rules {}: {e}", path.display()))?;
    let rules =
        otwatch_alerts::parse_rules(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    manager
        .set_exclusions(rules)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Alerts per (engine, severity, title), for the run summary.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AlertSummary {
    pub total: usize,
    pub by_engine: BTreeMap<String, usize>,
    pub by_severity: BTreeMap<String, usize>,
    /// `(engine, severity, title)` → number of alerts.
    pub titles: Vec<(String, String, String, usize)>,
}

impl AlertSummary {
    pub fn of<'a>(alerts: impl Iterator<Item = &'a Alert>) -> Self {
        let mut s = AlertSummary::default();
        let mut titles: BTreeMap<(String, String, String), usize> = BTreeMap::new();
        for a in alerts {
            s.total += 1;
            let engine = a.engine.to_string();
            let sev = a.severity.as_str().to_string();
            *s.by_engine.entry(engine.clone()).or_default() += 1;
            *s.by_severity.entry(sev.clone()).or_default() += 1;
            *titles.entry((engine, sev, a.title.clone())).or_default() += 1;
        }
        s.titles = titles
            .into_iter()
            .map(|((e, s, t), n)| (e, s, t, n))
            .collect();
        s
    }
}

/// Writes one alert per line.
pub fn write_ndjson<'a>(
    path: &Path,
    alerts: impl Iterator<Item = &'a Alert>,
) -> std::io::Result<()> {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    for a in alerts {
        serde_json::to_writer(&mut w, a).map_err(std::io::Error::other)?;
        w.write_all(b"\n")?;
    }
    w.flush()
}
