//! `otwatch`: the OT network security monitor's command line.

mod alerts;
mod analyze;
mod output;
mod report;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc instead of the system allocator: the detection engines keep many
/// small hash tables and the alert path allocates strings; glibc malloc's
/// consolidation showed up at several percent of a run (BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(
    name = "otwatch",
    version,
    about = "Passive OT network security monitor: dissects industrial protocols, keeps a device inventory",
    long_about = None
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Analyze capture files (pcap or pcapng), merged in time order.
    Analyze(Box<analyze::AnalyzeArgs>),
    /// Learn a baseline from capture files (learning mode over all of them)
    /// and write it as JSON, for `otwatch analyze --baseline`.
    Learn(LearnArgs),
    /// Write a generated capture of a built-in scenario (deterministic).
    Simulate(SimulateArgs),
    /// Generate the built-in demo plant capture and analyze it.
    Demo(DemoArgs),
}

#[derive(clap::Args, Debug)]
struct SimulateArgs {
    /// Scenario name (see --list).
    #[arg(required_unless_present = "list")]
    scenario: Option<String>,
    /// Output pcap file.
    #[arg(short, long, default_value = "otwatch-sim.pcap")]
    out: PathBuf,
    /// Random seed; the same seed always gives the same capture.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Write nanosecond timestamps instead of microseconds.
    #[arg(long)]
    nanos: bool,
    /// List the scenarios and exit.
    #[arg(long)]
    list: bool,
}

#[derive(clap::Args, Debug)]
struct LearnArgs {
    /// Capture files (pcap or pcapng), merged in time order.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Where to write the baseline JSON.
    #[arg(short, long, value_name = "BASELINE")]
    out: PathBuf,
    /// Start from this baseline (learning is turned on) instead of an empty one.
    #[arg(long, value_name = "PATH")]
    baseline: Option<PathBuf>,
    /// OT subnets, comma-separated CIDRs, or `all` (stored in the baseline).
    #[arg(long, value_name = "CIDR,...|all")]
    ot_subnets: Option<String>,
    /// Leave learning on in the written baseline (default: off, so
    /// `analyze --baseline` detects).
    #[arg(long)]
    keep_learning: bool,
}

#[derive(clap::Args, Debug)]
struct DemoArgs {
    /// Directory for the demo capture and the analysis outputs.
    #[arg(long, default_value = "otwatch-demo")]
    dir: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Analyze(a) => analyze::run(&a),
        Cmd::Learn(l) => learn(&l),
        Cmd::Simulate(s) => simulate(&s),
        Cmd::Demo(d) => demo(&d),
    }
}

fn learn(l: &LearnArgs) -> ExitCode {
    use otwatch_engines::Baseline;
    let mut base = match &l.baseline {
        Some(p) => match analyze::load_baseline(p) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("otwatch learn: {e}");
                return ExitCode::from(2);
            }
        },
        None => Baseline::new(),
    };
    let tmp = std::env::temp_dir().join(format!("otwatch-learn-{}.json", std::process::id()));
    // Learning for the whole run (the auto-end rule is for live sensors).
    base.learning.auto_end = false;
    base.set_learning(true, otwatch_core::Timestamp(0));
    base.learning.started = 0;
    if let Err(e) = std::fs::write(&tmp, base.to_json()) {
        eprintln!("otwatch learn: cannot write {}: {e}", tmp.display());
        return ExitCode::from(1);
    }
    let args = analyze::AnalyzeArgs {
        files: l.files.clone(),
        baseline: Some(tmp.clone()),
        ot_subnets: l.ot_subnets.clone(),
        quiet: true,
        ..Default::default()
    };
    let (code, b) = analyze::run_with(&args, None);
    let _ = std::fs::remove_file(&tmp);
    let Some(mut b) = b else {
        return code;
    };
    if !l.keep_learning {
        let end = otwatch_core::Timestamp(b.learning.last_seen);
        b.set_learning(false, end);
    }
    if let Err(e) = analyze::save_baseline(&l.out, &b) {
        eprintln!("otwatch learn: cannot write {}: {e}", l.out.display());
        return ExitCode::from(1);
    }
    let s = b.stats();
    println!(
        "Learned {}: {} devices ({} programming devices), {} channels, {} entries, {} OT subnets{}",
        l.out.display(),
        s.devices,
        s.programming_devices,
        s.channels,
        s.entries,
        s.ot_subnets,
        if s.learning { "; learning left on" } else { "" }
    );
    for (proto, n) in otwatch_engines::baseline::by_proto(&b) {
        println!("  {proto:<16} {n} channels");
    }
    code
}

fn simulate(s: &SimulateArgs) -> ExitCode {
    if s.list {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        for sc in otwatch_sim::scenarios() {
            // A closed pipe (`| head`) just ends the listing.
            if writeln!(out, "{:<24} {}", sc.name, sc.description).is_err() {
                break;
            }
        }
        return ExitCode::SUCCESS;
    }
    let name = s.scenario.as_deref().unwrap_or("demo");
    let cap = match otwatch_sim::generate(name, s.seed) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("otwatch simulate: {e}; run `otwatch simulate --list` to see the scenarios");
            return ExitCode::from(2);
        }
    };
    let res = if s.nanos {
        std::fs::File::create(&s.out).and_then(|f| cap.write_pcap_nanos(std::io::BufWriter::new(f)))
    } else {
        cap.write_pcap_file(&s.out)
    };
    if let Err(e) = res {
        eprintln!("otwatch simulate: cannot write {}: {e}", s.out.display());
        return ExitCode::from(1);
    }
    println!(
        "wrote {} ({} packets, {} application messages, {} malformed)",
        s.out.display(),
        cap.packets.len(),
        cap.truth.iter().filter(|t| !t.malformed).count(),
        cap.truth.iter().filter(|t| t.malformed).count()
    );
    ExitCode::SUCCESS
}

fn demo(d: &DemoArgs) -> ExitCode {
    if let Err(e) = std::fs::create_dir_all(&d.dir) {
        eprintln!("otwatch demo: cannot create {}: {e}", d.dir.display());
        return ExitCode::from(1);
    }
    let pcap = d.dir.join("demo.pcap");
    let cap = match otwatch_sim::generate("demo", 1) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("otwatch demo: {e}");
            return ExitCode::from(1);
        }
    };
    if let Err(e) = cap.write_pcap_file(&pcap) {
        eprintln!("otwatch demo: cannot write {}: {e}", pcap.display());
        return ExitCode::from(1);
    }
    println!(
        "Generated the demo plant capture: {} ({} packets)\n",
        pcap.display(),
        cap.packets.len()
    );
    let args = analyze::AnalyzeArgs {
        files: vec![pcap],
        events: Some(d.dir.join("events.ndjson")),
        devices: Some(d.dir.join("devices.json")),
        summary_json: Some(d.dir.join("summary.json")),
        ..Default::default()
    };
    let code = analyze::run(&args);
    println!(
        "\nOutputs: {}/events.ndjson (one record per message), devices.json (inventory), summary.json",
        d.dir.display()
    );
    code
}
