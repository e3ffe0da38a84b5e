//! Syslog tests.

use otwatch_core::{Direction, Timestamp, Transport};

use super::*;
use crate::testutil::{Recorder, feed_stream, flow};

fn udp(p: &[u8]) -> Recorder {
    let f = flow(Transport::Udp, 514, false);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let mut cx = Ctx::new(Timestamp(0), &f, Direction::ToServer, &mut rec);
    s.on_data(p, true, &mut cx);
    rec
}

#[test]
fn rfc3164() {
    let r =
        udp(b"<34>Oct 11 22:14:15 plc-gw su[231]: 'su root' failed for lonvick on /dev/pts/8\n");
    let m = &r.of("message")[0];
    assert_eq!(m["kind"], "request");
    let s = &m["syslog"];
    assert_eq!(s["facility"], 4);
    assert_eq!(s["severity_name"], "crit");
    assert_eq!(s["hostname"], "plc-gw");
    assert_eq!(s["app_name"], "su");
    assert_eq!(s["procid"], "231");
    assert_eq!(s["format"], 3164);
    assert!(s["message"].as_str().unwrap().starts_with("'su root'"));
    let p = parse(b"<34>Oct 11 22:14:15 plc-gw su: x").unwrap();
    assert_eq!(p.function_code(), 34);
    assert_eq!(p.identity().unwrap().hostname.as_deref(), Some("plc-gw"));
    assert!(
        parse(b"<34>Oct 11 22:14:15 10.1.1.1 su: x")
            .unwrap()
            .identity()
            .is_none()
    );
}

#[test]
fn rfc5424() {
    let r = udp(b"<165>1 2003-10-11T22:14:15.003Z scada01.plant evntslog 77 ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"App\"] An application event");
    let s = &r.of("message")[0]["syslog"];
    assert_eq!(s["format"], 5424);
    assert_eq!(s["hostname"], "scada01.plant");
    assert_eq!(s["app_name"], "evntslog");
    assert_eq!(s["procid"], "77");
    assert_eq!(s["msgid"], "ID47");
    assert_eq!(s["message"], "An application event");
    let p = parse(b"<13>1 - - - - - - hi").unwrap();
    assert_eq!((p.hostname, p.msg), (None, &b"hi"[..]));
}

#[test]
fn errors() {
    assert_eq!(udp(b"hello").of("malformed")[0]["error"]["code"], "no_pri");
    assert_eq!(
        udp(b"<999>x").of("malformed")[0]["error"]["code"],
        "bad_pri"
    );
    assert_eq!(udp(b"<ab>x").of("malformed")[0]["error"]["code"], "bad_pri");
}

#[test]
fn tcp_framing() {
    let f = flow(Transport::Tcp, 601, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let a = b"<13>1 - h1 app - - - one";
    let mut seg = format!("{} ", a.len()).into_bytes();
    seg.extend(a);
    seg.extend(b"<14>Oct  1 10:00:00 h2 app: two\n<15>Oct  1 10:00:01 h3 app: thr");
    let left = feed_stream(&mut s, &f, Direction::ToServer, &[&seg, b"ee\n"], &mut rec);
    assert_eq!(left, 0);
    let h: Vec<_> = rec
        .of("message")
        .iter()
        .map(|m| m["syslog"]["hostname"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(h, ["h1", "h2", "h3"]);
    // Gap: skip to the next newline.
    let mut cx = Ctx::new(Timestamp(0), &f, Direction::ToServer, &mut rec);
    s.on_gap(5, &mut cx);
    feed_stream(
        &mut s,
        &f,
        Direction::ToServer,
        &[b"tail of old\n<13>Oct  1 10:00:02 h4 a: x\n"],
        &mut rec,
    );
    assert_eq!(rec.of("message").len(), 4);
    // Oversized octet count.
    feed_stream(
        &mut s,
        &f,
        Direction::ToServer,
        &[b"999999 x\n<13>Oct  1 10:00:02 h5 a: x\n"],
        &mut rec,
    );
    assert_eq!(rec.of("malformed")[0]["error"]["code"], "too_long");
    assert_eq!(rec.of("message").len(), 5);
}

#[test]
fn probe_is_strict() {
    assert!(probe(Transport::Udp, b"<13>Oct  1 10:00:02 h5 a: x"));
    assert!(!probe(Transport::Udp, b"<13>hello"));
    assert!(!probe(Transport::Tcp, b"<13>Oct  1 10:00:02 h5 a: x"));
}

proptest::proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(
        chunks in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..64), 0..20)
    ) {
        let f = flow(Transport::Tcp, 601, true);
        let mut s = Session::default();
        let mut rec = Recorder::default();
        let refs: Vec<&[u8]> = chunks.iter().map(|c| c.as_slice()).collect();
        let left = feed_stream(&mut s, &f, Direction::ToServer, &refs, &mut rec);
        proptest::prop_assert!(left <= MAX_MESSAGE + 8);
        for c in &chunks { let _ = udp(c); if let Ok(m) = parse(c) { let _ = m.identity(); } }
    }
}
