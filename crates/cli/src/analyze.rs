//! `otwatch analyze`: run the pipeline over capture files.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use otwatch_assets::Inventory;
use otwatch_capture::{Merge, PacketSource};
use otwatch_flow::FlowConfig;
use otwatch_pipeline::{Config, Pipeline, Summary};

use otwatch_engines::timeline::NetworkEvents;
use otwatch_engines::{Baseline, Engines};

use crate::alerts::{self, AlertSummary};
use crate::output::NdjsonWriter;
use crate::report::{self, RunReport};

#[derive(clap::Args, Debug, Default)]
pub struct AnalyzeArgs {
    /// Capture files (pcap or pcapng); several files are merged in time order.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Write one NDJSON record per application message (and malformed PDU) to PATH.
    #[arg(long, value_name = "PATH")]
    pub events: Option<PathBuf>,
    /// Write the device inventory as JSON to PATH.
    #[arg(long, value_name = "PATH")]
    pub devices: Option<PathBuf>,
    /// Write the alerts raised by the detection engines to PATH, one JSON record per line.
    #[arg(long, value_name = "PATH")]
    pub alerts: Option<PathBuf>,
    /// Write the event timeline (network events, device and alert changes),
    /// one JSON record per line in time order, to PATH.
    #[arg(long, value_name = "PATH")]
    pub timeline: Option<PathBuf>,
    /// Alert settings: engines and alert types on/off, thresholds (TOML with
    /// `[engines]` and `[types.<id>]` tables, docs/alerts.md "Overrides").
    #[arg(long, value_name = "PATH")]
    pub alert_settings: Option<PathBuf>,
    /// Custom alert rules (TOML `[[rule]]` tables, docs/custom-rules.md).
    #[arg(long, value_name = "PATH")]
    pub rules: Option<PathBuf>,
    /// Alert exclusion rules (TOML `[[exclusion]]` tables, docs/alerts.md).
    #[arg(long, value_name = "PATH")]
    pub exclusions: Option<PathBuf>,
    /// Write the run summary as JSON to PATH.
    #[arg(long, value_name = "PATH")]
    pub summary_json: Option<PathBuf>,
    /// Most flows tracked at once (least recently active are evicted beyond).
    #[arg(long, value_name = "N")]
    pub max_flows: Option<usize>,
    /// Do not verify IP/TCP/UDP checksums (they are only counted anyway).
    #[arg(long)]
    pub no_checksums: bool,
    /// Print nothing but errors.
    #[arg(short, long)]
    pub quiet: bool,
    /// Load the baseline (written by `otwatch learn` or --save-baseline) from
    /// PATH; learning is off unless the file says it is on. Without it the
    /// whole run learns (no policy alerts; the other engines alert).
    #[arg(long, value_name = "PATH")]
    pub baseline: Option<PathBuf>,
    /// Learn from the first DURATION of capture time (e.g. 90s, 10m, 2h, 7d),
    /// then detect: policy alerts only after it.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub learn_first: Option<std::time::Duration>,
    /// OT subnets, comma-separated CIDRs (e.g. 10.1.0.0/16,192.168.5.0/24), or
    /// `all`. Other engines than malware alert only for OT protocols or OT
    /// subnets; learned subnets are added automatically.
    #[arg(long, value_name = "CIDR,...|all")]
    pub ot_subnets: Option<String>,
    /// Write the baseline as JSON to PATH at the end of the run.
    #[arg(long, value_name = "PATH")]
    pub save_baseline: Option<PathBuf>,
    /// Threat-intelligence package file or directory (docs/threat-intel.md); repeatable.
    #[arg(long, value_name = "PATH")]
    pub ti: Vec<PathBuf>,
}

/// Parses `90s`, `1.5s`, `10m`, `2h`, `7d` (a bare number is seconds).
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: f64 = num
        .parse()
        .ok()
        .filter(|n: &f64| n.is_finite() && *n >= 0.0)
        .ok_or_else(|| format!("{s:?} is not a duration (use e.g. 90s, 1.5s, 10m, 2h, 7d)"))?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("unknown unit {unit:?} in {s:?} (use s, m, h or d)")),
    };
    std::time::Duration::try_from_secs_f64(n * mult as f64)
        .map_err(|_| format!("{s:?} is too long"))
}

/// Loads a baseline file, with an error naming the file and the problem.
pub fn load_baseline(p: &std::path::Path) -> Result<Baseline, String> {
    let bytes =
        std::fs::read(p).map_err(|e| format!("cannot read baseline {}: {e}", p.display()))?;
    Baseline::from_json(&bytes).map_err(|e| format!("baseline {}: {e}", p.display()))
}

/// Writes a baseline file.
pub fn save_baseline(p: &std::path::Path, b: &Baseline) -> std::io::Result<()> {
    std::fs::write(p, b.to_json())
}

type Sinks = (
    Summary,
    (
        Inventory,
        (Option<NdjsonWriter>, (Option<NetworkEvents>, Engines)),
    ),
);

pub fn run(a: &AnalyzeArgs) -> ExitCode {
    run_with(a, None).0
}

/// Runs the analysis; `learn` forces a fresh learning baseline (`otwatch
/// learn`). Returns the exit code and the baseline at the end.
pub fn run_with(a: &AnalyzeArgs, learn: Option<()>) -> (ExitCode, Option<Baseline>) {
    let started = Instant::now();
    let mut baseline = match (&a.baseline, learn) {
        (Some(p), None) => match load_baseline(p) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("otwatch analyze: {e}");
                return (ExitCode::from(2), None);
            }
        },
        _ => {
            let mut b = Baseline::new();
            if learn.is_some() || a.learn_first.is_none() {
                // The whole run learns; it ends only when the user says so.
                b.learning.auto_end = false;
            }
            b
        }
    };
    if let Some(s) = &a.ot_subnets {
        match otwatch_engines::parse_subnets(s) {
            Ok(None) => baseline.set_all_ot(true),
            Ok(Some(nets)) => baseline.set_ot_subnets(&nets),
            Err(e) => {
                eprintln!("otwatch analyze: --ot-subnets: {e}");
                return (ExitCode::from(2), None);
            }
        }
    }
    let mut source = match Merge::open(&a.files) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("otwatch analyze: {e}");
            return (ExitCode::from(2), None);
        }
    };
    let events = match &a.events {
        Some(p) => match NdjsonWriter::create(p) {
            Ok(w) => Some(w),
            Err(e) => {
                eprintln!("otwatch analyze: cannot create {}: {e}", p.display());
                return (ExitCode::from(1), None);
            }
        },
        None => None,
    };
    let mut flows = FlowConfig::default();
    if let Some(n) = a.max_flows {
        flows.max_flows = n.max(1);
    }
    let cfg = Config {
        flows,
        no_checksums: a.no_checksums,
        ..Default::default()
    };
    match otwatch_engines::ti::ThreatIntel::load_paths(&a.ti) {
        Ok(ti) => otwatch_engines::ti::global().replace(ti),
        Err(e) => {
            eprintln!("otwatch analyze: threat intelligence: {e}");
            return (ExitCode::from(2), None);
        }
    }
    let mut manager = alerts::manager();
    if let Some(p) = &a.alert_settings {
        match alerts::load_settings(p) {
            Ok(c) => manager.set_catalog(c),
            Err(e) => {
                eprintln!("otwatch analyze: {e}");
                return (ExitCode::from(2), None);
            }
        }
    }
    let mut engines = alerts::engines(manager.catalog(), baseline);
    if learn.is_none()
        && let Some(d) = a.learn_first
    {
        engines.learn_first(d);
    }
    if let Some(p) = &a.rules {
        match alerts::load_rules(p) {
            Ok(r) => engines.push(Box::new(r)),
            Err(e) => {
                eprintln!("otwatch analyze: {e}");
                return (ExitCode::from(2), None);
            }
        }
    }
    if let Some(p) = &a.exclusions
        && let Err(e) = alerts::load_exclusions(p, &mut manager)
    {
        eprintln!("otwatch analyze: {e}");
        return (ExitCode::from(2), None);
    }
    let network = a.timeline.as_ref().map(|_| NetworkEvents::default());
    let mut timeline = a.timeline.as_ref().map(|_| alerts::Timeline::default());
    let sinks: Sinks = (
        Summary::new(),
        (Inventory::new(), (events, (network, engines))),
    );
    let mut pipeline = Pipeline::new(cfg, sinks);

    let (_, total) = source.progress();
    let bar = if a.quiet {
        ProgressBar::hidden()
    } else {
        let b = ProgressBar::new(total);
        b.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] [{bar:40}] {bytes}/{total_bytes} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        b
    };
    let mut packets: u64 = 0;
    let mut error = None;
    loop {
        match source.next_packet() {
            Ok(Some(p)) => {
                pipeline.process(&p);
                for d in pipeline.sink_mut().1.1.1.1.drain() {
                    alerts::ingest(&mut manager, d, timeline.as_mut());
                }
                packets += 1;
                if packets & 0xffff == 0 {
                    bar.set_position(source.progress().0);
                    bar.set_message(format!("{packets} packets"));
                }
            }
            Ok(None) => break,
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    pipeline.finish();
    let engines = &mut pipeline.sink_mut().1.1.1.1;
    engines.finish();
    for d in engines.drain() {
        alerts::ingest(&mut manager, d, timeline.as_mut());
    }
    bar.finish_and_clear();
    let elapsed = started.elapsed();

    let decode = pipeline.decode_stats().clone();
    let flow_stats = *pipeline.flow_stats();
    let (mut summary, (inventory, (events, (network, engines)))) = pipeline.into_sink();
    let engine_stats = engines.stats();
    let baseline = engines.into_baseline();
    summary.finalize();
    let mut code = ExitCode::SUCCESS;
    if let Some(w) = events
        && let Err(e) = w.finish()
    {
        eprintln!("otwatch analyze: writing events failed: {e}");
        code = ExitCode::from(1);
    }
    let devices = inventory.into_devices();
    let run = RunReport {
        files: a.files.iter().map(|f| f.display().to_string()).collect(),
        complete: error.is_none(),
        error: error.as_ref().map(|e| e.to_string()),
        packets,
        elapsed_secs: elapsed.as_secs_f64(),
        decode,
        flows: flow_stats,
        summary,
        devices: devices.len(),
        alerts: AlertSummary::of(manager.alerts()),
        baseline: Some(report::BaselineReport {
            stats: baseline.stats(),
            engines: engine_stats,
        }),
    };
    if let Some(p) = &a.save_baseline
        && let Err(e) = save_baseline(p, &baseline)
    {
        eprintln!("otwatch analyze: cannot write {}: {e}", p.display());
        code = ExitCode::from(1);
    }
    if let Some(p) = &a.alerts
        && let Err(e) = alerts::write_ndjson(p, manager.alerts())
    {
        eprintln!("otwatch analyze: cannot write {}: {e}", p.display());
        code = ExitCode::from(1);
    }
    if let (Some(p), Some(mut t)) = (&a.timeline, timeline) {
        if let Some(mut n) = network {
            t.extend(n.drain());
        }
        t.extend(otwatch_engines::timeline::device_entries(&devices));
        if let Err(e) = t.write_ndjson(p) {
            eprintln!("otwatch analyze: cannot write {}: {e}", p.display());
            code = ExitCode::from(1);
        }
    }
    if let Some(p) = &a.devices
        && let Err(e) = report::write_json(p, &devices)
    {
        eprintln!("otwatch analyze: cannot write {}: {e}", p.display());
        code = ExitCode::from(1);
    }
    if let Some(p) = &a.summary_json
        && let Err(e) = report::write_json(p, &run)
    {
        eprintln!("otwatch analyze: cannot write {}: {e}", p.display());
        code = ExitCode::from(1);
    }
    if !a.quiet {
        report::print(&run, &devices);
    }
    // The process ends after this: freeing the inventory and the alerts
    // piece by piece would only cost time (a few percent of a run).
    std::mem::forget(devices);
    std::mem::forget(manager);
    if let Some(e) = error {
        eprintln!("otwatch analyze: {e}");
        return (ExitCode::from(2), Some(baseline));
    }
    (code, Some(baseline))
}
