//! FTP session tests.

use otwatch_core::{Direction, Transport};

use super::*;
use crate::testutil::{Recorder, feed_stream, flow};

#[test]
fn login_failure_then_success_and_upload() {
    let f = flow(Transport::Tcp, 21, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let send = |s: &mut Session, d: Direction, b: &[u8], rec: &mut Recorder| {
        feed_stream(s, &f, d, &[b], rec);
    };
    send(
        &mut s,
        Direction::ToClient,
        b"220-Welcome\r\n220 vsFTPd 3.0.3\r\n",
        &mut rec,
    );
    send(&mut s, Direction::ToServer, b"USER admin\r\n", &mut rec);
    send(
        &mut s,
        Direction::ToClient,
        b"331 Please specify the password.\r\n",
        &mut rec,
    );
    send(&mut s, Direction::ToServer, b"PASS hunter2\r\n", &mut rec);
    send(
        &mut s,
        Direction::ToClient,
        b"530 Login incorrect.\r\n",
        &mut rec,
    );
    send(
        &mut s,
        Direction::ToServer,
        b"USER plc\r\nPASS s3cret\r\n",
        &mut rec,
    );
    send(
        &mut s,
        Direction::ToClient,
        b"331 ok\r\n230 Login successful.\r\n",
        &mut rec,
    );
    feed_stream(
        &mut s,
        &f,
        Direction::ToServer,
        &[b"STOR firm", b"ware.bin\r\n"],
        &mut rec,
    );
    let m = rec.of("message");
    let all = serde_json::to_string(&rec.events).unwrap();
    assert!(!all.contains("hunter2") && !all.contains("s3cret"));
    assert_eq!(m[0]["ftp"]["reply_code"], 220);
    assert_eq!(m[0]["ftp"]["multiline"], true);
    assert_eq!(m[4]["ftp"]["login"], "failure");
    assert_eq!(m[4]["ftp"]["user"], "admin");
    assert_eq!(m[8]["ftp"]["login"], "success");
    assert_eq!(m[8]["ftp"]["user"], "plc");
    assert_eq!(m[9]["ftp"]["file"], "firmware.bin");
    assert_eq!(m.len(), 10);
    assert_eq!(s.logins, [1, 1]);
}

#[test]
fn function_codes_and_errors() {
    let f = flow(Transport::Tcp, 21, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let long = vec![b'A'; MAX_LINE + 10];
    feed_stream(
        &mut s,
        &f,
        Direction::ToServer,
        &[b"RETR a.txt\r\nXYZ 1\r\n12 x\r\n", &long, b"\r\nNOOP\r\n"],
        &mut rec,
    );
    feed_stream(
        &mut s,
        &f,
        Direction::ToClient,
        &[b"garbage\r\n200 ok\r\n"],
        &mut rec,
    );
    use crate::protocols::ProtoMessage;
    assert_eq!(
        Message::Command {
            verb: b"retr",
            arg: None
        }
        .function_code(),
        14
    );
    let fcs: Vec<_> = rec
        .of("message")
        .iter()
        .map(|m| m["ftp"]["command"].clone())
        .collect();
    assert_eq!(fcs.len(), 5);
    let codes: Vec<_> = rec
        .of("malformed")
        .iter()
        .map(|m| m["error"]["code"].clone())
        .collect();
    assert_eq!(codes, vec!["bad_command", "line_too_long", "bad_reply"]);
}

#[test]
fn probe_strict() {
    assert!(probe(Transport::Tcp, b"220 ProFTPD Server ready\r\n"));
    assert!(!probe(Transport::Tcp, b"220 mail.example.com ESMTP\r\n"));
}

proptest::proptest! {
    #[test]
    fn arbitrary_streams_never_panic(
        chunks in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..64), 0..20)
    ) {
        let f = flow(Transport::Tcp, 21, true);
        let mut s = Session::default();
        let mut rec = Recorder::default();
        let refs: Vec<&[u8]> = chunks.iter().map(|c| c.as_slice()).collect();
        let left = feed_stream(&mut s, &f, Direction::ToClient, &refs, &mut rec);
        proptest::prop_assert!(left <= MAX_LINE + 64);
    }
}

#[test]
fn data_connection_addresses() {
    use std::net::IpAddr;
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    assert_eq!(
        host_port(b"Entering Passive Mode (192,168,1,5,195,80)."),
        Some((ip("192.168.1.5"), 195 * 256 + 80))
    );
    assert_eq!(host_port(b"10,0,0,1,4,1"), Some((ip("10.0.0.1"), 1025)));
    assert_eq!(host_port(b"10,0,0,1,4"), None);
    assert_eq!(host_port(b"10,0,0,300,4,1"), None);
    assert_eq!(host_port(b"no numbers"), None);
    assert_eq!(
        ext_host_port(b"Entering Extended Passive Mode (|||6446|)"),
        Some((None, 6446))
    );
    assert_eq!(
        ext_host_port(b"|2|2001:db8::1|5282|"),
        Some((Some(ip("2001:db8::1")), 5282))
    );
    assert_eq!(ext_host_port(b"|1|1.2.3.4|x|"), None);
}
