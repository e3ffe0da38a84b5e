//! The analysis thread: one thread owns the whole packet path (pipeline,
//! inventory, engines, alert manager, evidence recorder) and is the only
//! writer of that state. Everything else talks to it:
//!
//! - capture threads hand it batches of packets (`live.rs`);
//! - the API hands it jobs (closures run between packets, `control.rs`);
//! - it hands store operations to the batching writer (never waits on the
//!   disk, except after a user action, so that the API reads its own write).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use otwatch_alerts::timeline::{TimelineEntry, entry_for_detection, entry_for_manager_event};
use otwatch_alerts::{AlertManager, Catalog, Detection, Outcome, TimelineKind};
use otwatch_assets::Inventory;
use otwatch_capture::{Merge, Packet, PacketSource};
use otwatch_core::Timestamp;
use otwatch_engines::Engines;
use otwatch_engines::timeline::NetworkEvents;
use otwatch_pipeline::{Config as PipelineConfig, Pipeline, Summary};
use otwatch_store::{DeviceRecord, EventRecord, Op, Store};

use crate::config::SensorConfig;
use crate::evidence::Evidence;
use crate::live::LiveInput;
use crate::metrics::Metrics;

/// The sinks of the sensor's pipeline.
pub type Sinks = (Summary, (Inventory, (NetworkEvents, Engines)));

/// Where store operations go (the batching writer).
pub trait OpSink: Send {
    fn send(&self, op: Op);
    /// Returns once every operation sent before is committed.
    fn flush(&self);
    /// Asks for the commit of every operation sent before without waiting;
    /// `None` when it is already done (or failed, which is reported).
    fn flush_ticket(&self) -> Option<otwatch_store::writer::FlushTicket> {
        self.flush();
        None
    }
    /// While on, operations (and tickets) take the store's priority lane:
    /// a user's action is committed ahead of the packet path's backlog.
    fn set_urgent(&self, _on: bool) {}
}

/// A request run on the analysis thread.
pub type Job = Box<dyn FnOnce(&mut Core) + Send>;

/// Stable device ids: an inventory restarts its numbering with the process,
/// the sensor's ids (what alerts and the API show) survive restarts.
#[derive(Debug, Default)]
pub struct DeviceIds {
    by_key: HashMap<String, u64>,
    next: u64,
}

impl DeviceIds {
    pub fn key(ip: Option<IpAddr>, mac: Option<&str>) -> Option<String> {
        match (ip, mac) {
            (Some(ip), _) => Some(format!("ip:{ip}")),
            (None, Some(m)) => Some(format!("mac:{}", m.to_ascii_lowercase())),
            (None, None) => None,
        }
    }

    /// Loads the ids of the stored devices.
    pub fn load(store: &dyn Store) -> Result<DeviceIds, otwatch_store::StoreError> {
        let mut ids = DeviceIds {
            next: 1,
            ..DeviceIds::default()
        };
        for d in store.devices()? {
            let r = &d.record;
            if let Some(k) = Self::key(r.ip, r.mac.as_deref()) {
                ids.by_key.insert(k, r.id);
            }
            ids.next = ids.next.max(r.id + 1);
        }
        Ok(ids)
    }

    pub fn get(&self, key: &str) -> Option<u64> {
        self.by_key.get(key).copied()
    }

    /// The id of `key`, assigning the next one; `true` when new.
    pub fn get_or_assign(&mut self, key: String) -> (u64, bool) {
        if let Some(&id) = self.by_key.get(&key) {
            return (id, false);
        }
        let id = self.next.max(1);
        self.next = id + 1;
        self.by_key.insert(key, id);
        (id, true)
    }

    /// Points `key` at `id` (device merge).
    pub fn alias(&mut self, key: String, id: u64) {
        self.by_key.insert(key, id);
    }

    pub fn forget(&mut self, id: u64) {
        self.by_key.retain(|_, v| *v != id);
    }
}

/// Converts a timeline entry into the stored form.
pub fn event_record(e: &TimelineEntry) -> EventRecord {
    EventRecord {
        id: 0,
        ts: e.ts,
        severity: e.severity.as_str().to_string(),
        kind: e.kind.to_string(),
        title: e.title.to_string(),
        device_ip: e.device_ip,
        device_mac: e.device_mac.map(|m| m.to_string()),
        peer_ip: e.peer_ip,
        owner: e.owner.clone(),
        alert_id: e.alert_id.clone(),
        content: e.content.clone(),
    }
}

/// Wall-clock now.
pub fn wall_now() -> Timestamp {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp(d.as_nanos().min(i64::MAX as u128) as i64)
}

/// A replay in progress.
struct Replay {
    source: Merge,
    label: String,
    packets: u64,
    started: Instant,
    after: AfterReplay,
    files: Vec<PathBuf>,
}

/// Everything the analysis thread owns.
pub struct Core {
    pub cfg: Arc<SensorConfig>,
    pub pipeline: Pipeline<Sinks>,
    pub manager: AlertManager,
    pub ops: Box<dyn OpSink>,
    pub store: Arc<dyn Store>,
    pub ids: DeviceIds,
    pub metrics: Arc<Metrics>,
    pub evidence: Option<Evidence>,
    /// The commit an API call waits for (see [`Core::commit_later`]).
    pub pending_commit: Option<otwatch_store::writer::FlushTicket>,
    /// The settings documents (as the API shows them).
    pub docs: crate::control::Docs,
    /// The catalog with the current overrides (engines are rebuilt from it).
    pub catalog: Catalog,
    dirty: BTreeSet<String>,
    /// Changed alerts set aside while an API job runs (see [`Core::settle`]);
    /// written with the next [`Core::flush_alerts`].
    deferred: BTreeSet<String>,
    scratch: Vec<Detection>,
    /// Last ALERT_UPDATED timeline event per alert (capture ns), to keep one
    /// per minute per alert.
    last_update_event: HashMap<String, i64>,
    /// Last written `last_seen` per stable device id.
    device_written: HashMap<u64, Timestamp>,
    pub(crate) replays: VecDeque<(Vec<PathBuf>, AfterReplay)>,
    replay: Option<Replay>,
    watched: BTreeSet<PathBuf>,
    last_watch: Instant,
    last_fast: Instant,
    last_second: Instant,
    last_devices: Instant,
    last_baseline: Instant,
    /// Wall-clock instant of the last packet: capture time moves on with the
    /// wall clock while a live link is quiet, so alert captures finish.
    last_packet: Instant,
    last_packet_seen: bool,
    /// The user acting while a job runs (owner of the timeline events).
    pub(crate) acting: Option<String>,
    /// The latest detection of the alerts resumed at start.
    resumed_clock: Timestamp,
    /// Interfaces are captured live: the clock also follows the wall clock.
    live_clock: bool,
    pub stop: bool,
    pub(crate) replay_log: VecDeque<serde_json::Value>,
}

/// How often the analysis thread writes device facts and the baseline.
const DEVICE_EVERY: Duration = Duration::from_secs(30);
const BASELINE_EVERY: Duration = Duration::from_secs(60);
/// One ALERT_UPDATED timeline event per alert per this much capture time.
const UPDATE_EVENT_NS: i64 = 60 * 1_000_000_000;
/// Packets of a replay between checks for jobs and housekeeping.
const REPLAY_SLICE: usize = 4096;
/// Longest run of a replay slice: API calls wait at most about this long
/// for the analysis thread (checked every [`SLICE_CHECK`] packets).
const SLICE_TIME: Duration = Duration::from_millis(5);
const SLICE_CHECK: usize = 256;
/// How often the status document is republished while the sensor is busy.
pub const STATUS_EVERY: Duration = Duration::from_millis(100);

impl Core {
    /// Builds the analysis state (on the analysis thread: engines are not `Send`).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        cfg: Arc<SensorConfig>,
        engines: Engines,
        manager: AlertManager,
        catalog: Catalog,
        docs: crate::control::Docs,
        ops: Box<dyn OpSink>,
        store: Arc<dyn Store>,
        ids: DeviceIds,
        metrics: Arc<Metrics>,
        evidence: Option<Evidence>,
    ) -> Core {
        let sinks: Sinks = (
            Summary::new(),
            (Inventory::new(), (NetworkEvents::new(100_000), engines)),
        );
        let pipeline = Pipeline::new(PipelineConfig::default(), sinks);
        let now = Instant::now();
        let mut replays = VecDeque::new();
        // Configured replays run once: a restart does not feed the same
        // files again (they are remembered by path, size and mtime).
        let files: Vec<PathBuf> = cfg
            .capture
            .replay
            .iter()
            .map(|p| cfg.resolve(p))
            .filter(|p| {
                let done = store.meta(&replay_key(p)).ok().flatten();
                done.is_none() || done != file_stamp(p)
            })
            .collect();
        if !files.is_empty() {
            replays.push_back((files, AfterReplay::Remember));
        }
        let resumed_clock = manager
            .alerts()
            .map(|a| a.last_detection)
            .max()
            .unwrap_or(Timestamp::ZERO);
        let live_clock = !cfg.capture.interfaces.is_empty();
        Core {
            cfg,
            pipeline,
            manager,
            ops,
            store,
            ids,
            metrics,
            evidence,
            docs,
            catalog,
            dirty: BTreeSet::new(),
            deferred: BTreeSet::new(),
            scratch: Vec::new(),
            last_update_event: HashMap::new(),
            device_written: HashMap::new(),
            replays,
            replay: None,
            watched: BTreeSet::new(),
            last_watch: now - Duration::from_secs(3600),
            last_fast: now,
            last_second: now,
            last_devices: now,
            last_baseline: now,
            last_packet: now,
            last_packet_seen: false,
            resumed_clock,
            live_clock,
            acting: None,
            stop: false,
            replay_log: VecDeque::new(),
            pending_commit: None,
        }
    }

    pub fn engines(&mut self) -> &mut Engines {
        &mut self.pipeline.sink_mut().1.1.1
    }

    /// Capture time now (wall clock before the first packet).
    ///
    /// The sensor's clock is capture time: the latest packet, never earlier
    /// than the latest detection stored before a restart (so a restart of a
    /// sensor that replayed old captures does not age their alerts against
    /// the wall clock: auto-close and retention run on the captures' time
    /// line), and, while interfaces are captured live, never earlier than the
    /// wall clock (a quiet link still ages its alerts). Before anything at
    /// all is known, the wall clock.
    pub fn now(&self) -> Timestamp {
        let mut t = self.pipeline.now().max(self.resumed_clock);
        if self.live_clock || t == Timestamp::ZERO {
            t = t.max(wall_now());
        }
        t
    }

    /// One packet through everything.
    #[inline]
    pub fn packet(&mut self, p: &Packet<'_>) {
        self.pipeline.process(p);
        if let Some(ev) = &mut self.evidence {
            ev.on_packet(p, self.pipeline.last_flow());
        }
        let engines = &mut self.pipeline.sink_mut().1.1.1;
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.extend(engines.drain());
        for d in scratch.drain(..) {
            self.detection(d);
        }
        self.scratch = scratch;
        self.metrics.packets.fetch_add(1, Relaxed);
        self.metrics.bytes.fetch_add(p.orig_len as u64, Relaxed);
        self.last_packet_seen = true;
    }

    fn detection(&mut self, d: Detection) {
        self.metrics.detections.fetch_add(1, Relaxed);
        if let Some(e) = entry_for_detection(&d) {
            self.ops.send(Op::Event(event_record(&e)));
        }
        let flow = d.flow;
        let ips = (d.src.ip, d.dst.ip);
        let ts = d.ts;
        match self.manager.ingest(d) {
            Outcome::Created(id) => {
                self.metrics.alerts_created.fetch_add(1, Relaxed);
                self.resolve_devices(&id, ts);
                if let Some(ev) = &mut self.evidence {
                    let flows: Vec<_> = flow.into_iter().collect();
                    ev.request(&id, &flows, ips, ts);
                }
                self.dirty.insert(id);
            }
            Outcome::Updated(id) => {
                self.dirty.insert(id);
            }
            _ => {}
        }
        self.drain_manager_events();
    }

    /// Fills an alert's device ids from the stable ids (assigning new ones).
    fn resolve_devices(&mut self, id: &str, ts: Timestamp) {
        let Some(a) = self.manager.get(id) else {
            return;
        };
        let src = (a.source.ip, a.source.mac.map(|m| m.to_string()));
        let dst = (a.destination.ip, a.destination.mac.map(|m| m.to_string()));
        let mut one = |ip: Option<IpAddr>, mac: Option<String>| {
            DeviceIds::key(ip, mac.as_deref()).map(|k| self.ids.get_or_assign(k).0)
        };
        let s = one(src.0, src.1);
        let d = one(dst.0, dst.1);
        let _ = self.manager.set_device_ids(id, (s, None), (d, None), ts);
    }

    /// Turns the manager's change log into timeline events and store writes.
    pub fn drain_manager_events(&mut self) {
        for ev in self.manager.drain_events() {
            if ev.kind == TimelineKind::Updated
                && let Some(id) = &ev.alert_id
            {
                // Repeated detections: one timeline event per alert per minute.
                let last = self.last_update_event.get(id).copied();
                if last.is_some_and(|t| ev.ts.0.saturating_sub(t) < UPDATE_EVENT_NS)
                    && !ev.message.starts_with("comment by ")
                    && !ev.message.starts_with("severity ")
                {
                    continue;
                }
                if self.last_update_event.len() > 200_000 {
                    self.last_update_event.clear();
                }
                self.last_update_event.insert(id.clone(), ev.ts.0);
            }
            if ev.kind == TimelineKind::Deleted
                && let Some(id) = &ev.alert_id
            {
                self.dirty.remove(id);
                self.last_update_event.remove(id);
                if let Some(e) = &mut self.evidence {
                    e.remove(id);
                }
                self.ops.send(Op::DeleteAlert { id: id.clone() });
            } else if let Some(id) = &ev.alert_id {
                self.dirty.insert(id.clone());
            }
            let dev = ev
                .alert_id
                .as_deref()
                .and_then(|id| self.manager.get(id))
                .map(|a| (a.source.ip, a.source.mac));
            let mut entry = entry_for_manager_event(&ev, dev);
            if entry.owner.is_none() {
                entry.owner = self.acting.clone();
            }
            self.ops.send(Op::Event(event_record(&entry)));
        }
    }

    /// Before an API job: hands the packets' manager events to the
    /// writer's ordinary queue and sets the packets' changed alerts aside
    /// (written with the next second's [`Core::flush_alerts`]), so that the
    /// job puts only its own changes on the priority lane
    /// ([`Core::flush_touched`]).
    pub fn settle(&mut self) {
        self.drain_manager_events();
        if self.deferred.is_empty() {
            std::mem::swap(&mut self.dirty, &mut self.deferred);
        } else {
            let d = std::mem::take(&mut self.dirty);
            self.deferred.extend(d);
        }
    }

    /// Writes the changed alerts (those set aside by [`Core::settle`] too).
    pub fn flush_alerts(&mut self) {
        let d = std::mem::take(&mut self.deferred);
        self.dirty.extend(d);
        self.flush_touched();
    }

    /// Writes the alerts changed since the last flush or [`Core::settle`]:
    /// in an API job, the job's own.
    pub fn flush_touched(&mut self) {
        for id in std::mem::take(&mut self.dirty) {
            if let (Some(a), Some(k)) = (self.manager.get(&id), self.manager.scenario_key(&id)) {
                self.ops.send(Op::PutAlert {
                    alert: Box::new(a.clone()),
                    key: k.clone(),
                });
            }
        }
    }

    /// Marks an alert for writing.
    pub fn touch(&mut self, id: &str) {
        self.dirty.insert(id.to_string());
    }

    /// Periodic work, called between packets.
    fn housekeeping(&mut self, force: bool) {
        let now_i = Instant::now();
        if !force && now_i.duration_since(self.last_fast) < Duration::from_millis(100) {
            return;
        }
        self.last_fast = now_i;
        if std::mem::take(&mut self.last_packet_seen) {
            self.last_packet = now_i;
        }
        let now = self.now();
        // Quiet link: the evidence windows run on with the wall clock.
        let idle = now_i.duration_since(self.last_packet);
        let ev_now = now.add_nanos(idle.as_nanos().min(i64::MAX as u128) as i64);
        let net: Vec<TimelineEntry> = self.pipeline.sink_mut().1.1.0.drain().collect();
        for e in net {
            self.ops.send(Op::Event(event_record(&e)));
        }
        self.poll_evidence(ev_now, force);
        self.flush_alerts();
        if force || now_i.duration_since(self.last_second) >= Duration::from_secs(1) {
            self.last_second = now_i;
            let report = self.manager.tick(now);
            for id in report.closed {
                self.dirty.insert(id);
            }
            for id in report.deleted {
                self.dirty.remove(&id);
                if let Some(e) = &mut self.evidence {
                    e.remove(&id);
                }
                self.ops.send(Op::DeleteAlert { id });
            }
            self.drain_manager_events();
            self.flush_alerts();
            self.publish_metrics();
        }
        if force || now_i.duration_since(self.last_devices) >= DEVICE_EVERY {
            self.last_devices = now_i;
            self.write_devices();
        }
        if force || now_i.duration_since(self.last_baseline) >= BASELINE_EVERY {
            self.last_baseline = now_i;
            let json = self.engines().baseline().to_json();
            self.ops.send(Op::Baseline(json));
        }
    }

    fn poll_evidence(&mut self, now: Timestamp, force: bool) {
        let Some(ev) = &mut self.evidence else {
            return;
        };
        let out = if force { ev.finish_all() } else { ev.poll(now) };
        let wall = wall_now();
        for w in out.written {
            self.metrics.evidence_written.fetch_add(1, Relaxed);
            if self
                .manager
                .set_pcap(&w.alert_id, Some(w.reference.clone()), wall)
                .is_ok()
            {
                self.dirty.insert(w.alert_id.clone());
                self.ops.send(Op::Pcap(w.record));
            }
        }
        for id in out.removed {
            self.metrics.evidence_evicted.fetch_add(1, Relaxed);
            if self.manager.set_pcap(&id, None, wall).is_ok() {
                self.dirty.insert(id.clone());
            }
            self.ops.send(Op::PcapGone { alert_id: id });
        }
    }

    /// Writes the facts of devices seen since the last write, and a
    /// DEVICE_CREATE event for devices new to the sensor.
    pub fn write_devices(&mut self) {
        let devices = self.pipeline.sink().1.0.devices();
        for d in &devices {
            let mac = d.mac.map(|m| m.to_string());
            let Some(key) = DeviceIds::key(d.ip, mac.as_deref()) else {
                continue;
            };
            let (id, new) = self.ids.get_or_assign(key);
            if !new && self.device_written.get(&id) == Some(&d.last_seen) {
                continue;
            }
            if self.device_written.len() > 1_000_000 {
                self.device_written.clear();
            }
            let first_write = !self.device_written.contains_key(&id);
            self.device_written.insert(id, d.last_seen);
            let mut facts = serde_json::to_value(d).unwrap_or(serde_json::Value::Null);
            if let Some(o) = facts.as_object_mut() {
                // The inventory's own id restarts with the process; the
                // stable id is the record's.
                o.insert(
                    "inventory_id".into(),
                    o.get("id").cloned().unwrap_or_default(),
                );
                o.insert("id".into(), id.into());
                // Authorized: seen during learning (or authorized by a user).
                let authorized =
                    d.ip.and_then(|ip| self.pipeline.sink().1.1.1.baseline().device(ip))
                        .is_some_and(|b| b.authorized);
                o.insert("authorized".into(), authorized.into());
            }
            self.ops.send(Op::PutDevice(DeviceRecord {
                id,
                ip: d.ip,
                mac,
                first_seen: d.first_seen,
                last_seen: d.last_seen,
                facts,
            }));
            if new && first_write {
                for e in otwatch_engines::timeline::device_entries(std::slice::from_ref(d))
                    .into_iter()
                    .filter(|e| e.kind == "DEVICE_CREATE")
                {
                    self.ops.send(Op::Event(event_record(&e)));
                }
            }
        }
    }

    fn publish_metrics(&mut self) {
        let fs = *self.pipeline.flow_stats();
        let ended = fs.ended_closed + fs.ended_idle + fs.evicted + fs.ended_at_end_of_input;
        self.metrics.flows_total.store(fs.created, Relaxed);
        self.metrics
            .flows_active
            .store(fs.created.saturating_sub(ended), Relaxed);
        let mut by_engine: BTreeMap<String, u64> = BTreeMap::new();
        let mut by_status: BTreeMap<String, u64> = BTreeMap::new();
        for a in self.manager.alerts() {
            *by_engine.entry(a.engine.to_string()).or_default() += 1;
            *by_status.entry(a.status.as_str().to_string()).or_default() += 1;
        }
        let (summary, (inventory, (_, engines))) = self.pipeline.sink();
        let protocols = summary
            .protocols
            .iter()
            .map(|(p, c)| (p.name().to_string(), c.messages, c.malformed))
            .collect();
        let snap = crate::metrics::Snapshot {
            protocols,
            alerts_by_engine: by_engine.into_iter().collect(),
            alerts_by_status: by_status.into_iter().collect(),
            devices: inventory.len() as u64,
            learning: engines.baseline().learning(),
        };
        if let Ok(mut s) = self.metrics.snapshot.lock() {
            *s = snap;
        }
    }

    /// Queues capture files for replay (API upload, watched directory).
    pub fn queue_replay(&mut self, files: Vec<PathBuf>, after: AfterReplay) -> String {
        let label = files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        self.replays.push_back((files, after));
        label
    }

    /// Starts the next queued replay, if any.
    fn next_replay(&mut self) -> bool {
        while let Some((files, after)) = self.replays.pop_front() {
            let label = files
                .iter()
                .map(|f| f.display().to_string())
                .collect::<Vec<_>>()
                .join(", ");
            match Merge::open(&files) {
                Ok(source) => {
                    self.replay = Some(Replay {
                        source,
                        label,
                        packets: 0,
                        started: Instant::now(),
                        after,
                        files,
                    });
                    return true;
                }
                Err(e) => {
                    self.metrics.replay_errors.fetch_add(1, Relaxed);
                    self.log_replay(&label, 0, Some(e.to_string()), 0.0);
                    after.apply(&files, &*self.ops);
                }
            }
        }
        false
    }

    fn log_replay(&mut self, label: &str, packets: u64, error: Option<String>, secs: f64) {
        let content = match &error {
            None => format!("replayed {label}: {packets} packets in {secs:.1} s"),
            Some(e) => format!("replay of {label} stopped after {packets} packets: {e}"),
        };
        let sev = if error.is_some() { "NOTICE" } else { "INFO" };
        self.ops.send(Op::Event(EventRecord {
            id: 0,
            ts: wall_now(),
            severity: sev.into(),
            kind: "USER_OPERATION".into(),
            title: "User Operation".into(),
            device_ip: None,
            device_mac: None,
            peer_ip: None,
            owner: None,
            alert_id: None,
            content,
        }));
        if self.replay_log.len() >= 100 {
            self.replay_log.pop_front();
        }
        self.replay_log.push_back(serde_json::json!({
            "files": label, "packets": packets, "error": error, "seconds": secs,
        }));
    }

    /// Runs a slice of the current replay; false when there is none.
    fn replay_slice(&mut self) -> bool {
        if self.replay.is_none() && !self.next_replay() {
            return false;
        }
        let Some(mut r) = self.replay.take() else {
            return false;
        };
        let mut end = None;
        let started = Instant::now();
        for i in 0..REPLAY_SLICE {
            if i % SLICE_CHECK == SLICE_CHECK - 1 && started.elapsed() >= SLICE_TIME {
                break;
            }
            match r.source.next_packet() {
                Ok(Some(p)) => {
                    r.packets += 1;
                    self.packet(&p);
                }
                Ok(None) => {
                    end = Some(None);
                    break;
                }
                Err(e) => {
                    end = Some(Some(e.to_string()));
                    break;
                }
            }
        }
        match end {
            None => self.replay = Some(r),
            Some(err) => {
                self.metrics.replays_done.fetch_add(1, Relaxed);
                if err.is_some() {
                    self.metrics.replay_errors.fetch_add(1, Relaxed);
                }
                let secs = r.started.elapsed().as_secs_f64();
                self.log_replay(&r.label, r.packets, err, secs);
                r.after.apply(&r.files, &*self.ops);
                // The replay's time line ends here: its alert captures are
                // complete, and everything it raised is written before the
                // next one starts.
                let now = self.now();
                self.poll_evidence(now, true);
                self.drain_manager_events();
                // Changed alerts are written every second anyway; the
                // inventory is written whole (tens of milliseconds at 100k
                // devices, while API calls wait for this thread). Both are
                // written here once the queue of replays is empty, not
                // between queued replays (back-to-back replays of the same
                // traffic rewrote every alert twice a second).
                if self.replays.is_empty() {
                    self.flush_alerts();
                    self.write_devices();
                }
            }
        }
        true
    }

    /// Looks for new files in the watched directory.
    fn watch(&mut self) {
        let Some(dir) = self.cfg.capture.watch.as_ref().map(|d| self.cfg.resolve(d)) else {
            return;
        };
        let every = Duration::from_secs(self.cfg.capture.watch_interval_secs.max(1));
        if self.last_watch.elapsed() < every {
            return;
        }
        self.last_watch = Instant::now();
        let Ok(rd) = std::fs::read_dir(&dir) else {
            return;
        };
        let mut found: Vec<PathBuf> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.is_file()
                    && p.extension()
                        .and_then(|e| e.to_str())
                        .is_some_and(|e| matches!(e, "pcap" | "pcapng" | "cap"))
            })
            .filter(|p| !self.watched.contains(p))
            .collect();
        found.sort();
        for p in found {
            // A file still being written changes size between two scans.
            let size = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
            std::thread::sleep(Duration::from_millis(50));
            if std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0) != size {
                continue;
            }
            self.watched.insert(p.clone());
            self.replays
                .push_back((vec![p], AfterReplay::MoveTo(dir.join("done"))));
        }
    }

    /// After a restart: alerts whose capture file is gone (removed while the
    /// sensor was down) get `pcap_available: false`.
    pub fn reconcile_pcaps(&mut self) {
        let Some(ev) = &self.evidence else {
            return;
        };
        let gone: Vec<String> = self
            .manager
            .alerts()
            .filter(|a| a.pcap_available && !ev.has(&a.id))
            .map(|a| a.id.clone())
            .collect();
        let now = wall_now();
        for id in gone {
            if self.manager.set_pcap(&id, None, now).is_ok() {
                self.dirty.insert(id);
            }
        }
        self.flush_alerts();
    }

    /// Final work at shutdown: end evidence captures, write everything.
    pub fn shutdown(&mut self) {
        self.housekeeping(true);
        self.flush_alerts();
        self.ops.flush();
    }

    /// Asks the writer to commit what an API call changed; the caller (not
    /// this thread) waits for it, so packets go on meanwhile.
    pub fn commit_later(&mut self) {
        if let Some(t) = self.ops.flush_ticket() {
            self.pending_commit = Some(t);
        }
    }

    /// Publishes the status document for readers that must not wait for
    /// this thread (`/api/status`).
    pub fn publish_status(&mut self) {
        let doc = self.status_doc();
        if let Ok(mut s) = self.metrics.status.lock() {
            *s = Some(doc);
        }
    }

    /// Replays and queued replays pending.
    pub fn replay_pending(&self) -> usize {
        self.replays.len() + usize::from(self.replay.is_some())
    }
}

/// What happens to replayed files.
#[derive(Clone, Debug)]
pub enum AfterReplay {
    /// Configured replays: remembered in the store, not replayed again.
    Remember,
    /// Watched directory: moved to `done/`.
    MoveTo(PathBuf),
    /// API uploads: deleted.
    Delete,
}

impl AfterReplay {
    fn apply(&self, files: &[PathBuf], ops: &dyn OpSink) {
        match self {
            AfterReplay::Remember => {
                for f in files {
                    if let Some(stamp) = file_stamp(f) {
                        ops.send(Op::Meta {
                            key: replay_key(f),
                            value: stamp,
                        });
                    }
                }
            }
            AfterReplay::MoveTo(dir) => move_done(files, dir),
            AfterReplay::Delete => {
                for f in files {
                    let _ = std::fs::remove_file(f);
                }
            }
        }
    }
}

/// The store key remembering that a configured replay file was processed.
fn replay_key(p: &std::path::Path) -> String {
    format!("replayed:{}", p.display())
}

/// Size and modification time of a file (`None` when unreadable).
fn file_stamp(p: &std::path::Path) -> Option<String> {
    let m = std::fs::metadata(p).ok()?;
    let mtime = m
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_nanos();
    Some(format!("{}:{mtime}", m.len()))
}

fn move_done(files: &[PathBuf], dir: &std::path::Path) {
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    for f in files {
        if let Some(name) = f.file_name() {
            let _ = std::fs::rename(f, dir.join(name));
        }
    }
}

/// The analysis loop: runs until a job sets `core.stop`.
pub fn run(
    mut core: Core,
    jobs: Receiver<Job>,
    mut live: Option<LiveInput>,
    priority: &crate::priority::Priority,
) {
    core.publish_status();
    let mut published = Instant::now();
    let mut pending = core.replay_pending();
    loop {
        // API jobs first: they are short and a user waits for them.
        let mut n = 0;
        for round in 0..2 {
            while let Ok(job) = jobs.try_recv() {
                job(&mut core);
                n += 1;
                if n >= 64 {
                    break;
                }
            }
            // Back to the replay's priority; a job queued meanwhile (whose
            // boost came before this) is run now rather than left behind.
            if round == 1 || n >= 64 || !priority.restore() {
                break;
            }
        }
        core.metrics.job_queue.store(
            core.metrics.job_queue.load(Relaxed).saturating_sub(n),
            Relaxed,
        );
        if core.stop {
            break;
        }
        let mut busy = core.replay_slice();
        if let Some(l) = &mut live {
            busy |= l.drain(&mut core, 64);
        }
        core.watch();
        core.housekeeping(false);
        if core.replay_pending() != pending || published.elapsed() >= STATUS_EVERY {
            core.publish_status();
            published = Instant::now();
            pending = core.replay_pending();
        }
        if !busy {
            // Idle: wait for packets or a job.
            match &mut live {
                Some(l) => {
                    l.wait(&mut core, Duration::from_millis(10));
                }
                None => match jobs.recv_timeout(Duration::from_millis(20)) {
                    Ok(job) => {
                        job(&mut core);
                        core.metrics.job_queue.store(
                            core.metrics.job_queue.load(Relaxed).saturating_sub(1),
                            Relaxed,
                        );
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => break,
                },
            }
        }
    }
    if let Some(l) = live.take() {
        l.stop(&mut core);
    }
    core.shutdown();
}
