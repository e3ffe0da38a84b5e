//! ICMP tests.

use otwatch_core::{Direction, Timestamp, Transport};

use super::*;
use crate::testutil::{Recorder, flow};

fn run(s: &mut Session, p: &[u8], v6: bool, dir: Direction, rec: &mut Recorder) {
    let mut f = flow(Transport::OtherIp, 0, false);
    f.ip_proto = if v6 { 58 } else { 1 };
    let mut cx = Ctx::new(Timestamp(100), &f, dir, rec);
    s.on_data(p, true, &mut cx);
}

#[test]
fn echo_matching() {
    let mut s = Session::default();
    let mut rec = Recorder::default();
    run(
        &mut s,
        &[8, 0, 0, 0, 0, 1, 0, 7, 1, 2, 3],
        false,
        Direction::ToServer,
        &mut rec,
    );
    run(
        &mut s,
        &[0, 0, 0, 0, 0, 1, 0, 7, 1, 2, 3],
        false,
        Direction::ToClient,
        &mut rec,
    );
    run(
        &mut s,
        &[0, 0, 0, 0, 0, 1, 0, 8],
        false,
        Direction::ToClient,
        &mut rec,
    );
    let m = rec.of("message");
    assert_eq!(m[0]["kind"], "request");
    assert_eq!(m[0]["icmp"]["type_name"], "echo_request");
    assert_eq!(m[0]["icmp"]["seq"], 7);
    assert_eq!(m[1]["kind"], "response");
    assert_eq!(m[1]["icmp"]["latency_ns"], 0);
    assert!(m[2]["icmp"].get("latency_ns").is_none());
    assert_eq!(s.unmatched_replies, 1);
}

#[test]
fn unreachable_quotes_original() {
    let mut p = vec![3, 3, 0, 0, 0, 0, 0, 0];
    p.extend([
        0x45, 0, 0, 40, 0, 0, 0, 0, 64, 17, 0, 0, 10, 10, 1, 10, 10, 10, 1, 99,
    ]);
    p.extend([0x9c, 0x40, 0, 161, 0, 20, 0, 0]);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    run(&mut s, &p, false, Direction::ToClient, &mut rec);
    let m = &rec.of("message")[0];
    assert_eq!(m["kind"], "other");
    assert_eq!(m["icmp"]["orig"]["proto"], 17);
    assert_eq!(m["icmp"]["orig"]["dst"], "10.10.1.99");
    assert_eq!(m["icmp"]["orig"]["dport"], 161);
    let msg = parse(&p, false).unwrap();
    assert_eq!(msg.function_code(), 0x0303);
}

#[test]
fn nd_and_short() {
    let mut ns = vec![135, 0, 0, 0, 0, 0, 0, 0];
    ns.extend([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    ns.extend([1, 1, 0x00, 0x14, 0x22, 1, 2, 3]);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    run(&mut s, &ns, true, Direction::ToServer, &mut rec);
    let m = &rec.of("message")[0];
    assert_eq!(m["icmp"]["type_name"], "neighbor_solicitation");
    assert_eq!(m["icmp"]["target"], "fe80::1");
    assert_eq!(m["icmp"]["lladdr"], "00:14:22:01:02:03");
    assert_eq!(m["kind"], "request");
    run(
        &mut s,
        &[135, 0, 0, 0, 0],
        true,
        Direction::ToServer,
        &mut rec,
    );
    run(&mut s, &[8, 0], false, Direction::ToServer, &mut rec);
    let b = rec.of("malformed");
    assert_eq!(b.len(), 2);
    assert_eq!(b[0]["error"]["code"], "short_message");
    assert_eq!(b[0]["error"]["function_code"], 135 * 256);
}

proptest::proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(v in proptest::collection::vec(proptest::num::u8::ANY, 0..120), v6 in proptest::bool::ANY) {
        let mut s = Session::default();
        let mut rec = Recorder::default();
        run(&mut s, &v, v6, Direction::ToClient, &mut rec);
    }
}
