//! BACnet/IP tests: BVLC functions, NPDU routing, every APDU type, the
//! common services, segmentation, identity and error paths.

use otwatch_core::{Direction, Timestamp, Transport};

use super::*;
use crate::testutil::{Recorder, flow};

fn bvlc(function: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![0x81, function];
    v.extend_from_slice(&((body.len() + 4) as u16).to_be_bytes());
    v.extend_from_slice(body);
    v
}

/// Original-Unicast-NPDU with a plain NPDU (no routing).
fn unicast(apdu: &[u8]) -> Vec<u8> {
    let mut n = vec![0x01, 0x04];
    n.extend_from_slice(apdu);
    bvlc(0x0a, &n)
}

fn broadcast(apdu: &[u8]) -> Vec<u8> {
    let mut n = vec![0x01, 0x00];
    n.extend_from_slice(apdu);
    bvlc(0x0b, &n)
}

fn objid(t: u16, inst: u32) -> [u8; 4] {
    (((t as u32) << 22) | inst).to_be_bytes()
}

fn ctx_obj(n: u8, t: u16, inst: u32) -> Vec<u8> {
    let mut v = vec![(n << 4) | 0x08 | 4];
    v.extend(objid(t, inst));
    v
}

fn ctx_uint(n: u8, x: u32) -> Vec<u8> {
    let b = x.to_be_bytes();
    let skip = b.iter().position(|&c| c != 0).unwrap_or(3);
    let d = &b[skip..];
    let mut v = vec![(n << 4) | 0x08 | d.len() as u8];
    v.extend_from_slice(d);
    v
}

fn app_obj(t: u16, inst: u32) -> Vec<u8> {
    let mut v = vec![0xC4];
    v.extend(objid(t, inst));
    v
}

fn app_uint(x: u32) -> Vec<u8> {
    let b = x.to_be_bytes();
    let skip = b.iter().position(|&c| c != 0).unwrap_or(3);
    let d = &b[skip..];
    let mut v = vec![0x20 | d.len() as u8];
    v.extend_from_slice(d);
    v
}

fn app_enum(x: u8) -> Vec<u8> {
    vec![0x91, x]
}

fn app_str(s: &str) -> Vec<u8> {
    let mut v = vec![0x75, (s.len() + 1) as u8, 0];
    v.extend_from_slice(s.as_bytes());
    v
}

fn run(dir: Direction, dgrams: &[&[u8]]) -> Recorder {
    let f = flow(Transport::Udp, 47808, false);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    for (i, d) in dgrams.iter().enumerate() {
        let mut cx = Ctx::new(Timestamp(i as i64), &f, dir, &mut rec);
        assert_eq!(s.on_data(d, true, &mut cx), d.len());
    }
    rec
}

fn one(dir: Direction, d: &[u8]) -> serde_json::Value {
    let rec = run(dir, &[d]);
    let m = rec.of("message");
    assert_eq!(m.len(), 1, "{:?}", rec.events);
    m[0].clone()
}

#[test]
fn who_is_and_i_am_with_identity() {
    let mut who = vec![0x10, 0x08];
    who.extend(ctx_uint(0, 100));
    who.extend(ctx_uint(1, 200));
    let m = one(Direction::ToServer, &broadcast(&who));
    let b = &m["bacnet"];
    assert_eq!(b["function_code"], 256 + 8);
    assert_eq!(b["service_name"], "who-Is");
    assert_eq!(b["range_low"], 100);
    assert_eq!(b["range_high"], 200);
    assert_eq!(m["kind"], "request");

    let mut iam = vec![0x10, 0x00];
    iam.extend(app_obj(8, 1234));
    iam.extend(app_uint(1476));
    iam.extend(app_enum(0));
    iam.extend(app_uint(5));
    let d = broadcast(&iam);
    let b = one(Direction::ToServer, &d)["bacnet"].clone();
    assert_eq!(b["device_instance"], 1234);
    assert_eq!(b["vendor_id"], 5);
    assert_eq!(b["vendor_name"], "Johnson Controls, Inc.");
    assert_eq!(b["segmentation"], "segmented-both");
    assert_eq!(b["max_apdu_accepted"], 1476);

    let (bv, nb) = wire::parse_bvlc(&d).unwrap();
    let (np, ab) = wire::parse_npdu(nb.unwrap()).unwrap();
    let (h, sd) = wire::parse_apdu_header(ab).unwrap();
    let msg = Message {
        bvlc: Some(bv),
        npdu: Some(np),
        apdu: Some(h),
        segments: 0,
        service_data: sd,
    };
    let id = msg.identity().unwrap();
    assert_eq!(id.subject, Subject::Sender);
    assert_eq!(id.vendor_id, Some(5));
    assert_eq!(id.vendor.as_deref(), Some("Johnson Controls, Inc."));
}

#[test]
fn read_property_request_and_ack_with_device_identity() {
    let mut req = vec![0x00, 0x05, 0x11, 0x0c];
    req.extend(ctx_obj(0, 8, 1234));
    req.extend(ctx_uint(1, 121));
    let m = one(Direction::ToServer, &unicast(&req));
    let b = &m["bacnet"];
    assert_eq!(b["function_code"], 12);
    assert_eq!(b["pdu_name"], "Confirmed-REQ");
    assert_eq!(b["service_name"], "readProperty");
    assert_eq!(b["invoke_id"], 0x11);
    assert_eq!(b["object_type"], 8);
    assert_eq!(b["object_type_name"], "device");
    assert_eq!(b["instance"], 1234);
    assert_eq!(b["property"], 121);
    assert_eq!(b["property_name"], "vendor-name");
    assert_eq!(b["max_apdu"], 1476);

    let mut ack = vec![0x30, 0x11, 0x0c];
    ack.extend(ctx_obj(0, 8, 1234));
    ack.extend(ctx_uint(1, 121));
    ack.push(0x3e);
    ack.extend(app_str("Acme Controls"));
    ack.push(0x3f);
    let m = one(Direction::ToClient, &unicast(&ack));
    let b = &m["bacnet"];
    assert_eq!(b["function_code"], 3 * 256 + 12);
    assert_eq!(b["value"], "Acme Controls");
    assert_eq!(b["device_properties"]["vendor_name"], "Acme Controls");
    assert_eq!(m["kind"], "response");

    let d = unicast(&ack);
    let (bv, nb) = wire::parse_bvlc(&d).unwrap();
    let (np, ab) = wire::parse_npdu(nb.unwrap()).unwrap();
    let (h, sd) = wire::parse_apdu_header(ab).unwrap();
    let msg = Message {
        bvlc: Some(bv),
        npdu: Some(np),
        apdu: Some(h),
        segments: 0,
        service_data: sd,
    };
    let id = msg.identity().unwrap();
    assert_eq!(id.vendor.as_deref(), Some("Acme Controls"));
    assert_eq!(id.source, "bacnet ReadProperty");
}

#[test]
fn read_property_multiple_ack_collects_device_properties() {
    let mut req = vec![0x00, 0x05, 0x01, 0x0e];
    req.extend(ctx_obj(0, 8, 7));
    req.push(0x1e);
    for p in [77u32, 70, 44, 12] {
        req.extend(ctx_uint(0, p));
    }
    req.push(0x1f);
    let b = one(Direction::ToServer, &unicast(&req))["bacnet"].clone();
    assert_eq!(b["service_name"], "readPropertyMultiple");
    assert_eq!(b["objects"], 1);
    assert_eq!(b["properties"], 4);
    assert_eq!(b["property"], 77);

    let mut ack = vec![0x30, 0x01, 0x0e];
    ack.extend(ctx_obj(0, 8, 7));
    ack.push(0x1e);
    for (p, v) in [
        (77u32, "AHU-1"),
        (70, "DSC-1212E"),
        (44, "1.2.3"),
        (12, "4.5"),
    ] {
        ack.extend(ctx_uint(2, p));
        ack.push(0x4e);
        ack.extend(app_str(v));
        ack.push(0x4f);
    }
    ack.push(0x1f);
    let b = one(Direction::ToClient, &unicast(&ack))["bacnet"].clone();
    let p = &b["device_properties"];
    assert_eq!(p["object_name"], "AHU-1");
    assert_eq!(p["model_name"], "DSC-1212E");
    assert_eq!(p["firmware_revision"], "1.2.3");
    assert_eq!(p["application_software_version"], "4.5");
    assert_eq!(b["value"], "AHU-1");
}

#[test]
fn write_property_with_priority_and_wpm() {
    let mut req = vec![0x00, 0x05, 0x02, 0x0f];
    req.extend(ctx_obj(0, 1, 3));
    req.extend(ctx_uint(1, 85));
    req.push(0x3e);
    req.extend([0x44, 0x42, 0x28, 0x00, 0x00]); // real 42.0
    req.push(0x3f);
    req.extend(ctx_uint(4, 8));
    let b = one(Direction::ToServer, &unicast(&req))["bacnet"].clone();
    assert_eq!(b["service_name"], "writeProperty");
    assert_eq!(b["object_type_name"], "analog-output");
    assert_eq!(b["property_name"], "present-value");
    assert_eq!(b["priority"], 8);
    assert_eq!(b["value"], 42.0);

    let mut wpm = vec![0x00, 0x05, 0x03, 0x10];
    wpm.extend(ctx_obj(0, 4, 1));
    wpm.push(0x1e);
    wpm.extend(ctx_uint(0, 85));
    wpm.push(0x2e);
    wpm.extend(app_enum(1));
    wpm.push(0x2f);
    wpm.extend(ctx_uint(3, 1));
    wpm.push(0x1f);
    let b = one(Direction::ToServer, &unicast(&wpm))["bacnet"].clone();
    assert_eq!(b["service_name"], "writePropertyMultiple");
    assert_eq!(b["priority"], 1);
    assert_eq!(b["value"], 1);

    let ack = one(Direction::ToClient, &unicast(&[0x20, 0x03, 0x10]));
    assert_eq!(ack["bacnet"]["function_code"], 2 * 256 + 16);
    assert_eq!(ack["bacnet"]["pdu_name"], "SimpleACK");
}

#[test]
fn reinitialize_and_dcc() {
    let mut req = vec![0x00, 0x05, 0x04, 0x14];
    req.extend(ctx_uint(0, 1));
    req.extend([0x1d, 0x04, 0x00, b'a', b'b', b'c']);
    let b = one(Direction::ToServer, &unicast(&req))["bacnet"].clone();
    assert_eq!(b["service_name"], "reinitializeDevice");
    assert_eq!(b["state_name"], "warmstart");
    assert_eq!(b["password"], true);

    let mut req = vec![0x00, 0x05, 0x05, 0x11];
    req.extend(ctx_uint(0, 60));
    req.extend(ctx_uint(1, 1));
    let b = one(Direction::ToServer, &unicast(&req))["bacnet"].clone();
    assert_eq!(b["service_name"], "deviceCommunicationControl");
    assert_eq!(b["duration_minutes"], 60);
    assert_eq!(b["state_name"], "disable");
    assert_eq!(b["password"], false);
}

#[test]
fn atomic_file_services() {
    let mut rd = vec![0x00, 0x05, 0x06, 0x06];
    rd.extend(app_obj(10, 1));
    rd.push(0x0e);
    rd.extend([0x31, 0x00]);
    rd.extend(app_uint(512));
    rd.push(0x0f);
    let b = one(Direction::ToServer, &unicast(&rd))["bacnet"].clone();
    assert_eq!(b["service_name"], "atomicReadFile");
    assert_eq!(b["object_type_name"], "file");
    assert_eq!(b["file_access"], "stream");
    assert_eq!(b["file_start"], 0);
    assert_eq!(b["file_count"], 512);

    let mut ack = vec![0x30, 0x06, 0x06, 0x11];
    ack.push(0x0e);
    ack.extend([0x31, 0x00, 0x65, 0x03, 1, 2, 3]);
    ack.push(0x0f);
    let b = one(Direction::ToClient, &unicast(&ack))["bacnet"].clone();
    assert_eq!(b["end_of_file"], true);
    assert_eq!(b["file_data_len"], 3);

    let mut wr = vec![0x00, 0x05, 0x07, 0x07];
    wr.extend(app_obj(10, 2));
    wr.push(0x0e);
    wr.extend([0x31, 0x10, 0x62, 9, 9]);
    wr.push(0x0f);
    let b = one(Direction::ToServer, &unicast(&wr))["bacnet"].clone();
    assert_eq!(b["service_name"], "atomicWriteFile");
    assert_eq!(b["file_start"], 16);
    assert_eq!(b["file_data_len"], 2);
}

#[test]
fn subscribe_cov_and_notifications() {
    let mut req = vec![0x00, 0x05, 0x08, 0x05];
    req.extend(ctx_uint(0, 18));
    req.extend(ctx_obj(1, 0, 4));
    req.extend([0x29, 0x01]);
    req.extend(ctx_uint(3, 300));
    let b = one(Direction::ToServer, &unicast(&req))["bacnet"].clone();
    assert_eq!(b["service_name"], "subscribeCOV");
    assert_eq!(b["process_id"], 18);
    assert_eq!(b["confirmed_notifications"], true);
    assert_eq!(b["lifetime"], 300);

    let mut n = vec![0x10, 0x02];
    n.extend(ctx_uint(0, 18));
    n.extend(ctx_obj(1, 8, 77));
    n.extend(ctx_obj(2, 0, 4));
    n.extend(ctx_uint(3, 250));
    n.push(0x4e);
    n.extend(ctx_uint(0, 85));
    n.push(0x2e);
    n.extend([0x44, 0x41, 0xa0, 0, 0]);
    n.push(0x2f);
    n.extend(ctx_uint(0, 111));
    n.push(0x2e);
    n.extend([0x82, 0x04, 0x00]);
    n.push(0x2f);
    n.push(0x4f);
    let b = one(Direction::ToClient, &unicast(&n))["bacnet"].clone();
    assert_eq!(b["service_name"], "unconfirmedCOVNotification");
    assert_eq!(b["device_instance"], 77);
    assert_eq!(b["instance"], 4);
    assert_eq!(b["properties"], 2);
    assert_eq!(b["value"], 20.0);
}

#[test]
fn who_has_i_have_and_time_sync() {
    let mut wh = vec![0x10, 0x07];
    wh.extend([0x3d, 0x05, 0x00, b'Z', b'o', b'n', b'e']);
    let b = one(Direction::ToServer, &broadcast(&wh))["bacnet"].clone();
    assert_eq!(b["service_name"], "who-Has");
    assert_eq!(b["object_name"], "Zone");

    let mut ih = vec![0x10, 0x01];
    ih.extend(app_obj(8, 5));
    ih.extend(app_obj(0, 9));
    ih.extend(app_str("Zone"));
    let b = one(Direction::ToServer, &broadcast(&ih))["bacnet"].clone();
    assert_eq!(b["device_instance"], 5);
    assert_eq!(b["instance"], 9);

    let ts = [0x10, 0x06, 0xa4, 124, 6, 10, 1, 0xb4, 12, 30, 0, 0];
    let b = one(Direction::ToServer, &broadcast(&ts))["bacnet"].clone();
    assert_eq!(b["service_name"], "timeSynchronization");
    assert_eq!(b["date"], "2024-06-10");
    assert_eq!(b["time"], "12:30:00.00");
}

#[test]
fn error_reject_abort_segment_ack() {
    let b = one(
        Direction::ToClient,
        &unicast(&[0x50, 0x07, 0x0c, 0x91, 0x02, 0x91, 0x20]),
    )["bacnet"]
        .clone();
    assert_eq!(b["function_code"], 5 * 256 + 12);
    assert_eq!(b["error_class_name"], "property");
    assert_eq!(b["error_code_name"], "unknown-property");

    let b = one(Direction::ToClient, &unicast(&[0x60, 0x07, 0x09]))["bacnet"].clone();
    assert_eq!(b["function_code"], 6 * 256);
    assert_eq!(b["reason_name"], "unrecognized-service");

    let b = one(Direction::ToClient, &unicast(&[0x71, 0x07, 0x04]))["bacnet"].clone();
    assert_eq!(b["function_code"], 7 * 256);
    assert_eq!(b["server"], true);
    assert_eq!(b["reason_name"], "segmentation-not-supported");

    let m = one(Direction::ToServer, &unicast(&[0x42, 0x07, 0x03, 0x04]));
    assert_eq!(m["bacnet"]["function_code"], 4 * 256);
    assert_eq!(m["bacnet"]["nak"], true);
    assert_eq!(m["kind"], "response");
}

#[test]
fn npdu_routing_and_network_messages() {
    // Routed I-Am: DNET 0xffff broadcast, SNET 5 / SADR 0x21, hop count 255.
    let mut n = vec![0x01, 0x28, 0xff, 0xff, 0x00, 0x00, 0x05, 0x01, 0x21, 0xff];
    n.extend([0x10, 0x00]);
    n.extend(app_obj(8, 21));
    n.extend(app_uint(480));
    n.extend(app_enum(3));
    n.extend(app_uint(24));
    let m = one(Direction::ToServer, &bvlc(0x0b, &n));
    let np = &m["bacnet"]["npdu"];
    assert_eq!(np["dnet"], 65535);
    assert_eq!(np["snet"], 5);
    assert_eq!(np["sadr"], "21");
    assert_eq!(np["hop_count"], 255);

    // Who-Is-Router-To-Network and I-Am-Router-To-Network.
    let m = one(Direction::ToServer, &bvlc(0x0b, &[0x01, 0x80, 0x00]));
    assert_eq!(m["bacnet"]["function_code"], 0xF000);
    assert_eq!(
        m["bacnet"]["network_message_name"],
        "Who-Is-Router-To-Network"
    );
    assert_eq!(m["kind"], "request");
    let m = one(
        Direction::ToServer,
        &bvlc(0x0b, &[0x01, 0x80, 0x01, 0x00, 0x05]),
    );
    assert_eq!(m["bacnet"]["function_code"], 0xF001);
    assert_eq!(m["kind"], "response");
}

#[test]
fn bvlc_only_functions_and_forwarded_npdu() {
    let m = one(Direction::ToServer, &bvlc(0x05, &[0x00, 0x3c]));
    assert_eq!(m["bacnet"]["function_code"], 0xE005);
    assert_eq!(m["bacnet"]["ttl"], 60);
    let m = one(Direction::ToClient, &bvlc(0x00, &[0x00, 0x30]));
    assert_eq!(m["bacnet"]["result_code"], 0x30);
    assert_eq!(m["kind"], "response");
    let m = one(Direction::ToServer, &bvlc(0x02, &[]));
    assert_eq!(m["bacnet"]["function_code"], 0xE002);

    let mut f = vec![10, 0, 0, 9, 0xba, 0xc0, 0x01, 0x00, 0x10, 0x08];
    f.truncate(10);
    let m = one(Direction::ToServer, &bvlc(0x04, &f));
    assert_eq!(m["bacnet"]["origin"], "10.0.0.9:47808");
    assert_eq!(m["bacnet"]["service_name"], "who-Is");
}

#[test]
fn segmented_complex_ack_is_reassembled() {
    let mut full = Vec::new();
    full.extend(ctx_obj(0, 8, 1));
    full.extend(ctx_uint(1, 77));
    full.push(0x3e);
    full.extend(app_str("Very-long-device-name-split-over-segments"));
    full.push(0x3f);
    let parts = [&full[..10], &full[10..30], &full[30..]];
    let mut dgrams = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let more = i + 1 < parts.len();
        let mut a = vec![0x38 | if more { 0x04 } else { 0 }, 0x21, i as u8, 2, 0x0c];
        a.extend_from_slice(p);
        dgrams.push(unicast(&a));
    }
    let refs: Vec<&[u8]> = dgrams.iter().map(|d| d.as_slice()).collect();
    let rec = run(Direction::ToClient, &refs);
    let m = rec.of("message");
    assert_eq!(m.len(), 1);
    let b = &m[0]["bacnet"];
    assert_eq!(b["segments"], 3);
    assert_eq!(b["function_code"], 3 * 256 + 12);
    assert_eq!(
        b["device_properties"]["object_name"],
        "Very-long-device-name-split-over-segments"
    );
    assert_eq!(rec.of("malformed").len(), 0);
}

#[test]
fn segment_errors_and_limits() {
    let seg = |seq: u8, more: bool| {
        unicast(&[
            0x08 | if more { 0x04 } else { 0 },
            0x05,
            0x09,
            seq,
            4,
            0x0e,
            0x09,
            0x01,
        ])
    };
    // Out of order: 0 then 2.
    let rec = run(Direction::ToServer, &[&seg(0, true), &seg(2, false)]);
    assert_eq!(rec.of("message").len(), 0);
    assert_eq!(
        rec.of("malformed")[0]["error"]["code"],
        "segment_out_of_order"
    );
    // Retransmitted segment is ignored; the message completes.
    let rec = run(
        Direction::ToServer,
        &[&seg(0, true), &seg(0, true), &seg(1, false)],
    );
    assert_eq!(rec.of("message").len(), 1);
    assert_eq!(rec.of("message")[0]["bacnet"]["segments"], 2);
    // Orphan last segment: nothing reported.
    let rec = run(Direction::ToServer, &[&seg(3, false)]);
    assert_eq!(rec.events.len(), 0);
    // More than MAX_REASSEMBLIES concurrent messages: the oldest is evicted.
    let f = flow(Transport::Udp, 47808, false);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    for iid in 0..(MAX_REASSEMBLIES as u8 + 1) {
        let d = unicast(&[0x0c, 0x05, iid, 0, 4, 0x0e, 0x09, 0x01]);
        let mut cx = Ctx::new(Timestamp(iid as i64), &f, Direction::ToServer, &mut rec);
        s.on_data(&d, true, &mut cx);
    }
    assert_eq!(s.dropped_reassemblies, 1);
    // Size limit.
    let mut s = Session::default();
    let big = vec![0u8; 1400];
    let mut n = 0;
    for seq in 0..=60u8 {
        let mut a = vec![0x0c, 0x05, 0x33, seq, 4, 0x0e];
        a.extend_from_slice(&big);
        let d = unicast(&a);
        let mut cx = Ctx::new(Timestamp(seq as i64), &f, Direction::ToServer, &mut rec);
        s.on_data(&d, true, &mut cx);
        n += 1;
    }
    assert!(n > 0);
    assert!(
        rec.of("malformed")
            .iter()
            .any(|e| e["error"]["code"] == "segmented_message_too_large")
    );
}

#[test]
fn reassembly_budget_is_per_flow() {
    // Two messages of 30 segments × 1400 octets each: together beyond 64 KiB.
    let f = flow(Transport::Udp, 47808, false);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let big = vec![0u8; 1400];
    for seq in 0..30u8 {
        for iid in [1u8, 2] {
            let mut a = vec![0x0c, 0x05, iid, seq, 4, 0x0e];
            a.extend_from_slice(&big);
            let d = unicast(&a);
            let mut cx = Ctx::new(Timestamp(seq as i64), &f, Direction::ToServer, &mut rec);
            s.on_data(&d, true, &mut cx);
        }
    }
    let held: usize = s
        .reasm
        .iter()
        .filter(|r| r.active)
        .map(|r| r.buf.len())
        .sum();
    assert!(held <= MAX_REASSEMBLY_BYTES);
    assert!(
        rec.of("malformed")
            .iter()
            .any(|e| e["error"]["code"] == "segmented_message_too_large")
    );
}

#[test]
fn malformed_datagrams() {
    let cases: &[(&[u8], &str)] = &[
        (&[0x82, 0x0a, 0x00, 0x04], "bad_bvlc_type"),
        (&[0x81, 0x0d, 0x00, 0x04], "unknown_bvlc_function"),
        (&[0x81, 0x00, 0x00, 0x04], "truncated_bvlc"),
        (&[0x81, 0x0a, 0x00, 0x06, 0x02, 0x00], "bad_npdu_version"),
        (
            &[0x81, 0x0a, 0x00, 0x07, 0x01, 0x20, 0x00],
            "truncated_npdu",
        ),
        (
            &[0x81, 0x0a, 0x00, 0x07, 0x01, 0x04, 0x00],
            "truncated_apdu",
        ),
        (
            &[0x81, 0x0a, 0x00, 0x08, 0x01, 0x04, 0x90, 0x00],
            "bad_pdu_type",
        ),
        (&[0x81, 0x03], "bad_bvlc_length"),
    ];
    for (d, code) in cases {
        let rec = run(Direction::ToServer, &[d]);
        assert_eq!(rec.of("message").len(), 0, "{code}");
        assert_eq!(rec.of("malformed")[0]["error"]["code"], *code);
    }
    // A tag running past the end: message plus malformed.
    let rec = run(
        Direction::ToServer,
        &[&unicast(&[0x00, 0x05, 0x01, 0x0c, 0x0c, 0x02])],
    );
    assert_eq!(rec.of("message").len(), 1);
    assert_eq!(rec.of("malformed")[0]["error"]["code"], "bad_tag");
    // BVLC length disagreeing with the datagram: dissected, and malformed.
    let mut d = unicast(&[0x10, 0x08]);
    d[3] += 3;
    let rec = run(Direction::ToServer, &[&d]);
    assert_eq!(rec.of("message").len(), 1);
    assert_eq!(rec.of("malformed")[0]["error"]["code"], "bad_bvlc_length");
}

#[test]
fn ethernet_llc_frames() {
    let f = flow(Transport::L2, 0, false);
    let mut rec = Recorder::default();
    let mut cx = Ctx::new(Timestamp(0), &f, Direction::ToServer, &mut rec);
    let mut frame = LLC_HEADER.to_vec();
    frame.extend([0x01, 0x00, 0x10, 0x08]);
    assert!(is_llc_frame(&frame));
    on_frame(&frame, &mut cx);
    let m = rec.of("message");
    assert_eq!(m[0]["bacnet"]["function_code"], 256 + 8);
    assert_eq!(m[0]["bacnet"]["link"], "ethernet-llc");
}

#[test]
fn probe_is_strict() {
    assert!(probe(Transport::Udp, &broadcast(&[0x10, 0x08])));
    assert!(!probe(Transport::Tcp, &broadcast(&[0x10, 0x08])));
    let mut d = broadcast(&[0x10, 0x08]);
    d[3] = 0x20;
    assert!(!probe(Transport::Udp, &d));
    assert!(!probe(
        Transport::Udp,
        &[0x81, 0x0a, 0x00, 0x06, 0x02, 0x00]
    ));
    assert!(!probe(Transport::Udp, b"\x81\x0a\x00\x05x"));
}

proptest::proptest! {
    #[test]
    fn arbitrary_datagrams_never_panic(
        d in proptest::collection::vec(proptest::num::u8::ANY, 0..200),
        prefix in 0usize..4,
    ) {
        let mut v = match prefix {
            0 => vec![],
            1 => vec![0x81, 0x0a],
            2 => vec![0x81, 0x0a, 0x00, (d.len() + 4) as u8, 0x01, 0x00],
            _ => vec![0x81, 0x0b, 0x00, (d.len() + 4) as u8, 0x01, 0x00, 0x00, 0x05],
        };
        v.extend(&d);
        let rec = run(Direction::ToServer, &[&v]);
        let _ = rec;
        let _ = probe(Transport::Udp, &v);
    }
}
