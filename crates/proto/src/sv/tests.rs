//! Sampled Values frames: one message per ASDU, 9-2LE values, problems, no panics.

use otwatch_core::{MacAddr, Proto, Timestamp};
use proptest::prelude::*;

use super::*;
use crate::goose::tests::{frame, tlv};
use crate::testutil::Recorder;

fn asdu(cnt: u16, seq_len: usize) -> Vec<u8> {
    let mut data = Vec::new();
    for i in 0..(seq_len / 8) as i32 {
        data.extend((i * 100 - 250).to_be_bytes());
        data.extend((if i == 3 { 0x2000u32 } else { 0 }).to_be_bytes());
    }
    tlv(
        0x30,
        &[
            tlv(0x80, b"MU01MSVCB01"),
            tlv(0x82, &cnt.to_be_bytes()),
            tlv(0x83, &[0, 0, 0, 1]),
            tlv(0x85, &[2]),
            tlv(0x86, &[0x0f, 0xa0]),
            tlv(0x87, &data),
        ]
        .concat(),
    )
}

fn sav(n: u8, first: u16) -> Vec<u8> {
    let asdus: Vec<u8> = (0..n as u16).flat_map(|i| asdu(first + i, 64)).collect();
    tlv(0x60, &[tlv(0x80, &[n]), tlv(0xa2, &asdus)].concat())
}

fn run(frame: &[u8]) -> Recorder {
    let mut rec = Recorder::default();
    let f = crate::l2::frame_flow(
        Timestamp(0),
        MacAddr([0, 0x30, 0xa7, 1, 2, 3]),
        MacAddr([1, 0x0c, 0xcd, 4, 0, 1]),
        0,
        Proto::Sv,
        frame.len(),
    );
    let mut cx = Ctx::new(
        Timestamp(0),
        &f,
        otwatch_core::Direction::ToServer,
        &mut rec,
    );
    on_frame(frame, &mut cx);
    rec
}

fn codes(r: &Recorder) -> Vec<String> {
    r.of("malformed")
        .iter()
        .map(|m| m["error"]["code"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn one_message_per_asdu() {
    let r = run(&frame(0x4000, 0, &sav(8, 3990), None));
    assert!(codes(&r).is_empty());
    let m = r.of("message");
    assert_eq!(m.len(), 8);
    let cnts: Vec<_> = m
        .iter()
        .map(|x| x["sv"]["smp_cnt"].as_u64().unwrap())
        .collect();
    assert_eq!(cnts, (3990..3998).collect::<Vec<_>>());
    let s = &m[7]["sv"];
    assert_eq!(m[7]["kind"], "other");
    assert_eq!(s["function_code"], 0);
    assert_eq!(s["appid"], 0x4000);
    assert_eq!(s["sv_id"], "MU01MSVCB01");
    assert_eq!(s["no_asdu"], 8);
    assert_eq!(s["asdu_index"], 7);
    assert_eq!(s["conf_rev"], 1);
    assert_eq!(s["smp_synch"], 2);
    assert_eq!(s["smp_rate"], 4000);
    assert_eq!(s["seq_data_len"], 64);
    assert_eq!(s["values"][0]["name"], "ia");
    assert_eq!(s["values"][0]["value"], -250);
    assert_eq!(s["values"][3]["quality"], 0x2000);
    assert_eq!(s["values"][7]["name"], "vn");
}

#[test]
fn length_too_small_cuts_the_last_asdu() {
    // As in the corpus: Length 4 octets short, seqData cut.
    let apdu = sav(1, 2162);
    let f = frame(0x4000, 0, &apdu, Some((apdu.len() + 8 - 4) as u16));
    let r = run(&f);
    assert_eq!(r.of("message").len(), 1);
    assert_eq!(r.of("message")[0]["sv"]["smp_cnt"], 2162);
    assert_eq!(codes(&r), ["ber_error"]);
}

#[test]
fn bad_frames() {
    assert_eq!(codes(&run(&[0x40])), ["too_short"]);
    assert_eq!(
        codes(&run(&frame(1, 0, &tlv(0x61, &[]), None))),
        ["bad_apdu_tag"]
    );
    // No ASDU at all.
    let r = run(&frame(1, 0, &tlv(0x60, &tlv(0x80, &[0])), None));
    assert_eq!(codes(&r), ["missing_field"]);
    // An ASDU without smpCnt.
    let a = tlv(
        0x30,
        &[
            tlv(0x80, b"X"),
            tlv(0x83, &[1]),
            tlv(0x85, &[0]),
            tlv(0x87, &[]),
        ]
        .concat(),
    );
    let r = run(&frame(
        1,
        0,
        &tlv(0x60, &[tlv(0x80, &[1]), tlv(0xa2, &a)].concat()),
        None,
    ));
    assert_eq!(r.of("message").len(), 1);
    assert_eq!(codes(&r), ["missing_field"]);
    assert_eq!(r.of("message")[0]["sv"]["smp_cnt"], serde_json::Value::Null);
}

#[test]
fn asdus_per_frame_are_capped() {
    let asdus: Vec<u8> = (0..70u16).flat_map(|i| asdu(i, 16)).collect();
    let apdu = tlv(0x60, &[tlv(0x80, &[70]), tlv(0xa2, &asdus)].concat());
    let r = run(&frame(1, 0, &apdu, None));
    assert_eq!(r.of("message").len(), MAX_ASDUS);
}

proptest! {
    #[test]
    fn arbitrary_frames_never_panic(b in prop::collection::vec(any::<u8>(), 0..300)) {
        run(&b);
        let mut f = frame(1, 0, &[0x60], None);
        f.extend(&b);
        run(&f);
    }

    #[test]
    fn mutated_frames_never_panic(pos in 0usize..700, val in any::<u8>(), cut in 0usize..700) {
        let mut f = frame(0x4000, 0, &sav(8, 0), None);
        let n = f.len();
        f[pos % n] = val;
        f.truncate(cut);
        run(&f);
    }
}
