//! All engines together under a /16 address scan after learning: the scan
//! is reported, the probed addresses that never answer do not become
//! devices or alerts one by one, and every table stays within its cap.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use otwatch_alerts::Catalog;
use otwatch_core::{ClientBy, FlowId, FlowInfo, FlowSide, MacAddr, Timestamp, Transport};
use otwatch_engines::{Baseline, builtin};
use otwatch_proto::event::{Event, EventSink};

const NS: i64 = 1_000_000_000;

fn flow(id: u64, client: IpAddr, server: IpAddr, port: u16, ns: i64, answered: bool) -> FlowInfo {
    FlowInfo {
        id: FlowId(id),
        transport: Transport::Tcp,
        ip_proto: 6,
        vlan: 0,
        client: FlowSide {
            ip: client,
            port: 40000 + (id % 20000) as u16,
            mac: MacAddr([2, 0, 0, 0, 0, 0x66]),
        },
        server: FlowSide {
            ip: server,
            port,
            mac: MacAddr([2, 0, 0, 0, 0, 1]),
        },
        client_by: ClientBy::Handshake,
        proto: None,
        first_seen: Timestamp(ns),
        last_seen: Timestamp(ns + 1_000_000),
        pkts: [1, answered as u64],
        bytes: [60, if answered { 60 } else { 0 }],
        end_reason: None,
    }
}

#[test]
fn slash16_scan_after_learning_is_bounded_and_not_a_flood() {
    let cat = Catalog::builtin();
    let mut e = builtin(cat, Baseline::new());
    e.baseline_mut().set_all_ot(true);
    let scanner = IpAddr::V4(Ipv4Addr::new(10, 1, 0, 66));
    let plc = IpAddr::V4(Ipv4Addr::new(10, 1, 0, 10));
    // Learning: the scanner polls one PLC for a minute.
    let mut id = 1;
    for s in 0..60 {
        let f = flow(id, scanner, plc, 502, s * NS, true);
        id += 1;
        e.on_event(&Event::FlowStart(&f));
        e.on_event(&Event::FlowEnd(&f));
    }
    e.baseline_mut().set_learning(false, Timestamp(60 * NS));
    let learned_devices = e.baseline().stats().devices;
    // Then a SYN sweep of 10.2.0.0/16, one probe per millisecond.
    let mut types: BTreeMap<&'static str, usize> = BTreeMap::new();
    for i in 0..65_536u32 {
        let target = IpAddr::V4(Ipv4Addr::from(0x0a02_0000 | i));
        let ns = 61 * NS + i as i64 * 1_000_000;
        let f = flow(id, scanner, target, 502, ns, false);
        id += 1;
        e.on_event(&Event::FlowStart(&f));
        e.on_event(&Event::FlowEnd(&f));
        for d in e.drain() {
            *types.entry(d.type_id).or_default() += 1;
        }
    }
    e.finish();
    for d in e.drain() {
        *types.entry(d.type_id).or_default() += 1;
    }
    assert!(types.contains_key("address_scan"), "{types:?}");
    let total: usize = types.values().sum();
    assert!(
        total < 50,
        "a scan must not become an alert per target: {types:?}"
    );
    assert!(!types.contains_key("new_asset_detected"), "{types:?}");
    // Addresses that never answered are not devices of the baseline.
    assert_eq!(e.baseline().stats().devices, learned_devices);
    let s = e.stats();
    assert!(s.policy.detections < 50, "{s:?}");
}
