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
    /// Run the sensor service: live capture and/or replays, the store, the
    /// PCAP per alert and the REST API (docs/sensor.md).
    Sensor(ConfigArg),
    /// API tokens (`Authorization: <token>`).
    #[command(subcommand)]
    Token(TokenCmd),
    /// Users of the sensor's API and console.
    #[command(subcommand)]
    User(UserCmd),
}

#[derive(clap::Args, Debug)]
struct ConfigArg {
    /// The sensor configuration (packaging/sensor.toml documents every key).
    #[arg(long, value_name = "PATH")]
    config: PathBuf,
}

#[derive(Subcommand, Debug)]
enum TokenCmd {
    /// Create a token and print it (only it) on stdout; it is shown once and
    /// stored hashed. Works whether or not the sensor is running.
    Create {
        #[arg(long, value_name = "PATH")]
        config: PathBuf,
        /// admin, analyst or readonly.
        #[arg(long)]
        role: String,
        /// What the token is for (shown in token lists).
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand, Debug)]
enum UserCmd {
    /// Add a user; the password is read from stdin (first line).
    Add {
        #[arg(long, value_name = "PATH")]
        config: PathBuf,
        /// admin, analyst or readonly.
        #[arg(long)]
        role: String,
        #[arg(long)]
        name: String,
    },
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
        Cmd::Sensor(c) => sensor(&c.config),
        Cmd::Token(TokenCmd::Create { config, role, name }) => token_create(&config, &role, &name),
        Cmd::User(UserCmd::Add { config, role, name }) => user_add(&config, &role, &name),
    }
}

fn load_config(
    cmd: &str,
    path: &std::path::Path,
) -> Result<otwatch_sensor::SensorConfig, ExitCode> {
    otwatch_sensor::SensorConfig::load(path).map_err(|e| {
        eprintln!("otwatch {cmd}: {e}");
        ExitCode::from(2)
    })
}

fn parse_role(cmd: &str, s: &str) -> Result<otwatch_store::Role, ExitCode> {
    otwatch_store::Role::parse(s).ok_or_else(|| {
        eprintln!("otwatch {cmd}: --role {s:?}: use admin, analyst or readonly");
        ExitCode::from(2)
    })
}

fn sensor(config: &std::path::Path) -> ExitCode {
    let cfg = match load_config("sensor", config) {
        Ok(c) => c,
        Err(c) => return c,
    };
    match otwatch_sensor::service::run(cfg) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("otwatch sensor: {e}");
            ExitCode::from(1)
        }
    }
}

fn token_create(config: &std::path::Path, role: &str, name: &str) -> ExitCode {
    let (cfg, role) = match (load_config("token", config), parse_role("token", role)) {
        (Ok(c), Ok(r)) => (c, r),
        (Err(c), _) | (_, Err(c)) => return c,
    };
    match otwatch_sensor::service::create_token(&cfg, role, name) {
        Ok(secret) => {
            println!("{secret}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("otwatch token create: {e}");
            ExitCode::from(1)
        }
    }
}

fn user_add(config: &std::path::Path, role: &str, name: &str) -> ExitCode {
    let (cfg, role) = match (load_config("user", config), parse_role("user", role)) {
        (Ok(c), Ok(r)) => (c, r),
        (Err(c), _) | (_, Err(c)) => return c,
    };
    let mut line = String::new();
    if let Err(e) = std::io::stdin().read_line(&mut line) {
        eprintln!("otwatch user add: cannot read the password from stdin: {e}");
        return ExitCode::from(2);
    }
    let password = line.trim_end_matches(['\n', '\r']);
    match otwatch_sensor::service::add_user(&cfg, role, name, password) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("otwatch user add: {e}");
            ExitCode::from(1)
        }
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
