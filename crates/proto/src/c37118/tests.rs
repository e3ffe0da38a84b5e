//! C37.118 session tests.

use otwatch_core::{Direction, Timestamp, Transport};

use super::*;
use crate::testutil::{Recorder, feed_stream, flow};

fn frame(ft: u8, idcode: u16, body: &[u8]) -> Vec<u8> {
    let mut v = vec![0xaa, (ft << 4) | 1];
    v.extend_from_slice(&((HDR_LEN + body.len() + 2) as u16).to_be_bytes());
    v.extend_from_slice(&idcode.to_be_bytes());
    v.extend_from_slice(&1_718_006_400u32.to_be_bytes());
    v.extend_from_slice(&0x0000_4000u32.to_be_bytes());
    v.extend_from_slice(body);
    let crc = wire::crc_ccitt(&v);
    v.extend_from_slice(&crc.to_be_bytes());
    v
}

fn cfg2() -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&1_000_000u32.to_be_bytes());
    b.extend_from_slice(&1u16.to_be_bytes());
    b.extend_from_slice(b"SUB-A PMU 1     ");
    b.extend_from_slice(&7u16.to_be_bytes());
    b.extend_from_slice(&0u16.to_be_bytes());
    b.extend_from_slice(&[0, 2, 0, 1, 0, 0]); // 2 phasors, 1 analog, 0 digital
    b.extend_from_slice(&[b'x'; 16 * 3]);
    b.extend_from_slice(&[0; 4 * 3]);
    b.extend_from_slice(&[0, 0, 0, 1]); // FNOM, CFGCNT
    b.extend_from_slice(&30i16.to_be_bytes());
    b
}

fn run(chunks: &[(Direction, &[u8])]) -> Recorder {
    let f = flow(Transport::Tcp, 4712, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    for (d, b) in chunks {
        feed_stream(&mut s, &f, *d, &[b], &mut rec);
    }
    rec
}

#[test]
fn crc_known_value() {
    // CRC-CCITT (0xFFFF) of "123456789" is 0x29B1.
    assert_eq!(wire::crc_ccitt(b"123456789"), 0x29b1);
}

#[test]
fn command_config_header_data() {
    let cmd = frame(4, 7, &[0, 5]);
    let cfg = frame(3, 7, &cfg2());
    let hdr = frame(1, 7, b"PMU at substation A");
    let on = frame(4, 7, &[0, 2]);
    let data = frame(0, 7, &[0x00, 0x00, 1, 2, 3, 4]);
    let mut two = data.clone();
    two.extend_from_slice(&data);
    let rec = run(&[
        (Direction::ToServer, &cmd),
        (Direction::ToClient, &cfg),
        (Direction::ToClient, &hdr),
        (Direction::ToServer, &on),
        (Direction::ToClient, &two),
    ]);
    let m = rec.of("message");
    assert_eq!(m.len(), 6);
    assert!(rec.of("malformed").is_empty());
    assert_eq!(m[0]["kind"], "request");
    assert_eq!(m[0]["c37118"]["command_name"], "send_config2");
    assert_eq!(m[1]["kind"], "response");
    assert_eq!(m[1]["c37118"]["station_name"], "SUB-A PMU 1");
    assert_eq!(m[1]["c37118"]["data_rate"], 30);
    assert_eq!(m[1]["c37118"]["phasors"], 2);
    assert_eq!(m[2]["c37118"]["header_text"], "PMU at substation A");
    assert_eq!(m[4]["c37118"]["frame_type_name"], "data");
}

#[test]
fn function_codes_and_identity() {
    let cmd = frame(4, 7, &[0, 2]);
    let h = wire::parse_header(&cmd).unwrap();
    let body = wire::parse_body(&h, &cmd).unwrap();
    let m = Message {
        header: h,
        body,
        crc_ok: true,
    };
    assert_eq!(m.function_code(), 0x402);
    let cfg = frame(2, 7, &cfg2());
    let h = wire::parse_header(&cfg).unwrap();
    let m = Message {
        header: h,
        body: wire::parse_body(&h, &cfg).unwrap(),
        crc_ok: true,
    };
    assert_eq!(m.function_code(), 0x200);
    assert_eq!(
        m.identity().unwrap().hostname.as_deref(),
        Some("SUB-A PMU 1")
    );
}

#[test]
fn split_frames_and_resync() {
    let data = frame(0, 7, &[0, 0, 1, 2, 3, 4]);
    let f = flow(Transport::Tcp, 4712, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let mut seg = vec![0x11, 0x22, 0x33];
    seg.extend_from_slice(&data);
    seg.extend_from_slice(&data);
    let left = feed_stream(
        &mut s,
        &f,
        Direction::ToClient,
        &[&seg[..5], &seg[5..17], &seg[17..]],
        &mut rec,
    );
    assert_eq!(left, 0);
    assert_eq!(rec.of("message").len(), 2);
    let bad = rec.of("malformed");
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0]["error"]["code"], "bad_sync");
}

#[test]
fn bad_crc_and_truncated_config() {
    let mut d = frame(0, 7, &[0, 0, 1, 2]);
    let n = d.len();
    d[n - 1] ^= 0xff;
    let mut cfg = cfg2();
    cfg.truncate(40);
    let cfg = frame(3, 7, &cfg);
    let rec = run(&[(Direction::ToClient, &d), (Direction::ToClient, &cfg)]);
    let codes: Vec<_> = rec
        .of("malformed")
        .iter()
        .map(|e| e["error"]["code"].clone())
        .collect();
    assert_eq!(codes, vec!["bad_checksum", "config_truncated"]);
    assert_eq!(rec.of("message").len(), 2);
}

#[test]
fn gap_and_midstream_and_datagrams() {
    let data = frame(0, 7, &[0, 0, 1, 2, 3, 4]);
    let f = flow(Transport::Tcp, 4712, false);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let mut seg = data[9..].to_vec();
    seg.extend_from_slice(&data);
    feed_stream(&mut s, &f, Direction::ToClient, &[&seg], &mut rec);
    assert_eq!(rec.of("message").len(), 1);
    assert!(rec.of("malformed").is_empty());
    let mut cx = Ctx::new(Timestamp(0), &f, Direction::ToClient, &mut rec);
    s.on_gap(10, &mut cx);
    feed_stream(&mut s, &f, Direction::ToClient, &[&seg], &mut rec);
    assert_eq!(rec.of("message").len(), 2);
    let u = flow(Transport::Udp, 4713, false);
    let mut s = Session::default();
    for b in [&data[..], &[0xab, 0, 0][..]] {
        let mut cx = Ctx::new(Timestamp(0), &u, Direction::ToClient, &mut rec);
        assert_eq!(s.on_data(b, true, &mut cx), b.len());
    }
    assert_eq!(rec.of("message").len(), 3);
    assert_eq!(rec.of("malformed").len(), 1);
}

#[test]
fn probe_is_strict() {
    assert!(probe(Transport::Tcp, &frame(4, 1, &[0, 2])));
    let mut bad = frame(4, 1, &[0, 2]);
    bad[5] ^= 1;
    assert!(!probe(Transport::Tcp, &bad));
    assert!(!probe(Transport::Udp, &[0xaa, 0x01, 0x00]));
}

proptest::proptest! {
    #[test]
    fn arbitrary_streams_never_panic(chunks in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..100), 1..6)) {
        let f = flow(Transport::Tcp, 4712, false);
        let mut s = Session::default();
        let mut rec = Recorder::default();
        let refs: Vec<&[u8]> = chunks.iter().map(|c| &c[..]).collect();
        feed_stream(&mut s, &f, Direction::ToClient, &refs, &mut rec);
        let mut s = Session::default();
        for c in &chunks {
            let mut cx = Ctx::new(Timestamp(0), &f, Direction::ToClient, &mut rec);
            s.on_data(c, true, &mut cx);
        }
    }
}
