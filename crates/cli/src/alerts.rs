//! Detection in `otwatch analyze`: the engines consume the event stream, the
//! alert manager folds their detections into alerts (dedupe, exclusions,
//! suppression), and the alerts are written as NDJSON and summarised.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use otwatch_alerts::{Alert, AlertManager, Catalog, ManagerConfig};
use otwatch_engines::Engines;
use serde::Serialize;

/// The engines that run on every analysis (the catalog decides which alert
/// types and engines are enabled).
pub fn engines(catalog: &Catalog) -> Engines {
    let mut e = Engines::new();
    for engine in otwatch_engines::builtin(catalog) {
        e.push(engine);
    }
    e
}

/// A fresh alert manager for an offline run (sensor id `offline`).
pub fn manager() -> AlertManager {
    AlertManager::new(
        Catalog::builtin().clone(),
        "offline".to_string(),
        ManagerConfig::default(),
    )
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
