//! Deterministic OT traffic generator with ground truth.
//!
//! Every scenario builds a capture of a small plant network — Modbus/TCP,
//! Modbus/UDP, DNP3 over TCP and UDP, plus network-level oddities (VLAN tags,
//! IPv6, IP fragments, TCP retransmissions, bad checksums) — and returns,
//! next to the frames, the exact list of application messages it wrote
//! ([`Capture::truth`]). Tests run otwatch on the pcap and compare what it
//! reports with that list; the demo reads the `demo` scenario.
//!
//! Frames are realistic: TCP handshakes with correct sequence and
//! acknowledgement numbers, valid IPv4/TCP/UDP checksums (except where a
//! scenario says otherwise), MAC addresses with the OUIs of real OT vendors,
//! and timestamps that follow real polling cycles. The same seed always
//! gives byte-identical output; the seed varies ports, sequence numbers,
//! process values and latencies, never the list of messages.
//!
//! ```
//! let cap = otwatch_sim::generate("modbus_polling", 1).expect("known scenario");
//! let mut pcap = Vec::new();
//! cap.write_pcap(&mut pcap).expect("writing to memory");
//! assert!(cap.counts()[&("modbus".to_string(), 3, "request".to_string())] > 0);
//! ```

mod builder;
mod dnp3;
mod modbus;
mod net;
mod pcap;
mod rng;
mod scenarios;
mod transport;

use std::collections::BTreeMap;

pub use otwatch_core::Timestamp;

/// One application message (or malformed PDU) the generator wrote, which
/// otwatch must report.
///
/// There is one entry per Modbus ADU and per DNP3 application fragment
/// (however many link frames or TCP segments carry it); DNP3 link-only frames
/// (Request Link Status, Link Status, ...) are not messages. A PDU otwatch
/// must report as malformed has one entry with `malformed` set. A Modbus PDU
/// that is malformed inside a sound MBAP header (function code 0, bad
/// quantity, bad byte count) has both entries, since otwatch reports it as a
/// message with its function code too; a bad MBAP header, or a DNP3 frame
/// with a bad CRC, has only the malformed entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Truth {
    /// `"modbus"` or `"dnp3"`.
    pub proto: &'static str,
    /// Modbus: the function code without the exception bit (0x83 counts as 3).
    /// DNP3: the application function code. On malformed entries: the
    /// function code byte as written, which may be meaningless (e.g. 0).
    pub function_code: u16,
    /// `"request"` or `"response"`. Modbus: by direction (exception responses
    /// are responses); DNP3: function codes 129 and above are responses.
    pub kind: &'static str,
    /// The PDU is malformed: otwatch reports a malformed event, not a message.
    pub malformed: bool,
}

/// A named scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scenario {
    /// Name passed to [`generate`].
    pub name: &'static str,
    /// What the capture shows, in plant terms.
    pub description: &'static str,
}

/// A generated capture: Ethernet frames in time order and their ground truth.
#[derive(Clone, Debug)]
pub struct Capture {
    /// Frames with their capture time, in time order.
    pub packets: Vec<(Timestamp, Vec<u8>)>,
    /// pcap link type of the frames: always 1 (Ethernet).
    pub linktype: u32,
    /// Every application message and malformed PDU written, ordered by the
    /// time of the packet that completes it.
    pub truth: Vec<Truth>,
    /// Counters describing deliberate irregularities of the capture, so tests
    /// can check otwatch's statistics. Keys used:
    /// `bad_tcp_checksums` (frames with a wrong TCP checksum),
    /// `tcp_retransmissions`, `tcp_out_of_order` (segments captured before an
    /// earlier one), `tcp_lost_segments` (segments never captured),
    /// `tcp_midstream_flows` (flows whose handshake is not captured),
    /// `unmatched_responses` (responses whose request is not in the capture),
    /// `ip_fragments`, `dnp3_link_only_frames`, `arp`, `other_traffic`
    /// (frames of non-OT protocols). Absent keys are zero.
    pub notes: BTreeMap<&'static str, u64>,
}

/// The scenario name passed to [`generate`] does not exist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownScenario(pub String);

impl std::fmt::Display for UnknownScenario {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown scenario {:?}; known scenarios:", self.0)?;
        for s in scenarios() {
            write!(f, " {}", s.name)?;
        }
        Ok(())
    }
}

impl std::error::Error for UnknownScenario {}

/// Every scenario, `demo` first.
pub fn scenarios() -> &'static [Scenario] {
    &scenarios::LIST
}

/// Builds scenario `name`. The same `(name, seed)` always gives the same capture.
pub fn generate(name: &str, seed: u64) -> Result<Capture, UnknownScenario> {
    scenarios::generate(name, seed).ok_or_else(|| UnknownScenario(name.to_string()))
}

impl Capture {
    /// Writes a classic little-endian pcap file with microsecond timestamps
    /// (magic `a1b2c3d4`, snap length 65535).
    pub fn write_pcap(&self, w: impl std::io::Write) -> std::io::Result<()> {
        pcap::write(self, w, false)
    }

    /// Writes a classic little-endian pcap file with nanosecond timestamps
    /// (magic `a1b23c4d`).
    pub fn write_pcap_nanos(&self, w: impl std::io::Write) -> std::io::Result<()> {
        pcap::write(self, w, true)
    }

    /// Writes [`Capture::write_pcap`] output to a file, creating or truncating it.
    pub fn write_pcap_file(&self, path: impl AsRef<std::path::Path>) -> std::io::Result<()> {
        let f = std::fs::File::create(path)?;
        let mut w = std::io::BufWriter::new(f);
        self.write_pcap(&mut w)?;
        std::io::Write::flush(&mut w)
    }

    /// Number of well-formed messages per `(proto, function code, kind)`.
    pub fn counts(&self) -> BTreeMap<(String, u16, String), u64> {
        let mut m = BTreeMap::new();
        for t in self.truth.iter().filter(|t| !t.malformed) {
            *m.entry((t.proto.to_string(), t.function_code, t.kind.to_string()))
                .or_insert(0) += 1;
        }
        m
    }

    /// Number of well-formed messages of `proto`.
    pub fn message_count(&self, proto: &str) -> u64 {
        self.truth
            .iter()
            .filter(|t| !t.malformed && t.proto == proto)
            .count() as u64
    }

    /// Number of PDUs of `proto` otwatch must report as malformed.
    pub fn malformed_count(&self, proto: &str) -> u64 {
        self.truth
            .iter()
            .filter(|t| t.malformed && t.proto == proto)
            .count() as u64
    }

    /// Value of a [`Capture::notes`] counter, 0 when absent.
    pub fn note(&self, key: &str) -> u64 {
        self.notes.get(key).copied().unwrap_or(0)
    }
}
