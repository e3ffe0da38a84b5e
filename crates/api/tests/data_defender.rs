//! The Defender-compatible endpoints (`/api/v1/...`, `/api/v2/...`): exact
//! shapes (golden JSON for known records), the reference's parameters, and
//! bad inputs, against the real SQLite store through the whole router.

#[path = "common/data.rs"]
mod data;

use axum::http::{StatusCode, header};
use data::{Harness, SENSOR, detection};
use otwatch_alerts::{Alert, Catalog, DeviceRef, ScenarioKey, Status};
use otwatch_core::{MacAddr, Timestamp};
use otwatch_store::{DeviceRecord, Op, PcapRecord, Role, Store};
use serde_json::{Value, json};

/// 2020-07-12T10:49:46Z, the reference's example time.
const T_MS: i64 = 1_594_550_986_000;

fn ts_ms(ms: i64) -> Timestamp {
    Timestamp(ms * 1_000_000)
}

/// A stored alert with every Defender-visible field set.
fn known_alert(seq: u64, type_id: &str, ms: i64) -> Alert {
    let t = Catalog::builtin().get(type_id).unwrap();
    let mut a = Alert::new(
        SENSOR,
        seq,
        t,
        ts_ms(ms),
        format!("Device 10.1.0.5 used Modbus function 8 on 10.1.0.9 ({seq})"),
        Some("modbus".into()),
        DeviceRef {
            id: Some(3),
            ip: Some("10.1.0.5".parse().unwrap()),
            mac: Some(MacAddr([0, 0x11, 0x22, 0x33, 0x44, 0x55])),
            name: Some("eng-ws".into()),
        },
        DeviceRef {
            id: None,
            ip: None,
            mac: Some(MacAddr([0, 0x11, 0x22, 0x33, 0x44, 0x66])),
            name: None,
        },
    );
    a.set_additional_info("unit".into(), "1".into(), ts_ms(ms));
    a.set_additional_info("function_code".into(), "8".into(), ts_ms(ms));
    a
}

fn put(h: &Harness, a: &Alert) {
    h.store
        .apply(&[Op::PutAlert {
            alert: Box::new(a.clone()),
            key: ScenarioKey {
                type_id: a.type_id.clone(),
                fields: vec![("src".into(), a.id.clone())],
            },
        }])
        .unwrap();
}

#[tokio::test]
async fn alerts_v1_and_v2_golden() {
    let h = Harness::new();
    let a = known_alert(41, "modbus_function_code", T_MS);
    put(&h, &a);
    let remediation = Catalog::builtin()
        .get("modbus_function_code")
        .unwrap()
        .remediation
        .clone();
    assert!(!remediation.is_empty());
    let v1 = h.ok("/api/v1/alerts").await;
    assert_eq!(
        v1,
        json!([{
            "id": 41,
            "time": T_MS,
            "title": a.title,
            "message": "Device 10.1.0.5 used Modbus function 8 on 10.1.0.9 (41)",
            "severity": "Major",
            "engine": "Policy Violation",
            "sourceDevice": 3,
            "destinationDevice": null,
            "additionalInformation": {
                "description": a.category,
                "information": ["function_code: 8", "unit: 1"]
            }
        }])
    );
    let v2 = h.ok("/api/v2/alerts").await;
    assert_eq!(
        v2,
        json!([{
            "id": 41,
            "time": T_MS,
            "title": a.title,
            "message": "Device 10.1.0.5 used Modbus function 8 on 10.1.0.9 (41)",
            "severity": "Major",
            "engine": "Policy Violation",
            "sourceDevice": 3,
            "destinationDevice": null,
            "additionalInformation": {
                "description": a.category,
                "information": ["function_code: 8", "unit: 1"]
            },
            "sourceDeviceAddress": "10.1.0.5",
            "destinationDeviceAddress": "00:11:22:33:44:66",
            "remediationSteps": remediation
        }])
    );
    // No details: additionalInformation is null; no address: null.
    let t = Catalog::builtin().get("port_scan").unwrap();
    let bare = Alert::new(
        SENSOR,
        42,
        t,
        ts_ms(T_MS + 1),
        "scan".into(),
        None,
        DeviceRef::default(),
        DeviceRef::default(),
    );
    put(&h, &bare);
    let v2 = h.ok("/api/v2/alerts").await;
    let b = &v2.as_array().unwrap()[1];
    assert_eq!(b["id"], 42);
    assert_eq!(b["severity"], "Critical");
    assert_eq!(b["engine"], "Anomaly");
    assert!(b["additionalInformation"].is_null());
    assert!(b["sourceDevice"].is_null() && b["sourceDeviceAddress"].is_null());
    assert!(b["remediationSteps"].is_array());
}

#[tokio::test]
async fn alert_parameters_follow_the_reference() {
    let h = Harness::new();
    // Three alerts one second apart; the second is closed.
    for (i, t) in [
        "modbus_function_code",
        "new_asset_detected",
        "device_unresponsive",
    ]
    .iter()
    .enumerate()
    {
        let mut a = known_alert(10 + i as u64, t, T_MS + 1000 * i as i64);
        if i == 1 {
            a.set_status(Status::Closed, ts_ms(T_MS + 5000));
        }
        put(&h, &a);
    }
    let ids = |v: Value| -> Vec<u64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(ids(h.ok("/api/v1/alerts").await), vec![10, 11, 12]);
    assert_eq!(ids(h.ok("/api/v1/alerts?state=handled").await), vec![11]);
    assert_eq!(
        ids(h.ok("/api/v1/alerts?state=unhandled").await),
        vec![10, 12]
    );
    // Other state values are ignored.
    assert_eq!(
        ids(h.ok("/api/v1/alerts?state=maybe").await),
        vec![10, 11, 12]
    );
    // fromTime at or after, toTime before (on the first detection).
    let q = format!(
        "/api/v1/alerts?fromTime={}&toTime={}",
        T_MS + 1000,
        T_MS + 2000
    );
    assert_eq!(ids(h.ok(&q).await), vec![11]);
    let q = format!("/api/v2/alerts?fromTime={}", T_MS + 1);
    assert_eq!(ids(h.ok(&q).await), vec![11, 12]);
    // type: the two documented values; others ignored.
    assert_eq!(
        ids(h.ok("/api/v1/alerts?type=unexpected%20new%20devices").await),
        vec![11]
    );
    assert_eq!(
        ids(h.ok("/api/v1/alerts?type=disconnections").await),
        vec![12]
    );
    assert_eq!(
        ids(h.ok("/api/v1/alerts?type=pizza").await),
        vec![10, 11, 12]
    );
    // The reference example (no match in that millisecond).
    let ex = "/api/v1/alerts?state=unhandled&fromTime=1594550986000&toTime=1594550986001&type=disconnections";
    assert_eq!(ids(h.ok(ex).await), Vec::<u64>::new());
    // Bad numbers: 400 naming the parameter.
    for (q, field) in [
        ("fromTime=yesterday", "fromTime"),
        ("toTime=1.5", "toTime"),
        ("fromTime=99999999999999999999", "fromTime"),
    ] {
        h.get(Role::Readonly, &format!("/api/v1/alerts?{q}"))
            .await
            .assert_bad(field);
        h.get(Role::Readonly, &format!("/api/v2/alerts?{q}"))
            .await
            .assert_bad(field);
    }
}

#[tokio::test]
async fn events_v1_shape_time_frame_and_type() {
    let h = Harness::new();
    // An alert (ALERT_DETECTED-type events at capture time 2023) and a manual
    // event now.
    h.sensor.ingest(detection(
        "port_scan",
        1_700_000_000,
        "10.0.0.1",
        "10.0.0.2",
    ));
    let add = h
        .call(
            Some(Role::Analyst),
            "POST",
            "/api/timeline",
            Some(json!({"severity": "NOTICE", "description": "valve 7 replaced", "device": "10.0.0.2"})),
        )
        .await;
    assert_eq!(add.status, StatusCode::CREATED, "{}", add.text());
    let all = h.ok("/api/v1/events").await;
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 2);
    // Newest first; exactly the reference's fields.
    let e = &all[0];
    let keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
    let mut want = vec!["content", "owner", "severity", "timestamp", "title", "type"];
    let mut got = keys.clone();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    assert_eq!(e["type"], "CUSTOM_EVENT");
    assert_eq!(e["title"], "User Defined Event");
    assert_eq!(e["severity"], "NOTICE");
    assert_eq!(e["owner"], "token:test-analyst");
    assert_eq!(e["content"], "valve 7 replaced");
    let now_ms = otwatch_api::now().0 / 1_000_000;
    assert!((now_ms - e["timestamp"].as_i64().unwrap()).abs() < 60_000);
    assert!(all[1]["owner"].is_null());
    assert_eq!(all[1]["timestamp"], 1_700_000_000_000i64);
    // minutesTimeFrame counts back from now (clamped to 3 days: the 2023
    // event stays out).
    let recent = h.ok("/api/v1/events?minutesTimeFrame=999999").await;
    assert_eq!(recent.as_array().unwrap().len(), 1);
    // type: a known type filters, an unknown one is ignored.
    let kind = all[1]["type"].as_str().unwrap().to_string();
    let only = h.ok(&format!("/api/v1/events?type={kind}")).await;
    assert_eq!(only.as_array().unwrap().len(), 1);
    assert_eq!(only[0]["type"], kind.as_str());
    assert_eq!(
        h.ok("/api/v1/events?type=NO_SUCH_TYPE")
            .await
            .as_array()
            .unwrap()
            .len(),
        2
    );
    h.get(Role::Admin, "/api/v1/events?minutesTimeFrame=soon")
        .await
        .assert_bad("minutesTimeFrame");
    // The timeline is for analysts and admins (§9.1).
    let ro = h.get(Role::Readonly, "/api/v1/events").await;
    assert_eq!(ro.status, StatusCode::FORBIDDEN);
    // At most 100, newest first.
    for i in 0..120 {
        h.store
            .add_event(&otwatch_store::EventRecord {
                id: 0,
                ts: otwatch_api::now(),
                severity: "INFO".into(),
                kind: "CUSTOM_EVENT".into(),
                title: "User Defined Event".into(),
                device_ip: None,
                device_mac: None,
                peer_ip: None,
                owner: Some("ann".into()),
                alert_id: None,
                content: format!("bulk {i}"),
            })
            .unwrap();
    }
    let latest = h.ok("/api/v1/events").await;
    let latest = latest.as_array().unwrap();
    assert_eq!(latest.len(), 100);
    assert_eq!(latest[0]["content"], "bulk 119");
}

fn device(id: u64, ip: &str, mac: &str, facts: Value) -> DeviceRecord {
    DeviceRecord {
        id,
        ip: Some(ip.parse().unwrap()),
        mac: Some(mac.into()),
        first_seen: Timestamp::from_secs(1_700_000_000),
        last_seen: Timestamp::from_secs(1_700_000_100),
        facts,
    }
}

/// Facts as the inventory serializes them (`otwatch_assets::Device`).
fn plc_facts() -> Value {
    json!({
        "id": 1, "kind": "unicast", "ip": "10.0.0.10", "mac": "00:80:f4:01:02:03",
        "mac_vendor": "Schneider Electric", "vlan": 0,
        "first_seen": "2023-11-14T22:13:20Z", "last_seen": "2023-11-14T22:15:00Z",
        "protocols": {"modbus": {"roles": ["server"], "peer_count": 1, "messages_sent": 10,
            "first_seen": "2023-11-14T22:13:20Z", "last_seen": "2023-11-14T22:15:00Z"}},
        "server_ports": [502], "flows": 1, "packets_sent": 10, "bytes_sent": 1000,
        "identity": {"vendor": "Schneider Electric", "model": "BMX P34 2020", "firmware": "v3.1",
            "serial": "SN123", "sources": ["modbus 43/14 device identification"]},
        "class": {"device_type": "PLC", "confidence": 90, "evidence": ["modbus server (+40)"],
            "purdue_level": 1}
    })
}

#[tokio::test]
async fn devices_v1_golden_and_authorized_filter() {
    let h = Harness::new();
    h.store
        .apply(&[
            Op::PutDevice(device(1, "10.0.0.10", "00:80:f4:01:02:03", plc_facts())),
            Op::PutDevice(device(
                2,
                "10.0.0.20",
                "00:0c:29:aa:bb:cc",
                json!({"class": {"device_type": "Engineering Station", "os": "Windows 10"},
                       "identity": {"hostname": "eng-ws-1", "sources": []},
                       "protocols": {"dhcp": {"roles": ["client"]}, "s7comm": {"roles": ["client"]}}}),
            )),
        ])
        .unwrap();
    // The PLC is authorized by an analyst's edit (through our API).
    let edit = h
        .call(
            Some(Role::Analyst),
            "PATCH",
            "/api/devices/1",
            Some(json!({"authorized": true, "name": "Line 1 PLC"})),
        )
        .await;
    assert_eq!(edit.status, StatusCode::OK, "{}", edit.text());
    let all = h.ok("/api/v1/devices").await;
    assert_eq!(
        all[0],
        json!({
            "id": 1,
            "ipAddresses": ["10.0.0.10"],
            "name": "Line 1 PLC",
            "vendor": "Schneider Electric",
            "operatingSystem": null,
            "macAddresses": ["00:80:f4:01:02:03"],
            "type": "PLC",
            "engineeringStation": false,
            "authorized": true,
            "scanner": false,
            "protocols": [{"id": 1, "name": "MODBUS", "ipAddresses": ["10.0.0.10"]}],
            "firmware": [{
                "address": "10.0.0.10", "moduleAddress": null, "serial": "SN123",
                "model": "BMX P34 2020", "firmwareVersion": "v3.1", "additionalData": null,
                "rack": null, "slot": null
            }],
            "hasDynamicAddress": false
        })
    );
    let ws = &all[1];
    assert_eq!(ws["name"], "eng-ws-1");
    assert_eq!(ws["type"], "Engineering Station");
    assert_eq!(ws["engineeringStation"], true);
    assert_eq!(ws["operatingSystem"], "Windows 10");
    assert_eq!(ws["hasDynamicAddress"], true);
    assert_eq!(ws["protocols"][1]["name"], "Siemens S7");
    assert!(ws["vendor"].is_null());
    let ids = |v: Value| -> Vec<u64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(ids(h.ok("/api/v1/devices?authorized=true").await), vec![1]);
    assert_eq!(ids(h.ok("/api/v1/devices?authorized=false").await), vec![2]);
    h.get(Role::Readonly, "/api/v1/devices?authorized=perhaps")
        .await
        .assert_bad("authorized");
}

#[tokio::test]
async fn connections_v1_shape_and_filters() {
    let h = Harness::new();
    h.store
        .apply(&[
            Op::PutDevice(device(1, "10.0.0.10", "00:80:f4:01:02:03", plc_facts())),
            Op::PutDevice(device(2, "10.0.0.20", "00:0c:29:aa:bb:cc", json!({}))),
            Op::PutDevice(device(3, "10.0.0.30", "00:0c:29:aa:bb:dd", json!({}))),
        ])
        .unwrap();
    let now = otwatch_api::now();
    let ago = |mins: i64| now.add_nanos(-mins * 60 * 1_000_000_000);
    h.sensor.set_connections(json!([
        {"first_device_id": 2, "second_device_id": 1, "first_seen": ago(600).to_rfc3339(),
         "last_seen": ago(1).to_rfc3339(), "ports": [502],
         "protocols": [{"name": "modbus", "commands": ["Read Holding Registers", "Write Single Register"]}]},
        {"first_device_id": 3, "second_device_id": 2, "first_seen": ago(30).to_rfc3339(),
         "last_seen": ago(20).to_rfc3339(), "ports": [102, 80],
         "protocols": ["s7comm", "http"]}
    ]));
    // Our API: the sensor's list as is.
    let raw = h.ok("/api/connections").await;
    assert_eq!(raw.as_array().unwrap().len(), 2);
    let all = h.ok("/api/v1/devices/connections").await;
    assert_eq!(
        all[0],
        json!({
            "firstDeviceId": 2,
            "secondDeviceId": 1,
            "lastSeen": ago(1).0 / 1_000_000,
            "discovered": ago(600).0 / 1_000_000,
            "ports": [502],
            "protocols": [{"name": "MODBUS", "commands": ["Read Holding Registers", "Write Single Register"]}]
        })
    );
    assert_eq!(
        all[1]["protocols"],
        json!([{"name": "HTTP", "commands": []}, {"name": "Siemens S7", "commands": []}])
    );
    assert_eq!(all[1]["ports"], json!([80, 102]));
    let firsts = |v: Value| -> Vec<u64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|c| c["firstDeviceId"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(firsts(h.ok("/api/v1/devices/1/connections").await), vec![2]);
    assert_eq!(
        firsts(h.ok("/api/v1/devices/2/connections").await),
        vec![2, 3]
    );
    assert_eq!(
        firsts(
            h.ok("/api/v1/devices/connections?lastActiveInMinutes=10")
                .await
        ),
        vec![2]
    );
    let cut = ago(60).0 / 1_000_000;
    assert_eq!(
        firsts(
            h.ok(&format!(
                "/api/v1/devices/connections?discoveredAfter={cut}"
            ))
            .await
        ),
        vec![3]
    );
    assert_eq!(
        firsts(
            h.ok(&format!(
                "/api/v1/devices/2/connections?discoveredBefore={cut}"
            ))
            .await
        ),
        vec![2]
    );
    let nf = h
        .get(Role::Readonly, "/api/v1/devices/99/connections")
        .await;
    assert_eq!(nf.status, StatusCode::NOT_FOUND, "{}", nf.text());
    for (q, field) in [
        (
            "/api/v1/devices/connections?discoveredBefore=x",
            "discoveredBefore",
        ),
        (
            "/api/v1/devices/connections?discoveredAfter=-",
            "discoveredAfter",
        ),
        (
            "/api/v1/devices/connections?lastActiveInMinutes=-3",
            "lastActiveInMinutes",
        ),
        ("/api/v1/devices/abc/connections", "id"),
    ] {
        h.get(Role::Readonly, q).await.assert_bad(field);
    }
}

#[tokio::test]
async fn pcap_download_or_the_reference_error() {
    let h = Harness::new();
    let a = known_alert(7, "modbus_function_code", T_MS);
    put(&h, &a);
    let b = known_alert(8, "port_scan", T_MS);
    put(&h, &b);
    // A minimal capture file (global header only) as the sensor writes it.
    let mut bytes = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
    bytes.extend_from_slice(&[0; 8]);
    bytes.extend_from_slice(&65535u32.to_le_bytes());
    bytes.extend_from_slice(&1u32.to_le_bytes());
    let path = h.dir.path().join("alert-7.pcap");
    std::fs::write(&path, &bytes).unwrap();
    let gone = h.dir.path().join("alert-8.pcap");
    h.store
        .apply(&[
            Op::Pcap(PcapRecord {
                alert_id: a.id.clone(),
                path: path.display().to_string(),
                bytes: bytes.len() as u64,
                packets: 0,
                created: ts_ms(T_MS),
            }),
            // Recorded, but the file is no longer on disk.
            Op::Pcap(PcapRecord {
                alert_id: b.id.clone(),
                path: gone.display().to_string(),
                bytes: 24,
                packets: 0,
                created: ts_ms(T_MS),
            }),
        ])
        .unwrap();
    let ok = h.get(Role::Analyst, "/api/v2/alerts/pcap/7").await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(
        ok.headers[header::CONTENT_TYPE],
        "application/vnd.tcpdump.pcap"
    );
    assert_eq!(ok.body, bytes);
    for id in ["8", "9", "123456789"] {
        let na = h
            .get(Role::Analyst, &format!("/api/v2/alerts/pcap/{id}"))
            .await;
        assert_eq!(na.status, StatusCode::NOT_FOUND);
        assert_eq!(na.json(), json!({"error": "PCAP file is not available"}));
    }
    h.get(Role::Analyst, "/api/v2/alerts/pcap/sensor-1-7")
        .await
        .assert_bad("id");
    let ro = h.get(Role::Readonly, "/api/v2/alerts/pcap/7").await;
    assert_eq!(ro.status, StatusCode::FORBIDDEN);
}

/// The reference's answer is one array: the endpoint reads every store page.
#[tokio::test]
async fn alerts_v1_reads_across_store_pages() {
    let h = Harness::with_config(otwatch_api::ApiConfig {
        max_page: 2,
        default_page: 2,
        ..otwatch_api::ApiConfig::default()
    });
    for i in 0..7u64 {
        put(
            &h,
            &known_alert(100 + i, "port_scan", T_MS + 1000 * i as i64),
        );
    }
    let ids = |v: Value| -> Vec<u64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(
        ids(h.ok("/api/v1/alerts").await),
        (100..107).collect::<Vec<_>>()
    );
    let q = format!(
        "/api/v2/alerts?fromTime={}&toTime={}",
        T_MS + 2000,
        T_MS + 5000
    );
    assert_eq!(ids(h.ok(&q).await), vec![102, 103, 104]);
}
