#![no_main]
//! Fuzz target: the profinet_io dissector (see `otwatch_proto::fuzzing`).
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    otwatch_proto::fuzzing::run(otwatch_core::Proto::ProfinetIo, data);
});
