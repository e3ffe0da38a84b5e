//! Telnet session tests.

use otwatch_core::{Direction, Transport};

use super::*;
use crate::testutil::{Recorder, feed_stream, flow};

fn events(rec: &Recorder) -> Vec<String> {
    rec.of("message")
        .iter()
        .map(|m| m["telnet"]["event"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn login_dialogue_failure_then_success() {
    let f = flow(Transport::Tcp, 23, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let srv = |s: &mut Session, b: &[u8], rec: &mut Recorder| {
        feed_stream(s, &f, Direction::ToClient, &[b], rec)
    };
    let cli = |s: &mut Session, b: &[u8], rec: &mut Recorder| {
        feed_stream(s, &f, Direction::ToServer, &[b], rec)
    };
    srv(&mut s, &[IAC, 253, 24, IAC, 251, 1, IAC, 251, 3], &mut rec);
    cli(
        &mut s,
        &[
            IAC, 251, 24, IAC, SB, 24, 0, b'V', b'T', b'1', b'0', b'0', IAC, SE,
        ],
        &mut rec,
    );
    srv(&mut s, b"\r\nPLC-1 login: ", &mut rec);
    for c in b"admin\r" {
        cli(&mut s, &[*c], &mut rec);
    }
    srv(&mut s, b"admin\r\nPassword: ", &mut rec);
    cli(&mut s, b"wrong\r\n", &mut rec);
    srv(&mut s, b"\r\nLogin incorrect\r\nPLC-1 login: ", &mut rec);
    cli(&mut s, b"root\r\n", &mut rec);
    srv(&mut s, b"Password:", &mut rec);
    cli(&mut s, b"toor\r\n", &mut rec);
    srv(&mut s, b"\r\nBusyBox v1.2\r\n# ", &mut rec);
    assert_eq!(
        events(&rec),
        vec![
            "negotiation",
            "negotiation",
            "login_prompt",
            "user_sent",
            "password_prompt",
            "login_failed",
            "login_prompt",
            "user_sent",
            "password_prompt",
            "login_success"
        ]
    );
    let m = rec.of("message");
    assert_eq!(m[1]["telnet"]["options"][1], "SB terminal_type IS VT100");
    assert_eq!(m[0]["telnet"]["options"][0], "DO terminal_type");
    assert_eq!(m[3]["telnet"]["user"], "admin");
    assert_eq!(m[5]["telnet"]["user"], "admin");
    assert_eq!(m[9]["telnet"]["user"], "root");
    let all = serde_json::to_string(&rec.events).unwrap();
    assert!(!all.contains("toor") && !all.contains("wrong"));
    assert!(rec.of("malformed").is_empty());
}

#[test]
fn split_iac_and_long_subnegotiation() {
    let f = flow(Transport::Tcp, 23, true);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let mut sb = vec![IAC, SB, 39];
    sb.extend(vec![b'x'; 400]);
    sb.extend([IAC, SE, IAC, 253]);
    let left = feed_stream(&mut s, &f, Direction::ToServer, &[&sb, &[1]], &mut rec);
    assert_eq!(left, 0);
    assert!(!rec.of("message").is_empty());
}

#[test]
fn probe_strict() {
    assert!(probe(Transport::Tcp, &[IAC, 253, 24, IAC, 251, 1]));
    assert!(!probe(Transport::Tcp, b"login: "));
}

proptest::proptest! {
    #[test]
    fn arbitrary_streams_never_panic(
        chunks in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..64), 0..20)
    ) {
        let f = flow(Transport::Tcp, 23, true);
        let mut s = Session::default();
        let mut rec = Recorder::default();
        let refs: Vec<&[u8]> = chunks.iter().map(|c| c.as_slice()).collect();
        let left = feed_stream(&mut s, &f, Direction::ToClient, &refs, &mut rec);
        proptest::prop_assert!(left <= MAX_SB + 2);
    }
}
