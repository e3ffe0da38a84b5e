//! Session-level tests: framing, segmentation, resync and matching.

use otwatch_core::{Direction, Timestamp, Transport};

use super::*;
use crate::testutil::{Recorder, feed_stream, flow};

fn adu(tid: u16, unit: u8, pdu: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&tid.to_be_bytes());
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(&((pdu.len() + 1) as u16).to_be_bytes());
    v.push(unit);
    v.extend_from_slice(pdu);
    v
}

#[test]
fn request_split_across_segments() {
    let f = flow(Transport::Tcp, 502, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let req = adu(1, 1, &[3, 0, 0, 0, 10]);
    let left = feed_stream(
        &mut s,
        &f,
        Direction::ToServer,
        &[&req[..3], &req[3..9], &req[9..]],
        &mut rec,
    );
    assert_eq!(left, 0);
    let msgs = rec.of("message");
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0]["modbus"]["function_code"], 3);
    assert_eq!(msgs[0]["modbus"]["quantity"], 10);
    assert_eq!(msgs[0]["kind"], "request");
}

#[test]
fn several_requests_in_one_segment() {
    let f = flow(Transport::Tcp, 502, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let mut seg = adu(1, 1, &[3, 0, 0, 0, 10]);
    seg.extend(adu(2, 1, &[6, 0, 1, 0, 3]));
    seg.extend(adu(3, 1, &[1, 0, 0, 0, 8]));
    feed_stream(&mut s, &f, Direction::ToServer, &[&seg], &mut rec);
    let fcs: Vec<_> = rec
        .of("message")
        .iter()
        .map(|m| m["modbus"]["function_code"].clone())
        .collect();
    assert_eq!(fcs, vec![3, 6, 1]);
}

#[test]
fn responses_match_requests_by_transaction_id() {
    let f = flow(Transport::Tcp, 502, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    feed_stream(
        &mut s,
        &f,
        Direction::ToServer,
        &[&adu(7, 1, &[3, 0, 100, 0, 2])],
        &mut rec,
    );
    feed_stream(
        &mut s,
        &f,
        Direction::ToServer,
        &[&adu(8, 1, &[4, 0, 5, 0, 1])],
        &mut rec,
    );
    // Answers out of order.
    feed_stream(
        &mut s,
        &f,
        Direction::ToClient,
        &[&adu(8, 1, &[4, 2, 0, 1])],
        &mut rec,
    );
    feed_stream(
        &mut s,
        &f,
        Direction::ToClient,
        &[&adu(7, 1, &[0x83, 2])],
        &mut rec,
    );
    feed_stream(
        &mut s,
        &f,
        Direction::ToClient,
        &[&adu(99, 1, &[3, 2, 0, 1])],
        &mut rec,
    );
    let m = rec.of("message");
    assert_eq!(m[2]["modbus"]["request_function_code"], 4);
    assert_eq!(m[2]["modbus"]["address"], 5);
    assert_eq!(m[3]["modbus"]["exception_code"], 2);
    assert_eq!(m[3]["modbus"]["function_code"], 3);
    assert_eq!(m[3]["modbus"]["address"], 100);
    assert!(m[4]["modbus"].get("request_function_code").is_none());
    assert_eq!(s.unmatched_responses, 1);
}

#[test]
fn garbage_is_reported_once_and_parsing_resumes() {
    let f = flow(Transport::Tcp, 502, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let mut seg = adu(1, 1, &[3, 0, 0, 0, 1]);
    seg.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef, 0x12, 0x34, 0x56, 0x78, 0x9a]);
    seg.extend(adu(2, 1, &[3, 0, 0, 0, 2]));
    let left = feed_stream(&mut s, &f, Direction::ToServer, &[&seg], &mut rec);
    assert_eq!(left, 0);
    assert_eq!(rec.of("malformed").len(), 1);
    assert_eq!(rec.of("malformed")[0]["error"]["code"], "bad_protocol_id");
    let m = rec.of("message");
    assert_eq!(m.len(), 2);
    assert_eq!(m[1]["modbus"]["transaction_id"], 2);
}

#[test]
fn invalid_pdu_in_valid_frame_is_malformed_and_next_parses() {
    let f = flow(Transport::Tcp, 502, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let mut seg = adu(1, 1, &[0]);
    seg.extend(adu(2, 1, &[3, 0, 0, 0, 200]));
    seg.extend(adu(3, 1, &[3, 0, 0, 0, 2]));
    feed_stream(&mut s, &f, Direction::ToServer, &[&seg], &mut rec);
    let bad = rec.of("malformed");
    assert_eq!(bad.len(), 2);
    assert_eq!(bad[0]["error"]["code"], "function_code_zero");
    assert_eq!(bad[1]["error"]["code"], "quantity_out_of_range");
    assert_eq!(bad[1]["error"]["function_code"], 3);
    // Framed PDUs stay messages (flagged invalid) besides being malformed.
    let m = rec.of("message");
    assert_eq!(m.len(), 3);
    assert_eq!(m[0]["modbus"]["function_code"], 0);
    assert_eq!(m[0]["modbus"]["invalid"], true);
    assert_eq!(m[1]["modbus"]["function_code"], 3);
    assert!(m[2]["modbus"].get("invalid").is_none());
}

#[test]
fn mid_stream_pickup_skips_partial_pdu_silently() {
    let f = flow(Transport::Tcp, 502, false);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let first = adu(1, 1, &[16, 0, 1, 0, 2, 4, 0, 10, 0, 11]);
    let mut seg = first[5..].to_vec(); // tail of a PDU whose start was not captured
    seg.extend(adu(2, 1, &[3, 0, 0, 0, 2]));
    feed_stream(&mut s, &f, Direction::ToServer, &[&seg], &mut rec);
    assert_eq!(rec.of("malformed").len(), 0);
    let m = rec.of("message");
    assert_eq!(m.len(), 1);
    assert_eq!(m[0]["modbus"]["transaction_id"], 2);
}

#[test]
fn mid_stream_first_segment_on_a_boundary_is_parsed_even_if_invalid() {
    let f = flow(Transport::Tcp, 502, false);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    // Read/write multiple with quantity 0: sound frame, invalid body.
    let seg = adu(11, 1, &[23, 0, 0, 0, 0, 0, 1, 0, 1, 2, 0, 0]);
    feed_stream(&mut s, &f, Direction::ToServer, &[&seg], &mut rec);
    assert_eq!(rec.of("message").len(), 1);
    assert_eq!(rec.of("malformed").len(), 1);
}

#[test]
fn gap_resynchronises() {
    let f = flow(Transport::Tcp, 502, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let req = adu(1, 1, &[3, 0, 0, 0, 10]);
    let mut cx = crate::Ctx::new(Timestamp(0), &f, Direction::ToServer, &mut rec);
    // First half of a request, then the rest is lost.
    assert_eq!(s.on_data(&req[..4], false, &mut cx), 0);
    s.on_gap(8, &mut cx);
    let mut seg = req[4..].to_vec();
    seg.extend(adu(2, 1, &[3, 0, 0, 0, 3]));
    feed_stream(&mut s, &f, Direction::ToServer, &[&seg], &mut rec);
    assert_eq!(rec.of("malformed").len(), 0);
    assert_eq!(rec.of("message").len(), 1, "{:?}", rec.events);
}

#[test]
fn udp_datagram_with_trailing_bytes() {
    let f = flow(Transport::Udp, 502, false);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let mut dg = adu(1, 1, &[3, 0, 0, 0, 10]);
    dg.extend_from_slice(&[0, 2, 0, 0]);
    let mut cx = crate::Ctx::new(Timestamp(0), &f, Direction::ToServer, &mut rec);
    assert_eq!(s.on_data(&dg, true, &mut cx), dg.len());
    assert_eq!(rec.of("message").len(), 1);
    assert_eq!(rec.of("malformed").len(), 1);
}

#[test]
fn pending_table_is_bounded() {
    let f = flow(Transport::Tcp, 502, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    for tid in 0..(MAX_PENDING as u16 + 10) {
        feed_stream(
            &mut s,
            &f,
            Direction::ToServer,
            &[&adu(tid, 1, &[3, 0, 0, 0, 1])],
            &mut rec,
        );
    }
    assert_eq!(s.unanswered, 10);
    assert_eq!(
        s.pending.iter().filter(|p| p.is_some()).count(),
        MAX_PENDING
    );
}

#[test]
fn probe_recognises_a_request() {
    assert!(probe(Transport::Tcp, &adu(1, 1, &[3, 0, 0, 0, 10])));
    assert!(!probe(Transport::Tcp, b"GET / HTTP/1.1\r\n\r\n"));
    assert!(!probe(Transport::Udp, &adu(1, 1, &[3, 0, 0, 0, 10])));
}

proptest::proptest! {
    #[test]
    fn arbitrary_streams_never_panic_and_always_progress(
        chunks in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..64), 0..20)
    ) {
        let f = flow(Transport::Tcp, 502, true);
        let mut s = Session::default();
        let mut rec = Recorder::default();
        let refs: Vec<&[u8]> = chunks.iter().map(|c| c.as_slice()).collect();
        let left = feed_stream(&mut s, &f, Direction::ToServer, &refs, &mut rec);
        // Never more than one maximal ADU is held back.
        proptest::prop_assert!(left < 261);
    }
}

#[test]
fn function_90_is_reported_as_umas() {
    let f = flow(Transport::Tcp, 502, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    feed_stream(
        &mut s,
        &f,
        Direction::ToServer,
        &[&adu(4, 1, &[90, 0, 0x40, 0xff, 0])],
        &mut rec,
    );
    feed_stream(
        &mut s,
        &f,
        Direction::ToClient,
        &[&adu(4, 1, &[90, 0, 0xfe])],
        &mut rec,
    );
    let m = rec.of("message");
    assert_eq!(m.len(), 2);
    assert!(
        m.iter()
            .all(|m| m["proto"] == "umas" && m.get("modbus").is_none())
    );
    assert_eq!(m[1]["umas"]["function"], 0x40);
    assert_eq!(m[1]["umas"]["transaction_id"], 4);
    assert_eq!(s.unmatched_responses, 0);
}
