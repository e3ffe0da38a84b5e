//! LLDP tests.

use otwatch_core::{Direction, Proto, Timestamp};

use super::*;
use crate::testutil::Recorder;

pub(crate) fn tlv(t: u8, v: &[u8]) -> Vec<u8> {
    let h = ((t as u16) << 9) | v.len() as u16;
    let mut o = h.to_be_bytes().to_vec();
    o.extend(v);
    o
}

pub(crate) fn frame() -> Vec<u8> {
    [
        tlv(1, &[4, 0x00, 0x0e, 0x8c, 1, 2, 3]),
        tlv(2, b"\x05port-001"),
        tlv(3, &[0, 120]),
        tlv(4, b"Port 1"),
        tlv(5, b"sw-cell-1"),
        tlv(6, b"Siemens, SIMATIC NET, SCALANCE X208"),
        tlv(7, &[0, 0x14, 0, 0x04]),
        tlv(8, &[5, 1, 10, 10, 1, 5, 2, 0, 0, 0, 1, 0]),
        tlv(127, &[0x00, 0x0e, 0xcf, 2, 0, 0, 0, 0x10]),
        tlv(127, &[0x00, 0x12, 0x0f, 1, 3, 0x6c, 0, 0x10]),
        tlv(0, &[]),
    ]
    .concat()
}

fn run(p: &[u8]) -> Recorder {
    let f = crate::l2::frame_flow(
        Timestamp(0),
        otwatch_core::MacAddr([0, 0x0e, 0x8c, 1, 2, 3]),
        otwatch_core::MacAddr([1, 0x80, 0xc2, 0, 0, 0x0e]),
        0,
        Proto::Lldp,
        p.len(),
    );
    let mut rec = Recorder::default();
    let mut cx = Ctx::new(Timestamp(0), &f, Direction::ToServer, &mut rec);
    on_frame(p, &mut cx);
    rec
}

#[test]
fn full_frame() {
    let r = run(&frame());
    let m = &r.of("message")[0];
    assert_eq!(m["kind"], "other");
    let l = &m["lldp"];
    assert_eq!(l["chassis_id"], "00:0e:8c:01:02:03");
    assert_eq!(l["port_id"], "port-001");
    assert_eq!(l["ttl"], 120);
    assert_eq!(l["system_name"], "sw-cell-1");
    assert_eq!(l["capabilities_supported"], "bridge,router");
    assert_eq!(l["capabilities_enabled"], "bridge");
    assert_eq!(l["management_address"], "10.10.1.5");
    assert_eq!(l["org_specific"][0]["name"], "profinet port status");
    assert_eq!(
        l["org_specific"][1]["name"],
        "ieee802.3 mac/phy configuration"
    );
    assert!(r.of("malformed").is_empty());
    let f = frame();
    let msg = Message {
        lldp: wire::parse(&f).0.unwrap(),
    };
    let id = msg.identity().unwrap();
    assert_eq!(id.hostname.as_deref(), Some("sw-cell-1"));
    assert_eq!(id.device_class.as_deref(), Some("bridge"));
    assert_eq!(id.ip, Some("10.10.1.5".parse().unwrap()));
    assert!(id.os.as_deref().unwrap().contains("SCALANCE"));
}

#[test]
fn truncated_tlv_is_message_and_malformed() {
    let mut f = frame();
    f.truncate(f.len() - 8);
    let r = run(&f);
    assert_eq!(r.of("message").len(), 1);
    assert_eq!(r.of("malformed")[0]["error"]["code"], "tlv_truncated");
    // Truncated inside the mandatory TLVs: only malformed.
    let r = run(&frame()[..6]);
    assert_eq!(r.of("message").len(), 0);
    assert_eq!(r.of("malformed")[0]["error"]["code"], "tlv_truncated");
}

#[test]
fn mandatory_order_and_lengths() {
    let f = [tlv(2, b"\x05p"), tlv(1, &[4, 1, 2, 3, 4, 5, 6])].concat();
    assert_eq!(
        wire::parse(&f).1,
        Some(Error::MissingMandatory {
            expected: 1,
            seen: 2
        })
    );
    assert_eq!(
        wire::parse(&[]).1,
        Some(Error::MissingMandatory {
            expected: 1,
            seen: 0
        })
    );
    let f = [tlv(1, &[4]), tlv(2, b"\x05p"), tlv(3, &[0, 1])].concat();
    assert_eq!(
        wire::parse(&f).1,
        Some(Error::BadTlvLength {
            tlv_type: 1,
            len: 1
        })
    );
    let f = [
        tlv(1, &[4, 1]),
        tlv(2, b"\x05p"),
        tlv(3, &[0, 1]),
        tlv(7, &[1]),
    ]
    .concat();
    let (m, e) = wire::parse(&f);
    assert!(m.is_some());
    assert_eq!(
        e,
        Some(Error::BadTlvLength {
            tlv_type: 7,
            len: 1
        })
    );
}

proptest::proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(v in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
        let _ = run(&v);
        let mut f = frame();
        f.truncate(20);
        f.extend(&v);
        let _ = run(&f);
        if let (Some(l), _) = wire::parse(&f) { let _ = Message { lldp: l }.identity(); }
    }
}

#[test]
fn profinet_name_of_station() {
    let f = [
        tlv(1, b"\x07S7-1200 6ES7 214-1AG40-0XB0"),
        tlv(2, b"\x07port-001.plcxb1d0ed"),
        tlv(3, &[0, 20]),
        tlv(127, &[0x00, 0x0e, 0xcf, 2, 0, 0, 0, 0]),
        tlv(0, &[]),
    ]
    .concat();
    let m = Message {
        lldp: wire::parse(&f).0.unwrap(),
    };
    assert_eq!(
        m.identity().unwrap().hostname.as_deref(),
        Some("plcxb1d0ed")
    );
    // Without the PROFINET TLV the port id is not a station name.
    let f = [
        tlv(1, b"\x07x"),
        tlv(2, b"\x07port-001.abc"),
        tlv(3, &[0, 20]),
    ]
    .concat();
    let m = Message {
        lldp: wire::parse(&f).0.unwrap(),
    };
    assert_eq!(m.identity().unwrap().hostname, None);
}
