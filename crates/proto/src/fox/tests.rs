//! Fox session tests.

use otwatch_core::{Direction, Timestamp, Transport};

use super::*;
use crate::testutil::{Recorder, feed_stream, flow};

const CLIENT_HELLO: &[u8] = b"fox a 1 -1 fox hello\n{\nfox.version=s:1.0\nid=i:1\n};;\n";
const STATION_HELLO: &[u8] = b"fox a 0 -1 fox hello\n{\nfox.version=s:1.0\nid=i:1\nhostName=s:192.168.1.20\nhostAddress=s:192.168.1.20\napp.name=s:Station\napp.version=s:4.4.73.24\nvm.name=s:Java HotSpot(TM) Embedded Client VM\nvm.version=s:25.40-b27\nos.name=s:QNX\nos.version=s:6.5.0\nstation.name=s:AHU_Building_7\nlang=s:en\ntimeZone=s:America/New_York;-18000000;3600000;02:00:00.000,wall,march,8,+sun,na,02:00:00.000,wall,november,1,+sun,na\nhostId=s:Qnx-JVLN-0000-05A1-7B22\nbrandId=s:vykon\nsysInfo=o:bog 61[<bog version=\"1.0\">]\n};;\n";

fn run(chunks: &[(Direction, &[u8])]) -> Recorder {
    let f = flow(Transport::Tcp, 1911, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    for (d, b) in chunks {
        feed_stream(&mut s, &f, *d, &[b], &mut rec);
    }
    rec
}

#[test]
fn hello_exchange_and_identity() {
    let rec = run(&[
        (Direction::ToServer, CLIENT_HELLO),
        (Direction::ToClient, STATION_HELLO),
        (
            Direction::ToServer,
            b"fox a 2 -1 fox challenge\n{\nuser=s:admin\n};;\n",
        ),
        (
            Direction::ToServer,
            b"fox a 3 -1 fox authenticate\n{\nresp=s:00ff\n};;\n",
        ),
        (Direction::ToServer, b"fox a 4 -1 fox close\n{\n};;\n"),
    ]);
    let m = rec.of("message");
    assert_eq!(m.len(), 5);
    assert_eq!(m[0]["kind"], "request");
    assert_eq!(m[1]["kind"], "response");
    assert_eq!(m[1]["fox"]["station.name"], "AHU_Building_7");
    assert!(m[1]["fox"]["timeZone"].as_str().unwrap().len() > 10);
    assert_eq!(m[2]["fox"]["function"], "challenge");
    assert_eq!(m[3]["fox"]["function"], "authenticate");
    assert_eq!(m[4]["fox"]["function"], "other");
    let f = wire::parse(STATION_HELLO).unwrap();
    let msg = Message { frame: f };
    assert_eq!(msg.function_code(), 1);
    let id = msg.identity().unwrap();
    assert_eq!(id.hostname.as_deref(), Some("192.168.1.20"));
    assert_eq!(id.os.as_deref(), Some("QNX 6.5.0"));
    assert_eq!(id.firmware.as_deref(), Some("4.4.73.24"));
    assert_eq!(id.vendor.as_deref(), Some("vykon"));
    assert_eq!(id.model.as_deref(), Some("Station"));
}

#[test]
fn split_coalesced_and_resync() {
    let mut seg = CLIENT_HELLO.to_vec();
    seg.extend_from_slice(CLIENT_HELLO);
    let f = flow(Transport::Tcp, 1911, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let left = feed_stream(
        &mut s,
        &f,
        Direction::ToServer,
        &[&seg[..2], &seg[2..30], &seg[30..]],
        &mut rec,
    );
    assert_eq!(left, 0);
    assert_eq!(rec.of("message").len(), 2);
    let mut junk = b"garbage\n".to_vec();
    junk.extend_from_slice(CLIENT_HELLO);
    feed_stream(&mut s, &f, Direction::ToServer, &[&junk], &mut rec);
    assert_eq!(rec.of("message").len(), 3);
    assert_eq!(rec.of("malformed")[0]["error"]["code"], "not_fox");
    let mut cx = Ctx::new(Timestamp(0), &f, Direction::ToServer, &mut rec);
    s.on_gap(10, &mut cx);
    feed_stream(&mut s, &f, Direction::ToServer, &[&junk], &mut rec);
    assert_eq!(rec.of("message").len(), 4);
    assert_eq!(rec.of("malformed").len(), 1);
}

#[test]
fn bad_header_and_too_long() {
    let rec = run(&[(Direction::ToServer, b"fox a 1\n{\n};;\n")]);
    assert_eq!(rec.of("malformed")[0]["error"]["code"], "bad_header");
    let mut big = b"fox a 1 -1 fox hello\n{\n".to_vec();
    big.extend(std::iter::repeat_n(b'x', wire::MAX_MSG + 10));
    let rec = run(&[(Direction::ToServer, &big)]);
    assert_eq!(rec.of("malformed")[0]["error"]["code"], "too_long");
}

#[test]
fn probe_is_strict() {
    assert!(probe(Transport::Tcp, CLIENT_HELLO));
    assert!(!probe(Transport::Tcp, b"foxtrot\n"));
    assert!(!probe(Transport::Udp, CLIENT_HELLO));
    assert!(!probe(Transport::Tcp, b"GET / HTTP/1.0\r\n"));
}

proptest::proptest! {
    #[test]
    fn arbitrary_streams_never_panic(chunks in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..100), 1..6)) {
        let f = flow(Transport::Tcp, 1911, false);
        let mut s = Session::default();
        let mut rec = Recorder::default();
        let mut with_fox: Vec<Vec<u8>> = chunks.clone();
        with_fox.insert(0, b"fox a 1 -1 fox hel".to_vec());
        let refs: Vec<&[u8]> = with_fox.iter().map(|c| &c[..]).collect();
        feed_stream(&mut s, &f, Direction::ToServer, &refs, &mut rec);
    }
}
