//! FINS tests: UDP frames, FINS/TCP framing and handshake, matching, errors.

use otwatch_core::{Direction, Timestamp, Transport};

use super::*;
use crate::testutil::{Recorder, feed_stream, flow};

fn frame(icf: u8, sid: u8, cmd: u16, data: &[u8]) -> Vec<u8> {
    let mut v = vec![icf, 0, 2, 0, 10, 0, 0, 20, 0, sid];
    v.extend_from_slice(&cmd.to_be_bytes());
    v.extend_from_slice(data);
    v
}

fn cmd(sid: u8, c: u16, data: &[u8]) -> Vec<u8> {
    frame(0x80, sid, c, data)
}

fn resp(sid: u8, c: u16, end: u16, data: &[u8]) -> Vec<u8> {
    let mut d = end.to_be_bytes().to_vec();
    d.extend_from_slice(data);
    frame(0xc0, sid, c, &d)
}

fn tcp(command: u32, body: &[u8]) -> Vec<u8> {
    let mut v = b"FINS".to_vec();
    v.extend_from_slice(&((body.len() + 8) as u32).to_be_bytes());
    v.extend_from_slice(&command.to_be_bytes());
    v.extend_from_slice(&0u32.to_be_bytes());
    v.extend_from_slice(body);
    v
}

fn udp(dgrams: &[(Direction, Vec<u8>)]) -> Recorder {
    let f = flow(Transport::Udp, 9600, false);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    for (i, (dir, d)) in dgrams.iter().enumerate() {
        let mut cx = Ctx::new(Timestamp(i as i64 * 1000), &f, *dir, &mut rec);
        assert_eq!(s.on_data(d, true, &mut cx), d.len());
    }
    rec
}

#[test]
fn memory_area_read_and_response_matched_by_sid() {
    let rec = udp(&[
        (
            Direction::ToServer,
            cmd(0x7a, 0x0101, &[0x82, 0x00, 0x64, 0x00, 0x00, 0x0a]),
        ),
        (Direction::ToClient, resp(0x7a, 0x0101, 0, &[0u8; 20])),
    ]);
    let m = rec.of("message");
    assert_eq!(m.len(), 2);
    let a = &m[0]["fins"];
    assert_eq!(a["command"], 0x0101);
    assert_eq!(a["command_name"], "Memory Area Read");
    assert_eq!(a["memory_area"], 0x82);
    assert_eq!(a["memory_area_name"], "DM word");
    assert_eq!(a["address"], 100);
    assert_eq!(a["count"], 10);
    assert_eq!(a["sid"], 0x7a);
    assert_eq!(a["response"], false);
    assert_eq!(a["da1"], 10);
    assert_eq!(m[0]["kind"], "request");
    let b = &m[1]["fins"];
    assert_eq!(b["end_code"], 0);
    assert_eq!(b["end_code_name"], "Normal completion");
    assert_eq!(b["request_address"], 100);
    assert_eq!(b["latency_ns"], 1000);
    assert_eq!(m[1]["kind"], "response");
}

#[test]
fn risky_commands_decode() {
    let rec = udp(&[
        (Direction::ToServer, cmd(1, 0x0402, &[0xff, 0xff])),
        (Direction::ToServer, cmd(2, 0x0401, &[0xff, 0xff, 0x04])),
        (
            Direction::ToServer,
            cmd(3, 0x0307, &[0xff, 0xff, 0, 0, 0, 0, 0x00, 0x04, 1, 2, 3, 4]),
        ),
        (Direction::ToServer, cmd(4, 0x0308, &[0xff, 0xff, 0x00])),
        (Direction::ToServer, cmd(5, 0x2101, &[0xff, 0xff])),
        (
            Direction::ToServer,
            cmd(6, 0x2102, &[0x00, 0x00, 0x00, 0x14]),
        ),
        (
            Direction::ToServer,
            cmd(7, 0x0102, &[0xb0, 0x00, 0x10, 0x00, 0x00, 0x01, 0x12, 0x34]),
        ),
        (
            Direction::ToServer,
            cmd(8, 0x2301, &[0x00, 0x01, 0x00, 0x01, 0x30, 0x00, 0x05, 0x03]),
        ),
        (Direction::ToServer, cmd(9, 0x0c02, &[0xff, 0xff])),
    ]);
    let m = rec.of("message");
    assert_eq!(m.len(), 9);
    assert_eq!(m[0]["fins"]["command_name"], "Stop");
    assert_eq!(m[1]["fins"]["mode"], 4);
    assert_eq!(m[2]["fins"]["command_name"], "Program Area Write");
    assert_eq!(m[2]["fins"]["data_len"], 4);
    assert_eq!(m[3]["fins"]["command_name"], "Program Area Clear");
    assert_eq!(m[4]["fins"]["error_code"], 0xffff);
    assert_eq!(m[5]["fins"]["records"], 20);
    assert_eq!(m[6]["fins"]["memory_area_name"], "CIO word");
    assert_eq!(m[6]["fins"]["data_len"], 2);
    assert_eq!(m[7]["fins"]["bits"], 1);
    assert_eq!(m[7]["fins"]["memory_area"], 0x30);
    assert_eq!(m[8]["fins"]["command_name"], "Access Right Forced Acquire");
}

#[test]
fn controller_data_read_identity() {
    let mut data = b"CJ2M-CPU31".to_vec();
    data.resize(20, b' ');
    data.extend(b"02.01");
    data.resize(40, 0);
    let r = resp(0x11, 0x0501, 0, &data);
    let (f, e) = wire::parse_frame(&r);
    assert!(e.is_none());
    let msg = Message {
        tcp: None,
        frame: f,
        request: None,
        latency_ns: None,
    };
    let id = msg.identity().unwrap();
    assert_eq!(id.model.as_deref(), Some("CJ2M-CPU31"));
    assert_eq!(id.firmware.as_deref(), Some("02.01"));
    assert_eq!(id.vendor.as_deref(), Some("OMRON"));
    // An error end code carries no identity.
    let r = resp(0x11, 0x0501, 0x0401, &data);
    let (f, _) = wire::parse_frame(&r);
    let msg = Message {
        tcp: None,
        frame: f,
        request: None,
        latency_ns: None,
    };
    assert!(msg.identity().is_none());
}

#[test]
fn error_end_code_bits() {
    let rec = udp(&[(
        Direction::ToClient,
        resp(1, 0x0402, 0x8000 | 0x2201 | 0x40, &[]),
    )]);
    let f = &rec.of("message")[0]["fins"];
    assert_eq!(f["relay_error"], true);
    assert_eq!(f["non_fatal_cpu_error"], true);
    assert_eq!(f["end_code_name"], "The mode is wrong (executing)");
}

#[test]
fn malformed_frames() {
    let rec = udp(&[(Direction::ToServer, vec![0x80, 0, 2, 0])]);
    assert_eq!(rec.of("malformed")[0]["error"]["code"], "short_header");
    assert_eq!(rec.of("message").len(), 0);

    let rec = udp(&[(Direction::ToClient, frame(0xc0, 1, 0x0101, &[]))]);
    assert_eq!(rec.of("malformed")[0]["error"]["code"], "short_response");
    assert_eq!(rec.of("message").len(), 1);

    let rec = udp(&[(Direction::ToServer, cmd(1, 0x0101, &[0x82, 0]))]);
    assert_eq!(
        rec.of("malformed")[0]["error"]["code"],
        "short_command_data"
    );
    assert_eq!(rec.of("malformed")[0]["error"]["function_code"], 0x0101);
    assert_eq!(rec.of("message").len(), 1);
}

#[test]
fn fins_tcp_handshake_frames_split_and_coalesced() {
    let f = flow(Transport::Tcp, 9600, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let hello = tcp(0, &[0, 0, 0, 0]);
    let c = tcp(2, &cmd(3, 0x0501, &[]));
    let mut seg = hello.clone();
    seg.extend(&c);
    let left = feed_stream(
        &mut s,
        &f,
        Direction::ToServer,
        &[&seg[..5], &seg[5..22], &seg[22..]],
        &mut rec,
    );
    assert_eq!(left, 0);
    let mut data = b"CJ1M".to_vec();
    data.resize(40, 0);
    let mut back = tcp(1, &[0, 0, 0, 0x0a, 0, 0, 0, 0x01]);
    back.extend(tcp(2, &resp(3, 0x0501, 0, &data)));
    feed_stream(&mut s, &f, Direction::ToClient, &[&back], &mut rec);
    let m = rec.of("message");
    assert_eq!(m.len(), 4);
    assert_eq!(m[0]["fins"]["command"], 0xF000);
    assert_eq!(m[0]["fins"]["client_node"], 0);
    assert_eq!(m[0]["kind"], "request");
    assert_eq!(m[1]["fins"]["command"], 0x0501);
    assert_eq!(m[2]["fins"]["command"], 0xF001);
    assert_eq!(m[2]["fins"]["server_node"], 1);
    assert_eq!(m[2]["kind"], "response");
    assert_eq!(m[3]["fins"]["model"], "CJ1M");
    assert_eq!(m[3]["fins"]["request_sid"], 3);
}

#[test]
fn fins_tcp_garbage_and_bad_length_resync() {
    let f = flow(Transport::Tcp, 9600, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let mut seg = b"xxxxxxxxxxxx".to_vec();
    seg.extend(tcp(2, &cmd(1, 0x0402, &[])));
    seg.extend(b"FINS\xff\xff\xff\xff\0\0\0\0");
    seg.extend(tcp(2, &cmd(2, 0x0401, &[])));
    feed_stream(&mut s, &f, Direction::ToServer, &[&seg], &mut rec);
    let bad = rec.of("malformed");
    assert_eq!(bad.len(), 2);
    assert_eq!(bad[0]["error"]["code"], "bad_magic");
    assert_eq!(bad[1]["error"]["code"], "bad_tcp_length");
    assert_eq!(rec.of("message").len(), 2);
}

#[test]
fn gap_and_midstream_resync() {
    let f = flow(Transport::Tcp, 9600, false);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let mut seg = vec![1, 2, 3, 4, 5, 6, 7, 8, 9];
    seg.extend(tcp(2, &cmd(1, 0x0101, &[0x82, 0, 0, 0, 0, 1])));
    feed_stream(&mut s, &f, Direction::ToServer, &[&seg], &mut rec);
    assert_eq!(rec.of("malformed").len(), 0);
    assert_eq!(rec.of("message").len(), 1);
    let mut cx = Ctx::new(Timestamp(9), &f, Direction::ToServer, &mut rec);
    s.on_gap(10, &mut cx);
    let mut seg = vec![0xaa; 5];
    seg.extend(tcp(2, &cmd(2, 0x0402, &[])));
    feed_stream(&mut s, &f, Direction::ToServer, &[&seg], &mut rec);
    assert_eq!(rec.of("malformed").len(), 0);
    assert_eq!(rec.of("message").len(), 2);
}

#[test]
fn pending_table_is_bounded() {
    let mut v = Vec::new();
    for i in 0..40u8 {
        v.push((Direction::ToServer, cmd(i, 0x0101, &[0x82, 0, 0, 0, 0, 1])));
    }
    let f = flow(Transport::Udp, 9600, false);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    for (i, (dir, d)) in v.iter().enumerate() {
        let mut cx = Ctx::new(Timestamp(i as i64), &f, *dir, &mut rec);
        s.on_data(d, true, &mut cx);
    }
    assert_eq!(s.unanswered, 8);
    let mut cx = Ctx::new(Timestamp(99), &f, Direction::ToClient, &mut rec);
    s.on_data(&resp(200, 0x0101, 0, &[]), true, &mut cx);
    assert_eq!(s.unmatched_responses, 1);
}

#[test]
fn probe_is_strict() {
    assert!(probe(
        Transport::Udp,
        &cmd(1, 0x0101, &[0x82, 0, 0, 0, 0, 1])
    ));
    assert!(!probe(Transport::Udp, &frame(0x80, 1, 0x7777, &[])));
    assert!(!probe(Transport::Udp, &[0x80, 1, 2]));
    assert!(probe(Transport::Tcp, &tcp(0, &[0, 0, 0, 0])));
    assert!(!probe(Transport::Tcp, b"FINSxxxx"));
    assert!(!probe(Transport::Tcp, b"GET / HTTP/1.1\r\n\r\n"));
}

proptest::proptest! {
    #[test]
    fn arbitrary_streams_never_panic(
        chunks in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..64), 0..20),
        magic in proptest::bool::ANY,
    ) {
        let f = flow(Transport::Tcp, 9600, true);
        let mut s = Session::default();
        let mut rec = Recorder::default();
        let mut chunks = chunks;
        if magic {
            chunks.insert(0, b"FINS\0\0\0\x10\0\0\0\x02\0\0\0\0".to_vec());
        }
        let refs: Vec<&[u8]> = chunks.iter().map(|c| c.as_slice()).collect();
        let left = feed_stream(&mut s, &f, Direction::ToServer, &refs, &mut rec);
        proptest::prop_assert!(left <= 8 + wire::MAX_TCP_LEN as usize);
    }

    #[test]
    fn arbitrary_datagrams_never_panic(d in proptest::collection::vec(proptest::num::u8::ANY, 0..100)) {
        let _ = udp(&[(Direction::ToServer, d.clone())]);
        let _ = probe(Transport::Udp, &d);
    }
}
