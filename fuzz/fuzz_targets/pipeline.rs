#![no_main]
//! Fuzz target: whole frames through decode, flows, reassembly and every
//! dissector. Input: a sequence of frames, each a 2-byte length and the bytes.
use otwatch_capture::{LinkType, Packet};
use otwatch_core::Timestamp;
use otwatch_pipeline::{Config, Pipeline};
use otwatch_proto::NullSink;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut p = Pipeline::new(Config::default(), NullSink);
    let mut rest = data;
    let mut t = 0i64;
    while rest.len() >= 2 {
        let len = (u16::from_be_bytes([rest[0], rest[1]]) as usize).min(rest.len() - 2);
        let frame = &rest[2..2 + len];
        rest = &rest[2 + len..];
        t += 1_000_000;
        p.process(&Packet {
            ts: Timestamp(t),
            link: LinkType::Ethernet,
            data: frame,
            orig_len: frame.len() as u32,
            input: 0,
            record: 0,
        });
    }
    p.finish();
});
