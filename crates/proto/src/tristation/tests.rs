//! TriStation tests.

use otwatch_core::{Direction, Timestamp, Transport};

use super::*;
use crate::testutil::{Recorder, flow};

fn tcm(opcode: u8, data: &[u8]) -> Vec<u8> {
    let mut v = vec![opcode, 0];
    v.extend_from_slice(&(data.len() as u16).to_le_bytes());
    v.extend_from_slice(data);
    v.extend_from_slice(&[0x12, 0x34]);
    v
}

fn cmd(code: u8, seq: u8, data: &[u8]) -> Vec<u8> {
    let mut v = vec![0x00, 0x01, code, seq, 0, 0, 0, 0];
    v.extend_from_slice(&((data.len() + 10) as u16).to_le_bytes());
    v.extend_from_slice(data);
    tcm(5, &v)
}

fn run(dgrams: &[(Direction, Vec<u8>)]) -> Recorder {
    let f = flow(Transport::Udp, 1502, false);
    let mut s = Session::default();
    let mut rec = Recorder::default();
    for (d, b) in dgrams {
        let mut cx = Ctx::new(Timestamp(0), &f, *d, &mut rec);
        assert_eq!(s.on_data(b, true, &mut cx), b.len());
    }
    rec
}

#[test]
fn triton_like_sequence() {
    let rec = run(&[
        (Direction::ToServer, tcm(1, &[])),
        (Direction::ToClient, tcm(2, &[])),
        (Direction::ToServer, cmd(19, 1, &[])),
        (Direction::ToClient, cmd(108, 1, &[0; 20])),
        (Direction::ToServer, cmd(1, 2, &[0; 8])),
        (Direction::ToClient, cmd(102, 2, &[])),
        (Direction::ToServer, cmd(55, 3, &[0xaa; 40])),
        (Direction::ToClient, cmd(153, 3, &[])),
        (Direction::ToServer, cmd(21, 4, &[])),
        (Direction::ToClient, cmd(110, 4, &[])),
        (Direction::ToServer, cmd(20, 5, &[])),
        (Direction::ToClient, cmd(203, 5, &[])),
    ]);
    let m = rec.of("message");
    assert_eq!(m.len(), 12);
    assert!(rec.of("malformed").is_empty());
    assert_eq!(m[0]["tristation"]["opcode_name"], "connect_request");
    assert_eq!(m[2]["tristation"]["command_name"], "get_cp_status");
    assert_eq!(m[4]["tristation"]["command_name"], "start_download_change");
    assert_eq!(m[6]["tristation"]["command_name"], "allocate_program");
    assert_eq!(m[8]["tristation"]["command_name"], "halt_program");
    assert_eq!(m[9]["kind"], "response");
    assert_eq!(m[11]["tristation"]["command_name"], "rejected");
}

#[test]
fn function_codes_and_identity() {
    let b = cmd(21, 4, &[]);
    let m = Message {
        frame: wire::parse(&b).unwrap(),
    };
    assert_eq!(m.function_code(), 0x515);
    let c = tcm(1, &[]);
    let m = Message {
        frame: wire::parse(&c).unwrap(),
    };
    assert_eq!(m.function_code(), 0x100);
    let mut v = vec![0u8; 481 - 14];
    v[464 - 14..470 - 14].copy_from_slice(b"700050");
    v[470 - 14..473 - 14].copy_from_slice(b"B01");
    v[473 - 14..481 - 14].copy_from_slice(b"12345678");
    let b = cmd(151, 9, &v);
    let m = Message {
        frame: wire::parse(&b).unwrap(),
    };
    let id = m.identity().unwrap();
    assert_eq!(id.serial.as_deref(), Some("12345678"));
    assert_eq!(id.product_code.as_deref(), Some("700050"));
    let mut a = vec![0u8; 8];
    a[3] = 10;
    a[4] = 3;
    let b = cmd(106, 9, &a);
    let m = Message {
        frame: wire::parse(&b).unwrap(),
    };
    let id = m.identity().unwrap();
    assert_eq!(id.firmware.as_deref(), Some("10.3"));
}

#[test]
fn errors() {
    let mut bad_len = cmd(19, 1, &[]);
    bad_len[2] = 99;
    let rec = run(&[
        (Direction::ToServer, vec![1, 2, 3]),
        (Direction::ToServer, tcm(42, &[])),
        (Direction::ToServer, bad_len),
        (Direction::ToServer, tcm(5, &[0, 1, 2])),
    ]);
    let codes: Vec<_> = rec
        .of("malformed")
        .iter()
        .map(|e| e["error"]["code"].clone())
        .collect();
    assert_eq!(
        codes,
        vec!["short", "bad_opcode", "bad_length", "short_command"]
    );
    assert!(rec.of("message").is_empty());
}

#[test]
fn probe_is_strict() {
    assert!(probe(Transport::Udp, &tcm(1, &[])));
    assert!(!probe(Transport::Udp, &cmd(19, 1, &[])));
    assert!(!probe(Transport::Tcp, &tcm(1, &[])));
    assert!(!probe(Transport::Udp, &[1, 0, 5, 0, 0, 0]));
}

proptest::proptest! {
    #[test]
    fn arbitrary_datagrams_never_panic(d in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..600), 1..6)) {
        let v: Vec<(Direction, Vec<u8>)> = d.into_iter().map(|b| (Direction::ToClient, b)).collect();
        let rec = run(&v);
        for m in rec.of("message") {
            proptest::prop_assert!(m["tristation"].is_object());
        }
    }
}
