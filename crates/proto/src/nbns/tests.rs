//! NBNS tests.

use otwatch_core::{Direction, Timestamp, Transport};

use super::*;
use crate::testutil::{Recorder, flow};

/// First-level encoding of `name` (padded to 15) + suffix, as a DNS name.
pub(crate) fn enc(name: &str, suffix: u8) -> Vec<u8> {
    let mut raw = [b' '; 16];
    raw[..name.len()].copy_from_slice(name.as_bytes());
    raw[15] = suffix;
    let mut v = vec![32];
    for b in raw {
        v.push(b'A' + (b >> 4));
        v.push(b'A' + (b & 15));
    }
    v.push(0);
    v
}

/// A registration request for `name` with address `ip` (group or unique).
pub(crate) fn registration(name: &str, group: bool, ip: [u8; 4]) -> Vec<u8> {
    let mut v = vec![0x12, 0x34, 0x29, 0x10, 0, 1, 0, 0, 0, 0, 0, 1];
    v.extend(enc(name, 0));
    v.extend([0, 0x20, 0, 1]);
    v.extend([0xc0, 12, 0, 0x20, 0, 1, 0, 3, 0xf4, 0x80, 0, 6]);
    v.extend([if group { 0x80 } else { 0 }, 0]);
    v.extend(ip);
    v
}

fn run(p: &[u8], dir: Direction) -> Recorder {
    let f = flow(Transport::Udp, 137, false);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let mut cx = Ctx::new(Timestamp(0), &f, dir, &mut rec);
    s.on_data(p, true, &mut cx);
    rec
}

#[test]
fn registration_identity() {
    let p = registration("HMI-01", false, [10, 10, 1, 10]);
    let r = run(&p, Direction::ToServer);
    let n = &r.of("message")[0]["nbns"];
    assert_eq!(n["opcode_name"], "registration");
    assert_eq!(n["name"], "HMI-01");
    assert_eq!(n["suffix"], 0);
    assert_eq!(n["addresses"][0], "10.10.1.10");
    let m = Message {
        msg: wire::parse(&p).0.unwrap(),
    };
    assert_eq!(m.function_code(), 5);
    let id = m.identity().unwrap();
    assert_eq!(id.hostname.as_deref(), Some("HMI-01"));
    assert_eq!(id.ip, Some("10.10.1.10".parse().unwrap()));
    let p = registration("PLANT", true, [10, 10, 1, 10]);
    let m = Message {
        msg: wire::parse(&p).0.unwrap(),
    };
    assert_eq!(m.identity().unwrap().domain.as_deref(), Some("PLANT"));
}

#[test]
fn node_status_response() {
    let mut v = vec![0, 9, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0];
    v.extend(enc("*", 0));
    v.extend([0, 0x21, 0, 1, 0, 0, 0, 0]);
    let mut rd = vec![2];
    for (n, g) in [("HMI-01", false), ("PLANT", true)] {
        let mut e = [b' '; 18];
        e[..n.len()].copy_from_slice(n.as_bytes());
        e[15] = 0;
        e[16] = if g { 0x84 } else { 0x04 };
        e[17] = 0;
        rd.extend(e);
    }
    rd.extend([0x00, 0x14, 0x22, 1, 2, 3]);
    rd.extend([0; 40]);
    v.extend((rd.len() as u16).to_be_bytes());
    v.extend(rd);
    let r = run(&v, Direction::ToClient);
    let n = &r.of("message")[0]["nbns"];
    assert_eq!(r.of("message")[0]["kind"], "response");
    assert_eq!(n["node_names"][1]["name"], "PLANT");
    assert_eq!(n["unit_id"], "00:14:22:01:02:03");
    let m = Message {
        msg: wire::parse(&v).0.unwrap(),
    };
    let id = m.identity().unwrap();
    assert_eq!(id.hostname.as_deref(), Some("HMI-01"));
    assert_eq!(id.domain.as_deref(), Some("PLANT"));
}

#[test]
fn decode_and_errors() {
    assert_eq!(decode_name(b"short"), None);
    let e = enc("WS", 0x20);
    let n = decode_name(&e[1..33]).unwrap();
    assert_eq!((n.trimmed(), n.suffix), (&b"WS"[..], 0x20));
    let mut bad = e.clone();
    bad[1] = b'z';
    assert_eq!(decode_name(&bad[1..33]), None);
    let r = run(&[0, 1, 2], Direction::ToServer);
    assert_eq!(r.of("malformed")[0]["error"]["code"], "short_header");
}

proptest::proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(v in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
        let _ = run(&v, Direction::ToClient);
        let mut p = registration("X", false, [1, 2, 3, 4]);
        p.truncate(40);
        p.extend(&v);
        let _ = run(&p, Direction::ToClient);
        if let (Some(m), _) = wire::parse(&p) { let _ = Message { msg: m }.identity(); }
    }
}
