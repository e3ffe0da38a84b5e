//! The batching writer over a real SQLite store: batching, flush, back-
//! pressure, retries, invalid ops, shutdown, and crash safety (a child
//! process aborts with a batch in flight).

mod common;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use otwatch_alerts::{Alert, ScenarioKey};
use otwatch_store::{
    AlertFilter, AlertSort, Op, SqliteStore, Store, StoreConfig, Writer, WriterConfig,
};

fn put(a: &Alert, k: &ScenarioKey) -> Op {
    Op::PutAlert {
        alert: Box::new(a.clone()),
        key: k.clone(),
    }
}

fn open(dir: &Path) -> Arc<SqliteStore> {
    Arc::new(SqliteStore::open(dir).unwrap())
}

#[test]
fn ops_are_batched_and_flush_waits_for_the_commit() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path());
    let w = Writer::spawn(
        store.clone(),
        WriterConfig {
            max_batch: 100,
            max_delay: Duration::from_secs(60),
            queue: 10_000,
        },
    );
    let data = common::alerts(1, 2_500);
    for (a, k) in &data {
        w.send(put(a, k)).unwrap();
    }
    w.flush().unwrap();
    // Flush returned: everything sent before it is committed.
    assert_eq!(store.alert_count().unwrap(), 2_500);
    let st = w.stats();
    assert_eq!(
        (st.ops, st.queued, st.errors, st.rejected),
        (2_500, 0, 0, 0)
    );
    // Full batches of 100 (the long max_delay never fired).
    assert_eq!(st.batches, 25);
    assert!(st.max_commit_latency_us >= st.last_commit_latency_us);
    assert!(st.max_commit_latency_us > 0);
    // Flushing with nothing queued returns at once.
    w.flush().unwrap();
    w.shutdown().unwrap();
}

#[test]
fn a_lone_op_is_committed_after_max_delay() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path());
    let w = Writer::spawn(
        store.clone(),
        WriterConfig {
            max_batch: 1_000,
            max_delay: Duration::from_millis(20),
            queue: 100,
        },
    );
    let (a, k) = common::alerts(2, 1).remove(0);
    w.send(put(&a, &k)).unwrap();
    let t0 = Instant::now();
    while store.alert_count().unwrap() == 0 {
        assert!(t0.elapsed() < Duration::from_secs(5), "never committed");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(w.stats().batches, 1);
}

#[test]
fn a_locked_database_is_retried_and_send_blocks_when_the_queue_is_full() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqliteStore::open_with(
            tmp.path(),
            StoreConfig {
                busy_timeout: Duration::from_millis(20),
                ..StoreConfig::default()
            },
        )
        .unwrap(),
    );
    // Another connection holds the write lock: every commit fails (busy).
    let blocker = rusqlite::Connection::open(store.path()).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let w = Writer::spawn(
        store.clone(),
        WriterConfig {
            max_batch: 4,
            max_delay: Duration::from_millis(1),
            queue: 8,
        },
    );
    let data = common::alerts(3, 40);
    let sender = {
        let w = w.clone();
        let data = data.clone();
        std::thread::spawn(move || {
            for (a, k) in &data {
                w.send(put(a, k)).unwrap();
            }
        })
    };
    std::thread::sleep(Duration::from_millis(400));
    let st = w.stats();
    assert!(st.errors > 0, "{st:?}");
    assert!(st.blocked_sends > 0, "{st:?}");
    assert_eq!(st.ops, 0);
    assert!(st.queued > 0);
    assert!(
        w.last_error().unwrap().contains("lock"),
        "{:?}",
        w.last_error()
    );
    assert_eq!(store.alert_count().unwrap(), 0);
    // The lock goes away: nothing was lost.
    blocker.execute_batch("COMMIT").unwrap();
    sender.join().unwrap();
    w.flush().unwrap();
    assert_eq!(store.alert_count().unwrap(), 40);
    let st = w.stats();
    assert_eq!((st.ops, st.queued, st.rejected), (40, 0, 0));
}

#[test]
fn an_op_that_can_never_be_stored_is_rejected_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path());
    let w = Writer::spawn(store.clone(), WriterConfig::default());
    let data = common::alerts(4, 3);
    let mut bad = data[1].0.clone();
    bad.id = "s1-bad".into();
    bad.numeric_id = u64::MAX;
    w.send(put(&data[0].0, &data[0].1)).unwrap();
    w.send(put(&bad, &data[1].1)).unwrap();
    w.send(put(&data[2].0, &data[2].1)).unwrap();
    w.flush().unwrap();
    let st = w.stats();
    assert_eq!((st.ops, st.rejected, st.queued), (2, 1, 0), "{st:?}");
    assert!(store.alert(&data[0].0.id).unwrap().is_some());
    assert!(store.alert(&data[2].0.id).unwrap().is_some());
    assert!(store.alert("s1-bad").unwrap().is_none());
}

#[test]
fn shutdown_commits_everything_and_stops() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path());
    let w = Writer::spawn(
        store.clone(),
        WriterConfig {
            max_batch: 7,
            max_delay: Duration::from_secs(60),
            queue: 1_000,
        },
    );
    let other = w.clone();
    for (a, k) in &common::alerts(5, 100) {
        other.send(put(a, k)).unwrap();
    }
    w.shutdown().unwrap();
    assert_eq!(store.alert_count().unwrap(), 100);
    let (a, k) = common::alerts(6, 1).remove(0);
    assert!(other.send(put(&a, &k)).is_err());
    assert!(other.flush().is_err());
}

// ---- crash safety ----

const CRASH_ENV: &str = "OTWATCH_STORE_CRASH_DIR";

/// The child half of `kill_mid_batch_loses_no_flushed_alert`: only does
/// something when started by it (with `CRASH_ENV` set).
#[test]
fn crash_child() {
    let Some(dir) = std::env::var_os(CRASH_ENV) else {
        return;
    };
    let store = open(Path::new(&dir));
    let start = store.resume().unwrap().next_sequence.max(1);
    let w = Writer::spawn(
        store,
        WriterConfig {
            max_batch: 64,
            max_delay: Duration::from_millis(2),
            queue: 1_024,
        },
    );
    let mut rng = common::Rng::new(start);
    let mut out = std::io::stdout().lock();
    let mut pending = Vec::new();
    for seq in start..start + 1_500 {
        let (a, k) = common::alert(&mut rng, seq);
        pending.push(a.id.clone());
        w.send(put(&a, &k)).unwrap();
        if seq % 97 == 0 {
            w.flush().unwrap();
            for id in pending.drain(..) {
                writeln!(out, "committed {id}").unwrap();
            }
            out.flush().unwrap();
        }
    }
    // More alerts are in the queue and a batch is being committed.
    std::thread::sleep(Duration::from_millis(3));
    std::process::abort();
}

fn run_child(dir: &Path) -> Vec<String> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CRASH_ENV, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let ids: Vec<String> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(|l| l.ok())
        .filter_map(|l| l.strip_prefix("committed ").map(str::to_owned))
        .collect();
    let status = child.wait().unwrap();
    assert!(!status.success(), "the child should have aborted");
    assert!(ids.len() >= 1_000, "child reported only {} ids", ids.len());
    ids
}

fn numeric(id: &str) -> u64 {
    id.rsplit('-').next().unwrap().parse().unwrap()
}

#[test]
fn kill_mid_batch_loses_no_flushed_alert() {
    let tmp = tempfile::tempdir().unwrap();
    let first = run_child(tmp.path());
    // The second run resumes from the store and aborts again.
    let second = run_child(tmp.path());
    let store = open(tmp.path());
    let mut seen: HashMap<String, u32> = HashMap::new();
    let mut cursor = None;
    loop {
        let p = store
            .alerts(
                &AlertFilter::default(),
                AlertSort::IdAsc,
                cursor.as_deref(),
                500,
            )
            .unwrap();
        for a in p.items {
            *seen.entry(a.id).or_default() += 1;
        }
        cursor = p.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    for id in first.iter().chain(&second) {
        assert_eq!(seen.get(id), Some(&1), "alert {id} after the crash");
    }
    // The restart never reused an id of the first run.
    let max_first = first.iter().map(|i| numeric(i)).max().unwrap();
    assert!(second.iter().all(|i| numeric(i) > max_first));
    let unique: HashSet<&String> = first.iter().chain(&second).collect();
    assert_eq!(unique.len(), first.len() + second.len());
    let next = store.resume().unwrap().next_sequence;
    let max_all = second.iter().map(|i| numeric(i)).max().unwrap();
    assert!(next > max_all, "next_sequence {next} <= {max_all}");
}

#[test]
fn urgent_ops_are_committed_ahead_of_the_queue() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path());
    // One big batch is being gathered (the deadline is far): a user's
    // action must not wait for it.
    let w = Writer::spawn(
        store.clone(),
        WriterConfig {
            max_batch: 1_000_000,
            max_delay: Duration::from_secs(60),
            queue: 100_000,
        },
    );
    let data = common::alerts(5, 20_001);
    let (first, rest) = data.split_first().unwrap();
    for (a, k) in rest {
        w.send(put(a, k)).unwrap();
    }
    let t0 = Instant::now();
    w.send_urgent(put(&first.0, &first.1)).unwrap();
    w.urgent_ticket().unwrap().wait().unwrap();
    let waited = t0.elapsed();
    assert!(
        store.alert(&first.0.id).unwrap().is_some(),
        "urgent op committed"
    );
    // The queued batch (20,000 alerts) commits after the urgent one.
    assert!(
        store.alert_count().unwrap() < 20_001,
        "the urgent op did not wait for the queue ({waited:?})"
    );
    w.flush().unwrap();
    assert_eq!(store.alert_count().unwrap(), 20_001);
    let st = w.stats();
    assert_eq!((st.queued, st.rejected), (0, 0));
    w.shutdown().unwrap();
}
