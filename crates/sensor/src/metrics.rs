//! The sensor's counters, rendered in the Prometheus text format.
//!
//! The packet thread owns the numbers; it publishes them here (atomics and a
//! snapshot of the per-protocol and per-engine tables) about once a second,
//! so that `/metrics` never touches the packet path.

use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Per-interface capture counters.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct IfaceStats {
    pub interface: String,
    /// Packets the kernel delivered to libpcap.
    pub received: u64,
    /// Dropped by the kernel (buffer full) and by the interface/driver.
    pub kernel_dropped: u64,
    pub if_dropped: u64,
    /// Dropped by the sensor: its queue to the analysis thread was full.
    pub sensor_dropped: u64,
    /// Capture error, if the interface stopped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Tables published by the packet thread.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// (protocol, messages, malformed).
    pub protocols: Vec<(String, u64, u64)>,
    /// (engine, alerts).
    pub alerts_by_engine: Vec<(String, u64)>,
    /// Alerts by status.
    pub alerts_by_status: Vec<(String, u64)>,
    pub devices: u64,
    pub learning: bool,
}

#[derive(Debug, Default)]
pub struct Metrics {
    pub packets: AtomicU64,
    pub bytes: AtomicU64,
    pub flows_active: AtomicU64,
    pub flows_total: AtomicU64,
    pub detections: AtomicU64,
    pub alerts_created: AtomicU64,
    pub live_queue: AtomicU64,
    pub job_queue: AtomicU64,
    pub replays_done: AtomicU64,
    pub replay_errors: AtomicU64,
    pub evidence_written: AtomicU64,
    pub evidence_evicted: AtomicU64,
    pub store_queue: AtomicU64,
    pub store_batches: AtomicU64,
    pub store_errors: AtomicU64,
    pub store_commit_us_last: AtomicU64,
    pub store_commit_us_max: AtomicU64,
    pub interfaces: Mutex<Vec<IfaceStats>>,
    pub snapshot: Mutex<Snapshot>,
    /// The `/api/status` document, published by the analysis thread (after
    /// each API call it answers, when a replay starts or ends, and every
    /// [`crate::runtime::STATUS_EVERY`] while busy), so that reading it never
    /// waits for the packet path. `None` until the first publication.
    pub status: Mutex<Option<serde_json::Value>>,
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    pub fn interfaces(&self) -> Vec<IfaceStats> {
        self.interfaces
            .lock()
            .map(|v| v.clone())
            .unwrap_or_default()
    }

    /// Prometheus text exposition (version 0.0.4).
    pub fn render(&self) -> String {
        let mut o = String::with_capacity(4096);
        let counter = |o: &mut String, name: &str, help: &str, v: u64| {
            let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}");
        };
        counter(
            &mut o,
            "otwatch_packets_total",
            "Packets analysed.",
            self.packets.load(Relaxed),
        );
        counter(
            &mut o,
            "otwatch_bytes_total",
            "Bytes analysed.",
            self.bytes.load(Relaxed),
        );
        counter(
            &mut o,
            "otwatch_flows_total",
            "Flows created.",
            self.flows_total.load(Relaxed),
        );
        counter(
            &mut o,
            "otwatch_detections_total",
            "Detections handed to the alert manager.",
            self.detections.load(Relaxed),
        );
        counter(
            &mut o,
            "otwatch_alerts_created_total",
            "Alerts created.",
            self.alerts_created.load(Relaxed),
        );
        counter(
            &mut o,
            "otwatch_replays_total",
            "Capture files replayed.",
            self.replays_done.load(Relaxed),
        );
        counter(
            &mut o,
            "otwatch_replay_errors_total",
            "Capture files that could not be read completely.",
            self.replay_errors.load(Relaxed),
        );
        counter(
            &mut o,
            "otwatch_evidence_written_total",
            "Alert captures written.",
            self.evidence_written.load(Relaxed),
        );
        counter(
            &mut o,
            "otwatch_evidence_evicted_total",
            "Alert captures removed by the size cap.",
            self.evidence_evicted.load(Relaxed),
        );
        counter(
            &mut o,
            "otwatch_store_batches_total",
            "Store transactions committed.",
            self.store_batches.load(Relaxed),
        );
        counter(
            &mut o,
            "otwatch_store_errors_total",
            "Store batches that failed (and were retried).",
            self.store_errors.load(Relaxed),
        );
        let gauge = |o: &mut String, name: &str, help: &str, v: u64| {
            let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        };
        gauge(
            &mut o,
            "otwatch_flows_active",
            "Flows tracked now.",
            self.flows_active.load(Relaxed),
        );
        gauge(
            &mut o,
            "otwatch_live_queue_packets",
            "Packets queued between capture and analysis.",
            self.live_queue.load(Relaxed),
        );
        gauge(
            &mut o,
            "otwatch_control_queue",
            "API requests waiting for the analysis thread.",
            self.job_queue.load(Relaxed),
        );
        gauge(
            &mut o,
            "otwatch_store_queue",
            "Store operations waiting to be committed.",
            self.store_queue.load(Relaxed),
        );
        gauge(
            &mut o,
            "otwatch_store_commit_seconds_last",
            "Duration of the last store commit.",
            0,
        );
        // Replace the placeholder above with a float (gauge helper is integer).
        let last = self.store_commit_us_last.load(Relaxed) as f64 / 1e6;
        let max = self.store_commit_us_max.load(Relaxed) as f64 / 1e6;
        o = o.replace(
            "otwatch_store_commit_seconds_last 0\n",
            &format!("otwatch_store_commit_seconds_last {last}\n"),
        );
        let _ = writeln!(
            o,
            "# HELP otwatch_store_commit_seconds_max Longest store commit.\n# TYPE otwatch_store_commit_seconds_max gauge\notwatch_store_commit_seconds_max {max}"
        );
        let ifs = self.interfaces();
        if !ifs.is_empty() {
            for (name, help, f) in [
                (
                    "otwatch_capture_received_total",
                    "Packets received from the interface.",
                    (|s: &IfaceStats| s.received) as fn(&IfaceStats) -> u64,
                ),
                (
                    "otwatch_capture_kernel_dropped_total",
                    "Packets dropped by the kernel.",
                    |s: &IfaceStats| s.kernel_dropped,
                ),
                (
                    "otwatch_capture_if_dropped_total",
                    "Packets dropped by the interface or driver.",
                    |s: &IfaceStats| s.if_dropped,
                ),
                (
                    "otwatch_capture_sensor_dropped_total",
                    "Packets dropped by the sensor (analysis queue full).",
                    |s: &IfaceStats| s.sensor_dropped,
                ),
            ] {
                let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} counter");
                for s in &ifs {
                    let _ = writeln!(o, "{name}{{interface=\"{}\"}} {}", esc(&s.interface), f(s));
                }
            }
        }
        let snap = self.snapshot.lock().map(|s| s.clone()).unwrap_or_default();
        let _ = writeln!(
            o,
            "# HELP otwatch_messages_total Application messages per protocol.\n# TYPE otwatch_messages_total counter"
        );
        for (p, m, _) in &snap.protocols {
            let _ = writeln!(o, "otwatch_messages_total{{protocol=\"{}\"}} {m}", esc(p));
        }
        let _ = writeln!(
            o,
            "# HELP otwatch_malformed_total Malformed PDUs per protocol.\n# TYPE otwatch_malformed_total counter"
        );
        for (p, _, b) in &snap.protocols {
            let _ = writeln!(o, "otwatch_malformed_total{{protocol=\"{}\"}} {b}", esc(p));
        }
        let _ = writeln!(
            o,
            "# HELP otwatch_alerts Alerts kept, per engine.\n# TYPE otwatch_alerts gauge"
        );
        for (e, n) in &snap.alerts_by_engine {
            let _ = writeln!(o, "otwatch_alerts{{engine=\"{}\"}} {n}", esc(e));
        }
        let _ = writeln!(
            o,
            "# HELP otwatch_alerts_by_status Alerts kept, per status.\n# TYPE otwatch_alerts_by_status gauge"
        );
        for (s, n) in &snap.alerts_by_status {
            let _ = writeln!(o, "otwatch_alerts_by_status{{status=\"{}\"}} {n}", esc(s));
        }
        gauge(
            &mut o,
            "otwatch_devices",
            "Devices in the inventory.",
            snap.devices,
        );
        gauge(
            &mut o,
            "otwatch_learning",
            "1 while learning mode is on.",
            snap.learning as u64,
        );
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_valid_exposition_lines() {
        let m = Metrics::default();
        m.packets.store(42, Relaxed);
        m.store_commit_us_last.store(1500, Relaxed);
        *m.interfaces.lock().unwrap() = vec![IfaceStats {
            interface: "eth\"0".into(),
            received: 10,
            kernel_dropped: 1,
            ..Default::default()
        }];
        m.snapshot.lock().unwrap().protocols = vec![("modbus".into(), 7, 1)];
        let t = m.render();
        assert!(t.contains("otwatch_packets_total 42\n"), "{t}");
        assert!(
            t.contains("otwatch_store_commit_seconds_last 0.0015\n"),
            "{t}"
        );
        assert!(
            t.contains("otwatch_capture_kernel_dropped_total{interface=\"eth\\\"0\"} 1"),
            "{t}"
        );
        assert!(
            t.contains("otwatch_messages_total{protocol=\"modbus\"} 7"),
            "{t}"
        );
        for line in t.lines().filter(|l| !l.starts_with('#')) {
            let (name, value) = line.rsplit_once(' ').unwrap();
            assert!(!name.is_empty());
            value
                .parse::<f64>()
                .unwrap_or_else(|_| panic!("bad value in {line}"));
        }
    }
}
