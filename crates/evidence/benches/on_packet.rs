//! Cost of `Recorder::on_packet` per packet: the ring alone, and with
//! captures collecting (by flow and by IP pair).
//!
//! `cargo bench -p otwatch-evidence` uses the generated demo plant, whose
//! flows are assigned by the real pipeline first.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use otwatch_capture::{LinkType, Packet};
use otwatch_core::{FlowId, Timestamp};
use otwatch_evidence::{EvidenceConfig, Recorder};
use otwatch_pipeline::{Config, Pipeline, Summary};

fn packets() -> Vec<(Timestamp, Vec<u8>, Option<FlowId>)> {
    let cap = otwatch_sim::generate("demo", 1).expect("demo scenario");
    let mut p = Pipeline::new(Config::default(), Summary::new());
    cap.packets
        .into_iter()
        .enumerate()
        .map(|(i, (ts, data))| {
            p.process(&Packet {
                ts,
                link: LinkType::Ethernet,
                data: &data,
                orig_len: data.len() as u32,
                input: 0,
                record: i as u64,
            });
            (ts, data, p.last_flow())
        })
        .collect()
}

fn feed(r: &mut Recorder, pkts: &[(Timestamp, Vec<u8>, Option<FlowId>)]) {
    for (i, (ts, data, flow)) in pkts.iter().enumerate() {
        r.on_packet(
            &Packet {
                ts: *ts,
                link: LinkType::Ethernet,
                data,
                orig_len: data.len() as u32,
                input: 0,
                record: i as u64,
            },
            *flow,
        );
    }
}

fn bench(c: &mut Criterion) {
    let pkts = packets();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut g = c.benchmark_group("evidence");
    g.throughput(Throughput::Elements(pkts.len() as u64));
    let mut r = Recorder::new(dir.path(), EvidenceConfig::default()).expect("recorder");
    g.bench_function("on_packet, ring only", |b| b.iter(|| feed(&mut r, &pkts)));

    // 16 captures by flow and 4 by IP pair collecting all the time (their
    // window never ends; the caps stop them from growing).
    let mut r = Recorder::new(dir.path(), EvidenceConfig::default()).expect("recorder");
    feed(&mut r, &pkts);
    let far = Timestamp(i64::MAX / 2);
    let mut flows: Vec<FlowId> = pkts.iter().filter_map(|p| p.2).collect();
    flows.sort();
    flows.dedup();
    for (k, f) in flows.iter().take(16).enumerate() {
        r.request(&format!("f{k}"), &[*f], (None, None), far)
            .expect("request");
    }
    let pairs: Vec<_> = pkts
        .iter()
        .filter_map(|p| otwatch_evidence::ip_pair(LinkType::Ethernet, &p.1))
        .take(4)
        .collect();
    for (k, (a, b)) in pairs.iter().enumerate() {
        r.request(&format!("ip{k}"), &[], (Some(*a), Some(*b)), far)
            .expect("request");
    }
    g.bench_function("on_packet, 20 captures pending", |b| {
        b.iter(|| feed(&mut r, &pkts))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
