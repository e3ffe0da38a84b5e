//! DCP frame tests: identify, hello, get, set, blocks, identity, errors.

use otwatch_core::{Direction, Timestamp, Transport};

use super::*;
use crate::testutil::{Recorder, flow};

fn block(v: &mut Vec<u8>, opt: u8, sub: u8, data: &[u8]) {
    v.extend([opt, sub]);
    v.extend((data.len() as u16).to_be_bytes());
    v.extend(data);
    if data.len() % 2 == 1 {
        v.push(0);
    }
}
fn frame(id: u16, svc: u8, ty: u8, blocks: &[u8]) -> Vec<u8> {
    let mut v = id.to_be_bytes().to_vec();
    v.extend([svc, ty]);
    v.extend(0x1234_5678u32.to_be_bytes());
    v.extend(1u16.to_be_bytes());
    v.extend((blocks.len() as u16).to_be_bytes());
    v.extend(blocks);
    v.extend([0; 6]); // Ethernet padding
    v
}
fn identify_response() -> Vec<u8> {
    let mut b = Vec::new();
    block(&mut b, 2, 2, b"\x00\x00plc-line1");
    block(&mut b, 2, 1, b"\x00\x00S7-1500");
    block(&mut b, 2, 3, &[0, 0, 0x00, 0x2a, 0x01, 0x0e]);
    block(&mut b, 2, 4, &[0, 0, 2, 0]);
    block(
        &mut b,
        1,
        2,
        &[0, 1, 10, 10, 1, 50, 255, 255, 255, 0, 10, 10, 1, 1],
    );
    frame(wire::IDENTIFY_RESP, 5, 1, &b)
}
fn run(frames: &[Vec<u8>]) -> Recorder {
    let f = flow(Transport::L2, 0, false);
    let mut rec = Recorder::default();
    for fr in frames {
        let mut cx = Ctx::new(Timestamp(0), &f, Direction::ToServer, &mut rec);
        on_frame(fr, &mut cx);
    }
    rec
}

#[test]
fn identify_request_and_response() {
    let mut filter = Vec::new();
    block(&mut filter, 0xff, 0xff, &[]);
    let rec = run(&[
        frame(wire::IDENTIFY_REQ, 5, 0, &filter),
        identify_response(),
    ]);
    let m = rec.of("message");
    assert_eq!(m.len(), 2);
    assert_eq!(m[0]["kind"], "request");
    assert_eq!(m[0]["profinet_dcp"]["blocks"][0], "all_selector");
    assert_eq!(m[0]["profinet_dcp"]["response_delay"], 1);
    let r = &m[1]["profinet_dcp"];
    assert_eq!(m[1]["kind"], "response");
    assert_eq!(r["name_of_station"], "plc-line1");
    assert_eq!(r["type_of_station"], "S7-1500");
    assert_eq!(r["vendor_id"], 42);
    assert_eq!(r["device_id"], 0x010e);
    assert_eq!(r["ip"], "10.10.1.50");
    assert_eq!(r["netmask"], "255.255.255.0");
    assert_eq!(r["gateway"], "10.10.1.1");
    assert_eq!(r["xid"], 0x1234_5678);
}

#[test]
fn identity_and_function_code() {
    let fr = identify_response();
    let m = Message {
        frame: wire::parse(&fr).unwrap(),
    };
    assert_eq!(m.function_code(), 5 * 256 + 1);
    let id = m.identity().unwrap();
    assert_eq!(id.subject, Subject::Sender);
    assert_eq!(id.hostname.as_deref(), Some("plc-line1"));
    assert_eq!(id.model.as_deref(), Some("S7-1500"));
    assert_eq!(id.vendor_id, Some(42));
    assert_eq!(id.ip, Some("10.10.1.50".parse().unwrap()));
    assert_eq!(id.device_class.as_deref(), Some("profinet io controller"));
}

#[test]
fn set_get_hello_and_control() {
    let mut set = Vec::new();
    block(&mut set, 2, 2, b"\x00\x01new-name");
    block(&mut set, 5, 3, &[0, 0, 1, 0]);
    let mut set_resp = Vec::new();
    block(&mut set_resp, 5, 4, &[2, 2, 0]);
    let get = frame(wire::GET_SET, 3, 0, &[2, 2, 1, 2]);
    let mut hello = Vec::new();
    block(&mut hello, 2, 2, b"\x00\x00io-dev-7");
    let rec = run(&[
        frame(wire::GET_SET, 4, 0, &set),
        frame(wire::GET_SET, 4, 1, &set_resp),
        get,
        frame(wire::HELLO, 6, 0, &hello),
    ]);
    let m = rec.of("message");
    assert!(rec.of("malformed").is_empty());
    assert_eq!(m[0]["profinet_dcp"]["name_of_station"], "new-name");
    assert_eq!(m[0]["profinet_dcp"]["control"], "control_signal");
    assert_eq!(m[1]["profinet_dcp"]["blocks"][0], "control_response");
    assert_eq!(m[2]["profinet_dcp"]["blocks"][1], "ip_parameter");
    assert_eq!(m[3]["profinet_dcp"]["name_of_station"], "io-dev-7");
    let fr = frame(wire::GET_SET, 4, 0, &set);
    let msg = Message {
        frame: wire::parse(&fr).unwrap(),
    };
    assert_eq!(msg.identity().unwrap().subject, Subject::Receiver);
}

#[test]
fn malformed_frames() {
    let mut overrun = frame(wire::IDENTIFY_RESP, 5, 1, &[2, 2, 0, 40, 0, 0]);
    overrun.truncate(18);
    let rec = run(&[
        vec![0xfe, 0xfe, 5],
        frame(wire::IDENTIFY_RESP, 9, 1, &[]),
        overrun,
        {
            let mut v = frame(wire::IDENTIFY_REQ, 5, 0, &[]);
            v[10] = 0x10;
            v.truncate(14);
            v
        },
    ]);
    let codes: Vec<_> = rec
        .of("malformed")
        .iter()
        .map(|m| m["error"]["code"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        codes,
        [
            "short_frame",
            "bad_service_id",
            "block_overrun",
            "bad_data_length"
        ]
    );
}

#[test]
fn ptcp_frame_ids_go_to_rt() {
    let rec = run(&[vec![0xff, 0x40, 0, 0, 0, 0, 0, 0]]);
    let m = rec.of("message");
    assert_eq!(m[0]["proto"], "profinet_rt");
    assert_eq!(m[0]["profinet_rt"]["class"], "ptcp");
}

proptest::proptest! {
    #[test]
    fn arbitrary_frames_never_panic(mut b in proptest::collection::vec(proptest::num::u8::ANY, 0..120), id in 0xfefcu16..=0xfeff) {
        if b.len() >= 2 { b[..2].copy_from_slice(&id.to_be_bytes()); }
        let rec = run(&[b]);
        for m in rec.of("message") { let _ = m.to_string(); }
    }
}
