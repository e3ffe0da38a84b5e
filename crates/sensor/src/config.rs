//! `sensor.toml`: the sensor's configuration (documented in docs/sensor.md).
//!
//! Every table and key has a default that works, so an empty file runs a
//! sensor that replays nothing and captures nothing but serves its API on
//! 127.0.0.1:8443 with a generated certificate. Unknown keys are errors
//! (a typo must not silently fall back to a default). Relative paths are
//! relative to the directory of the config file.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// What is wrong with a config file, with the file and the place.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("config {path}: {message}")]
    Invalid { path: String, message: String },
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SensorConfig {
    pub sensor: SensorSection,
    pub api: ApiSection,
    pub store: StoreSection,
    pub capture: CaptureSection,
    pub learning: LearningSection,
    pub alerts: AlertsSection,
    pub ti: TiSection,
    /// The PCAP kept per alert (windows and caps; docs/evidence.md).
    pub evidence: otwatch_evidence::EvidenceConfig,
    /// Directory of the config file (relative paths resolve against it).
    #[serde(skip)]
    pub base_dir: PathBuf,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SensorSection {
    /// The sensor's name; alert ids are `<name>-<sequence>`. Letters,
    /// digits, `-` and `_`.
    pub name: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiSection {
    /// `address:port` to listen on; empty = no API.
    pub listen: String,
    /// HTTPS (with `cert`/`key`, or a self-signed certificate generated into
    /// the store directory on first start).
    pub tls: bool,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// Largest request body (bytes) and capture upload (bytes).
    pub max_body: usize,
    pub max_upload: usize,
    /// Largest page of a list request.
    pub max_page: usize,
    /// Session lifetime (seconds).
    pub session_ttl_secs: u64,
    /// Failed logins per user and address within `login_window_secs` before 429.
    pub login_max_failures: u32,
    pub login_window_secs: u64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreSection {
    /// Directory of the database, the alert captures and the certificate.
    pub path: PathBuf,
    /// Most timeline events kept (oldest out).
    pub max_events: u64,
    /// Writer batching: most operations per transaction, longest wait (ms).
    pub batch_ops: usize,
    pub batch_delay_ms: u64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CaptureSection {
    /// Interfaces to capture from (libpcap; needs root or CAP_NET_RAW and a
    /// build with the `live` feature).
    pub interfaces: Vec<String>,
    /// BPF capture filter (tcpdump syntax) for every interface.
    pub filter: Option<String>,
    pub snaplen: i32,
    pub promiscuous: bool,
    /// Kernel buffer per interface (MiB).
    pub buffer_mib: i32,
    /// Packets captured: `inout` (default: received and sent), `in`
    /// (received only: what a SPAN port delivers; on `lo`, where every
    /// packet is seen once sent and once received, each packet once) or
    /// `out`.
    pub direction: String,
    /// Packets queued between the capture threads and the analysis thread;
    /// beyond it packets are dropped by the sensor (and counted).
    pub queue_packets: usize,
    /// Capture files replayed at start, with their own timestamps.
    pub replay: Vec<PathBuf>,
    /// A directory watched for new capture files (`.pcap`, `.pcapng`,
    /// `.cap`); each is replayed once, then moved to `<watch>/done/`.
    pub watch: Option<PathBuf>,
    /// Seconds between scans of `watch`.
    pub watch_interval_secs: u64,
    /// Scheduling niceness (0-19) of the analysis thread of a sensor that
    /// only replays (no `interfaces`): the API and the store writer come
    /// first, replays take the rest of the CPU. 0 keeps normal priority.
    /// A sensor with interfaces never lowers it (live packets must keep up).
    pub replay_nice: i32,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LearningSection {
    /// OT subnets (`10.1.0.0/16,192.168.5.0/24` or `all`), added to the learned ones.
    pub ot_subnets: Option<String>,
    /// End learning by itself when new entries decay (docs/baseline.md).
    pub auto_end: bool,
    /// A baseline file to import on first start (when the store has none).
    pub import: Option<PathBuf>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertsSection {
    /// Initial alert settings / custom rules / exclusion rules (TOML files as
    /// for `otwatch analyze`), imported when the store has none; later
    /// changes go through the API and live in the store.
    pub settings: Option<PathBuf>,
    pub rules: Option<PathBuf>,
    pub exclusions: Option<PathBuf>,
    /// A New alert closes itself after this many days without identical traffic.
    pub auto_close_days: u64,
    /// Alerts are deleted this many days after first detection.
    pub retention_days: u64,
    /// Most alerts kept (closed ones go first).
    pub max_alerts: usize,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TiSection {
    /// Threat-intelligence package files or directories (docs/threat-intel.md).
    pub paths: Vec<PathBuf>,
}

impl Default for SensorConfig {
    fn default() -> Self {
        SensorConfig {
            sensor: SensorSection::default(),
            api: ApiSection::default(),
            store: StoreSection::default(),
            capture: CaptureSection::default(),
            learning: LearningSection::default(),
            alerts: AlertsSection::default(),
            ti: TiSection::default(),
            evidence: otwatch_evidence::EvidenceConfig::default(),
            base_dir: PathBuf::from("."),
        }
    }
}

impl Default for SensorSection {
    fn default() -> Self {
        SensorSection {
            name: "sensor".into(),
        }
    }
}

impl Default for ApiSection {
    fn default() -> Self {
        ApiSection {
            listen: "127.0.0.1:8443".into(),
            tls: true,
            cert: None,
            key: None,
            max_body: 1 << 20,
            max_upload: 1 << 30,
            max_page: 1000,
            session_ttl_secs: 8 * 3600,
            login_max_failures: 5,
            login_window_secs: 300,
        }
    }
}

impl Default for StoreSection {
    fn default() -> Self {
        StoreSection {
            path: PathBuf::from("otwatch-data"),
            max_events: 1_000_000,
            batch_ops: 250,
            batch_delay_ms: 50,
        }
    }
}

impl Default for CaptureSection {
    fn default() -> Self {
        CaptureSection {
            interfaces: Vec::new(),
            filter: None,
            snaplen: 65_535,
            promiscuous: true,
            buffer_mib: 64,
            direction: "inout".into(),
            queue_packets: 65_536,
            replay: Vec::new(),
            watch: None,
            watch_interval_secs: 2,
            replay_nice: 10,
        }
    }
}

impl Default for LearningSection {
    fn default() -> Self {
        LearningSection {
            ot_subnets: None,
            auto_end: true,
            import: None,
        }
    }
}

impl Default for AlertsSection {
    fn default() -> Self {
        AlertsSection {
            settings: None,
            rules: None,
            exclusions: None,
            auto_close_days: 90,
            retention_days: 90,
            max_alerts: 100_000,
        }
    }
}

impl SensorConfig {
    /// Reads and checks a config file.
    pub fn load(path: &Path) -> Result<SensorConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        Self::parse(&text, base).map_err(|message| ConfigError::Invalid {
            path: path.display().to_string(),
            message,
        })
    }

    /// Parses config text; relative paths resolve against `base_dir`.
    pub fn parse(text: &str, base_dir: &Path) -> Result<SensorConfig, String> {
        let mut c: SensorConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        c.base_dir = base_dir.to_path_buf();
        c.check()?;
        Ok(c)
    }

    fn check(&self) -> Result<(), String> {
        let n = &self.sensor.name;
        if n.is_empty()
            || n.len() > 64
            || !n
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(format!(
                "[sensor] name {n:?}: use 1-64 letters, digits, '-' or '_'"
            ));
        }
        if !self.api.listen.is_empty() && self.api.listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(format!(
                "[api] listen {:?} is not address:port (e.g. \"127.0.0.1:8443\")",
                self.api.listen
            ));
        }
        if self.api.cert.is_some() != self.api.key.is_some() {
            return Err("[api] cert and key go together: set both or neither".into());
        }
        if self.api.max_page == 0 {
            return Err("[api] max_page must be at least 1".into());
        }
        if self.capture.queue_packets == 0 {
            return Err("[capture] queue_packets must be at least 1".into());
        }
        if !(64..=262_144).contains(&self.capture.snaplen) {
            return Err(format!(
                "[capture] snaplen {} is outside 64..=262144",
                self.capture.snaplen
            ));
        }
        if !["in", "out", "inout"].contains(&self.capture.direction.as_str()) {
            return Err(format!(
                "[capture] direction {:?} is not in, out or inout",
                self.capture.direction
            ));
        }
        if !(0..=19).contains(&self.capture.replay_nice) {
            return Err(format!(
                "[capture] replay_nice {} is outside 0..=19",
                self.capture.replay_nice
            ));
        }
        if self.alerts.max_alerts == 0 {
            return Err("[alerts] max_alerts must be at least 1".into());
        }
        self.evidence
            .validate()
            .map_err(|e| format!("[evidence] {e}"))?;
        if let Some(s) = &self.learning.ot_subnets {
            otwatch_engines::parse_subnets(s).map_err(|e| format!("[learning] ot_subnets: {e}"))?;
        }
        Ok(())
    }

    /// A path from the config, resolved against the config's directory.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        }
    }

    pub fn store_dir(&self) -> PathBuf {
        self.resolve(&self.store.path)
    }

    /// The API limits for `otwatch_api`.
    pub fn api_config(&self) -> otwatch_api::ApiConfig {
        otwatch_api::ApiConfig {
            max_body: self.api.max_body,
            max_upload: self.api.max_upload,
            max_page: self.api.max_page,
            default_page: 100.min(self.api.max_page),
            session_ttl_secs: self.api.session_ttl_secs,
            secure_cookies: self.api.tls,
            login_max_failures: self.api.login_max_failures,
            login_window_secs: self.api.login_window_secs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_config_has_working_defaults() {
        let c = SensorConfig::parse("", Path::new("/etc/otwatch")).unwrap();
        assert_eq!(c.api.listen, "127.0.0.1:8443");
        assert!(c.api.tls);
        assert_eq!(c.store_dir(), Path::new("/etc/otwatch/otwatch-data"));
        assert!(c.capture.interfaces.is_empty());
        assert!(c.learning.auto_end);
    }

    #[test]
    fn the_documented_example_parses() {
        let text = include_str!("../../../packaging/sensor.toml");
        let c = SensorConfig::parse(text, Path::new("/etc/otwatch")).unwrap();
        assert_eq!(c.sensor.name, "plant1-sensor");
    }

    #[test]
    fn errors_name_the_key() {
        let e = SensorConfig::parse("[api]\nlisten = \"nope\"\n", Path::new(".")).unwrap_err();
        assert!(e.contains("[api] listen"), "{e}");
        let e =
            SensorConfig::parse("[capture]\ninterfaces = \"eth0\"\n", Path::new(".")).unwrap_err();
        assert!(e.contains("interfaces"), "{e}");
        let e = SensorConfig::parse("[store]\npaht = \"x\"\n", Path::new(".")).unwrap_err();
        assert!(e.contains("paht"), "{e}");
        let e = SensorConfig::parse("[sensor]\nname = \"a b\"\n", Path::new(".")).unwrap_err();
        assert!(e.contains("[sensor] name"), "{e}");
        let e = SensorConfig::parse("[learning]\not_subnets = \"10.0.0.0/33\"\n", Path::new("."))
            .unwrap_err();
        assert!(e.contains("ot_subnets"), "{e}");
        for (text, key) in [
            (
                "[capture]\ndirection = \"sideways\"\n",
                "[capture] direction",
            ),
            ("[capture]\nreplay_nice = 20\n", "[capture] replay_nice"),
            ("[capture]\nreplay_nice = -1\n", "[capture] replay_nice"),
        ] {
            let e = SensorConfig::parse(text, Path::new(".")).unwrap_err();
            assert!(e.contains(key), "{e}");
        }
        let c = SensorConfig::parse(
            "[capture]\ndirection = \"in\"\nreplay_nice = 0\n",
            Path::new("."),
        )
        .unwrap();
        assert_eq!(
            (c.capture.direction.as_str(), c.capture.replay_nice),
            ("in", 0)
        );
    }
}
