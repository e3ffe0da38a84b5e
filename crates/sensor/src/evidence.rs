//! The PCAP of each alert: the sensor's side of `otwatch_evidence`.
//!
//! Every packet goes into the recorder's ring with its flow id; a new alert
//! asks for the packets of its flow (or, without one, of its two addresses)
//! from shortly before the detection until a while after; finished files
//! are recorded in the store and on the alert (`pcap`, `pcap_available`),
//! and files removed by the directory cap clear `pcap_available`.

use std::net::IpAddr;
use std::path::PathBuf;

use otwatch_capture::Packet;
use otwatch_core::{FlowId, Timestamp};
use otwatch_evidence::{EvidenceConfig, Recorder};
use otwatch_store::PcapRecord;

/// A capture file written for an alert.
pub struct Written {
    pub alert_id: String,
    /// What the alert shows as its `pcap` (the file name).
    pub reference: String,
    pub record: PcapRecord,
}

/// What a poll finished.
#[derive(Default)]
pub struct Out {
    pub written: Vec<Written>,
    /// Alerts whose capture was removed by the size cap.
    pub removed: Vec<String>,
}

pub struct Evidence {
    rec: Recorder,
    /// Requests that could not start (nothing to capture, bad id).
    pub refused: u64,
    /// Files that could not be written or removed (last error kept).
    pub failed: u64,
    pub last_error: Option<String>,
}

impl Evidence {
    pub fn new(dir: PathBuf, cfg: EvidenceConfig) -> Result<Evidence, String> {
        let rec = Recorder::new(&dir, cfg)
            .map_err(|e| format!("alert captures in {}: {e}", dir.display()))?;
        Ok(Evidence {
            rec,
            refused: 0,
            failed: 0,
            last_error: None,
        })
    }

    #[inline]
    pub fn on_packet(&mut self, p: &Packet<'_>, flow: Option<FlowId>) {
        self.rec.on_packet(p, flow);
    }

    pub fn request(
        &mut self,
        alert_id: &str,
        flows: &[FlowId],
        ips: (Option<IpAddr>, Option<IpAddr>),
        ts: Timestamp,
    ) {
        if self.rec.request(alert_id, flows, ips, ts).is_err() {
            self.refused += 1;
        }
    }

    fn convert(&mut self, r: otwatch_evidence::Report) -> Out {
        let now = crate::runtime::wall_now();
        for (_, e) in &r.failed {
            self.failed += 1;
            self.last_error = Some(e.to_string());
        }
        Out {
            written: r
                .written
                .into_iter()
                .map(|w| Written {
                    reference: w
                        .path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    record: PcapRecord {
                        alert_id: w.alert_id.clone(),
                        path: w.path.display().to_string(),
                        bytes: w.bytes,
                        packets: w.packets,
                        created: now,
                    },
                    alert_id: w.alert_id,
                })
                .collect(),
            removed: r.removed,
        }
    }

    /// Finishes the captures whose window has passed at capture time `now`.
    pub fn poll(&mut self, now: Timestamp) -> Out {
        let r = self.rec.poll(now);
        self.convert(r)
    }

    /// Finishes every capture (shutdown).
    pub fn finish_all(&mut self) -> Out {
        let r = self.rec.finish_all();
        self.convert(r)
    }

    /// Whether the capture of `alert_id` is on disk.
    pub fn has(&self, alert_id: &str) -> bool {
        self.rec.stored(alert_id).is_some()
    }

    /// The alert is gone: drop its capture.
    pub fn remove(&mut self, alert_id: &str) {
        if let Err(e) = self.rec.remove(alert_id) {
            self.failed += 1;
            self.last_error = Some(e.to_string());
        }
    }
}
