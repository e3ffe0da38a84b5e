//! `otwatch analyze`: run the pipeline over capture files.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use otwatch_assets::Inventory;
use otwatch_capture::{Merge, PacketSource};
use otwatch_flow::FlowConfig;
use otwatch_pipeline::{Config, Pipeline, Summary};

use otwatch_engines::Engines;

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
    /// Threat-intelligence package file or directory (docs/threat-intel.md); repeatable.
    #[arg(long, value_name = "PATH")]
    pub ti: Vec<PathBuf>,
}

type Sinks = (Summary, (Inventory, (Option<NdjsonWriter>, Engines)));

pub fn run(a: &AnalyzeArgs) -> ExitCode {
    let started = Instant::now();
    let mut source = match Merge::open(&a.files) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("otwatch analyze: {e}");
            return ExitCode::from(2);
        }
    };
    let events = match &a.events {
        Some(p) => match NdjsonWriter::create(p) {
            Ok(w) => Some(w),
            Err(e) => {
                eprintln!("otwatch analyze: cannot create {}: {e}", p.display());
                return ExitCode::from(1);
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
            return ExitCode::from(2);
        }
    }
    let mut manager = alerts::manager();
    let engines = alerts::engines(manager.catalog());
    let sinks: Sinks = (Summary::new(), (Inventory::new(), (events, engines)));
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
                for d in pipeline.sink_mut().1.1.1.drain() {
                    manager.ingest(d);
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
    let engines = &mut pipeline.sink_mut().1.1.1;
    engines.finish();
    for d in engines.drain() {
        manager.ingest(d);
    }
    bar.finish_and_clear();
    let elapsed = started.elapsed();

    let decode = pipeline.decode_stats().clone();
    let flow_stats = *pipeline.flow_stats();
    let (mut summary, (inventory, (events, _engines))) = pipeline.into_sink();
    summary.finalize();
    let mut code = ExitCode::SUCCESS;
    if let Some(w) = events
        && let Err(e) = w.finish()
    {
        eprintln!("otwatch analyze: writing events failed: {e}");
        code = ExitCode::from(1);
    }
    let devices = inventory.devices();
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
    };
    if let Some(p) = &a.alerts
        && let Err(e) = alerts::write_ndjson(p, manager.alerts())
    {
        eprintln!("otwatch analyze: cannot write {}: {e}", p.display());
        code = ExitCode::from(1);
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
    if let Some(e) = error {
        eprintln!("otwatch analyze: {e}");
        return ExitCode::from(2);
    }
    code
}
