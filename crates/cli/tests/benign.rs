//! No false alarms: every benign capture of the corpus (captures_index.json,
//! `attack_or_anomaly = false`), analysed with a baseline learned from the
//! first half of its own capture time (`--learn-first`), raises no
//! policy-violation alert in the second half — apart from the documented
//! exceptions in `tests/expectations/benign_exceptions.toml`, each with its
//! reason (these lab captures are short: much of what their second half
//! does is genuinely new). Needs `OTWATCH_CORPUS`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Exception {
    path: String,
    /// Policy alert types allowed in the second half.
    allow: Vec<String>,
    reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    exception: Vec<Exception>,
}

fn exceptions() -> BTreeMap<String, Exception> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/expectations/benign_exceptions.toml");
    let text = std::fs::read_to_string(&p).expect("read benign_exceptions.toml");
    let f: File = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let catalog = otwatch_alerts::Catalog::builtin();
    let mut m = BTreeMap::new();
    for e in f.exception {
        assert!(e.reason.trim().len() > 10, "{}: give a reason", e.path);
        for t in &e.allow {
            assert!(
                catalog.get(t).is_some(),
                "{}: `{t}` is not a catalog id",
                e.path
            );
        }
        m.insert(e.path.clone(), e);
    }
    m
}

#[test]
fn exceptions_are_well_formed() {
    exceptions();
}

fn run(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_otwatch"))
        .args(args)
        .output()
        .expect("run otwatch")
}

/// Capture start and time span in seconds, from the run summary.
fn span(path: &Path, dir: &Path) -> Option<(chrono::DateTime<chrono::FixedOffset>, f64)> {
    let s = dir.join("summary.json");
    let out = run(&[
        "analyze".as_ref(),
        "-q".as_ref(),
        path.as_os_str(),
        "--summary-json".as_ref(),
        s.as_os_str(),
    ]);
    if !out.status.success() {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&s).ok()?).ok()?;
    let t = |k: &str| {
        let s = v["summary"][k].as_str()?;
        chrono::DateTime::parse_from_rfc3339(s).ok()
    };
    let (a, b) = (t("first_ts")?, t("last_ts")?);
    Some((a, (b - a).num_milliseconds() as f64 / 1000.0))
}

#[test]
fn benign_captures_raise_no_policy_alerts_after_learning_their_first_half() {
    let Some(corpus) = std::env::var_os("OTWATCH_CORPUS").map(PathBuf::from) else {
        eprintln!("\n*** OTWATCH_CORPUS is not set: the benign-capture check DID NOT RUN. ***\n");
        return;
    };
    let allowed = exceptions();
    let index: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(corpus.join("captures_index.json")).expect("captures_index.json"),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let alerts = dir.path().join("alerts.ndjson");
    let mut checked = 0;
    let mut failures = Vec::new();
    let mut used = BTreeSet::new();
    for c in index.as_array().unwrap() {
        if c["attack_or_anomaly"].as_bool() != Some(false) {
            continue;
        }
        let rel = c["dest"].as_str().unwrap();
        let path = corpus.join(rel);
        let Some((start, span)) = span(&path, dir.path()) else {
            continue;
        };
        let learning_end = start + chrono::Duration::milliseconds((span * 500.0) as i64);
        if span < 0.002 {
            continue; // a single instant: nothing to learn from
        }
        let half = format!("{:.3}s", span / 2.0);
        let _ = std::fs::remove_file(&alerts);
        let out = run(&[
            "analyze".as_ref(),
            "-q".as_ref(),
            path.as_os_str(),
            "--learn-first".as_ref(),
            half.as_ref(),
            "--alerts".as_ref(),
            alerts.as_os_str(),
        ]);
        assert!(
            out.status.success(),
            "{rel}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        checked += 1;
        let text = std::fs::read_to_string(&alerts).unwrap_or_default();
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            if v["engine"] != "policy_violation" {
                continue;
            }
            // Alerts raised while learning (program downloads and uploads
            // are reported then too) are not the second half's.
            let first = v["first_detection"]
                .as_str()
                .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok());
            if first.is_some_and(|f| f < learning_end) {
                continue;
            }
            let t = v["type"].as_str().unwrap().to_string();
            match allowed.get(rel) {
                Some(e) if e.allow.contains(&t) => {
                    used.insert(rel.to_string());
                }
                _ => failures.push(format!("{rel}: {t}: {}", v["message"])),
            }
        }
    }
    println!("benign captures checked: {checked}");
    assert!(checked > 100, "only {checked} benign captures were checked");
    let unused: Vec<_> = allowed.keys().filter(|k| !used.contains(*k)).collect();
    assert!(
        unused.is_empty(),
        "exceptions that no longer apply: {unused:?}"
    );
    assert!(
        failures.is_empty(),
        "{} policy alerts:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
