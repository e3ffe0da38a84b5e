//! Session-level tests: TPKT framing, COTP TPDUs, TSDU reassembly and
//! dispatch to S7comm / S7comm-plus, resync and gaps.

use otwatch_core::{Direction, Proto, Timestamp, Transport};

use super::*;
use crate::testutil::{Recorder, feed_stream, flow};

/// A TPKT around `cotp`.
pub(crate) fn tpkt(cotp: &[u8]) -> Vec<u8> {
    let mut v = vec![3, 0];
    v.extend_from_slice(&((cotp.len() + 4) as u16).to_be_bytes());
    v.extend_from_slice(cotp);
    v
}

/// A class-0 DT TPDU in a TPKT.
pub(crate) fn dt(eot: bool, data: &[u8]) -> Vec<u8> {
    let mut c = vec![2, 0xf0, if eot { 0x80 } else { 0 }];
    c.extend_from_slice(data);
    tpkt(&c)
}

/// A CR (or CC with `code` 0xd0) with S7 TSAPs 0x0100 / 0x0102 and TPDU size 1024.
pub(crate) fn connect(code: u8) -> Vec<u8> {
    tpkt(&[
        17, code, 0x00, 0x00, 0x00, 0x01, 0x00, 0xc0, 0x01, 0x0a, 0xc1, 0x02, 0x01, 0x00, 0xc2,
        0x02, 0x01, 0x02,
    ])
}

/// S7comm setup communication job.
pub(crate) fn s7_setup(pdu_ref: u16) -> Vec<u8> {
    let mut v = vec![0x32, 1, 0, 0];
    v.extend_from_slice(&pdu_ref.to_be_bytes());
    v.extend_from_slice(&[0, 8, 0, 0, 0xf0, 0, 0, 1, 0, 1, 0x01, 0xe0]);
    v
}

fn run(chunks: &[&[u8]], dir: Direction) -> (Session, Recorder) {
    let f = flow(Transport::Tcp, 102, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let left = feed_stream(&mut s, &f, dir, chunks, &mut rec);
    assert_eq!(left, 0);
    (s, rec)
}

#[test]
fn connection_request_and_confirm() {
    let f = flow(Transport::Tcp, 102, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    feed_stream(&mut s, &f, Direction::ToServer, &[&connect(0xe0)], &mut rec);
    feed_stream(&mut s, &f, Direction::ToClient, &[&connect(0xd0)], &mut rec);
    let m = rec.of("message");
    assert_eq!(m.len(), 2);
    let cr = &m[0]["cotp"];
    assert_eq!(m[0]["kind"], "request");
    assert_eq!(cr["function_code"], 0xe0);
    assert_eq!(cr["tpdu"], "CR");
    assert_eq!(cr["src_ref"], 1);
    assert_eq!(cr["class"], 0);
    assert_eq!(cr["calling_tsap"], "0100");
    assert_eq!(cr["called_tsap"], "0102");
    assert_eq!(cr["rack"], 0);
    assert_eq!(cr["slot"], 2);
    assert_eq!(cr["tpdu_size"], 1024);
    assert_eq!(m[1]["kind"], "response");
    assert_eq!(m[1]["cotp"]["tpdu"], "CC");
    // Nothing carried yet: the flow stays COTP.
    assert_eq!(s.proto_hint(), None);
}

#[test]
fn rack_slot_from_tsap() {
    assert_eq!(wire::rack_slot(&[0x03, 0x23]), Some((1, 3)));
    assert_eq!(wire::rack_slot(b"SIMATIC-ROOT-HMI"), None);
}

#[test]
fn disconnect_and_error_tpdus() {
    let dr = tpkt(&[6, 0x80, 0, 1, 0, 2, 0x80]);
    let dc = tpkt(&[5, 0xc0, 0, 2, 0, 1]);
    let er = tpkt(&[4, 0x70, 0, 1, 0x02]);
    let (_, rec) = run(&[&dr, &dc, &er], Direction::ToServer);
    assert!(rec.of("malformed").is_empty());
    let m = rec.of("message");
    let fcs: Vec<_> = m
        .iter()
        .map(|m| m["cotp"]["function_code"].clone())
        .collect();
    assert_eq!(fcs, vec![0x80, 0xc0, 0x70]);
    assert_eq!(m[0]["cotp"]["reason"], 0x80);
    assert_eq!(m[0]["cotp"]["reason_name"], "normal disconnect");
    assert_eq!(m[0]["kind"], "request");
    assert_eq!(m[1]["kind"], "response");
    assert_eq!(m[2]["cotp"]["reject_cause"], 2);
}

#[test]
fn s7_tsdu_is_dispatched_and_sets_the_hint() {
    let (s, rec) = run(&[&dt(true, &s7_setup(1))], Direction::ToServer);
    let m = rec.of("message");
    assert_eq!(m.len(), 1);
    assert_eq!(m[0]["proto"], "s7comm");
    assert_eq!(m[0]["s7comm"]["function_code"], 0xf0);
    assert_eq!(m[0]["s7comm"]["pdu_size"], 480);
    assert_eq!(s.proto_hint(), Some(Proto::S7comm));
}

#[test]
fn s7comm_plus_tsdu_sets_the_hint() {
    let pdu = crate::s7comm_plus::tests::request(2, 0x054c, 7, 0x380);
    let (s, rec) = run(&[&dt(true, &pdu)], Direction::ToServer);
    assert_eq!(rec.of("message")[0]["proto"], "s7comm_plus");
    assert_eq!(s.proto_hint(), Some(Proto::S7commPlus));
}

#[test]
fn other_tsdu_goes_to_mms() {
    // An ISO session CONNECT SPDU without parameters: handed to the MMS
    // state (no MMS PDU inside, so no message), the flow is MMS.
    let (s, rec) = run(&[&dt(true, &[0x0d, 0x00])], Direction::ToServer);
    assert!(rec.of("malformed").is_empty(), "{:?}", rec.events);
    assert!(rec.of("message").is_empty());
    assert_eq!(s.proto_hint(), Some(Proto::Mms));
    // One whose length runs past the TSDU is malformed — reported by MMS.
    let (_, rec) = run(&[&dt(true, &[0x0d, 0x05, 0x01, 0x00])], Direction::ToServer);
    assert_eq!(rec.of("malformed")[0]["proto"], "mms");
}

#[test]
fn tsdu_reassembled_from_several_dt() {
    let pdu = s7_setup(5);
    let a = dt(false, &pdu[..7]);
    let b = dt(false, &pdu[7..12]);
    let c = dt(true, &pdu[12..]);
    let mut seg = a.clone();
    seg.extend_from_slice(&b);
    let (_, rec) = run(&[&seg, &c], Direction::ToServer);
    let m = rec.of("message");
    assert_eq!(m.len(), 1);
    assert_eq!(m[0]["s7comm"]["pdu_ref"], 5);
}

#[test]
fn tpkt_split_across_segments_and_several_per_segment() {
    let one = dt(true, &s7_setup(1));
    let mut three = Vec::new();
    for r in 2..5 {
        three.extend(dt(true, &s7_setup(r)));
    }
    let (_, rec) = run(
        &[&one[..2], &one[2..9], &one[9..], &three],
        Direction::ToServer,
    );
    let refs: Vec<_> = rec
        .of("message")
        .iter()
        .map(|m| m["s7comm"]["pdu_ref"].clone())
        .collect();
    assert_eq!(refs, vec![1, 2, 3, 4]);
}

#[test]
fn bad_tpkt_is_reported_once_and_parsing_resumes() {
    let mut seg = dt(true, &s7_setup(1));
    seg.extend_from_slice(&[0x04, 0x00, 0x00, 0x10, 0xde, 0xad, 0xbe, 0xef, 0x00]);
    seg.extend(dt(true, &s7_setup(2)));
    let (_, rec) = run(&[&seg], Direction::ToServer);
    let bad = rec.of("malformed");
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0]["error"]["code"], "bad_tpkt_version");
    assert_eq!(rec.of("message").len(), 2);
}

#[test]
fn short_tpkt_length_is_malformed() {
    let mut seg = vec![3, 0, 0, 5, 0x02];
    seg.extend(dt(true, &s7_setup(9)));
    let (_, rec) = run(&[&seg], Direction::ToServer);
    assert_eq!(rec.of("malformed")[0]["error"]["code"], "bad_tpkt_length");
    assert_eq!(rec.of("message").len(), 1);
}

#[test]
fn bad_cotp_in_sound_tpkt_is_malformed() {
    // LI larger than the TPKT payload, then an unknown TPDU code, then a
    // CR whose parameter runs past the header, then a truncated CR.
    let a = tpkt(&[40, 0xf0, 0x80]);
    let b = tpkt(&[2, 0x30, 0x80]);
    let c = tpkt(&[8, 0xe0, 0, 0, 0, 1, 0, 0xc1, 0x05]);
    let d = tpkt(&[3, 0xe0, 0, 0]);
    let (_, rec) = run(&[&a, &b, &c, &d], Direction::ToServer);
    let codes: Vec<_> = rec
        .of("malformed")
        .iter()
        .map(|m| m["error"]["code"].clone())
        .collect();
    assert_eq!(
        codes,
        vec![
            "bad_length_indicator",
            "unknown_tpdu",
            "bad_parameter",
            "truncated_tpdu"
        ]
    );
    assert!(rec.of("message").is_empty());
}

#[test]
fn oversized_tsdu_is_dropped_up_to_eot() {
    let chunk = vec![0x32; 8000];
    let mut chunks = Vec::new();
    for _ in 0..9 {
        chunks.push(dt(false, &chunk));
    }
    chunks.push(dt(true, &chunk));
    chunks.push(dt(true, &s7_setup(3)));
    let refs: Vec<&[u8]> = chunks.iter().map(|c| c.as_slice()).collect();
    let (s, rec) = run(&refs, Direction::ToServer);
    let bad = rec.of("malformed");
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0]["error"]["code"], "tsdu_too_long");
    assert_eq!(s.oversized_tsdus, 1);
    let m = rec.of("message");
    assert_eq!(m.len(), 1);
    assert_eq!(m[0]["s7comm"]["pdu_ref"], 3);
}

#[test]
fn gap_drops_the_partial_tsdu_and_resynchronises() {
    let f = flow(Transport::Tcp, 102, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let pdu = s7_setup(1);
    let first = dt(false, &pdu[..6]);
    feed_stream(&mut s, &f, Direction::ToServer, &[&first], &mut rec);
    let whole = dt(true, &s7_setup(2));
    {
        let mut cx = crate::Ctx::new(Timestamp(0), &f, Direction::ToServer, &mut rec);
        assert_eq!(s.on_data(&whole[..5], false, &mut cx), 0);
        s.on_gap(20, &mut cx);
    }
    // The tail of the lost TPKT, then a whole one.
    let mut seg = whole[9..].to_vec();
    seg.extend(dt(true, &s7_setup(3)));
    feed_stream(&mut s, &f, Direction::ToServer, &[&seg], &mut rec);
    assert!(rec.of("malformed").is_empty(), "{:?}", rec.events);
    let m = rec.of("message");
    assert_eq!(m.len(), 1);
    assert_eq!(m[0]["s7comm"]["pdu_ref"], 3);
}

#[test]
fn mid_stream_pickup_skips_the_partial_tpkt_silently() {
    let f = flow(Transport::Tcp, 102, false);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let first = dt(true, &s7_setup(1));
    let mut seg = first[6..].to_vec();
    seg.extend(dt(true, &s7_setup(2)));
    feed_stream(&mut s, &f, Direction::ToServer, &[&seg], &mut rec);
    assert!(rec.of("malformed").is_empty());
    let m = rec.of("message");
    assert_eq!(m.len(), 1);
    assert_eq!(m[0]["s7comm"]["pdu_ref"], 2);
}

#[test]
fn probe_accepts_cr_and_s7_dt_only() {
    assert!(probe(Transport::Tcp, &connect(0xe0)));
    assert!(probe(Transport::Tcp, &dt(true, &s7_setup(1))));
    assert!(!probe(Transport::Udp, &connect(0xe0)));
    assert!(!probe(Transport::Tcp, &connect(0xe0)[..10]));
    assert!(!probe(Transport::Tcp, &dt(true, &[0x0d, 0, 0, 0])));
    assert!(!probe(Transport::Tcp, b"GET / HTTP/1.1\r\n\r\n"));
}

proptest::proptest! {
    #[test]
    fn arbitrary_streams_never_panic(
        chunks in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..64), 0..20)
    ) {
        let f = flow(Transport::Tcp, 102, true);
        let mut s = Session::default();
        let mut rec = Recorder::default();
        let refs: Vec<&[u8]> = chunks.iter().map(|c| c.as_slice()).collect();
        let left = feed_stream(&mut s, &f, Direction::ToServer, &refs, &mut rec);
        proptest::prop_assert!(left <= 65535);
    }

    #[test]
    fn arbitrary_tsdus_never_panic(
        tsdus in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..200), 0..10),
        first in proptest::sample::select(vec![0x32u8, 0x72, 0x0d])
    ) {
        let f = flow(Transport::Tcp, 102, true);
        let mut s = Session::default();
        let mut rec = Recorder::default();
        let frames: Vec<Vec<u8>> = tsdus.iter().map(|t| {
            let mut d = vec![first];
            d.extend_from_slice(t);
            dt(true, &d)
        }).collect();
        let refs: Vec<&[u8]> = frames.iter().map(|c| c.as_slice()).collect();
        let left = feed_stream(&mut s, &f, Direction::ToClient, &refs, &mut rec);
        proptest::prop_assert_eq!(left, 0);
    }
}
