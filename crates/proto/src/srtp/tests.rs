//! SRTP session tests.

use otwatch_core::{Direction, Timestamp, Transport};

use super::*;
use crate::testutil::{Recorder, feed_stream, flow};

fn req(seq: u8, service: u8, seg: u8, addr: u16, len: u16, data: &[u8]) -> Vec<u8> {
    let mut v = vec![0u8; HDR_LEN];
    v[0] = 2;
    v[2] = seq;
    v[4..6].copy_from_slice(&(data.len() as u16).to_le_bytes());
    v[30] = seq;
    v[31] = 0xc0;
    v[42] = service;
    v[43] = seg;
    v[44..46].copy_from_slice(&addr.to_le_bytes());
    v[46..48].copy_from_slice(&len.to_le_bytes());
    v.extend_from_slice(data);
    v
}

fn resp(seq: u8, mt: u8, status: u8, data: &[u8]) -> Vec<u8> {
    let mut v = vec![0u8; HDR_LEN];
    v[0] = 3;
    v[2] = seq;
    v[4..6].copy_from_slice(&(data.len() as u16).to_le_bytes());
    v[30] = seq;
    v[31] = mt;
    v[42] = status;
    v.extend_from_slice(data);
    v
}

fn run(chunks: &[(Direction, Vec<u8>)]) -> Recorder {
    let f = flow(Transport::Tcp, 18245, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    for (d, b) in chunks {
        feed_stream(&mut s, &f, *d, &[b], &mut rec);
    }
    rec
}

#[test]
fn init_read_write_state() {
    let mut init_resp = vec![0u8; HDR_LEN];
    init_resp[0] = 1;
    let rec = run(&[
        (Direction::ToServer, vec![0u8; HDR_LEN]),
        (Direction::ToClient, init_resp),
        (Direction::ToServer, req(1, 0x04, 0x08, 0, 10, &[])),
        (Direction::ToClient, resp(1, 0x94, 0, &[0; 20])),
        (Direction::ToServer, req(2, 0x07, 0x08, 5, 1, &[0x34, 0x12])),
        (Direction::ToClient, resp(2, 0xd4, 0, &[])),
        (Direction::ToServer, req(3, 0x23, 0, 0, 0, &[])),
        (Direction::ToClient, resp(3, 0xd1, 5, &[])),
        (Direction::ToClient, resp(9, 0xd4, 0, &[])),
    ]);
    let m = rec.of("message");
    assert_eq!(m.len(), 9);
    assert!(rec.of("malformed").is_empty());
    assert_eq!(m[0]["kind"], "request");
    assert_eq!(m[2]["srtp"]["service_name"], "read_system_memory");
    assert_eq!(m[2]["srtp"]["memory"], "%R");
    assert_eq!(m[3]["srtp"]["service"], 4);
    assert!(m[3]["srtp"]["latency_us"].is_number());
    assert_eq!(m[4]["srtp"]["address"], 5);
    assert_eq!(m[7]["srtp"]["service_name"], "set_plc_state");
    assert_eq!(m[7]["srtp"]["status"], 5);
    assert!(m[8]["srtp"].get("service").is_none());
}

#[test]
fn function_codes() {
    let b = req(1, 0x40, 0, 0, 0, &[]);
    let m = Message {
        frame: wire::parse(&b).unwrap(),
        request: None,
        latency_ns: None,
    };
    assert_eq!(m.function_code(), 0x40);
    let z = vec![0u8; HDR_LEN];
    let m = Message {
        frame: wire::parse(&z).unwrap(),
        request: None,
        latency_ns: None,
    };
    assert_eq!(m.function_code(), FC_INIT);
    let r = resp(4, 0xd4, 0, &[]);
    let m = Message {
        frame: wire::parse(&r).unwrap(),
        request: None,
        latency_ns: None,
    };
    assert_eq!(m.function_code(), FC_UNMATCHED);
}

#[test]
fn errors_resync_split_gap() {
    let good = req(1, 0x00, 0, 0, 0, &[]);
    let mut seg = vec![7, 7];
    seg.extend_from_slice(&good);
    let mut bad_mt = req(2, 0x04, 8, 0, 1, &[]);
    bad_mt[31] = 0x55;
    let rec = run(&[
        (Direction::ToServer, seg),
        (Direction::ToServer, bad_mt),
        (Direction::ToServer, good.clone()),
    ]);
    let codes: Vec<_> = rec
        .of("malformed")
        .iter()
        .map(|e| e["error"]["code"].clone())
        .collect();
    assert_eq!(codes, vec!["bad_packet_type", "bad_message_type"]);
    assert_eq!(rec.of("message").len(), 2);
    let f = flow(Transport::Tcp, 18245, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let big = resp(1, 0x94, 0, &[0xab; 300]);
    assert_eq!(
        feed_stream(
            &mut s,
            &f,
            Direction::ToClient,
            &[&big[..10], &big[10..100], &big[100..]],
            &mut rec
        ),
        0
    );
    assert_eq!(rec.of("message").len(), 1);
    let mut cx = Ctx::new(Timestamp(0), &f, Direction::ToServer, &mut rec);
    s.on_gap(3, &mut cx);
    let mut tail = good[20..].to_vec();
    tail.extend_from_slice(&good);
    feed_stream(&mut s, &f, Direction::ToServer, &[&tail], &mut rec);
    assert_eq!(rec.of("message").len(), 2);
}

#[test]
fn probe_is_strict() {
    assert!(probe(Transport::Tcp, &req(1, 0, 0, 0, 0, &[])));
    assert!(probe(Transport::Tcp, &[0u8; HDR_LEN]));
    assert!(!probe(Transport::Tcp, &[0u8; 20]));
    assert!(!probe(Transport::Tcp, &resp(1, 0xd4, 0, &[])));
}

proptest::proptest! {
    #[test]
    fn arbitrary_streams_never_panic(chunks in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..150), 1..6)) {
        let f = flow(Transport::Tcp, 18245, false);
        let mut s = Session::default();
        let mut rec = Recorder::default();
        let refs: Vec<&[u8]> = chunks.iter().map(|c| &c[..]).collect();
        feed_stream(&mut s, &f, Direction::ToClient, &refs, &mut rec);
    }
}
