//! ADS session tests.

use otwatch_core::{Direction, Timestamp, Transport};

use super::*;
use crate::testutil::{Recorder, feed_stream, flow};

fn ams(command: u16, response: bool, invoke: u32, data: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0];
    v.extend_from_slice(&((32 + data.len()) as u32).to_le_bytes());
    let (t, s) = ([5, 13, 117, 96, 1, 1], [192, 168, 1, 99, 1, 1]);
    let (t, s) = if response { (s, t) } else { (t, s) };
    v.extend_from_slice(&t);
    v.extend_from_slice(&851u16.to_le_bytes());
    v.extend_from_slice(&s);
    v.extend_from_slice(&32905u16.to_le_bytes());
    v.extend_from_slice(&command.to_le_bytes());
    v.extend_from_slice(&(if response { 5u16 } else { 4 }).to_le_bytes());
    v.extend_from_slice(&(data.len() as u32).to_le_bytes());
    v.extend_from_slice(&0u32.to_le_bytes());
    v.extend_from_slice(&invoke.to_le_bytes());
    v.extend_from_slice(data);
    v
}

fn le(v: &[u32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn run(chunks: &[(Direction, &[u8])]) -> Recorder {
    let f = flow(Transport::Tcp, 48898, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    for (d, b) in chunks {
        feed_stream(&mut s, &f, *d, &[b], &mut rec);
    }
    rec
}

#[test]
fn every_command_and_matching() {
    let mut info = le(&[0]);
    info.extend_from_slice(&[3, 1, 0xd2, 0x0f]);
    info.extend_from_slice(b"TCatPlcCtrl\0\0\0\0\0");
    let mut read_resp = le(&[0, 4]);
    read_resp.extend_from_slice(&[1, 2, 3, 4]);
    let mut write = le(&[0x4020, 0, 2]);
    write.extend_from_slice(&[9, 9]);
    let mut rw = le(&[0xf003, 0, 4, 3]);
    rw.extend_from_slice(b"abc");
    let mut notif = le(&[0x4020, 0, 2, 4, 0, 10000]);
    notif.extend_from_slice(&[0; 16]);
    let st = [0u8, 0, 0, 0, 5, 0, 0, 0];
    let pkts: Vec<(Direction, Vec<u8>)> = vec![
        (Direction::ToServer, ams(1, false, 1, &[])),
        (Direction::ToClient, ams(1, true, 1, &info)),
        (Direction::ToServer, ams(2, false, 2, &le(&[0x4020, 0, 4]))),
        (Direction::ToClient, ams(2, true, 2, &read_resp)),
        (Direction::ToServer, ams(3, false, 3, &write)),
        (Direction::ToClient, ams(3, true, 3, &le(&[0]))),
        (Direction::ToServer, ams(4, false, 4, &[])),
        (Direction::ToClient, ams(4, true, 4, &st)),
        (
            Direction::ToServer,
            ams(5, false, 5, &[6, 0, 0, 0, 0, 0, 0, 0]),
        ),
        (Direction::ToClient, ams(5, true, 5, &le(&[0]))),
        (Direction::ToServer, ams(6, false, 6, &notif)),
        (Direction::ToClient, ams(6, true, 6, &le(&[0, 77]))),
        (Direction::ToServer, ams(7, false, 7, &le(&[77]))),
        (Direction::ToClient, ams(7, true, 7, &le(&[0]))),
        (Direction::ToClient, ams(8, false, 8, &le(&[8, 0]))),
        (Direction::ToServer, ams(9, false, 9, &rw)),
        (Direction::ToClient, ams(9, true, 9, &read_resp)),
    ];
    let chunks: Vec<(Direction, &[u8])> = pkts.iter().map(|(d, b)| (*d, &b[..])).collect();
    let rec = run(&chunks);
    let m = rec.of("message");
    assert_eq!(m.len(), 17);
    assert!(rec.of("malformed").is_empty(), "{:?}", rec.of("malformed"));
    assert_eq!(m[1]["ads"]["device_name"], "TCatPlcCtrl");
    assert_eq!(m[1]["ads"]["version"], "3.1.4050");
    assert_eq!(m[3]["ads"]["index_group"], 0x4020);
    assert_eq!(m[3]["kind"], "response");
    assert!(m[3]["ads"]["latency_us"].is_number());
    assert_eq!(m[7]["ads"]["ads_state_name"], "run");
    assert_eq!(m[8]["ads"]["ads_state_name"], "stop");
    assert_eq!(m[14]["kind"], "request");
    assert_eq!(m[14]["ads"]["command"], "device_notification");
    assert_eq!(m[16]["ads"]["index_group"], 0xf003);
    assert_eq!(m[15]["ads"]["write_length"], 3);
}

#[test]
fn split_and_coalesced_segments() {
    let a = ams(2, false, 1, &le(&[0x4020, 0, 4]));
    let b = ams(4, false, 2, &[]);
    let mut both = a.clone();
    both.extend_from_slice(&b);
    let f = flow(Transport::Tcp, 48898, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let left = feed_stream(
        &mut s,
        &f,
        Direction::ToServer,
        &[&both[..3], &both[3..20], &both[20..50], &both[50..]],
        &mut rec,
    );
    assert_eq!(left, 0);
    assert_eq!(rec.of("message").len(), 2);
}

#[test]
fn garbage_then_resync_and_errors() {
    let good = ams(4, false, 1, &[]);
    let mut seg = vec![1, 2, 3, 4, 5, 6, 7, 8];
    seg.extend_from_slice(&good);
    let short_write = ams(3, false, 2, &le(&[0x4020, 0, 10]));
    let mut bad_len = ams(4, false, 3, &[]);
    bad_len[2] = 0x40; // AMS/TCP length disagrees with the AMS header
    let rec = run(&[
        (Direction::ToServer, &seg),
        (Direction::ToServer, &short_write),
        (Direction::ToServer, &bad_len),
        (Direction::ToServer, &good),
    ]);
    let codes: Vec<_> = rec
        .of("malformed")
        .iter()
        .map(|e| e["error"]["code"].clone())
        .collect();
    assert_eq!(
        codes,
        vec!["bad_reserved", "body_length", "length_mismatch"]
    );
    assert_eq!(rec.of("message").len(), 3);
}

#[test]
fn gap_resyncs() {
    let f = flow(Transport::Tcp, 48898, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let a = ams(2, false, 1, &le(&[0x4020, 0, 4]));
    feed_stream(&mut s, &f, Direction::ToServer, &[&a[..20]], &mut rec);
    let mut cx = Ctx::new(Timestamp(0), &f, Direction::ToServer, &mut rec);
    s.on_gap(100, &mut cx);
    let mut tail = a[30..].to_vec();
    tail.extend_from_slice(&a);
    // The flow layer drops the partial PDU on a gap: feed only the new bytes.
    feed_stream(&mut s, &f, Direction::ToServer, &[&tail], &mut rec);
    assert_eq!(rec.of("message").len(), 1);
    assert!(rec.of("malformed").is_empty());
}

#[test]
fn pending_table_is_bounded() {
    let f = flow(Transport::Tcp, 48898, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    for i in 0..100u32 {
        let p = ams(4, false, i, &[]);
        let mut cx = Ctx::new(Timestamp(i as i64), &f, Direction::ToServer, &mut rec);
        s.on_data(&p, false, &mut cx);
    }
    assert_eq!(s.unanswered, 100 - MAX_PENDING as u64);
    let mut cx = Ctx::new(Timestamp(1000), &f, Direction::ToClient, &mut rec);
    s.on_data(&ams(4, true, 5, &[0, 0, 0, 0, 5, 0, 0, 0]), false, &mut cx);
    assert_eq!(s.unmatched_responses, 1);
}

pub(crate) fn discovery_response() -> Vec<u8> {
    let mut v = vec![0x03, 0x66, 0x14, 0x71, 0, 0, 0, 0, 1, 0, 0, 0x80];
    v.extend_from_slice(&[5, 13, 117, 96, 1, 1, 0x10, 0x27, 3, 0, 0, 0]);
    v.extend_from_slice(&[5, 0, 10, 0]);
    v.extend_from_slice(b"CX_0D7560\0");
    v.extend_from_slice(&[4, 0, 20, 0]);
    v.extend_from_slice(&le(&[0x114, 6, 0, 0, 3]));
    v.extend_from_slice(&[3, 0, 4, 0, 2, 11, 0xb4, 0x08]);
    v
}

#[test]
fn discovery_datagrams_and_identity() {
    let f = flow(Transport::Udp, 48899, false);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let req = [
        0x03, 0x66, 0x14, 0x71, 0, 0, 0, 0, 1, 0, 0, 0, 192, 168, 1, 99, 1, 1, 0x10, 0x27, 0, 0, 0,
        0,
    ];
    let resp = discovery_response();
    for (d, b) in [
        (Direction::ToServer, &req[..]),
        (Direction::ToClient, &resp[..]),
    ] {
        let mut cx = Ctx::new(Timestamp(0), &f, d, &mut rec);
        assert_eq!(s.on_data(b, true, &mut cx), b.len());
    }
    let mut cx = Ctx::new(Timestamp(0), &f, Direction::ToClient, &mut rec);
    s.on_data(&[1, 2, 3], true, &mut cx);
    let m = rec.of("message");
    assert_eq!(m.len(), 2);
    assert_eq!(m[0]["kind"], "request");
    assert_eq!(m[1]["ads"]["hostname"], "CX_0D7560");
    assert_eq!(m[1]["ads"]["twincat_version"], "2.11.2228");
    assert_eq!(rec.of("malformed")[0]["error"]["code"], "bad_discovery");
    let (d, _) = match wire::parse_discovery(&resp) {
        Some(Ok(d)) => (d, ()),
        _ => panic!("discovery parses"),
    };
    let msg = Message::Discovery(d);
    assert_eq!(msg.function_code(), 0x101);
    let id = msg.identity().expect("identity");
    assert_eq!(id.hostname.as_deref(), Some("CX_0D7560"));
    assert_eq!(id.os.as_deref(), Some("Windows CE 6.0 build 0"));
    assert_eq!(id.firmware.as_deref(), Some("TwinCAT 2.11.2228"));
}

#[test]
fn probe_is_strict() {
    assert!(probe(Transport::Tcp, &ams(1, false, 1, &[])));
    assert!(!probe(Transport::Tcp, &ams(1, false, 1, &[])[..20]));
    assert!(!probe(Transport::Tcp, b"GET / HTTP/1.1\r\n\r\n"));
    assert!(probe(Transport::Udp, &discovery_response()));
}

proptest::proptest! {
    #[test]
    fn arbitrary_streams_never_panic(chunks in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..120), 1..6)) {
        let f = flow(Transport::Tcp, 48898, false);
        let mut s = Session::default();
        let mut rec = Recorder::default();
        let refs: Vec<&[u8]> = chunks.iter().map(|c| &c[..]).collect();
        feed_stream(&mut s, &f, Direction::ToServer, &refs, &mut rec);
        for c in &chunks {
            let mut cx = Ctx::new(Timestamp(0), &f, Direction::ToClient, &mut rec);
            s.on_data(c, true, &mut cx);
        }
    }
}
