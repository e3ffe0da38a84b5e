//! DNS session and wire tests.

use otwatch_core::{Direction, Timestamp, Transport};

use super::*;
use crate::testutil::{Recorder, feed_stream, flow};

/// Encodes a dotted name (no compression).
pub(crate) fn name(n: &str) -> Vec<u8> {
    let mut v = Vec::new();
    for l in n.split('.').filter(|l| !l.is_empty()) {
        v.push(l.len() as u8);
        v.extend_from_slice(l.as_bytes());
    }
    v.push(0);
    v
}

/// A query for `q`/`qtype`.
pub(crate) fn query(id: u16, q: &str, qtype: u16) -> Vec<u8> {
    let mut v = vec![];
    v.extend(id.to_be_bytes());
    v.extend([0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    v.extend(name(q));
    v.extend(qtype.to_be_bytes());
    v.extend([0, 1]);
    v
}

/// A response with one A answer using a compression pointer to the question.
pub(crate) fn response_a(id: u16, q: &str, ip: [u8; 4], rcode: u8) -> Vec<u8> {
    let mut v = vec![];
    v.extend(id.to_be_bytes());
    v.extend([
        0x81,
        0x80 | rcode,
        0,
        1,
        0,
        if rcode == 0 { 1 } else { 0 },
        0,
        0,
        0,
        0,
    ]);
    v.extend(name(q));
    v.extend([0, 1, 0, 1]);
    if rcode == 0 {
        v.extend([0xc0, 12, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4]);
        v.extend(ip);
    }
    v
}

fn udp(dir: Direction, s: &mut Session, pkts: &[&[u8]], rec: &mut Recorder) {
    let f = flow(Transport::Udp, 53, false);
    for p in pkts {
        let mut cx = Ctx::new(Timestamp(5), &f, dir, rec);
        assert_eq!(s.on_data(p, true, &mut cx), p.len());
    }
}

#[test]
fn query_and_response_match() {
    let mut s = Session::default();
    let mut rec = Recorder::default();
    udp(
        Direction::ToServer,
        &mut s,
        &[&query(0x1234, "plc1.plant.local", 1)],
        &mut rec,
    );
    udp(
        Direction::ToClient,
        &mut s,
        &[&response_a(0x1234, "plc1.plant.local", [10, 10, 1, 21], 0)],
        &mut rec,
    );
    let m = rec.of("message");
    assert_eq!(m.len(), 2);
    assert_eq!(m[0]["kind"], "request");
    assert_eq!(m[0]["dns"]["query"], "plc1.plant.local");
    assert_eq!(m[0]["dns"]["qtype_name"], "A");
    assert_eq!(m[1]["kind"], "response");
    assert_eq!(m[1]["dns"]["answers"][0]["data"], "10.10.1.21");
    assert_eq!(m[1]["dns"]["answers"][0]["name"], "plc1.plant.local");
    assert_eq!(m[1]["dns"]["latency_ns"], 0);
    assert_eq!(s.core.unmatched_responses, 0);
}

#[test]
fn nxdomain_and_unmatched() {
    let mut s = Session::default();
    let mut rec = Recorder::default();
    udp(
        Direction::ToClient,
        &mut s,
        &[&response_a(9, "nope.local", [0; 4], 3)],
        &mut rec,
    );
    let m = rec.of("message");
    assert_eq!(m[0]["dns"]["rcode_name"], "NXDOMAIN");
    assert_eq!(s.core.unmatched_responses, 1);
}

#[test]
fn record_types_summarised() {
    // PTR, MX, TXT, SRV, CNAME, AAAA, NS, SOA answers.
    let mut v = vec![0, 7, 0x85, 0x00, 0, 1, 0, 8, 0, 0, 0, 0];
    v.extend(name("x.local"));
    v.extend([0, 255, 0, 1]);
    let mut rr = |t: u16, data: &[u8]| {
        v.extend([0xc0, 12]);
        v.extend(t.to_be_bytes());
        v.extend([0, 1, 0, 0, 0, 60]);
        v.extend((data.len() as u16).to_be_bytes());
        v.extend(data);
    };
    rr(12, &name("host.local"));
    let mut mx = vec![0, 10];
    mx.extend([0xc0, 12]);
    rr(15, &mx);
    rr(16, b"\x05hello\x05world");
    let mut srv = vec![0, 1, 0, 2, 0x01, 0xbb];
    srv.extend(name("srv.local"));
    rr(33, &srv);
    rr(5, &[0xc0, 12]);
    rr(
        28,
        &[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    );
    rr(2, &name("ns1.local"));
    let mut soa = name("ns1.local");
    soa.extend(name("admin.local"));
    soa.extend([0, 0, 0, 42, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1]);
    rr(6, &soa);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    udp(Direction::ToClient, &mut s, &[&v], &mut rec);
    let a = &rec.of("message")[0]["dns"]["answers"];
    let data: Vec<_> = a
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["data"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        data,
        [
            "host.local",
            "10 x.local",
            "hello world",
            "1 2 443 srv.local",
            "x.local",
            "2001:db8::1",
            "ns1.local",
            "ns1.local admin.local 42"
        ]
    );
    assert_eq!(rec.of("message")[0]["dns"]["aa"], true);
    assert_eq!(rec.of("malformed").len(), 0);
}

#[test]
fn pointer_loop_is_malformed() {
    let mut v = vec![0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    v.extend([0xc0, 12, 0, 1, 0, 1]);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    udp(Direction::ToServer, &mut s, &[&v], &mut rec);
    // The header is sound: a message (with the type after the pointer) and a malformed event.
    assert_eq!(rec.of("message").len(), 1);
    assert_eq!(rec.of("message")[0]["dns"]["qdcount"], 1);
    assert!(rec.of("message")[0]["dns"].get("query").is_none());
    assert_eq!(wire::parse(&v).0.unwrap().qtype(), 1);
    let b = rec.of("malformed");
    assert_eq!(b[0]["error"]["function_code"], 1);
    assert_eq!(b[0]["error"]["code"], "pointer_loop");
    // Two-step loop: a label then a pointer back to it.
    let mut v = vec![0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    v.extend([1, b'a', 0xc0, 12, 0, 1, 0, 1]);
    assert_eq!(wire::parse(&v).1, Err(Error::PointerLoop(12)));
    // Forward pointer, bad label type, truncated name, too long.
    let mut v = vec![0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    v.extend([0xc0, 40, 0, 1, 0, 1]);
    assert_eq!(
        wire::parse(&v).1,
        Err(Error::BadPointer { at: 12, target: 40 })
    );
    // A pointer out of the message leaves the type unknown (as tshark).
    assert_eq!(wire::parse(&v).0.unwrap().qtype(), 0);
    let mut v = vec![0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    v.extend([0x41, 0, 0, 1]);
    assert_eq!(wire::parse(&v).1, Err(Error::BadLabelType(12, 0x41)));
    let mut v = vec![0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    v.extend([5, b'a']);
    assert_eq!(wire::parse(&v).1, Err(Error::NameTruncated(12)));
    let mut v = vec![0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for _ in 0..5 {
        v.push(63);
        v.extend([b'a'; 63]);
    }
    v.extend([0, 0, 1, 0, 1]);
    assert_eq!(wire::parse(&v).1, Err(Error::NameTooLong(12)));
    assert_eq!(wire::parse(&[1, 2, 3]).1, Err(Error::ShortHeader(3)));
}

#[test]
fn truncated_answer_is_message_and_malformed() {
    let mut r = response_a(3, "a.b", [1, 2, 3, 4], 0);
    r.truncate(r.len() - 2);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    udp(Direction::ToClient, &mut s, &[&r], &mut rec);
    assert_eq!(rec.of("message").len(), 1);
    assert_eq!(rec.of("malformed")[0]["error"]["code"], "record_truncated");
}

fn tcp(m: &[u8]) -> Vec<u8> {
    let mut v = (m.len() as u16).to_be_bytes().to_vec();
    v.extend(m);
    v
}

#[test]
fn tcp_split_and_several_per_segment() {
    let f = flow(Transport::Tcp, 53, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let mut seg = tcp(&query(1, "a.local", 1));
    seg.extend(tcp(&query(2, "b.local", 28)));
    let third = tcp(&query(3, "c.local", 12));
    seg.extend(&third[..5]);
    let left = feed_stream(
        &mut s,
        &f,
        Direction::ToServer,
        &[&seg, &third[5..]],
        &mut rec,
    );
    assert_eq!(left, 0);
    let q: Vec<_> = rec
        .of("message")
        .iter()
        .map(|m| m["dns"]["qtype"].as_u64().unwrap())
        .collect();
    assert_eq!(q, [1, 28, 12]);
}

#[test]
fn tcp_bad_length_and_gap_resync() {
    let f = flow(Transport::Tcp, 53, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    feed_stream(
        &mut s,
        &f,
        Direction::ToServer,
        &[&[0, 3, 1, 2, 3]],
        &mut rec,
    );
    assert_eq!(rec.of("malformed")[0]["error"]["code"], "bad_length");
    // Garbage is skipped until a segment starts with a sound message.
    feed_stream(&mut s, &f, Direction::ToServer, &[&[9, 9, 9]], &mut rec);
    feed_stream(
        &mut s,
        &f,
        Direction::ToServer,
        &[&tcp(&query(4, "d.local", 1))],
        &mut rec,
    );
    assert_eq!(rec.of("message").len(), 1);
    let mut cx = Ctx::new(Timestamp(0), &f, Direction::ToServer, &mut rec);
    s.on_gap(10, &mut cx);
    feed_stream(&mut s, &f, Direction::ToServer, &[&[0x55; 30]], &mut rec);
    feed_stream(
        &mut s,
        &f,
        Direction::ToServer,
        &[&tcp(&query(5, "e.local", 1))],
        &mut rec,
    );
    assert_eq!(rec.of("message").len(), 2);
    assert_eq!(rec.of("malformed").len(), 1);
}

#[test]
fn probe_is_strict() {
    assert!(probe(Transport::Udp, &query(1, "x.example.com", 1)));
    assert!(!probe(Transport::Udp, &response_a(1, "x", [1; 4], 0)));
    assert!(!probe(Transport::Udp, &[0; 12]));
    assert!(!probe(Transport::Udp, b"GET / HTTP/1.1\r\n"));
}

#[test]
fn mdns_identity() {
    // mDNS announcement: A record plc-7.local -> 10.10.1.7.
    let mut v = vec![0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0];
    v.extend(name("plc-7.local"));
    v.extend([0, 1, 0x80, 1, 0, 0, 0, 120, 0, 4, 10, 10, 1, 7]);
    let (m, r) = wire::parse(&v);
    assert!(r.is_ok());
    let msg = Message {
        flavor: Flavor::Mdns,
        msg: m.unwrap(),
        latency_ns: None,
    };
    let id = msg.identity().unwrap();
    assert_eq!(id.hostname.as_deref(), Some("plc-7"));
    assert_eq!(id.ip, Some("10.10.1.7".parse().unwrap()));
    assert_eq!(msg.function_code(), 0);
    let dns = Message {
        flavor: Flavor::Dns,
        ..msg
    };
    assert!(dns.identity().is_none());
}

proptest::proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(
        chunks in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..80), 0..20)
    ) {
        let f = flow(Transport::Tcp, 53, true);
        let mut s = Session::default();
        let mut rec = Recorder::default();
        let refs: Vec<&[u8]> = chunks.iter().map(|c| c.as_slice()).collect();
        let left = feed_stream(&mut s, &f, Direction::ToServer, &refs, &mut rec);
        proptest::prop_assert!(left < 65538);
        for c in &chunks {
            let (m, _) = wire::parse(c);
            if let Some(m) = m {
                for (_, r) in m.records() { let _ = wire::rdata_text(c, &r); }
                let msg = Message { flavor: Flavor::Mdns, msg: m, latency_ns: None };
                let _ = msg.identity();
            }
        }
        let fu = flow(Transport::Udp, 53, false);
        for c in &chunks {
            let mut cx = Ctx::new(Timestamp(0), &fu, Direction::ToClient, &mut rec);
            s.on_data(c, true, &mut cx);
        }
    }
}
