//! Our own alert API (`/api/alerts`) against the real SQLite store and a real
//! alert manager, through the whole router (authorization layer included).

#[path = "common/data.rs"]
mod data;

use std::collections::BTreeSet;

use axum::http::StatusCode;
use data::{Harness, detection};
use otwatch_store::Role;
use serde_json::{Value, json};

const T0: i64 = 1_700_000_000;

/// 30 alerts: 12 Modbus policy alerts, 10 scans, 5 new assets, 3 unresponsive
/// devices, one second apart, from distinct sources.
fn fill(h: &Harness) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..30i64 {
        let (t, src, dst) = match i {
            0..12 => ("modbus_function_code", format!("10.0.1.{i}"), "10.0.0.9"),
            12..22 => ("port_scan", format!("10.0.2.{i}"), "10.0.0.8"),
            22..27 => ("new_asset_detected", format!("10.0.3.{i}"), "10.0.0.7"),
            _ => ("device_unresponsive", "10.0.0.1".to_string(), "10.0.4.1"),
        };
        let dst = if t == "device_unresponsive" {
            format!("10.0.4.{i}")
        } else {
            dst.to_string()
        };
        let mut d =
            detection(t, T0 + i, &src, &dst).message(format!("alert number {i} from {src}"));
        if t == "modbus_function_code" {
            d = d.protocol("modbus").key("function_code", 8).info("unit", 1);
        }
        ids.push(h.sensor.ingest(d));
    }
    ids
}

fn ids_of(v: &Value) -> Vec<String> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect()
}

/// Walks every page of `uri` (which has no cursor yet) with `limit`.
async fn walk(h: &Harness, uri: &str, limit: usize) -> Vec<String> {
    let sep = if uri.contains('?') { '&' } else { '?' };
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..1000 {
        let mut u = format!("{uri}{sep}limit={limit}");
        if let Some(c) = &cursor {
            u.push_str(&format!("&cursor={}", urlencode(c)));
        }
        let page = h.ok(&u).await;
        assert!(page["items"].as_array().unwrap().len() <= limit);
        out.extend(ids_of(&page));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
    panic!("pagination of {uri} does not end");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn every_documented_field_is_there() {
    let h = Harness::new();
    let ids = fill(&h);
    let a = h.ok(&format!("/api/alerts/{}", ids[0])).await;
    for f in [
        "id",
        "numeric_id",
        "sensor_id",
        "type",
        "title",
        "message",
        "severity",
        "sensor_severity",
        "engine",
        "category",
        "protocol",
        "src_device_id",
        "src_ip",
        "src_mac",
        "src_name",
        "dst_device_id",
        "dst_ip",
        "dst_mac",
        "dst_name",
        "first_detection",
        "last_detection",
        "last_activity",
        "violations",
        "violation_count",
        "mitre_tactics",
        "mitre_techniques",
        "remediation",
        "additional_info",
        "pcap",
        "pcap_available",
        "status",
        "learned",
        "muted",
        "comments",
        "revision",
    ] {
        assert!(a.get(f).is_some(), "field {f} missing in {a}");
    }
    assert_eq!(a["id"], ids[0].as_str());
    assert_eq!(a["type"], "modbus_function_code");
    assert_eq!(a["status"], "New");
    assert_eq!(a["src_ip"], "10.0.1.0");
    assert_eq!(a["protocol"], "modbus");
    assert_eq!(a["first_detection"], "2023-11-14T22:13:20.000000000Z");
    // The numeric (sensor) id finds the same alert.
    let n = a["numeric_id"].as_u64().unwrap();
    assert_eq!(
        h.ok(&format!("/api/alerts/{n}")).await["id"],
        ids[0].as_str()
    );
    let missing = h.get(Role::Readonly, "/api/alerts/sensor-1-999").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.json()["error"]["message"].is_string());
}

#[tokio::test]
async fn pages_walk_the_whole_list() {
    let h = Harness::new();
    let ids = fill(&h);
    let full = h.ok("/api/alerts?limit=1000").await;
    assert_eq!(full["total"], 30);
    assert_eq!(full["total_exact"], true);
    assert!(full["next_cursor"].is_null());
    // How far `total` is counted: the same page whatever `count` says.
    let first = h.ok("/api/alerts?limit=10").await;
    for (q, total, exact) in [
        ("count=exact", 30, true),
        ("count=5", 5, false),
        ("count=30", 30, true),
        ("count=none", 11, false),
        ("count=none&type=device_unresponsive", 3, true),
    ] {
        let p = h.ok(&format!("/api/alerts?limit=10&{q}")).await;
        assert_eq!(
            (p["total"].as_u64(), p["total_exact"].as_bool()),
            (Some(total), Some(exact)),
            "{q}"
        );
        if !q.contains("type") {
            assert_eq!(p["items"], first["items"], "{q}");
        }
    }
    for bad in ["count=0", "count=some", "count=-1"] {
        let r = h.get(Role::Readonly, &format!("/api/alerts?{bad}")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(r.json()["error"]["field"], "count", "{bad}");
    }
    let all = ids_of(&full);
    assert_eq!(all.len(), 30);
    // Default sort: newest last detection first.
    let mut expected = ids.clone();
    expected.reverse();
    assert_eq!(all, expected);
    for limit in [1, 7, 30] {
        assert_eq!(walk(&h, "/api/alerts", limit).await, all, "limit {limit}");
    }
    // Filtered walks equal the filtered full list.
    let scans = ids_of(&h.ok("/api/alerts?type=port_scan&limit=1000").await);
    assert_eq!(scans.len(), 10);
    assert_eq!(walk(&h, "/api/alerts?type=port_scan", 3).await, scans);
    // The other sort orders.
    let asc = ids_of(&h.ok("/api/alerts?sort=id_asc&limit=1000").await);
    assert_eq!(asc, ids);
    assert_eq!(
        walk(&h, "/api/alerts?sort=last_detection_asc", 4).await,
        ids
    );
    let sev = h.ok("/api/alerts?sort=severity_desc&limit=1000").await;
    let ranks: Vec<u8> = sev["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| match a["severity"].as_str().unwrap() {
            "High" => 0,
            "Medium" => 1,
            _ => 2,
        })
        .collect();
    assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{ranks:?}");
    // The page size is clamped to the configured maximum.
    let clamped = h.ok("/api/alerts?limit=100000").await;
    assert_eq!(clamped["items"].as_array().unwrap().len(), 30);
}

#[tokio::test]
async fn filters_select_what_they_say() {
    let h = Harness::new();
    let ids = fill(&h);
    let count = |v: Value| v["total"].as_u64().unwrap();
    assert_eq!(count(h.ok("/api/alerts?engine=anomaly").await), 10);
    assert_eq!(
        count(h.ok("/api/alerts?engine=Policy%20Violation").await),
        17
    );
    assert_eq!(
        count(h.ok("/api/alerts?engine=operational,anomaly").await),
        13
    );
    assert_eq!(count(h.ok("/api/alerts?severity=High").await), 10);
    assert_eq!(count(h.ok("/api/alerts?protocol=modbus").await), 12);
    assert_eq!(
        count(
            h.ok("/api/alerts?type=new_asset_detected&type=device_unresponsive")
                .await
        ),
        8
    );
    assert_eq!(count(h.ok("/api/alerts?device=10.0.2.15").await), 1);
    assert_eq!(count(h.ok("/api/alerts?text=ALERT%20NUMBER%2029").await), 1);
    // Time range (RFC 3339 and epoch milliseconds).
    let from = (T0 + 25) * 1000;
    assert_eq!(count(h.ok(&format!("/api/alerts?from={from}")).await), 5);
    assert_eq!(
        count(
            h.ok("/api/alerts?from=2023-11-14T22:13:20Z&to=2023-11-14T22:13:24Z")
                .await
        ),
        5
    );
    // Status after closing two.
    for id in &ids[..2] {
        let a = h
            .call(
                Some(Role::Analyst),
                "PATCH",
                &format!("/api/alerts/{id}"),
                Some(json!({"status": "Closed"})),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    }
    assert_eq!(count(h.ok("/api/alerts?status=Closed").await), 2);
    assert_eq!(count(h.ok("/api/alerts?status=new,active").await), 28);
    // Bad values: 400 naming the parameter.
    for (q, field) in [
        ("status=open", "status"),
        ("severity=Huge", "severity"),
        ("engine=magic", "engine"),
        ("from=last%20week", "from"),
        ("to=2023-13-01T00:00:00Z", "to"),
        ("sort=random", "sort"),
        ("limit=ten", "limit"),
    ] {
        h.get(Role::Readonly, &format!("/api/alerts?{q}"))
            .await
            .assert_bad(field);
    }
    h.get(Role::Readonly, "/api/alerts?cursor=garbage")
        .await
        .assert_bad("cursor");
}

#[tokio::test]
async fn triage_follows_the_lifecycle_and_lands_on_the_timeline() {
    let h = Harness::new();
    let ids = fill(&h);
    let scan = &ids[12];
    let patch = |id: &str, body: Value| {
        let uri = format!("/api/alerts/{id}");
        let h = &h;
        async move { h.call(Some(Role::Analyst), "PATCH", &uri, Some(body)).await }
    };
    // Severity and comment together.
    let a = patch(
        scan,
        json!({"severity": "Warning", "comment": "seen before"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let v = a.json();
    assert_eq!(v["sensor_severity"], "Warning");
    assert_eq!(v["comments"][0]["text"], "seen before");
    assert_eq!(v["comments"][0]["user"], "token:test-analyst");
    // Learn closes it.
    let v = patch(scan, json!({"learn": true})).await.json();
    assert_eq!(
        (v["learned"].as_bool(), v["status"].as_str()),
        (Some(true), Some("Closed"))
    );
    // Reopening a learned alert is refused (409), and nothing changes.
    let refused = patch(scan, json!({"status": "New"})).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text());
    // Unlearn reopens it; the same request may close it again.
    let v = patch(scan, json!({"learn": false, "status": "Closed"}))
        .await
        .json();
    assert_eq!(
        (v["learned"].as_bool(), v["status"].as_str()),
        (Some(false), Some("Closed"))
    );
    // Mute and unmute.
    let v = patch(scan, json!({"mute": true})).await.json();
    assert_eq!(v["muted"], true);
    let v = patch(scan, json!({"mute": false})).await.json();
    assert_eq!(v["muted"], false);
    // Not mutable: refused with 409 naming why.
    let r = patch(&ids[0], json!({"mute": true})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    // The store has the final state.
    let stored = h.ok(&format!("/api/alerts/{scan}")).await;
    assert_eq!(stored["status"], "Closed");
    assert_eq!(stored["sensor_severity"], "Warning");
    // The timeline recorded the actions, with the actor as owner.
    let tl = h.ok("/api/timeline?limit=1000").await;
    let mine: Vec<&Value> = tl["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["alert_id"] == scan.as_str() && e["owner"] == "token:test-analyst")
        .collect();
    let kinds: BTreeSet<&str> = mine.iter().map(|e| e["type"].as_str().unwrap()).collect();
    for k in [
        "ALERT_UPDATED",
        "ALERT_LEARNED",
        "ALERT_UNLEARNED",
        "ALERT_CLOSED",
        "ALERT_MUTED",
        "ALERT_UNMUTED",
    ] {
        assert!(kinds.contains(k), "{k} missing from {kinds:?}");
    }
    // Invalid bodies: every field is checked before anything is applied.
    let before = h.ok(&format!("/api/alerts/{}", ids[1])).await;
    for (body, field) in [
        (json!({"status": "Closed", "learn": "yes"}), "learn"),
        (json!({"severity": "Catastrophic"}), "severity"),
        (json!({"comment": ""}), "comment"),
        (json!({"comment": "x".repeat(2001)}), "comment"),
        (json!({"status": "Done"}), "status"),
        (json!({"owner": "me"}), "owner"),
        (json!({}), "body"),
        (json!([1, 2]), "body"),
        (json!({"learn": true, "status": "New"}), "status"),
    ] {
        patch(&ids[1], body).await.assert_bad(field);
    }
    assert_eq!(h.ok(&format!("/api/alerts/{}", ids[1])).await, before);
    // Unknown alert: 404 JSON.
    let nf = patch("sensor-1-4242", json!({"status": "Closed"})).await;
    assert_eq!(nf.status, StatusCode::NOT_FOUND);
    // Read-only may look, not touch.
    let ro = h
        .call(
            Some(Role::Readonly),
            "PATCH",
            &format!("/api/alerts/{}", ids[1]),
            Some(json!({"status": "Closed"})),
        )
        .await;
    assert_eq!(ro.status, StatusCode::FORBIDDEN, "{}", ro.text());
    let anon = h.call(None, "GET", "/api/alerts", None).await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bulk_reports_each_id() {
    let h = Harness::new();
    let ids = fill(&h);
    let body = json!({
        "ids": [ids[12], ids[13], "sensor-1-777", ids[0], ids[12]],
        "mute": true,
        "comment": "maintenance window",
    });
    let a = h
        .call(Some(Role::Analyst), "POST", "/api/alerts/bulk", Some(body))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    let v = a.json();
    let results = v["results"].as_array().unwrap();
    // Duplicates are applied once, in order.
    assert_eq!(results.len(), 4);
    assert_eq!(
        (v["succeeded"].as_u64(), v["failed"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(results[0]["id"], ids[12].as_str());
    assert_eq!(results[0]["ok"], true);
    assert_eq!(results[0]["alert"]["muted"], true);
    assert_eq!(results[2]["status"], 404);
    assert_eq!(results[2]["ok"], false);
    // A Modbus policy alert cannot be muted: 409 for that id only.
    assert_eq!(results[3]["status"], 409);
    assert!(
        results[3]["error"]
            .as_str()
            .unwrap()
            .contains("cannot be muted")
    );
    // Limits and validation.
    let many: Vec<String> = (0..1001).map(|i| format!("sensor-1-{i}")).collect();
    for (body, field) in [
        (json!({"ids": many, "status": "Closed"}), "ids"),
        (json!({"ids": [], "status": "Closed"}), "ids"),
        (json!({"status": "Closed"}), "ids"),
        (json!({"ids": [ids[0], {}], "status": "Closed"}), "ids[1]"),
        (json!({"ids": [ids[0]], "severity": "Loud"}), "severity"),
        (json!({"ids": [ids[0]]}), "body"),
    ] {
        h.call(Some(Role::Analyst), "POST", "/api/alerts/bulk", Some(body))
            .await
            .assert_bad(field);
    }
}
