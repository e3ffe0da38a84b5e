//! MELSEC session tests.

use otwatch_core::{Direction, Timestamp, Transport};

use super::*;
use crate::testutil::{Recorder, feed_stream, flow};

fn req3e(cmd: u16, sub: u16, data: &[u8]) -> Vec<u8> {
    let mut v = vec![0x50, 0x00, 0x00, 0xff, 0xff, 0x03, 0x00];
    v.extend_from_slice(&((6 + data.len()) as u16).to_le_bytes());
    v.extend_from_slice(&0x0010u16.to_le_bytes());
    v.extend_from_slice(&cmd.to_le_bytes());
    v.extend_from_slice(&sub.to_le_bytes());
    v.extend_from_slice(data);
    v
}

fn resp3e(end: u16, data: &[u8]) -> Vec<u8> {
    let mut v = vec![0xd0, 0x00, 0x00, 0xff, 0xff, 0x03, 0x00];
    v.extend_from_slice(&((2 + data.len()) as u16).to_le_bytes());
    v.extend_from_slice(&end.to_le_bytes());
    v.extend_from_slice(data);
    v
}

fn four_e(serial: u16, three_e: &[u8]) -> Vec<u8> {
    let mut v = vec![if three_e[0] == 0x50 { 0x54 } else { 0xd4 }, 0x00];
    v.extend_from_slice(&serial.to_le_bytes());
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(&three_e[2..]);
    v
}

fn melsoft(response: bool, cmd: u16, reference: u16, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![
        if response { 0xd7 } else { 0x57 },
        0x00,
        0,
        0,
        0,
        0x11,
        0x11,
        0x07,
        0,
        0,
        0xff,
        0xff,
        0x03,
        0,
        0,
        0,
        0,
        0,
        0,
    ];
    let chdr = if response { 0x1a } else { 0x18 };
    let len = chdr + 6 + payload.len();
    v.extend_from_slice(&(len as u16).to_le_bytes());
    let mut h = vec![0u8; chdr];
    h[0] = if response { 0x9c } else { 0x1c };
    h[1] = 2;
    h[2] = (chdr - 2) as u8;
    v.extend_from_slice(&h);
    v.extend_from_slice(&cmd.to_be_bytes());
    v.extend_from_slice(&reference.to_le_bytes());
    v.extend_from_slice(&(payload.len() as u16).to_le_bytes());
    v.extend_from_slice(payload);
    v
}

fn run(chunks: &[(Direction, Vec<u8>)]) -> Recorder {
    let f = flow(Transport::Tcp, 5007, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    for (d, b) in chunks {
        feed_stream(&mut s, &f, *d, &[b], &mut rec);
    }
    rec
}

#[test]
fn slmp_3e_commands_matching_identity() {
    let mut model = b"Q03UDVCPU       ".to_vec();
    model.extend_from_slice(&0x0366u16.to_le_bytes());
    let rec = run(&[
        (Direction::ToServer, req3e(0x0101, 0, &[])),
        (Direction::ToClient, resp3e(0, &model)),
        (
            Direction::ToServer,
            req3e(0x0401, 0, &[0x64, 0, 0, 0xa8, 2, 0]),
        ),
        (Direction::ToClient, resp3e(0, &[1, 0, 2, 0])),
        (
            Direction::ToServer,
            req3e(0x1401, 0, &[0x64, 0, 0, 0xa8, 1, 0, 7, 0]),
        ),
        (Direction::ToClient, resp3e(0, &[])),
        (Direction::ToServer, req3e(0x1002, 0, &[1, 0])),
        (Direction::ToClient, resp3e(0xc059, &[])),
    ]);
    let m = rec.of("message");
    assert_eq!(m.len(), 8);
    assert!(rec.of("malformed").is_empty());
    assert_eq!(m[1]["melsec"]["cpu_model"], "Q03UDVCPU");
    assert_eq!(m[1]["melsec"]["command"], 0x0101);
    assert_eq!(m[2]["melsec"]["device"], "D");
    assert_eq!(m[2]["melsec"]["head_device"], 100);
    assert_eq!(m[2]["melsec"]["points"], 2);
    assert_eq!(m[6]["melsec"]["command_name"], "remote_stop");
    assert_eq!(m[7]["melsec"]["command"], 0x1002);
    assert_eq!(m[7]["melsec"]["end_code"], 0xc059);
    assert!(m[7]["melsec"]["latency_us"].is_number());
}

#[test]
fn identity_from_cpu_model() {
    let mut model = b"R04CPU          ".to_vec();
    model.extend_from_slice(&0x4800u16.to_le_bytes());
    let b = resp3e(0, &model);
    let f = wire::parse(&b).unwrap();
    let m = Message {
        frame: f,
        request: Some(RequestInfo {
            format: Format::Slmp3e,
            serial: None,
            command: 0x0101,
            subcommand: Some(0),
            ts: Timestamp(0),
        }),
        latency_ns: None,
    };
    let id = m.identity().unwrap();
    assert_eq!(id.model.as_deref(), Some("R04CPU"));
    assert_eq!(m.function_code(), 0x0101);
}

#[test]
fn slmp_4e_matches_by_serial() {
    let rec = run(&[
        (
            Direction::ToServer,
            four_e(1, &req3e(0x1001, 0, &[1, 0, 0, 0])),
        ),
        (Direction::ToServer, four_e(2, &req3e(0x1006, 0, &[1, 0]))),
        (Direction::ToClient, four_e(2, &resp3e(0, &[]))),
        (Direction::ToClient, four_e(1, &resp3e(0, &[]))),
    ]);
    let m = rec.of("message");
    assert_eq!(m[2]["melsec"]["command"], 0x1006);
    assert_eq!(m[3]["melsec"]["command"], 0x1001);
    assert_eq!(m[3]["melsec"]["frame"], "4e");
}

#[test]
fn melsoft_frames() {
    let rec = run(&[
        (
            Direction::ToServer,
            melsoft(false, 0x0411, 0x3ff3, &[0; 30]),
        ),
        (Direction::ToClient, melsoft(true, 0x0411, 0x3ff3, &[0; 6])),
        (Direction::ToServer, melsoft(false, 0x1002, 0x3ff4, &[])),
    ]);
    let m = rec.of("message");
    assert_eq!(m.len(), 3);
    assert_eq!(m[0]["melsec"]["frame"], "melsoft");
    assert_eq!(m[0]["melsec"]["command"], 0x0411);
    assert_eq!(m[1]["kind"], "response");
    assert_eq!(m[1]["melsec"]["end_code"], 0);
    assert_eq!(m[2]["melsec"]["command_name"], "remote_stop");
}

#[test]
fn errors_and_resync() {
    let good = req3e(0x0401, 0, &[0, 0, 0, 0x90, 16, 0]);
    let mut seg = vec![0x12, 0x34, 0x56];
    seg.extend_from_slice(&good);
    let short = req3e(0x0401, 0, &[0, 0]);
    let bad_points = req3e(0x1401, 0, &[0, 0, 0, 0xa8, 3, 0, 1, 0]);
    let rec = run(&[
        (Direction::ToServer, seg),
        (Direction::ToServer, short),
        (Direction::ToServer, bad_points),
        (Direction::ToServer, good.clone()),
    ]);
    let codes: Vec<_> = rec
        .of("malformed")
        .iter()
        .map(|e| e["error"]["code"].clone())
        .collect();
    assert_eq!(
        codes,
        vec!["bad_subheader", "short_request", "points_mismatch"]
    );
    assert_eq!(rec.of("message").len(), 2);
}

#[test]
fn split_coalesced_gap_and_datagram() {
    let a = req3e(0x0401, 0, &[0, 0, 0, 0x90, 16, 0]);
    let mut two = a.clone();
    two.extend_from_slice(&a);
    let f = flow(Transport::Tcp, 5007, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let left = feed_stream(
        &mut s,
        &f,
        Direction::ToServer,
        &[&two[..1], &two[1..9], &two[9..]],
        &mut rec,
    );
    assert_eq!(left, 0);
    assert_eq!(rec.of("message").len(), 2);
    let mut cx = Ctx::new(Timestamp(0), &f, Direction::ToServer, &mut rec);
    s.on_gap(5, &mut cx);
    let mut tail = a[4..].to_vec();
    tail.extend_from_slice(&a);
    feed_stream(&mut s, &f, Direction::ToServer, &[&tail], &mut rec);
    assert_eq!(rec.of("message").len(), 3);
    assert!(rec.of("malformed").is_empty());
    let u = flow(Transport::Udp, 5006, false);
    let mut s = Session::default();
    let mut cx = Ctx::new(Timestamp(0), &u, Direction::ToServer, &mut rec);
    assert_eq!(s.on_data(&a, true, &mut cx), a.len());
    assert_eq!(rec.of("message").len(), 4);
}

#[test]
fn pending_bounded_and_probe() {
    let f = flow(Transport::Tcp, 5007, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    for i in 0..50 {
        let mut cx = Ctx::new(Timestamp(i), &f, Direction::ToServer, &mut rec);
        s.on_data(&req3e(0x0401, 0, &[0, 0, 0, 0x90, 1, 0]), false, &mut cx);
    }
    assert_eq!(s.unanswered, 50 - MAX_PENDING as u64);
    assert!(probe(
        Transport::Tcp,
        &req3e(0x0401, 0, &[0, 0, 0, 0x90, 1, 0])
    ));
    assert!(probe(Transport::Tcp, &melsoft(true, 0x0410, 1, &[0; 4])));
    assert!(!probe(Transport::Tcp, b"PING"));
    assert!(!probe(
        Transport::Tcp,
        &[0x50, 0, 0, 0xff, 0xff, 3, 0, 0xff, 0xff]
    ));
}

proptest::proptest! {
    #[test]
    fn arbitrary_streams_never_panic(chunks in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..120), 1..6)) {
        let f = flow(Transport::Tcp, 5007, false);
        let mut s = Session::default();
        let mut rec = Recorder::default();
        let refs: Vec<&[u8]> = chunks.iter().map(|c| &c[..]).collect();
        feed_stream(&mut s, &f, Direction::ToServer, &refs, &mut rec);
        feed_stream(&mut s, &f, Direction::ToClient, &refs, &mut rec);
        for c in &chunks {
            let mut cx = Ctx::new(Timestamp(0), &f, Direction::ToClient, &mut rec);
            s.on_data(c, true, &mut cx);
        }
    }
}
