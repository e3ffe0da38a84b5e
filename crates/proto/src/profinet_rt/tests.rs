//! RT frame tests: classes, APDU status, errors.

use otwatch_core::{Direction, Timestamp, Transport};

use super::*;
use crate::testutil::{Recorder, flow};

fn run(frames: &[Vec<u8>]) -> Recorder {
    let f = flow(Transport::L2, 0, false);
    let mut rec = Recorder::default();
    for fr in frames {
        let mut cx = Ctx::new(Timestamp(0), &f, Direction::ToServer, &mut rec);
        on_frame(fr, &mut cx);
    }
    rec
}

#[test]
fn classes_by_frame_id() {
    for (id, c) in [
        (0x0100u16, 1u8),
        (0x8001, 2),
        (0xc000, 3),
        (0xfc01, 5),
        (0xfe01, 6),
        (0xff40, 7),
        (0x0080, 7),
        (0xff81, 8),
        (0xfd00, 8),
    ] {
        assert_eq!(class_of(id), c, "0x{id:04x}");
    }
}

#[test]
fn cyclic_frame_status() {
    let mut f = vec![0xc0, 0x01];
    f.extend([0x80; 40]);
    f.extend([0x12, 0x34, 0x35, 0x00]);
    let rec = run(&[f]);
    let m = &rec.of("message")[0];
    assert_eq!(m["kind"], "other");
    let o = &m["profinet_rt"];
    assert_eq!(o["class"], "RT_CLASS_1");
    assert_eq!(o["cycle_counter"], 0x1234);
    assert_eq!(o["data_status"], 0x35);
    assert_eq!(o["transfer_status"], 0);
    assert_eq!(o["data_len"], 40);
    let msg = parse(&[0xfe, 0x01, 1, 2, 3]).unwrap();
    assert_eq!(msg.function_code(), 6);
    assert_eq!(msg.status, None);
}

#[test]
fn short_frames_are_malformed() {
    let rec = run(&[vec![0x80], vec![0x80, 0x00, 1, 2]]);
    let mal = rec.of("malformed");
    assert_eq!(mal.len(), 2);
    assert_eq!(mal[1]["error"]["function_code"], 2);
}

proptest::proptest! {
    #[test]
    fn arbitrary_frames_never_panic(b in proptest::collection::vec(proptest::num::u8::ANY, 0..80)) {
        let _ = run(&[b]);
    }
}
