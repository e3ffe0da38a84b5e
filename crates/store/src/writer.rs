//! The batching writer: the packet path hands [`Op`]s to a bounded queue and
//! one thread applies them in batches (one transaction each), so the packet
//! thread never waits on the disk unless the queue is full.
//!
//! A batch is committed when it holds `max_batch` ops, when `max_delay` has
//! passed since its first op, or when someone calls [`Writer::flush`].
//! Ops of a user's action take the priority lane ([`Writer::send_urgent`]):
//! a batch being applied when someone waits for that lane is cut short
//! (committed as far as it got, checked every few ops) so that the lane is
//! committed next, and the rest of the batch after it.
//!
//! Failures: a batch that fails with a store fault (I/O, disk full, lock
//! timeout) is retried with backoff until it commits, so no op is lost while
//! the fault lasts (the queue fills and `send` blocks: back-pressure). An op
//! that can never be stored ([`StoreError::Invalid`]) is isolated by
//! applying the batch op by op; only that op is rejected, counted in
//! [`WriterStats::rejected`] and reported on stderr.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::{Op, Result, Store, StoreError};

/// Batching limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriterConfig {
    /// Ops per transaction at most.
    pub max_batch: usize,
    /// How long the first op of a batch waits for company.
    pub max_delay: Duration,
    /// Queue capacity (ops); `send` blocks when it is full.
    pub queue: usize,
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig {
            max_batch: 1_000,
            max_delay: Duration::from_millis(50),
            queue: 65_536,
        }
    }
}

/// Counters for Prometheus (`/metrics`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct WriterStats {
    /// Ops sent but not committed yet (queue plus the batch being built).
    pub queued: u64,
    /// Committed transactions.
    pub batches: u64,
    /// Committed ops.
    pub ops: u64,
    /// Duration of the last successful commit, microseconds.
    pub last_commit_latency_us: u64,
    pub max_commit_latency_us: u64,
    /// Failed commit attempts (each retried).
    pub errors: u64,
    /// `send` calls that found the queue full and had to wait.
    pub blocked_sends: u64,
    /// Ops that can never be stored ([`StoreError::Invalid`]), not applied.
    pub rejected: u64,
}

// Nearly every message is an op, so boxing it would only add an allocation.
#[allow(clippy::large_enum_variant)]
enum Msg {
    Op(Op),
    Flush(SyncSender<()>),
    /// Urgent ops are waiting (see [`Writer::send_urgent`]).
    Wake,
    Shutdown,
}

/// The priority lane: ops of a user's action, committed ahead of the queue.
#[derive(Default)]
struct Urgent {
    ops: Vec<Op>,
    flushes: Vec<SyncSender<()>>,
}

#[derive(Default)]
struct Counters {
    queued: AtomicU64,
    batches: AtomicU64,
    ops: AtomicU64,
    last_latency: AtomicU64,
    max_latency: AtomicU64,
    errors: AtomicU64,
    blocked: AtomicU64,
    rejected: AtomicU64,
}

struct Shared {
    counters: Counters,
    urgent: Mutex<Urgent>,
    /// Someone waits for the priority lane (a ticket or a nudge): the batch
    /// being applied is cut short and committed, so that it goes next.
    urgent_waiting: std::sync::atomic::AtomicBool,
    last_error: Mutex<Option<String>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// A pending [`Writer::flush_ticket`].
#[derive(Debug)]
pub struct FlushTicket(Receiver<()>);

impl FlushTicket {
    /// Waits until the ops sent before the ticket was taken are committed.
    pub fn wait(self) -> Result<()> {
        self.0.recv().map_err(|_| stopped())
    }

    /// As [`FlushTicket::wait`], giving up after `limit`.
    pub fn wait_timeout(self, limit: Duration) -> Result<()> {
        self.0.recv_timeout(limit).map_err(|e| match e {
            RecvTimeoutError::Timeout => StoreError::Backend {
                what: "writer".into(),
                detail: format!("no commit within {} ms", limit.as_millis()),
            },
            RecvTimeoutError::Disconnected => stopped(),
        })
    }
}

/// A handle on the writer thread (cheap to clone, `Send + Sync`).
#[derive(Clone)]
pub struct Writer {
    tx: SyncSender<Msg>,
    shared: Arc<Shared>,
}

fn stopped() -> StoreError {
    StoreError::Backend {
        what: "writer".into(),
        detail: "the writer thread has stopped".into(),
    }
}

impl Writer {
    /// Starts the writer thread over `store`.
    pub fn spawn(store: Arc<dyn Store>, config: WriterConfig) -> Writer {
        let (tx, rx) = std::sync::mpsc::sync_channel(config.queue.max(1));
        let shared = Arc::new(Shared {
            counters: Counters::default(),
            urgent: Mutex::new(Urgent::default()),
            urgent_waiting: std::sync::atomic::AtomicBool::new(false),
            last_error: Mutex::new(None),
            thread: Mutex::new(None),
        });
        let worker = Worker {
            store,
            max_batch: config.max_batch.max(1),
            max_delay: config.max_delay,
            shared: Arc::clone(&shared),
            reported: HashSet::new(),
        };
        let handle = std::thread::Builder::new()
            .name("otwatch-store-writer".into())
            .spawn(move || worker.run(rx))
            .expect("spawning the store writer thread");
        *shared.thread.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle);
        Writer { tx, shared }
    }

    /// Queues one op; blocks while the queue is full (counted in
    /// [`WriterStats::blocked_sends`]). Fails only when the writer stopped.
    pub fn send(&self, op: Op) -> Result<()> {
        let c = &self.shared.counters;
        c.queued.fetch_add(1, Ordering::Relaxed);
        let r = match self.tx.try_send(Msg::Op(op)) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(m)) => {
                c.blocked.fetch_add(1, Ordering::Relaxed);
                self.tx.send(m).map_err(|_| stopped())
            }
            Err(TrySendError::Disconnected(_)) => Err(stopped()),
        };
        if r.is_err() {
            c.queued.fetch_sub(1, Ordering::Relaxed);
        }
        r
    }

    /// Queues an op on the priority lane (committed at the next
    /// [`Writer::urgent_ticket`] or [`Writer::nudge`], or with the next
    /// batch): it is committed in its own small
    /// transaction before the ops waiting in the queue (a user's action must
    /// not wait behind a replay's backlog). Safe for alerts because the
    /// store keeps the highest revision of an alert whatever the order.
    pub fn send_urgent(&self, op: Op) -> Result<()> {
        self.shared.counters.queued.fetch_add(1, Ordering::Relaxed);
        self.shared
            .urgent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .ops
            .push(op);
        Ok(())
    }

    /// A ticket for the commit of every op sent with [`Writer::send_urgent`]
    /// before it (not of the queue).
    pub fn urgent_ticket(&self) -> Result<FlushTicket> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.shared
            .urgent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .flushes
            .push(tx);
        self.wake()?;
        Ok(FlushTicket(rx))
    }

    /// Asks the writer to commit the priority lane now (no ticket).
    pub fn nudge(&self) -> Result<()> {
        self.wake()
    }

    fn wake(&self) -> Result<()> {
        self.shared.urgent_waiting.store(true, Ordering::Release);
        match self.tx.try_send(Msg::Wake) {
            // A full queue means the worker is busy: it looks at the urgent
            // lane before every batch anyway.
            Ok(()) | Err(TrySendError::Full(_)) => Ok(()),
            Err(TrySendError::Disconnected(_)) => Err(stopped()),
        }
    }

    /// Returns once every op sent (by any handle) before this call is
    /// committed (or rejected as invalid).
    pub fn flush(&self) -> Result<()> {
        self.flush_ticket()?.wait()
    }

    /// Asks for a commit of every op sent before this call without waiting
    /// for it: the ticket's [`FlushTicket::wait`] returns once it is done.
    /// The packet thread hands the ticket to whoever must wait (an API
    /// caller) and goes on with its packets.
    pub fn flush_ticket(&self) -> Result<FlushTicket> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.tx.send(Msg::Flush(tx)).map_err(|_| stopped())?;
        Ok(FlushTicket(rx))
    }

    /// Commits everything queued and stops the thread. Later `send`s on
    /// any clone fail.
    pub fn shutdown(&self) -> Result<()> {
        let flushed = self.flush();
        let _ = self.tx.send(Msg::Shutdown);
        let handle = self
            .shared
            .thread
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(h) = handle {
            h.join().map_err(|_| StoreError::Backend {
                what: "writer".into(),
                detail: "the writer thread panicked".into(),
            })?;
        }
        flushed
    }

    pub fn stats(&self) -> WriterStats {
        let c = &self.shared.counters;
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        WriterStats {
            queued: g(&c.queued),
            batches: g(&c.batches),
            ops: g(&c.ops),
            last_commit_latency_us: g(&c.last_latency),
            max_commit_latency_us: g(&c.max_latency),
            errors: g(&c.errors),
            blocked_sends: g(&c.blocked),
            rejected: g(&c.rejected),
        }
    }

    /// The most recent commit error, if any (for the health endpoint).
    pub fn last_error(&self) -> Option<String> {
        self.shared
            .last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

struct Worker {
    store: Arc<dyn Store>,
    max_batch: usize,
    max_delay: Duration,
    shared: Arc<Shared>,
    /// Error kinds already printed (each is printed once).
    reported: HashSet<String>,
}

const BACKOFF_START: Duration = Duration::from_millis(10);
const BACKOFF_MAX: Duration = Duration::from_secs(2);

impl Worker {
    fn run(mut self, rx: Receiver<Msg>) {
        let mut batch: Vec<Op> = Vec::with_capacity(self.max_batch);
        let mut flushes: Vec<SyncSender<()>> = Vec::new();
        loop {
            let mut stop = false;
            let mut wake = false;
            self.urgent();
            match rx.recv() {
                Ok(m) => Self::take(m, &mut batch, &mut flushes, &mut stop, &mut wake),
                Err(_) => stop = true,
            }
            let deadline = Instant::now() + self.max_delay;
            while !stop && !wake && flushes.is_empty() && batch.len() < self.max_batch {
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                match rx.recv_timeout(deadline - now) {
                    Ok(m) => Self::take(m, &mut batch, &mut flushes, &mut stop, &mut wake),
                    Err(RecvTimeoutError::Timeout) => break,
                    Err(RecvTimeoutError::Disconnected) => stop = true,
                }
            }
            self.urgent();
            self.commit_batch(&mut batch);
            for f in flushes.drain(..) {
                let _ = f.send(());
            }
            if stop {
                self.urgent();
                return;
            }
        }
    }

    /// Commits the priority lane in its own transaction, then answers its
    /// tickets.
    fn urgent(&mut self) {
        let (mut ops, flushes) = {
            let mut u = self.shared.urgent.lock().unwrap_or_else(|p| p.into_inner());
            self.shared.urgent_waiting.store(false, Ordering::Release);
            (std::mem::take(&mut u.ops), std::mem::take(&mut u.flushes))
        };
        self.commit(&mut ops);
        for f in flushes {
            let _ = f.send(());
        }
    }

    fn take(
        m: Msg,
        batch: &mut Vec<Op>,
        flushes: &mut Vec<SyncSender<()>>,
        stop: &mut bool,
        wake: &mut bool,
    ) {
        match m {
            Msg::Op(op) => batch.push(op),
            Msg::Flush(tx) => flushes.push(tx),
            Msg::Wake => *wake = true,
            Msg::Shutdown => *stop = true,
        }
    }

    /// Applies `ops` until it commits or is found invalid; `Err` only for
    /// [`StoreError::Invalid`]. With `yielding`, the transaction is cut
    /// short when the priority lane is waited for; the number of ops
    /// committed is returned.
    fn apply_retrying(
        &mut self,
        ops: &[Op],
        yielding: bool,
    ) -> std::result::Result<usize, StoreError> {
        let mut backoff = BACKOFF_START;
        let shared = self.shared.clone();
        let cut = || yielding && shared.urgent_waiting.load(Ordering::Acquire);
        loop {
            let t0 = Instant::now();
            match self.store.apply_until(ops, &cut) {
                Ok(n) => {
                    let us = u64::try_from(t0.elapsed().as_micros()).unwrap_or(u64::MAX);
                    let c = &self.shared.counters;
                    c.last_latency.store(us, Ordering::Relaxed);
                    c.max_latency.fetch_max(us, Ordering::Relaxed);
                    c.batches.fetch_add(1, Ordering::Relaxed);
                    c.ops.fetch_add(n as u64, Ordering::Relaxed);
                    c.queued.fetch_sub(n as u64, Ordering::Relaxed);
                    return Ok(n);
                }
                Err(e) => {
                    self.shared.counters.errors.fetch_add(1, Ordering::Relaxed);
                    self.report(&e);
                    if matches!(e, StoreError::Invalid { .. }) {
                        return Err(e);
                    }
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
            }
        }
    }

    /// Commits `batch` (emptied), in several transactions when the
    /// priority lane is waited for meanwhile (it is committed in between).
    fn commit_batch(&mut self, batch: &mut Vec<Op>) {
        let mut start = 0;
        while start < batch.len() {
            match self.apply_retrying(&batch[start..], true) {
                Ok(n) => {
                    start += n;
                    if start < batch.len() {
                        self.urgent();
                    }
                }
                Err(_) => {
                    self.isolate(&batch[start..]);
                    break;
                }
            }
        }
        batch.clear();
    }

    /// Commits `ops` (emptied) in one transaction.
    fn commit(&mut self, ops: &mut Vec<Op>) {
        if !ops.is_empty() && self.apply_retrying(ops, false).is_err() {
            self.isolate(ops);
        }
        ops.clear();
    }

    /// Applies `ops` one by one: finds the op(s) that cannot be stored and
    /// keeps the order of the rest.
    fn isolate(&mut self, ops: &[Op]) {
        for op in ops {
            if let Err(e) = self.apply_retrying(std::slice::from_ref(op), false) {
                let c = &self.shared.counters;
                c.rejected.fetch_add(1, Ordering::Relaxed);
                c.queued.fetch_sub(1, Ordering::Relaxed);
                eprintln!("otwatch store: rejected {}: {e}", op_name(op));
            }
        }
    }

    fn report(&mut self, e: &StoreError) {
        let text = e.to_string();
        *self
            .shared
            .last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(text.clone());
        let kind = match e {
            StoreError::Backend { what, .. } => format!("backend {what}"),
            StoreError::Invalid { what, .. } => format!("invalid {what}"),
            StoreError::Corrupt { table, .. } => format!("corrupt {table}"),
            other => other.to_string(),
        };
        if self.reported.len() < 64 && self.reported.insert(kind) {
            eprintln!("otwatch store: write failed (retrying unless invalid): {text}");
        }
    }
}

fn op_name(op: &Op) -> String {
    match op {
        Op::PutAlert { alert, .. } => format!("alert {}", alert.id),
        Op::DeleteAlert { id } => format!("delete of alert {id}"),
        Op::Learned { key, .. } => format!("learned key of {}", key.type_id),
        Op::Muted { key, .. } => format!("muted key of {}", key.type_id),
        Op::Event(e) => format!("event {}", e.kind),
        Op::PutDevice(d) => format!("device {}", d.id),
        Op::Baseline(_) => "baseline".into(),
        Op::Pcap(p) => format!("pcap of {}", p.alert_id),
        Op::PcapGone { alert_id } => format!("pcap removal of {alert_id}"),
        Op::Meta { key, .. } => format!("meta {key}"),
    }
}
