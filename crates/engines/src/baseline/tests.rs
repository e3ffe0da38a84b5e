use super::*;
use std::net::Ipv4Addr;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn chan() -> ChanKey {
    ChanKey {
        client: ip("10.0.0.5"),
        server: ip("10.0.0.9"),
        proto: Proto::Modbus,
        port: 502,
    }
}

const T0: i64 = 1_700_000_000 * NS;

#[test]
fn new_baseline_learns() {
    let b = Baseline::new();
    assert!(b.learning());
    assert!(b.learning.auto_end);
    assert_eq!(b.stats().devices, 0);
}

#[test]
fn json_round_trip_is_stable() {
    let mut b = Baseline::new();
    let k = chan();
    b.see_device(ip("10.0.0.5"), None, T0);
    b.observe(&k, Kind::FunctionCode, 3, true, T0, String::new);
    b.observe(
        &k,
        Kind::Symbol,
        hash_bytes(b"Tank_Level"),
        true,
        T0,
        || "Tank_Level".to_string(),
    );
    b.learn_range(&k, 3, 0, 9, T0);
    b.learn_conn(ip("10.0.0.5"), ip("10.0.0.9"), 22, T0);
    b.set_ot_subnets(&["10.1.0.0/16".parse().unwrap()]);
    b.note_ot_device(ip("192.168.7.3"));
    b.note_scenario(
        ScenarioId {
            src: ip("10.0.0.5"),
            proto: Proto::Dns,
        },
        T0,
    );
    b.set_fqdn_allowlist(&["Updates.Example.com.".to_string()]);
    b.see_device(ip("10.0.0.9"), None, T0);
    let j = b.to_json();
    let c = Baseline::from_json(&j).expect("parse");
    assert_eq!(c.to_json(), j, "save(load(save(b))) == save(b)");
    // One record per line: each device and channel on a line of its own,
    // the same JSON as the indented form.
    let text = String::from_utf8(j.clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "{");
    assert_eq!(lines[1], "  \"version\": 1,");
    assert_eq!(*lines.last().unwrap(), "}");
    let records = |key: &str| {
        let at = lines
            .iter()
            .position(|l| l.starts_with(&format!("  \"{key}\": [")))
            .unwrap();
        lines[at + 1..]
            .iter()
            .take_while(|l| !l.starts_with("  ]"))
            .map(|l| l.trim_end_matches(','))
            .collect::<Vec<_>>()
    };
    let devices = records("devices");
    assert_eq!(devices.len(), 2);
    assert!(
        devices[0].starts_with("    {\"ip\":\"10.0.0.5\","),
        "{}",
        devices[0]
    );
    let channels = records("channels");
    assert_eq!(channels.len(), 1);
    assert!(channels[0].contains("\"entries\":[{"), "{}", channels[0]);
    let as_value = |b: &[u8]| serde_json::from_slice::<serde_json::Value>(b).unwrap();
    let pretty = serde_json::to_vec_pretty(&as_value(&j)).unwrap();
    assert_eq!(as_value(&pretty), as_value(&j));
    assert!(j.len() < pretty.len());
    assert!(c.knows(&k, Kind::FunctionCode, 3));
    assert!(c.knows(&k, Kind::Symbol, hash_bytes(b"Tank_Level")));
    assert!(!c.knows(&k, Kind::FunctionCode, 4));
    assert_eq!(c.range_known(&k, 3, 2, 5), Some(true));
    assert_eq!(c.range_known(&k, 3, 8, 12), Some(false));
    assert!(c.knows_conn(ip("10.0.0.5"), ip("10.0.0.9"), 22));
    assert!(c.is_ot(ip("10.1.200.1")));
    assert!(c.is_ot(ip("192.168.7.200")));
    assert!(!c.is_ot(ip("192.168.8.1")));
    assert_eq!(c.fqdn_allowlist(), ["updates.example.com"]);
    assert_eq!(c.stats(), b.stats());
    let text = String::from_utf8(j).unwrap();
    assert!(text.contains("\"version\": 1"));
    assert!(text.contains("\"Tank_Level\""));
}

#[test]
fn bad_json_names_what_and_where() {
    let e = Baseline::from_json(b"{\"version\": 1, \"learning\": {\"on\": \"yes\"}}")
        .unwrap_err()
        .to_string();
    assert!(e.contains("line 1"), "{e}");
    assert!(e.contains("invalid type"), "{e}");
    let e = Baseline::from_json(b"{\"version\": 7, \"learning\": {}}")
        .unwrap_err()
        .to_string();
    assert!(e.contains("version 7"), "{e}");
    let e = Baseline::from_json(b"{\"learning\": {}}")
        .unwrap_err()
        .to_string();
    assert!(e.contains("version"), "{e}");
    let e = Baseline::from_json(b"not json").unwrap_err().to_string();
    assert!(e.contains("not a valid baseline"), "{e}");
    let bad_proto = br#"{"version":1,"learning":{},"channels":[{"client":"10.0.0.1","server":"10.0.0.2","proto":"bogus","port":1,"first_seen":0}]}"#;
    let e = Baseline::from_json(bad_proto).unwrap_err().to_string();
    assert!(e.contains("channels[0]") && e.contains("bogus"), "{e}");
    let bad_num = br#"{"version":1,"learning":{},"channels":[{"client":"10.0.0.1","server":"10.0.0.2","proto":"modbus","port":502,"first_seen":0,"entries":[{"kind":"function_code","value":"x"}]}]}"#;
    let e = Baseline::from_json(bad_num).unwrap_err().to_string();
    assert!(e.contains("channels[0].entries[0]"), "{e}");
    let unknown = br#"{"version":1,"learning":{},"colour":"blue"}"#;
    let e = Baseline::from_json(unknown).unwrap_err().to_string();
    assert!(e.contains("colour"), "{e}");
}

#[test]
fn caps_refuse_and_count() {
    let mut b = Baseline::new();
    b.caps = Caps {
        devices: 2,
        channels: 1,
        entries: 3,
        scenarios: 1,
    };
    for i in 1..=4u8 {
        b.see_device(IpAddr::V4(Ipv4Addr::new(10, 0, 0, i)), None, T0);
    }
    assert_eq!(b.stats().devices, 2);
    assert_eq!(b.stats().refused.devices, 2);
    let k = chan();
    let mut k2 = chan();
    k2.port = 503;
    assert_eq!(
        b.observe(&k, Kind::FunctionCode, 1, true, T0, String::new),
        Seen::Learned
    );
    assert_eq!(
        b.observe(&k2, Kind::FunctionCode, 1, true, T0, String::new),
        Seen::Refused
    );
    assert_eq!(b.stats().refused.channels, 1);
    for fc in 2..=5 {
        b.observe(&k, Kind::FunctionCode, fc, true, T0, String::new);
    }
    assert_eq!(b.stats().entries, 3);
    assert_eq!(b.stats().refused.entries, 2);
    let s = |n| ScenarioId {
        src: IpAddr::V4(Ipv4Addr::new(10, 0, 0, n)),
        proto: Proto::Dns,
    };
    b.note_scenario(s(1), T0);
    b.note_scenario(s(2), T0);
    assert_eq!(b.stats().refused.scenarios, 1);
}

#[test]
fn ranges_merge_and_stay_bounded() {
    let mut b = Baseline::new();
    let k = chan();
    b.learn_range(&k, 3, 0, 9, T0);
    b.learn_range(&k, 3, 10, 19, T0); // adjacent: merged
    b.learn_range(&k, 3, 100, 109, T0);
    assert_eq!(b.range_known(&k, 3, 0, 19), Some(true));
    assert_eq!(b.range_known(&k, 3, 15, 100), Some(false));
    assert_eq!(b.range_known(&k, 4, 0, 1), None);
    assert_eq!(b.channel(&k).unwrap().ranges.len(), 2);
    for i in 0..200u16 {
        b.learn_range(&k, 6, i * 100, i * 100, T0);
    }
    assert_eq!(
        b.channel(&k)
            .unwrap()
            .ranges
            .iter()
            .filter(|r| r.function_code == 6)
            .count(),
        MAX_RANGES
    );
    // Every learned address is still inside the baseline.
    for i in 0..200u16 {
        assert_eq!(b.range_known(&k, 6, i * 100, i * 100), Some(true));
    }
    assert!(b.forget_range(&k, 3, 5, 9));
    assert_eq!(b.range_known(&k, 3, 5, 5), Some(false));
    assert_eq!(b.range_known(&k, 3, 0, 4), Some(true));
    assert_eq!(b.range_known(&k, 3, 10, 19), Some(true));
}

#[test]
fn auto_end_needs_duration_and_quiet_day() {
    let mut b = Baseline::new();
    b.learning.min_duration_s = 2 * 24 * 3600;
    b.learning.max_new_per_day = 3;
    b.start_clock(Timestamp(T0));
    let k = chan();
    // Busy first day: many new entries.
    for fc in 0..10 {
        b.observe(
            &k,
            Kind::FunctionCode,
            fc,
            true,
            T0 + fc as i64 * NS,
            String::new,
        );
    }
    assert!(!b.check_auto_end(Timestamp(T0 + DAY_NS)), "too early");
    // Day 2.5: two new entries in the last 24 h (< 3), duration reached.
    b.observe(
        &k,
        Kind::FunctionCode,
        100,
        true,
        T0 + 2 * DAY_NS,
        String::new,
    );
    b.observe(
        &k,
        Kind::FunctionCode,
        101,
        true,
        T0 + 2 * DAY_NS + HOUR_NS,
        String::new,
    );
    assert!(b.learning());
    assert!(b.check_auto_end(Timestamp(T0 + 2 * DAY_NS + 12 * HOUR_NS)));
    assert!(!b.learning());
    assert_eq!(b.learning.ended, T0 + 2 * DAY_NS + 12 * HOUR_NS);

    // Still busy at the minimum duration: learning goes on.
    let mut c = Baseline::new();
    c.learning.min_duration_s = 3600;
    c.learning.max_new_per_day = 3;
    c.start_clock(Timestamp(T0));
    for fc in 0..5 {
        c.observe(
            &k,
            Kind::FunctionCode,
            fc,
            true,
            T0 + 2 * HOUR_NS,
            String::new,
        );
    }
    assert!(!c.check_auto_end(Timestamp(T0 + 3 * HOUR_NS)));
    assert!(c.learning());
    // ... and ends once the day has been quiet.
    assert!(c.check_auto_end(Timestamp(T0 + 27 * HOUR_NS)));

    // auto_end = false disables the rule.
    let mut d = Baseline::new();
    d.learning.auto_end = false;
    d.learning.min_duration_s = 0;
    d.start_clock(Timestamp(T0));
    assert!(!d.check_auto_end(Timestamp(T0 + 30 * DAY_NS)));
    assert!(d.learning());
}

#[test]
fn smart_it_window_extends_and_expires() {
    let mut b = Baseline::new();
    let s = ScenarioId {
        src: ip("10.0.0.5"),
        proto: Proto::Dns,
    };
    assert!(!b.smart_it_active(s, T0), "never seen");
    assert!(b.smart_it_active(s, T0 + 6 * DAY_NS), "within 7 days");
    // The sighting at day 6 extended the window to day 13.
    assert!(b.smart_it_active(s, T0 + 12 * DAY_NS));
    // Silent for 7 full days: no longer active.
    assert!(!b.smart_it_active(s, T0 + 19 * DAY_NS + 1));
    // Off: never active.
    b.smart_it = false;
    assert!(!b.smart_it_active(s, T0 + 19 * DAY_NS + 2));
}

#[test]
fn subnets_configured_learned_all() {
    let mut b = Baseline::new();
    assert!(!b.is_ot(ip("10.0.0.1")));
    b.note_ot_device(ip("10.0.0.1"));
    assert!(b.is_ot(ip("10.0.0.254")));
    assert!(!b.is_ot(ip("10.0.1.1")));
    // Public addresses are never auto-learned.
    b.note_ot_device(ip("8.8.8.8"));
    assert!(!b.is_ot(ip("8.8.8.9")));
    b.note_ot_device(ip("fd00:1::5"));
    assert!(b.is_ot(ip("fd00:1::99")));
    b.set_ot_subnets(&["172.16.0.0/12".parse().unwrap()]);
    assert!(b.is_ot(ip("172.20.1.1")));
    b.set_ot_subnets(&[]);
    assert!(!b.is_ot(ip("172.20.1.1")));
    b.set_all_ot(true);
    assert!(b.is_ot(ip("8.8.8.8")));
}

#[test]
fn devices_authorized_only_while_learning() {
    let mut b = Baseline::new();
    assert_eq!(b.see_device(ip("10.0.0.1"), None, T0), Seen::Learned);
    assert_eq!(b.see_device(ip("10.0.0.1"), None, T0), Seen::Known);
    b.set_learning(false, Timestamp(T0 + NS));
    assert_eq!(b.see_device(ip("10.0.0.2"), None, T0 + 2 * NS), Seen::New);
    assert!(b.device(ip("10.0.0.1")).unwrap().authorized);
    assert!(!b.device(ip("10.0.0.2")).unwrap().authorized);
}

#[test]
fn fqdn_allowlist_and_ttl() {
    let mut b = Baseline::new();
    b.set_fqdn_allowlist(&["example.com".into()]);
    let l = |s: &'static str| s.split('.').map(str::as_bytes);
    assert!(b.fqdn_allowed(l("example.com")));
    assert!(b.fqdn_allowed(l("UPDATES.example.COM")));
    assert!(!b.fqdn_allowed(l("badexample.com")));
    assert!(!b.fqdn_allowed(l("com")));
    b.allow_ip(ip("93.184.216.34"), 300, T0);
    assert!(b.ip_allowed(ip("93.184.216.34"), T0 + 299 * NS));
    assert!(!b.ip_allowed(ip("93.184.216.34"), T0 + 301 * NS));
    // The TTL is bounded.
    b.allow_ip(ip("93.184.216.35"), u32::MAX, T0);
    assert!(!b.ip_allowed(ip("93.184.216.35"), T0 + (MAX_ALLOW_TTL_S as i64 + 1) * NS));
}

#[test]
fn remove_channel_and_forget() {
    let mut b = Baseline::new();
    let k = chan();
    b.observe(&k, Kind::FunctionCode, 3, true, T0, String::new);
    b.observe(&k, Kind::FunctionCode, 4, true, T0, String::new);
    assert!(b.forget(&k, Kind::FunctionCode, 3));
    assert!(!b.knows(&k, Kind::FunctionCode, 3));
    assert!(b.knows(&k, Kind::FunctionCode, 4));
    let mut k2 = chan();
    k2.port = 503;
    b.observe(&k2, Kind::FunctionCode, 1, true, T0, String::new);
    assert!(b.remove_channel(&k));
    assert!(!b.has_channel(&k));
    assert!(b.knows(&k2, Kind::FunctionCode, 1));
    assert_eq!(b.stats().channels, 1);
    assert_eq!(b.stats().entries, 1);
}

#[test]
fn hash_parts_is_hash_of_concatenation() {
    assert_eq!(
        hash_parts(&[b"start", b":", b"PROT_APP"]),
        hash_bytes(b"start:PROT_APP")
    );
    assert_eq!(hash_text(b"abc"), hash_bytes(b"abc"));
    assert_eq!(hash_text(b"a\xffb"), hash_bytes("a\u{fffd}b".as_bytes()));
}

#[test]
fn firmware_strings_are_remembered_and_bounded() {
    let mut d = Device::default();
    d.learn_firmware("2.11.2100");
    d.learn_firmware("TwinCAT 2.11.2228");
    assert!(d.knows_firmware("2.11.2100"));
    assert!(d.knows_firmware("TwinCAT 2.11.2228"));
    assert_eq!(d.firmware.as_deref(), Some("TwinCAT 2.11.2228"));
    assert!(!d.knows_firmware("2.11.2103"));
    for i in 0..20 {
        d.learn_firmware(&format!("v{i}"));
    }
    assert_eq!(d.firmwares.len(), MAX_FIRMWARES);
    assert!(d.knows_firmware("v19"));
    assert!(!d.knows_firmware("v0"));
}
