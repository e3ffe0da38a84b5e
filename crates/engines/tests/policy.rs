//! Policy-violation engine: learn on a protocol's normal scenario, then the
//! abnormal scenario raises the expected policy alerts and the normal one
//! raises none (whole pipeline, generated captures).

use std::collections::BTreeMap;

use otwatch_alerts::{
    AlertManager, Catalog, Detection, ExclusionRule, ManagerConfig, Outcome, ScenarioKey,
    Suppression, UtcOffset,
};
use otwatch_capture::{LinkType, Packet};
use otwatch_core::{Proto, Timestamp};
use otwatch_engines::baseline::ScenarioId;
use otwatch_engines::policy::ids;
use otwatch_engines::{Baseline, Engines};
use otwatch_pipeline::{Config, Pipeline};

fn run(name: &str, e: Engines) -> (Vec<Detection>, Engines) {
    let cap = otwatch_sim::generate(name, 7).expect("scenario");
    let mut p = Pipeline::new(Config::default(), e);
    let mut out = Vec::new();
    for (i, (ts, data)) in cap.packets.iter().enumerate() {
        p.process(&Packet {
            ts: *ts,
            link: LinkType::from_linktype(cap.linktype as i32).unwrap(),
            data,
            orig_len: data.len() as u32,
            input: 0,
            record: i as u64 + 1,
        });
        out.extend(p.sink_mut().drain());
    }
    p.finish();
    let mut e = p.into_sink();
    e.finish();
    out.extend(e.drain());
    (out, e)
}

/// Learns a baseline from scenarios (learning mode, then off).
fn learn(names: &[&str]) -> Baseline {
    let mut b = Baseline::new();
    b.learning.auto_end = false;
    for n in names {
        let e = otwatch_engines::builtin(Catalog::builtin(), b);
        b = run(n, e).1.into_baseline();
    }
    b.set_learning(false, Timestamp(1));
    b
}

fn policy_types(d: &[Detection]) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for x in d {
        if ids::ALL.contains(&x.type_id) {
            *m.entry(x.type_id).or_default() += 1;
        }
    }
    m
}

fn of<'a>(d: &'a [Detection], ty: &str) -> Vec<&'a Detection> {
    d.iter().filter(|x| x.type_id == ty).collect()
}

fn detect(b: &Baseline, name: &str) -> Vec<Detection> {
    run(
        name,
        otwatch_engines::builtin(Catalog::builtin(), b.clone()),
    )
    .0
}

fn manager() -> AlertManager {
    AlertManager::new(
        Catalog::builtin().clone(),
        "test".into(),
        ManagerConfig::default(),
    )
}

#[test]
fn every_id_is_a_policy_type_of_the_catalog() {
    let cat = Catalog::builtin();
    for id in ids::ALL {
        let t = cat
            .get(id)
            .unwrap_or_else(|| panic!("{id} not in the catalog"));
        assert_eq!(t.engine, otwatch_alerts::Engine::PolicyViolation, "{id}");
    }
}

#[test]
fn learning_raises_no_policy_alert_but_other_engines_alert() {
    let e = otwatch_engines::builtin(Catalog::builtin(), Baseline::new());
    let (d, e) = run("s7comm_engineering", e);
    // Program transfers are the exception: an offline analysis must show
    // them, so they are reported during learning too.
    let mut policy = policy_types(&d);
    policy.retain(|t, _| !matches!(*t, "plc_programming" | "plc_program_upload"));
    assert!(policy.is_empty(), "{policy:?}");
    assert_eq!(
        of(&d, "plc_programming").len(),
        1,
        "download reported while learning"
    );
    assert_eq!(
        of(&d, "plc_program_upload").len(),
        1,
        "upload reported while learning"
    );
    assert!(of(&d, "s7_plc_stop").len() == 1, "operational still alerts");
    // The engineering workstation became a programming device.
    let ws = e
        .baseline()
        .device("192.168.10.50".parse().unwrap())
        .unwrap();
    assert!(ws.programming && ws.authorized);
}

#[test]
fn normal_after_learning_is_silent() {
    for (normal, _) in PAIRS {
        let b = learn(&[normal]);
        let d = detect(&b, normal);
        assert!(
            policy_types(&d).is_empty(),
            "{normal}: {:?}",
            policy_types(&d)
        );
        // Saved and loaded, the baseline still covers the traffic.
        let b = Baseline::from_json(&b.to_json()).unwrap();
        let d = detect(&b, normal);
        assert!(
            policy_types(&d).is_empty(),
            "{normal} reloaded: {:?}",
            policy_types(&d)
        );
    }
    // Abnormal traffic learned, saved and loaded: silent too (text entries:
    // CIP symbols, MMS programs and domains).
    for abnormal in ABNORMAL.iter().chain(&["policy_abnormal"]) {
        let b = learn(&[abnormal]);
        let b = Baseline::from_json(&b.to_json()).unwrap();
        let d = detect(&b, abnormal);
        assert!(
            policy_types(&d).is_empty(),
            "{abnormal} reloaded: {:?}",
            policy_types(&d)
        );
    }
}

/// (normal scenario, abnormal scenario) with the policy types the abnormal
/// one must raise after learning on the normal one.
const PAIRS: &[(&str, &[&str])] = &[
    (
        "modbus_polling",
        &[ids::MODBUS_FC, ids::NEW_ASSET, ids::NEW_PORT],
    ),
    ("dnp3_polling", &[ids::DNP3_FC]),
    (
        "s7comm_normal",
        &[
            ids::PROGRAMMING,
            ids::PROGRAM_UPLOAD,
            ids::S7_CONTROL,
            ids::S7_USER,
            ids::CONFIG_READ,
            ids::NEW_ASSET,
        ],
    ),
    (
        "enip_normal",
        &[
            ids::CIP_CLASS,
            ids::CIP_SERVICE,
            ids::CIP_SYMBOL,
            ids::PCCC,
            ids::CONFIG_WRITE,
            ids::NEW_ASSET,
        ],
    ),
    ("iec104_normal", &[ids::IEC104_ASDU]),
    (
        "mms_normal",
        &[ids::MMS_SERVICE, ids::MMS_PROGRAM, ids::PROGRAMMING],
    ),
    ("opcua_normal", &[ids::OPCUA]),
    ("bacnet_normal", &[ids::BACNET_OBJECT]),
    ("goose_normal", &[ids::GOOSE_SETTINGS]),
    ("sv_stream", &[ids::SV_SETTINGS]),
    ("profinet_io", &[ids::PROFINET_FRAME]),
];

const ABNORMAL: &[&str] = &[
    "modbus_writes",
    "dnp3_control",
    "s7comm_engineering",
    "enip_engineering",
    "iec104_control",
    "mms_abnormal",
    "opcua_abnormal",
    "bacnet_abnormal",
    "goose_abnormal",
    "sv_abnormal",
    "profinet_abnormal",
];

#[test]
fn abnormal_after_learning_raises_the_policy_alerts() {
    for ((normal, want), abnormal) in PAIRS.iter().zip(ABNORMAL) {
        let b = learn(&[normal]);
        let d = detect(&b, abnormal);
        let got = policy_types(&d);
        for w in *want {
            assert!(
                got.contains_key(w),
                "{normal} -> {abnormal}: no {w} in {got:?}"
            );
        }
        for x in &d {
            if ids::ALL.contains(&x.type_id) {
                assert!(!x.message.is_empty(), "{x:?}");
            }
        }
    }
}

#[test]
fn modbus_function_codes_aggregate_per_channel() {
    let b = learn(&["modbus_polling"]);
    let d = detect(&b, "modbus_writes");
    let fc = of(&d, ids::MODBUS_FC);
    assert!(fc.len() > 5, "one detection per new code: {}", fc.len());
    let first = fc[0];
    assert!(
        fc.iter()
            .all(|x| x.src.ip == first.src.ip && x.dst.ip == first.dst.ip)
    );
    assert!(
        first.message.starts_with("new Modbus function code 5 (write_single_coil) from 192.168.10.50 to 10.10.1.21 on unit"),
        "{}",
        first.message
    );
    // The last detection lists every new code of the channel.
    let last = fc.last().unwrap();
    let codes: Vec<&str> = last.info["function_codes"].split(',').collect();
    for c in ["5", "6", "8", "15", "16", "22", "23"] {
        assert!(codes.contains(&c), "{codes:?}");
    }
    assert!(last.message.contains("function codes"));
    // The alert manager folds them into one alert.
    let mut m = manager();
    for x in fc.iter() {
        m.ingest((*x).clone());
    }
    assert_eq!(m.len(), 1);
    // The learned codes FC3/FC4/FC1/FC2 are not listed.
    assert!(!codes.contains(&"3"));
}

#[test]
fn modbus_address_range_violation() {
    // modbus_exceptions reads holding registers beyond the configured area
    // on a channel whose FC3 range was learned by modbus_polling.
    let b = learn(&["modbus_polling"]);
    let d = detect(&b, "modbus_exceptions");
    let r = of(&d, ids::MODBUS_RANGE);
    assert!(!r.is_empty(), "{:?}", policy_types(&d));
    assert!(
        r.iter().any(|x| x.key["object"].starts_with("fc3:")),
        "{:?}",
        r.iter().map(|x| &x.key).collect::<Vec<_>>()
    );
    assert!(
        r.iter()
            .all(|x| x.message.contains("outside the learned ranges"))
    );
    // Learning the same scenario covers the range: silent.
    let b2 = learn(&["modbus_polling", "modbus_exceptions"]);
    assert!(of(&detect(&b2, "modbus_exceptions"), ids::MODBUS_RANGE).is_empty());
}

#[test]
fn programming_device_learned_is_not_reported() {
    // Learning on the engineering session marks the workstation as a
    // programming device: a later session raises no programming alert.
    let b = learn(&["s7comm_normal", "s7comm_engineering"]);
    let d = detect(&b, "s7comm_engineering");
    assert!(of(&d, ids::PROGRAMMING).is_empty());
    assert!(of(&d, ids::PROGRAM_UPLOAD).is_empty());
    // Without it, both are reported once, from the workstation to the PLC.
    let b = learn(&["s7comm_normal"]);
    let d = detect(&b, "s7comm_engineering");
    let p = of(&d, ids::PROGRAMMING);
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].src.ip, Some("192.168.10.50".parse().unwrap()));
    assert_eq!(p[0].dst.ip, Some("10.10.1.40".parse().unwrap()));
    assert!(
        p[0].message.contains("not a programming device"),
        "{}",
        p[0].message
    );
}

#[test]
fn firmware_change_is_reported() {
    let mut b = learn(&["modbus_polling"]);
    // Pretend the M340 had another firmware when learned.
    let plc = "10.10.1.21".parse().unwrap();
    let dev = b.device_mut(plc).unwrap();
    dev.firmware = Some("v3.10".into());
    dev.firmwares = vec!["v3.10".into()];
    let d = detect(&b, "modbus_polling");
    let f = of(&d, ids::FIRMWARE_MODBUS);
    assert_eq!(f.len(), 1, "{:?}", policy_types(&d));
    assert_eq!(f[0].key["value"], "v3.20");
    assert_eq!(f[0].info["previous"], "v3.10");
    // Same firmware: silent.
    let b = learn(&["modbus_polling"]);
    assert!(of(&detect(&b, "modbus_polling"), ids::FIRMWARE_MODBUS).is_empty());
}

#[test]
fn name_queries_and_smart_it() {
    let b = learn(&["demo"]);
    let d = detect(&b, "it_dns_dhcp");
    let q = of(&d, ids::NAME_QUERY);
    assert!(!q.is_empty(), "{:?}", policy_types(&d));
    assert!(
        q.iter().any(|x| x.key["value"] == "historian.plant.local"),
        "{q:?}"
    );
    // The same host's DNS scenario seen within 7 days: learned silently.
    let mut b2 = b.clone();
    let src = q[0].src.ip.unwrap();
    let cap_start = otwatch_sim::generate("it_dns_dhcp", 7).unwrap().packets[0].0;
    let start_ns = cap_start.0;
    for p in [Proto::Dns, Proto::Llmnr, Proto::Mdns] {
        b2.note_scenario(
            ScenarioId { src, proto: p },
            start_ns - 6 * 86_400_000_000_000,
        );
    }
    let d2 = detect(&b2, "it_dns_dhcp");
    assert!(
        of(&d2, ids::NAME_QUERY)
            .iter()
            .all(|x| x.src.ip != Some(src)),
        "{:?}",
        of(&d2, ids::NAME_QUERY)
    );
    // Silent for more than 7 days: reported again.
    let mut b3 = b.clone();
    for p in [Proto::Dns, Proto::Llmnr, Proto::Mdns] {
        b3.note_scenario(
            ScenarioId { src, proto: p },
            start_ns - 8 * 86_400_000_000_000,
        );
    }
    assert!(!of(&detect(&b3, "it_dns_dhcp"), ids::NAME_QUERY).is_empty());
}

#[test]
fn focus_rule_drops_it_only_detections() {
    // No OT protocol anywhere: the name queries of an IT-only network are dropped.
    let b = learn(&["it_tls"]);
    let e = otwatch_engines::builtin(Catalog::builtin(), b.clone());
    let (d, e) = run("it_dns_dhcp", e);
    assert!(of(&d, ids::NAME_QUERY).is_empty());
    assert!(e.stats().focus_dropped > 0);
    // ... and kept when the subnet is configured as OT.
    let mut b2 = b.clone();
    b2.set_ot_subnets(&["10.10.1.0/24".parse().unwrap()]);
    assert!(!of(&detect(&b2, "it_dns_dhcp"), ids::NAME_QUERY).is_empty());
    // `all`.
    let mut b3 = b;
    b3.set_all_ot(true);
    assert!(!of(&detect(&b3, "it_dns_dhcp"), ids::NAME_QUERY).is_empty());
}

#[test]
fn learn_first_learns_then_detects() {
    // The first 30 s of the demo are learned; the engineering session at
    // 20 s is inside them, so its Modbus codes are learned too.
    let mut e = otwatch_engines::builtin(Catalog::builtin(), Baseline::new());
    e.learn_first(std::time::Duration::from_secs(30));
    let (d, e) = run("demo", e);
    let got = policy_types(&d);
    assert!(!got.contains_key(ids::MODBUS_FC), "{got:?}");
    assert!(!e.baseline().learning());
    // Every policy detection is after the learning period.
    let first = otwatch_sim::generate("demo", 7).unwrap().packets[0].0.0;
    for x in d.iter().filter(|x| ids::ALL.contains(&x.type_id)) {
        assert!(x.ts.0 >= first + 30_000_000_000, "{x:?}");
    }
    // Learning only the first 5 s: the workstation connecting at 20 s is new.
    let mut e = otwatch_engines::builtin(Catalog::builtin(), Baseline::new());
    e.learn_first(std::time::Duration::from_secs(5));
    let (d, _) = run("demo", e);
    let got = policy_types(&d);
    assert!(
        got.contains_key(ids::MODBUS_FC) || got.contains_key(ids::NEW_PORT),
        "{got:?}"
    );
}

#[test]
fn engines_learn_and_unlearn() {
    let b = learn(&["modbus_polling"]);
    let cat = Catalog::builtin();
    let mut e = otwatch_engines::builtin(cat, b);
    let cap = otwatch_sim::generate("modbus_writes", 7).unwrap();
    let ts = cap.packets.last().unwrap().0;
    let (d, mut e2) = {
        let (d, e2) = run("modbus_writes", std::mem::take(&mut e));
        (d, e2)
    };
    let fc = of(&d, ids::MODBUS_FC);
    assert!(!fc.is_empty());
    let key = ScenarioKey::of(cat.get(ids::MODBUS_FC).unwrap(), fc[0]);
    assert!(e2.learn(&key, ts));
    // Every code listed under the alert is now in the baseline.
    let (d, e3) = run("modbus_writes", e2);
    assert!(
        of(&d, ids::MODBUS_FC).is_empty(),
        "{:?}",
        of(&d, ids::MODBUS_FC)
    );
    // Unlearn brings the alert back.
    let mut e3 = e3;
    assert!(e3.unlearn(&key));
    let (d, _) = run("modbus_writes", e3);
    assert!(!of(&d, ids::MODBUS_FC).is_empty());
    // Learn of a type without a reported scenario: by type (new asset).
    let mut e4 = otwatch_engines::builtin(cat, Baseline::new());
    let k = ScenarioKey {
        type_id: ids::NEW_ASSET.into(),
        fields: vec![("src".into(), "10.9.9.9".into())],
    };
    assert!(e4.learn(&k, ts));
    assert!(
        e4.baseline()
            .device("10.9.9.9".parse().unwrap())
            .unwrap()
            .authorized
    );
    assert!(e4.unlearn(&k));
    assert!(
        !e4.baseline()
            .device("10.9.9.9".parse().unwrap())
            .unwrap()
            .authorized
    );
}

#[test]
fn manager_learned_muted_excluded() {
    let b = learn(&["dnp3_polling"]);
    let d = detect(&b, "dnp3_control");
    let fc: Vec<Detection> = of(&d, ids::DNP3_FC).into_iter().cloned().collect();
    assert!(!fc.is_empty());
    // Learned in the manager: suppressed.
    let mut m = manager();
    let Outcome::Created(id) = m.ingest(fc[0].clone()) else {
        panic!("not created")
    };
    m.learn(&id, fc[0].ts).unwrap();
    assert_eq!(
        m.ingest(fc[0].clone()),
        Outcome::Suppressed(Suppression::Learned)
    );
    // Policy types are learnable, not mutable (catalog): mute is refused.
    let mut m = manager();
    let Outcome::Created(id) = m.ingest(fc[0].clone()) else {
        panic!("not created")
    };
    assert!(m.mute(&id, fc[0].ts).is_err());
    assert!(matches!(m.ingest(fc[0].clone()), Outcome::Updated(_)));
    // Excluded by title.
    let mut m = manager();
    m.set_exclusions(vec![ExclusionRule {
        name: "dnp3 maintenance".into(),
        time_zone: UtcOffset(0),
        windows: vec![],
        devices: vec![],
        titles: vec!["Unpermitted Usage of DNP3 Function Code".into()],
        sensors: vec![],
    }])
    .unwrap();
    assert!(matches!(m.ingest(fc[0].clone()), Outcome::Excluded(_)));
}

#[test]
fn disabled_type_is_silent() {
    let o =
        otwatch_alerts::Overrides::from_toml_str("[types.dnp3_function_code]\nenabled = false\n")
            .unwrap();
    let cat = Catalog::builtin().with_overrides(&o).unwrap();
    let b = learn(&["dnp3_polling"]);
    let (d, _) = run("dnp3_control", otwatch_engines::builtin(&cat, b));
    assert!(of(&d, ids::DNP3_FC).is_empty());
}

#[test]
fn repeats_are_reported_once_per_minute() {
    // Nothing Modbus was learned: each (channel, code) of ten polling cycles
    // within ten seconds is reported once.
    let b = learn(&["dnp3_polling"]);
    let (d, e) = run(
        "modbus_polling",
        otwatch_engines::builtin(Catalog::builtin(), b),
    );
    let fc = of(&d, ids::MODBUS_FC);
    let s = e.stats().policy;
    assert!(s.repeats > 0, "{s:?}");
    // Two PLCs, five codes each (1, 2, 3, 4, 43).
    assert_eq!(
        fc.len(),
        10,
        "{:?}",
        fc.iter().map(|x| &x.message).collect::<Vec<_>>()
    );
}

#[test]
fn field_device_discovered_after_learning() {
    // Learned: only the DNP3 RTU. The Modbus PLCs identify themselves (43/14).
    let b = learn(&["dnp3_polling"]);
    let d = detect(&b, "modbus_polling");
    let f = of(&d, ids::FIELD_DEVICE);
    let ips: Vec<_> = f.iter().map(|x| x.src.ip.unwrap().to_string()).collect();
    assert!(ips.contains(&"10.10.1.21".to_string()), "{ips:?}");
    assert!(f[0].message.contains("field device"), "{}", f[0].message);
    // Learned devices identifying themselves: nothing.
    let b = learn(&["modbus_polling"]);
    assert!(of(&detect(&b, "modbus_polling"), ids::FIELD_DEVICE).is_empty());
}

#[test]
fn dns_answers_for_allowlisted_names_allow_their_addresses() {
    let mut b = learn(&["demo"]);
    b.set_fqdn_allowlist(&["plant.local".into()]);
    let cap = otwatch_sim::generate("it_dns_dhcp", 7).unwrap();
    let end = cap.packets.last().unwrap().0.0;
    let (_, e) = run(
        "it_dns_dhcp",
        otwatch_engines::builtin(Catalog::builtin(), b.clone()),
    );
    let allowed: Vec<_> = ["192.168.10.20", "10.10.1.20", "10.10.1.60"]
        .iter()
        .filter(|ip| e.baseline().ip_allowed(ip.parse().unwrap(), end))
        .collect();
    assert!(!allowed.is_empty());
    // Not allowlisted: nothing allowed.
    let (_, e) = run(
        "it_dns_dhcp",
        otwatch_engines::builtin(Catalog::builtin(), learn(&["demo"])),
    );
    assert!(
        ["192.168.10.20", "10.10.1.20", "10.10.1.60"]
            .iter()
            .all(|ip| !e.baseline().ip_allowed(ip.parse().unwrap(), end))
    );
}

#[test]
fn policy_scenarios() {
    let b = learn(&["policy_normal"]);
    assert!(policy_types(&detect(&b, "policy_normal")).is_empty());
    let d = detect(&b, "policy_abnormal");
    let got = policy_types(&d);
    for w in [
        ids::MODBUS_RANGE,
        ids::MODBUS_FC,
        ids::NEW_ASSET,
        ids::NEW_PORT,
        ids::SSH,
        ids::INTERNET_UNAUTHORIZED,
    ] {
        assert!(got.contains_key(w), "no {w} in {got:?}");
    }
    let r = of(&d, ids::MODBUS_RANGE);
    assert_eq!(r[0].key["object"], "fc3:500-509");
    let i = of(&d, ids::INTERNET_UNAUTHORIZED);
    assert_eq!(i[0].src.ip, Some("10.10.1.21".parse().unwrap()));
    assert_eq!(i[0].dst.ip, Some("93.184.216.34".parse().unwrap()));
    // Internet traffic resolved as internal: no Internet alert.
    let mut b2 = b.clone();
    b2.resolve_internal = true;
    assert!(of(&detect(&b2, "policy_abnormal"), ids::INTERNET_UNAUTHORIZED).is_empty());
    // The PLC allowed on the Internet: no unauthorized alert, an access alert.
    let mut b3 = b;
    b3.device_mut("10.10.1.21".parse().unwrap())
        .unwrap()
        .internet_allowed = true;
    let d3 = detect(&b3, "policy_abnormal");
    assert!(of(&d3, ids::INTERNET_UNAUTHORIZED).is_empty());
    assert_eq!(of(&d3, ids::INTERNET).len(), 1);
}

#[test]
fn learned_names_survive_a_reload() {
    let b = learn(&["demo", "it_dns_dhcp"]);
    let b = Baseline::from_json(&b.to_json()).unwrap();
    let d = detect(&b, "it_dns_dhcp");
    assert!(
        of(&d, ids::NAME_QUERY).is_empty(),
        "{:?}",
        of(&d, ids::NAME_QUERY)
    );
    let j = String::from_utf8(b.to_json()).unwrap();
    assert!(j.contains("\"historian.plant.local\""));
}

#[test]
fn enip_io_connection() {
    let b = learn(&["modbus_polling"]);
    let d = detect(&b, "enip_normal");
    let io = of(&d, ids::ENIP_IO);
    assert!(!io.is_empty(), "{:?}", policy_types(&d));
    assert_eq!(io[0].key["object"], "io");
    assert!(io[0].message.contains("connection id"), "{}", io[0].message);
    let b = learn(&["enip_normal"]);
    assert!(of(&detect(&b, "enip_normal"), ids::ENIP_IO).is_empty());
}

/// (normal, abnormal, type) of the BACnet object and link-layer types.
const NEW_TYPES: &[(&str, &str, &str)] = &[
    ("bacnet_normal", "bacnet_abnormal", ids::BACNET_OBJECT),
    ("goose_normal", "goose_abnormal", ids::GOOSE_SETTINGS),
    ("sv_stream", "sv_abnormal", ids::SV_SETTINGS),
    ("profinet_io", "profinet_abnormal", ids::PROFINET_FRAME),
    ("profinet_dcp", "profinet_abnormal", ids::PROFINET_FRAME),
];

#[test]
fn bacnet_and_link_layer_types_have_concrete_messages() {
    let b = learn(&["bacnet_normal"]);
    let d = detect(&b, "bacnet_abnormal");
    let o = of(&d, ids::BACNET_OBJECT);
    let objs: Vec<&str> = o.iter().map(|x| x.key["object"].as_str()).collect();
    assert!(objs.contains(&"binary-output:1"), "{objs:?}");
    assert!(objs.contains(&"analog-output:2"), "{objs:?}");
    // The polled objects (analog-input 1...) were learned.
    assert!(
        !objs.iter().any(|o| o.starts_with("analog-input")),
        "{objs:?}"
    );
    assert!(
        o[0].message
            .contains("writeProperty on object binary-output 1")
    );

    let b = learn(&["goose_normal"]);
    let d = detect(&b, "goose_abnormal");
    let g = of(&d, ids::GOOSE_SETTINGS);
    assert!(
        g.iter().any(|x| x.message.contains("confRev 2")
            && x.key["object"] == "SEL751_1CFG/LLN0$GO$GooseDSet1"),
        "{g:?}"
    );
    // Link layer: the publisher is keyed by MAC (no IP), the multicast
    // destination is an info field.
    assert!(g.iter().all(|x| x.src.ip.is_none() && x.src.mac.is_some()));
    assert!(g.iter().all(|x| x.info.contains_key("destination")));

    let b = learn(&["sv_stream"]);
    let d = detect(&b, "sv_abnormal");
    let sv = of(&d, ids::SV_SETTINGS);
    assert_eq!(sv.len(), 1, "{sv:?}");
    assert_eq!(sv[0].key["object"], "SAM600MU0101");
    assert!(sv[0].message.contains("confRev 2"), "{}", sv[0].message);

    let b = learn(&["profinet_dcp", "profinet_io"]);
    let d = detect(&b, "profinet_abnormal");
    let p = of(&d, ids::PROFINET_FRAME);
    let codes: Vec<&str> = p.iter().map(|x| x.key["function_code"].as_str()).collect();
    // DCP Identify request (5 × 256) and Set request (4 × 256) from the
    // laptop, the high-priority alarm class (5); not the cyclic RT_CLASS_1
    // frames (3) learned from profinet_io.
    for c in ["1280", "1024", "5"] {
        assert!(codes.contains(&c), "{c} not in {codes:?}");
    }
    assert!(!codes.contains(&"3"), "{codes:?}");
    assert!(p.iter().all(|x| x.message.contains("3c:52:82:4d:19:07")
        || x.message.contains("alarm_high")
        || x.message.contains("to 3c:52:82:4d:19:07")));
}

#[test]
fn bacnet_and_link_layer_types_learn_and_unlearn() {
    let cat = Catalog::builtin();
    for (normal, abnormal, ty) in NEW_TYPES {
        let b = learn(&[normal]);
        let (d, mut e) = run(abnormal, otwatch_engines::builtin(cat, b));
        let hits = of(&d, ty);
        assert!(!hits.is_empty(), "{normal} -> {abnormal}: no {ty}");
        let key = ScenarioKey::of(cat.get(ty).unwrap(), hits[0]);
        let same = |d: &[Detection]| {
            d.iter()
                .filter(|x| x.type_id == *ty && ScenarioKey::of(cat.get(ty).unwrap(), x) == key)
                .count()
        };
        assert!(e.learn(&key, hits[0].ts), "{key}");
        // Learned, and saved / loaded: the scenario is silent.
        let learned = Baseline::from_json(&e.baseline().to_json()).unwrap();
        assert_eq!(same(&detect(&learned, abnormal)), 0, "{key} after learn");
        // Unlearn brings it back.
        assert!(e.unlearn(&key), "{key}");
        assert!(
            same(&detect(e.baseline(), abnormal)) > 0,
            "{key} after unlearn"
        );
    }
}

#[test]
fn bacnet_and_link_layer_types_in_the_manager() {
    let cat = Catalog::builtin();
    for (normal, abnormal, ty) in NEW_TYPES {
        let d = detect(&learn(&[normal]), abnormal);
        let x = of(&d, ty)[0].clone();
        let mut m = manager();
        let Outcome::Created(id) = m.ingest(x.clone()) else {
            panic!("{ty}: not created")
        };
        // Learnable, not mutable (catalog).
        assert!(m.mute(&id, x.ts).is_err(), "{ty}");
        m.learn(&id, x.ts).unwrap();
        assert_eq!(
            m.ingest(x.clone()),
            Outcome::Suppressed(Suppression::Learned),
            "{ty}"
        );
        let mut m = manager();
        m.set_exclusions(vec![ExclusionRule {
            name: "commissioning".into(),
            time_zone: UtcOffset(0),
            windows: vec![],
            devices: vec![],
            titles: vec![cat.get(ty).unwrap().title.clone()],
            sensors: vec![],
        }])
        .unwrap();
        assert!(matches!(m.ingest(x), Outcome::Excluded(_)), "{ty}");
    }
}

#[test]
fn disabled_link_layer_type_is_silent() {
    let o =
        otwatch_alerts::Overrides::from_toml_str("[types.profinet_frame_type]\nenabled = false\n")
            .unwrap();
    let cat = Catalog::builtin().with_overrides(&o).unwrap();
    let b = learn(&["profinet_io"]);
    let (d, _) = run("profinet_abnormal", otwatch_engines::builtin(&cat, b));
    assert!(of(&d, ids::PROFINET_FRAME).is_empty());
}

#[test]
fn mac_channel_addresses_round_trip() {
    use otwatch_core::MacAddr;
    use otwatch_engines::baseline::{mac_key, mac_of_key};
    let m = MacAddr([0x00, 0x0e, 0x8c, 0x8a, 0x31, 0x07]);
    let k = mac_key(m);
    assert_eq!(k.to_string(), "fe80::20e:8cff:fe8a:3107");
    assert_eq!(mac_of_key(k), Some(m));
    assert_eq!(mac_of_key("10.0.0.1".parse().unwrap()), None);
    assert_eq!(mac_of_key("fe80::1".parse().unwrap()), None);
    // A learned link-layer baseline names its channels by these addresses.
    let j = String::from_utf8(learn(&["goose_normal"]).to_json()).unwrap();
    assert!(j.contains("\"fe80::230:a7ff:fe1d:7511\""), "{j}");
    assert!(j.contains("SEL751_1CFG/LLN0$GO$GooseDSet1;SEL751_1CFG/LLN0$DSet1;1"));
}

/// One BACnet/IP datagram (Ethernet, IPv4, UDP 47808, BVLC unicast) with
/// an NPDU routed to `dnet` / from `snet` and a ReadProperty request of
/// `(object type, instance)` present-value.
fn bacnet_frame(
    src: [u8; 4],
    dst: [u8; 4],
    dnet: Option<u16>,
    snet: Option<u16>,
    obj: (u16, u32),
) -> Vec<u8> {
    let mut npdu = vec![1u8, 0x04];
    if let Some(n) = dnet {
        npdu[1] |= 0x20;
        npdu.extend_from_slice(&n.to_be_bytes());
        npdu.extend_from_slice(&[1, 7]);
    }
    if let Some(n) = snet {
        npdu[1] |= 0x08;
        npdu.extend_from_slice(&n.to_be_bytes());
        npdu.extend_from_slice(&[1, 9]);
    }
    if dnet.is_some() {
        npdu.push(255);
    }
    let oid = (u32::from(obj.0) << 22) | obj.1;
    npdu.extend_from_slice(&[0x00, 0x05, 0x01, 0x0c, 0x0c]);
    npdu.extend_from_slice(&oid.to_be_bytes());
    npdu.extend_from_slice(&[0x19, 0x55]);
    let mut bvlc = vec![0x81, 0x0a];
    bvlc.extend_from_slice(&((npdu.len() + 4) as u16).to_be_bytes());
    bvlc.extend(npdu);
    let mut udp = Vec::new();
    udp.extend_from_slice(&47808u16.to_be_bytes());
    udp.extend_from_slice(&47808u16.to_be_bytes());
    udp.extend_from_slice(&((bvlc.len() + 8) as u16).to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend(bvlc);
    let mut ip = vec![0x45, 0, 0, 0, 0, 1, 0, 0, 64, 17, 0, 0];
    ip[2..4].copy_from_slice(&((udp.len() + 20) as u16).to_be_bytes());
    ip.extend_from_slice(&src);
    ip.extend_from_slice(&dst);
    let sum: u32 = ip
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum();
    let sum = !(((sum & 0xffff) + (sum >> 16)) as u16);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    ip.extend(udp);
    let mut eth = vec![
        0x02, 0, 0, 0, 0, dst[3], 0x02, 0, 0, 0, 0, src[3], 0x08, 0x00,
    ];
    eth.extend(ip);
    eth
}

fn run_frames(frames: &[(i64, Vec<u8>)], e: Engines) -> (Vec<Detection>, Engines) {
    let mut p = Pipeline::new(Config::default(), e);
    let mut out = Vec::new();
    for (i, (t, data)) in frames.iter().enumerate() {
        p.process(&Packet {
            ts: Timestamp(*t),
            link: LinkType::from_linktype(1).unwrap(),
            data,
            orig_len: data.len() as u32,
            input: 0,
            record: i as u64 + 1,
        });
        out.extend(p.sink_mut().drain());
    }
    p.finish();
    let mut e = p.into_sink();
    e.finish();
    out.extend(e.drain());
    (out, e)
}

#[test]
fn bacnet_routes_and_objects() {
    const S: i64 = 1_000_000_000;
    let (c, s) = ([10, 10, 2, 10], [10, 10, 2, 30]);
    let t0 = 1_700_000_000 * S;
    // Learning: the front end reads analog-input 1 behind the router on
    // network 5; the router answers for network 5 (source network).
    let normal = |t: i64| {
        vec![
            (t, bacnet_frame(c, s, Some(5), None, (0, 1))),
            (t + S, bacnet_frame(c, s, Some(5), None, (0, 1))),
            (t + 2 * S, bacnet_frame(c, s, None, Some(5), (0, 1))),
        ]
    };
    let mut b = Baseline::new();
    b.learning.auto_end = false;
    let (d, e) = run_frames(&normal(t0), otwatch_engines::builtin(Catalog::builtin(), b));
    assert!(policy_types(&d).is_empty(), "{:?}", policy_types(&d));
    let mut b = e.into_baseline();
    b.set_learning(false, Timestamp(t0 + 10 * S));
    let b = Baseline::from_json(&b.to_json()).unwrap();
    // The same traffic after learning: nothing.
    let d = detect_frames(&b, &normal(t0 + 100 * S));
    assert!(policy_types(&d).is_empty(), "{:?}", policy_types(&d));
    // A new destination network, a new source network, a new object.
    let t1 = t0 + 200 * S;
    let d = detect_frames(
        &b,
        &[
            (t1, bacnet_frame(c, s, Some(6), None, (0, 1))),
            (t1 + S, bacnet_frame(c, s, None, Some(7), (0, 1))),
            (t1 + 2 * S, bacnet_frame(c, s, Some(5), None, (1, 4))),
        ],
    );
    let r = of(&d, ids::BACNET_ROUTE);
    let nets: Vec<&str> = r.iter().map(|x| x.key["object"].as_str()).collect();
    assert_eq!(nets, ["dnet:6", "snet:7"], "{r:?}");
    assert!(
        r[0].message.contains("to destination network 6"),
        "{}",
        r[0].message
    );
    let o = of(&d, ids::BACNET_OBJECT);
    assert_eq!(o.len(), 1, "{o:?}");
    assert_eq!(o[0].key["object"], "analog-output:4");
    assert_eq!(policy_types(&d).len(), 2, "{:?}", policy_types(&d));
}

fn detect_frames(b: &Baseline, frames: &[(i64, Vec<u8>)]) -> Vec<Detection> {
    run_frames(
        frames,
        otwatch_engines::builtin(Catalog::builtin(), b.clone()),
    )
    .0
}

#[test]
fn bacnet_object_type_learned_when_instances_are_many() {
    use otwatch_engines::policy::BACNET_TYPE_INSTANCES;
    const S: i64 = 1_000_000_000;
    let (c, s) = ([10, 10, 2, 10], [10, 10, 2, 30]);
    let t0 = 1_700_000_000 * S;
    for (n, type_learned) in [
        (BACNET_TYPE_INSTANCES, true),
        (BACNET_TYPE_INSTANCES - 1, false),
    ] {
        // Learning: analog-input 0..n, and analog-output 1.
        let mut frames: Vec<(i64, Vec<u8>)> = (0..n)
            .map(|i| {
                (
                    t0 + i64::from(i) * S / 10,
                    bacnet_frame(c, s, None, None, (0, i)),
                )
            })
            .collect();
        frames.push((t0 + 20 * S, bacnet_frame(c, s, None, None, (1, 1))));
        let mut b = Baseline::new();
        b.learning.auto_end = false;
        let (_, e) = run_frames(&frames, otwatch_engines::builtin(Catalog::builtin(), b));
        let mut b = e.into_baseline();
        b.set_learning(false, Timestamp(t0 + 30 * S));
        let b = Baseline::from_json(&b.to_json()).unwrap();
        let t1 = t0 + 100 * S;
        let d = detect_frames(
            &b,
            &[
                (t1, bacnet_frame(c, s, None, None, (0, 500))),
                (t1 + S, bacnet_frame(c, s, None, None, (1, 2))),
            ],
        );
        let objs: Vec<&str> = of(&d, ids::BACNET_OBJECT)
            .iter()
            .map(|x| x.key["object"].as_str())
            .collect();
        // Another analog-output instance is always new; analog-input 500
        // only while fewer than BACNET_TYPE_INSTANCES inputs were learned.
        if type_learned {
            assert_eq!(objs, ["analog-output:2"], "{n}");
        } else {
            assert_eq!(objs, ["analog-input:500", "analog-output:2"], "{n}");
        }
    }
}

#[test]
fn lldp_configuration_not_in_the_baseline() {
    // The switch of it_infra announces two ports over LLDP.
    let b = learn(&["it_infra"]);
    assert!(of(&detect(&b, "it_infra"), ids::LLDP_CONFIG).is_empty());
    // Through a saved and reloaded baseline too.
    let b2 = Baseline::from_json(&b.to_json()).unwrap();
    assert!(of(&detect(&b2, "it_infra"), ids::LLDP_CONFIG).is_empty());
    // A baseline without it: each announced configuration is new, from the
    // switch's MAC (no IP), with the configuration in the message.
    let b = learn(&["modbus_polling"]);
    let d = detect(&b, "it_infra");
    let l = of(&d, ids::LLDP_CONFIG);
    assert_eq!(l.len(), 2, "{:?}", policy_types(&d));
    for x in &l {
        assert!(x.src.ip.is_none() && x.src.mac.is_some(), "{x:?}");
        assert!(x.message.contains("port \"port-00"), "{}", x.message);
        assert!(x.key.contains_key("value"));
    }
}
