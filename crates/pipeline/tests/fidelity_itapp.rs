//! Fidelity of the IT application dissectors (HTTP, TLS, SMB, FTP, SSH) on the
//! real corpus: message counts per function code against tshark 4.0, and key
//! fields against Zeek / Suricata-verify baselines and tshark field values.
//! Skips (loudly) when `OTWATCH_CORPUS` is unset.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use otwatch_capture::{FileSource, PacketSource};
use otwatch_core::Proto;
use otwatch_pipeline::{Config, Pipeline, Summary};
use serde_json::Value;

/// (protocol, capture, tshark count per function code).
type Expected = (&'static str, &'static str, &'static [(u16, u64)]);

/// tshark 4.0 counts per function code (our key), generated with
/// `tshark -n -r F -Y <filter> -T fields -E occurrence=a -e <field>`:
/// - http: `http.request.method` (method code) and `http.response.code`;
/// - tls: `tls.handshake.type` + 0x1600 (22 * 256 + type);
/// - smb: `smb.cmd` (without the 0xff AndX terminators) and `smb2.cmd` + 0x100;
/// - ftp: `ftp.request.command` (index in `ftp::COMMANDS`, +1) and `ftp.response.code`;
/// - ssh: `ssh.protocol` (banner, 0) and `ssh.message_code`.
const TSHARK: &[Expected] = &[
    (
        "ftp",
        "suricata-verify/tests__ftp__ftp-download-passive__input.pcap",
        &[
            (1, 1),
            (2, 1),
            (7, 1),
            (10, 3),
            (11, 3),
            (14, 1),
            (28, 2),
            (150, 3),
            (200, 3),
            (220, 1),
            (221, 1),
            (226, 3),
            (227, 3),
            (230, 1),
            (331, 1),
        ],
    ),
    (
        "ftp",
        "suricata-verify/tests__ftp__ftp-too-long-command__ftp-too-long-command.pcap",
        &[
            (1, 1),
            (2, 1),
            (10, 1),
            (11, 1),
            (14, 2),
            (30, 1),
            (200, 1),
            (215, 1),
            (220, 1),
            (227, 1),
            (230, 1),
            (331, 1),
            (550, 2),
        ],
    ),
    (
        "ftp",
        "zeek/testing__btest__Traces__ftp__bruteforce.pcap",
        &[
            (1, 30),
            (2, 30),
            (7, 30),
            (220, 30),
            (221, 30),
            (331, 30),
            (530, 30),
        ],
    ),
    (
        "ftp",
        "zeek/testing__btest__Traces__telnet-auth-missing-name.pcap",
        &[],
    ),
    (
        "http",
        "EmreEkin-ICS-Pcaps/HTTP__Safari-Array-Integer-Overflow-PoC.pcap",
        &[(1, 1), (200, 1)],
    ),
    (
        "http",
        "ITI-ICS-Security-Tools/pcaps__IEC61850__m-send-req.mms.pcap",
        &[(1, 1), (200, 1)],
    ),
    (
        "http",
        "suricata-verify/tests__mqtt-events-missing-connect__input.pcap",
        &[(1, 6), (200, 6)],
    ),
    (
        "http",
        "zeek/testing__btest__Traces__http__smuggle-http-request.pcap",
        &[(2, 2), (200, 2)],
    ),
    (
        "http",
        "zeek/testing__btest__Traces__http__testmyids.pcap",
        &[(1, 1), (200, 1)],
    ),
    (
        "http",
        "zeek/testing__btest__Traces__ssh__ssh-on-port-80.pcap",
        &[],
    ),
    (
        "smb",
        "ITI-ICS-Security-Tools/pcaps__IEC61850__Sample_File_MMS_and_GOOSE.pcap",
        &[(37, 2), (114, 8), (115, 16)],
    ),
    (
        "smb",
        "ITI-ICS-Security-Tools/pcaps__openics__EIP-ControlProtocolChangeAttempt.pcap",
        &[
            (37, 15),
            (113, 12),
            (114, 6),
            (115, 24),
            (116, 12),
            (117, 12),
        ],
    ),
    (
        "smb",
        "ITI-ICS-Security-Tools/pcaps__openics__EIP-IPAddressChangeAttempt.pcap",
        &[
            (37, 15),
            (113, 12),
            (114, 6),
            (115, 24),
            (116, 12),
            (117, 12),
        ],
    ),
    (
        "smb",
        "suricata-verify/tests__smb-eicar-file__input.pcap",
        &[
            (4, 2),
            (43, 2),
            (47, 2),
            (113, 2),
            (114, 2),
            (115, 4),
            (117, 2),
            (162, 2),
        ],
    ),
    (
        "smb",
        "zeek/testing__btest__Traces__smb__smb311.pcap",
        &[(256, 2), (257, 4)],
    ),
    (
        "ssh",
        "suricata-verify/tests__ssh-banner-only__input.pcap",
        &[(0, 2)],
    ),
    (
        "ssh",
        "suricata-verify/tests__ssh-hassh__input.pcap",
        &[(0, 2), (20, 2), (21, 2), (30, 1), (31, 1)],
    ),
    (
        "tls",
        "EmreEkin-ICS-Pcaps/IEC60870-104__104deneme.pcap",
        &[],
    ),
    ("tls", "EmreEkin-ICS-Pcaps/IEC61850__mmsy.pcap", &[]),
    ("tls", "EmreEkin-ICS-Pcaps/IEC61850__pres.pcap", &[]),
    (
        "tls",
        "ITI-ICS-Security-Tools/pcaps__openics__EIP-ChangePortConfigurationAttempt.pcap",
        &[],
    ),
    (
        "tls",
        "ITI-ICS-Security-Tools/pcaps__openics__EIP-IPAddressChangeAttempt.pcap",
        &[],
    ),
    (
        "tls",
        "suricata-verify/tests__bug-5713-01__TLSv1-Extracted-MaliciousC2.pcap",
        &[(5633, 1)],
    ),
    (
        "tls",
        "suricata-verify/tests__mqtt-events-missing-connect__input.pcap",
        &[],
    ),
    (
        "tls",
        "zeek/testing__btest__Traces__tls__chrome-34-google.pcap",
        &[
            (5633, 1),
            (5634, 1),
            (5636, 1),
            (5643, 1),
            (5644, 1),
            (5646, 1),
            (5648, 1),
        ],
    ),
];

/// Explained differences: (capture, proto, function code, our count, why).
const DIFFERENCES: &[(&str, &str, u16, u64, &str)] = &[
    (
        "ITI-ICS-Security-Tools/pcaps__IEC61850__Sample_File_MMS_and_GOOSE.pcap",
        "smb",
        0x25,
        0,
        "SMB Trans (browser/netlogon mailslots) over NetBIOS on LLC (NetBEUI), no TCP flow",
    ),
    (
        "ITI-ICS-Security-Tools/pcaps__openics__EIP-ControlProtocolChangeAttempt.pcap",
        "smb",
        0x25,
        12,
        "3 SMB Trans browser announcements over the NetBIOS datagram service (UDP 138), not SMB sessions",
    ),
    (
        "ITI-ICS-Security-Tools/pcaps__openics__EIP-IPAddressChangeAttempt.pcap",
        "smb",
        0x25,
        12,
        "3 SMB Trans browser announcements over the NetBIOS datagram service (UDP 138), not SMB sessions",
    ),
    (
        "suricata-verify/tests__ftp__ftp-too-long-command__ftp-too-long-command.pcap",
        "ftp",
        14,
        1,
        "a RETR line longer than 4096 bytes is reported as malformed (line_too_long), not as a command",
    ),
];

fn summary(path: &Path) -> Summary {
    let mut src = FileSource::open(path, 0).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut p = Pipeline::new(Config::default(), Summary::new());
    while let Some(pkt) = src.next_packet().unwrap_or_else(|e| panic!("{e}")) {
        p.process(&pkt);
    }
    p.finish();
    let mut s = p.into_sink();
    s.finalize();
    s
}

fn ours(s: &Summary, proto: &str) -> BTreeMap<u16, u64> {
    let mut out = BTreeMap::new();
    let Some(c) = s
        .protocols
        .iter()
        .find(|(p, _)| p.name() == proto)
        .map(|(_, c)| c)
    else {
        return out;
    };
    for (k, v) in &c.functions {
        let fc: u16 = k.split('/').next().unwrap().parse().unwrap();
        // TLS: only handshake messages are compared (tshark has no per-record key
        // for ChangeCipherSpec/alerts that matches ours one to one).
        if proto == "tls" && fc < 0x1600 {
            continue;
        }
        *out.entry(fc).or_default() += v;
    }
    out
}

#[test]
fn counts_match_tshark() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let mut failures = Vec::new();
    let (mut agree, mut total) = (0u64, 0u64);
    for (proto, file, counts) in TSHARK {
        let path = corpus.join(file);
        if !path.exists() {
            eprintln!("missing capture {file}, skipped");
            continue;
        }
        let s = summary(&path);
        let got = ours(&s, proto);
        let mut want: BTreeMap<u16, u64> = counts.iter().copied().collect();
        for (f, p, fc, n, _) in DIFFERENCES {
            if f == file && p == proto {
                want.insert(*fc, *n);
            }
        }
        want.retain(|_, v| *v > 0);
        total += counts.iter().map(|c| c.1).sum::<u64>();
        agree += counts
            .iter()
            .map(|(fc, n)| (*n).min(got.get(fc).copied().unwrap_or(0)))
            .sum::<u64>();
        if got != want {
            failures.push(format!("{proto} {file}: ours {got:?} expected {want:?}"));
        }
    }
    eprintln!("it_app fidelity: {agree}/{total} tshark messages matched");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn msgs(corpus: &Path, file: &str, proto: &str) -> Vec<Value> {
    common::messages(&corpus.join(file), proto)
}

#[test]
fn tls_fields_match_tshark_and_zeek() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let m = msgs(
        &corpus,
        "zeek/testing__btest__Traces__tls__chrome-34-google.pcap",
        "tls",
    );
    let ch = m
        .iter()
        .find(|r| r["tls"]["handshake_type"] == 1)
        .expect("client hello");
    // tshark tls.handshake.ja3 / Zeek tls-extension-events (server_name, ALPN).
    assert_eq!(ch["tls"]["ja3"], "a607f3a5c94c2ee592af1456f36c8367");
    assert_eq!(ch["tls"]["sni"], "google.de");
    assert_eq!(
        ch["tls"]["alpn"],
        serde_json::json!(["spdy/3", "spdy/3.1", "http/1.1"])
    );
    let sh = m
        .iter()
        .find(|r| r["tls"]["handshake_type"] == 2)
        .expect("server hello");
    assert_eq!(sh["tls"]["ja3s"], "9f5e2e0d84076af5475bbe44debdb03e");
    assert_eq!(sh["tls"]["alpn"], serde_json::json!(["spdy/3.1"]));
    assert_eq!(sh["tls"]["cipher"], 0xc02f);
    let cert = m
        .iter()
        .find(|r| r["tls"]["handshake_type"] == 11)
        .expect("certificate");
    assert_eq!(
        cert["tls"]["cert_subject"],
        "CN=*.google.de,O=Google Inc,L=Mountain View,ST=California,C=US"
    );
    assert_eq!(
        cert["tls"]["cert_issuer"],
        "CN=Google Internet Authority G2,O=Google Inc,C=US"
    );
    let c2 = msgs(
        &corpus,
        "suricata-verify/tests__bug-5713-01__TLSv1-Extracted-MaliciousC2.pcap",
        "tls",
    );
    assert_eq!(c2.len(), 1);
    assert_eq!(c2[0]["tls"]["version"], 0x0301);
}

#[test]
fn ssh_hassh_matches_suricata() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let m = msgs(
        &corpus,
        "suricata-verify/tests__ssh-hassh__input.pcap",
        "ssh",
    );
    // suricata-verify tests/ssh-hassh/test.yaml
    assert!(
        m.iter()
            .any(|r| r["ssh"]["hassh"] == "2dd6531c7e89d3c925db9214711be76a")
    );
    assert!(
        m.iter()
            .any(|r| r["ssh"]["hassh_server"] == "6832f1ce43d4397c2c0a3e2f8c94334e")
    );
    let banners: Vec<_> = m
        .iter()
        .filter(|r| r["ssh"]["message"] == "banner")
        .collect();
    assert_eq!(banners.len(), 2);
}

#[test]
fn http_fields_match_zeek() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    // The `.cut` baseline has a bare header line instead of `#fields`.
    let path = corpus.join(
        "zeek/testing__btest__Baseline__scripts.base.protocols.http.smuggle-http-request__http.log.cut",
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let header: Vec<&str> = text
        .lines()
        .find(|l| l.starts_with("ts\t"))
        .unwrap()
        .split('\t')
        .collect();
    let log: Vec<_> = common::zeek_log(&path, Some(&header))
        .into_iter()
        .filter(|r| r["ts"] != "ts")
        .collect();
    let m = msgs(
        &corpus,
        "zeek/testing__btest__Traces__http__smuggle-http-request.pcap",
        "http",
    );
    let reqs: Vec<_> = m.iter().filter(|r| r["kind"] == "request").collect();
    let resps: Vec<_> = m.iter().filter(|r| r["kind"] == "response").collect();
    assert_eq!(reqs.len(), log.len());
    for (i, row) in log.iter().enumerate() {
        assert_eq!(reqs[i]["http"]["method"], row["method"].as_str());
        assert_eq!(reqs[i]["http"]["host"], row["host"].as_str());
        assert_eq!(reqs[i]["http"]["uri"], row["uri"].as_str());
        assert_eq!(resps[i]["http"]["status"].to_string(), row["status_code"]);
        assert_eq!(resps[i]["http"]["reason"], row["status_msg"].as_str());
    }
}

#[test]
fn ftp_fields_match_zeek() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let log = common::zeek_log(
        &corpus.join(
            "zeek/testing__btest__Baseline__scripts.policy.protocols.ftp.bruteforce__ftp.log",
        ),
        None,
    );
    let m = msgs(
        &corpus,
        "zeek/testing__btest__Traces__ftp__bruteforce.pcap",
        "ftp",
    );
    let quits: Vec<_> = m.iter().filter(|r| r["ftp"]["command"] == "QUIT").collect();
    assert_eq!(quits.len(), log.len());
    let failures: Vec<_> = m
        .iter()
        .filter(|r| r["ftp"]["login"] == "failure")
        .collect();
    assert_eq!(failures.len(), log.len());
    for row in &log {
        assert_eq!(row["command"], "QUIT");
        assert!(
            failures
                .iter()
                .all(|f| f["ftp"]["user"] == row["user"].as_str())
        );
    }
    // The password is never reported.
    assert!(
        m.iter()
            .all(|r| r["ftp"].get("arg").is_none() || r["ftp"]["command"] != "PASS")
    );
    let replies221 = m.iter().filter(|r| r["ftp"]["reply_code"] == 221).count();
    assert_eq!(
        replies221,
        log.iter().filter(|r| r["reply_code"] == "221").count()
    );
}

#[test]
fn smb_fields_match_zeek_and_suricata() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    // Zeek smb311 .stdout: smb2_negotiate_response dialect_revision=785 (0x0311).
    let m = msgs(
        &corpus,
        "zeek/testing__btest__Traces__smb__smb311.pcap",
        "smb",
    );
    let neg = m
        .iter()
        .find(|r| r["smb"]["command"] == 0 && r["kind"] == "response")
        .expect("negotiate response");
    assert_eq!(neg["smb"]["dialect"], "0x0311");
    assert_eq!(neg["smb"]["version"], 3);
    assert!(m.iter().any(|r| r["smb"]["user"] == "administrator"));
    // suricata-verify smb-eicar-file: files[0].filename "\\eicar".
    let m = msgs(
        &corpus,
        "suricata-verify/tests__smb-eicar-file__input.pcap",
        "smb",
    );
    assert!(m.iter().any(|r| r["smb"]["file"] == "\\eicar"));
    assert!(
        m.iter()
            .any(|r| r["smb"]["path"] == "\\\\192.168.1.3\\PUBLIC")
    );
    assert!(m.iter().any(|r| r["smb"]["workstation"] == "HOST"));
}

#[test]
fn no_proto_is_misdetected() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let _ = Proto::Http;
    // SSH on port 80: the HTTP session rejects it (malformed start line per
    // direction) and reports no HTTP message.
    let r = common::records(&corpus.join("zeek/testing__btest__Traces__ssh__ssh-on-port-80.pcap"));
    assert!(
        r.iter()
            .all(|x| !(x["event"] == "message" && x["proto"] == "http"))
    );
}
