//! SNMP tests.

use otwatch_core::{Direction, Timestamp, Transport};

use super::*;
use crate::testutil::{Recorder, flow};

/// BER TLV with a short or long length.
pub(crate) fn t(tag: u8, v: &[u8]) -> Vec<u8> {
    let mut o = vec![tag];
    if v.len() < 128 {
        o.push(v.len() as u8);
    } else {
        o.extend([0x82, (v.len() >> 8) as u8, v.len() as u8]);
    }
    o.extend(v);
    o
}

fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

pub(crate) fn varbind(oid: &[u8], val: Vec<u8>) -> Vec<u8> {
    t(0x30, &cat(&[t(6, oid), val]))
}

/// A v1/v2c message.
pub(crate) fn msg(version: u8, community: &str, pdu: u8, rid: u8, vbs: &[Vec<u8>]) -> Vec<u8> {
    let body = cat(&[t(2, &[rid]), t(2, &[0]), t(2, &[0]), t(0x30, &vbs.concat())]);
    t(
        0x30,
        &cat(&[
            t(2, &[version]),
            t(4, community.as_bytes()),
            t(0xa0 | pdu, &body),
        ]),
    )
}

fn run(s: &mut Session, p: &[u8], dir: Direction, rec: &mut Recorder) {
    let f = flow(Transport::Udp, 161, false);
    let mut cx = Ctx::new(Timestamp(0), &f, dir, rec);
    s.on_data(p, true, &mut cx);
}

#[test]
fn get_and_response_with_identity() {
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let req = msg(
        1,
        "public",
        0,
        7,
        &[
            varbind(wire::SYS_DESCR, t(5, &[])),
            varbind(wire::SYS_NAME, t(5, &[])),
        ],
    );
    run(&mut s, &req, Direction::ToServer, &mut rec);
    let resp = msg(
        1,
        "public",
        2,
        7,
        &[
            varbind(
                wire::SYS_DESCR,
                t(4, b"Siemens, SIMATIC NET, SCALANCE X208, HW: 7"),
            ),
            varbind(wire::SYS_NAME, t(4, b"sw-cell-1")),
            varbind(
                wire::SYS_OBJECT_ID,
                t(6, &[0x2b, 6, 1, 4, 1, 0xa1, 0x59, 1]),
            ),
            varbind(&[0x2b, 6, 1, 2, 1, 1, 3, 0], t(0x43, &[1, 0])),
        ],
    );
    run(&mut s, &resp, Direction::ToClient, &mut rec);
    let m = rec.of("message");
    assert_eq!(m[0]["kind"], "request");
    assert_eq!(m[0]["snmp"]["pdu_name"], "get_request");
    assert_eq!(m[0]["snmp"]["community"], "public");
    assert_eq!(m[0]["snmp"]["version"], 1);
    assert_eq!(m[1]["kind"], "response");
    let vb = &m[1]["snmp"]["varbinds"];
    assert_eq!(vb[0]["oid"], "1.3.6.1.2.1.1.1.0");
    assert_eq!(vb[1]["value"], "sw-cell-1");
    assert_eq!(vb[2]["value"], "1.3.6.1.4.1.4313.1");
    assert_eq!(vb[3]["type"], "timeticks");
    assert_eq!(vb[3]["value"], 256);
    assert_eq!(m[1]["snmp"]["latency_ns"], 0);
    let (p, e) = wire::parse(&resp);
    assert!(e.is_none());
    let mm = Message {
        snmp: p.unwrap(),
        latency_ns: None,
    };
    assert_eq!(mm.function_code(), 2);
    let id = mm.identity().unwrap();
    assert_eq!(id.hostname.as_deref(), Some("sw-cell-1"));
    assert!(id.os.as_deref().unwrap().starts_with("Siemens"));
    assert_eq!(id.product_code.as_deref(), Some("1.3.6.1.4.1.4313.1"));
}

#[test]
fn trap_v1_getbulk_set() {
    let mut rec = Recorder::default();
    let mut s = Session::default();
    let body = cat(&[
        t(6, &[0x2b, 6, 1, 4, 1, 9]),
        t(0x40, &[10, 10, 1, 5]),
        t(2, &[2]),
        t(2, &[0]),
        t(0x43, &[5]),
        t(
            0x30,
            &varbind(&[0x2b, 6, 1, 2, 1, 2, 2, 1, 1, 3], t(2, &[3])),
        ),
    ]);
    let trap = t(0x30, &cat(&[t(2, &[0]), t(4, b"public"), t(0xa4, &body)]));
    run(&mut s, &trap, Direction::ToServer, &mut rec);
    let bulk = msg(
        1,
        "public",
        5,
        9,
        &[varbind(&[0x2b, 6, 1, 2, 1, 2], t(5, &[]))],
    );
    run(&mut s, &bulk, Direction::ToServer, &mut rec);
    let set = msg(
        1,
        "private",
        3,
        10,
        &[varbind(&[0x2b, 6, 1, 2, 1, 1, 5, 0], t(4, b"x"))],
    );
    run(&mut s, &set, Direction::ToServer, &mut rec);
    let m = rec.of("message");
    assert_eq!(m[0]["snmp"]["pdu_name"], "trap");
    assert_eq!(m[0]["snmp"]["agent_addr"], "10.10.1.5");
    assert_eq!(m[0]["snmp"]["generic_trap"], 2);
    assert_eq!(m[0]["snmp"]["enterprise"], "1.3.6.1.4.1.9");
    assert_eq!(m[0]["kind"], "request");
    assert_eq!(m[1]["snmp"]["pdu_name"], "get_bulk_request");
    assert_eq!(m[2]["snmp"]["community"], "private");
    assert_eq!(m[2]["snmp"]["pdu_type"], 3);
}

fn v3(data: Vec<u8>) -> Vec<u8> {
    let global = t(
        0x30,
        &cat(&[
            t(2, &[0x11]),
            t(2, &[0x05, 0xdc]),
            t(4, &[0x03]),
            t(2, &[3]),
        ]),
    );
    let usm = t(
        0x30,
        &cat(&[
            t(4, &[0x80, 0, 0x1f, 0x88]),
            t(2, &[1]),
            t(2, &[2]),
            t(4, b"nms"),
            t(4, &[0; 12]),
            t(4, &[0; 8]),
        ]),
    );
    t(0x30, &cat(&[t(2, &[3]), global, t(4, &usm), data]))
}

#[test]
fn v3_plain_and_encrypted() {
    let mut rec = Recorder::default();
    let mut s = Session::default();
    let pdu = t(
        0xa0,
        &cat(&[
            t(2, &[1]),
            t(2, &[0]),
            t(2, &[0]),
            t(0x30, &varbind(wire::SYS_NAME, t(5, &[]))),
        ]),
    );
    let scoped = t(0x30, &cat(&[t(4, &[]), t(4, &[]), pdu]));
    run(&mut s, &v3(scoped), Direction::ToServer, &mut rec);
    run(
        &mut s,
        &v3(t(4, &[0xaa; 40])),
        Direction::ToClient,
        &mut rec,
    );
    let m = rec.of("message");
    assert_eq!(m[0]["snmp"]["version"], 3);
    assert_eq!(m[0]["snmp"]["user"], "nms");
    assert_eq!(m[0]["snmp"]["msg_id"], 0x11);
    assert_eq!(m[0]["snmp"]["pdu_type"], 0);
    assert_eq!(m[1]["snmp"]["pdu_type"], 255);
    assert_eq!(m[1]["kind"], "response");
    assert!(rec.of("malformed").is_empty());
}

#[test]
fn errors() {
    let mut rec = Recorder::default();
    let mut s = Session::default();
    run(&mut s, &[0x30, 0x10, 2, 1], Direction::ToServer, &mut rec);
    run(
        &mut s,
        &t(0x30, &cat(&[t(2, &[2]), t(4, b"x")])),
        Direction::ToServer,
        &mut rec,
    );
    let bad_pdu = t(0x30, &cat(&[t(2, &[1]), t(4, b"public"), t(0xaa, &[])]));
    run(&mut s, &bad_pdu, Direction::ToServer, &mut rec);
    // PDU known but varbind list broken: message and malformed.
    let body = cat(&[
        t(2, &[1]),
        t(2, &[0]),
        t(2, &[0]),
        t(0x30, &[0x30, 5, 6, 1]),
    ]);
    let p = t(0x30, &cat(&[t(2, &[1]), t(4, b"public"), t(0xa1, &body)]));
    run(&mut s, &p, Direction::ToServer, &mut rec);
    let codes: Vec<_> = rec
        .of("malformed")
        .iter()
        .map(|m| m["error"]["code"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        codes,
        [
            "ber_truncated",
            "bad_version",
            "bad_pdu_type",
            "ber_truncated"
        ]
    );
    assert_eq!(rec.of("message").len(), 1);
    assert_eq!(rec.of("malformed")[3]["error"]["function_code"], 1);
}

#[test]
fn probe_is_strict() {
    assert!(probe(Transport::Udp, &msg(1, "public", 0, 1, &[])));
    assert!(!probe(Transport::Tcp, &msg(1, "public", 0, 1, &[])));
    assert!(!probe(Transport::Udp, &[0x30, 0]));
    assert!(!probe(Transport::Udp, &msg(1, "\x01", 0, 1, &[])));
}

proptest::proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(v in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
        let mut rec = Recorder::default();
        let mut s = Session::default();
        run(&mut s, &v, Direction::ToClient, &mut rec);
        let mut w = vec![0x30, v.len().min(127) as u8, 2, 1, 1, 4, 1, b'p'];
        w.extend(&v);
        run(&mut s, &w, Direction::ToClient, &mut rec);
        if let (Some(m), _) = wire::parse(&w) { let _ = Message { snmp: m, latency_ns: None }.identity(); }
    }
}
