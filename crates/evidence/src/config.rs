//! Windows and caps of the evidence recorder (`[evidence]` in a sensor config).

use serde::Deserialize;

use crate::EvidenceError;

const MIB: u64 = 1024 * 1024;

/// Settings of [`crate::Recorder`]. Every field has a default, so an empty
/// table is a valid configuration.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvidenceConfig {
    /// Seconds of traffic kept from before the detection.
    pub pre_secs: f64,
    /// Seconds of traffic collected after the detection.
    pub post_secs: f64,
    /// Bytes of the packet ring (one arena allocated up front).
    pub ring_bytes: usize,
    /// Packet records in the ring (fixed; the oldest is overwritten beyond).
    pub ring_packets: usize,
    /// Flows indexed at once (flow -> newest packet); beyond it a new flow's
    /// packets are kept in the ring but found only by the IP-pair scan.
    pub max_flows: usize,
    /// Packets per capture file.
    pub capture_packets: usize,
    /// Bytes per capture file (pcap headers included).
    pub capture_bytes: u64,
    /// Captures collecting at once; a new request beyond it finishes the
    /// oldest pending capture early.
    pub max_pending: usize,
    /// Total bytes of the pcap directory; the oldest files are removed beyond.
    pub dir_bytes: u64,
}

impl Default for EvidenceConfig {
    fn default() -> Self {
        EvidenceConfig {
            pre_secs: 60.0,
            post_secs: 10.0,
            ring_bytes: 64 * MIB as usize,
            ring_packets: 262_144,
            max_flows: 65_536,
            capture_packets: 2000,
            capture_bytes: 8 * MIB,
            max_pending: 64,
            dir_bytes: 1024 * MIB,
        }
    }
}

impl EvidenceConfig {
    /// Checks the values; the error names the field and the problem.
    pub fn validate(&self) -> Result<(), EvidenceError> {
        let bad =
            |field: &'static str, problem: String| Err(EvidenceError::Config { field, problem });
        for (field, v) in [("pre_secs", self.pre_secs), ("post_secs", self.post_secs)] {
            if !v.is_finite() || !(0.0..=86_400.0).contains(&v) {
                return bad(
                    field,
                    format!("{v} is not a number of seconds in 0..=86400"),
                );
            }
        }
        if self.ring_bytes < 65_536 || self.ring_bytes > u32::MAX as usize {
            return bad(
                "ring_bytes",
                format!("{} is outside 65536..=4294967295", self.ring_bytes),
            );
        }
        for (field, v) in [
            ("ring_packets", self.ring_packets),
            ("max_flows", self.max_flows),
            ("capture_packets", self.capture_packets),
            ("max_pending", self.max_pending),
        ] {
            if v == 0 {
                return bad(field, "must be at least 1".into());
            }
        }
        if self.ring_packets > 1 << 26 {
            return bad(
                "ring_packets",
                format!("{} is more than 67108864", self.ring_packets),
            );
        }
        if self.capture_bytes < 1024 {
            return bad(
                "capture_bytes",
                format!("{} is less than 1024", self.capture_bytes),
            );
        }
        if self.dir_bytes < self.capture_bytes {
            return bad(
                "dir_bytes",
                format!(
                    "{} is less than capture_bytes ({}): no capture would fit",
                    self.dir_bytes, self.capture_bytes
                ),
            );
        }
        Ok(())
    }

    pub(crate) fn pre_ns(&self) -> i64 {
        (self.pre_secs * 1e9) as i64
    }

    pub(crate) fn post_ns(&self) -> i64 {
        (self.post_secs * 1e9) as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_partial_tables() {
        let c: EvidenceConfig = toml::from_str("").unwrap();
        assert_eq!(c, EvidenceConfig::default());
        assert_eq!(c.ring_bytes, 64 << 20);
        assert_eq!((c.pre_secs, c.post_secs), (60.0, 10.0));
        assert_eq!((c.capture_packets, c.capture_bytes), (2000, 8 << 20));
        assert_eq!(c.dir_bytes, 1 << 30);
        c.validate().unwrap();
        let c: EvidenceConfig = toml::from_str("post_secs = 30\nmax_pending = 4").unwrap();
        assert_eq!((c.post_secs, c.max_pending, c.pre_secs), (30.0, 4, 60.0));
        let e = toml::from_str::<EvidenceConfig>("post = 3").unwrap_err();
        assert!(e.to_string().contains("unknown field `post`"), "{e}");
    }

    #[test]
    fn validation_names_the_field() {
        let c = EvidenceConfig {
            dir_bytes: 1000,
            capture_bytes: 2000,
            ..Default::default()
        };
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("dir_bytes"), "{e}");
        let c = EvidenceConfig {
            pre_secs: f64::NAN,
            ..Default::default()
        };
        assert!(c.validate().unwrap_err().to_string().contains("pre_secs"));
        let c = EvidenceConfig {
            max_pending: 0,
            ..Default::default()
        };
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("max_pending")
        );
    }
}
