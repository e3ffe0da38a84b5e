//! Live capture: one thread per interface reads libpcap and hands batches of
//! packets to the analysis thread through a bounded queue. When the queue is
//! full the batch is dropped and counted ("dropped by the sensor"), so a slow
//! analysis never stalls libpcap into kernel drops silently; both counters
//! are published per interface.
//!
//! Batches are recycled: in steady state capture allocates nothing.
//! Built only with the `live` feature (libpcap-dev); without it, configuring
//! interfaces is an error that says how to get it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::mpsc::{Receiver, SyncSender};
use std::thread::JoinHandle;
use std::time::Duration;

use otwatch_capture::{LinkType, Packet};
use otwatch_core::Timestamp;

use crate::config::SensorConfig;
#[cfg(feature = "live")]
use crate::metrics::IfaceStats;
use crate::metrics::Metrics;
use crate::runtime::Core;

/// Packets per batch.
pub const BATCH: usize = 256;

/// A batch of packets from one interface.
pub struct Batch {
    pub iface: u16,
    pub link: LinkType,
    pub data: Vec<u8>,
    /// (timestamp, captured length, original length).
    pub pkts: Vec<(Timestamp, u32, u32)>,
}

#[cfg(feature = "live")]
impl Batch {
    fn new(iface: u16, link: LinkType) -> Batch {
        Batch {
            iface,
            link,
            data: Vec::with_capacity(BATCH * 1600),
            pkts: Vec::with_capacity(BATCH),
        }
    }
}

/// The analysis thread's end of live capture.
pub struct LiveInput {
    rx: Receiver<Batch>,
    recycle: SyncSender<Batch>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    metrics: Arc<Metrics>,
    record: u64,
}

impl LiveInput {
    fn process(&mut self, core: &mut Core, b: Batch) {
        let mut off = 0usize;
        for &(ts, caplen, orig) in &b.pkts {
            let end = off + caplen as usize;
            let Some(data) = b.data.get(off..end) else {
                break;
            };
            off = end;
            self.record += 1;
            core.packet(&Packet {
                ts,
                link: b.link,
                data,
                orig_len: orig,
                input: b.iface,
                record: self.record,
            });
        }
        let n = b.pkts.len() as u64;
        let _ = self
            .metrics
            .live_queue
            .fetch_update(Relaxed, Relaxed, |q| Some(q.saturating_sub(n)));
        let mut b = b;
        b.data.clear();
        b.pkts.clear();
        let _ = self.recycle.try_send(b);
    }

    /// Processes up to `max` queued batches; true if there were any.
    pub fn drain(&mut self, core: &mut Core, max: usize) -> bool {
        let mut any = false;
        for _ in 0..max {
            match self.rx.try_recv() {
                Ok(b) => {
                    any = true;
                    self.process(core, b);
                }
                Err(_) => break,
            }
        }
        any
    }

    /// Waits up to `timeout` for a batch and processes it.
    pub fn wait(&mut self, core: &mut Core, timeout: Duration) {
        if let Ok(b) = self.rx.recv_timeout(timeout) {
            self.process(core, b);
        }
    }

    /// Stops the capture threads and processes what they queued.
    pub fn stop(mut self, core: &mut Core) {
        self.stop.store(true, Relaxed);
        for t in std::mem::take(&mut self.threads) {
            let _ = t.join();
        }
        while let Ok(b) = self.rx.try_recv() {
            self.process(core, b);
        }
    }
}

/// Starts capturing on the configured interfaces (`None` when there are none).
pub fn start(cfg: &SensorConfig, metrics: Arc<Metrics>) -> Result<Option<LiveInput>, String> {
    if cfg.capture.interfaces.is_empty() {
        return Ok(None);
    }
    imp::start(cfg, metrics).map(Some)
}

#[cfg(not(feature = "live"))]
mod imp {
    use super::*;

    pub fn start(cfg: &SensorConfig, _metrics: Arc<Metrics>) -> Result<LiveInput, String> {
        Err(format!(
            "[capture] interfaces {:?}: this otwatch was built without live capture; install \
             libpcap-dev and build with `cargo build --release -p otwatch --features live`, or \
             replay capture files instead ([capture] replay / watch)",
            cfg.capture.interfaces
        ))
    }
}

#[cfg(feature = "live")]
mod imp {
    use super::*;
    use std::sync::mpsc::{TrySendError, sync_channel};
    use std::time::Instant;

    pub fn start(cfg: &SensorConfig, metrics: Arc<Metrics>) -> Result<LiveInput, String> {
        let queue = (cfg.capture.queue_packets / BATCH).max(4);
        let (tx, rx) = sync_channel::<Batch>(queue);
        let (recycle, pool) = sync_channel::<Batch>(queue + 2 * cfg.capture.interfaces.len());
        let pool = Arc::new(std::sync::Mutex::new(pool));
        let stop = Arc::new(AtomicBool::new(false));
        if let Ok(mut v) = metrics.interfaces.lock() {
            *v = cfg
                .capture
                .interfaces
                .iter()
                .map(|i| IfaceStats {
                    interface: i.clone(),
                    ..Default::default()
                })
                .collect();
        }
        let mut threads = Vec::new();
        for (n, name) in cfg.capture.interfaces.iter().enumerate() {
            let cap = open(cfg, name)?;
            let link_raw = cap.get_datalink().0;
            let link = LinkType::from_linktype(link_raw).ok_or_else(|| {
                format!(
                    "interface {name}: link type {} ({link_raw}) is not supported",
                    LinkType::name_of(link_raw)
                )
            })?;
            let (tx, pool, stop, metrics) =
                (tx.clone(), pool.clone(), stop.clone(), metrics.clone());
            let name = name.clone();
            let t = std::thread::Builder::new()
                .name(format!("capture-{name}"))
                .spawn(move || {
                    capture_loop(cap, n as u16, link, &tx, &pool, &stop, &metrics);
                })
                .map_err(|e| format!("interface {name}: cannot start a thread: {e}"))?;
            threads.push(t);
        }
        Ok(LiveInput {
            rx,
            recycle,
            stop,
            threads,
            metrics,
            record: 0,
        })
    }

    fn open(cfg: &SensorConfig, name: &str) -> Result<pcap::Capture<pcap::Active>, String> {
        let c = &cfg.capture;
        let hint = |e: pcap::Error| {
            let s = e.to_string();
            let more = if s.contains("ermission") || s.contains("not permitted") {
                " (live capture needs root or CAP_NET_RAW: `setcap cap_net_raw,cap_net_admin=eip \
                 $(which otwatch)` or run the systemd unit in packaging/)"
            } else if s.contains("No such device") || s.contains("doesn't exist") {
                " (list interfaces with `ip link`)"
            } else {
                ""
            };
            format!("interface {name}: {s}{more}")
        };
        let mut cap = pcap::Capture::from_device(name)
            .map_err(hint)?
            .promisc(c.promiscuous)
            .snaplen(c.snaplen)
            .buffer_size(c.buffer_mib.saturating_mul(1 << 20))
            .timeout(50)
            .immediate_mode(true)
            .precision(pcap::Precision::Nano)
            .open()
            .map_err(hint)?
            // Non-blocking: a quiet interface never holds the thread, so it
            // sees the stop flag (a blocking read may wait for a packet).
            .setnonblock()
            .map_err(hint)?;
        if let Some(f) = &c.filter {
            cap.filter(f, true)
                .map_err(|e| format!("[capture] filter {f:?}: {e}"))?;
        }
        let direction = match c.direction.as_str() {
            "in" => pcap::Direction::In,
            "out" => pcap::Direction::Out,
            _ => pcap::Direction::InOut,
        };
        cap.direction(direction)
            .map_err(|e| format!("interface {name}: [capture] direction {}: {e}", c.direction))?;
        Ok(cap)
    }

    fn capture_loop(
        mut cap: pcap::Capture<pcap::Active>,
        iface: u16,
        link: LinkType,
        tx: &SyncSender<Batch>,
        pool: &std::sync::Mutex<Receiver<Batch>>,
        stop: &AtomicBool,
        metrics: &Metrics,
    ) {
        let fresh = || {
            pool.lock()
                .ok()
                .and_then(|p| p.try_recv().ok())
                .map(|mut b| {
                    b.iface = iface;
                    b.link = link;
                    b
                })
                .unwrap_or_else(|| Batch::new(iface, link))
        };
        let mut batch = fresh();
        let mut started = Instant::now();
        let mut last_stats = Instant::now();
        let mut dropped_by_sensor = 0u64;
        let send = |batch: &mut Batch, dropped: &mut u64| {
            if batch.pkts.is_empty() {
                return;
            }
            let b = std::mem::replace(batch, fresh());
            let n = b.pkts.len() as u64;
            match tx.try_send(b) {
                Ok(()) => {
                    metrics.live_queue.fetch_add(n, Relaxed);
                }
                Err(TrySendError::Full(mut b)) | Err(TrySendError::Disconnected(mut b)) => {
                    *dropped += b.pkts.len() as u64;
                    b.data.clear();
                    b.pkts.clear();
                    *batch = b;
                }
            }
        };
        let mut error = None;
        while !stop.load(Relaxed) {
            match cap.next_packet() {
                Ok(p) => {
                    let h = p.header;
                    let ts = Timestamp::from_parts(h.ts.tv_sec, h.ts.tv_usec as u64, 1_000_000_000);
                    batch.data.extend_from_slice(p.data);
                    batch.pkts.push((ts, p.data.len() as u32, h.len));
                    if batch.pkts.len() == 1 {
                        started = Instant::now();
                    }
                    if batch.pkts.len() >= BATCH || started.elapsed() > Duration::from_millis(20) {
                        send(&mut batch, &mut dropped_by_sensor);
                    }
                }
                Err(pcap::Error::TimeoutExpired) => {
                    // Nothing waiting: hand over what we have, then rest a
                    // moment (1 ms keeps the added latency negligible).
                    send(&mut batch, &mut dropped_by_sensor);
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(e) => {
                    error = Some(e.to_string());
                    break;
                }
            }
            if last_stats.elapsed() >= Duration::from_secs(1) {
                last_stats = Instant::now();
                publish(&mut cap, iface, dropped_by_sensor, None, metrics);
            }
        }
        send(&mut batch, &mut dropped_by_sensor);
        publish(&mut cap, iface, dropped_by_sensor, error, metrics);
    }

    fn publish(
        cap: &mut pcap::Capture<pcap::Active>,
        iface: u16,
        sensor_dropped: u64,
        error: Option<String>,
        metrics: &Metrics,
    ) {
        let st = cap.stats().ok();
        if let Ok(mut v) = metrics.interfaces.lock()
            && let Some(s) = v.get_mut(iface as usize)
        {
            if let Some(st) = st {
                s.received = st.received as u64;
                s.kernel_dropped = st.dropped as u64;
                s.if_dropped = st.if_dropped as u64;
            }
            s.sensor_dropped = sensor_dropped;
            if error.is_some() {
                s.error = error;
            }
        }
    }
}
