//! Anomaly engine: hand-built events on each side of every threshold,
//! generated normal scenarios (no anomaly), a /16 scan (bounded state) and,
//! with `OTWATCH_CORPUS`, a report over the real captures.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use otwatch_alerts::{Catalog, Detection, Engine as EngineKind, Overrides};
use otwatch_capture::{LinkType, Packet};
use otwatch_core::{
    ClientBy, Direction, FlowId, FlowInfo, FlowSide, MacAddr, MsgKind, Timestamp, Transport,
};
use otwatch_engines::anomaly::{Anomaly, MAX_KEYS, ids};
use otwatch_engines::{Engine, Engines};
use otwatch_pipeline::{Config, Pipeline};
use otwatch_proto::event::{AppEvent, ArpEvent, Event};
use otwatch_proto::{Message, dnp3, ftp, http, icmp, modbus, smb, telnet, vnc};

/// The built-in catalog with every anomaly type of this engine switched on.
fn all_on() -> Catalog {
    let mut t = String::new();
    for id in ids::ALL {
        t.push_str(&format!("[types.{id}]\nenabled = true\n"));
    }
    Catalog::builtin()
        .with_overrides(&Overrides::from_toml_str(&t).unwrap())
        .unwrap()
}

fn by_type(d: &[Detection]) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for x in d {
        *m.entry(x.type_id).or_default() += 1;
    }
    m
}

fn of<'a>(d: &'a [Detection], ty: &str) -> Vec<&'a Detection> {
    d.iter().filter(|x| x.type_id == ty).collect()
}

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

const SCANNER: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 66));
const NS: i64 = 1_000_000_000;

fn flow(id: u64, client: IpAddr, server: IpAddr, sport: u16, tr: Transport, ns: i64) -> FlowInfo {
    FlowInfo {
        id: FlowId(id),
        transport: tr,
        ip_proto: match tr {
            Transport::Udp => 17,
            Transport::OtherIp => 1,
            _ => 6,
        },
        vlan: 0,
        client: FlowSide {
            ip: client,
            port: 40000 + (id % 20000) as u16,
            mac: MacAddr([2, 0, 0, 0, 0, 0x66]),
        },
        server: FlowSide {
            ip: server,
            port: sport,
            mac: MacAddr([2, 0, 0, 0, 0, 9]),
        },
        client_by: ClientBy::Handshake,
        proto: None,
        first_seen: Timestamp(ns),
        last_seen: Timestamp(ns),
        pkts: [1, 0],
        bytes: [40, 0],
        end_reason: None,
    }
}

struct T {
    e: Anomaly,
    out: Vec<Detection>,
    next_id: u64,
}

impl T {
    fn new() -> Self {
        T::with(&all_on())
    }
    fn with(cat: &Catalog) -> Self {
        T {
            e: Anomaly::new(cat),
            out: Vec::new(),
            next_id: 1,
        }
    }
    fn ev(&mut self, ev: Event<'_>) {
        self.e.on_event(&ev, &mut self.out);
    }
    /// A new flow from `client` to `server:port` at `ns`.
    fn start(&mut self, client: IpAddr, server: IpAddr, port: u16, tr: Transport, ns: i64) {
        let f = flow(self.next_id, client, server, port, tr, ns);
        self.next_id += 1;
        self.ev(Event::FlowStart(&f));
    }
    fn app(&mut self, f: &FlowInfo, dir: Direction, msg: Message<'_>, ns: i64) {
        let a = AppEvent {
            ts: Timestamp(ns),
            flow: f,
            dir,
            kind: if dir == Direction::ToServer {
                MsgKind::Request
            } else {
                MsgKind::Response
            },
            msg,
        };
        self.ev(Event::App(&a));
    }
    fn take(&mut self) -> Vec<Detection> {
        std::mem::take(&mut self.out)
    }
}

// ---------------------------------------------------------------- catalog

#[test]
fn every_id_is_an_anomaly_type_of_the_catalog() {
    let cat = Catalog::builtin();
    for id in ids::ALL {
        let t = cat
            .get(id)
            .unwrap_or_else(|| panic!("{id} not in the catalog"));
        assert_eq!(t.engine, EngineKind::Anomaly, "{id}");
    }
    // Registered in builtin() when the engine is on.
    assert!(otwatch_engines::builtin(cat, otwatch_engines::Baseline::new()).len() >= 4);
}

#[test]
fn disabled_types_are_silent() {
    // arp_address_scan is disabled by default.
    let mut t = T::with(Catalog::builtin());
    for i in 0..100u8 {
        arp(
            &mut t,
            MAC_A,
            v4(10, 0, 0, 1),
            v4(10, 0, 1, i),
            1,
            i as i64 * NS,
        );
    }
    assert!(t.take().is_empty());
}

// ---------------------------------------------------------------- scans

fn address_scan(n: u32, step_ms: i64, cat: &Catalog) -> Vec<Detection> {
    let mut t = T::with(cat);
    for i in 0..n {
        let dst = v4(10, 1, (i / 250) as u8, (i % 250 + 1) as u8);
        let tr = if i % 2 == 0 {
            Transport::Tcp
        } else {
            Transport::Udp
        };
        t.start(
            SCANNER,
            dst,
            80,
            tr,
            1000 * NS + i as i64 * step_ms * 1_000_000,
        );
    }
    t.take()
}

#[test]
fn address_scan_threshold() {
    let d = address_scan(50, 500, Catalog::builtin());
    assert_eq!(by_type(&d), BTreeMap::from([("address_scan", 1)]));
    let x = &d[0];
    assert_eq!(x.src.ip, Some(SCANNER));
    assert_eq!(x.dst, Default::default());
    assert_eq!(x.key["subnet"], "10.1.0.0/16");
    assert_eq!(x.info["hosts"], "50");
    assert_eq!(
        x.message,
        "10.0.0.66 contacted 50 hosts of 10.1.0.0/16 on UDP within 24 s (threshold 50 in 120 s)"
    );
    assert!(x.info["sample_targets"].starts_with("10.1.0.50"));
    assert!(address_scan(49, 500, Catalog::builtin()).is_empty());
    // 50 hosts over 147 s: not within 120 s.
    assert!(address_scan(50, 3000, Catalog::builtin()).is_empty());
}

#[test]
fn long_duration_address_scan() {
    // 50 hosts over 245 s: a slow scan.
    let d = address_scan(50, 5000, &all_on());
    assert_eq!(
        by_type(&d),
        BTreeMap::from([("long_duration_address_scan", 1)])
    );
    assert!(
        d[0].message
            .contains("within 245 s (threshold 50 in 600 s)")
    );
    // Over 637 s: too slow.
    assert!(address_scan(50, 13000, &all_on()).is_empty());
    // A fast scan is reported once, as an address scan.
    let d = address_scan(200, 100, &all_on());
    assert_eq!(by_type(&d), BTreeMap::from([("address_scan", 1)]));
}

#[test]
fn slash16_scan_is_one_detection_with_bounded_state() {
    let mut t = T::with(Catalog::builtin());
    // 65,536 destinations in 65.5 s.
    for i in 0..65_536u32 {
        let dst = IpAddr::V4(Ipv4Addr::from(0x0a01_0000 | i));
        t.start(
            SCANNER,
            dst,
            443,
            Transport::Tcp,
            1000 * NS + i as i64 * 1_000_000,
        );
    }
    let d = t.take();
    assert_eq!(by_type(&d), BTreeMap::from([("address_scan", 1)]));
    let s = t.e.stats();
    assert!(s.max_table_len <= MAX_KEYS, "{s:?}");
    assert!(s.total_keys <= 12 * MAX_KEYS, "{s:?}");
    assert!(s.evictions > 0, "per-pair tables were full: {s:?}");
}

#[test]
fn address_scan_rearms_after_the_window() {
    let mut t = T::with(Catalog::builtin());
    for round in 0..2 {
        for i in 0..50u8 {
            t.start(
                SCANNER,
                v4(10, 1, round, i + 1),
                80,
                Transport::Tcp,
                (1000 + 200 * round as i64) * NS + i as i64 * NS,
            );
        }
    }
    assert_eq!(of(&t.take(), ids::ADDRESS_SCAN).len(), 2);
}

fn port_scan(n: u16) -> Vec<Detection> {
    let mut t = T::with(Catalog::builtin());
    let dst = v4(10, 0, 0, 9);
    for p in 0..n {
        t.start(
            SCANNER,
            dst,
            1 + p,
            Transport::Tcp,
            1000 * NS + p as i64 * 100_000_000,
        );
    }
    t.take()
}

#[test]
fn port_scan_threshold() {
    let d = port_scan(25);
    assert_eq!(by_type(&d), BTreeMap::from([("port_scan", 1)]));
    assert_eq!(d[0].dst.ip, Some(v4(10, 0, 0, 9)));
    assert_eq!(d[0].protocol, Some("tcp"));
    assert_eq!(
        d[0].message,
        "10.0.0.66 probed 25 ports of 10.0.0.9 on TCP within 2 s (threshold 25 in 120 s)"
    );
    assert!(port_scan(24).is_empty());
    // A mid-stream TCP pickup is not a probe.
    let mut t = T::new();
    for p in 0..30 {
        let mut f = flow(
            p,
            SCANNER,
            v4(10, 0, 0, 9),
            1 + p as u16,
            Transport::Tcp,
            1000 * NS,
        );
        f.client_by = ClientBy::PortHeuristic;
        t.ev(Event::FlowStart(&f));
    }
    assert!(t.take().is_empty());
}

#[test]
fn plc_scan_by_port() {
    for (n, want) in [(10u8, 1), (9, 0)] {
        let mut t = T::with(Catalog::builtin());
        for i in 0..n {
            t.start(
                SCANNER,
                v4(10, 10, 1, 20 + i),
                502,
                Transport::Tcp,
                1000 * NS + i as i64 * NS,
            );
        }
        let d = t.take();
        assert_eq!(of(&d, ids::PLC_SCAN).len(), want, "{n}: {d:?}");
        if want == 1 {
            assert_eq!(d[0].protocol, Some("modbus"));
            assert_eq!(
                d[0].message,
                "10.0.0.66 probed 10 controllers on modbus within 9 s (threshold 10 in 120 s; last: connection to 10.10.1.29)"
            );
        }
    }
    // Ten hosts on a non-industrial port: nothing.
    let mut t = T::with(Catalog::builtin());
    for i in 0..10 {
        t.start(
            SCANNER,
            v4(10, 10, 1, 20 + i),
            8080,
            Transport::Tcp,
            1000 * NS,
        );
    }
    assert!(t.take().is_empty());
}

#[test]
fn pollers_are_not_rescanned() {
    // A master that keeps opening connections to the same 12 PLCs for 10
    // minutes: one plc_scan at the start, not one per window.
    let mut t = T::with(Catalog::builtin());
    for round in 0..20i64 {
        for i in 0..12u8 {
            t.start(
                SCANNER,
                v4(10, 10, 1, 20 + i),
                502,
                Transport::Tcp,
                (1000 + 30 * round) * NS + i as i64 * NS,
            );
        }
    }
    assert_eq!(by_type(&t.take()), BTreeMap::from([("plc_scan", 1)]));
    // BACnet peers talk 47808 <-> 47808: not probes.
    let mut t = T::with(Catalog::builtin());
    for i in 0..60u8 {
        let mut f = flow(
            i as u64,
            SCANNER,
            v4(10, 10, 1, i + 1),
            47808,
            Transport::Udp,
            1000 * NS + i as i64 * NS,
        );
        f.client.port = 47808;
        t.ev(Event::FlowStart(&f));
    }
    assert!(t.take().is_empty());
}

#[test]
fn plc_scan_by_identity_requests() {
    // Modbus Read Device Identification (43/14) on a non-standard port.
    let adu = [0, 1, 0, 0, 0, 5, 1, 0x2b, 0x0e, 0x01, 0x00];
    for (n, want) in [(10u8, 1), (9, 0)] {
        let mut t = T::with(Catalog::builtin());
        for i in 0..n {
            let f = flow(
                i as u64,
                SCANNER,
                v4(10, 10, 2, i + 1),
                5020,
                Transport::Tcp,
                1000 * NS,
            );
            t.app(
                &f,
                Direction::ToServer,
                mb(&adu, modbus::Side::Request),
                1000 * NS + i as i64 * NS,
            );
        }
        let d = t.take();
        assert_eq!(of(&d, ids::PLC_SCAN).len(), want, "{n}");
        if want == 1 {
            assert!(
                d[0].message
                    .ends_with("last: Read Device Identification to 10.10.2.10)"),
                "{}",
                d[0].message
            );
        }
    }
}

// ---------------------------------------------------------------- ARP

const MAC_A: MacAddr = MacAddr([2, 0, 0, 0, 0, 0xa]);
const MAC_B: MacAddr = MacAddr([2, 0, 0, 0, 0, 0xb]);

fn arp(t: &mut T, mac: MacAddr, sender: IpAddr, target: IpAddr, op: u16, ns: i64) {
    let a = ArpEvent {
        ts: Timestamp(ns),
        src_mac: mac,
        dst_mac: MacAddr::BROADCAST,
        vlan: 0,
        operation: op,
        sender_mac: mac,
        sender_ip: Some(sender),
        target_mac: MacAddr([0; 6]),
        target_ip: Some(target),
    };
    t.ev(Event::Arp(&a));
}

#[test]
fn arp_address_scan_threshold() {
    for (n, want) in [(40u8, 1), (39, 0)] {
        let mut t = T::new();
        for i in 0..n {
            arp(
                &mut t,
                MAC_A,
                v4(10, 0, 0, 1),
                v4(10, 0, 1, i + 1),
                1,
                1000 * NS + i as i64 * NS,
            );
        }
        let d = t.take();
        assert_eq!(
            by_type(&d).get(ids::ARP_SCAN).copied().unwrap_or(0),
            want,
            "{n}"
        );
        if want == 1 {
            assert_eq!(d[0].src.mac, Some(MAC_A));
            assert_eq!(
                d[0].message,
                "02:00:00:00:00:0a (10.0.0.1) ARP-requested 40 addresses within 39 s (threshold 40 in 360 s)"
            );
        }
    }
}

#[test]
fn arp_spoofing_binding_conflict() {
    let ip = v4(10, 0, 0, 1);
    let victim = v4(10, 0, 0, 7);
    // A claims the gateway address, B claims it 10 s later: spoofing.
    let mut t = T::new();
    arp(&mut t, MAC_A, ip, victim, 2, 1000 * NS);
    arp(&mut t, MAC_B, ip, victim, 2, 1010 * NS);
    arp(&mut t, MAC_B, ip, victim, 2, 1012 * NS);
    let d = t.take();
    assert_eq!(by_type(&d), BTreeMap::from([("arp_spoofing", 1)]));
    assert_eq!(d[0].src.mac, Some(MAC_B));
    assert_eq!(
        d[0].message,
        "02:00:00:00:00:0b claimed 10.0.0.1, which 02:00:00:00:00:0a claimed 10 s before (window 60 s)"
    );
    // A gratuitous ARP of B long after A last spoke: a replaced device.
    let mut t = T::new();
    arp(&mut t, MAC_A, ip, victim, 2, 1000 * NS);
    arp(&mut t, MAC_B, ip, ip, 1, 1100 * NS);
    assert!(t.take().is_empty());
}

#[test]
fn arp_spoofing_reply_flood() {
    for (n, want) in [(60, 1), (59, 0)] {
        let mut t = T::new();
        for i in 0..n {
            arp(
                &mut t,
                MAC_A,
                v4(10, 0, 0, 1),
                v4(10, 0, 0, 7),
                2,
                1000 * NS + i * 500_000_000,
            );
        }
        assert_eq!(t.take().len(), want, "{n}");
    }
}

// ---------------------------------------------------------------- ICMP

fn echo(ty: u8) -> Message<'static> {
    Message::Icmp(icmp::Message {
        version: 4,
        icmp_type: ty,
        code: 0,
        checksum: 0,
        id: Some(1),
        seq: Some(1),
        orig: None,
        target: None,
        lladdr: None,
        body: &[],
        latency_ns: None,
    })
}

#[test]
fn icmp_flooding_threshold() {
    let f = flow(
        1,
        SCANNER,
        v4(10, 0, 0, 9),
        0,
        Transport::OtherIp,
        1000 * NS,
    );
    for (n, want) in [(61, 1), (60, 0)] {
        let mut t = T::new();
        for i in 0..n {
            t.app(
                &f,
                Direction::ToServer,
                echo(8),
                1000 * NS + i * 100_000_000,
            );
        }
        let d = t.take();
        assert_eq!(
            by_type(&d).get(ids::ICMP_FLOODING).copied().unwrap_or(0),
            want,
            "{n}"
        );
        if want == 1 {
            assert_eq!(
                d[0].message,
                "10.0.0.66 sent 61 ICMP queries to 10.0.0.9 in 60 s (threshold 60)"
            );
        }
    }
    // Echo replies are not counted.
    let mut t = T::new();
    for i in 0..200 {
        t.app(&f, Direction::ToClient, echo(0), 1000 * NS + i * 10_000_000);
    }
    assert!(t.take().is_empty());
}

#[test]
fn ping_sweep_is_an_address_scan() {
    let mut t = T::with(Catalog::builtin());
    for i in 0..50u8 {
        let f = flow(
            i as u64,
            SCANNER,
            v4(10, 2, 0, i + 1),
            0,
            Transport::OtherIp,
            1000 * NS,
        );
        t.app(&f, Direction::ToServer, echo(8), 1000 * NS + i as i64 * NS);
    }
    let d = t.take();
    assert_eq!(by_type(&d), BTreeMap::from([("address_scan", 1)]));
    assert!(d[0].message.contains("on ICMP echo"), "{}", d[0].message);
    assert_eq!(d[0].protocol, Some("icmp"));
}

// ---------------------------------------------------------------- logins

fn failures(msg: Message<'_>, port: u16, n: i64) -> Vec<Detection> {
    let mut t = T::new();
    let f = flow(1, SCANNER, v4(10, 0, 0, 9), port, Transport::Tcp, 1000 * NS);
    for i in 0..n {
        t.app(&f, Direction::ToClient, msg, 1000 * NS + i * 100_000_000);
    }
    t.take()
}

fn ftp_530() -> Message<'static> {
    Message::Ftp(ftp::Message::Reply {
        code: 530,
        text: b"Login incorrect.",
        multiline: false,
        login: Some(ftp::Login::Failure),
        user: None,
    })
}

#[test]
fn excessive_login_attempts_per_protocol() {
    let head = http::Head {
        status: 401,
        ..Default::default()
    };
    let msgs: Vec<(&str, Message<'_>, u16)> = vec![
        ("ftp", ftp_530(), 21),
        (
            "telnet",
            Message::Telnet(telnet::Message::LoginFailed {
                line: b"Login incorrect",
                user: None,
            }),
            23,
        ),
        (
            "http",
            Message::Http(http::Message {
                head,
                body_len: Some(0),
                framing: "none",
                request_method: None,
                latency_ns: None,
            }),
            80,
        ),
        (
            "vnc",
            Message::Vnc(vnc::Message::SecurityResult {
                ok: false,
                code: 1,
                reason: None,
            }),
            5900,
        ),
    ];
    for (p, m, port) in msgs {
        let d = failures(m, port, 20);
        assert_eq!(
            by_type(&d),
            BTreeMap::from([("excessive_login_attempts", 1)]),
            "{p}"
        );
        assert_eq!(d[0].protocol, Some(p));
        assert_eq!(d[0].src.ip, Some(SCANNER), "{p}: the client is the source");
        assert_eq!(d[0].dst.port, Some(port));
        assert!(failures(m, port, 19).is_empty(), "{p}");
    }
    let d = failures(ftp_530(), 21, 20);
    assert_eq!(
        d[0].message,
        "10.0.0.66 failed 20 FTP logins to 10.0.0.9 in 60 s (threshold 20; last: FTP reply 530)"
    );
    // Successful logins are not counted.
    let ok = Message::Ftp(ftp::Message::Reply {
        code: 230,
        text: b"ok",
        multiline: false,
        login: Some(ftp::Login::Success),
        user: None,
    });
    assert!(failures(ok, 21, 200).is_empty());
}

#[test]
fn password_guessing_threshold() {
    let d = failures(ftp_530(), 21, 100);
    assert_eq!(
        by_type(&d),
        BTreeMap::from([("excessive_login_attempts", 1), ("password_guessing", 1)])
    );
    let d = failures(ftp_530(), 21, 99);
    assert_eq!(
        by_type(&d),
        BTreeMap::from([("excessive_login_attempts", 1)])
    );
}

fn smb_failure(status: u32) -> Message<'static> {
    Message::Smb(smb::Message {
        cmd: smb::Command {
            version: 2,
            command: 1,
            status,
            response: true,
            ..Default::default()
        },
        flow_dialect: 0x0311,
        truncated: false,
    })
}

#[test]
fn excessive_smb_login_attempts_threshold() {
    let d = failures(smb_failure(0xC000_006D), 445, 10);
    assert_eq!(
        by_type(&d),
        BTreeMap::from([("excessive_smb_login_attempts", 1)])
    );
    assert_eq!(d[0].protocol, Some("smb"));
    assert!(failures(smb_failure(0xC000_006D), 445, 9).is_empty());
    // MORE_PROCESSING_REQUIRED is the normal NTLM round trip.
    assert!(failures(smb_failure(0xC000_0016), 445, 50).is_empty());
}

// ---------------------------------------------------------------- sessions

#[test]
fn excessive_sessions_threshold() {
    for (n, want) in [(50, 1), (49, 0)] {
        let mut t = T::new();
        for i in 0..n {
            t.start(
                SCANNER,
                v4(10, 0, 0, 9),
                502,
                Transport::Tcp,
                1000 * NS + i * 500_000_000,
            );
        }
        let d = t.take();
        assert_eq!(
            by_type(&d)
                .get(ids::EXCESSIVE_SESSIONS)
                .copied()
                .unwrap_or(0),
            want,
            "{n}"
        );
        if want == 1 {
            assert_eq!(
                d[0].message,
                "10.0.0.66 opened 50 TCP sessions to 10.0.0.9:502 in 60 s (threshold 50)"
            );
        }
    }
}

// ---------------------------------------------------------------- rates

fn dnp3_request(fc: u8) -> Message<'static> {
    Message::Dnp3(dnp3::Message {
        src_addr: 1,
        dst_addr: 10,
        link_control: 0xc4,
        transport_seq: 0,
        segments: 1,
        app_control: dnp3::AppControl(0xc0),
        function_code: fc,
        iin: None,
        objects: &[],
        objects_complete: true,
        object_count: 0,
        request: None,
        latency_ns: None,
    })
}

#[test]
fn excessive_restart_rate_threshold() {
    let f = flow(
        1,
        SCANNER,
        v4(10, 0, 0, 30),
        20000,
        Transport::Tcp,
        1000 * NS,
    );
    for (n, want) in [(10, 1), (9, 0)] {
        let mut t = T::new();
        for i in 0..n {
            let fc = if i % 2 == 0 { 13 } else { 14 };
            t.app(
                &f,
                Direction::ToServer,
                dnp3_request(fc),
                1000 * NS + i * 60 * NS,
            );
        }
        let d = t.take();
        assert_eq!(
            by_type(&d).get(ids::RESTART_RATE).copied().unwrap_or(0),
            want,
            "{n}"
        );
        if want == 1 {
            assert_eq!(d[0].dst.ip, Some(v4(10, 0, 0, 30)));
            assert!(
                d[0].message.starts_with(
                    "10.0.0.66 sent 10 DNP3 restart requests to outstation 10.0.0.30 (address 10)"
                ),
                "{}",
                d[0].message
            );
        }
    }
}

fn mb(adu: &[u8], side: modbus::Side) -> Message<'_> {
    Message::Modbus(modbus::Message {
        pdu: modbus::wire::parse_adu(adu, side).unwrap(),
        request: None,
        latency_ns: None,
    })
}

#[test]
fn abnormal_exception_pattern_threshold() {
    let f = flow(1, SCANNER, v4(10, 0, 0, 21), 502, Transport::Tcp, 1000 * NS);
    let adu = [0, 1, 0, 0, 0, 3, 1, 0x83, 0x02];
    for (n, want) in [(20, 1), (19, 0)] {
        let mut t = T::new();
        for i in 0..n {
            t.app(
                &f,
                Direction::ToClient,
                mb(&adu, modbus::Side::Response),
                1000 * NS + i * 60 * NS,
            );
        }
        let d = t.take();
        assert_eq!(
            by_type(&d)
                .get(ids::EXCEPTION_PATTERN)
                .copied()
                .unwrap_or(0),
            want,
            "{n}"
        );
        if want == 1 {
            // The server is the source.
            assert_eq!(d[0].src.ip, Some(v4(10, 0, 0, 21)));
            assert_eq!(d[0].dst.ip, Some(SCANNER));
        }
    }
}

// ---------------------------------------------------------------- scenarios

fn run_scenario(name: &str, cat: &Catalog) -> Vec<Detection> {
    let cap = otwatch_sim::generate(name, 3).unwrap();
    let mut engines = Engines::new();
    engines.push(Box::new(Anomaly::new(cat)));
    let mut p = Pipeline::new(Config::default(), engines);
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

#[test]
fn normal_scenarios_raise_no_anomaly() {
    let cat = all_on();
    for s in [
        "modbus_polling",
        "modbus_udp",
        "modbus_writes",
        "dnp3_polling",
        "dnp3_udp",
        "s7comm_normal",
        "enip_normal",
        "iec104_normal",
        "bacnet_normal",
        "fins_normal",
        "opcua_normal",
        "mqtt_normal",
        "profinet_dcp",
        "it_dns_dhcp",
        "it_http",
        "it_tls",
        "it_snmp",
        "it_infra",
        "it_ftp_smb",
        "it_remote_access",
        "net_ipv6",
        "net_vlan",
        "demo",
    ] {
        let d = run_scenario(s, &cat);
        assert!(
            d.is_empty(),
            "{s}: {:?}",
            d.iter().map(|x| &x.message).collect::<Vec<_>>()
        );
    }
}

// ---------------------------------------------------------------- corpus

#[test]
fn corpus_report() {
    let Some(root) = std::env::var_os("OTWATCH_CORPUS").map(std::path::PathBuf::from) else {
        eprintln!("OTWATCH_CORPUS is not set: the corpus run DID NOT RUN");
        return;
    };
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("captures_index.json")).unwrap())
            .unwrap();
    let cat = all_on();
    let mut total: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut seen: BTreeMap<(String, &'static str), usize> = BTreeMap::new();
    for c in index.as_array().unwrap() {
        let dest = c["dest"].as_str().unwrap();
        let Ok(mut src) = otwatch_capture::FileSource::open(root.join(dest), 0) else {
            continue;
        };
        let mut engines = Engines::new();
        engines.push(Box::new(Anomaly::new(&cat)));
        let mut p = Pipeline::new(Config::default(), engines);
        use otwatch_capture::PacketSource;
        while let Ok(Some(pkt)) = src.next_packet() {
            p.process(&pkt);
        }
        p.finish();
        let mut e = p.into_sink();
        e.finish();
        let d: Vec<_> = e.drain().collect();
        if !d.is_empty() {
            let t = by_type(&d);
            println!(
                "{dest} (attack/anomaly: {}): {t:?}",
                c["attack_or_anomaly"].as_bool().unwrap_or(false)
            );
            for (k, v) in t {
                *total.entry(k).or_default() += v;
                seen.insert((dest.to_string(), k), v);
            }
            for x in d.iter().take(4) {
                println!("    {}: {}", x.type_id, x.message);
            }
        }
    }
    println!("total: {total:?}");
    // Checked by hand with tshark: 11 DNP3 cold restarts (FC 13) from
    // 192.168.0.198 to .197 within 510 s; 30 FTP 530 replies within 57 s;
    // 130 Modbus exception responses within 82 s.
    for (file, ty, n) in [
        (
            "EmreEkin-ICS-Pcaps/DNP3__dnp3dataset_capturerem_to_cite_the_paper.pcap",
            ids::RESTART_RATE,
            1,
        ),
        (
            "zeek/testing__btest__Traces__ftp__bruteforce.pcap",
            ids::EXCESSIVE_LOGINS,
            1,
        ),
        (
            "ITI-ICS-Security-Tools/pcaps__ModbusTCP__modbus_test_data_part2.pcap",
            ids::EXCEPTION_PATTERN,
            1,
        ),
        // SSH banners on TCP port 80.
        (
            "zeek/testing__btest__Traces__ssh__ssh-on-port-80.pcap",
            ids::STANDARD_PORT,
            1,
        ),
        // A request whose body is a nested message carrying its own
        // Transfer-Encoding (request smuggling).
        (
            "zeek/testing__btest__Traces__http__smuggle-http-request.pcap",
            ids::HTTP_HEADER_CONTENT,
            1,
        ),
    ] {
        assert_eq!(
            seen.get(&(file.to_string(), ty)).copied().unwrap_or(0),
            n,
            "{file} {ty}"
        );
    }
}
