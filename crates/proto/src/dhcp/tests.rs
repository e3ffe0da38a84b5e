//! DHCP tests.

use otwatch_core::{Direction, Timestamp, Transport};

use super::*;
use crate::testutil::{Recorder, flow};

/// A DHCP message of type `t` from `mac` with the given extra options.
pub(crate) fn dhcp(op: u8, t: u8, mac: [u8; 6], yiaddr: [u8; 4], opts: &[(u8, &[u8])]) -> Vec<u8> {
    let mut v = vec![op, 1, 6, 0, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0x80, 0];
    v.extend([0; 4]);
    v.extend(yiaddr);
    v.extend([0; 8]);
    v.extend(mac);
    v.extend([0; 10 + 64 + 128]);
    v.extend(wire::MAGIC.to_be_bytes());
    if t != 0 {
        v.extend([53, 1, t]);
    }
    for (c, d) in opts {
        v.push(*c);
        v.push(d.len() as u8);
        v.extend(*d);
    }
    v.push(255);
    v
}

const MAC: [u8; 6] = [0x00, 0x14, 0x22, 1, 2, 3];

fn run(p: &[u8], dir: Direction) -> Recorder {
    let f = flow(Transport::Udp, 67, false);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let mut cx = Ctx::new(Timestamp(0), &f, dir, &mut rec);
    s.on_data(p, true, &mut cx);
    rec
}

#[test]
fn dora() {
    let disc = dhcp(
        1,
        1,
        MAC,
        [0; 4],
        &[
            (12, b"HMI-01"),
            (60, b"MSFT 5.0"),
            (61, &[1, 0, 0x14, 0x22, 1, 2, 3]),
            (55, &[1, 3, 6, 15]),
            (50, &[10, 10, 1, 10]),
        ],
    );
    let r = run(&disc, Direction::ToServer);
    let m = &r.of("message")[0];
    assert_eq!(m["kind"], "request");
    let d = &m["dhcp"];
    assert_eq!(d["msg_type_name"], "DISCOVER");
    assert_eq!(d["hostname"], "HMI-01");
    assert_eq!(d["vendor_class"], "MSFT 5.0");
    assert_eq!(d["client_mac"], "00:14:22:01:02:03");
    assert_eq!(d["requested_ip"], "10.10.1.10");
    assert_eq!(d["params"], serde_json::json!([1, 3, 6, 15]));
    assert_eq!(d["xid"], 0xdeadbeefu32);
    let (m, e) = wire::parse(&disc);
    assert!(e.is_none());
    let msg = Message { dhcp: m.unwrap() };
    assert_eq!(msg.function_code(), 1);
    let id = msg.identity().unwrap();
    assert_eq!(id.subject, Subject::Mac(MacAddr(MAC)));
    assert_eq!(id.hostname.as_deref(), Some("HMI-01"));
    assert_eq!(id.device_class.as_deref(), Some("MSFT 5.0"));

    let ack = dhcp(
        2,
        5,
        MAC,
        [10, 10, 1, 10],
        &[
            (54, &[10, 10, 1, 1]),
            (51, &[0, 1, 0x51, 0x80]),
            (1, &[255, 255, 255, 0]),
            (3, &[10, 10, 1, 1]),
            (6, &[10, 10, 1, 2, 8, 8, 8, 8]),
            (43, &[1, 2, 3]),
        ],
    );
    let r = run(&ack, Direction::ToClient);
    let d = &r.of("message")[0]["dhcp"];
    assert_eq!(r.of("message")[0]["kind"], "response");
    assert_eq!(d["assigned_ip"], "10.10.1.10");
    assert_eq!(d["server_id"], "10.10.1.1");
    assert_eq!(d["lease_time"], 86400);
    assert_eq!(
        d["dns_servers"],
        serde_json::json!(["10.10.1.2", "8.8.8.8"])
    );
    assert_eq!(d["vendor_specific_len"], 3);
    let msg = Message {
        dhcp: wire::parse(&ack).0.unwrap(),
    };
    assert_eq!(
        msg.identity().unwrap().ip,
        Some("10.10.1.10".parse().unwrap())
    );
}

#[test]
fn fqdn_option_names_host() {
    let p = dhcp(1, 3, MAC, [0; 4], &[(81, b"\x05\0\0\x04ews1\x05plant\x00")]);
    let msg = Message {
        dhcp: wire::parse(&p).0.unwrap(),
    };
    assert_eq!(msg.identity().unwrap().hostname.as_deref(), Some("ews1"));
    assert_eq!(
        run(&p, Direction::ToServer).of("message")[0]["dhcp"]["fqdn"],
        "ews1.plant"
    );
}

#[test]
fn plain_bootp_is_type_zero() {
    let mut p = dhcp(1, 0, MAC, [0; 4], &[]);
    p.truncate(wire::BOOTP_LEN + 64);
    p[wire::BOOTP_LEN] = 0;
    let r = run(&p, Direction::ToServer);
    assert_eq!(r.of("message")[0]["dhcp"]["msg_type"], 0);
    assert!(r.of("malformed").is_empty());
}

#[test]
fn errors() {
    let r = run(&[1; 100], Direction::ToServer);
    assert_eq!(r.of("malformed")[0]["error"]["code"], "short_header");
    let mut p = dhcp(1, 1, MAC, [0; 4], &[]);
    p[0] = 7;
    assert_eq!(
        run(&p, Direction::ToServer).of("malformed")[0]["error"]["code"],
        "bad_op"
    );
    let mut p = dhcp(1, 1, MAC, [0; 4], &[]);
    p[2] = 20;
    assert_eq!(wire::parse(&p).1, Some(Error::BadHlen(20)));
    // Option runs past the end: message and malformed.
    let mut p = dhcp(1, 3, MAC, [0; 4], &[]);
    p.pop();
    p.extend([12, 50, b'a']);
    let r = run(&p, Direction::ToServer);
    assert_eq!(r.of("message").len(), 1);
    assert_eq!(r.of("malformed")[0]["error"]["code"], "option_truncated");
    assert_eq!(r.of("malformed")[0]["error"]["function_code"], 3);
    let p = dhcp(1, 3, MAC, [0; 4], &[(50, &[1, 2])]);
    assert_eq!(
        wire::parse(&p).1,
        Some(Error::BadOptionLength { code: 50, len: 2 })
    );
    let p = dhcp(1, 0, MAC, [0; 4], &[(53, &[1, 2])]);
    assert_eq!(
        wire::parse(&p).1,
        Some(Error::BadOptionLength { code: 53, len: 2 })
    );
}

#[test]
fn probe_is_strict() {
    assert!(probe(Transport::Udp, &dhcp(1, 1, MAC, [0; 4], &[])));
    assert!(!probe(Transport::Udp, &dhcp(1, 0, MAC, [0; 4], &[])));
    assert!(!probe(Transport::Tcp, &dhcp(1, 1, MAC, [0; 4], &[])));
    assert!(!probe(Transport::Udp, &[0; 300]));
}

proptest::proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(mut v in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
        if v.len() > 240 { v[0] = 1; v[236..240].copy_from_slice(&wire::MAGIC.to_be_bytes()); }
        let r = run(&v, Direction::ToServer);
        let _ = r;
        if let (Some(d), _) = wire::parse(&v) {
            let _ = Message { dhcp: d }.identity();
        }
    }
}
