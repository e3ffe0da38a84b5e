//! `otwatch learn` and `analyze --baseline / --learn-first / --ot-subnets /
//! --save-baseline` end to end.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn otwatch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_otwatch"))
        .args(args)
        .output()
        .expect("otwatch runs")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn scenario(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(format!("{name}.pcap"));
    otwatch_sim::generate(name, 7)
        .unwrap()
        .write_pcap_file(&path)
        .unwrap();
    path
}

fn alert_types(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn learn_then_analyze_with_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let normal = scenario(dir.path(), "modbus_polling");
    let abnormal = scenario(dir.path(), "modbus_writes");
    let base = dir.path().join("base.json");
    let o = otwatch(&["learn", s(&normal), "-o", s(&base)]);
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("Learned") && out.contains("channels"), "{out}");
    let j: Value = serde_json::from_slice(&std::fs::read(&base).unwrap()).unwrap();
    assert_eq!(j["version"], 1);
    assert_eq!(j["learning"]["on"], false);
    assert!(!j["channels"].as_array().unwrap().is_empty());

    // The abnormal capture raises policy alerts; the normal one none.
    let al = dir.path().join("a.ndjson");
    let o = otwatch(&[
        "analyze",
        "-q",
        s(&abnormal),
        "--baseline",
        s(&base),
        "--alerts",
        s(&al),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let t = alert_types(&al);
    assert!(t.iter().any(|x| x == "modbus_function_code"), "{t:?}");
    let o = otwatch(&[
        "analyze",
        "-q",
        s(&normal),
        "--baseline",
        s(&base),
        "--alerts",
        s(&al),
    ]);
    assert!(o.status.success());
    assert!(alert_types(&al).is_empty(), "{:?}", alert_types(&al));

    // Without a baseline: learning, no policy alerts; the summary says so.
    let o = otwatch(&["analyze", s(&abnormal), "--alerts", s(&al)]);
    assert!(text(&o).contains("learning ON"), "{}", text(&o));
    let sum = dir.path().join("sum.json");
    let o = otwatch(&[
        "analyze",
        "-q",
        s(&abnormal),
        "--baseline",
        s(&base),
        "--summary-json",
        s(&sum),
    ]);
    assert!(o.status.success());
    let j: Value = serde_json::from_slice(&std::fs::read(&sum).unwrap()).unwrap();
    assert_eq!(j["baseline"]["learning"], false);
}

#[test]
fn bad_baseline_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let cap = scenario(dir.path(), "modbus_polling");
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, b"{\"version\": 1, \"learning\": {\"on\": 3}}").unwrap();
    let o = otwatch(&["analyze", "-q", s(&cap), "--baseline", s(&bad)]);
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("bad.json") && e.contains("line 1"), "{e}");
    let o = otwatch(&[
        "analyze",
        "-q",
        s(&cap),
        "--baseline",
        s(&dir.path().join("missing.json")),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing.json"));
    let o = otwatch(&["analyze", "-q", s(&cap), "--ot-subnets", "10.0.0.0/33"]);
    assert_eq!(o.status.code(), Some(2));
    let o = otwatch(&["analyze", "-q", s(&cap), "--learn-first", "5x"]);
    assert!(!o.status.success());
}

#[test]
fn learn_first_and_save_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let demo = scenario(dir.path(), "demo");
    let al = dir.path().join("a.ndjson");
    let saved = dir.path().join("saved.json");
    let o = otwatch(&[
        "analyze",
        "-q",
        s(&demo),
        "--learn-first",
        "5s",
        "--alerts",
        s(&al),
        "--save-baseline",
        s(&saved),
        "--ot-subnets",
        "10.10.1.0/24,192.168.10.0/24",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let t = alert_types(&al);
    assert!(
        t.iter()
            .any(|x| x == "modbus_function_code" || x == "new_port_discovery"),
        "{t:?}"
    );
    let j: Value = serde_json::from_slice(&std::fs::read(&saved).unwrap()).unwrap();
    assert_eq!(j["learning"]["on"], false);
    let configured = j["subnets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["origin"] == "configured")
        .count();
    assert_eq!(configured, 2);
    // The saved baseline, used again, raises nothing new for the same capture's policy.
    let o = otwatch(&[
        "analyze",
        "-q",
        s(&demo),
        "--baseline",
        s(&saved),
        "--alerts",
        s(&al),
    ]);
    assert!(o.status.success());
}
