//! Session-level tests: chunk framing, services, reassembly, security, matching.

use otwatch_core::{Direction, Transport};

use super::*;
use crate::testutil::{Recorder, feed_stream, flow};

fn s(v: &mut Vec<u8>, x: &str) {
    v.extend((x.len() as i32).to_le_bytes());
    v.extend(x.as_bytes());
}
fn u32le(v: &mut Vec<u8>, x: u32) {
    v.extend(x.to_le_bytes());
}
fn chunk(t: &[u8; 3], c: u8, body: &[u8]) -> Vec<u8> {
    let mut v = t.to_vec();
    v.push(c);
    u32le(&mut v, (body.len() + 8) as u32);
    v.extend(body);
    v
}
fn hel() -> Vec<u8> {
    let mut b = Vec::new();
    for x in [0, 65536, 65536, 0, 0] {
        u32le(&mut b, x);
    }
    s(&mut b, "opc.tcp://plc:4840");
    chunk(b"HEL", b'F', &b)
}
fn node4(v: &mut Vec<u8>, id: u16) {
    v.push(1);
    v.push(0);
    v.extend(id.to_le_bytes());
}
fn req_header(v: &mut Vec<u8>, handle: u32) {
    v.extend([0, 0]); // auth token: two-byte node id 0
    v.extend([0u8; 8]);
    u32le(v, handle);
    u32le(v, 0);
    v.extend((-1i32).to_le_bytes());
    u32le(v, 10000);
    v.extend([0, 0, 0]); // null extension object
}
fn resp_header(v: &mut Vec<u8>, handle: u32, status: u32) {
    v.extend([0u8; 8]);
    u32le(v, handle);
    u32le(v, status);
    v.push(0); // diagnostic info
    v.extend((-1i32).to_le_bytes());
    v.extend([0, 0, 0]);
}
fn opn(policy: &str, request: bool) -> Vec<u8> {
    let mut b = Vec::new();
    u32le(&mut b, if request { 0 } else { 7 });
    s(
        &mut b,
        &format!("http://opcfoundation.org/UA/SecurityPolicy#{policy}"),
    );
    b.extend((-1i32).to_le_bytes());
    b.extend((-1i32).to_le_bytes());
    u32le(&mut b, 1);
    u32le(&mut b, 1);
    if request {
        node4(&mut b, 446);
        req_header(&mut b, 0);
        u32le(&mut b, 0);
        u32le(&mut b, 0);
        u32le(&mut b, 1);
        b.extend((-1i32).to_le_bytes());
        u32le(&mut b, 3_600_000);
    } else {
        node4(&mut b, 449);
        resp_header(&mut b, 0, 0);
        u32le(&mut b, 0);
        u32le(&mut b, 7);
        u32le(&mut b, 1);
        b.extend([0u8; 8]);
        u32le(&mut b, 3_600_000);
    }
    chunk(b"OPN", b'F', &b)
}
fn msg(c: u8, request_id: u32, svc: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    u32le(&mut b, 7);
    u32le(&mut b, 1);
    u32le(&mut b, request_id + 50);
    u32le(&mut b, request_id);
    b.extend(svc);
    chunk(b"MSG", c, &b)
}
fn read_req(handle: u32, nodes: &[u16]) -> Vec<u8> {
    let mut b = Vec::new();
    node4(&mut b, 631);
    req_header(&mut b, handle);
    b.extend([0u8; 8]);
    u32le(&mut b, 2);
    u32le(&mut b, nodes.len() as u32);
    for &n in nodes {
        b.extend([1, 2]);
        b.extend(n.to_le_bytes());
        u32le(&mut b, 13);
        b.extend((-1i32).to_le_bytes());
        b.extend([0, 0]);
        b.extend((-1i32).to_le_bytes());
    }
    b
}
fn read_resp(handle: u32, status: u32) -> Vec<u8> {
    let mut b = Vec::new();
    node4(&mut b, 634);
    resp_header(&mut b, handle, status);
    u32le(&mut b, 1);
    b.extend([1, 10]); // data value: variant float
    b.extend(1.5f32.to_le_bytes());
    b.extend((-1i32).to_le_bytes());
    b
}

fn run(chunks_c: &[(&[u8], Direction)]) -> Recorder {
    let f = flow(Transport::Tcp, 4840, true);
    let mut sess = Session::default();
    let mut rec = Recorder::default();
    for (c, d) in chunks_c {
        feed_stream(&mut sess, &f, *d, &[c], &mut rec);
    }
    rec
}

const C: Direction = Direction::ToServer;
const S: Direction = Direction::ToClient;

#[test]
fn hello_ack_error_and_open_none() {
    let mut ack = Vec::new();
    for x in [0, 65536, 65536, 0, 0] {
        u32le(&mut ack, x);
    }
    let mut err = Vec::new();
    u32le(&mut err, 0x807e_0000);
    s(&mut err, "too large");
    let rec = run(&[
        (&hel(), C),
        (&chunk(b"ACK", b'F', &ack), S),
        (&opn("None", true), C),
        (&opn("None", false), S),
        (&chunk(b"ERR", b'F', &err), S),
    ]);
    let m = rec.of("message");
    assert_eq!(m.len(), 5);
    assert_eq!(m[0]["opcua"]["msg_type"], "HEL");
    assert_eq!(m[0]["opcua"]["endpoint_url"], "opc.tcp://plc:4840");
    assert_eq!(m[0]["kind"], "request");
    assert_eq!(m[1]["opcua"]["msg_type"], "ACK");
    assert_eq!(m[2]["opcua"]["security_policy"], "None");
    assert_eq!(m[2]["opcua"]["service_id"], 446);
    assert_eq!(m[2]["opcua"]["security_mode"], "None");
    assert_eq!(m[3]["opcua"]["channel_id"], 7);
    assert_eq!(m[3]["opcua"]["request_service_id"], 446);
    assert_eq!(m[4]["opcua"]["status_name"], "BadTcpMessageTooLarge");
    assert_eq!(m[4]["opcua"]["reason"], "too large");
    assert!(rec.of("malformed").is_empty());
}

#[test]
fn read_request_and_response_are_matched() {
    let rec = run(&[
        (&opn("None", true), C),
        (&msg(b'F', 5, &read_req(42, &[1001, 1002])), C),
        (&msg(b'F', 5, &read_resp(42, 0)), S),
    ]);
    let m = rec.of("message");
    let r = &m[1]["opcua"];
    assert_eq!(r["service_id"], 631);
    assert_eq!(r["service_name"], "ReadRequest");
    assert_eq!(r["request_handle"], 42);
    assert_eq!(r["count"], 2);
    assert_eq!(r["nodes_to_read"][1]["node_id"], "ns=2;i=1002");
    assert_eq!(r["nodes_to_read"][1]["attribute"], "Value");
    let p = &m[2]["opcua"];
    assert_eq!(p["service_id"], 634);
    assert_eq!(p["status"], "0x00000000");
    assert_eq!(p["request_service_id"], 631);
    assert_eq!(m[2]["kind"], "response");
}

#[test]
fn function_code_is_service_id_or_message_type() {
    let f = flow(Transport::Tcp, 4840, true);
    let mut sess = Session::default();
    struct Fc(Vec<u16>);
    impl crate::event::EventSink for Fc {
        fn on_event(&mut self, ev: &crate::event::Event<'_>) {
            if let crate::event::Event::App(a) = ev {
                self.0.push(a.msg.function_code());
            }
        }
    }
    let mut sink = Fc(vec![]);
    let mut data = hel();
    data.extend(opn("None", true));
    data.extend(msg(b'F', 5, &read_req(1, &[1])));
    data.extend(chunk(
        b"CLO",
        b'F',
        &[7, 0, 0, 0, 1, 0, 0, 0, 9, 0, 0, 0, 9, 0, 0, 0],
    ));
    let mut cx = Ctx::new(Timestamp(0), &f, C, &mut sink);
    assert_eq!(sess.on_data(&data, false, &mut cx), data.len());
    assert_eq!(sink.0, vec![1, 3, 631, 5]);
}

#[test]
fn write_browse_call_session_subscription_services() {
    let mut w = Vec::new();
    node4(&mut w, 673);
    req_header(&mut w, 3);
    u32le(&mut w, 1);
    w.extend([3, 2, 0]);
    s(&mut w, "Setpoint");
    u32le(&mut w, 13);
    w.extend((-1i32).to_le_bytes());
    w.extend([1, 11]);
    w.extend(72.5f64.to_le_bytes());

    let mut b = Vec::new();
    node4(&mut b, 527);
    req_header(&mut b, 4);
    b.extend([0, 0]);
    b.extend([0u8; 12]);
    u32le(&mut b, 0);
    u32le(&mut b, 1);
    b.extend([0, 85]); // Objects folder
    u32le(&mut b, 0);
    b.extend([0, 33]);
    b.extend([1]);
    u32le(&mut b, 0);
    u32le(&mut b, 63);

    let mut c = Vec::new();
    node4(&mut c, 712);
    req_header(&mut c, 5);
    u32le(&mut c, 1);
    c.extend([1, 2, 0x10, 0x27]);
    c.extend([1, 2, 0x11, 0x27]);
    u32le(&mut c, 1);
    c.extend([6, 1, 0, 0, 0]);

    let mut cs = Vec::new();
    node4(&mut cs, 461);
    req_header(&mut cs, 6);
    s(&mut cs, "urn:hmi:client");
    s(&mut cs, "urn:vendor:hmi");
    cs.push(2);
    s(&mut cs, "HMI Client");
    u32le(&mut cs, 1);
    cs.extend((-1i32).to_le_bytes());
    cs.extend((-1i32).to_le_bytes());
    cs.extend((-1i32).to_le_bytes());
    cs.extend((-1i32).to_le_bytes());
    s(&mut cs, "opc.tcp://plc:4840");
    s(&mut cs, "session1");

    let mut csr = Vec::new();
    node4(&mut csr, 464);
    resp_header(&mut csr, 6, 0);
    csr.extend([1, 1, 1, 0]);
    csr.extend([1, 1, 2, 0]);
    csr.extend([0u8; 8]);
    csr.extend((-1i32).to_le_bytes());
    csr.extend((-1i32).to_le_bytes());
    u32le(&mut csr, 1);
    s(&mut csr, "opc.tcp://plc:4840");
    s(&mut csr, "urn:siemens:s71500");
    s(&mut csr, "urn:siemens:product");
    csr.push(2);
    s(&mut csr, "S7-1500 OPC UA Server");
    u32le(&mut csr, 0);
    csr.extend((-1i32).to_le_bytes());
    csr.extend((-1i32).to_le_bytes());
    csr.extend((-1i32).to_le_bytes());
    csr.extend((-1i32).to_le_bytes());
    u32le(&mut csr, 1);
    s(&mut csr, "http://opcfoundation.org/UA/SecurityPolicy#None");

    let mut act = Vec::new();
    node4(&mut act, 467);
    req_header(&mut act, 7);
    act.extend((-1i32).to_le_bytes());
    act.extend((-1i32).to_le_bytes());
    u32le(&mut act, 0);
    u32le(&mut act, 0);
    node4(&mut act, 324);
    act.push(1);
    let mut tok = Vec::new();
    s(&mut tok, "user");
    s(&mut tok, "operator");
    s(&mut tok, "secret");
    tok.extend((-1i32).to_le_bytes());
    act.extend((tok.len() as i32).to_le_bytes());
    act.extend(&tok);

    let mut sub = Vec::new();
    node4(&mut sub, 787);
    req_header(&mut sub, 8);
    sub.extend(500.0f64.to_le_bytes());
    sub.extend([0u8; 14]);

    let mut publ = Vec::new();
    node4(&mut publ, 826);
    req_header(&mut publ, 9);
    u32le(&mut publ, 0);

    let rec = run(&[
        (&opn("None", true), C),
        (&msg(b'F', 10, &w), C),
        (&msg(b'F', 11, &b), C),
        (&msg(b'F', 12, &c), C),
        (&msg(b'F', 13, &cs), C),
        (&msg(b'F', 13, &csr), S),
        (&msg(b'F', 14, &act), C),
        (&msg(b'F', 15, &sub), C),
        (&msg(b'F', 16, &publ), C),
    ]);
    assert!(rec.of("malformed").is_empty(), "{:?}", rec.of("malformed"));
    let m = rec.of("message");
    let o = |i: usize| &m[i]["opcua"];
    assert_eq!(o(1)["nodes_to_write"][0]["node_id"], "ns=2;s=Setpoint");
    assert_eq!(o(2)["nodes_to_browse"][0], "i=85");
    assert_eq!(o(3)["methods_to_call"][0]["method_id"], "ns=2;i=10001");
    assert_eq!(o(4)["client_application_name"], "HMI Client");
    assert_eq!(o(4)["session_name"], "session1");
    assert_eq!(o(5)["server_application_name"], "S7-1500 OPC UA Server");
    assert_eq!(o(6)["identity_token"], "username");
    assert_eq!(o(6)["user"], "operator");
    assert!(!m[6].to_string().contains("secret"));
    assert_eq!(o(7)["publishing_interval"], 500.0);
    assert_eq!(o(8)["service_name"], "PublishRequest");
}

#[test]
fn endpoints_response_gives_identity() {
    let mut csr = Vec::new();
    node4(&mut csr, 431);
    resp_header(&mut csr, 1, 0);
    u32le(&mut csr, 1);
    s(&mut csr, "opc.tcp://plc:4840");
    s(&mut csr, "urn:plc");
    s(&mut csr, "urn:vendor:prod");
    csr.push(2);
    s(&mut csr, "PLC Server");
    u32le(&mut csr, 0);
    for _ in 0..3 {
        csr.extend((-1i32).to_le_bytes());
    }
    u32le(&mut csr, 0);
    csr.extend((-1i32).to_le_bytes());
    u32le(&mut csr, 1);
    s(&mut csr, "http://opcfoundation.org/UA/SecurityPolicy#None");
    let body = &csr;
    let sv = wire::parse_service(body).unwrap();
    let m = Message {
        header: Header {
            msg_type: MsgType::Msg,
            chunk: b'F',
            size: 0,
        },
        chunk: Chunk::Secure {
            channel_id: 1,
            asym: None,
            token_id: None,
            seq: None,
            request_id: None,
            body,
        },
        chunks: 1,
        service: Some(sv),
        policy: None,
        security_mode: None,
        encrypted: false,
        request: None,
        latency_ns: None,
    };
    let id = m.identity().unwrap();
    assert_eq!(id.model.as_deref(), Some("PLC Server"));
    assert_eq!(id.product_code.as_deref(), Some("urn:vendor:prod"));
    assert_eq!(m.function_code(), 431);
}

#[test]
fn multi_chunk_reassembled_and_abort_drops() {
    let body = read_req(77, &[1, 2, 3, 4]);
    let (a, b) = body.split_at(30);
    let rec = run(&[
        (&opn("None", true), C),
        (&msg(b'C', 20, a), C),
        (&msg(b'F', 20, b), C),
        (&msg(b'C', 21, a), C),
        (&msg(b'A', 21, &[0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]), C),
    ]);
    let m = rec.of("message");
    assert_eq!(m.len(), 3);
    assert_eq!(m[1]["opcua"]["service_id"], 631);
    assert_eq!(m[1]["opcua"]["chunks"], 2);
    assert_eq!(m[1]["opcua"]["count"], 4);
    assert_eq!(m[2]["opcua"]["chunk"], "A");
}

#[test]
fn too_many_chunks_is_malformed() {
    let mut seq: Vec<Vec<u8>> = vec![opn("None", true)];
    for _ in 0..=MAX_CHUNKS {
        seq.push(msg(b'C', 30, &[0; 16]));
    }
    let f = flow(Transport::Tcp, 4840, true);
    let mut sess = Session::default();
    let mut rec = Recorder::default();
    let parts: Vec<&[u8]> = seq.iter().map(|v| v.as_slice()).collect();
    feed_stream(&mut sess, &f, C, &parts, &mut rec);
    assert_eq!(rec.of("malformed")[0]["error"]["code"], "too_many_chunks");
}

#[test]
fn encrypted_channel_reports_unknown_service() {
    let mut o = Vec::new();
    u32le(&mut o, 0);
    s(
        &mut o,
        "http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256",
    );
    s(&mut o, "CERTIFICATE");
    s(&mut o, "thumbprint0123456789");
    o.extend([0xaa; 64]);
    let rec = run(&[
        (&chunk(b"OPN", b'F', &o), C),
        (&msg(b'F', 5, &read_req(1, &[1])), C),
    ]);
    let m = rec.of("message");
    assert_eq!(m[0]["opcua"]["security_policy"], "Basic256Sha256");
    assert_eq!(m[0]["opcua"]["sender_certificate_len"], 11);
    assert_eq!(m[1]["opcua"]["encrypted"], true);
    assert_eq!(m[1]["opcua"]["service_name"], "unknown");
    assert!(m[1]["opcua"].get("service_id").is_none());
    assert!(m[1]["opcua"].get("request_id").is_none());
}

#[test]
fn split_and_several_per_segment() {
    let f = flow(Transport::Tcp, 4840, true);
    let mut sess = Session::default();
    let mut rec = Recorder::default();
    let mut all = opn("None", true);
    all.extend(msg(b'F', 1, &read_req(1, &[1])));
    all.extend(msg(b'F', 2, &read_req(2, &[2])));
    let left = feed_stream(
        &mut sess,
        &f,
        C,
        &[&all[..5], &all[5..70], &all[70..]],
        &mut rec,
    );
    assert_eq!(left, 0);
    assert_eq!(rec.of("message").len(), 3);
}

#[test]
fn bad_size_and_garbage_resync() {
    let mut data = b"MSGF\x02\x00\x00\x00".to_vec();
    data.extend(b"garbage!");
    data.extend(hel());
    let rec = run(&[(&data, C)]);
    let mal = rec.of("malformed");
    assert_eq!(mal.len(), 1);
    assert_eq!(mal[0]["error"]["code"], "bad_message_size");
    assert_eq!(rec.of("message")[0]["opcua"]["msg_type"], "HEL");

    let bad_chunk = chunk(b"HEL", b'C', &[0; 24]);
    let rec = run(&[(&bad_chunk, C)]);
    assert_eq!(rec.of("malformed")[0]["error"]["code"], "bad_chunk_type");

    let truncated_body = chunk(b"HEL", b'F', &[0; 10]);
    let rec = run(&[(&truncated_body, C)]);
    assert_eq!(rec.of("malformed")[0]["error"]["code"], "truncated");

    let mut bad = Vec::new();
    node4(&mut bad, 631);
    bad.extend([0; 5]);
    let rec = run(&[(&opn("None", true), C), (&msg(b'F', 9, &bad), C)]);
    assert_eq!(rec.of("message")[1]["opcua"]["service_id"], 631);
    assert_eq!(rec.of("malformed")[0]["error"]["function_code"], 631);
}

#[test]
fn gap_resynchronises_on_next_chunk() {
    let f = flow(Transport::Tcp, 4840, true);
    let mut sess = Session::default();
    let mut rec = Recorder::default();
    let m1 = msg(b'F', 1, &read_req(1, &[1]));
    let mut cx = Ctx::new(Timestamp(0), &f, C, &mut rec);
    sess.on_gap(100, &mut cx);
    let mut data = m1[10..].to_vec();
    data.extend(&m1);
    let n = sess.on_data(&data, false, &mut cx);
    assert_eq!(n, data.len());
    assert_eq!(rec.of("message").len(), 1);
    assert!(rec.of("malformed").is_empty());
}

#[test]
fn pending_table_is_bounded() {
    let f = flow(Transport::Tcp, 4840, true);
    let mut sess = Session::default();
    let mut rec = Recorder::default();
    let mut cx = Ctx::new(Timestamp(0), &f, C, &mut rec);
    for i in 0..(MAX_PENDING as u32 + 10) {
        let m = msg(b'F', i, &read_req(i, &[1]));
        sess.on_data(&m, false, &mut cx);
    }
    assert_eq!(sess.unanswered, 10);
    assert_eq!(
        sess.pending.iter().filter(|p| p.is_some()).count(),
        MAX_PENDING
    );
}

#[test]
fn probe_accepts_hello_only_on_tcp() {
    assert!(probe(Transport::Tcp, &hel()));
    assert!(!probe(Transport::Udp, &hel()));
    assert!(!probe(Transport::Tcp, b"GET / HTTP/1.1\r\n\r\n"));
    assert!(!probe(Transport::Tcp, b"HELX\x20\x00\x00\x00"));
}

proptest::proptest! {
    #[test]
    fn arbitrary_streams_never_panic(
        chunks in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..96), 0..20),
        prefix in 0usize..3
    ) {
        let f = flow(Transport::Tcp, 4840, true);
        let mut sess = Session::default();
        let mut rec = Recorder::default();
        let mut all: Vec<Vec<u8>> = Vec::new();
        if prefix > 0 { all.push(opn("None", true)); }
        all.extend(chunks.iter().map(|c| {
            let mut v = b"MSGF".to_vec();
            v.extend(c);
            if prefix == 2 { v } else { c.clone() }
        }));
        let parts: Vec<&[u8]> = all.iter().map(|c| c.as_slice()).collect();
        feed_stream(&mut sess, &f, Direction::ToServer, &parts, &mut rec);
    }

    #[test]
    fn arbitrary_service_bodies_never_panic(body in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
        if let Ok(sv) = wire::parse_service(&body) {
            let _ = serde_json::to_string(&Message {
                header: Header { msg_type: MsgType::Msg, chunk: b'F', size: 0 },
                chunk: Chunk::Secure { channel_id: 1, asym: None, token_id: None, seq: None, request_id: None, body: &body },
                chunks: 1, service: Some(sv), policy: None, security_mode: None,
                encrypted: false, request: None, latency_ns: None,
            });
        }
    }
}

/// A PublishResponse whose NotificationMessage carries a DataChangeNotification
/// and an EventNotificationList with `events` event field lists.
fn publish_resp(handle: u32, events: u32) -> Vec<u8> {
    let mut b = Vec::new();
    node4(&mut b, 829);
    resp_header(&mut b, handle, 0);
    u32le(&mut b, 5); // subscription id
    u32le(&mut b, 1); // available sequence numbers
    u32le(&mut b, 3);
    b.push(0); // more notifications
    u32le(&mut b, 3); // sequence number
    b.extend([0u8; 8]); // publish time
    u32le(&mut b, 2); // notification data
    // DataChangeNotification (811) with no items.
    let mut dc = Vec::new();
    u32le(&mut dc, 0);
    u32le(&mut dc, 0);
    node4(&mut b, 811);
    b.push(1);
    u32le(&mut b, dc.len() as u32);
    b.extend(&dc);
    // EventNotificationList (916): events, each a client handle and one field.
    let mut ev = Vec::new();
    u32le(&mut ev, events);
    for i in 0..events {
        u32le(&mut ev, i);
        u32le(&mut ev, 1);
        ev.extend([1, 1]); // variant boolean true
    }
    node4(&mut b, 916);
    b.push(1);
    u32le(&mut b, ev.len() as u32);
    b.extend(&ev);
    u32le(&mut b, 0); // results
    u32le(&mut b, 0); // diagnostic infos
    b
}

#[test]
fn publish_response_counts_event_notifications() {
    let rec = run(&[
        (&opn("None", true), C),
        (&msg(b'F', 20, &publish_resp(1, 2)), S),
        (&msg(b'F', 21, &publish_resp(2, 0)), S),
    ]);
    assert!(rec.of("malformed").is_empty(), "{:?}", rec.of("malformed"));
    let m = rec.of("message");
    assert_eq!(m[1]["opcua"]["subscription_id"], 5);
    assert_eq!(m[1]["opcua"]["events"], 2);
    assert!(m[2]["opcua"].get("events").is_none());
}
