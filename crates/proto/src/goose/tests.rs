//! GOOSE frames: every field, problems reported with the publication, no panics.

use otwatch_core::{MacAddr, Proto, Timestamp};
use proptest::prelude::*;

use super::*;
use crate::testutil::Recorder;

pub(crate) fn tlv(id: u8, c: &[u8]) -> Vec<u8> {
    let mut v = vec![id];
    match c.len() {
        n if n < 128 => v.push(n as u8),
        n if n < 256 => v.extend([0x81, n as u8]),
        n => v.extend([0x82, (n >> 8) as u8, n as u8]),
    }
    v.extend_from_slice(c);
    v
}

/// A frame from APPID: header (Length computed unless given) and APDU.
pub(crate) fn frame(appid: u16, reserved1: u16, apdu: &[u8], length: Option<u16>) -> Vec<u8> {
    let len = length.unwrap_or((apdu.len() + 8) as u16);
    let mut v = appid.to_be_bytes().to_vec();
    v.extend(len.to_be_bytes());
    v.extend(reserved1.to_be_bytes());
    v.extend([0, 0]);
    v.extend_from_slice(apdu);
    v
}

fn fields(skip: Option<u8>, data: &[u8]) -> Vec<u8> {
    let all: Vec<(u8, Vec<u8>)> = vec![
        (0x80, b"IED1CTRL/LLN0$GO$gcbTrip".to_vec()),
        (0x81, vec![0x07, 0xd0]),
        (0x82, b"IED1CTRL/LLN0$dsTrip".to_vec()),
        (0x83, b"IED1_TRIP".to_vec()),
        (0x84, vec![0x66, 0x66, 0xb2, 0x80, 0x80, 0x00, 0x00, 0x0a]),
        (0x85, vec![0x05]),
        (0x86, vec![0x00, 0x80]),
        (0x87, vec![0x00]),
        (0x88, vec![0x01]),
        (0x89, vec![0x00]),
        (0x8a, vec![0x03]),
        (0xab, data.to_vec()),
    ];
    let mut v = Vec::new();
    for (t, c) in all {
        if Some(t) != skip {
            v.extend(tlv(t, &c));
        }
    }
    v
}

fn data3() -> Vec<u8> {
    [
        tlv(0x83, &[1]),
        tlv(0x84, &[3, 0x40]),
        tlv(0x91, &[0x66, 0x66, 0xb0, 0x80, 0, 0, 0, 0x0a]),
    ]
    .concat()
}

fn run(frame: &[u8]) -> Recorder {
    let mut rec = Recorder::default();
    let f = crate::l2::frame_flow(
        Timestamp(0),
        MacAddr([0, 0x30, 0xa7, 1, 2, 3]),
        MacAddr([1, 0x0c, 0xcd, 1, 0, 1]),
        0,
        Proto::Goose,
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
fn publication_with_every_field() {
    let r = run(&frame(0x0001, 0, &tlv(0x61, &fields(None, &data3())), None));
    assert!(codes(&r).is_empty());
    let m = r.of("message");
    assert_eq!(m.len(), 1);
    assert_eq!(m[0]["kind"], "other");
    let g = &m[0]["goose"];
    assert_eq!(g["function_code"], 0);
    assert_eq!(g["appid"], 1);
    assert_eq!(g["gocb_ref"], "IED1CTRL/LLN0$GO$gcbTrip");
    assert_eq!(g["dat_set"], "IED1CTRL/LLN0$dsTrip");
    assert_eq!(g["go_id"], "IED1_TRIP");
    assert_eq!(g["time_allowed_to_live"], 2000);
    assert_eq!(g["st_num"], 5);
    assert_eq!(g["sq_num"], 128);
    assert_eq!(g["test"], false);
    assert_eq!(g["simulated"], false);
    assert_eq!(g["conf_rev"], 1);
    assert_eq!(g["nds_com"], false);
    assert_eq!(g["num_dat_set_entries"], 3);
    assert_eq!(g["data_count"], 3);
    assert_eq!(g["t_quality"], 10);
    assert!((g["t"].as_f64().unwrap() - 1_718_006_400.5).abs() < 1e-6);
    assert_eq!(g["data"][0]["type"], "boolean");
    assert_eq!(g["data"][0]["value"], true);
    assert_eq!(g["data"][1]["type"], "bit-string");
    assert_eq!(g["data"][1]["value"], "40");
    assert_eq!(g["data"][2]["type"], "utc-time");
}

#[test]
fn simulated_bit_and_test_flag() {
    let mut f = fields(None, &data3());
    let i = f.windows(3).position(|w| w == [0x87, 1, 0]).unwrap();
    f[i + 2] = 0xff;
    let r = run(&frame(0x3fff, 0x8000, &tlv(0x61, &f), None));
    let g = &r.of("message")[0]["goose"];
    assert_eq!(g["simulated"], true);
    assert_eq!(g["test"], true);
    assert_eq!(g["reserved1"], 0x8000);
}

#[test]
fn missing_mandatory_field_is_reported_with_the_publication() {
    for (tag, name) in [
        (0x80u8, "gocbRef"),
        (0x84, "t"),
        (0x85, "stNum"),
        (0xab, "allData"),
    ] {
        let r = run(&frame(1, 0, &tlv(0x61, &fields(Some(tag), &data3())), None));
        assert_eq!(r.of("message").len(), 1, "{name}");
        assert_eq!(codes(&r), ["missing_field"], "{name}");
        let d = r.of("malformed")[0]["error"]["detail"].clone();
        assert_eq!(d, format!("mandatory field {name} is missing"));
    }
    // go_id is optional.
    let r = run(&frame(
        1,
        0,
        &tlv(0x61, &fields(Some(0x83), &data3())),
        None,
    ));
    assert!(codes(&r).is_empty());
    assert_eq!(
        r.of("message")[0]["goose"]["go_id"],
        serde_json::Value::Null
    );
}

#[test]
fn bad_frames() {
    let good = tlv(0x61, &fields(None, &data3()));
    assert_eq!(codes(&run(&[0, 1, 0])), ["too_short"]);
    assert_eq!(codes(&run(&frame(1, 0, &good, Some(4)))), ["bad_length"]);
    // Length beyond the frame: decoded, and reported.
    let r = run(&frame(1, 0, &good, Some(600)));
    assert_eq!(r.of("message").len(), 1);
    assert_eq!(codes(&r), ["bad_length"]);
    // Padding after the APDU is fine.
    let mut padded = frame(1, 0, &good, None);
    padded.extend([0; 10]);
    assert!(codes(&run(&padded)).is_empty());
    assert_eq!(
        codes(&run(&frame(1, 0, &tlv(0x60, &[]), None))),
        ["bad_apdu_tag"]
    );
    assert_eq!(
        codes(&run(&frame(1, 0, &[0x61, 0x10, 0x80], None))),
        ["ber_error"]
    );
    // A stNum of 9 octets.
    let mut f = fields(Some(0x85), &data3());
    f.extend(tlv(0x85, &[1; 9]));
    let r = run(&frame(1, 0, &tlv(0x61, &f), None));
    assert_eq!(codes(&r), ["bad_field"]);
}

#[test]
fn data_entries_are_capped_and_summarised() {
    let mut d = Vec::new();
    for i in 0..40u8 {
        d.extend(tlv(0x85, &[i]));
    }
    d.extend(tlv(0x87, &[8, 0x3f, 0x80, 0, 0]));
    d.extend(tlv(0xa2, &[tlv(0x83, &[0]), tlv(0x86, &[7])].concat()));
    d.extend(tlv(0x8a, b"txt"));
    let r = run(&frame(1, 0, &tlv(0x61, &fields(None, &d)), None));
    let g = &r.of("message")[0]["goose"];
    assert_eq!(g["data_count"], 43);
    assert_eq!(g["data"].as_array().unwrap().len(), json::MAX_ENTRIES);
    let fb = tlv(0x87, &[8, 0x3f, 0x80, 0, 0]);
    let v = wire::data_value(&crate::ber::Tlv::parse(&fb).unwrap());
    assert_eq!(v, wire::Value::Float(1.0));
    let sb = tlv(0xa2, &[tlv(0x83, &[0]), tlv(0x86, &[7])].concat());
    let s = crate::ber::Tlv::parse(&sb).unwrap();
    assert_eq!(wire::data_value(&s), wire::Value::Elements(2));
}

proptest! {
    #[test]
    fn arbitrary_frames_never_panic(b in prop::collection::vec(any::<u8>(), 0..300)) {
        run(&b);
        let mut f = frame(1, 0, &[], None);
        f.extend(&b);
        run(&f);
    }

    #[test]
    fn mutated_publications_never_panic(pos in 0usize..200, val in any::<u8>(), cut in 0usize..200) {
        let mut f = frame(1, 0, &tlv(0x61, &fields(None, &data3())), None);
        let n = f.len();
        f[pos % n] = val;
        f.truncate(cut);
        run(&f);
    }
}
