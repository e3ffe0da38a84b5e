//! A PCAP per alert.
//!
//! [`Recorder`] keeps the most recent packets in a [`PacketRing`] (one byte
//! arena and a fixed ring of records, allocated once, with a chain per flow)
//! and, when an alert asks for evidence, writes the packets of the alert's
//! flow(s) from shortly before the detection until a configurable time after
//! into `<dir>/<alert_id>.pcap` (classic pcap, nanosecond timestamps). Every
//! capture and the directory have size caps; the oldest files go first and
//! are reported, so that the alert's `pcap_available` stays accurate.
//! `docs/evidence.md` describes the windows, caps and eviction.

mod config;
mod pcap;
mod recorder;
mod ring;

use std::path::PathBuf;

pub use config::EvidenceConfig;
pub use pcap::{ip_pair, linktype_number};
pub use recorder::{EvidenceStats, Recorder, Report, Written, check_alert_id};
pub use ring::{PacketRing, Record, RingStats};

/// What went wrong, and where.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("evidence setting `{field}`: {problem}")]
    Config {
        field: &'static str,
        problem: String,
    },
    #[error(
        "alert id {0:?} cannot name a capture file (1 to 128 letters, digits, '-', '_' or '.', not starting with '.')"
    )]
    BadAlertId(String),
    #[error("alert {0}: no flow and no IP address to capture")]
    NothingToCapture(String),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
