//! Custom alert rules on generated traffic, through the pipeline and the
//! alert manager.

use otwatch_alerts::{AlertManager, Catalog, ManagerConfig, Outcome, SensorSeverity};
use otwatch_capture::{LinkType, Packet};
use otwatch_engines::Engines;
use otwatch_engines::custom::{CustomRules, RuleError, parse_rules};
use otwatch_pipeline::{Config, Pipeline};

fn detections(rules: &str, scenario: &str) -> Vec<otwatch_alerts::Detection> {
    let rules = parse_rules(rules).expect("rules parse");
    let mut e = Engines::new();
    e.push(Box::new(CustomRules::new(rules)));
    let cap = otwatch_sim::generate(scenario, 7).expect("scenario");
    let mut p = Pipeline::new(Config::default(), e);
    for (i, (ts, data)) in cap.packets.iter().enumerate() {
        p.process(&Packet {
            ts: *ts,
            link: LinkType::from_linktype(cap.linktype as i32).unwrap(),
            data,
            orig_len: data.len() as u32,
            input: 0,
            record: i as u64 + 1,
        });
    }
    p.finish();
    let mut e = p.into_sink();
    e.finish();
    e.drain().collect()
}

const WRITES: &str = r#"
[[rule]]
name = "Register writes to the M340"
protocol = "modbus"
severity = "Critical"
title = "Write to the dosing PLC"
message = "FC{code} at register {modbus.address} ({modbus.quantity} registers) from {src_ip} to {dst_ip}"
devices = [{ address = "10.10.1.21", direction = "destination" }]
conditions = [
  { field = "kind", op = "==", value = "request" },
  { field = "code", op = "in", value = [6, 16] },
  { field = "modbus.address", op = ">=", value = 100 },
]
"#;

#[test]
fn a_matching_write_raises_an_alert_with_the_rules_title_severity_and_values() {
    let d = detections(WRITES, "modbus_writes");
    assert!(!d.is_empty(), "the FC16 write at register 100 matches");
    assert!(d.iter().all(|x| x.type_id == "user_defined_rule"));
    let fc16 = d
        .iter()
        .find(|x| x.message.starts_with("FC16"))
        .expect("FC16 detection");
    assert_eq!(
        fc16.message,
        "FC16 at register 100 (10 registers) from 192.168.10.50 to 10.10.1.21"
    );
    assert_eq!(fc16.severity, Some(SensorSeverity::Critical));
    assert_eq!(fc16.title.as_deref(), Some("Write to the dosing PLC"));
    assert_eq!(
        fc16.key.get("rule").map(String::as_str),
        Some("Register writes to the M340")
    );

    let mut m = AlertManager::new(
        Catalog::builtin().clone(),
        "s1".into(),
        ManagerConfig::default(),
    );
    for x in d {
        m.ingest(x);
    }
    let alerts: Vec<_> = m.alerts().collect();
    assert_eq!(alerts.len(), 1, "one alert per rule and device pair");
    let a = alerts[0];
    assert_eq!(a.title, "Write to the dosing PLC");
    assert_eq!(a.sensor_severity, SensorSeverity::Critical);
    assert_eq!(a.category, "Custom Alerts");
}

#[test]
fn each_condition_can_prevent_the_match() {
    for (from, to) in [
        // Another destination.
        ("10.10.1.21", "10.10.1.99"),
        // Responses only.
        (r#"value = "request""#, r#"value = "response""#),
        // A function code that is not used.
        ("[6, 16]", "[65]"),
        // Registers far above the ones written.
        (r#"op = ">=", value = 100"#, r#"op = ">=", value = 60000"#),
        // A field the messages do not have.
        ("modbus.address", "modbus.no_such_field"),
    ] {
        let rules = WRITES.replace(from, to);
        assert_ne!(rules, WRITES, "{from}");
        let d = detections(&rules, "modbus_writes");
        assert!(
            d.is_empty(),
            "{from} -> {to}: {:?}",
            d.first().map(|x| &x.message)
        );
    }
}

#[test]
fn disabled_rules_and_other_protocols_are_silent() {
    let off = WRITES.replace(
        "protocol = \"modbus\"",
        "protocol = \"modbus\"\nenabled = false",
    );
    assert!(detections(&off, "modbus_writes").is_empty());
    assert!(detections(WRITES, "dnp3_control").is_empty());
}

#[test]
fn time_windows_and_days_limit_the_rule() {
    // The scenario runs on Monday 2024-06-10 at 08:00 UTC.
    let base = r#"
[[rule]]
name = "Any DNP3 operate"
protocol = "dnp3"
time_zone = "+00:00"
WINDOW
conditions = [{ field = "code", op = "in", value = [3, 4, 5] }]
"#;
    let inside = base.replace(
        "WINDOW",
        r#"windows = [{ start = "07:00", end = "09:00" }]"#,
    );
    let outside = base.replace(
        "WINDOW",
        r#"windows = [{ start = "17:00", end = "06:00" }]"#,
    );
    let monday = base.replace("WINDOW", r#"days = ["mon"]"#);
    let weekend = base.replace("WINDOW", r#"days = ["sat", "sun"]"#);
    assert!(!detections(&inside, "dnp3_control").is_empty());
    assert!(detections(&outside, "dnp3_control").is_empty());
    assert!(!detections(&monday, "dnp3_control").is_empty());
    assert!(detections(&weekend, "dnp3_control").is_empty());
}

#[test]
fn event_action_records_a_timeline_event_and_no_alert() {
    let rules = WRITES.replace(
        "severity = \"Critical\"",
        "severity = \"Critical\"\naction = \"event\"",
    );
    let d = detections(&rules, "modbus_writes");
    assert!(!d.is_empty());
    let mut m = AlertManager::new(
        Catalog::builtin().clone(),
        "s1".into(),
        ManagerConfig::default(),
    );
    for x in d {
        assert_eq!(m.ingest(x), Outcome::Event);
    }
    assert_eq!(m.len(), 0);
    let ev = m.drain_events();
    assert!(
        ev.iter()
            .any(|e| e.kind.api_name() == "USER_DEFINED_RULE_OPERATION"
                && e.title == "Write to the dosing PLC")
    );
}

#[test]
fn learned_and_excluded_custom_alerts_are_suppressed() {
    let d = detections(WRITES, "modbus_writes");
    let mut m = AlertManager::new(
        Catalog::builtin().clone(),
        "s1".into(),
        ManagerConfig::default(),
    );
    let Outcome::Created(id) = m.ingest(d[0].clone()) else {
        panic!("first detection creates the alert")
    };
    m.learn(&id, d[0].ts).unwrap();
    assert!(matches!(m.ingest(d[0].clone()), Outcome::Suppressed(_)));

    let mut m = AlertManager::new(
        Catalog::builtin().clone(),
        "s1".into(),
        ManagerConfig::default(),
    );
    m.set_exclusions(
        otwatch_alerts::parse_rules(
            r#"
[[exclusion]]
name = "maintenance"
devices = [{ address = "192.168.10.50", direction = "source" }]
"#,
        )
        .unwrap(),
    )
    .unwrap();
    assert!(matches!(m.ingest(d[0].clone()), Outcome::Excluded(_)));
}

#[test]
fn a_message_matches_once_per_second_per_device_pair() {
    let rules = r#"
[[rule]]
name = "Every poll"
protocol = "modbus"
conditions = [{ field = "code", op = "==", value = 3 }]
"#;
    let d = detections(rules, "modbus_polling");
    // Ten one-second cycles, two PLCs, requests and responses: at most one
    // detection per pair and second.
    assert!(!d.is_empty());
    let mut seen = std::collections::BTreeSet::new();
    for x in &d {
        assert!(seen.insert((x.src.ip, x.dst.ip, x.ts.secs())), "{x:?}");
    }
}

#[test]
fn invalid_rules_say_which_rule_and_field() {
    let cases = [
        (
            r#"[[rule]]
name = "a"
protocol = "modbus""#,
            "conditions",
        ),
        (
            r#"[[rule]]
name = "a"
protocol = "nope"
conditions = [{ field = "code", op = "==", value = 1 }]"#,
            "protocol",
        ),
        (
            r#"[[rule]]
name = "a"
protocol = "modbus"
conditions = [{ field = "code", op = "~", value = 1 }]"#,
            "conditions",
        ),
        (
            r#"[[rule]]
name = "a"
protocol = "modbus"
conditions = [{ field = "code", op = "in", value = 1 }]"#,
            "conditions",
        ),
        (
            r#"[[rule]]
name = "a"
protocol = "modbus"
severity = "urgent"
conditions = [{ field = "code", op = "==", value = 1 }]"#,
            "severity",
        ),
        (
            r#"[[rule]]
name = "a"
protocol = "modbus"
windows = [{ start = "08:00", end = "09:00" }]
conditions = [{ field = "code", op = "==", value = 1 }]"#,
            "time_zone",
        ),
        (
            r#"[[rule]]
name = "a\"b"
protocol = "modbus"
conditions = [{ field = "code", op = "==", value = 1 }]"#,
            "name",
        ),
    ];
    for (text, field) in cases {
        match parse_rules(text) {
            Err(RuleError::Invalid { field: f, .. }) => assert_eq!(f, field, "{text}"),
            other => panic!("{text}: {other:?}"),
        }
    }
    let dup = format!("{WRITES}\n{WRITES}");
    assert!(matches!(
        parse_rules(&dup),
        Err(RuleError::DuplicateName(_))
    ));
    assert!(matches!(parse_rules("[[rule]\n"), Err(RuleError::Parse(_))));
}
