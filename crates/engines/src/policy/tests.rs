//! Connection-based rules on hand-built flows: Internet, SSH, database,
//! new port, multicast.

use super::*;
use otwatch_core::{ClientBy, FlowId, MacAddr};

const NS: i64 = 1_000_000_000;
const T0: i64 = 1_700_000_000 * NS;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn flow(id: u64, c: &str, s: &str, port: u16, proto: Option<Proto>, tr: Transport) -> FlowInfo {
    FlowInfo {
        id: FlowId(id),
        transport: tr,
        ip_proto: if tr == Transport::Udp { 17 } else { 6 },
        vlan: 0,
        client: FlowSide {
            ip: ip(c),
            port: 40000,
            mac: MacAddr([2, 0, 0, 0, 0, 1]),
        },
        server: FlowSide {
            ip: ip(s),
            port,
            mac: MacAddr([2, 0, 0, 0, 0, 2]),
        },
        client_by: ClientBy::Handshake,
        proto,
        first_seen: Timestamp(T0 + id as i64 * NS),
        last_seen: Timestamp(T0 + id as i64 * NS + NS),
        pkts: [3, 3],
        bytes: [300, 300],
        end_reason: None,
    }
}

struct T {
    p: Policy,
    b: Baseline,
}

impl T {
    fn new() -> T {
        T {
            p: Policy::new(Catalog::builtin()),
            b: Baseline::new(),
        }
    }
    fn stop_learning(&mut self) {
        self.b.set_learning(false, Timestamp(T0));
    }
    fn flow(&mut self, f: &FlowInfo) -> Vec<Detection> {
        let mut out = Vec::new();
        self.p.on_event(&mut self.b, &Event::FlowStart(f), &mut out);
        self.p.on_event(&mut self.b, &Event::FlowEnd(f), &mut out);
        out
    }
}

fn types(d: &[Detection]) -> Vec<&'static str> {
    let mut v: Vec<_> = d.iter().map(|x| x.type_id).collect();
    v.sort_unstable();
    v
}

#[test]
fn internet_rules() {
    let mut t = T::new();
    // Learned: the historian may reach the Internet.
    t.flow(&flow(
        1,
        "10.0.0.20",
        "93.184.216.34",
        443,
        Some(Proto::Tls),
        Transport::Tcp,
    ));
    t.flow(&flow(
        2,
        "10.0.0.5",
        "10.0.0.9",
        502,
        Some(Proto::Modbus),
        Transport::Tcp,
    ));
    t.stop_learning();
    // The same peer again: silent.
    assert!(
        t.flow(&flow(
            3,
            "10.0.0.20",
            "93.184.216.34",
            443,
            None,
            Transport::Tcp
        ))
        .is_empty()
    );
    // A new peer of an Internet-allowed device: Internet Access Detected.
    let d = t.flow(&flow(
        4,
        "10.0.0.20",
        "8.8.4.4",
        443,
        Some(Proto::Tls),
        Transport::Tcp,
    ));
    assert_eq!(types(&d), [ids::INTERNET]);
    // A device never allowed: Unauthorized Internet Connectivity.
    let d = t.flow(&flow(
        5,
        "10.0.0.5",
        "8.8.4.4",
        80,
        Some(Proto::Http),
        Transport::Tcp,
    ));
    assert_eq!(types(&d), [ids::INTERNET_UNAUTHORIZED]);
    assert!(
        d[0].message
            .contains("10.0.0.5, not allowed to reach the Internet"),
        "{}",
        d[0].message
    );
    // Inbound from the Internet counts for the inside device.
    let d = t.flow(&flow(
        6,
        "8.8.4.4",
        "10.0.0.9",
        502,
        Some(Proto::Modbus),
        Transport::Tcp,
    ));
    assert_eq!(types(&d), [ids::INTERNET_UNAUTHORIZED]);
    assert_eq!(d[0].src.ip, Some(ip("10.0.0.9")));
    // Repeats within a minute are not reported again.
    assert!(
        t.flow(&flow(7, "10.0.0.5", "8.8.4.4", 80, None, Transport::Tcp))
            .is_empty()
    );
    // "Resolve all Internet traffic as internal": nothing.
    t.b.resolve_internal = true;
    assert!(
        t.flow(&flow(8, "10.0.0.5", "1.1.1.1", 80, None, Transport::Tcp))
            .is_empty()
    );
    t.b.resolve_internal = false;
    // Allowlisted FQDN's address (TTL running): nothing.
    t.b.allow_ip(ip("1.0.0.1"), 300, T0);
    assert!(
        t.flow(&flow(9, "10.0.0.5", "1.0.0.1", 443, None, Transport::Tcp))
            .is_empty()
    );
}

#[test]
fn public_address_inside() {
    let mut t = T::new();
    t.b.set_ot_subnets(&["150.10.0.0/16".parse().unwrap()]);
    t.stop_learning();
    let d = t.flow(&flow(1, "150.10.1.5", "8.8.8.8", 53, None, Transport::Udp));
    assert!(types(&d).contains(&ids::PUBLIC_INTERNAL), "{d:?}");
    // Two internet hosts, neither inside: nothing.
    let d = t.flow(&flow(2, "9.9.9.9", "8.8.8.8", 53, None, Transport::Udp));
    assert!(!types(&d).contains(&ids::PUBLIC_INTERNAL));
}

#[test]
fn ssh_database_new_port() {
    let mut t = T::new();
    // database_login is off by default: switch it on.
    let o = otwatch_alerts::Overrides::from_toml_str("[types.database_login]\nenabled = true\n")
        .unwrap();
    t.p = Policy::new(&Catalog::builtin().with_overrides(&o).unwrap());
    t.flow(&flow(
        1,
        "10.0.0.5",
        "10.0.0.9",
        22,
        Some(Proto::Ssh),
        Transport::Tcp,
    ));
    t.flow(&flow(2, "10.0.0.5", "10.0.0.9", 5432, None, Transport::Tcp));
    t.flow(&flow(3, "10.0.0.5", "10.0.0.9", 8080, None, Transport::Tcp));
    t.stop_learning();
    // Learned connections: silent.
    for (i, port) in [(4, 22), (5, 5432), (6, 8080)] {
        assert!(
            t.flow(&flow(i, "10.0.0.5", "10.0.0.9", port, None, Transport::Tcp))
                .is_empty()
        );
    }
    // Another (known) client: each is reported.
    let d = t.flow(&flow(
        7,
        "10.0.0.9",
        "10.0.0.5",
        22,
        Some(Proto::Ssh),
        Transport::Tcp,
    ));
    assert_eq!(types(&d), [ids::SSH]);
    let d = t.flow(&flow(8, "10.0.0.9", "10.0.0.5", 3306, None, Transport::Tcp));
    assert_eq!(types(&d), [ids::DATABASE]);
    assert_eq!(d[0].key["port"], "3306");
    let d = t.flow(&flow(9, "10.0.0.9", "10.0.0.5", 9999, None, Transport::Tcp));
    assert_eq!(types(&d), [ids::NEW_PORT]);
    // With the default catalog the database rule is silent.
    let mut u = T::new();
    u.stop_learning();
    u.b.see_device(ip("10.0.0.5"), None, T0);
    assert!(
        !types(&u.flow(&flow(1, "10.0.0.9", "10.0.0.5", 3306, None, Transport::Tcp)))
            .contains(&ids::DATABASE)
    );
    // A server that never answered: no session, nothing.
    let mut f = flow(10, "10.0.0.9", "10.0.0.5", 1433, None, Transport::Tcp);
    f.pkts = [2, 0];
    assert!(t.flow(&f).is_empty());
    // New port on an unknown (new) server: only the new asset, not a port.
    let d = t.flow(&flow(
        11,
        "10.0.0.9",
        "10.0.0.77",
        9999,
        None,
        Transport::Tcp,
    ));
    assert!(!types(&d).contains(&ids::NEW_PORT));
}

#[test]
fn multicast_and_new_asset() {
    let mut t = T::new();
    t.b.set_ot_subnets(&["10.0.0.0/24".parse().unwrap()]);
    t.flow(&flow(
        1,
        "10.0.0.5",
        "239.1.1.1",
        5000,
        None,
        Transport::Udp,
    ));
    t.stop_learning();
    assert!(
        t.flow(&flow(
            2,
            "10.0.0.5",
            "239.1.1.1",
            5000,
            None,
            Transport::Udp
        ))
        .is_empty()
    );
    let d = t.flow(&flow(
        3,
        "10.0.0.5",
        "239.1.1.2",
        5000,
        None,
        Transport::Udp,
    ));
    assert_eq!(types(&d), [ids::MULTICAST]);
    // A new device in the OT subnet.
    let d = t.flow(&flow(4, "10.0.0.66", "10.0.0.5", 80, None, Transport::Tcp));
    assert!(types(&d).contains(&ids::NEW_ASSET), "{d:?}");
    // ... but not in an IT subnet.
    let d = t.flow(&flow(
        5,
        "192.168.1.66",
        "10.0.0.5",
        80,
        None,
        Transport::Tcp,
    ));
    assert!(
        d.iter()
            .all(|x| x.src.ip != Some(ip("192.168.1.66")) || x.type_id != ids::NEW_ASSET)
    );
}

#[test]
fn learnables_apply_and_revert() {
    let mut b = Baseline::new();
    b.set_learning(false, Timestamp(T0));
    let l = Learnable::Conn(ip("10.0.0.1"), ip("10.0.0.2"), 22);
    l.apply(&mut b, T0);
    assert!(b.knows_conn(ip("10.0.0.1"), ip("10.0.0.2"), 22));
    l.revert(&mut b);
    assert!(!b.knows_conn(ip("10.0.0.1"), ip("10.0.0.2"), 22));
    let p = Learnable::Programming(ip("10.0.0.1"));
    p.apply(&mut b, T0);
    assert!(b.device(ip("10.0.0.1")).unwrap().programming);
    p.revert(&mut b);
    assert!(!b.device(ip("10.0.0.1")).unwrap().programming);
}

fn nbns_query(name: &str, suffix: u8) -> Vec<u8> {
    let mut v = vec![0x12, 0x34, 0x01, 0x10, 0, 1, 0, 0, 0, 0, 0, 0];
    let mut raw = [b' '; 16];
    raw[..name.len()].copy_from_slice(name.as_bytes());
    raw[15] = suffix;
    v.push(32);
    for c in raw {
        v.push(b'A' + (c >> 4));
        v.push(b'A' + (c & 15));
    }
    v.extend([0, 0, 0x20, 0, 1]);
    v
}

#[test]
fn netbios_name_queries() {
    let mut t = T::new();
    let f = flow(
        1,
        "10.0.0.5",
        "10.0.0.255",
        137,
        Some(Proto::Nbns),
        Transport::Udp,
    );
    let ask = |t: &mut T, name: &str, ts: i64| {
        let buf = nbns_query(name, 0x20);
        let (msg, _) = otwatch_proto::dns::wire::parse(&buf);
        let m = otwatch_proto::nbns::Message { msg: msg.unwrap() };
        let a = AppEvent {
            ts: Timestamp(ts),
            flow: &f,
            dir: Direction::ToServer,
            kind: MsgKind::Request,
            msg: Message::Nbns(m),
        };
        let mut out = Vec::new();
        t.p.on_event(&mut t.b, &Event::App(&a), &mut out);
        out
    };
    assert!(ask(&mut t, "FILESERVER", T0).is_empty(), "learning");
    t.stop_learning();
    assert!(ask(&mut t, "FILESERVER", T0 + NS).is_empty(), "learned");
    // Smart IT: the host's NBNS scenario was seen a second ago: learned silently.
    assert!(ask(&mut t, "PRINTER", T0 + 2 * NS).is_empty());
    // Eight silent days later a new name alerts.
    let d = ask(&mut t, "ROGUE", T0 + 8 * 86_400 * NS);
    assert_eq!(types(&d), [ids::NAME_QUERY]);
    assert_eq!(d[0].key["value"], "ROGUE<20>");
    // The saved form hashes to the same key: a reload knows the names.
    let mut b = Baseline::from_json(&t.b.to_json()).unwrap();
    b.smart_it = false;
    t.b = b;
    assert!(ask(&mut t, "PRINTER", T0 + 9 * 86_400 * NS).is_empty());
    assert_eq!(
        types(&ask(&mut t, "OTHER", T0 + 9 * 86_400 * NS)),
        [ids::NAME_QUERY]
    );
}
