//! Throughput of the hot path: decode, a dissector on one PDU, and the whole
//! pipeline over a capture held in memory.
//!
//! `cargo bench -p otwatch-pipeline` uses the generated demo plant; set
//! `OTWATCH_BENCH_PCAP` to a capture (e.g. the template of ../shared/bench) to
//! measure that instead.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use otwatch_capture::{LinkType, Packet};
use otwatch_core::Timestamp;
use otwatch_pipeline::{Config, Pipeline, Summary};

fn packets() -> Vec<(Timestamp, LinkType, Vec<u8>)> {
    if let Some(p) = std::env::var_os("OTWATCH_BENCH_PCAP") {
        use otwatch_capture::{FileSource, PacketSource};
        let mut src = FileSource::open(p, 0).expect("bench capture");
        let mut v = Vec::new();
        while let Some(pkt) = src.next_packet().expect("readable") {
            v.push((pkt.ts, pkt.link, pkt.data.to_vec()));
        }
        return v;
    }
    let cap = otwatch_sim::generate("demo", 1).expect("demo scenario");
    cap.packets
        .into_iter()
        .map(|(t, d)| (t, LinkType::Ethernet, d))
        .collect()
}

fn bench(c: &mut Criterion) {
    let pkts = packets();
    let mut g = c.benchmark_group("pipeline");
    g.throughput(Throughput::Elements(pkts.len() as u64));
    g.bench_function("decode+flows+dissectors+summary", |b| {
        b.iter(|| {
            let mut p = Pipeline::new(Config::default(), Summary::new());
            for (i, (ts, link, data)) in pkts.iter().enumerate() {
                p.process(&Packet {
                    ts: *ts,
                    link: *link,
                    data,
                    orig_len: data.len() as u32,
                    input: 0,
                    record: i as u64,
                });
            }
            p.finish();
            p.into_sink().messages
        })
    });
    g.bench_function("decode only", |b| {
        let mut d = otwatch_decode::Decoder::default();
        b.iter(|| {
            let mut n = 0usize;
            for (ts, link, data) in &pkts {
                if let otwatch_decode::Net::Ip(_) =
                    d.decode(*ts, *link, data, data.len() as u32).net
                {
                    n += 1;
                }
            }
            n
        })
    });
    g.finish();

    let mut adu: Vec<u8> = vec![0, 1, 0, 0, 0, 6, 1, 3, 0, 0x10, 0, 0x20];
    let mut g = c.benchmark_group("modbus");
    g.throughput(Throughput::Elements(1));
    g.bench_function("parse_adu read request", |b| {
        b.iter(|| {
            adu[1] = adu[1].wrapping_add(1);
            otwatch_proto::modbus::wire::parse_adu(&adu, otwatch_proto::modbus::wire::Side::Request)
                .map(|p| p.function_code)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
