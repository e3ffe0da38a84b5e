//! Session-level tests: APCI formats, ASDU fields, framing, resync.

use otwatch_core::{Direction, Transport};

use super::*;
use crate::testutil::{Recorder, feed_stream, flow};

fn i_frame(tx: u16, rx: u16, asdu: &[u8]) -> Vec<u8> {
    let mut v = vec![0x68, (4 + asdu.len()) as u8];
    v.extend_from_slice(&(tx << 1).to_le_bytes());
    v.extend_from_slice(&(rx << 1).to_le_bytes());
    v.extend_from_slice(asdu);
    v
}

fn s_frame(rx: u16) -> Vec<u8> {
    let r = (rx << 1).to_le_bytes();
    vec![0x68, 4, 0x01, 0x00, r[0], r[1]]
}

fn u_frame(c: u8) -> Vec<u8> {
    vec![0x68, 4, c, 0, 0, 0]
}

/// ASDU: type, vsq, cot, originator, common address, then objects.
fn asdu(t: u8, vsq: u8, cot: u8, ca: u16, objects: &[u8]) -> Vec<u8> {
    let mut v = vec![t, vsq, cot, 0];
    v.extend_from_slice(&ca.to_le_bytes());
    v.extend_from_slice(objects);
    v
}

fn ioa(a: u32) -> [u8; 3] {
    let b = a.to_le_bytes();
    [b[0], b[1], b[2]]
}

fn run(dir: Direction, chunks: &[&[u8]]) -> (Recorder, usize) {
    let f = flow(Transport::Tcp, 2404, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let left = feed_stream(&mut s, &f, dir, chunks, &mut rec);
    (rec, left)
}

#[test]
fn u_formats() {
    let mut seg = Vec::new();
    for c in [0x07, 0x0B, 0x13, 0x23, 0x43, 0x83] {
        seg.extend(u_frame(c));
    }
    let (rec, left) = run(Direction::ToServer, &[&seg]);
    assert_eq!(left, 0);
    let m = rec.of("message");
    assert_eq!(m.len(), 6);
    assert_eq!(m[0]["iec104"]["apci"], "U");
    assert_eq!(m[0]["iec104"]["u_function"], "STARTDT act");
    assert_eq!(m[5]["iec104"]["u_function"], "TESTFR con");
    assert_eq!(m[0]["kind"], "request");
    let fr = u_frame(0x43);
    let msg = wire::parse_apdu(&fr).unwrap();
    assert_eq!(msg.function_code(), 512 + 0x43);
}

#[test]
fn s_format() {
    let (rec, _) = run(Direction::ToClient, &[&s_frame(1234)]);
    let m = rec.of("message");
    assert_eq!(m[0]["iec104"]["apci"], "S");
    assert_eq!(m[0]["iec104"]["rx_seq"], 1234);
    assert_eq!(m[0]["kind"], "response");
    let fr = s_frame(3);
    assert_eq!(wire::parse_apdu(&fr).unwrap().function_code(), 256);
}

#[test]
fn general_interrogation_and_single_points() {
    let gi = i_frame(0, 0, &asdu(100, 1, 6, 1, &[0, 0, 0, 20]));
    let mut objs = Vec::new();
    for (a, v) in [(1001, 1u8), (1002, 0), (1003, 1)] {
        objs.extend(ioa(a));
        objs.push(v);
    }
    let sp = i_frame(1, 1, &asdu(1, 3, 20, 1, &objs));
    let (rec, _) = run(Direction::ToServer, &[&gi, &sp]);
    let m = rec.of("message");
    assert_eq!(m.len(), 2);
    let a = &m[0]["iec104"];
    assert_eq!(a["type_id"], 100);
    assert_eq!(a["type_name"], "C_IC_NA_1");
    assert_eq!(a["cot"], 6);
    assert_eq!(a["control_direction"], true);
    assert_eq!(a["element"]["qoi"], 20);
    let b = &m[1]["iec104"];
    assert_eq!(b["type_name"], "M_SP_NA_1");
    assert_eq!(b["tx_seq"], 1);
    assert_eq!(b["num_objects"], 3);
    assert_eq!(b["ioas"], serde_json::json!([1001, 1002, 1003]));
    assert_eq!(b["element"]["value"], true);
    assert_eq!(b["control_direction"], false);
}

#[test]
fn sequence_of_floats_with_sq() {
    let mut objs = ioa(4000).to_vec();
    for v in [1.5f32, 2.5] {
        objs.extend(v.to_le_bytes());
        objs.push(0);
    }
    let fr = i_frame(5, 2, &asdu(13, 0x82, 3, 7, &objs));
    let (rec, _) = run(Direction::ToClient, &[&fr]);
    let a = &rec.of("message")[0]["iec104"];
    assert_eq!(a["sq"], true);
    assert_eq!(a["ioas"], serde_json::json!([4000, 4001]));
    assert_eq!(a["element"]["value"], 1.5);
    assert_eq!(a["common_address"], 7);
}

#[test]
fn commands_select_execute_and_cot_bits() {
    // C_SC_NA_1 select, on; then negative actcon with test bit.
    let sel = i_frame(0, 0, &asdu(45, 1, 6, 1, &[0x10, 0x27, 0, 0x81]));
    let neg = i_frame(
        0,
        1,
        &asdu(45, 1, 0x40 | 0x80 | 7, 1, &[0x10, 0x27, 0, 0x01]),
    );
    let dc = i_frame(1, 1, &asdu(46, 1, 6, 1, &[1, 0, 0, 0x02]));
    let (rec, _) = run(Direction::ToServer, &[&sel, &neg, &dc]);
    let m = rec.of("message");
    let a = &m[0]["iec104"];
    assert_eq!(a["element"]["select"], true);
    assert_eq!(a["element"]["value"], true);
    assert_eq!(a["ioas"][0], 10000);
    let b = &m[1]["iec104"];
    assert_eq!(b["negative"], true);
    assert_eq!(b["test"], true);
    assert_eq!(b["cot"], 7);
    assert_eq!(m[2]["iec104"]["element"]["value"], 2);
    assert_eq!(m[2]["iec104"]["element"]["select"], false);
}

#[test]
fn clock_sync_time_tag() {
    // 2024-06-10 12:34:56.789
    let t = [0xD5, 0xDD, 34, 12, 10 | (1 << 5), 6, 24];
    let mut objs = ioa(0).to_vec();
    objs.extend(t);
    let fr = i_frame(0, 0, &asdu(103, 1, 6, 1, &objs));
    let (rec, _) = run(Direction::ToServer, &[&fr]);
    let a = &rec.of("message")[0]["iec104"];
    assert_eq!(a["type_name"], "C_CS_NA_1");
    assert_eq!(a["time"]["cp56"], "2024-06-10T12:34:56.789");
}

#[test]
fn time_tagged_measurement() {
    let t = [0, 0, 1, 2, 3, 4, 25];
    let mut objs = ioa(77).to_vec();
    objs.extend(42.0f32.to_le_bytes());
    objs.push(0);
    objs.extend(t);
    let fr = i_frame(0, 0, &asdu(36, 1, 3, 1, &objs));
    let (rec, _) = run(Direction::ToClient, &[&fr]);
    let a = &rec.of("message")[0]["iec104"];
    assert_eq!(a["element"]["value"], 42.0);
    assert_eq!(a["time"]["cp56"], "2025-04-03T02:01:00.000");
}

#[test]
fn split_across_segments_and_several_per_segment() {
    let a = i_frame(0, 0, &asdu(100, 1, 6, 1, &[0, 0, 0, 20]));
    let mut all = a.clone();
    all.extend(s_frame(1));
    all.extend(u_frame(0x43));
    let (rec, left) = run(
        Direction::ToServer,
        &[&all[..1], &all[1..5], &all[5..17], &all[17..]],
    );
    assert_eq!(left, 0);
    let fcs: Vec<_> = rec
        .of("message")
        .iter()
        .map(|m| m["iec104"]["apci"].clone())
        .collect();
    assert_eq!(fcs, vec!["I", "S", "U"]);
}

#[test]
fn garbage_is_reported_once_then_resync() {
    let mut seg = vec![0x11, 0x22, 0x33, 0x44];
    seg.extend(u_frame(0x07));
    seg.extend(s_frame(2));
    let (rec, _) = run(Direction::ToServer, &[&seg]);
    let bad = rec.of("malformed");
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0]["error"]["code"], "bad_start");
    assert_eq!(rec.of("message").len(), 2);
}

#[test]
fn bad_length_and_bad_u_function() {
    let mut seg = vec![0x68, 2, 0, 0];
    seg.extend(u_frame(0x07));
    let (rec, _) = run(Direction::ToServer, &[&seg]);
    assert_eq!(rec.of("malformed")[0]["error"]["code"], "bad_length");
    assert_eq!(rec.of("message").len(), 1);

    let (rec, _) = run(Direction::ToServer, &[&u_frame(0x0F), &u_frame(0x07)]);
    assert_eq!(rec.of("malformed")[0]["error"]["code"], "bad_u_function");
    assert_eq!(rec.of("message").len(), 1);

    let (rec, _) = run(Direction::ToServer, &[&[0x68, 5, 1, 0, 0, 0, 0]]);
    assert_eq!(rec.of("malformed")[0]["error"]["code"], "bad_control");
}

#[test]
fn asdu_errors_still_report_the_message() {
    // Three single points announced, two present.
    let mut objs = Vec::new();
    for a in [1, 2] {
        objs.extend(ioa(a));
        objs.push(1);
    }
    let fr = i_frame(0, 0, &asdu(1, 3, 3, 1, &objs));
    let (rec, _) = run(Direction::ToClient, &[&fr]);
    assert_eq!(rec.of("message").len(), 1);
    let bad = rec.of("malformed");
    assert_eq!(bad[0]["error"]["code"], "object_length_mismatch");
    assert_eq!(bad[0]["error"]["function_code"], 1);

    let fr = i_frame(0, 0, &asdu(1, 0, 3, 1, &[]));
    let (rec, _) = run(Direction::ToClient, &[&fr]);
    assert_eq!(rec.of("malformed")[0]["error"]["code"], "no_objects");

    let fr = [0x68, 6, 0, 0, 0, 0, 1, 1];
    let (rec, _) = run(Direction::ToClient, &[&fr]);
    assert_eq!(rec.of("malformed")[0]["error"]["code"], "short_asdu");
    assert_eq!(rec.of("message").len(), 0);
}

#[test]
fn gap_then_resync_on_next_apdu() {
    let f = flow(Transport::Tcp, 2404, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    feed_stream(&mut s, &f, Direction::ToServer, &[&u_frame(0x07)], &mut rec);
    let mut cx = Ctx::new(
        otwatch_core::Timestamp(5),
        &f,
        Direction::ToServer,
        &mut rec,
    );
    s.on_gap(100, &mut cx);
    // Tail of a lost APDU, then a sound one.
    let mut seg = vec![0x01, 0x02, 0x03];
    seg.extend(s_frame(9));
    feed_stream(&mut s, &f, Direction::ToServer, &[&seg], &mut rec);
    assert_eq!(rec.of("malformed").len(), 0);
    assert_eq!(rec.of("message").len(), 2);
}

#[test]
fn midstream_start_skips_partial_apdu() {
    let f = flow(Transport::Tcp, 2404, false);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let mut seg = vec![0x00, 0x68, 0x99, 0x00];
    seg.extend(u_frame(0x43));
    feed_stream(&mut s, &f, Direction::ToServer, &[&seg], &mut rec);
    assert_eq!(rec.of("malformed").len(), 0);
    assert_eq!(rec.of("message").len(), 1);
}

#[test]
fn probe_is_strict() {
    assert!(probe(Transport::Tcp, &u_frame(0x07)));
    assert!(!probe(Transport::Udp, &u_frame(0x07)));
    assert!(!probe(Transport::Tcp, &s_frame(1)));
    assert!(!probe(Transport::Tcp, &[0x68, 4, 7, 0, 0]));
    let gi = i_frame(0, 0, &asdu(100, 1, 6, 1, &[0, 0, 0, 20]));
    assert!(probe(Transport::Tcp, &gi));
    assert!(!probe(Transport::Tcp, b"GET / HTTP/1.1\r\n"));
}

proptest::proptest! {
    #[test]
    fn arbitrary_streams_never_panic(
        chunks in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..64), 0..20)
    ) {
        let f = flow(Transport::Tcp, 2404, true);
        let mut s = Session::default();
        let mut rec = Recorder::default();
        let refs: Vec<&[u8]> = chunks.iter().map(|c| c.as_slice()).collect();
        let left = feed_stream(&mut s, &f, Direction::ToServer, &refs, &mut rec);
        proptest::prop_assert!(left <= 255);
    }

    #[test]
    fn arbitrary_apdus_never_panic(b in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
        let _ = wire::parse_apdu_lenient(&b);
        let _ = probe(Transport::Tcp, &b);
    }
}
