//! Devices (`/api/devices`), the timeline (`/api/timeline`, CSV) and the
//! baseline download, against the real SQLite store through the whole
//! router; and a sweep of bad inputs over every data endpoint (4xx JSON,
//! never 500).

#[path = "common/data.rs"]
mod data;

use axum::http::{StatusCode, header};
use data::{Harness, detection};
use otwatch_api::DeviceAction;
use otwatch_core::Timestamp;
use otwatch_store::{DeviceRecord, EventRecord, Op, Role, Store};
use serde_json::{Value, json};

fn device(id: u64, kind: &str, authorized: Option<bool>) -> Op {
    let mut facts = json!({"class": {"device_type": kind}, "mac_vendor": "Acme"});
    if let Some(a) = authorized {
        facts["authorized"] = json!(a);
    }
    Op::PutDevice(DeviceRecord {
        id,
        ip: Some(format!("10.0.0.{id}").parse().unwrap()),
        mac: Some(format!("00:11:22:33:44:{id:02x}")),
        first_seen: Timestamp::from_secs(1_700_000_000 + id as i64),
        last_seen: Timestamp::from_secs(1_700_000_100),
        facts,
    })
}

fn ids(v: &Value) -> Vec<u64> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_u64().unwrap())
        .collect()
}

#[tokio::test]
async fn devices_list_edit_merge_delete() {
    let h = Harness::new();
    h.store
        .apply(&[
            device(1, "PLC", Some(true)),
            device(2, "HMI", Some(false)),
            device(3, "PLC", None),
            device(4, "Gizmo", None),
            device(5, "Engineering Station", Some(true)),
        ])
        .unwrap();
    let all = h.ok("/api/devices").await;
    assert_eq!(all["total"], 5);
    assert_eq!(ids(&all), vec![1, 2, 3, 4, 5]);
    let d = &all["items"][3];
    for f in [
        "id",
        "ip",
        "mac",
        "name",
        "type",
        "authorized",
        "programming_device",
        "scanner",
        "important",
        "vendor",
        "os",
        "first_seen",
        "last_seen",
        "facts",
        "edits",
    ] {
        assert!(d.get(f).is_some(), "{f} missing in {d}");
    }
    assert_eq!(d["type"], "Unknown");
    assert_eq!(d["name"], "10.0.0.4");
    assert_eq!(ids(&h.ok("/api/devices?authorized=true").await), vec![1, 5]);
    assert_eq!(ids(&h.ok("/api/devices?type=plc").await), vec![1, 3]);
    assert_eq!(ids(&h.ok("/api/devices?text=10.0.0.2").await), vec![2]);
    // Pages.
    let p1 = h.ok("/api/devices?limit=2").await;
    assert_eq!(ids(&p1), vec![1, 2]);
    let c = p1["next_cursor"].as_str().unwrap();
    let p2 = h.ok(&format!("/api/devices?limit=2&cursor={c}")).await;
    assert_eq!(ids(&p2), vec![3, 4]);
    // Edit: stored and handed to the sensor.
    let e = h
        .call(
            Some(Role::Analyst),
            "PATCH",
            "/api/devices/3",
            Some(
                json!({"name": "Boiler PLC", "type": "rtu", "authorized": true,
                        "programming_device": false, "scanner": true, "important": true}),
            ),
        )
        .await;
    assert_eq!(e.status, StatusCode::OK, "{}", e.text());
    let v = e.json();
    assert_eq!(
        (v["name"].as_str(), v["type"].as_str()),
        (Some("Boiler PLC"), Some("RTU"))
    );
    assert_eq!(
        (
            v["authorized"].as_bool(),
            v["scanner"].as_bool(),
            v["important"].as_bool()
        ),
        (Some(true), Some(true), Some(true))
    );
    assert_eq!(h.ok("/api/devices/3").await, v);
    let acts = h.sensor.device_actions();
    assert!(matches!(&acts[0], (3, DeviceAction::Edit { edits }, actor)
        if edits.scanner == Some(true) && actor == "token:test-analyst"));
    // A later partial edit keeps the others.
    let e = h
        .call(
            Some(Role::Analyst),
            "PATCH",
            "/api/devices/3",
            Some(json!({"important": false})),
        )
        .await
        .json();
    assert_eq!(
        (e["name"].as_str(), e["important"].as_bool()),
        (Some("Boiler PLC"), Some(false))
    );
    // Bad edits name the field; nothing reaches the sensor.
    for (body, field) in [
        (json!({"type": "Toaster"}), "type"),
        (json!({"name": ""}), "name"),
        (json!({"name": "x".repeat(129)}), "name"),
        (json!({"authorized": "yes"}), "authorized"),
        (json!({"colour": "red"}), "colour"),
        (json!({}), "body"),
    ] {
        h.call(Some(Role::Analyst), "PATCH", "/api/devices/2", Some(body))
            .await
            .assert_bad(field);
    }
    assert_eq!(h.sensor.device_actions().len(), 2);
    let nf = h
        .call(
            Some(Role::Analyst),
            "PATCH",
            "/api/devices/99",
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(nf.status, StatusCode::NOT_FOUND);
    // Merge and delete are admin's.
    let merge_body = json!({"from": [2, 4]});
    let an = h
        .call(
            Some(Role::Analyst),
            "POST",
            "/api/devices/1/merge",
            Some(merge_body.clone()),
        )
        .await;
    assert_eq!(an.status, StatusCode::FORBIDDEN);
    for (body, field) in [
        (json!({"from": []}), "from"),
        (json!({"from": [1]}), "from[0]"),
        (json!({"from": ["two"]}), "from[0]"),
        (json!({}), "from"),
    ] {
        h.call(
            Some(Role::Admin),
            "POST",
            "/api/devices/1/merge",
            Some(body),
        )
        .await
        .assert_bad(field);
    }
    let nf = h
        .call(
            Some(Role::Admin),
            "POST",
            "/api/devices/1/merge",
            Some(json!({"from": [2, 77]})),
        )
        .await;
    assert_eq!(nf.status, StatusCode::NOT_FOUND, "{}", nf.text());
    assert!(nf.text().contains("77"));
    let m = h
        .call(
            Some(Role::Admin),
            "POST",
            "/api/devices/1/merge",
            Some(merge_body),
        )
        .await;
    assert_eq!(m.status, StatusCode::OK, "{}", m.text());
    assert_eq!(m.json(), json!({"id": 1, "merged": [2, 4]}));
    assert_eq!(ids(&h.ok("/api/devices").await), vec![1, 3, 5]);
    let del = h
        .call(Some(Role::Analyst), "DELETE", "/api/devices/5", None)
        .await;
    assert_eq!(del.status, StatusCode::FORBIDDEN);
    let del = h
        .call(Some(Role::Admin), "DELETE", "/api/devices/5", None)
        .await;
    assert_eq!(del.status, StatusCode::NO_CONTENT, "{}", del.text());
    assert_eq!(
        h.get(Role::Admin, "/api/devices/5").await.status,
        StatusCode::NOT_FOUND
    );
    let again = h
        .call(Some(Role::Admin), "DELETE", "/api/devices/5", None)
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    h.get(Role::Readonly, "/api/devices/five")
        .await
        .assert_bad("id");
}

fn event(ts: i64, severity: &str, kind: &str, ip: &str, content: &str) -> EventRecord {
    EventRecord {
        id: 0,
        ts: Timestamp::from_secs(ts),
        severity: severity.into(),
        kind: kind.into(),
        title: otwatch_alerts::timeline::title_of(kind)
            .unwrap_or(kind)
            .into(),
        device_ip: Some(ip.parse().unwrap()),
        device_mac: None,
        peer_ip: None,
        owner: None,
        alert_id: None,
        content: content.into(),
    }
}

#[tokio::test]
async fn timeline_filters_pages_and_manual_events() {
    let h = Harness::new();
    let mut ops = Vec::new();
    for i in 0..40i64 {
        let (sev, kind) = match i % 4 {
            0 => ("ALERT", "ALERT_REPORTED"),
            1 => ("NOTICE", "PROGRAM_DEVICE"),
            2 => ("INFO", "DEVICE_CREATE"),
            _ => ("INFO", "SCAN"),
        };
        ops.push(Op::Event(event(
            1_700_000_000 + i,
            sev,
            kind,
            &format!("10.0.0.{}", i % 5),
            &format!("event {i}"),
        )));
    }
    h.store.apply(&ops).unwrap();
    let all = h.ok("/api/timeline?limit=1000").await;
    assert_eq!(all["total"], 40);
    assert_eq!(all["total_exact"], true);
    let bounded = h.ok("/api/timeline?limit=5&count=12").await;
    assert_eq!(
        (bounded["total"].as_u64(), bounded["total_exact"].as_bool()),
        (Some(12), Some(false))
    );
    let exact = h.ok("/api/timeline?limit=5&count=exact").await;
    assert_eq!(
        (exact["total"].as_u64(), exact["total_exact"].as_bool()),
        (Some(40), Some(true))
    );
    let full: Vec<String> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["content"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(full[0], "event 39");
    // Walk with a cursor.
    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut u = "/api/timeline?limit=6".to_string();
        if let Some(c) = &cursor {
            u.push_str(&format!("&cursor={c}"));
        }
        let p = h.ok(&u).await;
        walked.extend(
            p["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["content"].as_str().unwrap().to_string()),
        );
        match p["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(walked, full);
    let total = |v: Value| v["total"].as_u64().unwrap();
    assert_eq!(total(h.ok("/api/timeline?severity=ALERT").await), 10);
    assert_eq!(total(h.ok("/api/timeline?severity=alert,notice").await), 20);
    assert_eq!(
        total(h.ok("/api/timeline?type=SCAN&type=PROGRAM_DEVICE").await),
        20
    );
    assert_eq!(total(h.ok("/api/timeline?device=10.0.0.3").await), 8);
    assert_eq!(total(h.ok("/api/timeline?keyword=EVENT%2017").await), 1);
    let from = (1_700_000_000i64 + 30) * 1000;
    assert_eq!(total(h.ok(&format!("/api/timeline?from={from}")).await), 10);
    for (q, field) in [
        ("severity=LOUD", "severity"),
        ("from=soon", "from"),
        ("from=2000&to=1000", "to"),
        ("cursor=nope", "cursor"),
        ("limit=-1", "limit"),
    ] {
        h.get(Role::Analyst, &format!("/api/timeline?{q}"))
            .await
            .assert_bad(field);
    }
    // Manual events: owner is the caller; validated.
    let add = h
        .call(
            Some(Role::Analyst),
            "POST",
            "/api/timeline",
            Some(
                json!({"severity": "ALERT", "timestamp": "2023-11-14T22:14:00Z",
                        "device": "10.0.0.3", "description": "door forced"}),
            ),
        )
        .await;
    assert_eq!(add.status, StatusCode::CREATED, "{}", add.text());
    let e = add.json();
    assert!(e["id"].as_u64().unwrap() > 0);
    assert_eq!(e["owner"], "token:test-analyst");
    assert_eq!(e["type"], "CUSTOM_EVENT");
    let found = h.ok("/api/timeline?type=CUSTOM_EVENT").await;
    assert_eq!(found["items"][0]["content"], "door forced");
    assert_eq!(found["items"][0]["ts"], "2023-11-14T22:14:00.000000000Z");
    for (body, field) in [
        (json!({"description": ""}), "description"),
        (json!({"description": "x", "severity": "LOUD"}), "severity"),
        (
            json!({"description": "x", "timestamp": "noon"}),
            "timestamp",
        ),
        (json!({"description": "x", "timestamp": true}), "timestamp"),
        (json!({"description": "x", "device": "the plc"}), "device"),
        (json!({"description": "x", "owner": "mallory"}), "owner"),
    ] {
        h.call(Some(Role::Analyst), "POST", "/api/timeline", Some(body))
            .await
            .assert_bad(field);
    }
    // Read-only users do not see the timeline (§9.1).
    let ro = h.get(Role::Readonly, "/api/timeline").await;
    assert_eq!(ro.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn timeline_csv_is_rfc4180_and_formula_safe() {
    let h = Harness::new();
    h.store
        .apply(&[
            Op::Event(event(
                1_700_000_000,
                "INFO",
                "DEVICE_CREATE",
                "10.0.0.1",
                "plain",
            )),
            Op::Event(event(
                1_700_000_001,
                "NOTICE",
                "PROGRAM_DEVICE",
                "10.0.0.2",
                "=HYPERLINK(\"http://x\",\"click\")",
            )),
            Op::Event(event(
                1_700_000_002,
                "ALERT",
                "SCAN",
                "10.0.0.3",
                "two\nlines, \"quoted\"",
            )),
            Op::Event(event(
                1_700_000_003,
                "INFO",
                "SCAN",
                "10.0.0.4",
                "@cmd|' /c calc'!A0",
            )),
        ])
        .unwrap();
    let a = h.get(Role::Analyst, "/api/timeline.csv").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert_eq!(a.headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    assert!(
        a.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("timeline.csv")
    );
    let text = a.text();
    let rows = parse_csv(&text);
    assert_eq!(
        rows[0],
        "id,timestamp,severity,type,title,device_ip,device_mac,peer_ip,owner,alert_id,content"
            .split(',')
            .collect::<Vec<_>>()
    );
    assert_eq!(rows.len(), 5);
    // Newest first, like the list.
    assert_eq!(rows[1][10], "'@cmd|' /c calc'!A0");
    assert_eq!(rows[2][10], "two\nlines, \"quoted\"");
    assert_eq!(rows[3][10], "'=HYPERLINK(\"http://x\",\"click\")");
    assert_eq!(rows[4][10], "plain");
    assert_eq!(rows[4][2], "INFO");
    assert_eq!(rows[4][5], "10.0.0.1");
    for r in &rows {
        assert_eq!(r.len(), 11);
    }
    assert!(text.ends_with("\r\n"));
    // Same filters as the list.
    let only = parse_csv(
        &h.get(Role::Analyst, "/api/timeline.csv?type=SCAN")
            .await
            .text(),
    );
    assert_eq!(only.len(), 3);
    h.get(Role::Analyst, "/api/timeline.csv?severity=LOUD")
        .await
        .assert_bad("severity");
}

/// A strict RFC 4180 reader (quoted fields, doubled quotes, CRLF rows).
fn parse_csv(s: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut chars = s.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    cell.push('"');
                }
                '"' => quoted = false,
                c => cell.push(c),
            }
            continue;
        }
        match c {
            '"' => {
                assert!(cell.is_empty(), "quote inside an unquoted cell");
                quoted = true;
            }
            ',' => row.push(std::mem::take(&mut cell)),
            '\r' => {
                assert_eq!(chars.next(), Some('\n'), "bare CR");
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            '\n' => panic!("bare LF outside quotes"),
            c => cell.push(c),
        }
    }
    assert!(
        !quoted && cell.is_empty() && row.is_empty(),
        "unterminated row"
    );
    rows
}

#[tokio::test]
async fn baseline_download() {
    let h = Harness::new();
    let a = h.get(Role::Analyst, "/api/baseline").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(a.json(), json!({"devices": []}));
    assert_eq!(
        h.get(Role::Readonly, "/api/baseline").await.status,
        StatusCode::FORBIDDEN
    );
}

/// Bad inputs on every data endpoint: a 4xx with the JSON error shape,
/// never a 500.
#[tokio::test]
async fn bad_inputs_never_500() {
    let h = Harness::new();
    h.sensor.ingest(detection(
        "port_scan",
        1_700_000_000,
        "10.0.0.1",
        "10.0.0.2",
    ));
    h.store.apply(&[device(1, "PLC", None)]).unwrap();
    let long = "9".repeat(400);
    let cases: Vec<(&str, String, Option<Value>)> = vec![
        ("GET", "/api/alerts?limit=1e3".into(), None),
        ("GET", format!("/api/alerts?from={long}"), None),
        ("GET", "/api/alerts?cursor=%FF%FE".into(), None),
        ("GET", "/api/alerts?cursor=ld.1.2.3.4.5".into(), None),
        ("GET", "/api/alerts/%00".into(), None),
        (
            "PATCH",
            "/api/alerts/sensor-1-1".into(),
            Some(json!("close")),
        ),
        (
            "PATCH",
            "/api/alerts/sensor-1-1".into(),
            Some(json!({"status": null, "learn": 3})),
        ),
        (
            "POST",
            "/api/alerts/bulk".into(),
            Some(json!({"ids": "all"})),
        ),
        ("GET", "/api/devices?limit=abc".into(), None),
        ("GET", "/api/devices?cursor=-1".into(), None),
        ("GET", format!("/api/devices/{long}"), None),
        ("GET", "/api/devices?type=Toaster".into(), None),
        (
            "PATCH",
            "/api/devices/1".into(),
            Some(json!({"name": "a\u{0}b"})),
        ),
        (
            "POST",
            "/api/devices/1/merge".into(),
            Some(json!({"from": [-1]})),
        ),
        ("DELETE", "/api/devices/-1".into(), None),
        ("GET", "/api/timeline?to=%20tomorrow".into(), None),
        ("GET", format!("/api/timeline?from={long}"), None),
        (
            "POST",
            "/api/timeline".into(),
            Some(json!({"description": 5})),
        ),
        (
            "POST",
            "/api/timeline".into(),
            Some(json!({"description": "x", "timestamp": -99999999999999999i64})),
        ),
        ("GET", "/api/v1/alerts?fromTime=-".into(), None),
        ("GET", format!("/api/v2/alerts?toTime={long}"), None),
        (
            "GET",
            format!("/api/v1/events?minutesTimeFrame={long}"),
            None,
        ),
        ("GET", "/api/v1/devices?authorized=2".into(), None),
        (
            "GET",
            format!("/api/v1/devices/connections?lastActiveInMinutes={long}"),
            None,
        ),
        (
            "GET",
            "/api/v1/devices/connections?lastActiveInMinutes=18446744073709551615".into(),
            None,
        ),
        ("GET", "/api/v1/devices/x/connections".into(), None),
        ("GET", "/api/v2/alerts/pcap/-1".into(), None),
        ("GET", format!("/api/v2/alerts/pcap/{long}"), None),
    ];
    for (method, uri, body) in cases {
        let a = h.call(Some(Role::Admin), method, &uri, body).await;
        assert!(
            a.status.is_client_error(),
            "{method} {uri}: {} {}",
            a.status,
            a.text()
        );
        assert!(
            a.json()["error"].is_object() || a.json()["error"].is_string(),
            "{method} {uri}: {}",
            a.text()
        );
    }
    // A body that is not JSON, or not declared as JSON.
    let req = axum::http::Request::builder()
        .method("PATCH")
        .uri("/api/alerts/sensor-1-1")
        .header(header::AUTHORIZATION, "x")
        .body(axum::body::Body::from("status=Closed"))
        .unwrap();
    let resp = tower::ServiceExt::oneshot(h.app.clone(), req)
        .await
        .unwrap();
    assert!(resp.status().is_client_error());
}
