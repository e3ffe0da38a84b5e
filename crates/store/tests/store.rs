//! Every `Store` method against a real SQLite store in a temporary directory.

mod common;

use std::cmp::Ordering;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};

use otwatch_alerts::{Alert, Engine, ScenarioKey, Severity, Status};
use otwatch_core::Timestamp;
use otwatch_store::sqlite::SCHEMA_VERSION;
use otwatch_store::{
    AlertFilter, AlertSort, AuditRecord, Count, DeviceEdits, DeviceRecord, EventFilter,
    EventRecord, Op, PcapRecord, Role, Session, SqliteStore, Store, StoreConfig, StoreError, Token,
    User,
};

fn put_ops(v: &[(Alert, ScenarioKey)]) -> Vec<Op> {
    v.iter()
        .map(|(a, k)| Op::PutAlert {
            alert: Box::new(a.clone()),
            key: k.clone(),
        })
        .collect()
}

fn key(t: &str, v: &str) -> ScenarioKey {
    ScenarioKey {
        type_id: t.into(),
        fields: vec![("src_ip".into(), v.into())],
    }
}

#[test]
fn open_creates_the_directory_and_the_latest_schema() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("a/b");
    let s = SqliteStore::open(&dir).unwrap();
    assert!(dir.join("otwatch.db").is_file());
    assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(s.alert_count().unwrap(), 0);
    // WAL is a property of the file: any other connection sees it.
    let c = rusqlite::Connection::open(dir.join("otwatch.db")).unwrap();
    let mode: String = c
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let r = s.resume().unwrap();
    assert!(r.alerts.is_empty() && r.baseline.is_none());
    assert_eq!(r.next_sequence, 0);
}

#[test]
fn a_database_at_an_older_version_is_migrated_with_its_data() {
    let tmp = tempfile::tempdir().unwrap();
    let data = common::alerts(7, 20);
    {
        let s = SqliteStore::open_at_version(tmp.path(), SCHEMA_VERSION - 1).unwrap();
        assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION - 1);
        s.apply(&put_ops(&data)).unwrap();
    }
    let s = SqliteStore::open(tmp.path()).unwrap();
    assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(s.alert_count().unwrap(), 20);
    assert_eq!(s.alert(&data[3].0.id).unwrap().unwrap(), data[3].0);
    // Reopening at the latest version is a no-op.
    drop(s);
    let s = SqliteStore::open(tmp.path()).unwrap();
    assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
}

#[test]
fn a_database_from_a_newer_version_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    drop(SqliteStore::open(tmp.path()).unwrap());
    let c = rusqlite::Connection::open(tmp.path().join("otwatch.db")).unwrap();
    c.pragma_update(None, "user_version", SCHEMA_VERSION as i64 + 1)
        .unwrap();
    drop(c);
    let e = SqliteStore::open(tmp.path())
        .err()
        .expect("a newer schema opened");
    assert!(matches!(e, StoreError::Backend { .. }), "{e}");
    assert!(e.to_string().contains("migrate"), "{e}");
}

#[test]
fn alerts_round_trip_and_are_found_by_both_ids() {
    let tmp = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(tmp.path()).unwrap();
    let data = common::alerts(1, 50);
    s.apply(&put_ops(&data)).unwrap();
    assert_eq!(s.alert_count().unwrap(), 50);
    for (a, _) in &data {
        assert_eq!(s.alert(&a.id).unwrap().as_ref(), Some(a));
        assert_eq!(
            s.alert_by_numeric_id(a.numeric_id).unwrap().as_ref(),
            Some(a)
        );
    }
    assert_eq!(s.alert("s1-999").unwrap(), None);
    assert_eq!(s.alert_by_numeric_id(999).unwrap(), None);
    assert_eq!(s.alert_by_numeric_id(u64::MAX).unwrap(), None);

    let p = PcapRecord {
        alert_id: data[0].0.id.clone(),
        path: "pcap/s1-1.pcap".into(),
        bytes: 1234,
        packets: 9,
        created: Timestamp(5),
    };
    s.apply(&[Op::Pcap(p.clone())]).unwrap();
    assert_eq!(s.pcap(&p.alert_id).unwrap(), Some(p.clone()));
    s.apply(&[Op::PcapGone {
        alert_id: p.alert_id.clone(),
    }])
    .unwrap();
    assert_eq!(s.pcap(&p.alert_id).unwrap(), None);
    s.apply(&[Op::Pcap(p.clone())]).unwrap();
    s.apply(&[Op::DeleteAlert {
        id: p.alert_id.clone(),
    }])
    .unwrap();
    assert_eq!(s.alert(&p.alert_id).unwrap(), None);
    assert_eq!(s.pcap(&p.alert_id).unwrap(), None);
    assert_eq!(s.alert_count().unwrap(), 49);
}

#[test]
fn a_batch_cut_short_commits_its_prefix_and_the_rest_follows() {
    let tmp = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(tmp.path()).unwrap();
    // 100 puts; alert 0 is written again at index 50 (a newer revision),
    // so its first put would be skipped in a whole batch.
    let mut v = common::alerts(9, 100);
    let (mut a0, k0) = v[0].clone();
    a0.add_comment(
        Timestamp(a0.last_activity.0 + 1),
        "ann".into(),
        "later".into(),
    );
    v.insert(50, (a0.clone(), k0));
    let ops = put_ops(&v);
    let asked = std::cell::Cell::new(0);
    let n = s
        .apply_until(&ops, &|| {
            asked.set(asked.get() + 1);
            true
        })
        .unwrap();
    // Cut at the first look (after 32 ops): those are committed, alert 0
    // included although its newer put lies beyond the cut.
    assert_eq!((n, asked.get()), (32, 1));
    let (first, _) = &v[0];
    assert_eq!(s.alert(&first.id).unwrap().as_ref(), Some(first));
    assert!(s.alert(&v[31].0.id).unwrap().is_some());
    assert!(s.alert(&v[32].0.id).unwrap().is_none());
    // The rest, uncut: alert 0 ends at its newer revision, nothing is lost.
    assert_eq!(s.apply_until(&ops[n..], &|| false).unwrap(), ops.len() - n);
    assert_eq!(s.alert(&a0.id).unwrap().unwrap(), a0);
    assert_eq!(s.alert_count().unwrap(), 100);
}

#[test]
fn a_lower_revision_never_replaces_a_stored_alert() {
    let tmp = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(tmp.path()).unwrap();
    let (a1, k1) = common::alerts(3, 1).remove(0);
    let mut a3 = a1.clone();
    a3.add_comment(
        Timestamp(a1.last_activity.0 + 1),
        "ann".into(),
        "seen".into(),
    );
    a3.set_status(Status::Closed, Timestamp(a1.last_activity.0 + 2));
    assert!(a3.revision > a1.revision);
    let k3 = key(&a1.type_id, "newer");
    s.apply(&[Op::PutAlert {
        alert: Box::new(a3.clone()),
        key: k3.clone(),
    }])
    .unwrap();
    // A replay of the older revision (and its key) changes nothing.
    s.apply(&[Op::PutAlert {
        alert: Box::new(a1.clone()),
        key: k1.clone(),
    }])
    .unwrap();
    assert_eq!(s.alert(&a1.id).unwrap().unwrap(), a3);
    let r = s.resume().unwrap();
    assert_eq!(r.alerts, vec![(a3.clone(), k3)]);
    // The same revision again is an idempotent replace.
    s.apply(&[
        Op::PutAlert {
            alert: Box::new(a3.clone()),
            key: k1.clone(),
        },
        Op::PutAlert {
            alert: Box::new(a3.clone()),
            key: k1.clone(),
        },
    ])
    .unwrap();
    assert_eq!(s.alert_count().unwrap(), 1);
    assert_eq!(s.resume().unwrap().alerts, vec![(a3, k1)]);
    // Status filter follows the stored revision.
    let f = AlertFilter {
        status: vec![Status::Closed],
        ..AlertFilter::default()
    };
    assert_eq!(s.alerts(&f, AlertSort::IdAsc, None, 10).unwrap().total, 1);
}

#[test]
fn first_from_keeps_alerts_first_detected_at_or_after_it() {
    let tmp = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(tmp.path()).unwrap();
    let data = common::alerts(9, 40);
    s.apply(&put_ops(&data)).unwrap();
    let mut firsts: Vec<i64> = data.iter().map(|(a, _)| a.first_detection.0).collect();
    firsts.sort_unstable();
    let cut = firsts[25];
    let f = AlertFilter {
        first_from: Some(Timestamp(cut)),
        ..AlertFilter::default()
    };
    let want = firsts.iter().filter(|&&t| t >= cut).count();
    let mut got = Vec::new();
    let mut cursor = None;
    loop {
        let p = s
            .alerts(&f, AlertSort::FirstDetectionDesc, cursor.as_deref(), 4)
            .unwrap();
        assert_eq!(p.total as usize, want);
        got.extend(p.items.iter().map(|a| a.first_detection.0));
        match p.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(got.len(), want);
    assert!(got.iter().all(|&t| t >= cut));
    assert!(got.windows(2).all(|w| w[0] >= w[1]), "newest first");
}

#[test]
fn a_batch_of_updates_to_one_alert_ends_at_its_last_revision() {
    let tmp = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(tmp.path()).unwrap();
    let (mut a, _) = common::alerts(8, 1).remove(0);
    let mut ops = Vec::new();
    let mut revisions = Vec::new();
    for i in 0..50 {
        a.record_violation(Timestamp(a.last_detection.0 + 1), format!("v{i}"));
        ops.push(Op::PutAlert {
            alert: Box::new(a.clone()),
            key: key(&a.type_id, &format!("k{i}")),
        });
        revisions.push(a.clone());
        if i == 20 {
            ops.push(Op::DeleteAlert { id: a.id.clone() });
        }
    }
    // A stale replay at the end changes nothing.
    ops.push(Op::PutAlert {
        alert: Box::new(revisions[3].clone()),
        key: key(&a.type_id, "stale"),
    });
    s.apply(&ops).unwrap();
    assert_eq!(s.alert(&a.id).unwrap().unwrap(), a);
    assert_eq!(
        s.resume().unwrap().alerts,
        vec![(a.clone(), key(&a.type_id, "k49"))]
    );
    // Deleted at the end of a batch: gone.
    s.apply(&[
        Op::PutAlert {
            alert: Box::new(a.clone()),
            key: key(&a.type_id, "again"),
        },
        Op::DeleteAlert { id: a.id.clone() },
    ])
    .unwrap();
    assert_eq!(s.alert(&a.id).unwrap(), None);
}

#[test]
fn resume_restores_keys_baseline_and_never_reuses_a_sequence() {
    let tmp = tempfile::tempdir().unwrap();
    let data = common::alerts(4, 10);
    {
        let s = SqliteStore::open(tmp.path()).unwrap();
        s.apply(&put_ops(&data)).unwrap();
        s.apply(&[
            Op::Learned {
                key: key("a", "1"),
                on: true,
            },
            Op::Learned {
                key: key("a", "2"),
                on: true,
            },
            Op::Learned {
                key: key("a", "1"),
                on: false,
            },
            Op::Muted {
                key: key("b", "1"),
                on: true,
            },
            Op::Muted {
                key: key("b", "1"),
                on: true,
            },
            Op::Baseline(b"{\"v\":1}".to_vec()),
            Op::Baseline(b"{\"v\":2}".to_vec()),
            // The newest alerts are deleted (retention): their sequences
            // must still not come back.
            Op::DeleteAlert {
                id: data[9].0.id.clone(),
            },
            Op::DeleteAlert {
                id: data[8].0.id.clone(),
            },
        ])
        .unwrap();
    }
    let s = SqliteStore::open(tmp.path()).unwrap();
    let r = s.resume().unwrap();
    assert_eq!(r.alerts.len(), 8);
    assert_eq!(r.alerts, data[..8].to_vec());
    assert_eq!(r.learned, vec![key("a", "2")]);
    assert_eq!(r.muted, vec![key("b", "1")]);
    assert_eq!(r.baseline.as_deref(), Some(&b"{\"v\":2}"[..]));
    assert_eq!(s.baseline().unwrap().as_deref(), Some(&b"{\"v\":2}"[..]));
    assert_eq!(r.next_sequence, 11);
    // The sensor's own `next_sequence` wins when it is higher.
    s.apply(&[Op::Meta {
        key: "next_sequence".into(),
        value: "40".into(),
    }])
    .unwrap();
    assert_eq!(s.meta("next_sequence").unwrap().as_deref(), Some("40"));
    assert_eq!(s.meta("nothing").unwrap(), None);
    assert_eq!(s.resume().unwrap().next_sequence, 40);
}

// ---- filters, sorts and cursors against a plain in-test implementation ----

fn rank(s: Severity) -> u8 {
    match s {
        Severity::High => 3,
        Severity::Medium => 2,
        Severity::Low => 1,
    }
}

fn matches(a: &Alert, f: &AlertFilter) -> bool {
    let lower = |s: &str| s.to_ascii_lowercase();
    (f.status.is_empty() || f.status.contains(&a.status))
        && (f.severity.is_empty() || f.severity.contains(&a.severity))
        && (f.engine.is_empty() || f.engine.contains(&a.engine))
        && (f.protocol.is_empty() || a.protocol.as_ref().is_some_and(|p| f.protocol.contains(p)))
        && (f.type_id.is_empty() || f.type_id.contains(&a.type_id))
        && f.device.as_ref().is_none_or(|d| {
            [&a.source, &a.destination].iter().any(|r| {
                r.ip.is_some_and(|i| i.to_string() == *d)
                    || r.mac.is_some_and(|m| m.to_string() == lower(d))
                    || r.id.is_some_and(|i| i.to_string() == *d)
            })
        })
        && f.from.is_none_or(|t| a.last_detection >= t)
        && f.to.is_none_or(|t| a.last_detection <= t)
        && f.text.as_ref().is_none_or(|t| {
            lower(&a.title).contains(&lower(t)) || lower(&a.message).contains(&lower(t))
        })
        && f.min_revision.is_none_or(|r| a.revision > r)
}

fn compare(sort: AlertSort, a: &Alert, b: &Alert) -> Ordering {
    match sort {
        AlertSort::LastDetectionDesc => {
            (b.last_detection, b.numeric_id).cmp(&(a.last_detection, a.numeric_id))
        }
        AlertSort::LastDetectionAsc => {
            (a.last_detection, a.numeric_id).cmp(&(b.last_detection, b.numeric_id))
        }
        AlertSort::FirstDetectionDesc => {
            (b.first_detection, b.numeric_id).cmp(&(a.first_detection, a.numeric_id))
        }
        AlertSort::FirstDetectionAsc => {
            (a.first_detection, a.numeric_id).cmp(&(b.first_detection, b.numeric_id))
        }
        AlertSort::SeverityDesc => (rank(b.severity), b.last_detection, b.numeric_id).cmp(&(
            rank(a.severity),
            a.last_detection,
            a.numeric_id,
        )),
        AlertSort::IdAsc => a.numeric_id.cmp(&b.numeric_id),
    }
}

const SORTS: [AlertSort; 6] = [
    AlertSort::LastDetectionDesc,
    AlertSort::LastDetectionAsc,
    AlertSort::FirstDetectionDesc,
    AlertSort::FirstDetectionAsc,
    AlertSort::SeverityDesc,
    AlertSort::IdAsc,
];

#[test]
fn filters_sorts_and_cursors_agree_with_a_plain_scan() {
    let tmp = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(tmp.path()).unwrap();
    let data = common::alerts(42, 3_000);
    for chunk in put_ops(&data).chunks(500) {
        s.apply(chunk).unwrap();
    }
    let all: Vec<Alert> = data.iter().map(|(a, _)| a.clone()).collect();
    let mid = all[1500].last_detection;
    let first = &all[0];
    let filters = vec![
        AlertFilter::default(),
        AlertFilter {
            status: vec![Status::New, Status::Active],
            ..Default::default()
        },
        AlertFilter {
            severity: vec![Severity::High],
            engine: vec![Engine::PolicyViolation, Engine::Anomaly],
            ..Default::default()
        },
        AlertFilter {
            protocol: vec!["modbus".into()],
            type_id: vec![first.type_id.clone()],
            ..Default::default()
        },
        AlertFilter {
            device: Some("10.0.0.5".into()),
            ..Default::default()
        },
        AlertFilter {
            device: Some("00:0E:8C:00:00:07".into()),
            ..Default::default()
        },
        AlertFilter {
            device: Some("3".into()),
            status: vec![Status::Closed],
            ..Default::default()
        },
        AlertFilter {
            from: Some(mid),
            to: Some(Timestamp(mid.0 + 2_000_000_000_000)),
            ..Default::default()
        },
        AlertFilter {
            text: Some("port 502".into()),
            ..Default::default()
        },
        AlertFilter {
            // Wildcards are literal: "50%" must not match "502".
            text: Some("50%".into()),
            ..Default::default()
        },
        AlertFilter {
            text: Some("function_1".into()),
            ..Default::default()
        },
        AlertFilter {
            text: Some("_".into()),
            ..Default::default()
        },
        AlertFilter {
            min_revision: Some(2),
            ..Default::default()
        },
        AlertFilter {
            text: Some("nothing matches this".into()),
            ..Default::default()
        },
    ];
    for (fi, f) in filters.iter().enumerate() {
        let mut expect: Vec<&Alert> = all.iter().filter(|a| matches(a, f)).collect();
        if fi < 12 {
            assert!(!expect.is_empty(), "filter {fi} matches nothing: {f:?}");
        }
        for sort in SORTS {
            expect.sort_by(|a, b| compare(sort, a, b));
            let mut got = Vec::new();
            let mut cursor: Option<String> = None;
            let mut pages = 0;
            loop {
                let page = s.alerts(f, sort, cursor.as_deref(), 97).unwrap();
                assert_eq!(page.total, expect.len() as u64, "filter {fi} {sort:?}");
                assert!(page.total_exact);
                // A bounded count or none: the same page, and a total that
                // is exact when it says so and a lower bound otherwise.
                for count in [Count::AtMost(50), Count::Skip] {
                    let p = s
                        .alerts_counted(f, sort, cursor.as_deref(), 97, count)
                        .unwrap();
                    assert_eq!(
                        (&p.items, &p.next_cursor),
                        (&page.items, &page.next_cursor),
                        "filter {fi} {sort:?} {count:?}"
                    );
                    if p.total_exact {
                        assert_eq!(p.total, page.total, "filter {fi} {sort:?} {count:?}");
                    } else {
                        assert!(p.total <= page.total, "filter {fi} {sort:?} {count:?}");
                    }
                    if count == Count::AtMost(50) && page.total > 50 {
                        assert_eq!((p.total, p.total_exact), (50, false));
                    }
                    if count == Count::AtMost(50) && page.total <= 50 {
                        assert!(p.total_exact, "filter {fi} {sort:?}");
                    }
                }
                assert!(page.items.len() <= 97);
                got.extend(page.items.into_iter().map(|a| a.numeric_id));
                pages += 1;
                match page.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
                assert!(pages < 100, "pagination does not end");
            }
            let want: Vec<u64> = expect.iter().map(|a| a.numeric_id).collect();
            assert_eq!(got, want, "filter {fi} {f:?} sort {sort:?}");
        }
    }
    // A page that ends exactly at the last record has no next cursor.
    let n = all.len();
    let p = s
        .alerts(&AlertFilter::default(), AlertSort::IdAsc, None, n)
        .unwrap();
    assert_eq!((p.items.len(), p.next_cursor), (n, None));
    let p = s
        .alerts(&AlertFilter::default(), AlertSort::IdAsc, None, 0)
        .unwrap();
    assert!(p.items.is_empty() && p.total == n as u64);
}

#[test]
fn a_bad_cursor_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(tmp.path()).unwrap();
    s.apply(&put_ops(&common::alerts(5, 10))).unwrap();
    let f = AlertFilter::default();
    let page = s.alerts(&f, AlertSort::LastDetectionDesc, None, 3).unwrap();
    let c = page.next_cursor.unwrap();
    // The cursor of another sort order is refused, as is garbage.
    for (sort, cursor) in [
        (AlertSort::IdAsc, c.as_str()),
        (AlertSort::LastDetectionDesc, "garbage"),
        (AlertSort::LastDetectionDesc, "ld.1"),
        (AlertSort::LastDetectionDesc, "ld.a.b"),
    ] {
        let e = s.alerts(&f, sort, Some(cursor), 3).unwrap_err();
        assert!(matches!(e, StoreError::BadCursor(_)), "{e}");
        assert!(e.to_string().contains("cursor"), "{e}");
    }
    let e = s.events(&EventFilter::default(), Some(&c), 3).unwrap_err();
    assert!(matches!(e, StoreError::BadCursor(_)), "{e}");
}

// ---- timeline ----

fn event(i: i64, kind: &str, sev: &str) -> EventRecord {
    EventRecord {
        id: 0,
        ts: Timestamp(1_000 + i / 2),
        severity: sev.into(),
        kind: kind.into(),
        title: format!("Event {i}"),
        device_ip: Some(common::ip((i % 5) as u64)),
        device_mac: None,
        peer_ip: if i % 3 == 0 {
            Some(common::ip(9))
        } else {
            None
        },
        owner: (kind == "USER_EVENT").then(|| "ann".to_string()),
        alert_id: None,
        content: if i % 7 == 0 {
            "Program upload 100%".into()
        } else {
            format!("content {i}")
        },
    }
}

#[test]
fn events_filter_page_newest_first_and_are_capped() {
    let tmp = tempfile::tempdir().unwrap();
    let s = SqliteStore::open_with(
        tmp.path(),
        StoreConfig {
            max_events: 150,
            ..StoreConfig::default()
        },
    )
    .unwrap();
    let kinds = ["PROGRAM_DEVICE", "ALERT_DETECTED", "USER_EVENT"];
    let sevs = ["INFO", "NOTICE", "ALERT"];
    let mut stored = Vec::new();
    for i in 0..200i64 {
        let mut e = event(i, kinds[i as usize % 3], sevs[(i / 3) as usize % 3]);
        if i % 2 == 0 {
            e.id = s.add_event(&e).unwrap();
        } else {
            s.apply(&[Op::Event(e.clone())]).unwrap();
            e.id = s.events(&EventFilter::default(), None, 1).unwrap().items[0].id;
        }
        stored.push(e);
    }
    // Capped at 150, oldest out.
    assert_eq!(s.event_count().unwrap(), 150);
    let kept = &stored[50..];
    let filters = [
        EventFilter::default(),
        EventFilter {
            kinds: vec!["USER_EVENT".into()],
            severity: vec!["notice".into(), "ALERT".into()],
            ..Default::default()
        },
        EventFilter {
            device: Some(common::ip(9).to_string()),
            ..Default::default()
        },
        EventFilter {
            from: Some(Timestamp(1_040)),
            to: Some(Timestamp(1_070)),
            keyword: Some("100%".into()),
            ..Default::default()
        },
    ];
    for (fi, f) in filters.iter().enumerate() {
        let mut want: Vec<&EventRecord> = kept
            .iter()
            .filter(|e| {
                (f.kinds.is_empty() || f.kinds.contains(&e.kind))
                    && (f.severity.is_empty()
                        || f.severity
                            .iter()
                            .any(|s| s.eq_ignore_ascii_case(&e.severity)))
                    && f.device.as_ref().is_none_or(|d| {
                        e.device_ip.is_some_and(|i| i.to_string() == *d)
                            || e.peer_ip.is_some_and(|i| i.to_string() == *d)
                    })
                    && f.from.is_none_or(|t| e.ts >= t)
                    && f.to.is_none_or(|t| e.ts <= t)
                    && f.keyword.as_ref().is_none_or(|k| {
                        e.title.to_lowercase().contains(&k.to_lowercase())
                            || e.content.to_lowercase().contains(&k.to_lowercase())
                    })
            })
            .collect();
        assert!(!want.is_empty(), "filter {fi}");
        want.sort_by_key(|e| std::cmp::Reverse((e.ts, e.id)));
        let mut got = Vec::new();
        let mut cursor = None;
        loop {
            let p = s.events(f, cursor.as_deref(), 7).unwrap();
            assert_eq!(p.total, want.len() as u64, "filter {fi}");
            for (count, exact) in [
                (Count::AtMost(3), want.len() <= 3),
                (Count::Skip, cursor.is_none() && p.next_cursor.is_none()),
            ] {
                let q = s.events_counted(f, cursor.as_deref(), 7, count).unwrap();
                assert_eq!((&q.items, &q.next_cursor), (&p.items, &p.next_cursor));
                assert_eq!(q.total_exact, exact, "filter {fi} {count:?}");
                if exact {
                    assert_eq!(q.total, p.total);
                } else if count == Count::AtMost(3) {
                    assert_eq!(q.total, 3);
                } else {
                    let shown = p.items.len() as u64 + u64::from(p.next_cursor.is_some());
                    assert_eq!(q.total, shown);
                }
            }
            got.extend(p.items);
            cursor = p.next_cursor;
            if cursor.is_none() {
                break;
            }
        }
        let want: Vec<EventRecord> = want.into_iter().cloned().collect();
        assert_eq!(got, want, "filter {fi}");
    }
}

// ---- devices ----

fn device(id: u64, last: i64) -> DeviceRecord {
    DeviceRecord {
        id,
        ip: Some(common::ip(id)),
        mac: Some(common::mac(id).to_string()),
        first_seen: Timestamp(1),
        last_seen: Timestamp(last),
        facts: serde_json::json!({"vendor": "Siemens", "protocols": ["s7comm"], "id": id}),
    }
}

#[test]
fn a_device_page_is_the_same_as_a_slice_of_the_whole_list() {
    let tmp = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(tmp.path()).unwrap();
    let ops: Vec<Op> = [7u64, 3, 12, 1, 9]
        .iter()
        .map(|&i| Op::PutDevice(device(i, 5)))
        .collect();
    s.apply(&ops).unwrap();
    s.edit_device(
        9,
        &DeviceEdits {
            name: Some("HMI".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let all = s.devices().unwrap();
    for (offset, limit) in [(0, 2), (2, 2), (4, 2), (5, 2), (0, 100), (1, 3), (100, 1)] {
        let (page, total) = s.devices_page(offset, limit).unwrap();
        assert_eq!(total, 5);
        let want: Vec<_> = all.iter().skip(offset).take(limit).cloned().collect();
        assert_eq!(page, want, "offset {offset} limit {limit}");
    }
    let (page, _) = s.devices_page(3, 1).unwrap();
    assert_eq!(page[0].record.id, 9);
    assert_eq!(page[0].edits.name.as_deref(), Some("HMI"));
    // An empty store: an empty page and a total of 0.
    let tmp2 = tempfile::tempdir().unwrap();
    let e = SqliteStore::open(tmp2.path()).unwrap();
    assert_eq!(e.devices_page(0, 10).unwrap(), (vec![], 0));
}

#[test]
fn devices_keep_user_edits_apart_from_observations() {
    let tmp = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(tmp.path()).unwrap();
    s.apply(&[Op::PutDevice(device(2, 10)), Op::PutDevice(device(1, 10))])
        .unwrap();
    let v = s.devices().unwrap();
    assert_eq!(
        v.iter().map(|d| d.record.id).collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert_eq!(v[0].edits, DeviceEdits::default());
    let e = s
        .edit_device(
            1,
            &DeviceEdits {
                name: Some("PLC-1".into()),
                authorized: Some(true),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(e.edits.name.as_deref(), Some("PLC-1"));
    let e = s
        .edit_device(
            1,
            &DeviceEdits {
                scanner: Some(false),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        e.edits,
        DeviceEdits {
            name: Some("PLC-1".into()),
            authorized: Some(true),
            scanner: Some(false),
            ..Default::default()
        }
    );
    // A new observation replaces the facts, never the edits.
    s.apply(&[Op::PutDevice(device(1, 99))]).unwrap();
    let d = s.device(1).unwrap().unwrap();
    assert_eq!(d.record, device(1, 99));
    assert_eq!(d.edits, e.edits);
    assert!(matches!(
        s.edit_device(7, &DeviceEdits::default()),
        Err(StoreError::NotFound { what: "device", .. })
    ));
    s.delete_device(1).unwrap();
    assert_eq!(s.device(1).unwrap(), None);
    assert!(matches!(
        s.delete_device(1),
        Err(StoreError::NotFound { .. })
    ));
    // A device seen again after its deletion starts without edits.
    s.apply(&[Op::PutDevice(device(1, 100))]).unwrap();
    assert_eq!(s.device(1).unwrap().unwrap().edits, DeviceEdits::default());
}

// ---- users, tokens, sessions, audit, settings ----

fn user(name: &str, role: Role) -> User {
    User {
        name: name.into(),
        role,
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$x${name}"),
        created: Timestamp(10),
        last_login: None,
    }
}

#[test]
fn users_tokens_and_sessions() {
    let tmp = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(tmp.path()).unwrap();
    s.add_user(&user("bob", Role::Analyst)).unwrap();
    s.add_user(&user("ann", Role::Admin)).unwrap();
    assert!(matches!(
        s.add_user(&user("ann", Role::Readonly)),
        Err(StoreError::Exists { what: "user", .. })
    ));
    assert_eq!(
        s.users()
            .unwrap()
            .iter()
            .map(|u| u.name.as_str())
            .collect::<Vec<_>>(),
        ["ann", "bob"]
    );
    s.set_user_role("bob", Role::Readonly).unwrap();
    s.set_user_password("bob", "new-hash").unwrap();
    s.touch_user_login("bob", Timestamp(77)).unwrap();
    let bob = s.user("bob").unwrap().unwrap();
    assert_eq!(
        (bob.role, bob.password_hash.as_str(), bob.last_login),
        (Role::Readonly, "new-hash", Some(Timestamp(77)))
    );
    assert!(matches!(
        s.set_user_role("nobody", Role::Admin),
        Err(StoreError::NotFound { what: "user", .. })
    ));
    assert!(s.touch_user_login("nobody", Timestamp(1)).is_err());
    assert_eq!(s.user("nobody").unwrap(), None);

    let t = Token {
        id: 0,
        name: "siem".into(),
        role: Role::Readonly,
        secret_hash: "ab".repeat(32),
        created: Timestamp(20),
        last_used: None,
        created_by: "cli".into(),
    };
    let id = s.add_token(&t).unwrap();
    assert!(id > 0);
    assert!(matches!(
        s.add_token(&t),
        Err(StoreError::Exists { what: "token", .. })
    ));
    let id2 = s
        .add_token(&Token {
            name: "soar".into(),
            secret_hash: "cd".repeat(32),
            ..t.clone()
        })
        .unwrap();
    assert_ne!(id, id2);
    s.touch_token(id, Timestamp(30)).unwrap();
    let got = s.token_by_hash(&t.secret_hash).unwrap().unwrap();
    assert_eq!(
        got,
        Token {
            id,
            last_used: Some(Timestamp(30)),
            ..t.clone()
        }
    );
    assert_eq!(s.token_by_hash("ff").unwrap(), None);
    assert_eq!(s.tokens().unwrap().len(), 2);
    s.delete_token(id).unwrap();
    assert!(matches!(
        s.delete_token(id),
        Err(StoreError::NotFound { .. })
    ));
    assert!(s.touch_token(id, Timestamp(31)).is_err());
    assert_eq!(s.tokens().unwrap()[0].id, id2);

    let sess = Session {
        secret_hash: "ee".repeat(32),
        user: "bob".into(),
        role: Role::Readonly,
        created: Timestamp(40),
        expires: Timestamp(50),
    };
    s.add_session(&sess).unwrap();
    assert_eq!(s.session(&sess.secret_hash).unwrap(), Some(sess.clone()));
    assert!(matches!(
        s.add_session(&Session {
            user: "ghost".into(),
            ..sess.clone()
        }),
        Err(StoreError::NotFound { what: "user", .. })
    ));
    s.delete_session(&sess.secret_hash).unwrap();
    s.delete_session(&sess.secret_hash).unwrap();
    assert_eq!(s.session(&sess.secret_hash).unwrap(), None);
    // A login removes the sessions that expired before it, and only those.
    s.add_session(&sess).unwrap();
    let live = Session {
        secret_hash: "dd".repeat(32),
        created: Timestamp(45),
        expires: Timestamp(90),
        ..sess.clone()
    };
    s.add_session(&live).unwrap();
    assert!(
        s.session(&sess.secret_hash).unwrap().is_some(),
        "not expired at 45"
    );
    s.add_session(&Session {
        secret_hash: "cc".repeat(32),
        created: Timestamp(60),
        expires: Timestamp(100),
        ..sess.clone()
    })
    .unwrap();
    assert_eq!(s.session(&sess.secret_hash).unwrap(), None, "expired at 50");
    assert_eq!(s.session(&live.secret_hash).unwrap(), Some(live.clone()));
    s.delete_session(&live.secret_hash).unwrap();
    s.delete_session(&"cc".repeat(32)).unwrap();
    // Deleting a user ends their sessions.
    s.add_session(&sess).unwrap();
    s.delete_user("bob").unwrap();
    assert_eq!(s.session(&sess.secret_hash).unwrap(), None);
    assert!(matches!(
        s.delete_user("bob"),
        Err(StoreError::NotFound { .. })
    ));
}

#[test]
fn audit_is_newest_first_and_capped() {
    let tmp = tempfile::tempdir().unwrap();
    let s = SqliteStore::open_with(
        tmp.path(),
        StoreConfig {
            max_audit: 5,
            ..StoreConfig::default()
        },
    )
    .unwrap();
    for i in 0..8 {
        s.audit(&AuditRecord {
            id: 0,
            ts: Timestamp(i),
            actor: "ann".into(),
            action: "alert.learn".into(),
            target: format!("s1-{i}"),
            detail: String::new(),
        })
        .unwrap();
    }
    assert_eq!(s.audit_count().unwrap(), 5);
    let log = s.audit_log(3).unwrap();
    assert_eq!(
        log.iter().map(|r| r.target.as_str()).collect::<Vec<_>>(),
        ["s1-7", "s1-6", "s1-5"]
    );
    assert!(log[0].id > log[1].id);
    assert_eq!(s.audit_log(100).unwrap().len(), 5);
}

#[test]
fn settings_are_json_documents_by_key() {
    let tmp = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(tmp.path()).unwrap();
    let v = serde_json::json!({"rules": [{"name": "r1", "window": 60}]});
    s.set_setting("exclusions", &v).unwrap();
    s.set_setting("ti:a", &serde_json::json!([1])).unwrap();
    s.set_setting("ti:b", &serde_json::json!("x")).unwrap();
    s.set_setting("ti_c", &serde_json::json!(null)).unwrap();
    s.set_setting("TI:d", &serde_json::json!(0)).unwrap();
    assert_eq!(s.setting("exclusions").unwrap(), Some(v));
    s.set_setting("ti:a", &serde_json::json!([2])).unwrap();
    assert_eq!(
        s.settings_with_prefix("ti:").unwrap(),
        vec![
            ("ti:a".to_string(), serde_json::json!([2])),
            ("ti:b".to_string(), serde_json::json!("x"))
        ]
    );
    // `_` in a prefix is literal.
    assert_eq!(s.settings_with_prefix("ti_").unwrap().len(), 1);
    s.delete_setting("ti:a").unwrap();
    s.delete_setting("ti:a").unwrap();
    assert_eq!(s.setting("ti:a").unwrap(), None);
}

#[test]
fn everything_survives_a_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    let data = common::alerts(9, 30);
    {
        let s = SqliteStore::open(tmp.path()).unwrap();
        s.apply(&put_ops(&data)).unwrap();
        s.add_user(&user("ann", Role::Admin)).unwrap();
        s.set_setting("k", &serde_json::json!(1)).unwrap();
        s.add_event(&event(1, "USER_EVENT", "INFO")).unwrap();
        s.apply(&[Op::PutDevice(device(3, 5))]).unwrap();
    }
    let s = SqliteStore::open(tmp.path()).unwrap();
    assert_eq!(s.alert_count().unwrap(), 30);
    assert_eq!(s.user("ann").unwrap().unwrap().role, Role::Admin);
    assert_eq!(s.setting("k").unwrap(), Some(serde_json::json!(1)));
    assert_eq!(s.event_count().unwrap(), 1);
    assert_eq!(s.devices().unwrap().len(), 1);
    assert_eq!(s.resume().unwrap().alerts, data);
}

#[test]
fn out_of_range_values_are_invalid_not_a_backend_fault() {
    let tmp = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(tmp.path()).unwrap();
    let (mut a, k) = common::alerts(2, 1).remove(0);
    a.numeric_id = u64::MAX;
    let e = s
        .apply(&[
            Op::PutDevice(device(1, 1)),
            Op::PutAlert {
                alert: Box::new(a),
                key: k,
            },
        ])
        .unwrap_err();
    assert!(matches!(e, StoreError::Invalid { .. }), "{e}");
    // The batch is one transaction: nothing of it was applied.
    assert_eq!(s.devices().unwrap(), vec![]);
}

#[test]
fn readers_run_while_the_writer_commits() {
    let tmp = tempfile::tempdir().unwrap();
    let s = Arc::new(SqliteStore::open(tmp.path()).unwrap());
    let data = common::alerts(11, 4_000);
    s.apply(&put_ops(&data[..500])).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|i| {
            let s = Arc::clone(&s);
            let done = Arc::clone(&done);
            std::thread::spawn(move || {
                let mut reads = 0u64;
                let mut last_total = 0;
                while !done.load(AtomicOrdering::Relaxed) || reads < 5 {
                    let f = AlertFilter {
                        status: if i == 0 { vec![] } else { vec![Status::New] },
                        ..Default::default()
                    };
                    let p = s
                        .alerts(&f, AlertSort::LastDetectionDesc, None, 50)
                        .unwrap();
                    // Totals only grow (each read is one snapshot).
                    if i == 0 {
                        assert!(p.total >= last_total);
                        assert!(p.total >= 500);
                        last_total = p.total;
                    }
                    assert!(p.items.len() <= 50);
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    for chunk in put_ops(&data[500..]).chunks(100) {
        s.apply(chunk).unwrap();
    }
    done.store(true, AtomicOrdering::Relaxed);
    for r in readers {
        assert!(r.join().unwrap() >= 5);
    }
    assert_eq!(s.alert_count().unwrap(), 4_000);
}
