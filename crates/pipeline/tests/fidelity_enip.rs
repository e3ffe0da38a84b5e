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

/// Per capture of the corpus decoded as EtherNet/IP by tshark 4.0.17:
/// (path, [(command, kind, count)], [(CIP service without the reply bit,
/// count)], class 0/1 I/O datagrams). Commands: `-Y enip.command -e
/// enip.command -E occurrence=a`, kind request when the destination port is
/// 44818; services: `-e cip.sc` (embedded services of Multiple Service
/// Packets and the request inside Unconnected Send included); I/O: `-Y
/// "enip.cpf.sai.connid and udp"`.
type Expected = (
    &'static str,
    &'static [(u16, &'static str, u64)],
    &'static [(u64, u64)],
    u64,
);

const TSHARK: &[Expected] = &[
    (
        "EmreEkin-ICS-Pcaps/CIP__ENIP_CIP-CM.pcap",
        &[
            (0x0004, "request", 1),
            (0x0004, "response", 1),
            (0x0065, "request", 1),
            (0x0065, "response", 1),
            (0x006f, "request", 3),
            (0x006f, "response", 1),
        ],
        &[(0x54, 4)],
        0,
    ),
    (
        "EmreEkin-ICS-Pcaps/CIP__specialCIP.pcap",
        // tshark: responses 115 and 0x4C 230. Frames 229 and 232 are the only
        // copies of their segments (the originals were not captured, the peer
        // had ACKed them); tshark marks them "Spurious Retransmission" and does
        // not dissect them, otwatch delivers their bytes once.
        &[(0x0070, "request", 115), (0x0070, "response", 117)],
        &[(0x4c, 232)],
        0,
    ),
    (
        "ITI-ICS-Security-Tools/pcaps__CIP__cip_only.pcap",
        &[
            (0x006f, "request", 4673),
            (0x006f, "response", 4639),
            (0x0070, "request", 4764),
            (0x0070, "response", 4722),
        ],
        &[(0x4b, 18781), (0x4e, 8), (0x54, 9)],
        0,
    ),
    (
        "ITI-ICS-Security-Tools/pcaps__EthernetIP__EthernetIP-CIP.pcap",
        &[
            (0x006f, "request", 219),
            (0x006f, "response", 219),
            (0x0070, "request", 4180),
            (0x0070, "response", 4181),
        ],
        &[
            (0x01, 438),
            (0x0a, 8361),
            (0x4c, 62140),
            (0x4e, 2888),
            (0x52, 219),
        ],
        0,
    ),
    (
        "ITI-ICS-Security-Tools/pcaps__EthernetIP__cip-eth-set-2.pcap",
        &[(0x006f, "response", 1)],
        &[(0x10, 1)],
        0,
    ),
    (
        "ITI-ICS-Security-Tools/pcaps__EthernetIP__cip-multiple-1.pcap",
        &[(0x0070, "request", 1)],
        &[(0x03, 11), (0x0a, 1)],
        0,
    ),
    (
        "ITI-ICS-Security-Tools/pcaps__EthernetIP__cip-multiple-2.pcap",
        &[(0x0070, "response", 1)],
        &[(0x03, 11), (0x0a, 1)],
        0,
    ),
    (
        "ITI-ICS-Security-Tools/pcaps__EthernetIP__cip_start_plc.pcap",
        &[(0x0070, "request", 1)],
        &[(0x06, 1)],
        0,
    ),
    (
        "ITI-ICS-Security-Tools/pcaps__EthernetIP__cip_unlock_cpu.pcap",
        &[(0x0070, "request", 1)],
        &[(0x4c, 1)],
        0,
    ),
    (
        "ITI-ICS-Security-Tools/pcaps__openics__EIP-ChangePortConfigurationAttempt.pcap",
        &[(0x006f, "request", 8), (0x006f, "response", 8)],
        &[(0x01, 4), (0x0e, 10), (0x10, 2)],
        0,
    ),
    (
        "ITI-ICS-Security-Tools/pcaps__openics__EIP-ChangeTimeAttempt.pcap",
        &[(0x0070, "request", 267), (0x0070, "response", 267)],
        &[(0x03, 2152), (0x04, 2), (0x0a, 162)],
        0,
    ),
    (
        "ITI-ICS-Security-Tools/pcaps__openics__EIP-FirmwareChangeFailure.pcap",
        &[(0x006f, "request", 5250), (0x006f, "response", 5250)],
        &[(0x4b, 2), (0x4d, 10496), (0x51, 2)],
        0,
    ),
    (
        "ITI-ICS-Security-Tools/pcaps__openics__EIP-IPAddressChangeAttempt.pcap",
        &[
            (0x0001, "request", 1),
            (0x0001, "response", 1),
            (0x0004, "request", 1),
            (0x0004, "response", 1),
            (0x0063, "request", 37),
            (0x0063, "response", 37),
            (0x0064, "request", 1),
            (0x0064, "response", 1),
            (0x0065, "request", 1),
            (0x0065, "response", 1),
            (0x006f, "request", 473),
            (0x006f, "response", 473),
        ],
        &[(0x01, 637), (0x0e, 258), (0x52, 491)],
        0,
    ),
    (
        "ITI-ICS-Security-Tools/pcaps__openics__EIP-RebootorRestart.pcap",
        &[
            (0x006f, "request", 30),
            (0x006f, "response", 30),
            (0x0070, "request", 377),
            (0x0070, "response", 377),
        ],
        &[
            (0x01, 30),
            (0x03, 1312),
            (0x04, 112),
            (0x05, 2),
            (0x06, 2),
            (0x07, 2),
            (0x08, 86),
            (0x0a, 116),
            (0x0d, 6),
            (0x4b, 20),
            (0x4c, 620),
            (0x4e, 8),
            (0x4f, 10),
            (0x50, 16),
            (0x52, 21),
            (0x54, 10),
        ],
        0,
    ),
    (
        "ITI-ICS-Security-Tools/pcaps__openics__EIP-SoftwareUpload.pcap",
        &[
            (0x006f, "request", 31),
            (0x006f, "response", 31),
            (0x0070, "request", 365),
            (0x0070, "response", 364),
        ],
        &[
            (0x01, 36),
            (0x03, 1131),
            (0x04, 2),
            (0x0a, 73),
            (0x4b, 50),
            (0x4c, 4),
            (0x4e, 12),
            (0x4f, 38),
            (0x52, 18),
            (0x54, 14),
        ],
        0,
    ),
    (
        "icsnpp-enip/tests__traces__enip_cip_example.pcap",
        &[
            (0x0063, "request", 1),
            (0x0063, "response", 1),
            (0x0070, "request", 134),
            (0x0070, "response", 133),
        ],
        &[(0x03, 1075), (0x04, 2), (0x0a, 81)],
        398,
    ),
    (
        "icsnpp-enip/tests__traces__multiple_service_packet_cip.pcapng",
        &[(0x0070, "request", 1)],
        &[(0x03, 11), (0x0a, 1)],
        0,
    ),
    (
        "suricata-verify/tests__enip-alert__enip_test1.pcap",
        &[(0x0063, "request", 1), (0x0063, "response", 1)],
        &[],
        0,
    ),
];

#[test]
fn tshark_counts_per_command_kind_and_service() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    for (path, commands, services, io) in TSHARK {
        let records = common::records(&corpus.join(path));
        let bad: Vec<&Value> = records
            .iter()
            .filter(|r| r["event"] == "malformed" && r["proto"] == "enip")
            .collect();
        assert!(bad.is_empty(), "{path}: malformed {bad:?}");
        let msgs: Vec<&Value> = records
            .iter()
            .filter(|r| r["event"] == "message" && r["proto"] == "enip")
            .collect();
        let mut cmd: BTreeMap<(u16, String), u64> = BTreeMap::new();
        let mut svc: BTreeMap<u64, u64> = BTreeMap::new();
        let mut n_io = 0;
        for m in &msgs {
            let e = &m["enip"];
            let c = get(e, "command").unwrap() as u16;
            if c == 0x8002 {
                n_io += 1;
                continue;
            }
            *cmd.entry((c, m["kind"].as_str().unwrap().to_string()))
                .or_default() += 1;
            if let Some(cip) = e.get("cip") {
                *svc.entry(get(cip, "service").unwrap() & 0x7f).or_default() += 1;
                let emb = cip.get("embedded");
                for s in [cip.get("services"), emb.and_then(|x| x.get("services"))]
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_array)
                    .flatten()
                    .chain(emb)
                {
                    if let Some(v) = get(s, "service") {
                        *svc.entry(v & 0x7f).or_default() += 1;
                    }
                }
            }
        }
        let want_cmd: BTreeMap<(u16, String), u64> = commands
            .iter()
            .map(|(c, k, n)| ((*c, k.to_string()), *n))
            .collect();
        let want_svc: BTreeMap<u64, u64> = services.iter().copied().collect();
        assert_eq!(cmd, want_cmd, "{path}: commands per kind");
        assert_eq!(svc, want_svc, "{path}: CIP services");
        assert_eq!(n_io, *io, "{path}: I/O datagrams");
    }
}
