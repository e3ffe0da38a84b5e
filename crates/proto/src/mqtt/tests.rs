//! Session-level tests: packets, segmentation, versions, resync, large PUBLISH.

use otwatch_core::{Direction, Timestamp, Transport};

use super::*;
use crate::testutil::{Recorder, feed_stream, flow};

fn pkt(b0: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![b0];
    let mut n = body.len();
    loop {
        let mut c = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            c |= 0x80;
        }
        v.push(c);
        if n == 0 {
            break;
        }
    }
    v.extend(body);
    v
}
fn st(v: &mut Vec<u8>, s: &str) {
    v.extend((s.len() as u16).to_be_bytes());
    v.extend(s.as_bytes());
}
fn connect(level: u8, user: Option<&str>, will: Option<&str>) -> Vec<u8> {
    let mut b = Vec::new();
    st(&mut b, "MQTT");
    b.push(level);
    let mut flags = 2;
    if will.is_some() {
        flags |= 0x04 | 0x08;
    }
    if user.is_some() {
        flags |= 0xc0;
    }
    b.push(flags);
    b.extend(60u16.to_be_bytes());
    if level == 5 {
        b.extend([5, 0x11, 0, 0, 0, 10]);
    }
    st(&mut b, "gw-01");
    if let Some(w) = will {
        if level == 5 {
            b.push(0);
        }
        st(&mut b, w);
        st(&mut b, "offline");
    }
    if let Some(u) = user {
        st(&mut b, u);
        st(&mut b, "hunter2");
    }
    pkt(0x10, &b)
}
fn publish(qos: u8, topic: &str, payload: &[u8], v5: bool) -> Vec<u8> {
    let mut b = Vec::new();
    st(&mut b, topic);
    if qos > 0 {
        b.extend(7u16.to_be_bytes());
    }
    if v5 {
        b.extend([2, 1, 1]);
    }
    b.extend(payload);
    pkt(0x30 | (qos << 1), &b)
}

fn run(parts: &[(&[u8], Direction)]) -> Recorder {
    let f = flow(Transport::Tcp, 1883, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    for (p, d) in parts {
        feed_stream(&mut s, &f, *d, &[p], &mut rec);
    }
    rec
}
const C: Direction = Direction::ToServer;
const S: Direction = Direction::ToClient;

#[test]
fn connect_connack_publish_subscribe_v311() {
    let mut sub = 3u16.to_be_bytes().to_vec();
    st(&mut sub, "plant/+/temp");
    sub.push(1);
    st(&mut sub, "#");
    sub.push(0);
    let mut unsub = 4u16.to_be_bytes().to_vec();
    st(&mut unsub, "#");
    let rec = run(&[
        (&connect(4, Some("gateway"), Some("status/gw-01")), C),
        (&pkt(0x20, &[1, 0]), S),
        (&publish(1, "plant/line1/temp", b"21.5", false), C),
        (&pkt(0x40, &[0, 7]), S),
        (&pkt(0x82, &sub), C),
        (&pkt(0x90, &[0, 3, 1, 0x80]), S),
        (&pkt(0xa2, &unsub), C),
        (&pkt(0xb0, &[0, 4]), S),
        (&pkt(0xc0, &[]), C),
        (&pkt(0xd0, &[]), S),
        (&pkt(0xe0, &[]), C),
    ]);
    assert!(rec.of("malformed").is_empty(), "{:?}", rec.of("malformed"));
    let m = rec.of("message");
    let o = |i: usize| &m[i]["mqtt"];
    assert_eq!(m.len(), 11);
    assert_eq!(o(0)["client_id"], "gw-01");
    assert_eq!(o(0)["username"], "gateway");
    assert_eq!(o(0)["password_present"], true);
    assert!(!m[0].to_string().contains("hunter2"));
    assert_eq!(o(0)["will_topic"], "status/gw-01");
    assert_eq!(o(0)["clean_session"], true);
    assert_eq!(o(1)["session_present"], true);
    assert_eq!(o(1)["return_code"], 0);
    assert_eq!(o(2)["topic"], "plant/line1/temp");
    assert_eq!(o(2)["qos"], 1);
    assert_eq!(o(2)["packet_id"], 7);
    assert_eq!(o(2)["payload_len"], 4);
    assert_eq!(o(2)["version"], 4);
    assert_eq!(o(4)["topics"][1]["topic"], "#");
    assert_eq!(o(4)["topics"][0]["qos"], 1);
    assert_eq!(o(5)["return_codes"], serde_json::json!([1, 128]));
    assert_eq!(o(6)["topics"][0], "#");
    assert_eq!(o(8)["msg_name"], "PINGREQ");
    assert_eq!(o(10)["msg_name"], "DISCONNECT");
    assert_eq!(m[1]["kind"], "response");
}

#[test]
fn v5_properties_are_skipped() {
    let mut ack = vec![0, 0];
    ack.extend([3, 0x22, 0, 10]);
    let mut sub = 3u16.to_be_bytes().to_vec();
    sub.push(0);
    st(&mut sub, "a/b");
    sub.push(2);
    let rec = run(&[
        (&connect(5, None, Some("will")), C),
        (&pkt(0x20, &ack), S),
        (&publish(2, "x/y", b"abc", true), C),
        (&pkt(0x50, &[0, 7, 0x10, 0]), S),
        (&pkt(0x62, &[0, 7]), C),
        (&pkt(0x70, &[0, 7, 0]), S),
        (&pkt(0x82, &sub), C),
        (&pkt(0xe0, &[0x8e, 0]), S),
        (&pkt(0xf0, &[0x18, 0]), C),
    ]);
    assert!(rec.of("malformed").is_empty(), "{:?}", rec.of("malformed"));
    let m = rec.of("message");
    assert_eq!(m.len(), 9);
    assert_eq!(m[0]["mqtt"]["version"], 5);
    assert_eq!(m[2]["mqtt"]["payload_len"], 3);
    assert_eq!(m[3]["mqtt"]["return_code"], 0x10);
    assert_eq!(m[6]["mqtt"]["topics"][0]["topic"], "a/b");
    assert_eq!(m[7]["mqtt"]["return_code"], 0x8e);
    assert_eq!(m[8]["mqtt"]["msg_name"], "AUTH");
}

#[test]
fn split_and_several_per_segment() {
    let f = flow(Transport::Tcp, 1883, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let mut all = connect(4, None, None);
    all.extend(publish(0, "a", b"1", false));
    all.extend(publish(0, "b", b"2", false));
    all.extend(pkt(0xc0, &[]));
    let left = feed_stream(
        &mut s,
        &f,
        C,
        &[&all[..1], &all[1..13], &all[13..]],
        &mut rec,
    );
    assert_eq!(left, 0);
    assert_eq!(rec.of("message").len(), 4);
}

#[test]
fn errors_are_malformed_and_parsing_goes_on() {
    // Reserved type 0, bad flags on SUBSCRIBE, bad protocol name, bad remaining length.
    let mut bad_name = Vec::new();
    st(&mut bad_name, "XXXX");
    bad_name.extend([4, 2, 0, 60, 0, 0]);
    let rec = run(&[
        (&pkt(0x00, &[]), C),
        (&pkt(0x80, &[0, 1, 0, 1, b'a', 0]), C),
        (&pkt(0x10, &bad_name), C),
        (&pkt(0xd0, &[1]), S),
        (&pkt(0xc0, &[]), C),
    ]);
    let codes: Vec<_> = rec
        .of("malformed")
        .iter()
        .map(|m| m["error"]["code"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        codes,
        [
            "reserved_type",
            "bad_flags",
            "bad_protocol_name",
            "trailing_bytes"
        ]
    );
    assert_eq!(rec.of("message").len(), 5);

    let rec = run(&[(&[0x30, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xc0, 0x00], C)]);
    assert_eq!(
        rec.of("malformed")[0]["error"]["code"],
        "bad_remaining_length"
    );
    assert_eq!(
        rec.of("message").last().unwrap()["mqtt"]["msg_name"],
        "PINGREQ"
    );
}

#[test]
fn large_publish_reported_from_head_and_skipped() {
    let big = publish(0, "camera/jpeg", &vec![0x55; 100_000], false);
    let f = flow(Transport::Tcp, 1883, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let mut parts: Vec<&[u8]> = big.chunks(1460).collect();
    let ping = pkt(0xc0, &[]);
    parts.push(&ping);
    let left = feed_stream(&mut s, &f, C, &parts, &mut rec);
    assert_eq!(left, 0);
    let m = rec.of("message");
    assert_eq!(m.len(), 2);
    assert_eq!(m[0]["mqtt"]["topic"], "camera/jpeg");
    assert_eq!(m[0]["mqtt"]["payload_len"], 100_000);
    assert_eq!(m[1]["mqtt"]["msg_name"], "PINGREQ");
}

#[test]
fn gap_and_midstream_resync() {
    let f = flow(Transport::Tcp, 1883, false);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let p = publish(0, "plant/a", b"12345", false);
    let mut data = p[3..].to_vec();
    data.extend(&p);
    data.extend(&p);
    let mut cx = Ctx::new(Timestamp(0), &f, C, &mut rec);
    s.on_data(&data, false, &mut cx);
    assert_eq!(rec.of("message").len(), 2);
    assert!(rec.of("malformed").is_empty());

    let f = flow(Transport::Tcp, 1883, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let mut cx = Ctx::new(Timestamp(0), &f, C, &mut rec);
    s.on_gap(10, &mut cx);
    s.on_data(&data, false, &mut cx);
    assert_eq!(rec.of("message").len(), 2);
}

#[test]
fn probe_needs_a_connect() {
    assert!(probe(Transport::Tcp, &connect(4, None, None)));
    assert!(!probe(Transport::Tcp, &pkt(0xc0, &[])));
    assert!(!probe(Transport::Udp, &connect(4, None, None)));
    assert!(!probe(Transport::Tcp, b"\x10\x0cGET / HTTP/1"));
}

proptest::proptest! {
    #[test]
    fn arbitrary_streams_never_panic(
        chunks in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..64), 0..20)
    ) {
        let f = flow(Transport::Tcp, 1883, true);
        let mut s = Session::default();
        let mut rec = Recorder::default();
        let parts: Vec<&[u8]> = chunks.iter().map(|c| c.as_slice()).collect();
        feed_stream(&mut s, &f, Direction::ToServer, &parts, &mut rec);
    }
}
