//! `otwatch analyze --timeline`: the event timeline of generated scenarios
//! holds the network events, detections and alert changes they contain, in
//! time order, each with its reference title and severity.

use std::collections::BTreeMap;
use std::process::Command;

fn timeline(scenario: &str) -> Vec<serde_json::Value> {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("s.pcap");
    let out = dir.path().join("t.ndjson");
    let bin = env!("CARGO_BIN_EXE_otwatch");
    let st = Command::new(bin)
        .args(["simulate", scenario, "-o"])
        .arg(&pcap)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let st = Command::new(bin)
        .args(["analyze", "-q"])
        .arg(&pcap)
        .arg("--timeline")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn types(t: &[serde_json::Value]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for e in t {
        *m.entry(e["type"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    m
}

#[test]
fn scenarios_produce_their_network_events() {
    let cases: &[(&str, &[(&str, usize)])] = &[
        ("it_dns_dhcp", &[("DHCP_UPDATE", 1)]),
        ("it_snmp", &[("SNMP_TRAP", 1)]),
        ("it_infra", &[("SYSLOG_MSG", 5)]),
        ("it_http", &[("HTTP_BASIC_AUTHENTICATION", 2)]),
        (
            "it_remote_access",
            &[
                ("REMOTE_ACCESS", 5),
                ("TELNET_AUTHENTICATION_FAILURE", 1),
                ("USER_LOGIN", 1),
                ("CLEARTEXT_AUTHENTICATION", 1),
            ],
        ),
        (
            "it_ftp_smb",
            &[
                ("FTP_AUTHENTICATION_FAILURE", 1),
                ("FILE_TRANSFER", 1),
                ("CLEARTEXT_AUTHENTICATION", 2),
            ],
        ),
        (
            "s7comm_engineering",
            &[
                ("PROGRAM_DEVICE", 1),
                ("PROGRAM_UPLOAD_DEVICE", 1),
                ("S7_PLC_MODE_CHANGE", 1),
                ("ENIP_CONTROLLER_GENERIC_RESET", 1),
            ],
        ),
    ];
    for (scenario, want) in cases {
        let t = timeline(scenario);
        let got = types(&t);
        for (ty, n) in *want {
            assert_eq!(got.get(*ty), Some(n), "{scenario}: {ty} in {got:?}");
        }
        // Every device is created once, every flow pair is a connection.
        assert!(
            got.get("DEVICE_CREATE").copied().unwrap_or(0) >= 2,
            "{scenario}"
        );
        assert!(got.contains_key("DEVICE_CONNECTION_CREATED"), "{scenario}");
        // Time order, known titles, API severities.
        let ts: Vec<&str> = t.iter().map(|e| e["ts"].as_str().unwrap()).collect();
        assert!(
            ts.windows(2).all(|w| w[0] <= w[1]),
            "{scenario}: not in time order"
        );
        for e in &t {
            let ty = e["type"].as_str().unwrap();
            assert_eq!(
                e["title"].as_str(),
                otwatch_alerts::timeline::title_of(ty),
                "{scenario}: {e}"
            );
            assert!(
                matches!(e["severity"].as_str(), Some("INFO" | "NOTICE" | "ALERT")),
                "{e}"
            );
            assert!(!e["content"].as_str().unwrap().is_empty(), "{e}");
        }
    }
}

#[test]
fn alerts_appear_on_the_timeline_with_their_device() {
    let t = timeline("s7comm_engineering");
    let reported: Vec<_> = t.iter().filter(|e| e["type"] == "ALERT_REPORTED").collect();
    assert!(!reported.is_empty());
    for e in reported {
        assert_eq!(e["severity"], "ALERT");
        assert!(e["alert_id"].as_str().unwrap().starts_with("offline-"));
        assert!(e["device_ip"].is_string(), "{e}");
    }
}

#[test]
fn normal_polling_has_no_alert_events() {
    let t = timeline("modbus_polling");
    let got = types(&t);
    assert!(!got.contains_key("ALERT_REPORTED"), "{got:?}");
    assert!(!got.contains_key("PROGRAM_DEVICE"), "{got:?}");
}
