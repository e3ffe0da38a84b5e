use super::*;
use crate::exclusion::parse_rules;
use otwatch_core::MacAddr;

const S: i64 = Timestamp::NANOS_PER_SEC;

fn mgr() -> AlertManager {
    AlertManager::new(
        Catalog::builtin().clone(),
        "s1".into(),
        ManagerConfig::default(),
    )
}

fn ep(ip: &str) -> Endpoint {
    Endpoint::ip(ip.parse().unwrap())
}

fn t(secs: i64) -> Timestamp {
    Timestamp(1_704_067_200 * S + secs * S)
}

/// DNP3 function code (key: src, dst, function_code), learnable, not mutable.
fn dnp3(ts: i64, src: &str, dst: &str, fc: u8) -> Detection {
    Detection::new("dnp3_function_code", t(ts), ep(src), ep(dst))
        .protocol("dnp3")
        .key("function_code", fc)
        .message(format!("function {fc} from {src} to {dst}"))
}

/// Port scan (key: src, dst), learnable and mutable.
fn scan(ts: i64, src: &str, dst: &str) -> Detection {
    Detection::new("port_scan", t(ts), ep(src), ep(dst)).message(format!("{src} scanned {dst}"))
}

fn created(o: Outcome) -> String {
    match o {
        Outcome::Created(id) => id,
        other => panic!("expected Created, got {other:?}"),
    }
}

fn kinds(m: &mut AlertManager) -> Vec<TimelineKind> {
    m.drain_events().into_iter().map(|e| e.kind).collect()
}

#[test]
fn creation_fills_every_field_from_the_catalog() {
    let mut m = mgr();
    let d = dnp3(0, "10.0.0.5", "10.0.0.9", 13)
        .info("unit", 1)
        .flow(otwatch_core::FlowId(7));
    let id = created(m.ingest(d));
    assert_eq!(id, "s1-1");
    assert_eq!(m.next_sequence(), 2);
    let a = m.get(&id).unwrap();
    let ty = Catalog::builtin().get("dnp3_function_code").unwrap();
    assert_eq!(a.title, ty.title);
    assert_eq!(
        (a.severity, a.sensor_severity),
        (ty.severity, ty.sensor_severity)
    );
    assert_eq!((a.engine, &a.category), (ty.engine, &ty.category));
    assert_eq!(a.mitre_tactics, ty.mitre_tactics);
    assert_eq!(a.mitre_techniques, ty.mitre_techniques);
    assert_eq!(a.remediation, ty.remediation);
    assert_eq!(a.message, "function 13 from 10.0.0.5 to 10.0.0.9");
    assert_eq!(a.protocol.as_deref(), Some("dnp3"));
    assert_eq!(a.source.ip, Some("10.0.0.5".parse().unwrap()));
    assert_eq!(a.destination.ip, Some("10.0.0.9".parse().unwrap()));
    assert_eq!(a.additional_info.get("unit").map(String::as_str), Some("1"));
    assert_eq!((a.status, a.revision, a.numeric_id), (Status::New, 1, 1));
    assert_eq!(a.sensor_id, "s1");
    let key = m.scenario_key(&id).unwrap();
    assert_eq!(
        key.to_string(),
        "dnp3_function_code src=10.0.0.5 dst=10.0.0.9 function_code=13"
    );
    let ev = m.drain_events();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].kind, TimelineKind::Detected);
    assert_eq!(ev[0].alert_id.as_deref(), Some("s1-1"));
    assert_eq!(ev[0].title, ty.title);
    assert!(m.drain_events().is_empty());
}

#[test]
fn unknown_and_disabled_types() {
    let mut m = mgr();
    let d = Detection::new("no_such_type", t(0), ep("10.0.0.1"), ep("10.0.0.2"));
    assert_eq!(m.ingest(d), Outcome::UnknownType);
    // Off by default in the catalog.
    let d = Detection::new(
        "abnormal_exception_pattern",
        t(0),
        ep("10.0.0.1"),
        ep("10.0.0.2"),
    );
    assert_eq!(m.ingest(d), Outcome::Disabled);
    // Engine switched off.
    let o = crate::Overrides::from_toml_str("[engines]\nanomaly = false").unwrap();
    m.set_catalog(Catalog::builtin().with_overrides(&o).unwrap());
    assert_eq!(m.ingest(scan(0, "10.0.0.1", "10.0.0.2")), Outcome::Disabled);
    assert!(m.is_empty());
    assert_eq!((m.stats().unknown_type, m.stats().disabled), (1, 2));
    assert_eq!(m.next_sequence(), 1);
}

#[test]
fn dedupe_by_aggregation_key() {
    let mut m = mgr();
    let a = created(m.ingest(dnp3(0, "10.0.0.5", "10.0.0.9", 13)));
    // Same key: updated.
    assert_eq!(
        m.ingest(dnp3(10, "10.0.0.5", "10.0.0.9", 13)),
        Outcome::Updated(a.clone())
    );
    let al = m.get(&a).unwrap();
    assert_eq!((al.violation_count, al.revision), (2, 2));
    assert_eq!((al.first_detection, al.last_detection), (t(0), t(10)));
    // function_code is in the key: another code is another alert.
    let b = created(m.ingest(dnp3(11, "10.0.0.5", "10.0.0.9", 14)));
    assert_ne!(a, b);
    // Other devices: another alert.
    let c = created(m.ingest(dnp3(12, "10.0.0.6", "10.0.0.9", 13)));
    let d = created(m.ingest(dnp3(12, "10.0.0.9", "10.0.0.5", 13)));
    assert_eq!((c.as_str(), d.as_str()), ("s1-3", "s1-4"));
    // Modbus function code: key ["src", "dst"], codes gathered in one alert.
    let mb = |ts, fc: u8| {
        Detection::new(
            "modbus_function_code",
            t(ts),
            ep("10.0.0.5"),
            ep("10.0.0.9"),
        )
        .protocol("modbus")
        .key("function_code", fc)
        .message(format!("function {fc}"))
    };
    let e = created(m.ingest(mb(20, 3)));
    assert_eq!(m.ingest(mb(21, 16)), Outcome::Updated(e.clone()));
    assert_eq!(m.get(&e).unwrap().violations.len(), 2);
    assert_eq!(
        kinds(&mut m),
        [
            TimelineKind::Detected,
            TimelineKind::Updated,
            TimelineKind::Detected,
            TimelineKind::Detected,
            TimelineKind::Detected,
            TimelineKind::Detected,
            TimelineKind::Updated,
        ]
    );
    assert_eq!((m.stats().created, m.stats().updated), (5, 2));
}

#[test]
fn device_identity_is_ip_else_mac() {
    let mut m = mgr();
    let mac = |b: u8| Endpoint {
        mac: Some(MacAddr([0, 1, 2, 3, 4, b])),
        ..Endpoint::default()
    };
    let d = |ts, src: Endpoint| Detection::new("port_scan", t(ts), src, mac(9));
    let a = created(m.ingest(d(0, mac(1))));
    assert_eq!(m.ingest(d(1, mac(1))), Outcome::Updated(a.clone()));
    created(m.ingest(d(2, mac(2))));
    // The same MAC with an IP is identified by the IP: another alert.
    let with_ip = Endpoint {
        ip: Some("10.0.0.1".parse().unwrap()),
        ..mac(1)
    };
    created(m.ingest(d(3, with_ip)));
    assert_eq!(m.scenario_key(&a).unwrap().fields[0].1, "00:01:02:03:04:01");
}

#[test]
fn closed_then_same_traffic_raises_a_new_alert() {
    let mut m = mgr();
    let a = created(m.ingest(dnp3(0, "10.0.0.5", "10.0.0.9", 13)));
    m.set_status(&a, Status::Closed, t(5)).unwrap();
    let b = created(m.ingest(dnp3(10, "10.0.0.5", "10.0.0.9", 13)));
    assert_ne!(a, b);
    // The closed alert's last detection is not updated.
    assert_eq!(m.get(&a).unwrap().last_detection, t(0));
    assert_eq!(
        m.ingest(dnp3(11, "10.0.0.5", "10.0.0.9", 13)),
        Outcome::Updated(b.clone())
    );
    // Reopening a while b is open for the same traffic is refused.
    assert_eq!(
        m.set_status(&a, Status::New, t(12)),
        Err(TriageError::OpenDuplicate {
            id: a.clone(),
            other: b.clone()
        })
    );
    m.set_status(&b, Status::Closed, t(13)).unwrap();
    m.set_status(&a, Status::New, t(14)).unwrap();
    assert_eq!(
        m.ingest(dnp3(15, "10.0.0.5", "10.0.0.9", 13)),
        Outcome::Updated(a.clone())
    );
    // Active is open too.
    m.set_status(&a, Status::Active, t(16)).unwrap();
    assert_eq!(
        m.ingest(dnp3(17, "10.0.0.5", "10.0.0.9", 13)),
        Outcome::Updated(a.clone())
    );
}

#[test]
fn learn_suppresses_and_unlearn_restores() {
    let mut m = mgr();
    let a = created(m.ingest(dnp3(0, "10.0.0.5", "10.0.0.9", 13)));
    m.drain_events();
    m.learn(&a, t(5)).unwrap();
    let al = m.get(&a).unwrap();
    assert!(al.learned && !al.muted);
    assert_eq!(al.status, Status::Closed);
    let key = m.scenario_key(&a).unwrap().clone();
    assert_eq!(m.learned_keys().collect::<Vec<_>>(), [&key]);
    assert_eq!(
        m.learn(&a, t(6)),
        Err(TriageError::AlreadyLearned(a.clone()))
    );
    assert_eq!(
        m.ingest(dnp3(10, "10.0.0.5", "10.0.0.9", 13)),
        Outcome::Suppressed(Suppression::Learned)
    );
    // Different parameters still alert (reference §2.3).
    created(m.ingest(dnp3(11, "10.0.0.5", "10.0.0.9", 14)));
    // A learned alert is reopened only by unlearning it.
    assert_eq!(
        m.set_status(&a, Status::New, t(12)),
        Err(TriageError::Learned(a.clone()))
    );
    m.unlearn(&a, t(20)).unwrap();
    let al = m.get(&a).unwrap();
    assert!(!al.learned);
    assert_eq!(al.status, Status::New);
    assert_eq!(m.learned_keys().count(), 0);
    assert_eq!(
        m.unlearn(&a, t(21)),
        Err(TriageError::NotLearned(a.clone()))
    );
    // Traffic alerts again, on the reopened alert.
    assert_eq!(
        m.ingest(dnp3(30, "10.0.0.5", "10.0.0.9", 13)),
        Outcome::Updated(a.clone())
    );
    assert_eq!(
        kinds(&mut m),
        [
            TimelineKind::Learned,
            TimelineKind::Detected,
            TimelineKind::Unlearned,
            TimelineKind::Updated
        ]
    );
    assert_eq!(m.stats().suppressed_learned, 1);
}

#[test]
fn unlearn_keeps_closed_when_the_traffic_has_another_open_alert() {
    let mut m = mgr();
    let a = created(m.ingest(dnp3(0, "10.0.0.5", "10.0.0.9", 13)));
    m.set_status(&a, Status::Closed, t(1)).unwrap();
    let b = created(m.ingest(dnp3(2, "10.0.0.5", "10.0.0.9", 13)));
    m.learn(&a, t(3)).unwrap(); // a closed alert can be learned
    assert_eq!(m.get(&b).unwrap().status, Status::New);
    m.unlearn(&a, t(4)).unwrap();
    assert_eq!(m.get(&a).unwrap().status, Status::Closed);
    assert_eq!(
        m.ingest(dnp3(5, "10.0.0.5", "10.0.0.9", 13)),
        Outcome::Updated(b)
    );
}

#[test]
fn learn_refused_for_non_learnable_types() {
    let mut m = mgr();
    let d = Detection::new("known_malicious_ip", t(0), ep("10.0.0.5"), ep("10.0.0.9"));
    let a = created(m.ingest(d));
    assert_eq!(
        m.learn(&a, t(1)),
        Err(TriageError::NotLearnable {
            id: a.clone(),
            type_id: "known_malicious_ip".into()
        })
    );
    assert_eq!(
        m.mute(&a, t(1)),
        Err(TriageError::NotMutable {
            id: a.clone(),
            type_id: "known_malicious_ip".into()
        })
    );
    let al = m.get(&a).unwrap();
    assert_eq!((al.revision, al.status), (1, Status::New));
    assert_eq!(
        m.learn("s1-99", t(1)),
        Err(TriageError::UnknownAlert("s1-99".into()))
    );
    assert_eq!(
        m.learn("s2-1", t(1)),
        Err(TriageError::UnknownAlert("s2-1".into()))
    );
    assert!(matches!(
        m.mute("s1-x", t(1)),
        Err(TriageError::UnknownAlert(_))
    ));
}

#[test]
fn mute_refused_for_internet_endpoints() {
    let mut m = mgr();
    for (src, dst) in [
        ("10.0.0.5", "8.8.8.8"),
        ("203.0.113.7", "10.0.0.9"),
        ("10.0.0.5", "2001:db8::1"),
    ] {
        let a = created(m.ingest(scan(0, src, dst)));
        let e = m.mute(&a, t(1)).unwrap_err();
        assert!(matches!(e, TriageError::InternetEndpoint { .. }), "{e}");
        assert!(e.to_string().contains("internet"), "{e}");
        assert!(!m.get(&a).unwrap().muted);
    }
    assert!(is_internet("8.8.8.8".parse().unwrap()));
    assert!(is_internet("::ffff:8.8.8.8".parse().unwrap()));
    for ip in [
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "100.64.0.1",
        "169.254.1.1",
        "224.0.0.1",
        "255.255.255.255",
        "fd00::1",
        "fe80::1",
        "::1",
        "::ffff:10.0.0.1",
    ] {
        assert!(!is_internet(ip.parse().unwrap()), "{ip}");
    }
}

#[test]
fn mute_suppresses_without_learning_and_unmute_restores() {
    let mut m = mgr();
    let a = created(m.ingest(scan(0, "10.0.0.5", "10.0.0.9")));
    m.drain_events();
    m.mute(&a, t(1)).unwrap();
    let al = m.get(&a).unwrap();
    assert!(al.muted && !al.learned);
    assert_eq!(al.status, Status::Closed);
    assert_eq!(m.learned_keys().count(), 0);
    assert_eq!(m.muted_keys().count(), 1);
    assert_eq!(m.mute(&a, t(2)), Err(TriageError::AlreadyMuted(a.clone())));
    assert_eq!(
        m.ingest(scan(3, "10.0.0.5", "10.0.0.9")),
        Outcome::Suppressed(Suppression::Muted)
    );
    assert_eq!(
        m.set_status(&a, Status::New, t(4)),
        Err(TriageError::Muted(a.clone()))
    );
    // Other traffic still alerts.
    created(m.ingest(scan(5, "10.0.0.5", "10.0.0.10")));
    m.unmute(&a, t(6)).unwrap();
    let al = m.get(&a).unwrap();
    assert!(!al.muted);
    assert_eq!(al.status, Status::Closed);
    assert_eq!(m.unmute(&a, t(7)), Err(TriageError::NotMuted(a.clone())));
    // Next matching traffic: a new alert.
    let b = created(m.ingest(scan(8, "10.0.0.5", "10.0.0.9")));
    assert_ne!(a, b);
    let ev = m.drain_events();
    let k: Vec<_> = ev.iter().map(|e| e.kind).collect();
    assert_eq!(
        k,
        [
            TimelineKind::Muted,
            TimelineKind::MutedDetection,
            TimelineKind::Detected,
            TimelineKind::Unmuted,
            TimelineKind::Detected
        ]
    );
    assert_eq!(ev[1].alert_id, None);
    assert_eq!(m.stats().suppressed_muted, 1);
}

#[test]
fn mute_of_a_mutable_protocol_violation_and_learn_refused() {
    let mut m = mgr();
    let d = Detection::new("modbus_exception", t(0), ep("10.0.0.5"), ep("10.0.0.9"))
        .protocol("modbus")
        .key("function_code", 3);
    let a = created(m.ingest(d));
    assert!(matches!(
        m.learn(&a, t(1)),
        Err(TriageError::NotLearnable { .. })
    ));
    m.mute(&a, t(1)).unwrap();
}

#[test]
fn comment_and_severity() {
    let mut m = mgr();
    let a = created(m.ingest(scan(0, "10.0.0.5", "10.0.0.9")));
    m.comment(&a, t(1), "ann", "checked with operations")
        .unwrap();
    assert_eq!(
        m.comment(&a, t(2), "ann", "  "),
        Err(TriageError::EmptyComment(a.clone()))
    );
    m.set_severity(&a, SensorSeverity::Warning, t(3)).unwrap();
    let al = m.get(&a).unwrap();
    assert_eq!(al.comments.len(), 1);
    assert_eq!(al.severity, crate::Severity::Low);
    assert_eq!((al.revision, al.last_activity), (3, t(3)));
    // No change: no revision.
    m.set_severity(&a, SensorSeverity::Warning, t(4)).unwrap();
    m.set_status(&a, Status::New, t(4)).unwrap();
    assert_eq!(m.get(&a).unwrap().revision, 3);
    // Comments are bounded: the one past the limit is refused, the alert
    // keeps what it had.
    for i in 1..crate::manager::MAX_COMMENTS {
        m.comment(&a, t(5), "bob", &format!("note {i}")).unwrap();
    }
    let before = m.get(&a).unwrap().clone();
    assert_eq!(before.comments.len(), crate::manager::MAX_COMMENTS);
    assert_eq!(
        m.comment(&a, t(6), "bob", "one more"),
        Err(TriageError::TooManyComments(a.clone()))
    );
    assert_eq!(m.get(&a).unwrap(), &before);
}

#[test]
fn revision_strictly_increases_on_every_change() {
    let cfg = ManagerConfig {
        retention_ns: 365 * DAY_NS,
        ..ManagerConfig::default()
    };
    let mut m = AlertManager::new(Catalog::builtin().clone(), "s1".into(), cfg);
    let a = created(m.ingest(scan(0, "10.0.0.5", "10.0.0.9")));
    let mut last = m.get(&a).unwrap().revision;
    let mut check = |m: &AlertManager, what: &str| {
        let r = m.get(&a).unwrap().revision;
        assert!(r > last, "{what}: revision {r} after {last}");
        last = r;
    };
    m.ingest(scan(1, "10.0.0.5", "10.0.0.9"));
    check(&m, "update");
    m.set_status(&a, Status::Active, t(2)).unwrap();
    check(&m, "active");
    m.comment(&a, t(3), "u", "c").unwrap();
    check(&m, "comment");
    m.set_severity(&a, SensorSeverity::Minor, t(4)).unwrap();
    check(&m, "severity");
    m.learn(&a, t(5)).unwrap();
    check(&m, "learn");
    m.unlearn(&a, t(6)).unwrap();
    check(&m, "unlearn");
    m.mute(&a, t(7)).unwrap();
    check(&m, "mute");
    m.unmute(&a, t(8)).unwrap();
    check(&m, "unmute");
    m.set_status(&a, Status::New, t(9)).unwrap();
    check(&m, "reopen");
    m.set_status(&a, Status::Closed, t(10)).unwrap();
    check(&m, "close");
    m.set_status(&a, Status::New, t(11)).unwrap();
    check(&m, "reopen");
    let r = m.tick(t(11).add_nanos(m.config().auto_close_after_ns));
    assert_eq!(r.closed, vec![a.clone()]);
    check(&m, "auto-close");
}

#[test]
fn auto_close_at_the_exact_boundary() {
    let cfg = ManagerConfig {
        auto_close_after_ns: 100 * S,
        retention_ns: 1_000 * S,
        ..ManagerConfig::default()
    };
    let mut m = AlertManager::new(Catalog::builtin().clone(), "s1".into(), cfg);
    let a = created(m.ingest(scan(0, "10.0.0.5", "10.0.0.9")));
    m.ingest(scan(50, "10.0.0.5", "10.0.0.9")); // resets the count
    m.drain_events();
    let edge = t(150);
    assert_eq!(m.tick(edge.add_nanos(-1)), TickReport::default());
    assert_eq!(m.get(&a).unwrap().status, Status::New);
    let r = m.tick(edge);
    assert_eq!(r.closed, vec![a.clone()]);
    assert!(r.deleted.is_empty());
    let al = m.get(&a).unwrap();
    assert_eq!(
        (al.status, al.revision, al.last_activity),
        (Status::Closed, 3, edge)
    );
    let ev = m.drain_events();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].kind, TimelineKind::Closed);
    assert!(ev[0].message.contains("automatically"), "{}", ev[0].message);
    // Closed alerts are not closed again.
    assert_eq!(m.tick(t(200)), TickReport::default());
    assert_eq!(m.stats().auto_closed, 1);
}

#[test]
fn stale_open_alert_is_closed_when_traffic_returns_without_a_tick() {
    let cfg = ManagerConfig {
        auto_close_after_ns: 100 * S,
        ..ManagerConfig::default()
    };
    let mut m = AlertManager::new(Catalog::builtin().clone(), "s1".into(), cfg);
    let a = created(m.ingest(scan(0, "10.0.0.5", "10.0.0.9")));
    assert_eq!(
        m.ingest(scan(99, "10.0.0.5", "10.0.0.9")),
        Outcome::Updated(a.clone())
    );
    // 100 s after the last detection: the old alert closes, a new one opens.
    let b = created(m.ingest(scan(199, "10.0.0.5", "10.0.0.9")));
    assert_ne!(a, b);
    assert_eq!(m.get(&a).unwrap().status, Status::Closed);
    assert_eq!(m.get(&a).unwrap().last_detection, t(99));
}

#[test]
fn retention_at_the_exact_boundary() {
    let cfg = ManagerConfig {
        auto_close_after_ns: 10_000 * S,
        retention_ns: 1_000 * S,
        ..ManagerConfig::default()
    };
    let mut m = AlertManager::new(Catalog::builtin().clone(), "s1".into(), cfg);
    let a = created(m.ingest(scan(0, "10.0.0.5", "10.0.0.9")));
    let b = created(m.ingest(scan(10, "10.0.0.6", "10.0.0.9")));
    m.learn(&b, t(11)).unwrap();
    // Recent traffic does not extend retention (measured from first detection).
    m.ingest(scan(999, "10.0.0.5", "10.0.0.9"));
    m.drain_events();
    assert_eq!(m.tick(t(1_000).add_nanos(-1)), TickReport::default());
    let r = m.tick(t(1_000));
    assert_eq!(r.deleted, vec![a.clone()]);
    assert!(m.get(&a).is_none());
    // Learned alerts expire too (any status); the learned key stays.
    let r = m.tick(t(1_010));
    assert_eq!(r.deleted, vec![b.clone()]);
    assert_eq!(m.learned_keys().count(), 1);
    assert_eq!(
        m.ingest(scan(1_011, "10.0.0.6", "10.0.0.9")),
        Outcome::Suppressed(Suppression::Learned)
    );
    assert_eq!(
        kinds(&mut m),
        [TimelineKind::Deleted, TimelineKind::Deleted]
    );
    // The deleted alert's traffic makes a new alert with a new sequence.
    assert_eq!(
        created(m.ingest(scan(1_012, "10.0.0.5", "10.0.0.9"))),
        "s1-3"
    );
    assert_eq!(m.stats().expired, 2);
    assert!(m.set_status(&a, Status::Closed, t(1_013)).is_err());
}

#[test]
fn memory_is_bounded_oldest_closed_first() {
    let cfg = ManagerConfig {
        max_alerts: 3,
        max_events: 4,
        ..ManagerConfig::default()
    };
    let mut m = AlertManager::new(Catalog::builtin().clone(), "s1".into(), cfg);
    let ids: Vec<String> = (1..=3)
        .map(|i| created(m.ingest(scan(i, &format!("10.0.0.{i}"), "10.0.0.100"))))
        .collect();
    m.set_status(&ids[1], Status::Closed, t(4)).unwrap();
    // Full: the closed one goes first, although older open ones exist.
    let d = created(m.ingest(scan(5, "10.0.0.4", "10.0.0.100")));
    assert_eq!(m.len(), 3);
    assert!(m.get(&ids[1]).is_none());
    assert!(m.get(&ids[0]).is_some());
    // No closed alert: the oldest goes.
    created(m.ingest(scan(6, "10.0.0.5", "10.0.0.100")));
    assert!(m.get(&ids[0]).is_none());
    assert_eq!(
        m.alerts().map(|a| a.id.as_str()).collect::<Vec<_>>(),
        [ids[2].as_str(), d.as_str(), "s1-5"]
    );
    // Evicted traffic opens a fresh alert (its index entry went with it).
    created(m.ingest(scan(7, "10.0.0.1", "10.0.0.100")));
    assert_eq!(m.stats().evicted, 3);
    for i in 0..100 {
        m.ingest(scan(10 + i, "10.0.0.1", "10.0.0.100"));
    }
    assert_eq!(m.len(), 3);
    let ev = m.drain_events();
    assert_eq!(ev.len(), 4);
    assert!(m.stats().events_dropped > 100);
    // Event order is kept: the newest last.
    assert_eq!(ev[3].ts, t(109));
}

#[test]
fn exclusion_rules_are_checked_before_creation() {
    let mut m = mgr();
    let rules = parse_rules(
        r#"
[[exclusion]]
name = "maintenance"
time_zone = "+02:00"
windows = [{ start = "02:00", end = "04:00" }]
devices = [{ address = "10.0.0.0/24", direction = "source" }]
titles = ["Port Scan Detected"]
sensors = ["s1"]

[[exclusion]]
name = "other sensor"
sensors = ["s2"]
"#,
    )
    .unwrap();
    m.set_exclusions(rules).unwrap();
    // t(0) is 00:00 UTC = 02:00 at +02:00.
    assert_eq!(
        m.ingest(scan(0, "10.0.0.5", "10.0.1.9")),
        Outcome::Excluded("maintenance".into())
    );
    assert_eq!(
        m.ingest(scan(7_199, "10.0.0.6", "10.0.1.9")),
        Outcome::Excluded("maintenance".into())
    );
    // Outside the window, outside the subnet, other title, other direction.
    let a = created(m.ingest(scan(7_200, "10.0.0.5", "10.0.1.9")));
    created(m.ingest(scan(0, "10.0.1.5", "10.0.0.9")));
    created(m.ingest(dnp3(0, "10.0.0.5", "10.0.1.9", 13)));
    // An excluded detection does not update an open alert either.
    m.set_status(&a, Status::Active, t(7_201)).unwrap();
    assert_eq!(
        m.ingest(scan(86_400, "10.0.0.5", "10.0.1.9")),
        Outcome::Excluded("maintenance".into())
    );
    assert_eq!(m.get(&a).unwrap().violation_count, 1);
    assert_eq!(m.exclusion_hits().get("maintenance"), Some(&3));
    assert_eq!(m.exclusion_hits().get("other sensor"), None);
    assert_eq!(m.stats().excluded, 3);
    let ev = m.drain_events();
    let ex: Vec<_> = ev
        .iter()
        .filter(|e| e.kind == TimelineKind::Excluded)
        .collect();
    assert_eq!(ex.len(), 3);
    assert!(ex[0].alert_id.is_none() && ex[0].message.contains("\"maintenance\""));
    assert_eq!(ex[0].title, "Port Scan Detected");
    // Titles are checked against the catalog; names must be unique.
    let bad = parse_rules("[[exclusion]]\nname = \"x\"\ntitles = [\"Nope\"]").unwrap();
    assert!(matches!(
        m.set_exclusions(bad),
        Err(ExclusionError::Invalid {
            field: "titles",
            ..
        })
    ));
    let r = parse_rules("[[exclusion]]\nname = \"x\"").unwrap();
    let twice = vec![r[0].clone(), r[0].clone()];
    assert_eq!(
        m.set_exclusions(twice),
        Err(ExclusionError::DuplicateName("x".into()))
    );
    assert_eq!(
        m.exclusions().len(),
        2,
        "a refused set leaves the rules alone"
    );
    // Learned and muted suppression come first.
    m.set_exclusions(r).unwrap();
    assert!(m.exclusion_hits().is_empty());
}

#[test]
fn resume_continues_the_sequence_and_suppression() {
    let mut m = mgr();
    let a = created(m.ingest(scan(0, "10.0.0.5", "10.0.0.9")));
    let b = created(m.ingest(dnp3(1, "10.0.0.5", "10.0.0.9", 13)));
    m.learn(&b, t(2)).unwrap();
    let c = created(m.ingest(scan(3, "10.0.0.7", "10.0.0.9")));
    m.mute(&c, t(4)).unwrap();
    let saved: Vec<(Alert, ScenarioKey)> = m
        .alerts()
        .map(|al| (al.clone(), m.scenario_key(&al.id).unwrap().clone()))
        .collect();
    let learned: Vec<ScenarioKey> = m.learned_keys().cloned().collect();
    let muted: Vec<ScenarioKey> = m.muted_keys().cloned().collect();
    let mut r = AlertManager::resume(
        Catalog::builtin().clone(),
        "s1".into(),
        ManagerConfig::default(),
        m.next_sequence(),
        saved.clone(),
        learned.clone(),
        muted.clone(),
    )
    .unwrap();
    assert_eq!(r.next_sequence(), 4);
    assert_eq!(
        r.ingest(scan(5, "10.0.0.5", "10.0.0.9")),
        Outcome::Updated(a)
    );
    assert_eq!(
        r.ingest(dnp3(6, "10.0.0.5", "10.0.0.9", 13)),
        Outcome::Suppressed(Suppression::Learned)
    );
    assert_eq!(
        r.ingest(scan(7, "10.0.0.7", "10.0.0.9")),
        Outcome::Suppressed(Suppression::Muted)
    );
    assert_eq!(created(r.ingest(scan(8, "10.0.0.8", "10.0.0.9"))), "s1-4");
    r.unlearn(&b, t(9)).unwrap();
    let behind = AlertManager::resume(
        Catalog::builtin().clone(),
        "s1".into(),
        ManagerConfig::default(),
        3,
        saved.clone(),
        [],
        [],
    );
    assert!(matches!(
        behind,
        Err(ResumeError::SequenceAhead {
            seq: 3,
            next: 3,
            ..
        })
    ));
    let other = AlertManager::resume(
        Catalog::builtin().clone(),
        "s9".into(),
        ManagerConfig::default(),
        10,
        saved,
        [],
        [],
    );
    assert!(matches!(other, Err(ResumeError::OtherSensor { .. })));
}

#[test]
fn scenario_keys_serialize_for_the_baseline() {
    let ty = Catalog::builtin().get("dnp3_function_code").unwrap();
    let k = ScenarioKey::of(ty, &dnp3(0, "10.0.0.5", "10.0.0.9", 13));
    let j = serde_json::to_string(&k).unwrap();
    assert_eq!(
        j,
        r#"{"type_id":"dnp3_function_code","fields":[["src","10.0.0.5"],["dst","10.0.0.9"],["function_code","13"]]}"#
    );
    // Missing key fields are empty, protocol comes from the detection.
    let ty = Catalog::builtin().get("plc_programming").unwrap();
    let d = Detection::new("plc_programming", t(0), ep("10.0.0.5"), Endpoint::default())
        .protocol("s7comm");
    let k = ScenarioKey::of(ty, &d);
    assert_eq!(
        k.to_string(),
        "plc_programming src=10.0.0.5 dst= protocol=s7comm"
    );
}

#[test]
fn device_ids_and_pcap_state_bump_the_revision_only_on_change() {
    let mut m = mgr();
    let id = created(m.ingest(scan(0, "10.0.0.5", "10.0.0.9")));
    let r0 = m.get(&id).unwrap().revision;
    m.set_device_ids(&id, (Some(3), None), (Some(4), Some("plc".into())), t(1))
        .unwrap();
    let a = m.get(&id).unwrap();
    assert_eq!((a.source.id, a.destination.id), (Some(3), Some(4)));
    assert_eq!(a.destination.name.as_deref(), Some("plc"));
    assert_eq!(a.revision, r0 + 1);
    m.set_device_ids(&id, (Some(3), None), (Some(4), Some("plc".into())), t(2))
        .unwrap();
    assert_eq!(m.get(&id).unwrap().revision, r0 + 1);

    m.set_pcap(&id, Some("pcaps/s1-1.pcap".into()), t(3))
        .unwrap();
    let a = m.get(&id).unwrap();
    assert!(a.pcap_available);
    assert_eq!(a.revision, r0 + 2);
    m.set_pcap(&id, None, t(4)).unwrap();
    let a = m.get(&id).unwrap();
    assert!(!a.pcap_available);
    assert_eq!(a.pcap.as_deref(), Some("pcaps/s1-1.pcap"));
    assert_eq!(a.revision, r0 + 3);
    m.set_pcap(&id, None, t(5)).unwrap();
    assert_eq!(m.get(&id).unwrap().revision, r0 + 3);
    assert!(matches!(
        m.set_pcap("s1-99", None, t(6)),
        Err(TriageError::UnknownAlert(_))
    ));
}
