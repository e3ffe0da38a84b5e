//! EtherNet/IP / CIP field fidelity against the ICSNPP-ENIP (Zeek) BTest
//! baselines, row by row: enip.log (command, length, session handle,
//! status), cip.log (direction, service, status, class, instance, attribute,
//! sequence count, including the services embedded in Multiple Service
//! Packets), cip_identity.log (ListIdentity identity) and cip_io.log (class
//! 0/1 I/O). The baselines have no `#fields` header; the field order is the
//! one documented in the icsnpp-enip README.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

const ID: [&str; 9] = [
    "ts", "uid", "orig_h", "orig_p", "resp_h", "resp_p", "is_orig", "source_h", "source_p",
];

fn fields(extra: &[&'static str]) -> Vec<&'static str> {
    let mut v = ID.to_vec();
    v.extend_from_slice(&["destination_h", "destination_p"]);
    v.extend_from_slice(extra);
    v
}

const ENIP: &[&str] = &[
    "enip_command_code",
    "enip_command",
    "length",
    "session_handle",
    "enip_status",
    "sender_context",
    "options",
];
const CIP: &[&str] = &[
    "cip_sequence_count",
    "direction",
    "cip_service_code",
    "cip_service",
    "cip_status_code",
    "cip_status",
    "cip_extended_status_code",
    "cip_extended_status",
    "class_id",
    "class_name",
    "instance_id",
    "attribute_id",
];
const IDENTITY: &[&str] = &[
    "encapsulation_version",
    "socket_address",
    "socket_port",
    "vendor_id",
    "vendor_name",
    "device_type_id",
    "device_type_name",
    "product_code",
    "revision",
    "device_status",
    "serial_number",
    "product_name",
    "device_state",
];
const IO: &[&str] = &["connection_id", "sequence_number", "data_length", "io_data"];

/// A Zeek hex or decimal field as a number; `-` is `None`.
fn num(s: &str) -> Option<u64> {
    if s == "-" {
        return None;
    }
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

fn get(v: &Value, k: &str) -> Option<u64> {
    v.get(k).and_then(Value::as_u64)
}

type Row = BTreeMap<String, String>;

fn log(dir: &Path, name: &str, extra: &[&'static str]) -> Vec<Row> {
    common::zeek_log(&dir.join(name), Some(&fields(extra)))
}

/// enip.log rows against the encapsulation messages (I/O excluded).
fn compare_enip(rows: &[Row], msgs: &[Value]) -> usize {
    let ours: Vec<&Value> = msgs
        .iter()
        .map(|m| &m["enip"])
        .filter(|e| e.get("length").is_some())
        .collect();
    assert_eq!(
        rows.len(),
        ours.len(),
        "enip.log rows vs encapsulation messages"
    );
    for (i, (r, e)) in rows.iter().zip(&ours).enumerate() {
        assert_eq!(
            num(&r["enip_command_code"]),
            get(e, "command"),
            "row {i} command"
        );
        assert_eq!(num(&r["length"]), get(e, "length"), "row {i} length");
        assert_eq!(
            num(&r["session_handle"]),
            get(e, "session_handle"),
            "row {i} session handle"
        );
        assert_eq!(
            r["enip_status"] == "Success",
            get(e, "status") == Some(0),
            "row {i} status {}",
            r["enip_status"]
        );
    }
    rows.len()
}

/// One expected cip.log row from our records.
#[derive(Debug, PartialEq)]
struct CipRow {
    seq: Option<u64>,
    request: bool,
    service: u64,
    status: Option<u64>,
    class: Option<u64>,
    instance: Option<u64>,
    attribute: Option<u64>,
}

fn cip_row(seq: Option<u64>, c: &Value) -> CipRow {
    let service = get(c, "service").unwrap_or(0);
    CipRow {
        seq,
        request: service & 0x80 == 0,
        service: service & 0x7f,
        status: get(c, "status"),
        class: get(c, "class"),
        instance: get(c, "instance"),
        attribute: get(c, "attribute"),
    }
}

fn ours_cip(msgs: &[Value]) -> Vec<CipRow> {
    let mut out = Vec::new();
    for m in msgs {
        let e = &m["enip"];
        let Some(c) = e.get("cip") else { continue };
        let seq = get(e, "cip_sequence_count");
        out.push(cip_row(seq, c));
        for s in c
            .get("services")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            out.push(cip_row(seq, s));
        }
    }
    out
}

fn compare_cip(rows: &[Row], msgs: &[Value]) -> usize {
    let ours = ours_cip(msgs);
    assert_eq!(
        rows.len(),
        ours.len(),
        "cip.log rows vs CIP messages + embedded services"
    );
    for (i, (r, o)) in rows.iter().zip(&ours).enumerate() {
        let want = CipRow {
            seq: num(&r["cip_sequence_count"]),
            request: r["direction"] == "request",
            service: num(&r["cip_service_code"]).unwrap_or(0),
            status: num(&r["cip_status_code"]),
            class: num(&r["class_id"]),
            instance: num(&r["instance_id"]),
            attribute: num(&r["attribute_id"]),
        };
        assert_eq!(&want, o, "cip.log row {i}");
    }
    rows.len()
}

#[test]
fn icsnpp_enip_basic() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let dir = corpus.join("icsnpp-enip");
    let msgs = common::messages(&dir.join("tests__traces__enip_cip_example.pcap"), "enip");
    let pfx = "tests__baseline__analyzer.basic__";

    let n = compare_enip(&log(&dir, &format!("{pfx}enip.log"), ENIP), &msgs);
    eprintln!("enip.log: {n} rows agree");

    let n = compare_cip(&log(&dir, &format!("{pfx}cip.log"), CIP), &msgs);
    eprintln!("cip.log: {n} rows agree");

    let ids = log(&dir, &format!("{pfx}cip_identity.log"), IDENTITY);
    let ours: Vec<&Value> = msgs
        .iter()
        .filter_map(|m| m["enip"].get("identity"))
        .collect();
    assert_eq!(ids.len(), ours.len(), "identity rows");
    for (r, i) in ids.iter().zip(&ours) {
        assert_eq!(
            num(&r["encapsulation_version"]),
            get(i, "encapsulation_version")
        );
        assert_eq!(r["socket_address"], i["socket_address"].as_str().unwrap());
        assert_eq!(num(&r["socket_port"]), get(i, "socket_port"));
        assert_eq!(num(&r["vendor_id"]), get(i, "vendor_id"));
        assert_eq!(r["vendor_name"], i["vendor_name"].as_str().unwrap());
        assert_eq!(num(&r["device_type_id"]), get(i, "device_type"));
        assert_eq!(
            r["device_type_name"],
            i["device_type_name"].as_str().unwrap()
        );
        assert_eq!(num(&r["product_code"]), get(i, "product_code"));
        assert_eq!(r["revision"], i["revision"].as_str().unwrap());
        assert_eq!(num(&r["device_status"]), get(i, "status"));
        assert_eq!(r["serial_number"], i["serial_number"].as_str().unwrap());
        assert_eq!(r["product_name"], i["product_name"].as_str().unwrap());
        assert_eq!(num(&r["device_state"]), get(i, "state"));
    }
    eprintln!("cip_identity.log: {} rows agree", ids.len());

    let io = log(&dir, &format!("{pfx}cip_io.log"), IO);
    let ours: Vec<&Value> = msgs
        .iter()
        .map(|m| &m["enip"])
        .filter(|e| e["command_name"] == "io")
        .collect();
    assert_eq!(io.len(), ours.len(), "cip_io rows");
    for (i, (r, e)) in io.iter().zip(&ours).enumerate() {
        assert_eq!(
            num(&r["connection_id"]),
            get(e, "connection_id"),
            "io row {i}"
        );
        assert_eq!(
            num(&r["sequence_number"]),
            get(e, "sequence_number"),
            "io row {i}"
        );
        assert_eq!(num(&r["data_length"]), get(e, "data_length"), "io row {i}");
        assert_eq!(r["io_data"], e["data"].as_str().unwrap(), "io row {i}");
    }
    eprintln!("cip_io.log: {} rows agree", io.len());
}

#[test]
fn icsnpp_enip_multiple_service_request() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let dir = corpus.join("icsnpp-enip");
    let msgs = common::messages(
        &dir.join("tests__traces__multiple_service_packet_cip.pcapng"),
        "enip",
    );
    let pfx = "tests__baseline__analyzer.multiple_service_request__";
    compare_enip(&log(&dir, &format!("{pfx}enip.log"), ENIP), &msgs);
    let n = compare_cip(&log(&dir, &format!("{pfx}cip.log"), CIP), &msgs);
    assert_eq!(n, 12);
    let c = &msgs[0]["enip"]["cip"];
    assert_eq!(c["service_count"], 11);
    assert_eq!(c["services"].as_array().unwrap().len(), 11);
}
