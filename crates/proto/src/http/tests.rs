//! HTTP session tests.

use otwatch_core::{Direction, Transport};

use super::*;
use crate::testutil::{Recorder, feed_stream, flow};

fn run(chunks_req: &[&[u8]], chunks_resp: &[&[u8]]) -> Recorder {
    let f = flow(Transport::Tcp, 80, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    feed_stream(&mut s, &f, Direction::ToServer, chunks_req, &mut rec);
    feed_stream(&mut s, &f, Direction::ToClient, chunks_resp, &mut rec);
    rec
}

#[test]
fn request_and_response_fields() {
    let req = b"GET /index.html HTTP/1.1\r\nHost: plc.local\r\nUser-Agent: Mozilla/5.0 (Windows NT 10.0)\r\nAuthorization: Basic YWRtaW46c2VjcmV0\r\nCookie: a=b\r\n\r\n";
    let resp = b"HTTP/1.1 200 OK\r\nServer: Boa/0.94.13\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nhello";
    let rec = run(&[req], &[resp]);
    let m = rec.of("message");
    assert_eq!(m.len(), 2);
    let q = &m[0]["http"];
    assert_eq!(m[0]["kind"], "request");
    assert_eq!(q["method"], "GET");
    assert_eq!(q["uri"], "/index.html");
    assert_eq!(q["host"], "plc.local");
    assert_eq!(q["basic_auth_user"], "admin");
    assert!(!m[0].to_string().contains("secret"));
    assert_eq!(q["cookie"], true);
    let r = &m[1]["http"];
    assert_eq!(m[1]["kind"], "response");
    assert_eq!(r["status"], 200);
    assert_eq!(r["server"], "Boa/0.94.13");
    assert_eq!(r["body_len"], 5);
    assert_eq!(r["request_method_code"], 1);
}

#[test]
fn pipelined_requests_split_and_coalesced() {
    let mut all = Vec::new();
    all.extend_from_slice(b"POST /upload HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789");
    all.extend_from_slice(b"GET /a HTTP/1.1\r\n\r\nHEAD /b HTTP/1.0\r\n\r\n");
    let cuts: Vec<&[u8]> = all.chunks(7).collect();
    let rec = run(&cuts, &[]);
    let m: Vec<_> = rec
        .of("message")
        .iter()
        .map(|m| m["http"]["method"].clone())
        .collect();
    assert_eq!(m, vec!["POST", "GET", "HEAD"]);
    assert!(rec.of("malformed").is_empty());
}

#[test]
fn chunked_response_then_next_response() {
    let resp: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;x=y\r\nabc\r\n0\r\nX-T: 1\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
    let req: &[u8] = b"GET / HTTP/1.1\r\n\r\nGET /x HTTP/1.1\r\n\r\n";
    let cuts: Vec<&[u8]> = resp.chunks(3).collect();
    let rec = run(&[req], &cuts);
    let st: Vec<_> = rec
        .of("message")
        .iter()
        .filter(|m| m["kind"] == "response")
        .map(|m| m["http"]["status"].clone())
        .collect();
    assert_eq!(st, vec![200, 404]);
    assert!(rec.of("malformed").is_empty(), "{:?}", rec.events);
}

#[test]
fn head_response_and_304_have_no_body() {
    let req: &[u8] = b"HEAD / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n";
    let resp: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    let rec = run(&[req], &[resp]);
    let st: Vec<_> = rec
        .of("message")
        .iter()
        .filter(|m| m["kind"] == "response")
        .map(|m| m["http"]["status"].clone())
        .collect();
    assert_eq!(st, vec![200, 100, 304, 200]);
    let r = rec.of("message");
    assert_eq!(r[5]["http"]["request_method_code"], 1);
}

#[test]
fn bad_header_line_and_bad_start_line() {
    let req: &[u8] = b"GET / HTTP/1.1\r\nHost plc\r\n\r\nxx garbage\r\nGET /ok HTTP/1.1\r\nContent-Length: zz\r\n\r\n";
    let rec = run(&[req], &[]);
    let codes: Vec<_> = rec
        .of("malformed")
        .iter()
        .map(|m| m["error"]["code"].clone())
        .collect();
    assert_eq!(
        codes,
        vec!["bad_header_line", "bad_start_line", "bad_content_length"]
    );
    assert_eq!(rec.of("message").len(), 2);
}

#[test]
fn bad_chunk_size_resyncs() {
    let req: &[u8] = b"GET / HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n";
    let resp: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nfoo\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    let rec = run(&[req], &[resp]);
    assert_eq!(rec.of("malformed")[0]["error"]["code"], "bad_chunk_size");
    assert_eq!(rec.of("message").len(), 4);
}

#[test]
fn midstream_and_gap() {
    let f = flow(Transport::Tcp, 80, false);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    feed_stream(
        &mut s,
        &f,
        Direction::ToClient,
        &[b"tail of a body\r\nmore\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"],
        &mut rec,
    );
    assert!(rec.of("malformed").is_empty());
    assert_eq!(rec.of("message").len(), 1);
    let mut cx = crate::Ctx::new(
        otwatch_core::Timestamp(0),
        &f,
        Direction::ToClient,
        &mut rec,
    );
    s.on_gap(100, &mut cx);
    feed_stream(
        &mut s,
        &f,
        Direction::ToClient,
        &[b"ody\r\nHTTP/1.1 500 Oops\r\n\r\n"],
        &mut rec,
    );
    assert_eq!(rec.of("message").len(), 2);
    assert!(rec.of("malformed").is_empty());
}

#[test]
fn probe_is_strict() {
    assert!(probe(Transport::Tcp, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    assert!(probe(Transport::Tcp, b"HTTP/1.0 200 OK\r\n"));
    assert!(!probe(Transport::Tcp, b"GET / HTTP/2\r\n"));
    assert!(!probe(Transport::Udp, b"GET / HTTP/1.1\r\n"));
    assert!(!probe(Transport::Tcp, b"hello world\r\n"));
}

#[test]
fn identity_from_user_agent_and_server() {
    use crate::protocols::ProtoMessage;
    let (h, _) = wire::parse_head(b"HTTP/1.1 200 OK\r\nServer: Siemens/2.1 x\r\n\r\n");
    let m = Message {
        head: h.unwrap(),
        body_len: None,
        framing: "none",
        request_method: None,
        latency_ns: None,
    };
    let id = m.identity().unwrap();
    assert_eq!(id.model.as_deref(), Some("Siemens"));
    assert_eq!(id.firmware.as_deref(), Some("2.1"));
    assert_eq!(m.function_code(), 200);
}

proptest::proptest! {
    #[test]
    fn arbitrary_streams_never_panic(
        chunks in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..64), 0..20)
    ) {
        let f = flow(Transport::Tcp, 80, true);
        let mut s = Session::default();
        let mut rec = Recorder::default();
        let refs: Vec<&[u8]> = chunks.iter().map(|c| c.as_slice()).collect();
        let left = feed_stream(&mut s, &f, Direction::ToServer, &refs, &mut rec);
        proptest::prop_assert!(left <= wire::MAX_HEAD + 1);
    }
}

#[test]
fn head_shape_fields() {
    let (h, err) = wire::parse_head(
        b"GET /a?x=1&y=2&&z HTTP/1.1\r\nHost: h\r\nX-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n",
    );
    let h = h.unwrap();
    assert!(err.is_none());
    assert_eq!(h.query_params, 3);
    assert_eq!(h.longest_line, 48);
    assert_eq!(h.ctl_bytes, 0);
    assert!(!h.bad_name && !h.nested_message);
    assert_eq!((h.content_length_count, h.transfer_encoding_count), (0, 0));

    let (h, _) = wire::parse_head(
        b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\nTransfer-Encoding : chunked\r\nContent-Type: message/rfc822\r\nX: a\x01b\r\n\r\n",
    );
    let h = h.unwrap();
    assert_eq!(h.content_length_count, 2);
    assert_eq!(h.transfer_encoding_count, 0, "a bad name is not the header");
    assert!(h.bad_name && h.nested_message);
    assert_eq!(h.ctl_bytes, 1);
    assert_eq!(h.query_params, 0);
}
