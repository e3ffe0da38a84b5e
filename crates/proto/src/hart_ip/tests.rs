//! HART-IP session tests.

use otwatch_core::{Direction, Timestamp, Transport};

use super::*;
use crate::testutil::{Recorder, feed_stream, flow};

fn msg(ty: u8, id: u8, seq: u16, body: &[u8]) -> Vec<u8> {
    let mut v = vec![1, ty, id, 0];
    v.extend_from_slice(&seq.to_be_bytes());
    v.extend_from_slice(&((8 + body.len()) as u16).to_be_bytes());
    v.extend_from_slice(body);
    v
}

fn pdu(delim: u8, addr: &[u8], cmd: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![delim];
    v.extend_from_slice(addr);
    v.push(cmd);
    v.push(body.len() as u8);
    v.extend_from_slice(body);
    v
}

fn cmd0_resp() -> Vec<u8> {
    let mut d = vec![
        0,
        0x50,
        254,
        0x26,
        0x0a,
        5,
        7,
        3,
        2,
        0x08 | 1,
        0,
        0x12,
        0x34,
        0x56,
        5,
        4,
    ];
    d.extend_from_slice(&[0, 1, 0]);
    d.extend_from_slice(&[0x00, 0x26, 0, 0x26, 1]);
    d
}

fn run(chunks: &[(Direction, Vec<u8>)]) -> Recorder {
    let f = flow(Transport::Tcp, 5094, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    for (d, b) in chunks {
        feed_stream(&mut s, &f, *d, &[b], &mut rec);
    }
    rec
}

#[test]
fn session_passthrough_identity() {
    let addr = [0xa6, 0x0a, 0x12, 0x34, 0x56];
    let rec = run(&[
        (Direction::ToServer, msg(0, 0, 1, &[1, 0, 0, 0xea, 0x60])),
        (Direction::ToClient, msg(1, 0, 1, &[1, 0, 0, 0xea, 0x60])),
        (
            Direction::ToServer,
            msg(0, 3, 2, &pdu(0x02, &[0x80], 0, &[])),
        ),
        (
            Direction::ToClient,
            msg(1, 3, 2, &pdu(0x06, &[0x80], 0, &cmd0_resp())),
        ),
        (
            Direction::ToServer,
            msg(0, 3, 3, &pdu(0x82, &addr, 13, &[])),
        ),
        (
            Direction::ToClient,
            msg(
                1,
                3,
                3,
                &pdu(
                    0x86,
                    &addr,
                    13,
                    &[0, 0, 0x51, 0x4b, 0x71, 0xc3, 0x18, 0x20, 0, 0, 0],
                ),
            ),
        ),
        (Direction::ToServer, msg(0, 2, 4, &[])),
        (Direction::ToClient, msg(1, 2, 4, &[])),
        (Direction::ToServer, msg(0, 1, 5, &[])),
    ]);
    let m = rec.of("message");
    assert_eq!(m.len(), 9);
    assert!(rec.of("malformed").is_empty());
    assert_eq!(m[0]["hart_ip"]["inactivity_close_timer_ms"], 60000);
    assert_eq!(m[3]["hart_ip"]["manufacturer_id"], 0x26);
    assert_eq!(m[3]["hart_ip"]["device_id"], "123456");
    assert!(m[3]["hart_ip"]["latency_us"].is_number());
    assert_eq!(m[5]["hart_ip"]["command_name"], "read_tag_descriptor_date");
    assert_eq!(m[5]["hart_ip"]["tag"], "TT-101");
}

#[test]
fn function_code_and_identity() {
    let b = msg(1, 3, 2, &pdu(0x06, &[0x80], 0, &cmd0_resp()));
    let h = wire::parse_header(&b).unwrap();
    let m = Message {
        header: h,
        pdu: Some(wire::parse_pdu(&b[8..]).unwrap()),
        body: &b[8..],
        latency_ns: None,
    };
    assert_eq!(m.function_code(), 0x300);
    let id = m.identity().unwrap();
    assert_eq!(id.vendor_id, Some(0x26));
    assert_eq!(id.serial.as_deref(), Some("123456"));
    let k = msg(0, 2, 4, &[]);
    let m = Message {
        header: wire::parse_header(&k).unwrap(),
        pdu: None,
        body: &[],
        latency_ns: None,
    };
    assert_eq!(m.function_code(), 0x200);
}

#[test]
fn errors_resync_split() {
    let good = msg(0, 2, 9, &[]);
    let mut seg = vec![9, 9, 9];
    seg.extend_from_slice(&good);
    let bad_pdu = msg(0, 3, 10, &[0x82, 1, 2]);
    let rec = run(&[(Direction::ToServer, seg), (Direction::ToServer, bad_pdu)]);
    let codes: Vec<_> = rec
        .of("malformed")
        .iter()
        .map(|e| e["error"]["code"].clone())
        .collect();
    assert_eq!(codes, vec!["bad_version", "pdu_truncated"]);
    assert_eq!(rec.of("message").len(), 2);
    let f = flow(Transport::Tcp, 5094, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let mut two = good.clone();
    two.extend_from_slice(&good);
    assert_eq!(
        feed_stream(
            &mut s,
            &f,
            Direction::ToServer,
            &[&two[..3], &two[3..11], &two[11..]],
            &mut rec
        ),
        0
    );
    assert_eq!(rec.of("message").len(), 2);
    let mut cx = Ctx::new(Timestamp(0), &f, Direction::ToServer, &mut rec);
    s.on_gap(3, &mut cx);
    let mut tail = good[5..].to_vec();
    tail.extend_from_slice(&good);
    feed_stream(&mut s, &f, Direction::ToServer, &[&tail], &mut rec);
    assert_eq!(rec.of("message").len(), 3);
}

#[test]
fn datagrams_and_probe() {
    let u = flow(Transport::Udp, 5094, false);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let init = msg(0, 0, 1, &[1, 0, 0, 0xea, 0x60]);
    for b in [&init[..], &[1, 0, 0][..]] {
        let mut cx = Ctx::new(Timestamp(0), &u, Direction::ToServer, &mut rec);
        assert_eq!(s.on_data(b, true, &mut cx), b.len());
    }
    assert_eq!(rec.of("message").len(), 1);
    assert_eq!(rec.of("malformed").len(), 1);
    assert!(probe(Transport::Udp, &init));
    assert!(!probe(Transport::Udp, &msg(0, 2, 1, &[])));
}

#[test]
fn packed_ascii() {
    let mut out = [0u8; 8];
    let n = wire::unpack_ascii(&[0x51, 0x4b, 0x71, 0xc3, 0x18, 0x20], &mut out);
    assert_eq!(&out[..n], b"TT-101  ");
}

proptest::proptest! {
    #[test]
    fn arbitrary_streams_never_panic(chunks in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..100), 1..6)) {
        let f = flow(Transport::Tcp, 5094, false);
        let mut s = Session::default();
        let mut rec = Recorder::default();
        let refs: Vec<&[u8]> = chunks.iter().map(|c| &c[..]).collect();
        feed_stream(&mut s, &f, Direction::ToClient, &refs, &mut rec);
        for c in &chunks {
            let mut cx = Ctx::new(Timestamp(0), &f, Direction::ToClient, &mut rec);
            s.on_data(c, true, &mut cx);
        }
    }
}

#[test]
fn bad_header_in_its_own_segment_then_good_messages() {
    let mut bad = msg(0, 2, 0x99, &[]);
    bad[0] = 7;
    let trunc = msg(0, 3, 1, &[0x82, 0xa6, 0x0a]);
    let ka = msg(0, 2, 2, &[]);
    let f = flow(Transport::Tcp, 5094, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    feed_stream(
        &mut s,
        &f,
        Direction::ToServer,
        &[&bad, &trunc, &ka],
        &mut rec,
    );
    assert_eq!(rec.of("message").len(), 2, "{:?}", rec.events);
}
