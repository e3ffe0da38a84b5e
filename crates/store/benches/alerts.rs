//! Store benchmarks: a page of 100 alerts with filters and sorts at 100k
//! stored alerts, and insert throughput through the batching writer.
//!
//! `cargo bench -p otwatch-store --bench alerts`

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use otwatch_alerts::{Engine, Severity, Status};
use otwatch_core::Timestamp;
use otwatch_store::{AlertFilter, AlertSort, Op, SqliteStore, Store, Writer, WriterConfig};

const STORED: u64 = 100_000;

fn filled(dir: &std::path::Path) -> SqliteStore {
    let s = SqliteStore::open(dir).unwrap();
    let mut rng = common::Rng::new(2026);
    let mut ops = Vec::with_capacity(1_000);
    for seq in 1..=STORED {
        let (a, k) = common::alert(&mut rng, seq);
        ops.push(Op::PutAlert {
            alert: Box::new(a),
            key: k,
        });
        if ops.len() == 1_000 {
            s.apply(&ops).unwrap();
            ops.clear();
        }
    }
    s.apply(&ops).unwrap();
    s
}

fn list(c: &mut Criterion) {
    let tmp = tempfile::tempdir().unwrap();
    let s = filled(tmp.path());
    let bytes = std::fs::metadata(s.path()).map(|m| m.len()).unwrap_or(0);
    eprintln!("{STORED} alerts stored, database {} MB", bytes / 1_000_000);
    let mid = Timestamp(1_700_000_000_000_000_000 + 5_000 * 1_000_000_000);
    let cases: Vec<(&str, AlertFilter, AlertSort)> = vec![
        (
            "newest",
            AlertFilter::default(),
            AlertSort::LastDetectionDesc,
        ),
        (
            "open_by_severity",
            AlertFilter {
                status: vec![Status::New, Status::Active],
                ..Default::default()
            },
            AlertSort::SeverityDesc,
        ),
        (
            "device",
            AlertFilter {
                device: Some("10.0.0.5".into()),
                ..Default::default()
            },
            AlertSort::LastDetectionDesc,
        ),
        (
            "engine_severity_time",
            AlertFilter {
                engine: vec![Engine::PolicyViolation],
                severity: vec![Severity::High, Severity::Medium],
                from: Some(mid),
                ..Default::default()
            },
            AlertSort::FirstDetectionAsc,
        ),
        (
            "text",
            AlertFilter {
                text: Some("port 502".into()),
                ..Default::default()
            },
            AlertSort::LastDetectionDesc,
        ),
        (
            "protocol_closed",
            AlertFilter {
                protocol: vec!["modbus".into()],
                status: vec![Status::Closed],
                ..Default::default()
            },
            AlertSort::IdAsc,
        ),
    ];
    let mut g = c.benchmark_group("list_page_100_at_100k");
    g.measurement_time(Duration::from_secs(4));
    g.sample_size(30);
    for (name, f, sort) in &cases {
        g.bench_function(*name, |b| {
            b.iter(|| {
                let p = s.alerts(f, *sort, None, 100).unwrap();
                assert!(p.total > 0);
                p
            })
        });
    }
    // Page 50 of the default list, through its cursor.
    let mut cursor = None;
    for _ in 0..49 {
        cursor = s
            .alerts(
                &AlertFilter::default(),
                AlertSort::LastDetectionDesc,
                cursor.as_deref(),
                100,
            )
            .unwrap()
            .next_cursor;
    }
    g.bench_function("newest_page_50", |b| {
        b.iter(|| {
            s.alerts(
                &AlertFilter::default(),
                AlertSort::LastDetectionDesc,
                cursor.as_deref(),
                100,
            )
            .unwrap()
        })
    });
    g.finish();
}

fn insert(c: &mut Criterion) {
    let tmp = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(tmp.path()).unwrap());
    let w = Writer::spawn(store, WriterConfig::default());
    let next = AtomicU64::new(1);
    let mut rng = common::Rng::new(7);
    const N: u64 = 1_000;
    let mut g = c.benchmark_group("writer_insert");
    g.throughput(Throughput::Elements(N));
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(8));
    g.bench_function("1000_new_alerts_then_flush", |b| {
        b.iter_batched(
            || {
                let start = next.fetch_add(N, Ordering::Relaxed);
                (start..start + N)
                    .map(|seq| {
                        let (a, k) = common::alert(&mut rng, seq);
                        Op::PutAlert {
                            alert: Box::new(a),
                            key: k,
                        }
                    })
                    .collect::<Vec<_>>()
            },
            |ops| {
                for op in ops {
                    w.send(op).unwrap();
                }
                w.flush().unwrap();
            },
            BatchSize::PerIteration,
        )
    });
    // An alert storm: 1000 updates of 10 alerts (100 detections each).
    g.bench_function("1000_updates_of_10_alerts_then_flush", |b| {
        b.iter_batched(
            || {
                let start = next.fetch_add(10, Ordering::Relaxed);
                let mut alerts: Vec<_> = (start..start + 10)
                    .map(|seq| common::alert(&mut rng, seq))
                    .collect();
                let mut ops = Vec::with_capacity(N as usize);
                for i in 0..N {
                    let (a, k) = &mut alerts[(i % 10) as usize];
                    a.record_violation(Timestamp(a.last_detection.0 + 1_000), format!("again {i}"));
                    ops.push(Op::PutAlert {
                        alert: Box::new(a.clone()),
                        key: k.clone(),
                    });
                }
                ops
            },
            |ops| {
                for op in ops {
                    w.send(op).unwrap();
                }
                w.flush().unwrap();
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
    let st = w.stats();
    eprintln!(
        "writer: {} ops in {} batches, max commit {} us, last {} us",
        st.ops, st.batches, st.max_commit_latency_us, st.last_commit_latency_us
    );
    w.shutdown().unwrap();
}

criterion_group!(benches, insert, list);
criterion_main!(benches);
