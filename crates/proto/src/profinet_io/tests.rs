//! PNIO-CM tests: RPC header, blocks, matching, errors.

use otwatch_core::{Direction, Timestamp, Transport};

use super::*;
use crate::testutil::{Recorder, flow};

const DEVICE_IF: [u8; 16] = [
    0xde, 0xa0, 0x00, 0x01, 0x6c, 0x97, 0x11, 0xd1, 0x82, 0x71, 0x00, 0xa0, 0x24, 0x42, 0xdf, 0x7d,
];

fn rpc(ptype: u8, le: bool, seq: u32, opnum: u16, body: &[u8]) -> Vec<u8> {
    let mut v = vec![4, ptype, 0x20, 0, if le { 0x10 } else { 0 }, 0, 0, 0];
    let uu = |u: &[u8; 16]| {
        let mut x = *u;
        if le {
            x[..4].reverse();
            x[4..6].reverse();
            x[6..8].reverse();
        }
        x
    };
    v.extend(uu(&[
        0xde, 0xa0, 0, 0, 0x6c, 0x97, 0x11, 0xd1, 0x82, 0x71, 0, 1, 0, 3, 1, 0x5a,
    ]));
    v.extend(uu(&DEVICE_IF));
    v.extend(uu(&[
        0x13, 0x14, 0x2f, 0x90, 0, 0, 0x10, 0, 0xa9, 0x94, 0xd2, 0x10, 0x68, 0x90, 0xca, 0x5a,
    ]));
    let n32 = |x: u32| if le { x.to_le_bytes() } else { x.to_be_bytes() };
    let n16 = |x: u16| if le { x.to_le_bytes() } else { x.to_be_bytes() };
    v.extend(n32(0));
    v.extend(n32(1));
    v.extend(n32(seq));
    v.extend(n16(opnum));
    v.extend(n16(0xffff));
    v.extend(n16(0xffff));
    v.extend(n16(body.len() as u16));
    v.extend(n16(0));
    v.extend([0, 0]);
    v.extend(body);
    v
}
fn ndr(blocks: &[u8], status: Option<u32>) -> Vec<u8> {
    let mut v = match status {
        Some(s) => s.to_be_bytes().to_vec(),
        None => 1000u32.to_le_bytes().to_vec(),
    };
    for x in [blocks.len() as u32, 1000, 0, blocks.len() as u32] {
        v.extend(x.to_le_bytes());
    }
    v.extend(blocks);
    v
}
fn block(bt: u16, content: &[u8]) -> Vec<u8> {
    let mut v = bt.to_be_bytes().to_vec();
    v.extend(((content.len() + 2) as u16).to_be_bytes());
    v.extend([1, 0]);
    v.extend(content);
    v
}
fn ar_block() -> Vec<u8> {
    let mut c = 1u16.to_be_bytes().to_vec();
    c.extend([0x11; 16]);
    c.extend([0, 1]);
    c.extend([0; 6]);
    c.extend([0x22; 16]);
    c.extend([0, 0, 0, 0x11, 0, 100, 0x88, 0x92]);
    c.extend(7u16.to_be_bytes());
    c.extend(b"plc-ctl");
    block(0x0101, &c)
}
fn rw_header(bt: u16, slot: u16, sub: u16, index: u16, len: u32) -> Vec<u8> {
    let mut c = 1u16.to_be_bytes().to_vec();
    c.extend([0x11; 16]);
    c.extend(0u32.to_be_bytes());
    c.extend(slot.to_be_bytes());
    c.extend(sub.to_be_bytes());
    c.extend([0, 0]);
    c.extend(index.to_be_bytes());
    c.extend(len.to_be_bytes());
    c.extend([0; 24]);
    block(bt, &c)
}
fn control(cmd: u16) -> Vec<u8> {
    let mut c = vec![0, 0];
    c.extend([0x11; 16]);
    c.extend([0, 1, 0, 0]);
    c.extend(cmd.to_be_bytes());
    c.extend([0, 0]);
    block(0x0110, &c)
}

fn run(pkts: &[(Vec<u8>, Direction)]) -> (Recorder, Session) {
    let f = flow(Transport::Udp, 34964, false);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    for (p, d) in pkts {
        let mut cx = Ctx::new(Timestamp(0), &f, *d, &mut rec);
        assert_eq!(s.on_data(p, true, &mut cx), p.len());
    }
    (rec, s)
}
const C: Direction = Direction::ToServer;
const S: Direction = Direction::ToClient;

#[test]
fn connect_write_control_read_release() {
    let mut write = rw_header(0x0008, 1, 1, 0x1f4, 4);
    write.extend([1, 2, 3, 4]);
    let (rec, _) = run(&[
        (rpc(0, false, 0, 0, &ndr(&ar_block(), None)), C),
        (
            rpc(2, true, 0, 0, &ndr(&block(0x8101, &[0, 1]), Some(0))),
            S,
        ),
        (rpc(0, false, 1, 3, &ndr(&write, None)), C),
        (
            rpc(
                2,
                true,
                1,
                3,
                &ndr(&rw_header(0x8008, 1, 1, 0x1f4, 4), Some(0)),
            ),
            S,
        ),
        (rpc(0, false, 2, 4, &ndr(&control(1), None)), C),
        (
            rpc(
                0,
                false,
                3,
                2,
                &ndr(&rw_header(0x0009, 0, 0x8000, 0xf841, 4096), None),
            ),
            C,
        ),
        (rpc(3, true, 3, 2, &[0, 0, 0, 0]), S),
        (rpc(0, false, 4, 1, &ndr(&control(4), None)), C),
    ]);
    assert!(rec.of("malformed").is_empty(), "{:?}", rec.of("malformed"));
    let m = rec.of("message");
    let o = |i: usize| &m[i]["profinet_io"];
    assert_eq!(m.len(), 8);
    assert_eq!(o(0)["op_name"], "connect");
    assert_eq!(o(0)["station_name"], "plc-ctl");
    assert_eq!(o(0)["ar_type"], 1);
    assert_eq!(o(0)["activity"], "13142f90-0000-1000-a994-d2106890ca5a");
    assert_eq!(m[1]["kind"], "response");
    assert_eq!(o(1)["activity"], o(0)["activity"]);
    assert!(o(1)["latency_us"].is_number());
    assert_eq!(o(2)["slot"], 1);
    assert_eq!(o(2)["index"], 0x1f4);
    assert_eq!(o(2)["blocks"][0], "IODWriteReqHeader");
    assert_eq!(o(3)["status"], "0x00000000");
    assert_eq!(o(4)["control_command"], "PrmEnd");
    assert_eq!(o(5)["subslot"], 0x8000);
    assert_eq!(o(6)["packet_type"], "fault");
    assert_eq!(o(7)["control_command"], "Release");
}

#[test]
fn multiple_write_record_data_is_skipped() {
    let mut inner = rw_header(0x0008, 1, 1, 0x1f4, 3);
    inner.extend([9, 9, 9, 0]);
    inner.extend(rw_header(0x0008, 2, 1, 0x1f5, 4));
    inner.extend([7, 7, 7, 7]);
    let mut all = rw_header(0x0008, 0, 1, 0xe040, inner.len() as u32);
    all.extend(&inner);
    let body = ndr(&all, None);
    let p = wire::parse_pnio(&body, false, false).unwrap();
    assert_eq!(p.index, Some(0xe040));
    assert_eq!(p.block_count, 3);
    assert_eq!(wire::block_types(p.blocks).count(), 3);
}

#[test]
fn function_code_is_opnum_and_matching_is_bounded() {
    let (rec, s) = run(&(0..40)
        .map(|i| (rpc(0, false, i, 2, &ndr(&[], None)), C))
        .collect::<Vec<_>>());
    assert_eq!(rec.of("message").len(), 40);
    assert_eq!(s.unanswered, 8);
    let body = rpc(0, false, 0, 5, &ndr(&[], None));
    let (r, _) = wire::parse_rpc(&body).unwrap();
    let m = Message {
        rpc: r,
        interface: "device",
        pnio: None,
        request: None,
        latency_ns: None,
    };
    assert_eq!(m.function_code(), 5);
}

#[test]
fn errors_and_other_interfaces() {
    let mut epm = rpc(0, false, 0, 2, &[]);
    epm[24] = 0xe1; // endpoint mapper interface: not reported
    let mut bad_ver = rpc(0, false, 0, 2, &[]);
    bad_ver[0] = 5;
    let mut bad_len = rpc(0, false, 0, 2, &[]);
    bad_len[75] = 200;
    let over = rpc(0, false, 0, 3, &ndr(&[0, 8, 0, 100, 1, 0], None));
    let (rec, _) = run(&[
        (epm, C),
        (vec![4, 0, 0], C),
        (bad_ver, C),
        (bad_len, C),
        (over, C),
    ]);
    let codes: Vec<_> = rec
        .of("malformed")
        .iter()
        .map(|m| m["error"]["code"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        codes,
        [
            "short_datagram",
            "bad_rpc_version",
            "bad_length",
            "block_overrun"
        ]
    );
    assert_eq!(rec.of("message").len(), 1);
}

#[test]
fn probe_wants_a_pnio_interface() {
    assert!(probe(Transport::Udp, &rpc(0, false, 0, 0, &[])));
    assert!(!probe(Transport::Tcp, &rpc(0, false, 0, 0, &[])));
    let mut epm = rpc(0, false, 0, 2, &[]);
    epm[24] = 0xe1;
    assert!(!probe(Transport::Udp, &epm));
}

proptest::proptest! {
    #[test]
    fn arbitrary_datagrams_never_panic(tail in proptest::collection::vec(proptest::num::u8::ANY, 0..200), le in proptest::bool::ANY) {
        let mut p = rpc(0, le, 0, 3, &[]);
        p.extend(&tail);
        let n = tail.len() as u16;
        let b = if le { n.to_le_bytes() } else { n.to_be_bytes() };
        p[74] = b[0];
        p[75] = b[1];
        let (rec, _) = run(&[(p, C)]);
        for m in rec.of("message") { let _ = m.to_string(); }
        let _ = run(&[(tail, C)]);
    }
}
