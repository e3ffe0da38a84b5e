//! The run report: JSON (`--summary-json`) and the human-readable summary.

use std::path::Path;

use otwatch_assets::{AddressKind, Device};
use otwatch_decode::DecodeStats;
use otwatch_flow::FlowStats;
use otwatch_pipeline::Summary;
use serde::Serialize;

/// Everything `--summary-json` writes (schema in docs/summary.md).
#[derive(Serialize)]
pub struct RunReport {
    pub files: Vec<String>,
    /// False when reading stopped at an error (see `error`); counts cover what was read.
    pub complete: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub packets: u64,
    pub elapsed_secs: f64,
    pub decode: DecodeStats,
    pub flows: FlowStats,
    pub summary: Summary,
    pub devices: usize,
    /// Alerts raised, by engine, severity and title.
    pub alerts: crate::alerts::AlertSummary,
    /// The baseline at the end of the run (learning state, sizes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineReport>,
}

/// Baseline and policy facts of a run.
#[derive(Clone, Debug, Serialize)]
pub struct BaselineReport {
    #[serde(flatten)]
    pub stats: otwatch_engines::BaselineStats,
    pub engines: otwatch_engines::EnginesStats,
}

/// One line on the baseline and learning state.
pub fn baseline_line(b: &BaselineReport) -> String {
    let s = &b.stats;
    let state = if s.learning {
        "learning ON (no policy alerts)".to_string()
    } else {
        match &s.learning_ended {
            Some(t) => format!("learning OFF (ended {t})"),
            None => "learning OFF".to_string(),
        }
    };
    let mut line = format!(
        "Baseline: {state}; {} devices ({} authorized, {} programming), {} channels, {} entries, {} OT subnets",
        s.devices, s.authorized_devices, s.programming_devices, s.channels, s.entries, s.ot_subnets
    );
    let r = &s.refused;
    if r.devices + r.channels + r.entries + r.scenarios > 0 {
        line.push_str(&format!(
            "; refused (caps): {} devices, {} channels, {} entries, {} scenarios",
            r.devices, r.channels, r.entries, r.scenarios
        ));
    }
    if b.engines.focus_dropped > 0 {
        line.push_str(&format!(
            "; {} detections outside OT dropped (OT/IT focus)",
            b.engines.focus_dropped
        ));
    }
    line
}

pub fn write_json<T: Serialize + ?Sized>(path: &Path, v: &T) -> std::io::Result<()> {
    let f = std::fs::File::create(path)?;
    let mut w = std::io::BufWriter::new(f);
    serde_json::to_writer_pretty(&mut w, v).map_err(std::io::Error::other)?;
    use std::io::Write;
    w.write_all(b"\n")?;
    w.flush()
}

/// 1234567 -> "1,234,567".
fn n(v: u64) -> String {
    let s = v.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn print(r: &RunReport, devices: &[Device]) {
    let s = &r.summary;
    let d = &r.decode;
    let f = &r.flows;
    let span = match (s.first_ts, s.last_ts) {
        (Some(a), Some(b)) => format!(
            ", {:.1} s of traffic ({} to {})",
            b.nanos_since(a) as f64 / 1e9,
            a,
            b
        ),
        _ => String::new(),
    };
    println!(
        "{} file(s), {} packets, {} bytes{span}",
        r.files.len(),
        n(r.packets),
        n(d.bytes)
    );
    println!(
        "  decode    IPv4 {}  IPv6 {}  ARP {}  other L2 {}  invalid {}  truncated {}  fragments {} (reassembled {}, dropped {})",
        n(d.ipv4),
        n(d.ipv6),
        n(d.arp),
        n(d.other_l2),
        n(d.invalid),
        n(d.truncated),
        n(d.fragments),
        n(d.reassembled),
        n(d.fragments_dropped)
    );
    println!(
        "  checksums bad IP {}  bad TCP {}  bad UDP {}  (counted, packets still processed)",
        n(d.bad_ip_checksum),
        n(d.bad_tcp_checksum),
        n(d.bad_udp_checksum)
    );
    println!(
        "  flows     {} (TCP {}, UDP {}, other {})  mid-stream {}  evicted {}  peak {}",
        n(f.created),
        n(f.tcp),
        n(f.udp),
        n(f.other),
        n(f.midstream),
        n(f.evicted),
        n(f.peak_flows)
    );
    println!(
        "  streams   gaps {} ({} bytes)  retransmissions {}  overlaps {}  out-of-order {}",
        n(f.stream.gaps),
        n(f.stream.gap_bytes),
        n(f.stream.retransmissions),
        n(f.stream.overlaps),
        n(f.stream.out_of_order)
    );
    println!();
    if s.protocols.is_empty() {
        println!("No industrial protocol messages found.");
    }
    for (proto, c) in &s.protocols {
        println!(
            "{:<8} flows {}  messages {} (requests {}, responses {})  exceptions {}  malformed {}  gaps {}",
            proto.name(),
            n(c.flows),
            n(c.messages),
            n(c.requests),
            n(c.responses),
            n(c.exceptions),
            n(c.malformed),
            n(c.gaps)
        );
        let mut rows: Vec<(u16, &str, u64)> = c
            .functions
            .iter()
            .filter_map(|(k, v)| {
                let (fc, kind) = k.split_once('/')?;
                Some((fc.parse().ok()?, kind, *v))
            })
            .collect();
        rows.sort();
        for (fc, kind, v) in rows {
            println!(
                "    fc {:>5} {:<34} {:<9} {}",
                fc,
                c.function_names.get(&fc).map_or("", String::as_str),
                kind,
                n(v)
            );
        }
        for (code, v) in &c.malformed_by_code {
            println!("    malformed {:<30} {}", code, n(*v));
        }
    }
    println!();
    let real: Vec<&Device> = devices
        .iter()
        .filter(|d| d.kind == AddressKind::Unicast || d.kind == AddressKind::Gateway)
        .collect();
    println!(
        "Devices: {} ({} multicast/broadcast groups)",
        real.len(),
        devices.len() - real.len()
    );
    let width = real
        .iter()
        .filter_map(|d| d.ip.map(|i| i.to_string().len()))
        .max()
        .unwrap_or(1);
    for dev in real.iter().take(40) {
        let addr = dev.ip.map(|i| i.to_string()).unwrap_or_else(|| "-".into());
        let mac = dev.mac.map(|m| m.to_string()).unwrap_or_else(|| "-".into());
        let mut roles: Vec<String> = dev
            .protocols
            .iter()
            .map(|(p, u)| {
                let r: Vec<String> = u
                    .roles
                    .iter()
                    .map(|r| format!("{r:?}").to_lowercase())
                    .collect();
                format!("{} {}", p.name(), r.join("/"))
            })
            .collect();
        if dev.kind == AddressKind::Gateway {
            roles.push("gateway".into());
        }
        let ident = dev
            .identity
            .as_ref()
            .map(|i| {
                [
                    &i.hostname,
                    &i.vendor,
                    &i.model,
                    &i.product_code,
                    &i.firmware,
                ]
                .iter()
                .filter_map(|x| x.as_deref())
                .collect::<Vec<_>>()
                .join(" ")
            })
            .unwrap_or_default();
        let class = match dev.class.purdue_level {
            Some(l) => format!("{} (L{l})", dev.class.device_type),
            None => dev.class.device_type.to_string(),
        };
        println!(
            "  {:<width$} {:<17} {:<24} {:<28} {:<30} {}",
            addr,
            mac,
            class,
            dev.mac_vendor
                .unwrap_or("")
                .chars()
                .take(28)
                .collect::<String>(),
            roles.join(", "),
            ident
        );
    }
    if real.len() > 40 {
        println!("  ... {} more (see --devices)", real.len() - 40);
    }
    println!();
    let al = &r.alerts;
    if al.total == 0 {
        println!("Alerts: none");
    } else {
        let by: Vec<String> = al
            .by_severity
            .iter()
            .map(|(s, n)| format!("{s} {n}"))
            .collect();
        println!("Alerts: {} ({})", al.total, by.join(", "));
        for (engine, sev, title, n) in &al.titles {
            println!("  {:<20} {:<7} {:>5}  {}", engine, sev, n, title);
        }
    }
    if let Some(b) = &r.baseline {
        println!("{}", baseline_line(b));
    }
    let pps = r.packets as f64 / r.elapsed_secs.max(1e-9);
    println!(
        "\nProcessed in {:.3} s ({} packets/s)",
        r.elapsed_secs,
        n(pps as u64)
    );
}
