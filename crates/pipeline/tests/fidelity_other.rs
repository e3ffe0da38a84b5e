//! Fidelity of the other OT dissectors (UMAS, ADS, MELSEC, C37.118) on the
//! real corpus (`OTWATCH_CORPUS`). Expected values were taken from tshark 4.0
//! (commands in each test) or, for MELSOFT (no Wireshark dissector), from
//! the frames decoded by hand with the public MELSOFT layout; see
//! `docs/protocols/<proto>.md`. The corpus holds no SRTP, HART-IP, Fox or
//! TriStation capture (searched by port and tshark dissector).

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use otwatch_capture::{FileSource, PacketSource};
use otwatch_pipeline::{Config, Pipeline};
use serde_json::Value;

/// Records of a capture, stopping quietly at a truncated last record.
fn records(path: &Path) -> Vec<Value> {
    let mut src = FileSource::open(path, 0).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut p = Pipeline::new(Config::default(), common::Records::default());
    while let Ok(Some(pkt)) = src.next_packet() {
        p.process(&pkt);
    }
    p.finish();
    p.into_sink().0
}

/// (function_code, kind) -> count of the messages of `proto`, and its malformed count.
fn tally(recs: &[Value], proto: &str) -> (BTreeMap<(u64, String), u64>, usize) {
    let mut m = BTreeMap::new();
    let mut bad = 0;
    for r in recs.iter().filter(|r| r["proto"] == proto) {
        if r["event"] == "malformed" {
            bad += 1;
        } else {
            let fc = r[proto]["function_code"].as_u64().unwrap();
            *m.entry((fc, r["kind"].as_str().unwrap().to_string()))
                .or_default() += 1;
        }
    }
    (m, bad)
}

fn want(rows: &[(u64, &str, u64)]) -> BTreeMap<(u64, String), u64> {
    rows.iter()
        .map(|&(f, k, n)| ((f, k.to_string()), n))
        .collect()
}

#[test]
fn ads_beckhoff_link() {
    let Some(c) = common::corpus() else { return };
    let recs = records(&c.join("ITI-ICS-Security-Tools/pcaps__beckoff__beckofflink.pcapng"));
    let (counts, bad) = tally(&recs, "ads");
    // tshark -Y ams -T fields -e ams.cmdid -e ams.state_response: per command, as
    // many requests as responses; plus the two UDP 48899 discovery frames
    // (tshark shows them as data), function 0x101.
    assert_eq!(
        counts,
        want(&[
            (1, "request", 4),
            (1, "response", 4),
            (2, "request", 16),
            (2, "response", 16),
            (4, "request", 14),
            (4, "response", 14),
            (6, "request", 2),
            (6, "response", 2),
            (7, "request", 1),
            (7, "response", 1),
            (9, "request", 7),
            (9, "response", 7),
            (0x101, "request", 1),
            (0x101, "response", 1),
        ])
    );
    assert_eq!(bad, 0);
    let disc = recs
        .iter()
        .find(|r| r["proto"] == "ads" && r["ads"]["discovery"] == true && r["kind"] == "response")
        .unwrap();
    assert_eq!(disc["ads"]["hostname"], "CX_0D7560");
    assert_eq!(disc["ads"]["twincat_version"], "2.11.2228");
    assert_eq!(disc["ads"]["net_id"], "5.13.117.96.1.1");
    // Invoke ids match: every response carries a latency.
    assert!(
        recs.iter()
            .filter(|r| r["proto"] == "ads" && r["kind"] == "response" && r["transport"] == "tcp")
            .all(|r| r["ads"]["latency_us"].is_number())
    );
}

#[test]
fn c37118_wrapup() {
    let Some(c) = common::corpus() else { return };
    let recs = records(&c.join("ITI-ICS-Security-Tools/pcaps__s7__S7Comm__wrapup.pcapng"));
    let (counts, bad) = tally(&recs, "c37118");
    // tshark -Y synphasor -T fields -E occurrence=a -e synphasor.frtype -e synphasor.command:
    // 5559 data, 1 configuration-2, commands 1 (x2), 2 and 5.
    assert_eq!(
        counts,
        want(&[
            (0x000, "response", 5559),
            (0x300, "response", 1),
            (0x401, "request", 2),
            (0x402, "request", 1),
            (0x405, "request", 1),
        ])
    );
    assert_eq!(bad, 0);
    let cfg = recs
        .iter()
        .find(|r| r["proto"] == "c37118" && r["c37118"]["frame_type"] == 3)
        .unwrap();
    // tshark: Station #1 "Reporting1", 1 PMU, 8 phasors, 0 analogs, 3 digital words.
    assert_eq!(cfg["c37118"]["station_name"], "Reporting1");
    assert_eq!(cfg["c37118"]["num_pmu"], 1);
    assert_eq!(cfg["c37118"]["phasors"], 8);
    assert_eq!(cfg["c37118"]["analogs"], 0);
    assert_eq!(cfg["c37118"]["digitals"], 3);
    assert!(
        recs.iter()
            .filter(|r| r["proto"] == "c37118")
            .all(|r| r["c37118"]["crc_ok"] == true && r["c37118"]["idcode"] == 1)
    );
}

#[test]
fn melsec_melsoft() {
    let Some(c) = common::corpus() else { return };
    let recs = records(&c.join("ITI-ICS-Security-Tools/pcaps__MELSEC__melsoft_129_clean.pcap"));
    let (counts, bad) = tally(&recs, "melsec");
    // No Wireshark dissector: every TCP payload of the capture, retransmitted
    // copies removed, is one MELSOFT frame (0x57 request from 5001, 0xd7
    // response from 5562); commands 0x0410, 0x0411, 0x0413.
    assert_eq!(
        counts,
        want(&[
            (0x0410, "request", 244),
            (0x0410, "response", 245),
            (0x0411, "request", 245),
            (0x0411, "response", 245),
            (0x0413, "request", 2),
            (0x0413, "response", 2),
        ])
    );
    assert_eq!(bad, 0);
    // The PLC is the 5562 side: its frames are the responses.
    for r in recs.iter().filter(|r| r["proto"] == "melsec") {
        assert_eq!(r["melsec"]["frame"], "melsoft");
        assert_eq!(r["kind"] == "response", r["src_port"] == 5562, "{r}");
    }
}

#[test]
fn umas_function_90_in_modbus_capture() {
    let Some(c) = common::corpus() else { return };
    let recs =
        records(&c.join("ITI-ICS-Security-Tools/pcaps__ModbusTCP__modbus_test_data_part2.pcap"));
    // tshark -Y 'modbus.func_code==90': one request (5a 00 00 00 00) and its
    // exception response (da 01). otwatch reports both as UMAS, not Modbus.
    let (counts, bad) = tally(&recs, "umas");
    assert_eq!(counts, want(&[(0, "request", 1), (0, "response", 1)]));
    assert_eq!(bad, 0);
    let resp = recs
        .iter()
        .find(|r| r["proto"] == "umas" && r["kind"] == "response")
        .unwrap();
    assert_eq!(resp["umas"]["status"], "exception");
    assert_eq!(resp["umas"]["exception_code"], 1);
    assert!(
        !recs
            .iter()
            .any(|r| r["proto"] == "modbus" && r["modbus"]["function_code"] == 90)
    );
}
