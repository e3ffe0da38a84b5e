//! `otwatch`: the OT network security monitor's command line.

mod alerts;
mod analyze;
mod output;
mod report;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    Analyze(analyze::AnalyzeArgs),
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
struct DemoArgs {
    /// Directory for the demo capture and the analysis outputs.
    #[arg(long, default_value = "otwatch-demo")]
    dir: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Analyze(a) => analyze::run(&a),
        Cmd::Simulate(s) => simulate(&s),
        Cmd::Demo(d) => demo(&d),
    }
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
