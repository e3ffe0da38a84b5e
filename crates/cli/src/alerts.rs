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
