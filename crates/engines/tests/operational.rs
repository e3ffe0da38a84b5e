//! Operational engine: generated scenarios, hand-built events and (with
//! `OTWATCH_CORPUS`) real captures.

use std::collections::BTreeMap;
use std::path::Path;

use otwatch_alerts::{Catalog, Detection};
use otwatch_capture::{FileSource, LinkType, Packet, PacketSource};
use otwatch_engines::Engines;
use otwatch_engines::operational::Operational;
use otwatch_pipeline::{Config, Pipeline};

/// The operational engine, plus the policy engine over an empty baseline
/// with learning off (it reports the program transfers the operational
/// engine classifies: no source is a programming device).
fn engines() -> Engines {
    let mut b = otwatch_engines::Baseline::new();
    b.set_learning(false, otwatch_core::Timestamp(0));
    let mut e = Engines::with_baseline(b);
    e.push(Box::new(Operational::new(Catalog::builtin())));
    e.set_policy(Some(otwatch_engines::Policy::new(Catalog::builtin())));
    e
}

/// Operational types and the two transfer types.
fn wanted(d: &Detection) -> bool {
    otwatch_engines::operational::ids::ALL.contains(&d.type_id)
        || matches!(d.type_id, "plc_programming" | "plc_program_upload")
}

fn run_scenario(name: &str) -> Vec<Detection> {
    let cap = otwatch_sim::generate(name, 7).expect("scenario");
    let mut p = Pipeline::new(Config::default(), engines());
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
    e.drain().filter(wanted).collect()
}

fn run_file(path: &Path) -> Vec<Detection> {
    let mut src = FileSource::open(path, 0).expect("open");
    let mut p = Pipeline::new(Config::default(), engines());
    while let Ok(Some(pkt)) = src.next_packet() {
        p.process(&pkt);
    }
    p.finish();
    let mut e = p.into_sink();
    e.finish();
    e.drain().filter(wanted).collect()
}

fn types(d: &[Detection]) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for x in d {
        *m.entry(x.type_id).or_default() += 1;
    }
    m
}

fn of<'a>(d: &'a [Detection], ty: &str) -> Vec<&'a Detection> {
    d.iter().filter(|x| x.type_id == ty).collect()
}

#[test]
fn normal_traffic_raises_nothing() {
    for s in [
        "s7comm_normal",
        "umas_monitoring",
        "fins_normal",
        "ads_normal",
        "melsec_normal",
        "tristation_normal",
        "dnp3_polling",
        "mms_normal",
        "enip_normal",
        "modbus_polling",
        "modbus_exceptions",
        "modbus_midstream",
        "demo",
    ] {
        let d = run_scenario(s);
        assert!(d.is_empty(), "{s}: {:?}", types(&d));
    }
}

#[test]
fn s7_engineering() {
    let d = run_scenario("s7comm_engineering");
    let stop = of(&d, "s7_plc_stop");
    assert_eq!(stop.len(), 1);
    assert_eq!(stop[0].protocol, Some("s7comm"));
    assert!(stop[0].flow.is_some());
    assert_eq!(
        stop[0].message,
        "S7comm PLC STOP sent by 192.168.10.50 to 10.10.1.40 (rack 0 slot 2)"
    );
    assert_eq!(stop[0].dst.port, Some(102));
    assert!(stop[0].src.mac.is_some());
    assert_eq!(of(&d, "controller_reset").len(), 1, "cold restart");
    let modes: Vec<_> = of(&d, "plc_operating_mode_changed")
        .iter()
        .map(|x| x.key["value"].clone())
        .collect();
    assert_eq!(modes, ["STOP", "RUN", "RUN"]);
    let dl = of(&d, "plc_programming");
    assert_eq!(dl.len(), 1, "download blocks of one flow are one transfer");
    assert_eq!(dl[0].info["block"], "FC 10");
    assert_eq!(dl[0].dst.ip, stop[0].dst.ip, "the PLC is the destination");
    assert_eq!(of(&d, "plc_program_upload")[0].info["block"], "OB 1");
}

#[test]
fn per_protocol_commands() {
    let want: &[(&str, &[(&str, usize)])] = &[
        (
            "umas_engineering",
            &[
                ("controller_stop", 1),
                ("plc_operating_mode_changed", 1),
                ("plc_program_upload", 1),
            ],
        ),
        (
            "fins_abnormal",
            &[
                ("controller_stop", 1),
                ("plc_operating_mode_changed", 1),
                ("plc_programming", 1),
            ],
        ),
        (
            "ads_stop",
            &[("controller_stop", 1), ("plc_operating_mode_changed", 2)],
        ),
        (
            "melsec_remote_stop",
            &[
                ("controller_reset", 1),
                ("controller_stop", 2),
                ("plc_operating_mode_changed", 1),
            ],
        ),
        (
            "tristation_download",
            &[("plc_operating_mode_changed", 3), ("plc_programming", 1)],
        ),
        ("dnp3_control", &[("controller_reset", 2)]),
        (
            "mms_abnormal",
            &[
                ("controller_reset", 1),
                ("controller_stop", 1),
                ("plc_programming", 1),
            ],
        ),
        (
            "enip_engineering",
            &[
                ("controller_reset", 1),
                ("controller_stop", 1),
                ("plc_operating_mode_changed", 1),
            ],
        ),
    ];
    for (s, w) in want {
        let d = run_scenario(s);
        let got = types(&d);
        let w: BTreeMap<&str, usize> = w.iter().copied().collect();
        assert_eq!(got, w, "{s}");
        for x in &d {
            assert!(Catalog::builtin().get(x.type_id).is_some());
            assert!(
                x.src.ip.is_some() && x.dst.ip.is_some() && x.flow.is_some(),
                "{s}"
            );
            assert!(
                x.message.contains(&x.dst.ip.unwrap().to_string()),
                "{}",
                x.message
            );
            if x.type_id == "plc_operating_mode_changed" {
                assert!(x.key.contains_key("value"));
            }
        }
    }
    let d = run_scenario("dnp3_control");
    assert_eq!(
        d[0].message,
        "DNP3 cold restart (FC 13) sent by 10.10.1.10 to 10.10.1.30"
    );
}

#[test]
fn disabled_types_are_silent() {
    let o =
        otwatch_alerts::Overrides::from_toml_str("[types.s7_plc_stop]\nenabled = false\n").unwrap();
    let cat = Catalog::builtin().with_overrides(&o).unwrap();
    let mut e = Engines::new();
    e.push(Box::new(Operational::new(&cat)));
    let cap = otwatch_sim::generate("s7comm_engineering", 7).unwrap();
    let mut p = Pipeline::new(Config::default(), e);
    for (ts, data) in &cap.packets {
        p.process(&pkt(*ts, data));
    }
    let d: Vec<_> = p.sink_mut().drain().collect();
    assert!(of(&d, "s7_plc_stop").is_empty());
    assert_eq!(of(&d, "controller_reset").len(), 1);
}

fn pkt(ts: otwatch_core::Timestamp, data: &[u8]) -> Packet<'_> {
    Packet {
        ts,
        link: LinkType::Ethernet,
        data,
        orig_len: data.len() as u32,
        input: 0,
        record: 0,
    }
}

/// Replays a scenario's packets, dropping those `keep` refuses and shifting
/// times by `shift(ts)`.
fn replay(
    name: &str,
    keep: impl Fn(usize, &[u8]) -> bool,
    shift: impl Fn(i64) -> i64,
) -> Vec<Detection> {
    let cap = otwatch_sim::generate(name, 7).unwrap();
    let mut p = Pipeline::new(Config::default(), engines());
    for (i, (ts, data)) in cap.packets.iter().enumerate() {
        if keep(i, data) {
            p.process(&pkt(otwatch_core::Timestamp(shift(ts.0)), data));
        }
    }
    p.finish();
    let mut e = p.into_sink();
    e.finish();
    e.drain().filter(wanted).collect()
}

/// Times relative to 2020-01-01, multiplied by 50 (a capture of seconds lasts minutes).
fn stretch(t: i64) -> i64 {
    const BASE: i64 = 1_577_836_800_000_000_000;
    BASE + (t - BASE) * 50
}

/// TCP source port of an Ethernet/IPv4 frame.
fn sport(f: &[u8]) -> u16 {
    let ihl = ((f[14] & 0x0f) as usize) * 4;
    u16::from_be_bytes([f[14 + ihl], f[15 + ihl]])
}

/// Frames from the Modbus server (source port 502) that carry payload.
fn modbus_response(f: &[u8]) -> bool {
    f.len() > 14 + 20 + 20 && f[23] == 6 && sport(f) == 502 && {
        let ihl = ((f[14] & 0x0f) as usize) * 4;
        let thl = ((f[14 + ihl + 12] >> 4) as usize) * 4;
        f.len() > 14 + ihl + thl
    }
}

#[test]
fn modbus_unresponsive() {
    // All responses dropped: the device never answers.
    // Stretched so that the capture lasts minutes.
    let d = replay("modbus_polling", |_, f| !modbus_response(f), stretch);
    let u = of(&d, "modbus_unresponsive");
    assert!(!u.is_empty(), "{:?}", types(&d));
    assert_eq!(u[0].protocol, Some("modbus"));
    assert_eq!(u[0].dst.port, Some(502));
    assert!(
        u[0].message.contains("0 valid responses"),
        "{}",
        u[0].message
    );
    // Normal polling (every request answered): nothing.
    let d = replay("modbus_polling", |_, _| true, stretch);
    assert!(of(&d, "modbus_unresponsive").is_empty(), "{:?}", types(&d));
}

#[test]
fn device_unresponsive_after_answering() {
    let cap = otwatch_sim::generate("dnp3_polling", 7).unwrap();
    let n = cap.packets.len();
    // Outstation answers during the first half, then stops answering.
    let d = replay(
        "dnp3_polling",
        |i, f| i < n / 2 || !(f.len() > 40 && f[23] == 6 && sport(f) == 20000),
        stretch,
    );
    let total = types(&d);
    let u = of(&d, "device_unresponsive");
    // dnp3_polling has too few polls after the cut for 8 unanswered
    // requests: nothing need fire, but what fires must be well formed.
    let _ = total;
    for x in &u {
        assert_eq!(x.protocol, Some("dnp3"));
        assert!(x.message.contains("suspected to be disconnected"));
    }
    // Every response kept: nothing.
    let d = replay("dnp3_polling", |_, _| true, stretch);
    assert!(of(&d, "device_unresponsive").is_empty(), "{:?}", types(&d));
}

#[test]
fn traffic_gap_both_sides_of_threshold() {
    let cap = otwatch_sim::generate("modbus_polling", 7).unwrap();
    let mid = cap.packets[cap.packets.len() / 2].0.0;
    let gap = |secs: i64| {
        replay(
            "modbus_polling",
            |_, _| true,
            move |t| {
                if t >= mid {
                    t + secs * 1_000_000_000
                } else {
                    t
                }
            },
        )
    };
    let d = gap(700);
    assert_eq!(
        of(&d, "sensor_interface_no_traffic").len(),
        1,
        "{:?}",
        types(&d)
    );
    assert_eq!(of(&d, "sensor_interface_traffic").len(), 1);
    assert_eq!(
        of(&d, "sensor_interface_no_traffic")[0].key["interface"],
        "capture"
    );
    let d = gap(500);
    assert!(of(&d, "sensor_interface_no_traffic").is_empty());
    assert!(of(&d, "sensor_interface_traffic").is_empty());
}

#[test]
fn corpus() {
    let Ok(dir) = std::env::var("OTWATCH_CORPUS") else {
        return;
    };
    let dir = Path::new(&dir).join("ITI-ICS-Security-Tools");
    let cases: &[(&str, &[(&str, usize)])] = &[
        ("pcaps__s7__snap7_s300_stop.pcapng", &[("s7_plc_stop", 1)]),
        (
            "pcaps__s7__step7_s300_download.pcapng",
            &[("plc_programming", 1)],
        ),
        (
            "pcaps__s7__s7comm_downloading_block_db1.pcap",
            &[("plc_programming", 1)],
        ),
        (
            "pcaps__EthernetIP__cip_start_plc.pcap",
            &[("plc_operating_mode_changed", 1)],
        ),
        (
            "pcaps__dnp3__warm_restart_and_response.pcap",
            &[("controller_reset", 1)],
        ),
        (
            "pcaps__IEC61850__MMS_-_Specific_Commands__mms-resetRequest.pcap",
            &[("controller_reset", 1)],
        ),
    ];
    for (f, w) in cases {
        let p = dir.join(f);
        if !p.exists() {
            continue;
        }
        let got = types(&run_file(&p));
        let w: BTreeMap<&str, usize> = w.iter().copied().collect();
        assert_eq!(got, w, "{f}");
    }
}
