//! Helpers shared by the fidelity tests: run a capture through the pipeline
//! and collect its event records, and read Zeek/ICSNPP TSV logs.
#![allow(dead_code)] // each test binary uses a subset

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use otwatch_capture::{FileSource, PacketSource};
use otwatch_pipeline::{Config, Pipeline};
use otwatch_proto::event::{Event, EventSink};
use serde_json::Value;

/// The corpus folder, or `None` (with a loud note) when `OTWATCH_CORPUS` is unset.
pub fn corpus() -> Option<PathBuf> {
    match std::env::var_os("OTWATCH_CORPUS") {
        Some(p) => Some(PathBuf::from(p)),
        None => {
            eprintln!(
                "\n*** OTWATCH_CORPUS is not set: the real-capture fidelity tests DID NOT RUN. ***\n"
            );
            None
        }
    }
}

/// Collects every event that has an NDJSON record, as JSON values.
#[derive(Default)]
pub struct Records(pub Vec<Value>);

impl EventSink for Records {
    fn on_event(&mut self, ev: &Event<'_>) {
        if let Some(r) = otwatch_proto::json::record(ev) {
            self.0
                .push(serde_json::to_value(&r).expect("records serialize"));
        }
    }
}

/// Runs one capture through the default pipeline; returns its records
/// (messages and malformed events, in order).
pub fn records(path: &Path) -> Vec<Value> {
    let mut src = FileSource::open(path, 0).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut p = Pipeline::new(Config::default(), Records::default());
    while let Some(pkt) = src.next_packet().unwrap_or_else(|e| panic!("{e}")) {
        p.process(&pkt);
    }
    p.finish();
    p.into_sink().0
}

/// The message records of protocol `proto` (its `proto` name) in a capture.
pub fn messages(path: &Path, proto: &str) -> Vec<Value> {
    records(path)
        .into_iter()
        .filter(|r| r["event"] == "message" && r["proto"] == proto)
        .collect()
}

/// A Zeek/ICSNPP TSV log: one map per row, keyed by the `#fields` names.
/// BTest baselines without a `#fields` header take `fields` instead.
pub fn zeek_log(path: &Path, fields: Option<&[&str]>) -> Vec<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut names: Vec<String> = fields
        .map(|f| f.iter().map(|s| s.to_string()).collect())
        .unwrap_or_default();
    let mut rows = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("#fields\t") {
            names = rest.split('\t').map(str::to_string).collect();
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let row = names
            .iter()
            .cloned()
            .zip(line.split('\t').map(str::to_string))
            .collect();
        rows.push(row);
    }
    rows
}
