//! `otwatch` end to end: generated scenarios against their ground truth, bad
//! inputs, outputs and exit statuses, and the whole real corpus without a panic.

use std::collections::BTreeMap;
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

fn scenario_file(dir: &Path, name: &str) -> (PathBuf, otwatch_sim::Capture) {
    let cap = otwatch_sim::generate(name, 7).expect("scenario exists");
    let path = dir.join(format!("{name}.pcap"));
    cap.write_pcap_file(&path).unwrap();
    (path, cap)
}

fn read_ndjson(p: &Path) -> Vec<Value> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

/// (proto, fc, kind) -> count of messages, and malformed count per proto.
type Tally = (BTreeMap<(String, u16, String), u64>, BTreeMap<String, u64>);

fn tally(events: &[Value]) -> Tally {
    let mut msgs = BTreeMap::new();
    let mut bad = BTreeMap::new();
    for e in events {
        let proto = e["proto"].as_str().unwrap().to_string();
        match e["event"].as_str().unwrap() {
            "message" if proto != "arp" => {
                let fc = e["code"].as_u64().unwrap() as u16;
                let kind = e["kind"].as_str().unwrap().to_string();
                *msgs.entry((proto, fc, kind)).or_default() += 1;
            }
            "malformed" => *bad.entry(proto).or_default() += 1,
            _ => {}
        }
    }
    (msgs, bad)
}

#[test]
fn every_scenario_matches_its_ground_truth() {
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for sc in otwatch_sim::scenarios() {
        let (pcap, cap) = scenario_file(dir.path(), sc.name);
        let ev = dir.path().join(format!("{}.ndjson", sc.name));
        let out = otwatch(&["analyze", "--quiet", s(&pcap), "--events", s(&ev)]);
        assert!(
            out.status.success(),
            "{}: {}",
            sc.name,
            String::from_utf8_lossy(&out.stderr)
        );
        let (msgs, bad) = tally(&read_ndjson(&ev));
        let want: BTreeMap<(String, u16, String), u64> = cap.counts();
        assert_eq!(
            msgs, want,
            "scenario {}: messages differ from the generator's truth",
            sc.name
        );
        let mut want_bad: BTreeMap<String, u64> = BTreeMap::new();
        for t in cap.truth.iter().filter(|t| t.malformed) {
            *want_bad.entry(t.proto.to_string()).or_default() += 1;
        }
        assert_eq!(
            bad, want_bad,
            "scenario {}: malformed PDUs per protocol",
            sc.name
        );
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} scenarios");
}

#[test]
fn event_records_have_the_documented_fields() {
    let dir = tempfile::tempdir().unwrap();
    let (pcap, _) = scenario_file(dir.path(), "modbus_polling");
    let ev = dir.path().join("e.ndjson");
    let dev = dir.path().join("d.json");
    let sum = dir.path().join("s.json");
    let out = otwatch(&[
        "analyze",
        "-q",
        s(&pcap),
        "--events",
        s(&ev),
        "--devices",
        s(&dev),
        "--summary-json",
        s(&sum),
    ]);
    assert!(out.status.success());
    let events = read_ndjson(&ev);
    let m = events
        .iter()
        .find(|e| e["event"] == "message" && e["proto"] == "modbus")
        .unwrap();
    for f in [
        "ts",
        "proto",
        "src_ip",
        "dst_ip",
        "src_port",
        "dst_port",
        "transport",
        "kind",
        "src_mac",
        "dst_mac",
    ] {
        assert!(m.get(f).is_some(), "missing {f} in {m}");
    }
    assert_eq!(m["transport"], "tcp");
    let ts = m["ts"].as_str().unwrap();
    assert!(
        ts.ends_with('Z') && ts.contains('.'),
        "RFC 3339 with fraction: {ts}"
    );
    for f in ["transaction_id", "unit_id", "function_code"] {
        assert!(m["modbus"].get(f).is_some(), "missing modbus.{f}");
    }
    // Read requests carry the register range.
    let read = events
        .iter()
        .find(|e| e["kind"] == "request" && e["modbus"]["function_code"] == 3)
        .unwrap();
    assert!(read["modbus"]["address"].is_u64() && read["modbus"]["quantity"].is_u64());
    // The inventory has the PLCs with their 43/14 identity and vendor.
    let devices: Value = serde_json::from_str(&std::fs::read_to_string(&dev).unwrap()).unwrap();
    let plc = devices
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["identity"]["vendor"].is_string())
        .expect("a device with Modbus identity");
    assert!(plc["identity"]["product_code"].is_string());
    assert!(plc["identity"]["firmware"].is_string());
    assert_eq!(plc["class"]["device_type"], "PLC", "{plc}");
    assert_eq!(plc["class"]["purdue_level"], 1);
    assert!(plc["mac_vendor"].is_string(), "OUI vendor: {plc}");
    assert!(
        plc["protocols"]["modbus"]["roles"]
            .as_array()
            .unwrap()
            .contains(&Value::from("server"))
    );
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(&sum).unwrap()).unwrap();
    assert_eq!(summary["complete"], true);
    assert!(
        summary["summary"]["protocols"]["modbus"]["messages"]
            .as_u64()
            .unwrap()
            > 0
    );
}

#[test]
fn several_files_are_merged_in_time_order() {
    let dir = tempfile::tempdir().unwrap();
    let (a, _) = scenario_file(dir.path(), "modbus_polling");
    let (b, _) = scenario_file(dir.path(), "dnp3_polling");
    let ev = dir.path().join("e.ndjson");
    let out = otwatch(&["analyze", "-q", s(&b), s(&a), "--events", s(&ev)]);
    assert!(out.status.success());
    let events = read_ndjson(&ev);
    let protos: std::collections::BTreeSet<_> = events
        .iter()
        .map(|e| e["proto"].as_str().unwrap().to_string())
        .collect();
    assert!(protos.contains("modbus") && protos.contains("dnp3"));
    let ts: Vec<&str> = events.iter().map(|e| e["ts"].as_str().unwrap()).collect();
    assert!(
        ts.windows(2).all(|w| w[0] <= w[1]),
        "records out of time order"
    );
}

#[test]
fn nanosecond_timestamps_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let cap = otwatch_sim::generate("modbus_polling", 7).unwrap();
    let p = dir.path().join("ns.pcap");
    cap.write_pcap_nanos(std::io::BufWriter::new(std::fs::File::create(&p).unwrap()))
        .unwrap();
    let ev = dir.path().join("e.ndjson");
    assert!(
        otwatch(&["analyze", "-q", s(&p), "--events", s(&ev)])
            .status
            .success()
    );
    let first = &read_ndjson(&ev)[0];
    let want = cap
        .packets
        .iter()
        .map(|(t, _)| *t)
        .find(|t| t.to_rfc3339() == first["ts"].as_str().unwrap());
    assert!(
        want.is_some(),
        "event timestamp {} is not a packet timestamp",
        first["ts"]
    );
}

fn expect_exit2(path: &Path, needle: &str) {
    let out = otwatch(&["analyze", "-q", s(path)]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(
        err.contains(path.file_name().unwrap().to_str().unwrap()),
        "names the file: {err}"
    );
    assert!(err.contains(needle), "says '{needle}': {err}");
}

#[test]
fn bad_inputs_exit_2_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let empty = d.join("empty.pcap");
    std::fs::write(&empty, b"").unwrap();
    expect_exit2(&empty, "empty");
    let garbage = d.join("garbage.pcap");
    std::fs::write(&garbage, b"this is not a capture file at all").unwrap();
    expect_exit2(&garbage, "not a pcap or pcapng");
    let missing = d.join("missing.pcap");
    expect_exit2(&missing, "cannot open");
    // Truncated: a valid capture cut in the middle of a record.
    let (full, _) = scenario_file(d, "modbus_polling");
    let bytes = std::fs::read(&full).unwrap();
    let cut = d.join("cut.pcap");
    std::fs::write(&cut, &bytes[..bytes.len() - 7]).unwrap();
    let sum = d.join("cut.json");
    let out = otwatch(&["analyze", "-q", s(&cut), "--summary-json", s(&sum)]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("truncated") && err.contains("record") && err.contains("byte"),
        "{err}"
    );
    // What was read before the cut is still reported.
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(&sum).unwrap()).unwrap();
    assert_eq!(summary["complete"], false);
    assert!(summary["packets"].as_u64().unwrap() > 10);
    // Unsupported link type (802.11 = 105) in a classic pcap header.
    let mut hdr = vec![
        0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 105, 0, 0, 0,
    ];
    hdr.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 1, 2, 3, 4]);
    let wifi = d.join("wifi.pcap");
    std::fs::write(&wifi, &hdr).unwrap();
    expect_exit2(&wifi, "unsupported link type 105");
}

/// A pcapng with an unknown block type between packets: skipped, not an error.
#[test]
fn pcapng_with_unknown_blocks_is_read() {
    fn block(t: u32, body: &[u8]) -> Vec<u8> {
        let len = (12 + body.len()) as u32;
        let mut v = t.to_le_bytes().to_vec();
        v.extend_from_slice(&len.to_le_bytes());
        v.extend_from_slice(body);
        v.extend_from_slice(&len.to_le_bytes());
        v
    }
    let cap = otwatch_sim::generate("modbus_polling", 7).unwrap();
    let mut f = Vec::new();
    // Section header: byte-order magic, version 1.0, unknown section length.
    let mut shb = 0x1A2B3C4Du32.to_le_bytes().to_vec();
    shb.extend_from_slice(&[1, 0, 0, 0]);
    shb.extend_from_slice(&(-1i64).to_le_bytes());
    f.extend(block(0x0A0D0D0A, &shb));
    // Interface: Ethernet, snaplen 65535, if_tsresol = 9 (nanoseconds).
    let mut idb = vec![1, 0, 0, 0, 0xff, 0xff, 0, 0];
    idb.extend_from_slice(&[9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0]);
    f.extend(block(1, &idb));
    for (i, (ts, data)) in cap.packets.iter().enumerate() {
        if i == 3 {
            f.extend(block(0x0000_0BAD, &[1, 2, 3, 4, 5, 6, 7, 8]));
        }
        let t = ts.0 as u64;
        let mut epb = 0u32.to_le_bytes().to_vec();
        epb.extend_from_slice(&((t >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(t as u32).to_le_bytes());
        epb.extend_from_slice(&(data.len() as u32).to_le_bytes());
        epb.extend_from_slice(&(data.len() as u32).to_le_bytes());
        epb.extend_from_slice(data);
        while !epb.len().is_multiple_of(4) {
            epb.push(0);
        }
        f.extend(block(6, &epb));
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("unknown-blocks.pcapng");
    std::fs::write(&p, &f).unwrap();
    let ev = dir.path().join("e.ndjson");
    let out = otwatch(&["analyze", "-q", s(&p), "--events", s(&ev)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (msgs, _) = tally(&read_ndjson(&ev));
    assert_eq!(msgs, cap.counts());
}

#[test]
fn whole_corpus_runs_without_panic() {
    let Some(corpus) = std::env::var_os("OTWATCH_CORPUS").map(PathBuf::from) else {
        eprintln!(
            "\n*** OTWATCH_CORPUS is not set: `otwatch analyze` over the real corpus DID NOT RUN. ***\n"
        );
        return;
    };
    let index: Value =
        serde_json::from_str(&std::fs::read_to_string(corpus.join("captures_index.json")).unwrap())
            .unwrap();
    let mut exit2 = Vec::new();
    for e in index.as_array().unwrap() {
        let p = corpus.join(e["dest"].as_str().unwrap());
        let out = otwatch(&["analyze", "-q", s(&p)]);
        match out.status.code() {
            Some(0) => {}
            Some(2) => exit2.push(String::from_utf8_lossy(&out.stderr).to_string()),
            other => panic!(
                "{}: exit {other:?}: {}",
                p.display(),
                String::from_utf8_lossy(&out.stderr)
            ),
        }
    }
    // Only deliberately damaged captures may fail, and they must say why.
    assert!(exit2.len() <= 2, "{exit2:?}");
    for e in &exit2 {
        assert!(e.contains("corrupt") || e.contains("truncated"), "{e}");
    }
}

/// Identity-bearing messages of every family reach the inventory, and the
/// device type rules classify the devices that carry them.
#[test]
fn inventory_takes_identity_from_every_protocol_family() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str, &str)] = &[
        ("s7comm_normal", "s7comm SZL", "PLC"),
        ("enip_normal", "cip ListIdentity", "PLC"),
        ("bacnet_normal", "bacnet I-Am", "HVAC"),
        ("profinet_dcp", "profinet_dcp identify", "I/O Adapter"),
        ("it_infra", "lldp", "Switch"),
        ("it_infra", "cdp", "Router"),
        ("it_dns_dhcp", "dhcp request", "Workstation"),
        ("it_ftp_smb", "ntlmssp authenticate", "Workstation"),
        ("mms_normal", "mms identify", ""),
        ("umas_engineering", "umas READ_ID", "PLC"),
        ("modbus_polling", "modbus 43/14", "PLC"),
    ];
    for (scenario, source, ty) in cases {
        let (pcap, _) = scenario_file(dir.path(), scenario);
        let dev = dir.path().join(format!("{scenario}.devices.json"));
        let out = otwatch(&["analyze", "--quiet", s(&pcap), "--devices", s(&dev)]);
        assert!(out.status.success(), "{scenario}");
        let devices: Value = serde_json::from_str(&std::fs::read_to_string(&dev).unwrap()).unwrap();
        let hit = devices.as_array().unwrap().iter().find(|d| {
            d["identity"]["sources"]
                .as_array()
                .is_some_and(|s| s.iter().any(|x| x.as_str().unwrap().starts_with(source)))
        });
        let hit =
            hit.unwrap_or_else(|| panic!("{scenario}: no device with identity from {source}"));
        if !ty.is_empty() {
            assert_eq!(hit["class"]["device_type"], *ty, "{scenario}: {hit}");
            assert!(!hit["class"]["evidence"].as_array().unwrap().is_empty());
        }
    }
}

/// `--alerts` writes the alerts of the engines, one NDJSON record each, with
/// the documented fields; normal traffic raises none.
#[test]
fn alerts_are_written_with_the_documented_fields() {
    let dir = tempfile::tempdir().unwrap();
    let (pcap, _) = scenario_file(dir.path(), "s7comm_engineering");
    let path = dir.path().join("alerts.ndjson");
    let out = otwatch(&["analyze", "--quiet", s(&pcap), "--alerts", s(&path)]);
    assert!(out.status.success());
    let alerts = read_ndjson(&path);
    let stop = alerts
        .iter()
        .find(|a| a["type"] == "s7_plc_stop")
        .expect("the PLC STOP of the scenario raises an alert");
    for f in [
        "id",
        "title",
        "severity",
        "engine",
        "category",
        "protocol",
        "src_ip",
        "dst_ip",
        "src_mac",
        "dst_mac",
        "first_detection",
        "last_detection",
        "message",
        "mitre_techniques",
        "status",
    ] {
        assert!(!stop[f].is_null(), "missing {f} in {stop}");
    }
    assert_eq!(stop["engine"], "operational");
    assert_eq!(stop["status"], "New");
    assert!(stop["message"].as_str().unwrap().contains("STOP"));
    // Normal polling raises nothing.
    let (pcap, _) = scenario_file(dir.path(), "modbus_polling");
    let out = otwatch(&["analyze", "--quiet", s(&pcap), "--alerts", s(&path)]);
    assert!(out.status.success());
    assert!(read_ndjson(&path).is_empty());
}
