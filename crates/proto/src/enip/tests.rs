//! Session-level tests: framing, segmentation, resync, matching, every
//! command and the CIP services otwatch decodes.

use otwatch_core::{Direction, Timestamp, Transport};

use super::*;
use crate::testutil::{Recorder, feed_stream, flow};

// ---- builders -------------------------------------------------------------

fn encap(command: u16, session: u32, ctx: u64, data: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&command.to_le_bytes());
    v.extend_from_slice(&(data.len() as u16).to_le_bytes());
    v.extend_from_slice(&session.to_le_bytes());
    v.extend_from_slice(&0u32.to_le_bytes());
    v.extend_from_slice(&ctx.to_le_bytes());
    v.extend_from_slice(&0u32.to_le_bytes());
    v.extend_from_slice(data);
    v
}

fn items(items: &[(u16, &[u8])]) -> Vec<u8> {
    let mut v = (items.len() as u16).to_le_bytes().to_vec();
    for (t, d) in items {
        v.extend_from_slice(&t.to_le_bytes());
        v.extend_from_slice(&(d.len() as u16).to_le_bytes());
        v.extend_from_slice(d);
    }
    v
}

/// SendRRData command data around an unconnected CIP message.
fn rr(cip: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, 0, 0, 10, 0];
    v.extend(items(&[(0, &[]), (0xb2, cip)]));
    v
}

/// SendUnitData command data around a connected CIP message.
fn unit(conn: u32, seq: u16, cip: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, 0, 0, 0, 0];
    let mut d = seq.to_le_bytes().to_vec();
    d.extend_from_slice(cip);
    v.extend(items(&[(0xa1, &conn.to_le_bytes()), (0xb1, &d)]));
    v
}

fn req(service: u8, path: &[u8], data: &[u8]) -> Vec<u8> {
    assert!(path.len().is_multiple_of(2));
    let mut v = vec![service, (path.len() / 2) as u8];
    v.extend_from_slice(path);
    v.extend_from_slice(data);
    v
}

fn resp(service: u8, status: u8, ext: &[u16], data: &[u8]) -> Vec<u8> {
    let mut v = vec![service | 0x80, 0, status, ext.len() as u8];
    for e in ext {
        v.extend_from_slice(&e.to_le_bytes());
    }
    v.extend_from_slice(data);
    v
}

fn symbol(name: &str) -> Vec<u8> {
    let mut v = vec![0x91, name.len() as u8];
    v.extend_from_slice(name.as_bytes());
    if name.len() % 2 == 1 {
        v.push(0);
    }
    v
}

const CM_PATH: &[u8] = &[0x20, 0x06, 0x24, 0x01];

fn forward_open_data(ot: u32, to: u32, serial: u16) -> Vec<u8> {
    let mut v = vec![0x0a, 0x0e];
    v.extend_from_slice(&ot.to_le_bytes());
    v.extend_from_slice(&to.to_le_bytes());
    v.extend_from_slice(&serial.to_le_bytes());
    v.extend_from_slice(&1u16.to_le_bytes()); // vendor
    v.extend_from_slice(&0x1234_5678u32.to_le_bytes()); // originator serial
    v.extend_from_slice(&[3, 0, 0, 0]);
    v.extend_from_slice(&500_000u32.to_le_bytes());
    v.extend_from_slice(&0x43f8u16.to_le_bytes());
    v.extend_from_slice(&500_000u32.to_le_bytes());
    v.extend_from_slice(&0x43f8u16.to_le_bytes());
    v.push(0xa3);
    v.push(3);
    v.extend_from_slice(&[0x01, 0x00, 0x20, 0x02, 0x24, 0x01]);
    v
}

fn forward_open_reply(ot: u32, to: u32, serial: u16) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&ot.to_le_bytes());
    v.extend_from_slice(&to.to_le_bytes());
    v.extend_from_slice(&serial.to_le_bytes());
    v.extend_from_slice(&1u16.to_le_bytes());
    v.extend_from_slice(&0x1234_5678u32.to_le_bytes());
    v.extend_from_slice(&500_000u32.to_le_bytes());
    v.extend_from_slice(&500_000u32.to_le_bytes());
    v.extend_from_slice(&[0, 0]);
    v
}

fn identity_reply() -> Vec<u8> {
    let mut item = vec![1, 0]; // encapsulation version
    item.extend_from_slice(&[
        0x00, 0x02, 0xaf, 0x12, 10, 1, 1, 164, 0, 0, 0, 0, 0, 0, 0, 0,
    ]);
    item.extend_from_slice(&1u16.to_le_bytes()); // Rockwell
    item.extend_from_slice(&0x0eu16.to_le_bytes()); // PLC
    item.extend_from_slice(&0x0037u16.to_le_bytes());
    item.extend_from_slice(&[20, 11]);
    item.extend_from_slice(&0x0030u16.to_le_bytes());
    item.extend_from_slice(&0x00524d8eu32.to_le_bytes());
    let name = b"1756-L61/B LOGIX5561";
    item.push(name.len() as u8);
    item.extend_from_slice(name);
    item.push(3);
    items(&[(0x0c, &item)])
}

fn stream(chunks: &[&[u8]], dir: Direction) -> (Session, Recorder) {
    let f = flow(Transport::Tcp, 44818, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let left = feed_stream(&mut s, &f, dir, chunks, &mut rec);
    assert_eq!(left, 0, "{:?}", rec.events);
    (s, rec)
}

/// Feeds whole PDUs alternately in the given directions on one session.
fn exchange(pdus: &[(Direction, Vec<u8>)]) -> (Session, Recorder) {
    let f = flow(Transport::Tcp, 44818, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    for (i, (dir, p)) in pdus.iter().enumerate() {
        let mut cx = crate::Ctx::new(Timestamp(i as i64 * 1_000_000), &f, *dir, &mut rec);
        assert_eq!(s.on_data(p, false, &mut cx), p.len());
    }
    (s, rec)
}

fn datagram(port: u16, dir: Direction, data: &[u8]) -> Recorder {
    let mut f = flow(Transport::Udp, port, false);
    if port == IO_PORT {
        f.client.port = IO_PORT;
    }
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let mut cx = crate::Ctx::new(Timestamp(0), &f, dir, &mut rec);
    assert_eq!(s.on_data(data, true, &mut cx), data.len());
    rec
}

use Direction::{ToClient as C, ToServer as S};

// ---- encapsulation ----------------------------------------------------------

#[test]
fn register_session_split_across_segments() {
    let p = encap(0x65, 0, 7, &[1, 0, 0, 0]);
    let (_, rec) = stream(&[&p[..3], &p[3..20], &p[20..]], S);
    let m = rec.of("message");
    assert_eq!(m.len(), 1);
    let e = &m[0]["enip"];
    assert_eq!(e["command"], 0x65);
    assert_eq!(e["command_name"], "register_session");
    assert_eq!(e["protocol_version"], 1);
    assert_eq!(m[0]["kind"], "request");
}

#[test]
fn several_pdus_in_one_segment() {
    let mut seg = encap(0x65, 0, 1, &[1, 0, 0, 0]);
    seg.extend(encap(0x04, 0, 2, &[]));
    seg.extend(encap(0x00, 0, 0, &[]));
    seg.extend(encap(0x66, 0x1100, 0, &[]));
    let (_, rec) = stream(&[&seg], S);
    let cmds: Vec<_> = rec
        .of("message")
        .iter()
        .map(|m| m["enip"]["command"].clone())
        .collect();
    assert_eq!(cmds, vec![0x65, 0x04, 0x00, 0x66]);
    assert!(rec.of("malformed").is_empty());
}

#[test]
fn register_session_response_matched_by_context() {
    let (s, rec) = exchange(&[
        (S, encap(0x65, 0, 42, &[1, 0, 0, 0])),
        (C, encap(0x65, 0x11020100, 42, &[1, 0, 0, 0])),
    ]);
    let m = rec.of("message");
    assert_eq!(m[1]["kind"], "response");
    assert_eq!(m[1]["enip"]["session_handle"], 0x11020100u32);
    assert_eq!(m[1]["enip"]["request"]["command"], 0x65);
    assert_eq!(s.unmatched_responses, 0);
}

#[test]
fn list_identity_reply_gives_identity() {
    let p = encap(0x63, 0, 0, &identity_reply());
    let f = flow(Transport::Udp, 44818, false);
    let mut s = Session::default();
    let mut got = None;
    struct Grab<'a>(&'a mut Option<String>);
    impl crate::EventSink for Grab<'_> {
        fn on_event(&mut self, ev: &crate::Event<'_>) {
            if let crate::Event::App(a) = ev {
                let id = a.msg.identity().expect("identity");
                assert_eq!(id.subject, crate::ident::Subject::Sender);
                assert_eq!(
                    id.vendor.as_deref(),
                    Some("Rockwell Automation/Allen-Bradley")
                );
                assert_eq!(id.vendor_id, Some(1));
                assert_eq!(id.model.as_deref(), Some("1756-L61/B LOGIX5561"));
                assert_eq!(id.product_code.as_deref(), Some("55"));
                assert_eq!(id.firmware.as_deref(), Some("20.11"));
                assert_eq!(id.serial.as_deref(), Some("0x00524d8e"));
                assert_eq!(
                    id.device_class.as_deref(),
                    Some("Programmable Logic Controller")
                );
                assert_eq!(id.ip, Some("10.1.1.164".parse().unwrap()));
                *self.0 = Some("ok".into());
            }
        }
    }
    let mut g = Grab(&mut got);
    let mut cx = crate::Ctx::new(Timestamp(0), &f, C, &mut g);
    s.on_data(&p, true, &mut cx);
    assert!(got.is_some());

    let rec = datagram(44818, C, &p);
    let m = rec.of("message");
    assert_eq!(m[0]["kind"], "response");
    let id = &m[0]["enip"]["identity"];
    assert_eq!(id["vendor_id"], 1);
    assert_eq!(id["device_type"], 14);
    assert_eq!(id["device_type_name"], "Programmable Logic Controller");
    assert_eq!(id["product_code"], 55);
    assert_eq!(id["revision"], "20.11");
    assert_eq!(id["serial_number"], "0x00524d8e");
    assert_eq!(id["product_name"], "1756-L61/B LOGIX5561");
    assert_eq!(id["state"], 3);
    assert_eq!(id["socket_address"], "10.1.1.164");
    assert_eq!(id["socket_port"], 44818);
}

#[test]
fn list_identity_broadcast_request_is_a_request() {
    let rec = datagram(44818, S, &encap(0x63, 0, 0, &[]));
    let m = rec.of("message");
    assert_eq!(m.len(), 1);
    assert_eq!(m[0]["kind"], "request");
    assert_eq!(m[0]["enip"]["command_name"], "list_identity");
}

#[test]
fn list_services_and_interfaces() {
    let mut svc = vec![1, 0, 0x20, 0x01];
    svc.extend_from_slice(b"Communications\0\0");
    let (_, rec) = exchange(&[
        (S, encap(0x04, 0, 5, &[])),
        (C, encap(0x04, 0, 5, &items(&[(0x100, &svc)]))),
        (S, encap(0x64, 0, 6, &[])),
        (C, encap(0x64, 0, 6, &[0, 0])),
    ]);
    let m = rec.of("message");
    assert_eq!(m[1]["enip"]["service_name"], "Communications");
    assert_eq!(m[1]["enip"]["service_flags"], 0x120);
    assert_eq!(m[3]["kind"], "response");
    assert_eq!(m[3]["enip"]["item_count"], 0);
    assert!(rec.of("malformed").is_empty());
}

#[test]
fn legacy_list_targets_indicate_status_and_cancel_are_commands() {
    let (_, rec) = stream(
        &[&[
            encap(0x01, 0, 0, &[]),
            encap(0x72, 0, 0, &[1, 2]),
            encap(0x73, 0, 0, &[]),
        ]
        .concat()],
        S,
    );
    let m = rec.of("message");
    assert_eq!(m.len(), 3);
    assert_eq!(m[0]["enip"]["command_name"], "list_targets");
    assert_eq!(m[1]["enip"]["data"], "0102");
    assert_eq!(m[2]["enip"]["command_name"], "cancel");
}

// ---- CIP --------------------------------------------------------------------

#[test]
fn unconnected_get_attribute_single_matched_by_sender_context() {
    let path = [0x20, 0x01, 0x24, 0x01, 0x30, 0x07];
    let (s, rec) = exchange(&[
        (S, encap(0x6f, 9, 0xaa, &rr(&req(0x0e, &path, &[])))),
        (
            S,
            encap(
                0x6f,
                9,
                0xbb,
                &rr(&req(0x01, &[0x20, 0xf5, 0x24, 0x01], &[])),
            ),
        ),
        (
            C,
            encap(0x6f, 9, 0xbb, &rr(&resp(0x01, 0, &[], &[1, 2, 3]))),
        ),
        (
            C,
            encap(0x6f, 9, 0xaa, &rr(&resp(0x0e, 0, &[], b"\x05PLC-1"))),
        ),
    ]);
    let m = rec.of("message");
    let c = &m[0]["enip"]["cip"];
    assert_eq!(c["service"], 0x0e);
    assert_eq!(c["service_name"], "get_attribute_single");
    assert_eq!(c["class"], 1);
    assert_eq!(c["class_name"], "identity");
    assert_eq!(c["instance"], 1);
    assert_eq!(c["attribute"], 7);
    assert_eq!(m[0]["kind"], "request");
    assert_eq!(m[2]["kind"], "response");
    assert_eq!(m[2]["enip"]["request"]["class"], 0xf5);
    assert_eq!(m[3]["enip"]["cip"]["service"], 0x8e);
    assert_eq!(m[3]["enip"]["cip"]["status"], 0);
    assert_eq!(m[3]["enip"]["request"]["attribute"], 7);
    assert_eq!(
        m[3]["enip"]["request"]["service_name"],
        "get_attribute_single"
    );
    assert!(m[3]["enip"]["latency_us"].as_f64().unwrap() > 0.0);
    assert_eq!(s.unmatched_responses, 0);
}

#[test]
fn identity_get_attributes_all_reply_gives_identity() {
    let mut attrs = vec![
        0xf3, 0, 0x0e, 0, 0x01, 0x10, 3, 20, 0x30, 0, 0x11, 0x22, 0x33, 0x44,
    ];
    attrs.push(12);
    attrs.extend_from_slice(b"BMX P34 2020");
    let f = flow(Transport::Tcp, 44818, true);
    let mut s = Session::default();
    let mut n = 0;
    struct Grab<'a>(&'a mut usize);
    impl crate::EventSink for Grab<'_> {
        fn on_event(&mut self, ev: &crate::Event<'_>) {
            if let crate::Event::App(a) = ev
                && let Some(id) = a.msg.identity()
            {
                assert_eq!(id.source, "cip Identity Get Attributes All");
                assert_eq!(id.vendor.as_deref(), Some("Schneider Automation, Inc."));
                assert_eq!(id.model.as_deref(), Some("BMX P34 2020"));
                assert_eq!(id.firmware.as_deref(), Some("3.20"));
                assert_eq!(id.serial.as_deref(), Some("0x44332211"));
                assert_eq!(id.ip, None);
                *self.0 += 1;
            }
        }
    }
    let mut g = Grab(&mut n);
    for (dir, p) in [
        (
            S,
            encap(0x6f, 9, 1, &rr(&req(0x01, &[0x20, 0x01, 0x24, 0x01], &[]))),
        ),
        (C, encap(0x6f, 9, 1, &rr(&resp(0x01, 0, &[], &attrs)))),
    ] {
        let mut cx = crate::Ctx::new(Timestamp(0), &f, dir, &mut g);
        s.on_data(&p, false, &mut cx);
    }
    assert_eq!(n, 1);
}

#[test]
fn error_reply_carries_general_and_extended_status() {
    let (_, rec) = exchange(&[
        (
            S,
            encap(
                0x6f,
                9,
                1,
                &rr(&req(0x10, &[0x20, 0x01, 0x24, 0x01, 0x30, 0x05], &[9])),
            ),
        ),
        (
            C,
            encap(0x6f, 9, 1, &rr(&resp(0x10, 0x0e, &[0x0105, 0x0002], &[]))),
        ),
    ]);
    let c = &rec.of("message")[1]["enip"]["cip"];
    assert_eq!(c["status"], 0x0e);
    assert_eq!(c["status_name"], "attribute_not_settable");
    assert_eq!(c["extended_status"], 0x0105);
    assert_eq!(c["additional_status"], "05010200");
}

#[test]
fn forward_open_then_connected_read_tag_matched_by_connection_and_sequence() {
    let sym = symbol("Line1_Speed");
    let (s, rec) = exchange(&[
        (
            S,
            encap(
                0x6f,
                9,
                1,
                &rr(&req(0x54, CM_PATH, &forward_open_data(0, 0x8001, 77))),
            ),
        ),
        (
            C,
            encap(
                0x6f,
                9,
                1,
                &rr(&resp(0x54, 0, &[], &forward_open_reply(0x1111, 0x8001, 77))),
            ),
        ),
        (
            S,
            encap(0x70, 9, 0, &unit(0x1111, 5, &req(0x4c, &sym, &[1, 0]))),
        ),
        (
            S,
            encap(
                0x70,
                9,
                0,
                &unit(0x1111, 6, &req(0x4c, &symbol("B"), &[1, 0])),
            ),
        ),
        (
            C,
            encap(
                0x70,
                9,
                0,
                &unit(0x8001, 6, &resp(0x4c, 0, &[], &[0xc4, 0, 2, 0, 0, 0])),
            ),
        ),
        (
            C,
            encap(
                0x70,
                9,
                0,
                &unit(0x8001, 5, &resp(0x4c, 0, &[], &[0xc4, 0, 1, 0, 0, 0])),
            ),
        ),
    ]);
    let m = rec.of("message");
    let fo = &m[0]["enip"]["cip"]["forward_open"];
    assert_eq!(m[0]["enip"]["cip"]["service_name"], "forward_open");
    assert_eq!(fo["to_connection_id"], 0x8001);
    assert_eq!(fo["connection_serial"], 77);
    assert_eq!(fo["originator_serial"], 0x1234_5678);
    assert_eq!(fo["ot_rpi_us"], 500_000);
    assert_eq!(fo["transport_class"], 3);
    assert_eq!(fo["class"], 2);
    let fr = &m[1]["enip"]["cip"]["forward_open"];
    assert_eq!(fr["ot_connection_id"], 0x1111);
    assert_eq!(m[1]["enip"]["cip"]["service_name"], "forward_open");
    let r = &m[2]["enip"];
    assert_eq!(r["connection_id"], 0x1111);
    assert_eq!(r["cip_sequence_count"], 5);
    assert_eq!(r["cip"]["symbol"], "Line1_Speed");
    assert_eq!(r["cip"]["elements"], 1);
    assert_eq!(r["cip"]["service_name"], "read_tag");
    assert_eq!(m[4]["enip"]["request"]["symbol"], "B");
    assert_eq!(m[5]["enip"]["request"]["symbol"], "Line1_Speed");
    assert_eq!(m[5]["enip"]["cip"]["service_name"], "read_tag");
    assert_eq!(s.unmatched_responses, 0);
}

#[test]
fn large_forward_open_and_forward_close() {
    let mut lfo = forward_open_data(0, 0x22, 3);
    // Widen both connection parameters to 32 bits.
    lfo.splice(26..28, [0xf8, 0x43, 0, 0x42]);
    lfo.splice(34..36, [0xf8, 0x43, 0, 0x42]);
    let mut close = vec![0x0a, 0x0e];
    close.extend_from_slice(&3u16.to_le_bytes());
    close.extend_from_slice(&1u16.to_le_bytes());
    close.extend_from_slice(&0x1234_5678u32.to_le_bytes());
    close.extend_from_slice(&[3, 0, 0x01, 0x00, 0x20, 0x02, 0x24, 0x01]);
    let (_, rec) = exchange(&[
        (S, encap(0x6f, 9, 1, &rr(&req(0x5b, CM_PATH, &lfo)))),
        (S, encap(0x6f, 9, 2, &rr(&req(0x4e, CM_PATH, &close)))),
        (
            C,
            encap(
                0x6f,
                9,
                2,
                &rr(&resp(
                    0x4e,
                    0,
                    &[],
                    &[3, 0, 1, 0, 0x78, 0x56, 0x34, 0x12, 0, 0],
                )),
            ),
        ),
    ]);
    assert!(rec.of("malformed").is_empty(), "{:?}", rec.of("malformed"));
    let m = rec.of("message");
    assert_eq!(m[0]["enip"]["cip"]["service_name"], "large_forward_open");
    assert_eq!(
        m[0]["enip"]["cip"]["forward_open"]["ot_params"],
        0x4200_43f8u32
    );
    assert_eq!(m[1]["enip"]["cip"]["service_name"], "forward_close");
    assert_eq!(m[1]["enip"]["cip"]["forward_close"]["connection_serial"], 3);
    assert_eq!(m[2]["enip"]["cip"]["service_name"], "forward_close");
    assert_eq!(
        m[2]["enip"]["cip"]["forward_close"]["originator_serial"],
        0x1234_5678
    );
}

#[test]
fn multiple_service_packet_lists_embedded_services() {
    let a = req(0x03, &[0x20, 0x01, 0x24, 0x01], &[1, 0, 7, 0]);
    let b = req(0x4c, &symbol("Tank_Level"), &[1, 0]);
    let c = req(
        0x0e,
        &[0x21, 0x00, 0x34, 0x12, 0x25, 0x00, 0x01, 0x01, 0x30, 0x02],
        &[],
    );
    let mut msp = 3u16.to_le_bytes().to_vec();
    let mut off = 2 + 2 * 3;
    for x in [&a, &b, &c] {
        msp.extend_from_slice(&(off as u16).to_le_bytes());
        off += x.len();
    }
    msp.extend([a, b, c].concat());
    let ra = resp(0x03, 0, &[], &[1, 0, 7, 0, 0, 0, 1, 0]);
    let rb = resp(0x4c, 0x04, &[], &[]);
    let mut mspr = 2u16.to_le_bytes().to_vec();
    mspr.extend_from_slice(&6u16.to_le_bytes());
    mspr.extend_from_slice(&(6 + ra.len() as u16).to_le_bytes());
    mspr.extend([ra, rb].concat());
    let (_, rec) = exchange(&[
        (
            S,
            encap(
                0x70,
                9,
                0,
                &unit(0x10, 1, &req(0x0a, &[0x20, 0x02, 0x24, 0x01], &msp)),
            ),
        ),
        (
            C,
            encap(0x70, 9, 0, &unit(0x20, 1, &resp(0x0a, 0x1e, &[], &mspr))),
        ),
    ]);
    assert!(rec.of("malformed").is_empty(), "{:?}", rec.of("malformed"));
    let m = rec.of("message");
    let c = &m[0]["enip"]["cip"];
    assert_eq!(c["service_name"], "multiple_service_packet");
    assert_eq!(c["service_count"], 3);
    let s = c["services"].as_array().unwrap();
    assert_eq!(s.len(), 3);
    assert_eq!(s[0]["service_name"], "get_attribute_list");
    assert_eq!(s[0]["class"], 1);
    assert_eq!(s[1]["symbol"], "Tank_Level");
    assert_eq!(s[2]["class"], 0x1234);
    assert_eq!(s[2]["instance"], 0x0101);
    assert_eq!(s[2]["attribute"], 2);
    let r = &m[1]["enip"]["cip"];
    assert_eq!(r["status"], 0x1e);
    assert_eq!(r["service_count"], 2);
    assert_eq!(r["services"][1]["status"], 4);
    assert_eq!(r["services"][1]["service"], 0xcc);
}

#[test]
fn unconnected_send_is_unwrapped_and_its_reply_attached() {
    let inner = req(0x01, &[0x20, 0x01, 0x24, 0x01], &[]);
    let mut us = vec![0x07, 0xe9];
    us.extend_from_slice(&(inner.len() as u16).to_le_bytes());
    us.extend_from_slice(&inner);
    us.extend_from_slice(&[1, 0, 0x01, 0x02]); // route: backplane, slot 2
    let (_, rec) = exchange(&[
        (S, encap(0x6f, 9, 3, &rr(&req(0x52, CM_PATH, &us)))),
        (
            C,
            encap(0x6f, 9, 3, &rr(&resp(0x01, 0, &[], &[1, 0, 0x0e, 0]))),
        ),
    ]);
    let m = rec.of("message");
    let c = &m[0]["enip"]["cip"];
    assert_eq!(c["service_name"], "unconnected_send");
    assert_eq!(c["embedded"]["service"], 1);
    assert_eq!(c["embedded"]["service_name"], "get_attributes_all");
    assert_eq!(c["embedded"]["class"], 1);
    assert_eq!(c["embedded"]["route_port"], 1);
    assert_eq!(c["embedded"]["route_link"], "02");
    let r = &m[1]["enip"];
    assert_eq!(r["request"]["unconnected_send"], true);
    assert_eq!(r["request"]["service"], 1);
    assert_eq!(r["cip"]["service_name"], "get_attributes_all");
}

#[test]
fn read_tag_fragmented_is_0x52_off_the_connection_manager() {
    let (_, rec) = exchange(&[
        (
            S,
            encap(
                0x70,
                9,
                0,
                &unit(1, 1, &req(0x52, &symbol("Recipe"), &[10, 0, 0, 1, 0, 0])),
            ),
        ),
        (
            S,
            encap(
                0x70,
                9,
                0,
                &unit(
                    1,
                    2,
                    &req(
                        0x53,
                        &symbol("Recipe"),
                        &[0xc3, 0, 2, 0, 0, 0, 0, 0, 1, 0, 2, 0],
                    ),
                ),
            ),
        ),
        (
            S,
            encap(
                0x70,
                9,
                0,
                &unit(
                    1,
                    3,
                    &req(
                        0x4d,
                        &symbol("Setpoint"),
                        &[0xca, 0, 1, 0, 0, 0, 0x20, 0x41],
                    ),
                ),
            ),
        ),
    ]);
    let m = rec.of("message");
    let c = &m[0]["enip"]["cip"];
    assert_eq!(c["service_name"], "read_tag_fragmented");
    assert_eq!(c["elements"], 10);
    assert_eq!(c["offset"], 256);
    assert!(c.get("embedded").is_none());
    assert_eq!(m[1]["enip"]["cip"]["service_name"], "write_tag_fragmented");
    assert_eq!(m[1]["enip"]["cip"]["data_type"], 0xc3);
    assert_eq!(m[2]["enip"]["cip"]["service_name"], "write_tag");
    assert_eq!(m[2]["enip"]["cip"]["data_type"], 0xca);
}

#[test]
fn execute_pccc_decodes_the_df1_command() {
    let mut p = vec![7, 1, 0, 0x78, 0x56, 0x34, 0x12];
    p.extend_from_slice(&[0x0f, 0x00, 0x34, 0x12, 0xa2, 4, 7, 0x89, 0, 0]);
    let mut r = vec![7, 1, 0, 0x78, 0x56, 0x34, 0x12];
    r.extend_from_slice(&[0x4f, 0xf0, 0x34, 0x12, 0x10]);
    let (_, rec) = exchange(&[
        (
            S,
            encap(0x6f, 9, 4, &rr(&req(0x4b, &[0x20, 0x67, 0x24, 0x01], &p))),
        ),
        (C, encap(0x6f, 9, 4, &rr(&resp(0x4b, 0, &[], &r)))),
    ]);
    let m = rec.of("message");
    let q = &m[0]["enip"]["cip"]["pccc"];
    assert_eq!(m[0]["enip"]["cip"]["service_name"], "execute_pccc");
    assert_eq!(q["command"], 0x0f);
    assert_eq!(q["tns"], 0x1234);
    assert_eq!(q["function"], 0xa2);
    assert_eq!(q["function_name"], "protected_typed_logical_read_3");
    assert_eq!(q["requestor_serial"], 0x1234_5678);
    let a = &m[1]["enip"]["cip"]["pccc"];
    assert_eq!(a["command"], 0x4f);
    assert_eq!(a["status"], 0xf0);
    assert_eq!(a["ext_status"], 0x10);
}

#[test]
fn class_specific_service_names_depend_on_the_class() {
    use cip::service_name as n;
    assert_eq!(n(0x4d, None), "write_tag");
    assert_eq!(n(0xcd, Some(0x6b)), "write_tag");
    assert_eq!(n(0x4d, Some(0xa1)), "class_specific");
    assert_eq!(n(0x4d, Some(0x67)), "execute_local_pccc");
    assert_eq!(n(0x4b, Some(0x8e)), "class_specific");
    assert_eq!(n(0x4b, None), "execute_pccc");
    assert_eq!(n(0x52, Some(6)), "unconnected_send");
    assert_eq!(n(0x52, None), "read_tag_fragmented");
    assert_eq!(n(0x4e, Some(6)), "forward_close");
    assert_eq!(n(0x4e, None), "read_modify_write_tag");
    assert_eq!(n(0x40, Some(1)), "vendor_specific");
    assert_eq!(n(0x70, Some(1)), "reserved");
}

#[test]
fn plc_mode_changes_are_named() {
    let id = [0x20, 0x01, 0x24, 0x01];
    let (_, rec) = exchange(&[
        (S, encap(0x6f, 9, 1, &rr(&req(0x05, &id, &[1])))),
        (
            S,
            encap(0x6f, 9, 2, &rr(&req(0x06, &[0x20, 0x8e, 0x24, 0x01], &[]))),
        ),
        (
            S,
            encap(0x6f, 9, 3, &rr(&req(0x07, &[0x20, 0x8e, 0x24, 0x01], &[]))),
        ),
    ]);
    let names: Vec<_> = rec
        .of("message")
        .iter()
        .map(|m| m["enip"]["cip"]["service_name"].clone())
        .collect();
    assert_eq!(names, vec!["reset", "start", "stop"]);
}

#[test]
fn epath_segments() {
    // 32-bit instance, member, connection point, electronic key, extended port.
    let raw = [
        0x34, 0x04, 1, 0, 0x0e, 0, 0x37, 0, 0x14, 0x0b, // electronic key
        0x20, 0x04, 0x26, 0x00, 0x01, 0x00, 0x01, 0x00, 0x28, 0x05, 0x2c, 0x64,
    ];
    let p = cip::Path::parse(&raw, 0x0e).unwrap();
    assert_eq!(p.class, Some(4));
    assert_eq!(p.instance, Some(0x0001_0001));
    assert_eq!(p.member, Some(5));
    assert_eq!(p.connection_point, Some(0x64));
    let port = [
        0x12, 0x08, b'1', b'0', b'.', b'1', b'.', b'1', b'.', b'9', 0x01, 0x03,
    ];
    let p = cip::Path::parse(&port, 0x52).unwrap();
    assert_eq!(p.port, Some((2, &b"10.1.1.9"[..])));
    let odd = [
        0x12, 0x07, b'1', b'0', b'.', b'1', b'.', b'1', b'.', 0x00, 0x01, 0x03,
    ];
    assert_eq!(
        cip::Path::parse(&odd, 0x52).unwrap().port.unwrap().1,
        b"10.1.1."
    );
    assert!(cip::Path::parse(&odd[..9], 0x52).is_err());
    let p = cip::Path::parse(&[0x0f, 0x12, 0x00, 0x05], 0x52).unwrap();
    assert_eq!(p.port, Some((0x12, &[5][..])));
    let mut tag = symbol("Program:Main");
    tag.extend(symbol("Pump"));
    tag.extend_from_slice(&[0x28, 0x03]);
    let p = cip::Path::parse(&tag, 0x4c).unwrap();
    assert_eq!(p.symbols, 2);
    assert_eq!(p.symbol_text().as_deref(), Some("Program:Main.Pump[3]"));
    assert!(matches!(
        cip::Path::parse(&[0xe0, 0], 0x0e),
        Err(cip::Error::BadSegment { byte: 0xe0, .. })
    ));
    assert!(cip::Path::parse(&[0x21, 0x00, 0x01], 0x0e).is_err());
}

// ---- I/O --------------------------------------------------------------------

#[test]
fn class1_io_on_udp_2222() {
    let hexs = "02000280080003064b00db943f00b1000600a587e80f0300";
    let b: Vec<u8> = (0..hexs.len() / 2)
        .map(|i| u8::from_str_radix(&hexs[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    let rec = datagram(IO_PORT, S, &b);
    let m = rec.of("message");
    assert_eq!(m.len(), 1);
    let e = &m[0]["enip"];
    assert_eq!(e["command"], wire::cmd::IO);
    assert_eq!(e["command_name"], "io");
    assert_eq!(e["connection_id"], 0x004b0603);
    assert_eq!(e["sequence_number"], 4166875);
    assert_eq!(e["data_length"], 6);
    assert_eq!(e["data"], "a587e80f0300");
    assert_eq!(m[0]["kind"], "request");
    // Truncated I/O datagram.
    let rec = datagram(IO_PORT, C, &b[..10]);
    assert_eq!(rec.of("malformed")[0]["error"]["code"], "truncated");
}

// ---- errors and resync ---------------------------------------------------------

#[test]
fn truncated_cip_path_is_a_message_and_malformed() {
    let bad = vec![0x4c, 0x05, 0x91, 0x04, b'T'];
    let mut seg = encap(0x70, 9, 0, &unit(1, 1, &bad));
    seg.extend(encap(
        0x70,
        9,
        0,
        &unit(1, 2, &req(0x4c, &symbol("T"), &[1, 0])),
    ));
    let (_, rec) = stream(&[&seg], S);
    let bad = rec.of("malformed");
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0]["error"]["code"], "cip_truncated_path");
    assert_eq!(bad[0]["error"]["function_code"], 0x70);
    let m = rec.of("message");
    assert_eq!(m.len(), 2);
    assert_eq!(m[0]["enip"]["invalid"], true);
    assert_eq!(m[1]["enip"]["cip"]["symbol"], "T");
}

#[test]
fn error_reply_without_data_is_not_malformed() {
    let mut p = encap(0x6f, 9, 1, &[]);
    p[8] = 0x64; // invalid session handle
    let (_, rec) = stream(&[&p], C);
    assert!(rec.of("malformed").is_empty());
    let m = rec.of("message");
    assert_eq!(m[0]["enip"]["status"], 0x64);
    assert_eq!(m[0]["enip"]["status_name"], "invalid_session_handle");
}

#[test]
fn bad_cpf_item_count() {
    let mut d = rr(&req(0x0e, &[0x20, 1, 0x24, 1, 0x30, 1], &[]));
    d[6] = 5; // five items announced, two present
    let (_, rec) = stream(&[&encap(0x6f, 9, 1, &d)], S);
    let bad = rec.of("malformed");
    assert_eq!(bad[0]["error"]["code"], "bad_item_count");
    assert!(
        bad[0]["error"]["detail"]
            .as_str()
            .unwrap()
            .contains("count is 5, 2 items")
    );
    assert_eq!(rec.of("message").len(), 1);
    let mut d1 = vec![0, 0, 0, 0, 0, 0];
    d1.extend(items(&[(0, &[])]));
    let (_, rec) = stream(&[&encap(0x6f, 9, 1, &d1)], S);
    assert_eq!(rec.of("malformed")[0]["error"]["code"], "bad_item_count");
}

#[test]
fn bad_lengths() {
    // RegisterSession with 2 bytes of data.
    let mut seg = encap(0x65, 0, 1, &[1, 0]);
    seg.extend(encap(0x65, 0, 2, &[1, 0, 0, 0]));
    let (_, rec) = stream(&[&seg], S);
    assert_eq!(rec.of("malformed")[0]["error"]["code"], "bad_length");
    assert_eq!(rec.of("message").len(), 2);
    // A datagram shorter than its length field.
    let mut p = encap(0x63, 0, 0, &[]);
    p[2] = 0x40;
    let rec = datagram(44818, S, &p);
    assert_eq!(rec.of("malformed")[0]["error"]["code"], "bad_length");
    assert!(rec.of("message").is_empty());
    // A datagram with bytes after the PDU.
    let mut p = encap(0x63, 0, 0, &[]);
    p.extend_from_slice(&[1, 2]);
    let rec = datagram(44818, S, &p);
    assert_eq!(rec.of("malformed")[0]["error"]["code"], "trailing_bytes");
    assert_eq!(rec.of("message").len(), 1);
    // UnRegisterSession with data.
    let (_, rec) = stream(&[&encap(0x66, 9, 0, &[0, 0])], S);
    assert_eq!(rec.of("malformed")[0]["error"]["code"], "bad_length");
}

#[test]
fn unknown_command_is_skipped_whole() {
    let mut seg = encap(0x00ab, 9, 0, &[1, 2, 3, 4]);
    seg.extend(encap(0x65, 0, 1, &[1, 0, 0, 0]));
    let (_, rec) = stream(&[&seg], S);
    let bad = rec.of("malformed");
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0]["error"]["code"], "unknown_command");
    assert_eq!(bad[0]["error"]["function_code"], 0xab);
    assert_eq!(rec.of("message").len(), 1);
    let rec = datagram(44818, S, &encap(0x00ab, 0, 0, &[]));
    assert_eq!(rec.of("malformed")[0]["error"]["code"], "unknown_command");
}

#[test]
fn garbage_is_reported_once_and_parsing_resumes() {
    let mut seg = encap(0x65, 0, 1, &[1, 0, 0, 0]);
    seg.extend_from_slice(&[0xde; 40]);
    seg.extend(encap(0x66, 9, 0, &[]));
    let (_, rec) = stream(&[&seg], S);
    assert_eq!(rec.of("malformed").len(), 1);
    assert_eq!(rec.of("malformed")[0]["error"]["code"], "bad_header");
    assert_eq!(rec.of("message").len(), 2);
}

#[test]
fn bad_multiple_service_offsets() {
    let msp = [2, 0, 6, 0, 0xff, 0, 0x0e, 1, 0x20, 1];
    let (_, rec) = stream(
        &[&encap(
            0x70,
            9,
            0,
            &unit(1, 1, &req(0x0a, &[0x20, 2, 0x24, 1], &msp)),
        )],
        S,
    );
    assert_eq!(
        rec.of("malformed")[0]["error"]["code"],
        "cip_bad_service_offset"
    );
    let msp = [9, 0, 6, 0];
    let (_, rec) = stream(
        &[&encap(
            0x70,
            9,
            0,
            &unit(1, 1, &req(0x0a, &[0x20, 2, 0x24, 1], &msp)),
        )],
        S,
    );
    assert_eq!(
        rec.of("malformed")[0]["error"]["code"],
        "cip_bad_service_count"
    );
}

#[test]
fn mid_stream_pickup_skips_partial_pdu_silently() {
    let f = flow(Transport::Tcp, 44818, false);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let first = encap(
        0x6f,
        9,
        1,
        &rr(&req(0x0e, &[0x20, 1, 0x24, 1, 0x30, 1], &[])),
    );
    let mut seg = first[9..].to_vec();
    seg.extend(encap(0x66, 9, 0, &[]));
    feed_stream(&mut s, &f, S, &[&seg], &mut rec);
    assert!(rec.of("malformed").is_empty(), "{:?}", rec.events);
    let m = rec.of("message");
    assert_eq!(m.len(), 1);
    assert_eq!(m[0]["enip"]["command"], 0x66);
}

#[test]
fn gap_resynchronises() {
    let f = flow(Transport::Tcp, 44818, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let p = encap(
        0x6f,
        9,
        1,
        &rr(&req(0x0e, &[0x20, 1, 0x24, 1, 0x30, 1], &[])),
    );
    let mut cx = crate::Ctx::new(Timestamp(0), &f, S, &mut rec);
    assert_eq!(s.on_data(&p[..10], false, &mut cx), 0);
    s.on_gap(20, &mut cx);
    let mut seg = p[30..].to_vec();
    seg.extend(encap(0x65, 0, 2, &[1, 0, 0, 0]));
    feed_stream(&mut s, &f, S, &[&seg], &mut rec);
    assert!(rec.of("malformed").is_empty(), "{:?}", rec.events);
    assert_eq!(rec.of("message").len(), 1);
}

#[test]
fn pending_table_is_bounded() {
    let f = flow(Transport::Tcp, 44818, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    for ctx in 0..(MAX_PENDING as u64 + 10) {
        let p = encap(
            0x6f,
            9,
            ctx,
            &rr(&req(0x0e, &[0x20, 1, 0x24, 1, 0x30, 1], &[])),
        );
        feed_stream(&mut s, &f, S, &[&p], &mut rec);
    }
    assert_eq!(s.unanswered, 10);
    assert_eq!(
        s.pending.iter().filter(|p| p.is_some()).count(),
        MAX_PENDING
    );
    // An unmatched reply is counted.
    let p = encap(0x6f, 9, 999, &rr(&resp(0x0e, 0, &[], &[])));
    feed_stream(&mut s, &f, C, &[&p], &mut rec);
    assert_eq!(s.unmatched_responses, 1);
}

#[test]
fn probe_recognises_session_commands() {
    assert!(probe(Transport::Tcp, &encap(0x65, 0, 1, &[1, 0, 0, 0])));
    assert!(probe(Transport::Tcp, &encap(0x63, 0, 0, &[])));
    assert!(probe(Transport::Udp, &encap(0x63, 0, 0, &[])));
    assert!(!probe(Transport::Udp, &encap(0x65, 0, 1, &[1, 0, 0, 0])));
    assert!(!probe(
        Transport::Tcp,
        b"GET / HTTP/1.1\r\nHost: plc\r\n\r\n"
    ));
    // A NOP (all zeros) is too weak a signature.
    assert!(!probe(Transport::Tcp, &[0u8; 24]));
    assert!(!probe(
        Transport::Tcp,
        &encap(0x65, 0, 1, &[1, 0, 0, 0])[..27]
    ));
    assert!(!probe(Transport::Tcp, &encap(0x6f, 9, 1, &rr(&[0x0e, 0]))));
}

#[test]
fn second_pdu_split_across_segments() {
    let a = encap(
        0x6f,
        9,
        1,
        &rr(&req(0x0e, &[0x20, 1, 0x24, 1, 0x30, 1], &[])),
    );
    let b = encap(
        0x70,
        9,
        0,
        &unit(7, 1, &req(0x4c, &symbol("Flow_Rate"), &[1, 0])),
    );
    let all = [a.clone(), b].concat();
    let cut = a.len() + 30;
    let (_, rec) = stream(&[&all[..cut], &all[cut..cut + 5], &all[cut + 5..]], S);
    let m = rec.of("message");
    assert_eq!(m.len(), 2);
    assert_eq!(m[1]["enip"]["cip"]["symbol"], "Flow_Rate");
    assert!(rec.of("malformed").is_empty());
}

proptest::proptest! {
    #[test]
    fn arbitrary_datagrams_never_panic(
        data in proptest::collection::vec(proptest::num::u8::ANY, 0..200),
        dir in proptest::bool::ANY,
    ) {
        let dir = if dir { Direction::ToServer } else { Direction::ToClient };
        let _ = datagram(44818, dir, &data);
        let rec = datagram(IO_PORT, dir, &data);
        for r in &rec.events { let _ = r.to_string(); }
    }

    #[test]
    fn arbitrary_streams_never_panic(
        chunks in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..80), 0..20)
    ) {
        let f = flow(Transport::Tcp, 44818, true);
        let mut s = Session::default();
        let mut rec = Recorder::default();
        let refs: Vec<&[u8]> = chunks.iter().map(|c| c.as_slice()).collect();
        let left = feed_stream(&mut s, &f, Direction::ToServer, &refs, &mut rec);
        proptest::prop_assert!(left <= HEADER_LEN + MAX_UNKNOWN_LEN as usize + 0xffff);
        for r in &rec.events { let _ = r.to_string(); }
    }

    #[test]
    fn arbitrary_pdus_never_panic(
        cmd in proptest::sample::select(vec![0u16, 1, 4, 0x63, 0x64, 0x65, 0x66, 0x6f, 0x70, 0x72, 0x73]),
        body in proptest::collection::vec(proptest::num::u8::ANY, 0..120),
        seed in proptest::num::u8::ANY,
    ) {
        // Well-framed PDUs with random bodies, and random CIP inside a CPF.
        let mut cipb = body.clone();
        if let Some(b) = cipb.first_mut() { *b = seed; }
        for p in [encap(cmd, 1, 2, &body), encap(0x6f, 1, 2, &rr(&cipb)), encap(0x70, 1, 2, &unit(1, 2, &cipb))] {
            for dir in [Direction::ToServer, Direction::ToClient] {
                let f = flow(Transport::Tcp, 44818, true);
                let mut s = Session::default();
                let mut rec = Recorder::default();
                let left = feed_stream(&mut s, &f, dir, &[&p], &mut rec);
                proptest::prop_assert_eq!(left, 0);
                let _ = datagram(44818, dir, &p);
                let _ = datagram(IO_PORT, dir, &body);
            }
        }
    }
}

#[test]
fn session_state_is_small() {
    // One allocation per flow: keep it a few KiB (200k flows fit in memory).
    let n = std::mem::size_of::<Session>();
    assert!(n <= 4096, "Session is {n} bytes");
    let m = std::mem::size_of::<Message<'_>>();
    assert!(m <= 96, "Message is {m} bytes");
    eprintln!("Session {n} bytes, Message {m} bytes");
}
