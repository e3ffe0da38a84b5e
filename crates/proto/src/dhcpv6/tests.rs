//! DHCPv6 tests.

use otwatch_core::{Direction, Timestamp, Transport};

use super::*;
use crate::testutil::{Recorder, flow};

fn opt(code: u16, v: &[u8]) -> Vec<u8> {
    let mut o = code.to_be_bytes().to_vec();
    o.extend((v.len() as u16).to_be_bytes());
    o.extend(v);
    o
}

pub(crate) fn solicit() -> Vec<u8> {
    let mut ia = vec![0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
    let mut addr = vec![0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10];
    addr.extend([0; 8]);
    ia.extend(opt(5, &addr));
    [
        vec![1, 0xab, 0xcd, 0xef],
        opt(1, &[0, 1, 0, 1, 1, 2, 3, 4, 0, 0x14, 0x22, 1, 2, 3]),
        opt(39, b"\x01\x04ews1\x05plant\x00"),
        opt(16, b"\x00\x00\x01\x37\x00\x08MSFT 5.0"),
        opt(6, &[0, 23, 0, 24]),
        opt(3, &ia),
    ]
    .concat()
}

fn run(p: &[u8]) -> Recorder {
    let f = flow(Transport::Udp, 547, false);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    let mut cx = Ctx::new(Timestamp(0), &f, Direction::ToServer, &mut rec);
    s.on_data(p, true, &mut cx);
    rec
}

#[test]
fn solicit_fields_and_identity() {
    let p = solicit();
    let r = run(&p);
    let m = &r.of("message")[0];
    assert_eq!(m["kind"], "request");
    let d = &m["dhcpv6"];
    assert_eq!(d["msg_type_name"], "SOLICIT");
    assert_eq!(d["xid"], 0xabcdef);
    assert_eq!(d["fqdn"], "ews1.plant");
    assert_eq!(d["vendor_class"], "MSFT 5.0");
    assert_eq!(d["vendor_enterprise"], 311);
    assert_eq!(d["oro"], serde_json::json!([23, 24]));
    assert_eq!(d["ia_na_address"], "2001:db8::10");
    let msg = parse(&p).0.unwrap();
    assert_eq!(msg.function_code(), 1);
    let id = msg.identity().unwrap();
    assert_eq!(id.hostname.as_deref(), Some("ews1"));
    assert_eq!(id.device_class.as_deref(), Some("MSFT 5.0"));
}

#[test]
fn reply_relay_errors() {
    let r = run(&[7, 0, 0, 1]);
    assert_eq!(r.of("message")[0]["kind"], "response");
    let mut relay = vec![12, 0];
    relay.extend([0; 32]);
    assert_eq!(
        run(&relay).of("message")[0]["dhcpv6"]["msg_type_name"],
        "RELAY-FORW"
    );
    assert_eq!(
        run(&relay[..20]).of("malformed")[0]["error"]["code"],
        "short_header"
    );
    let mut p = solicit();
    p.extend([0, 1, 0, 50, 1]);
    let r = run(&p);
    assert_eq!(r.of("message").len(), 1);
    assert_eq!(r.of("malformed")[0]["error"]["code"], "option_truncated");
}

proptest::proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(v in proptest::collection::vec(proptest::num::u8::ANY, 0..120)) {
        let _ = run(&v);
        if let (Some(m), _) = parse(&v) { let _ = m.identity(); }
    }
}
