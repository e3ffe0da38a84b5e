//! NTP tests.

use otwatch_core::{Direction, Timestamp, Transport};

use super::*;
use crate::testutil::{Recorder, flow};

pub(crate) fn packet(mode: u8, stratum: u8) -> Vec<u8> {
    let mut v = vec![(4 << 3) | mode, stratum, 6, 0xec];
    v.extend([0; 8]);
    v.extend(if stratum == 1 {
        *b"GPS\0"
    } else {
        [10, 10, 1, 1]
    });
    v.extend([0; 32]);
    v[40] = 0xe0;
    v
}

fn run(p: &[u8]) -> Recorder {
    let f = flow(Transport::Udp, 123, false);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let mut cx = Ctx::new(Timestamp(0), &f, Direction::ToServer, &mut rec);
    s.on_data(p, true, &mut cx);
    rec
}

#[test]
fn client_server() {
    let r = run(&packet(3, 0));
    assert_eq!(r.of("message")[0]["kind"], "request");
    assert_eq!(r.of("message")[0]["ntp"]["mode_name"], "client");
    let r = run(&packet(4, 1));
    let n = &r.of("message")[0]["ntp"];
    assert_eq!(r.of("message")[0]["kind"], "response");
    assert_eq!(n["reference_id"], "GPS");
    assert_eq!(n["stratum"], 1);
    assert_eq!(n["xmit_ts"], 0xe0u64 << 56);
    let r = run(&packet(4, 2));
    assert_eq!(r.of("message")[0]["ntp"]["reference_id"], "10.10.1.1");
}

#[test]
fn monlist_and_control() {
    let p = [0x17, 0x00, 0x03, 42, 0, 0, 0, 0];
    let r = run(&p);
    let n = &r.of("message")[0]["ntp"];
    assert_eq!(n["monlist"], true);
    assert_eq!(n["request_code"], 42);
    assert_eq!(r.of("message")[0]["kind"], "request");
    assert!(parse(&p).unwrap().is_monlist());
    assert_eq!(parse(&p).unwrap().function_code(), 7);
    let r = run(&[0x97, 0x00, 0x03, 42, 0, 0, 0, 0]);
    assert_eq!(r.of("message")[0]["kind"], "response");
    let r = run(&[0x16, 0x02, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(r.of("message")[0]["ntp"]["opcode"], 2);
    assert_eq!(r.of("message")[0]["kind"], "request");
}

#[test]
fn errors() {
    assert_eq!(
        run(&packet(3, 0)[..20]).of("malformed")[0]["error"]["code"],
        "short_packet"
    );
    assert_eq!(
        run(&[0x07; 48]).of("malformed")[0]["error"]["code"],
        "bad_version"
    );
    assert_eq!(run(&[]).of("malformed")[0]["error"]["code"], "short_packet");
}

proptest::proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(v in proptest::collection::vec(proptest::num::u8::ANY, 0..100)) {
        let _ = run(&v);
    }
}
