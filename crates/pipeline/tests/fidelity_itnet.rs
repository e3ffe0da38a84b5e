//! Fidelity of the IT network dissectors (DNS, mDNS, LLMNR, NBNS, DHCP,
//! DHCPv6, SNMP, NTP, ICMP, LLDP, CDP) on the real corpus:
//!
//! - message counts per capture equal tshark 4.0's (table below, produced by
//!   counting `dns`/`mdns`/`llmnr` `dns.flags.response`, `dhcp` frames,
//!   `snmp.data`, `ntp.flags.mode`, `icmp.type`/`icmpv6.type`,
//!   `nbns.flags.opcode`, `dhcpv6.msgtype`, `lldp` and `cdp` frames, with
//!   frames inside ICMP errors excluded);
//! - fields against the Suricata-verify expectations (DHCP, SNMP, DNS) and
//!   the Zeek DNS btests (invalid names, mDNS).
//!
//! Skips with a note when `OTWATCH_CORPUS` is unset.

mod common;

use std::collections::BTreeMap;

use serde_json::Value;

/// `(capture, protocol, tshark message count)`; `icmpv6` means ICMP records
/// with version 6.
const TSHARK_COUNTS: &[(&str, &str, u64)] = &[
    ("EmreEkin-ICS-Pcaps/COTP__cotp.pcap", "dhcp", 7),
    ("EmreEkin-ICS-Pcaps/COTP__cotp.pcap", "icmpv6", 49),
    ("EmreEkin-ICS-Pcaps/COTP__cotp.pcap", "lldp", 16),
    ("EmreEkin-ICS-Pcaps/DNP3__DNP3ValueAnalog.pcap", "icmp", 2),
    (
        "EmreEkin-ICS-Pcaps/IEC60870-104__104IPValue.pcap",
        "dhcpv6",
        8,
    ),
    (
        "EmreEkin-ICS-Pcaps/IEC60870-104__104IPValue.pcap",
        "lldp",
        31,
    ),
    (
        "EmreEkin-ICS-Pcaps/IEC60870-104__104LocalValue.pcap",
        "icmp",
        10,
    ),
    (
        "EmreEkin-ICS-Pcaps/IEC60870-104__104LocalValue.pcap",
        "llmnr",
        6,
    ),
    (
        "EmreEkin-ICS-Pcaps/IEC60870-104__104deneme.pcap",
        "dhcpv6",
        7,
    ),
    (
        "EmreEkin-ICS-Pcaps/IEC60870-104__104deneme.pcap",
        "lldp",
        51,
    ),
    (
        "EmreEkin-ICS-Pcaps/IEC60870-104__104deneme.pcap",
        "llmnr",
        8,
    ),
    ("EmreEkin-ICS-Pcaps/IEC60870-104__104deneme.pcap", "mdns", 2),
    ("EmreEkin-ICS-Pcaps/IEC60870-104__104deneme.pcap", "nbns", 3),
    ("EmreEkin-ICS-Pcaps/IEC60870-104__50.pcap", "dhcpv6", 1),
    ("EmreEkin-ICS-Pcaps/IEC60870-104__59.pcap", "dhcpv6", 5),
    ("EmreEkin-ICS-Pcaps/IEC60870-104__59.pcap", "lldp", 1),
    ("EmreEkin-ICS-Pcaps/IEC60870-104__63.pcap", "dhcpv6", 3),
    ("EmreEkin-ICS-Pcaps/IEC61850__gooseind1_7.pcap", "lldp", 4),
    ("EmreEkin-ICS-Pcaps/IEC61850__gooseind1_7.pcap", "mdns", 2),
    ("EmreEkin-ICS-Pcaps/IEC61850__mmsy.pcap", "lldp", 12),
    ("EmreEkin-ICS-Pcaps/IEC61850__pres.pcap", "dhcpv6", 1),
    ("EmreEkin-ICS-Pcaps/IEC61850__pres.pcap", "lldp", 8),
    ("EmreEkin-ICS-Pcaps/LLDP__simens.pcap", "dhcpv6", 28),
    ("EmreEkin-ICS-Pcaps/LLDP__simens.pcap", "icmp", 16),
    ("EmreEkin-ICS-Pcaps/LLDP__simens.pcap", "lldp", 687),
    ("EmreEkin-ICS-Pcaps/LLDP__simens.pcap", "llmnr", 28),
    ("EmreEkin-ICS-Pcaps/LLDP__simens.pcap", "nbns", 30),
    ("EmreEkin-ICS-Pcaps/LocalPCAP__ModbusFloat.pcap", "dhcp", 2),
    ("EmreEkin-ICS-Pcaps/LocalPCAP__ModbusFloat.pcap", "icmp", 1),
    ("EmreEkin-ICS-Pcaps/LocalPCAP__ReadCoil.pcap", "icmp", 1),
    ("EmreEkin-ICS-Pcaps/LocalPCAP__vinci104.pcap", "icmp", 9),
    ("EmreEkin-ICS-Pcaps/OPC-UA__OPC_Server.pcap", "lldp", 6),
    (
        "ITI-ICS-Security-Tools/pcaps__IEC60870-5-104__JavaRMI_and_IEC_Misc.pcap",
        "ntp",
        2,
    ),
    (
        "ITI-ICS-Security-Tools/pcaps__IEC61850__Sample_File_MMS_and_GOOSE.pcap",
        "icmp",
        15,
    ),
    (
        "ITI-ICS-Security-Tools/pcaps__IEC61850__Sample_File_MMS_and_GOOSE.pcap",
        "nbns",
        6,
    ),
    (
        "ITI-ICS-Security-Tools/pcaps__IEC61850__Sample_File_MMS_and_GOOSE.pcap",
        "ntp",
        52,
    ),
    (
        "ITI-ICS-Security-Tools/pcaps__IEC61850__Sample_File_MMS_and_GOOSE.pcap",
        "snmp",
        14,
    ),
    (
        "ITI-ICS-Security-Tools/pcaps__openics__EIP-ChangePortConfigurationAttempt.pcap",
        "cdp",
        1,
    ),
    (
        "ITI-ICS-Security-Tools/pcaps__openics__EIP-ChangeTimeAttempt.pcap",
        "cdp",
        1,
    ),
    (
        "ITI-ICS-Security-Tools/pcaps__openics__EIP-ChangeTimeAttempt.pcap",
        "lldp",
        1,
    ),
    (
        "ITI-ICS-Security-Tools/pcaps__openics__EIP-ControlProtocolChangeAttempt.pcap",
        "cdp",
        5,
    ),
    (
        "ITI-ICS-Security-Tools/pcaps__openics__EIP-ControlProtocolChangeAttempt.pcap",
        "lldp",
        8,
    ),
    (
        "ITI-ICS-Security-Tools/pcaps__openics__EIP-ControlProtocolChangeAttempt.pcap",
        "nbns",
        6,
    ),
    (
        "ITI-ICS-Security-Tools/pcaps__openics__EIP-FirmwareChangeFailure.pcap",
        "cdp",
        1,
    ),
    (
        "ITI-ICS-Security-Tools/pcaps__openics__EIP-FirmwareChangeFailure.pcap",
        "lldp",
        2,
    ),
    (
        "ITI-ICS-Security-Tools/pcaps__openics__EIP-IPAddressChangeAttempt.pcap",
        "cdp",
        5,
    ),
    (
        "ITI-ICS-Security-Tools/pcaps__openics__EIP-IPAddressChangeAttempt.pcap",
        "dhcp",
        6,
    ),
    (
        "ITI-ICS-Security-Tools/pcaps__openics__EIP-IPAddressChangeAttempt.pcap",
        "icmp",
        53,
    ),
    (
        "ITI-ICS-Security-Tools/pcaps__openics__EIP-IPAddressChangeAttempt.pcap",
        "lldp",
        10,
    ),
    (
        "ITI-ICS-Security-Tools/pcaps__openics__EIP-IPAddressChangeAttempt.pcap",
        "nbns",
        6,
    ),
    (
        "ITI-ICS-Security-Tools/pcaps__openics__EIP-RebootorRestart.pcap",
        "lldp",
        1,
    ),
    (
        "ITI-ICS-Security-Tools/pcaps__openics__EIP-SoftwareDownloadFailure.pcap",
        "cdp",
        1,
    ),
    (
        "ITI-ICS-Security-Tools/pcaps__openics__EIP-SoftwareDownloadFailure.pcap",
        "lldp",
        3,
    ),
    (
        "ITI-ICS-Security-Tools/pcaps__openics__EIP-SoftwareUpload.pcap",
        "cdp",
        1,
    ),
    (
        "ITI-ICS-Security-Tools/pcaps__openics__EIP-SoftwareUpload.pcap",
        "lldp",
        1,
    ),
    (
        "ITI-ICS-Security-Tools/pcaps__openics__EIP-SoftwareUploadFailure.pcap",
        "cdp",
        5,
    ),
    (
        "ITI-ICS-Security-Tools/pcaps__openics__EIP-SoftwareUploadFailure.pcap",
        "lldp",
        9,
    ),
    (
        "ITI-ICS-Security-Tools/pcaps__openics__EIP-SoftwareUploadFailure.pcap",
        "nbns",
        4,
    ),
    (
        "ITI-ICS-Security-Tools/pcaps__s7__S7Comm__wrapup.pcapng",
        "dhcpv6",
        4,
    ),
    (
        "ITI-ICS-Security-Tools/pcaps__s7__S7Comm__wrapup.pcapng",
        "icmpv6",
        6,
    ),
    (
        "ITI-ICS-Security-Tools/pcaps__s7__S7Comm__wrapup.pcapng",
        "lldp",
        15,
    ),
    (
        "ITI-ICS-Security-Tools/pcaps__s7__S7Comm__wrapup.pcapng",
        "llmnr",
        87,
    ),
    (
        "ITI-ICS-Security-Tools/pcaps__s7__S7Comm__wrapup.pcapng",
        "mdns",
        24,
    ),
    (
        "ITI-ICS-Security-Tools/pcaps__s7__S7Comm__wrapup.pcapng",
        "nbns",
        45,
    ),
    (
        "icsnpp-enip/tests__traces__enip_cip_example.pcap",
        "lldp",
        2,
    ),
    (
        "icsnpp-opcua-binary/pcaps__open62541_discover_getendpoints_discover_urls.pcap",
        "mdns",
        1,
    ),
    (
        "icsnpp-opcua-binary/tests__traces__open62541_client-server_mainloop.pcap",
        "dns",
        4,
    ),
    (
        "icsnpp-profinet-io-cm/testing__traces__profinet_io_cm_mixed_1.pcap",
        "dhcp",
        62,
    ),
    (
        "icsnpp-profinet-io-cm/testing__traces__profinet_io_cm_mixed_1.pcap",
        "dhcpv6",
        28,
    ),
    (
        "icsnpp-profinet-io-cm/testing__traces__profinet_io_cm_mixed_1.pcap",
        "icmpv6",
        66,
    ),
    (
        "icsnpp-profinet-io-cm/testing__traces__profinet_io_cm_mixed_1.pcap",
        "lldp",
        201,
    ),
    (
        "icsnpp-profinet-io-cm/testing__traces__profinet_io_cm_mixed_1.pcap",
        "llmnr",
        136,
    ),
    (
        "icsnpp-profinet-io-cm/testing__traces__profinet_io_cm_mixed_1.pcap",
        "nbns",
        731,
    ),
    (
        "icsnpp-profinet-io-cm/testing__traces__profinet_io_cm_mixed_2.pcapng",
        "dhcp",
        62,
    ),
    (
        "icsnpp-profinet-io-cm/testing__traces__profinet_io_cm_mixed_2.pcapng",
        "dhcpv6",
        28,
    ),
    (
        "icsnpp-profinet-io-cm/testing__traces__profinet_io_cm_mixed_2.pcapng",
        "icmpv6",
        66,
    ),
    (
        "icsnpp-profinet-io-cm/testing__traces__profinet_io_cm_mixed_2.pcapng",
        "lldp",
        201,
    ),
    (
        "icsnpp-profinet-io-cm/testing__traces__profinet_io_cm_mixed_2.pcapng",
        "llmnr",
        136,
    ),
    (
        "icsnpp-profinet-io-cm/testing__traces__profinet_io_cm_mixed_2.pcapng",
        "nbns",
        731,
    ),
    ("suricata-verify/tests__decode-arp-2__arp.pcap", "icmp", 2),
    (
        "suricata-verify/tests__dhcp-eve-extended__input.pcap",
        "dhcp",
        2,
    ),
    (
        "suricata-verify/tests__dhcp-request-flood__test.pcap",
        "dhcp",
        10000,
    ),
    (
        "suricata-verify/tests__dns-udp-junkrequest-first__input.pcap",
        "dns",
        4,
    ),
    ("suricata-verify/tests__dns__dns-eve__input.pcap", "dns", 8),
    (
        "suricata-verify/tests__snmp-v2c-get__SNMPv2c_get_requests.pcap",
        "snmp",
        8,
    ),
    (
        "suricata-verify/tests__ssh-banner-only__input.pcap",
        "dns",
        2,
    ),
    ("suricata-verify/tests__ssh-hassh__input.pcap", "dns", 2),
    (
        "zeek/testing__btest__Traces__dns__dns-corrupt.pcap",
        "dns",
        2,
    ),
    (
        "zeek/testing__btest__Traces__dns__dns-invalid-names.pcap",
        "dns",
        3,
    ),
    ("zeek/testing__btest__Traces__dns__mdns.pcap", "icmpv6", 3),
    ("zeek/testing__btest__Traces__dns__mdns.pcap", "mdns", 18),
];

fn key(r: &Value) -> Option<String> {
    let p = r["proto"].as_str()?;
    if p == "icmp" && r["icmp"]["version"] == 6 {
        return Some("icmpv6".into());
    }
    Some(p.to_string())
}

#[test]
fn message_counts_equal_tshark() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let mut by_file: BTreeMap<&str, Vec<(&str, u64)>> = BTreeMap::new();
    for (f, p, n) in TSHARK_COUNTS {
        by_file.entry(f).or_default().push((p, *n));
    }
    let mut failures = vec![];
    for (f, expected) in by_file {
        let recs = common::records(&corpus.join(f));
        let mut ours: BTreeMap<String, u64> = BTreeMap::new();
        for r in recs.iter().filter(|r| r["event"] == "message") {
            if let Some(k) = key(r) {
                *ours.entry(k).or_default() += 1;
            }
        }
        for (p, n) in expected {
            let got = ours.get(p).copied().unwrap_or(0);
            if got != n {
                failures.push(format!("{f}: {p} otwatch {got}, tshark {n}"));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

fn msgs<'a>(recs: &'a [Value], proto: &str) -> Vec<&'a Value> {
    recs.iter()
        .filter(|r| r["event"] == "message" && r["proto"] == proto)
        .collect()
}

/// suricata-verify `dhcp-eve-extended`: a REQUEST and its ACK.
#[test]
fn dhcp_fields_match_suricata() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let recs =
        common::records(&corpus.join("suricata-verify/tests__dhcp-eve-extended__input.pcap"));
    let m = msgs(&recs, "dhcp");
    assert_eq!(m.len(), 2);
    let (req, ack) = (&m[0]["dhcp"], &m[1]["dhcp"]);
    assert_eq!(m[0]["kind"], "request");
    assert_eq!(req["msg_type_name"], "REQUEST");
    assert_eq!(req["xid"], 4016330564u64);
    assert_eq!(req["client_mac"], "00:11:32:17:49:f0");
    assert_eq!(req["ciaddr"], "10.16.1.4");
    assert_eq!(req["assigned_ip"], "0.0.0.0");
    assert_eq!(req["hostname"], "nas1\u{0}");
    // Suricata shows the client id without its hardware type byte (01).
    assert_eq!(req["client_id"], "010011321749f0");
    // subnet_mask, router, domain, dns_server are Suricata's first four params.
    assert_eq!(req["params"][0], 1);
    assert_eq!(m[1]["kind"], "response");
    assert_eq!(ack["msg_type_name"], "ACK");
    assert_eq!(ack["assigned_ip"], "10.16.1.4");
    assert_eq!(ack["siaddr"], "10.16.1.1");
    assert_eq!(ack["giaddr"], "0.0.0.0");
    assert_eq!(ack["lease_time"], 3600);
    assert_eq!(ack["subnet_mask"], "255.255.0.0");
    assert_eq!(ack["router"], "10.16.1.1");
    assert_eq!(ack["dns_servers"][0], "10.16.1.1");
}

/// suricata-verify `snmp-v2c-get`: 8 v2c messages, 3 GetRequests and one
/// GetNextRequest for `0.1` with community `[R0_C@cti!]`.
#[test]
fn snmp_fields_match_suricata() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let recs = common::records(
        &corpus.join("suricata-verify/tests__snmp-v2c-get__SNMPv2c_get_requests.pcap"),
    );
    let m = msgs(&recs, "snmp");
    assert_eq!(m.len(), 8);
    // Suricata writes v2c as version 2; otwatch keeps the wire value 1.
    assert!(m.iter().all(|r| r["snmp"]["version"] == 1));
    let gets = m
        .iter()
        .filter(|r| {
            r["snmp"]["pdu_name"] == "get_request" && r["snmp"]["community"] == "[R0_C@cti!]"
        })
        .count();
    assert_eq!(gets, 3);
    let next: Vec<_> = m
        .iter()
        .filter(|r| r["snmp"]["pdu_name"] == "get_next_request")
        .collect();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0]["snmp"]["varbinds"][0]["oid"], "0.1");
    assert_eq!(m.iter().filter(|r| r["kind"] == "response").count(), 4);
}

/// suricata-verify `dns-udp-junkrequest-first`: an SNMP datagram sent to
/// port 53 is a DNS request with an unreadable question (tshark: no type),
/// then a FORMERR response and a normal A query/response.
#[test]
fn dns_junk_request_matches_tshark() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let recs = common::records(
        &corpus.join("suricata-verify/tests__dns-udp-junkrequest-first__input.pcap"),
    );
    let m = msgs(&recs, "dns");
    let q: Vec<(String, u64)> = m
        .iter()
        .map(|r| {
            (
                r["kind"].as_str().unwrap_or("").to_string(),
                r["dns"]["qtype"].as_u64().unwrap_or(999),
            )
        })
        .collect();
    let want: Vec<(String, u64)> = vec![
        ("request".into(), 0),
        ("response".into(), 0),
        ("request".into(), 1),
        ("response".into(), 1),
    ];
    assert_eq!(q, want);
    assert_eq!(m[1]["dns"]["rcode_name"], "FORMERR");
    assert_eq!(m[3]["dns"]["answers"][0]["data"], "188.165.53.185");
    let bad: Vec<_> = recs.iter().filter(|r| r["event"] == "malformed").collect();
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0]["error"]["code"], "bad_pointer");
}

/// suricata-verify `dns-eve`: 4 requests and 4 responses.
#[test]
fn dns_kinds_match_suricata() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let recs = common::records(&corpus.join("suricata-verify/tests__dns__dns-eve__input.pcap"));
    let m = msgs(&recs, "dns");
    assert_eq!(m.iter().filter(|r| r["kind"] == "request").count(), 4);
    assert_eq!(m.iter().filter(|r| r["kind"] == "response").count(), 4);
}

/// Zeek btest `dns/invalid-names`: one label longer than the packet
/// (`DNS_label_len_gt_pkt`), one pointer to itself
/// (`DNS_label_forward_compress_offset`), one name without its terminator
/// (`dns_invalid_name`). otwatch: three messages (sound headers, as tshark
/// counts them) and three malformed names.
#[test]
fn dns_invalid_names_match_zeek() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let recs =
        common::records(&corpus.join("zeek/testing__btest__Traces__dns__dns-invalid-names.pcap"));
    assert_eq!(msgs(&recs, "dns").len(), 3);
    let codes: Vec<_> = recs
        .iter()
        .filter(|r| r["event"] == "malformed")
        .map(|r| r["error"]["code"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(codes, ["name_truncated", "pointer_loop", "name_truncated"]);
    // The looping name is followed by type A (tshark shows the same).
    assert_eq!(msgs(&recs, "dns")[1]["dns"]["qtype"], 1);
}

/// Zeek btest `detect-external-names-mdns-broadcast`: no notice, i.e. every
/// mDNS name is local (`.local`, reverse zones). otwatch sees the same names
/// and the answering host `johanna-QEMU-Virtual-Machine` with 10.0.2.7.
#[test]
fn mdns_names_match_zeek() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let recs = common::records(&corpus.join("zeek/testing__btest__Traces__dns__mdns.pcap"));
    let m = msgs(&recs, "mdns");
    assert_eq!(m.len(), 18);
    for r in &m {
        if let Some(q) = r["mdns"]["query"].as_str() {
            assert!(q.ends_with(".local") || q.ends_with(".arpa"), "{q}");
        }
        for a in r["mdns"]["answers"].as_array().into_iter().flatten() {
            let n = a["name"].as_str().unwrap_or("");
            assert!(n.ends_with(".local") || n.ends_with(".arpa"), "{n}");
        }
    }
    let a: Vec<_> = m
        .iter()
        .flat_map(|r| r["mdns"]["answers"].as_array().cloned().unwrap_or_default())
        .filter(|a| a["type"] == "A")
        .collect();
    assert!(
        a.iter()
            .any(|a| a["name"] == "johanna-QEMU-Virtual-Machine.local" && a["data"] == "10.0.2.7")
    );
}
