//! CDP tests.

use otwatch_core::{Direction, Proto, Timestamp};

use super::*;
use crate::testutil::Recorder;

pub(crate) fn tlv(t: u16, v: &[u8]) -> Vec<u8> {
    let mut o = t.to_be_bytes().to_vec();
    o.extend(((v.len() + 4) as u16).to_be_bytes());
    o.extend(v);
    o
}

pub(crate) fn packet() -> Vec<u8> {
    [
        vec![2, 180, 0x12, 0x34],
        tlv(1, b"rtr-ot-fw1"),
        tlv(2, &[0, 0, 0, 1, 1, 1, 0xcc, 0, 4, 10, 10, 1, 1]),
        tlv(3, b"GigabitEthernet0/1"),
        tlv(4, &[0, 0, 0, 0x29]),
        tlv(
            5,
            b"Cisco IOS Software, ISR Software (X86_64_LINUX_IOSD), Version 16.9.4",
        ),
        tlv(6, b"cisco ISR4331/K9"),
        tlv(9, b"PLANT"),
        tlv(0x0a, &[0, 10]),
        tlv(0x0b, &[1]),
    ]
    .concat()
}

fn run(p: &[u8]) -> Recorder {
    let f = crate::l2::frame_flow(
        Timestamp(0),
        otwatch_core::MacAddr([0, 0, 0x0c, 1, 2, 3]),
        otwatch_core::MacAddr([1, 0, 0x0c, 0xcc, 0xcc, 0xcc]),
        0,
        Proto::Cdp,
        p.len(),
    );
    let mut rec = Recorder::default();
    let mut cx = Ctx::new(Timestamp(0), &f, Direction::ToServer, &mut rec);
    on_frame(p, &mut cx);
    rec
}

#[test]
fn full_packet() {
    let r = run(&packet());
    let c = &r.of("message")[0]["cdp"];
    assert_eq!(c["device_id"], "rtr-ot-fw1");
    assert_eq!(c["addresses"][0], "10.10.1.1");
    assert_eq!(c["capabilities"], "router,switch,igmp");
    assert_eq!(c["platform"], "cisco ISR4331/K9");
    assert_eq!(c["native_vlan"], 10);
    assert_eq!(c["duplex"], "full");
    let p = packet();
    let m = Message {
        cdp: wire::parse(&p).0.unwrap(),
    };
    let id = m.identity().unwrap();
    assert_eq!(id.hostname.as_deref(), Some("rtr-ot-fw1"));
    assert_eq!(id.model.as_deref(), Some("cisco ISR4331/K9"));
    assert_eq!(id.ip, Some("10.10.1.1".parse().unwrap()));
    assert_eq!(id.domain.as_deref(), Some("PLANT"));
}

#[test]
fn errors() {
    assert_eq!(
        run(&[2, 1]).of("malformed")[0]["error"]["code"],
        "short_header"
    );
    assert_eq!(
        run(&[9, 1, 0, 0]).of("malformed")[0]["error"]["code"],
        "bad_version"
    );
    let mut p = packet();
    p.extend([0, 1, 0, 2]);
    let r = run(&p);
    assert_eq!(r.of("message").len(), 1);
    assert_eq!(r.of("malformed")[0]["error"]["code"], "bad_tlv");
}

proptest::proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(v in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
        let _ = run(&v);
        let mut p = vec![2, 180, 0, 0];
        p.extend(&v);
        let _ = run(&p);
        if let (Some(c), _) = wire::parse(&p) { let _ = Message { cdp: c }.identity(); }
    }
}
