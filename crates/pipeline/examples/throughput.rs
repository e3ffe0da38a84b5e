//! Runs the full pipeline (all dissectors, flow tracking, run summary) over
//! captures and prints packets per second; used while tuning the hot path:
//! `cargo run --release -p otwatch-pipeline --example throughput -- FILE...`

use otwatch_capture::{Merge, PacketSource};
use otwatch_pipeline::{Config, Pipeline, Summary};

fn main() {
    let files: Vec<String> = std::env::args().skip(1).collect();
    let mut src = Merge::open(&files).unwrap_or_else(|e| panic!("{e}"));
    let mut p = Pipeline::new(Config::default(), Summary::new());
    let t = std::time::Instant::now();
    let mut n = 0u64;
    while let Some(pkt) = src.next_packet().unwrap_or_else(|e| panic!("{e}")) {
        p.process(&pkt);
        n += 1;
    }
    p.finish();
    let s = t.elapsed().as_secs_f64();
    let sum = p.sink();
    println!(
        "{n} packets in {s:.3} s: {:.0} packets/s; {} messages, {} malformed, {} flows",
        n as f64 / s,
        sum.messages,
        sum.malformed,
        p.flow_stats().created
    );
}
