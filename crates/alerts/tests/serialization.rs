//! The alert's JSON form (NDJSON records, API).

use otwatch_alerts::{Alert, Catalog, DeviceRef, Status};
use otwatch_core::{MacAddr, Timestamp};

fn alert() -> Alert {
    let t = Catalog::builtin().get("modbus_function_code").unwrap();
    let mut a = Alert::new(
        "sensor-a",
        42,
        t,
        Timestamp(1_700_000_000_123_456_000),
        "10.1.1.5 wrote registers 100-109 of 10.1.1.20 with function 16".into(),
        Some("modbus".into()),
        DeviceRef {
            id: Some(3),
            ip: Some("10.1.1.5".parse().unwrap()),
            mac: Some(MacAddr([0, 0x0c, 0x29, 1, 2, 3])),
            name: Some("hmi-1".into()),
        },
        DeviceRef {
            id: Some(9),
            ip: Some("10.1.1.20".parse().unwrap()),
            mac: Some(MacAddr([0, 0x80, 0xf4, 4, 5, 6])),
            name: None,
        },
    );
    a.record_violation(
        Timestamp(1_700_000_060_000_000_000),
        "function 5 on coil 7".into(),
    );
    a.set_status(Status::Active, Timestamp(1_700_000_070_000_000_000));
    a
}

#[test]
fn ndjson_fields_are_present() {
    let v = serde_json::to_value(alert()).unwrap();
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
        assert!(v.get(f).is_some(), "missing {f} in {v}");
    }
    assert_eq!(v["id"], "sensor-a-42");
    assert_eq!(v["numeric_id"], 42);
    assert_eq!(v["type"], "modbus_function_code");
    assert_eq!(v["title"], "Unpermitted Usage of Modbus Function Code");
    assert_eq!(v["severity"], "Medium");
    assert_eq!(v["sensor_severity"], "Major");
    assert_eq!(v["engine"], "policy_violation");
    assert_eq!(v["category"], "Unauthorized Communication Behavior");
    assert_eq!(v["protocol"], "modbus");
    assert_eq!(v["src_ip"], "10.1.1.5");
    assert_eq!(v["dst_ip"], "10.1.1.20");
    assert_eq!(v["src_mac"], "00:0c:29:01:02:03");
    assert_eq!(v["dst_mac"], "00:80:f4:04:05:06");
    assert_eq!(v["src_name"], "hmi-1");
    assert!(v["dst_name"].is_null());
    assert_eq!(v["src_device_id"], 3);
    assert_eq!(v["first_detection"], "2023-11-14T22:13:20.123456000Z");
    assert_eq!(v["last_detection"], "2023-11-14T22:14:20.000000000Z");
    assert_eq!(v["last_activity"], "2023-11-14T22:14:30.000000000Z");
    assert_eq!(v["mitre_techniques"], serde_json::json!(["T0836"]));
    assert_eq!(
        v["mitre_tactics"],
        serde_json::json!(["Impair Process Control"])
    );
    assert_eq!(v["status"], "Active");
    assert_eq!(v["violation_count"], 2);
    assert_eq!(v["violations"][1]["message"], "function 5 on coil 7");
    assert_eq!(v["violations"][1]["ts"], "2023-11-14T22:14:20.000000000Z");
    assert_eq!(v["pcap_available"], false);
    assert!(v["pcap"].is_null());
    assert_eq!(v["learned"], false);
    assert_eq!(v["muted"], false);
    assert_eq!(v["revision"], 3);
    assert!(v["remediation"].as_array().is_some_and(|r| !r.is_empty()));
}

#[test]
fn one_line_per_alert() {
    let line = serde_json::to_string(&alert()).unwrap();
    assert!(!line.contains('\n'));
}
