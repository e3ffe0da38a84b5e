//! The expected alerts on the real attack and anomaly captures of the corpus
//! (`tests/expectations/real_captures.toml`, one row per capture with the
//! reason). Runs `otwatch analyze --alerts` on each; needs `OTWATCH_CORPUS`.
//!
//! Every capture that `captures_index.json` marks as attack or anomaly must
//! have a row: either the alert types that must fire, or the reason why none
//! can.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    /// Path inside the corpus.
    path: String,
    /// Extra `otwatch analyze` arguments; `{dir}` is this file's directory.
    #[serde(default)]
    args: Vec<String>,
    /// Alert types (catalog ids) that must fire.
    #[serde(default)]
    expect: Vec<String>,
    /// Alert types that must not fire.
    #[serde(default)]
    forbid: Vec<String>,
    /// Why these alerts (or none).
    reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    capture: Vec<Row>,
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn expectations_dir() -> PathBuf {
    workspace().join("tests/expectations")
}

fn load() -> File {
    let p = expectations_dir().join("real_captures.toml");
    let text = std::fs::read_to_string(&p).expect("read real_captures.toml");
    toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn rows_are_well_formed() {
    let f = load();
    let catalog = otwatch_alerts::Catalog::builtin();
    let mut seen = BTreeSet::new();
    for r in &f.capture {
        assert!(seen.insert(&r.path), "{}: two rows", r.path);
        assert!(r.reason.trim().len() > 10, "{}: give a reason", r.path);
        for t in r.expect.iter().chain(&r.forbid) {
            assert!(
                catalog.get(t).is_some(),
                "{}: `{t}` is not a catalog id",
                r.path
            );
        }
    }
}

fn alert_types(path: &Path, args: &[String]) -> BTreeMap<String, usize> {
    let out = tempfile::NamedTempFile::new().unwrap();
    let dir = expectations_dir();
    let args: Vec<String> = args
        .iter()
        .map(|a| a.replace("{dir}", &dir.display().to_string()))
        .collect();
    let st = Command::new(env!("CARGO_BIN_EXE_otwatch"))
        .arg("analyze")
        .arg("-q")
        .arg(path)
        .arg("--alerts")
        .arg(out.path())
        .args(&args)
        .output()
        .expect("run otwatch");
    assert!(
        st.status.code().is_some_and(|c| c == 0 || c == 2),
        "{}: {}",
        path.display(),
        String::from_utf8_lossy(&st.stderr)
    );
    let text = std::fs::read_to_string(out.path()).unwrap();
    let mut m = BTreeMap::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let t = v["type"].as_str().expect("type").to_string();
        *m.entry(t).or_default() += 1;
    }
    m
}

#[test]
fn expected_alerts_fire_on_real_captures() {
    let Some(corpus) = std::env::var_os("OTWATCH_CORPUS").map(PathBuf::from) else {
        eprintln!(
            "\n*** OTWATCH_CORPUS is not set: the real-capture alert expectations DID NOT RUN. ***\n"
        );
        return;
    };
    let f = load();
    // Every attack/anomaly capture of the index has a row.
    let index: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(corpus.join("captures_index.json")).expect("captures_index.json"),
    )
    .unwrap();
    let rows: BTreeSet<&str> = f.capture.iter().map(|r| r.path.as_str()).collect();
    let mut missing = Vec::new();
    for c in index.as_array().unwrap() {
        if c["attack_or_anomaly"].as_bool() == Some(true) {
            let p = c["dest"].as_str().unwrap();
            if !rows.contains(p) {
                missing.push(p.to_string());
            }
        }
    }
    assert!(missing.is_empty(), "captures without a row: {missing:#?}");

    let mut failures = Vec::new();
    for r in &f.capture {
        let path = corpus.join(&r.path);
        let got = alert_types(&path, &r.args);
        for t in &r.expect {
            if !got.contains_key(t) {
                failures.push(format!("{}: `{t}` did not fire (got {got:?})", r.path));
            }
        }
        for t in &r.forbid {
            if got.contains_key(t) {
                failures.push(format!("{}: `{t}` fired (got {got:?})", r.path));
            }
        }
        println!("{:<90} {got:?}", r.path);
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
