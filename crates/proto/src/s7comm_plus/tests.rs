//! S7comm-plus frame parsing and fragment tests.

use otwatch_core::{Direction, Timestamp, Transport};

use super::*;
use crate::testutil::{Recorder, flow};

fn frame(version: u8, data: &[u8], trailer: bool) -> Vec<u8> {
    let mut v = vec![0x72, version];
    v.extend_from_slice(&(data.len() as u16).to_be_bytes());
    v.extend_from_slice(data);
    if trailer {
        v.extend_from_slice(&[0x72, version, 0, 0]);
    }
    v
}

/// A request frame (with trailer). V3 frames get a 32-byte integrity part.
pub(crate) fn request(version: u8, function: u16, seq: u16, session: u32) -> Vec<u8> {
    let mut d = Vec::new();
    if version == 3 {
        d.push(0x20);
        d.extend_from_slice(&[0xaa; 32]);
    }
    d.extend_from_slice(&[0x31, 0, 0]);
    d.extend_from_slice(&function.to_be_bytes());
    d.extend_from_slice(&[0, 0]);
    d.extend_from_slice(&seq.to_be_bytes());
    d.extend_from_slice(&session.to_be_bytes());
    d.extend_from_slice(&[0x36, 0x00, 0x00, 0x00]);
    frame(version, &d, true)
}

fn response(version: u8, opcode: u8, function: u16, seq: u16, trailer: bool) -> Vec<u8> {
    let mut d = Vec::new();
    if version == 3 {
        d.push(0x20);
        d.extend_from_slice(&[0xbb; 32]);
    }
    d.extend_from_slice(&[opcode, 0, 0]);
    d.extend_from_slice(&function.to_be_bytes());
    d.extend_from_slice(&[0, 0]);
    d.extend_from_slice(&seq.to_be_bytes());
    d.extend_from_slice(&[0x00, 0x00, 0x00, 0x00]);
    frame(version, &d, trailer)
}

fn feed(state: &mut State, tsdus: &[(Direction, Vec<u8>)]) -> Recorder {
    let f = flow(Transport::Tcp, 102, true);
    let mut rec = Recorder::default();
    for (i, (dir, t)) in tsdus.iter().enumerate() {
        let mut cx = crate::Ctx::new(Timestamp(i as i64), &f, *dir, &mut rec);
        state.on_tsdu(t, &mut cx);
    }
    rec
}

const TS: Direction = Direction::ToServer;
const TC: Direction = Direction::ToClient;

#[test]
fn v3_session_with_integrity() {
    let tsdus = vec![
        (TS, request(1, 0x04ca, 1, 0x120)),
        (TC, response(1, 0x32, 0x04ca, 1, true)),
        (TS, request(3, 0x04bb, 2, 0x70000321)),
        (TC, response(3, 0x32, 0x04bb, 2, true)),
        (TS, request(3, 0x0542, 3, 0x70000321)),
        (TC, response(3, 0x32, 0x0542, 3, true)),
        (TS, request(3, 0x054c, 4, 0x70000321)),
        (TC, response(3, 0x32, 0x054c, 4, true)),
        (TS, request(3, 0x04d4, 5, 0x70000321)),
        (TC, response(3, 0x32, 0x04d4, 5, true)),
    ];
    let rec = feed(&mut State::default(), &tsdus);
    let m = rec.of("message");
    assert_eq!(m.len(), 10);
    let fc: Vec<_> = m
        .iter()
        .map(|m| m["s7comm_plus"]["function_code"].clone())
        .collect();
    assert_eq!(
        fc,
        vec![
            0x04ca, 0x04ca, 0x04bb, 0x04bb, 0x0542, 0x0542, 0x054c, 0x054c, 0x04d4, 0x04d4
        ]
    );
    let a = &m[0]["s7comm_plus"];
    assert_eq!(m[0]["kind"], "request");
    assert_eq!(a["version"], 1);
    assert_eq!(a["opcode_name"], "Request");
    assert_eq!(a["function_name"], "CreateObject");
    assert_eq!(a["sequence"], 1);
    assert_eq!(a["session_id"], 0x120);
    assert!(a.get("integrity").is_none());
    let b = &m[2]["s7comm_plus"];
    assert_eq!(b["version"], 3);
    assert_eq!(b["function_name"], "Explore");
    assert_eq!(b["session_id"], 0x70000321u32);
    assert_eq!(b["integrity"]["digest_length"], 32);
    assert_eq!(b["integrity"]["digest"].as_str().unwrap().len(), 64);
    assert_eq!(m[3]["kind"], "response");
    assert_eq!(m[3]["s7comm_plus"]["opcode_name"], "Response");
    assert_eq!(m[7]["s7comm_plus"]["function_name"], "GetMultiVariables");
}

#[test]
fn fragmented_pdu_is_counted_once() {
    let first = response(2, 0x32, 0x04bb, 9, false);
    let inner = frame(2, &[1, 2, 3, 4, 5, 6], false);
    let last = frame(2, &[7, 8, 9], true);
    let next = response(2, 0x32, 0x054c, 10, true);
    let mut st = State::default();
    let rec = feed(&mut st, &[(TC, first), (TC, inner), (TC, last), (TC, next)]);
    let m = rec.of("message");
    assert_eq!(m.len(), 2);
    assert_eq!(m[0]["s7comm_plus"]["fragmented"], true);
    assert_eq!(m[1]["s7comm_plus"]["sequence"], 10);
    assert_eq!(st.fragments, 2);
    // Each direction follows its own fragments.
    let mut st = State::default();
    let rec = feed(
        &mut st,
        &[
            (TC, response(2, 0x32, 0x04bb, 1, false)),
            (TS, request(2, 0x054c, 2, 1)),
            (TC, frame(2, &[0], true)),
        ],
    );
    assert_eq!(rec.of("message").len(), 2);
}

#[test]
fn notification_response2_and_keepalives() {
    let mut ntf = vec![0x33];
    ntf.extend_from_slice(&0x1000_0001u32.to_be_bytes());
    ntf.extend_from_slice(&[0, 0, 0]);
    let tsdus = vec![
        (TC, frame(2, &ntf, true)),
        (TC, response(2, 0x02, 0x04f2, 3, true)),
        (TS, frame(0xfe, &[0; 16], false)),
        (TS, vec![0x72, 0xff, 0x05, 0x00]),
    ];
    let rec = feed(&mut State::default(), &tsdus);
    let m = rec.of("message");
    assert_eq!(m.len(), 4);
    assert_eq!(m[0]["s7comm_plus"]["opcode_name"], "Notification");
    assert_eq!(m[0]["s7comm_plus"]["function_code"], 0);
    assert_eq!(m[0]["s7comm_plus"]["subscription_id"], 0x1000_0001u32);
    assert_eq!(m[0]["kind"], "response");
    assert_eq!(m[1]["s7comm_plus"]["opcode_name"], "Response2");
    assert_eq!(m[1]["s7comm_plus"]["function_name"], "SetVariable");
    assert_eq!(m[2]["s7comm_plus"]["version_name"], "extended keep-alive");
    assert!(m[2]["s7comm_plus"].get("fragmented").is_none());
    assert_eq!(m[2]["kind"], "request");
    assert_eq!(m[3]["s7comm_plus"]["keepalive_seq"], 5);
}

#[test]
fn errors_are_malformed() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (vec![0x72, 0x02], "truncated"),
        (frame(0x07, &[0x31], true), "unknown_version"),
        (
            {
                let mut f = frame(2, &[0x31; 20], true);
                f.truncate(10);
                f
            },
            "bad_data_length",
        ),
        (frame(2, &[0x44, 0, 0], true), "unknown_opcode"),
        (frame(3, &[0x20, 1, 2], true), "bad_integrity"),
        (frame(2, &[0x31, 0, 0, 0x05], true), "truncated"),
        (frame(2, &[], true), "truncated"),
    ];
    for (bytes, code) in &cases {
        let rec = feed(&mut State::default(), &[(TS, bytes.clone())]);
        let bad = rec.of("malformed");
        assert_eq!(bad.len(), 1, "{code}");
        assert_eq!(bad[0]["error"]["code"], *code);
        assert_eq!(bad[0]["proto"], "s7comm_plus");
    }
    assert!(wire::parse(&[0x32, 1, 0, 0]).is_err());
}

proptest::proptest! {
    #[test]
    fn arbitrary_frames_never_panic(body in proptest::collection::vec(proptest::num::u8::ANY, 0..120)) {
        let mut b = vec![0x72];
        b.extend_from_slice(&body);
        if let Ok(f) = wire::parse(&b) {
            let _ = serde_json::to_string(&Message { frame: f }).unwrap();
        }
        let _ = feed(&mut State::default(), &[(TS, b.clone()), (TS, b)]);
    }
}
