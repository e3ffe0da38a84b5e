//! Fidelity and robustness on the real third-party corpus (`OTWATCH_CORPUS`).
//!
//! - Every capture that tshark dissects as Modbus or DNP3: otwatch's message
//!   counts per (function code, request/response) equal tshark's, recorded in
//!   `tests/fixtures/tshark/counts.json` by `scripts/tshark-fixtures.py`.
//!   Documented, capture-by-capture differences are in `differences.json`.
//! - Every capture of the corpus runs through the pipeline without a panic.
//!
//! Without `OTWATCH_CORPUS` these tests print that they did not run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use otwatch_capture::{FileSource, PacketSource};
use otwatch_core::{MsgKind, Proto};
use otwatch_pipeline::{Config, Pipeline};
use otwatch_proto::event::{Event, EventSink};
use serde_json::Value;

fn corpus() -> Option<PathBuf> {
    match std::env::var_os("OTWATCH_CORPUS") {
        Some(p) => Some(PathBuf::from(p)),
        None => {
            eprintln!(
                "\n*** OTWATCH_CORPUS is not set: the real-capture fidelity tests DID NOT RUN. ***\n\
                 *** Set it to the shared pcaps folder (CI uses ../shared/pcaps).            ***\n"
            );
            None
        }
    }
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/tshark")
}

/// How the fixture compares one protocol (see `scripts/tshark-fixtures.py`).
#[derive(Clone, Debug)]
struct Spec {
    /// Compare function codes (else only totals).
    fc: bool,
    /// Compare request/response (else any kind).
    kind: bool,
    /// Only function codes in `[lo, hi)` are compared.
    range: Option<(u16, u16)>,
    /// Count by this field of the protocol's JSON object instead of the function code.
    field: Option<String>,
}

fn specs(fixture: &Value) -> BTreeMap<String, Spec> {
    let mut out = BTreeMap::new();
    for (name, s) in fixture["specs"].as_object().expect("specs in counts.json") {
        let shape = s["shape"].as_str().unwrap_or("fc/kind");
        out.insert(
            name.clone(),
            Spec {
                fc: !shape.starts_with('*'),
                kind: !shape.ends_with('*'),
                range: s["range"]
                    .as_array()
                    .map(|r| (r[0].as_u64().unwrap() as u16, r[1].as_u64().unwrap() as u16)),
                field: s["field"].as_str().map(str::to_string),
            },
        );
    }
    out
}

/// Counts (proto -> "fc/kind" -> n) of application messages, shaped by each
/// protocol's spec. A PDU whose function code is readable is a message even
/// when its body is malformed, as in tshark.
struct Counts {
    specs: BTreeMap<String, Spec>,
    counts: BTreeMap<String, BTreeMap<String, u64>>,
}

impl EventSink for Counts {
    fn on_event(&mut self, ev: &Event<'_>) {
        let Event::App(a) = *ev else { return };
        let (proto, fc, kind) = (a.msg.proto(), a.msg.function_code(), a.kind);
        let Some(spec) = self.specs.get(proto.name()) else {
            return;
        };
        // DNP3 request/response follows the function code, as in tshark.
        let kind = if proto == Proto::Dnp3 {
            if fc >= 129 {
                MsgKind::Response
            } else {
                MsgKind::Request
            }
        } else {
            kind
        };
        let fc_key = match &spec.field {
            Some(field) => {
                let rec = serde_json::to_value(otwatch_proto::json::record(ev).unwrap()).unwrap();
                match &rec[proto.name()][field.as_str()] {
                    Value::Null => return,
                    Value::String(s) => s.clone(),
                    v => v.to_string(),
                }
            }
            None => {
                if spec.range.is_some_and(|(lo, hi)| fc < lo || fc >= hi) {
                    return;
                }
                if spec.fc { fc.to_string() } else { "*".into() }
            }
        };
        let kind_key = if spec.kind { kind.as_str() } else { "*" };
        *self
            .counts
            .entry(proto.name().to_string())
            .or_default()
            .entry(format!("{fc_key}/{kind_key}"))
            .or_default() += 1;
    }
}

fn run(path: &Path, specs: &BTreeMap<String, Spec>) -> Result<Counts, String> {
    let mut src = FileSource::open(path, 0).map_err(|e| e.to_string())?;
    let sink = Counts {
        specs: specs.clone(),
        counts: BTreeMap::new(),
    };
    let mut p = Pipeline::new(Config::default(), sink);
    loop {
        match src.next_packet() {
            Ok(Some(pkt)) => p.process(&pkt),
            Ok(None) => break,
            Err(e) => {
                p.finish();
                return Err(e.to_string());
            }
        }
    }
    p.finish();
    Ok(p.into_sink())
}

fn as_counts(v: &Value) -> BTreeMap<String, u64> {
    v.as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn message_counts_match_tshark() {
    let Some(corpus) = corpus() else { return };
    let counts: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("counts.json")).unwrap())
            .unwrap();
    let diffs: Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("differences.json")).unwrap(),
    )
    .unwrap();
    let specs = specs(&counts);
    let mut failures = Vec::new();
    let mut compared = 0;
    let mut per_proto: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    for (capture, expected) in counts["captures"].as_object().unwrap() {
        let ours = match run(&corpus.join(capture), &specs) {
            Ok(c) => c,
            Err(e) => {
                // A damaged capture: what was read before the damage is still compared.
                failures.push(format!("{capture}: read error: {e}"));
                continue;
            }
        };
        for (proto, exp) in expected.as_object().unwrap() {
            let mut exp = as_counts(exp);
            if let Some(over) = diffs[capture]["otwatch"].get(proto) {
                exp = as_counts(over);
            }
            let got = ours.counts.get(proto).cloned().unwrap_or_default();
            compared += 1;
            let pp = per_proto.entry(proto.clone()).or_default();
            pp.0 += 1;
            if got == exp {
                pp.1 += 1;
            } else {
                failures.push(format!(
                    "{capture} [{proto}]\n   tshark: {exp:?}\n  otwatch: {got:?}"
                ));
            }
        }
    }
    assert!(
        compared > 70,
        "only {compared} protocol/capture pairs compared"
    );
    for (p, (n, eq)) in &per_proto {
        eprintln!("  {p:<14} {eq}/{n} captures equal to tshark");
    }
    assert!(
        failures.is_empty(),
        "{} of {compared} differ from tshark:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("fidelity: {compared} protocol/capture pairs equal tshark's counts");
}

#[test]
fn every_corpus_capture_runs_without_panic() {
    let Some(corpus) = corpus() else { return };
    let index: Value =
        serde_json::from_str(&std::fs::read_to_string(corpus.join("captures_index.json")).unwrap())
            .unwrap();
    let mut ok = 0;
    let mut errors = Vec::new();
    for e in index.as_array().unwrap() {
        let path = corpus.join(e["dest"].as_str().unwrap());
        match run(&path, &BTreeMap::new()) {
            Ok(_) => ok += 1,
            Err(err) => errors.push(err),
        }
    }
    // The only unreadable captures are the deliberately damaged ones.
    for e in &errors {
        assert!(
            e.contains("corrupt") || e.contains("truncated"),
            "unexpected error: {e}"
        );
    }
    assert!(ok > 250, "only {ok} captures read completely: {errors:?}");
    eprintln!(
        "robustness: {ok} captures read completely, {} damaged ones reported: {errors:?}",
        errors.len()
    );
}
