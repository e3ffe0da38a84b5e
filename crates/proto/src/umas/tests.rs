//! UMAS over the Modbus session: reporting, matching, identity, errors.

use otwatch_core::{Direction, Transport};

use super::*;
use crate::modbus::Session;
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

pub(crate) fn read_id_response(name: &str) -> Vec<u8> {
    let mut v = vec![0x5a, 0x00, 0xfe, 0x01, 0x00];
    v.extend_from_slice(&0x0803_1c52u32.to_le_bytes());
    v.extend_from_slice(&0x0320u16.to_le_bytes());
    v.extend_from_slice(&[0, 0, name.len() as u8]);
    v.extend_from_slice(name.as_bytes());
    v
}

fn run(chunks: &[(Direction, Vec<u8>)]) -> Recorder {
    let f = flow(Transport::Tcp, 502, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    for (d, b) in chunks {
        feed_stream(&mut s, &f, *d, &[b], &mut rec);
    }
    rec
}

#[test]
fn function_90_is_reported_as_umas_with_matching() {
    let rec = run(&[
        (Direction::ToServer, adu(5, 0, &[0x5a, 0x00, 0x02])),
        (
            Direction::ToServer,
            adu(6, 0, &[0x5a, 0x3c, 0x41, 0xff, 0x00]),
        ),
        (Direction::ToClient, adu(6, 0, &[0x5a, 0x3c, 0xfe])),
        (
            Direction::ToClient,
            adu(5, 0, &read_id_response("BMX P34 2020")),
        ),
        (Direction::ToServer, adu(7, 0, &[3, 0, 0, 0, 1])),
    ]);
    let m = rec.of("message");
    assert_eq!(m.len(), 5);
    assert_eq!(m[0]["proto"], "umas");
    assert_eq!(m[0]["kind"], "request");
    assert_eq!(m[0]["umas"]["function"], 2);
    assert_eq!(m[0]["umas"]["function_name"], "read_id");
    assert_eq!(m[0]["umas"]["transaction_id"], 5);
    assert_eq!(m[1]["umas"]["function_name"], "stop_plc");
    assert_eq!(m[1]["umas"]["session"], 0x3c);
    assert_eq!(m[2]["kind"], "response");
    assert_eq!(m[2]["umas"]["function"], 0x41);
    assert_eq!(m[2]["umas"]["status"], "ok");
    assert_eq!(m[3]["umas"]["function"], 2);
    assert_eq!(m[3]["umas"]["plc_name"], "BMX P34 2020");
    assert_eq!(m[3]["umas"]["firmware"], "3.20");
    assert_eq!(m[4]["proto"], "modbus");
    assert!(rec.of("malformed").is_empty());
}

#[test]
fn read_id_identity() {
    let data = read_id_response("BMX P58 4040");
    let f = flow(Transport::Tcp, 502, true);
    let mut s = Session::default();
    struct Ids(Vec<String>);
    impl crate::EventSink for Ids {
        fn on_event(&mut self, ev: &crate::Event<'_>) {
            if let crate::Event::App(a) = ev
                && let Some(id) = a.msg.identity()
            {
                self.0.push(format!(
                    "{:?} {:?} {:?} {:?}",
                    id.vendor, id.model, id.firmware, id.hardware
                ));
            }
        }
    }
    let mut ids = Ids(Vec::new());
    for (d, b) in [
        (Direction::ToServer, adu(1, 0, &[0x5a, 0x00, 0x02])),
        (Direction::ToClient, adu(1, 0, &data)),
    ] {
        let mut cx = crate::Ctx::new(otwatch_core::Timestamp(0), &f, d, &mut ids);
        crate::Dissector::on_data(&mut s, &b, false, &mut cx);
    }
    assert_eq!(
        ids.0,
        vec![
            "Some(\"Schneider Electric\") Some(\"BMX P58 4040\") Some(\"3.20\") Some(\"0x08031c52\")"
                .to_string()
        ]
    );
}

#[test]
fn unmatched_and_error_responses() {
    let rec = run(&[
        (Direction::ToClient, adu(9, 0, &[0x5a, 0x00, 0xfd, 0x05])),
        (
            Direction::ToServer,
            adu(10, 0, &[0x5a, 0x00, 0x00, 0x00, 0x00]),
        ),
        (Direction::ToClient, adu(10, 0, &[0xda, 0x01])),
    ]);
    let m = rec.of("message");
    assert_eq!(m[0]["umas"]["function"], 0xfd);
    assert_eq!(m[0]["umas"]["status"], "error");
    assert_eq!(m[1]["umas"]["function"], 0);
    assert_eq!(m[2]["umas"]["status"], "exception");
    assert_eq!(m[2]["umas"]["exception_code"], 1);
    assert_eq!(m[2]["umas"]["function"], 0);
}

#[test]
fn malformed_umas() {
    let mut bad_block = vec![0x5a, 0x01, 0x31, 0x00, 0x01, 0x02, 0x00, 0x10, 0x00];
    bad_block.extend_from_slice(&[0xaa; 4]);
    let rec = run(&[
        (Direction::ToServer, adu(1, 0, &[0x5a, 0x00])),
        (Direction::ToServer, adu(2, 0, &bad_block)),
        (Direction::ToServer, adu(3, 0, &[0x5a, 0x00, 0x02])),
        (Direction::ToClient, adu(3, 0, &[0x5a, 0x00, 0xfe, 0x01])),
    ]);
    let m = rec.of("message");
    assert_eq!(m.len(), 4);
    let bad = rec.of("malformed");
    let codes: Vec<_> = bad.iter().map(|b| b["error"]["code"].clone()).collect();
    assert_eq!(
        codes,
        vec!["umas_short", "umas_block_length", "umas_read_id_truncated"]
    );
    assert_eq!(bad[0]["proto"], "umas");
    assert_eq!(bad[1]["error"]["function_code"], 0x31);
}

#[test]
fn upload_block_fields() {
    let mut b = vec![0x5a, 0x01, 0x31, 0x00, 0x01, 0x07, 0x00, 0x04, 0x00];
    b.extend_from_slice(&[1, 2, 3, 4]);
    let rec = run(&[(Direction::ToServer, adu(1, 0, &b))]);
    let m = rec.of("message");
    assert_eq!(m[0]["umas"]["block"], 7);
    assert_eq!(m[0]["umas"]["block_length"], 4);
    assert!(rec.of("malformed").is_empty());
}

#[test]
fn names_cover_the_documented_codes() {
    for c in [
        0x01u8, 0x02, 0x03, 0x04, 0x06, 0x0a, 0x10, 0x11, 0x12, 0x20, 0x22, 0x23, 0x24, 0x25, 0x30,
        0x31, 0x32, 0x33, 0x34, 0x35, 0x39, 0x40, 0x41, 0x50, 0x58, 0x70, 0x71, 0x73,
    ] {
        assert_ne!(function_name(c), "unknown", "{c:#x}");
    }
    assert_eq!(function_name(0x99), "unknown");
}

proptest::proptest! {
    #[test]
    fn arbitrary_umas_bodies_never_panic(body in proptest::collection::vec(proptest::num::u8::ANY, 0..80), resp in proptest::bool::ANY) {
        let mut pdu = vec![0x5a];
        pdu.extend_from_slice(&body);
        let d = if resp { Direction::ToClient } else { Direction::ToServer };
        let rec = run(&[(Direction::ToServer, adu(1, 0, &[0x5a, 0, 2])), (d, adu(1, 0, &pdu))]);
        proptest::prop_assert!(!rec.of("message").is_empty());
    }
}
