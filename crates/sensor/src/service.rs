//! Starting and stopping the sensor: store, resume, threads, API, signals.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use otwatch_alerts::{AlertManager, ManagerConfig};
use otwatch_engines::Baseline;
use otwatch_store::writer::{Writer, WriterConfig};
use otwatch_store::{Op, SqliteStore, Store, StoreConfig};
use serde_json::Value;

use crate::config::SensorConfig;
use crate::control::{self, Docs, SensorControl};
use crate::metrics::Metrics;
use crate::runtime::{self, Core, DeviceIds, OpSink};

const DAY_NS: i64 = 86_400 * 1_000_000_000;

/// The batching writer as the analysis thread's op sink; its counters are
/// published to the metrics.
struct WriterSink {
    w: Writer,
    metrics: Arc<Metrics>,
    /// A user's action is being handled: use the priority lane.
    urgent: std::sync::atomic::AtomicBool,
    /// Urgent ops sent that no ticket covers yet.
    urgent_unticketed: std::sync::atomic::AtomicBool,
}

impl WriterSink {
    fn publish(&self) {
        let s = self.w.stats();
        let m = &self.metrics;
        m.store_queue.store(s.queued, Relaxed);
        m.store_batches.store(s.batches, Relaxed);
        m.store_errors.store(s.errors, Relaxed);
        m.store_commit_us_last
            .store(s.last_commit_latency_us, Relaxed);
        m.store_commit_us_max
            .store(s.max_commit_latency_us, Relaxed);
    }
}

impl OpSink for WriterSink {
    fn send(&self, op: Op) {
        let r = if self.urgent.load(Relaxed) {
            self.urgent_unticketed.store(true, Relaxed);
            self.w.send_urgent(op)
        } else {
            self.w.send(op)
        };
        if let Err(e) = r {
            self.metrics.store_errors.fetch_add(1, Relaxed);
            eprintln!("otwatch sensor: store write refused: {e}");
        }
        self.publish();
    }

    fn flush(&self) {
        let r = if self.urgent.load(Relaxed) {
            self.urgent_unticketed.store(false, Relaxed);
            self.w.urgent_ticket().and_then(|t| t.wait())
        } else {
            self.w.flush()
        };
        if let Err(e) = r {
            self.metrics.store_errors.fetch_add(1, Relaxed);
            eprintln!("otwatch sensor: store flush failed: {e}");
        }
        self.publish();
    }

    fn set_urgent(&self, on: bool) {
        self.urgent.store(on, Relaxed);
        // Urgent ops nobody waits for are committed now all the same.
        if !on && self.urgent_unticketed.swap(false, Relaxed) {
            let _ = self.w.nudge();
        }
    }

    fn flush_ticket(&self) -> Option<otwatch_store::writer::FlushTicket> {
        let t = if self.urgent.load(Relaxed) {
            self.urgent_unticketed.store(false, Relaxed);
            self.w.urgent_ticket()
        } else {
            self.w.flush_ticket()
        };
        match t {
            Ok(t) => Some(t),
            Err(e) => {
                self.metrics.store_errors.fetch_add(1, Relaxed);
                eprintln!("otwatch sensor: store flush failed: {e}");
                None
            }
        }
    }
}

/// Opens the store of a config (also used by `otwatch token` / `user`).
pub fn open_store(cfg: &SensorConfig) -> Result<SqliteStore, String> {
    let dir = cfg.store_dir();
    SqliteStore::open_with(
        &dir,
        StoreConfig {
            max_events: cfg.store.max_events,
            // The sensor's writer commits all the time: checkpoints off
            // its path.
            checkpoint_every: Some(std::time::Duration::from_millis(250)),
            ..StoreConfig::default()
        },
    )
    .map_err(|e| format!("store {}: {e}", dir.display()))
}

/// Reads a TOML file of the `otwatch analyze` kind as JSON.
fn toml_file_json(path: &Path, what: &str) -> Result<Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {what} {}: {e}", path.display()))?;
    let v: toml::Value =
        toml::from_str(&text).map_err(|e| format!("{what} {}: {e}", path.display()))?;
    serde_json::to_value(v).map_err(|e| format!("{what} {}: {e}", path.display()))
}

/// The settings documents: from the store, or imported from the config's
/// files on first start (and then stored).
fn load_docs(cfg: &SensorConfig, store: &dyn Store) -> Result<Docs, String> {
    let get = |k: &str| {
        store
            .setting(k)
            .map_err(|e| format!("store setting {k}: {e}"))
    };
    let mut docs = Docs::default();
    let import = |key: &str,
                  file: &Option<std::path::PathBuf>,
                  what: &str,
                  root: Option<&str>|
     -> Result<Value, String> {
        if let Some(v) = get(key)? {
            return Ok(v);
        }
        let Some(f) = file else {
            return Ok(Value::Null);
        };
        let mut v = toml_file_json(&cfg.resolve(f), what)?;
        if let Some(r) = root {
            v = v.get(r).cloned().unwrap_or(Value::Array(Vec::new()));
        }
        store
            .set_setting(key, &v)
            .map_err(|e| format!("store setting {key}: {e}"))?;
        Ok(v)
    };
    docs.alert_settings = import(
        control::KEY_ALERT_SETTINGS,
        &cfg.alerts.settings,
        "alert settings",
        None,
    )?;
    docs.exclusions = import(
        control::KEY_EXCLUSIONS,
        &cfg.alerts.exclusions,
        "exclusion rules",
        Some("exclusion"),
    )?;
    docs.custom_rules = import(
        control::KEY_CUSTOM_RULES,
        &cfg.alerts.rules,
        "custom rules",
        Some("rule"),
    )?;
    docs.subnets = get(control::KEY_SUBNETS)?.unwrap_or(Value::Null);
    for (k, v) in store
        .settings_with_prefix(control::TI_PREFIX)
        .map_err(|e| format!("store: {e}"))?
    {
        if let Value::String(text) = v {
            docs.ti
                .insert(k[control::TI_PREFIX.len()..].to_string(), text);
        }
    }
    // Packages named in the config are (re)loaded from their files at each
    // start and stored, so a restart after an update takes the new file.
    let paths: Vec<_> = cfg.ti.paths.iter().map(|p| cfg.resolve(p)).collect();
    if !paths.is_empty() {
        // Checked as a whole first, so that a bad file stops the start.
        otwatch_engines::ti::ThreatIntel::load_paths(&paths)
            .map_err(|e| format!("[ti] paths: {e}"))?;
        for p in &paths {
            let files: Vec<_> = if p.is_dir() {
                let mut v: Vec<_> = std::fs::read_dir(p)
                    .map_err(|e| format!("[ti] {}: {e}", p.display()))?
                    .flatten()
                    .map(|e| e.path())
                    .filter(|f| f.is_file())
                    .collect();
                v.sort();
                v
            } else {
                vec![p.clone()]
            };
            for f in files {
                let text = std::fs::read_to_string(&f)
                    .map_err(|e| format!("[ti] {}: {e}", f.display()))?;
                let name = f
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "package".into());
                store
                    .set_setting(
                        &format!("{}{name}", control::TI_PREFIX),
                        &Value::String(text.clone()),
                    )
                    .map_err(|e| format!("store: {e}"))?;
                docs.ti.insert(name, text);
            }
        }
    }
    Ok(docs)
}

/// Everything prepared before the threads start.
struct Prepared {
    manager: AlertManager,
    baseline: Baseline,
    catalog: otwatch_alerts::Catalog,
    docs: Docs,
    ids: DeviceIds,
}

fn prepare(cfg: &SensorConfig, store: &dyn Store) -> Result<Prepared, String> {
    let docs = load_docs(cfg, store)?;
    let catalog = control::catalog_from(&docs.alert_settings).map_err(|e| e.to_string())?;
    control::install_ti(&docs.ti).map_err(|e| e.to_string())?;
    let resume = store.resume().map_err(|e| format!("store: {e}"))?;
    let mcfg = ManagerConfig {
        auto_close_after_ns: (cfg.alerts.auto_close_days as i64).saturating_mul(DAY_NS),
        retention_ns: (cfg.alerts.retention_days as i64).saturating_mul(DAY_NS),
        max_alerts: cfg.alerts.max_alerts,
        ..ManagerConfig::default()
    };
    let mut manager = AlertManager::resume(
        catalog.clone(),
        cfg.sensor.name.clone(),
        mcfg,
        resume.next_sequence,
        resume.alerts,
        resume.learned,
        resume.muted,
    )
    .map_err(|e| {
        format!(
            "cannot resume the alerts in {}: {e} (was the store written by another sensor name?)",
            cfg.store_dir().display()
        )
    })?;
    manager
        .set_exclusions(control::exclusions_from(&docs.exclusions).map_err(|e| e.to_string())?)
        .map_err(|e| format!("exclusion rules: {e}"))?;
    control::custom_from(&docs.custom_rules).map_err(|e| e.to_string())?;
    let mut baseline = match resume.baseline {
        Some(b) => Baseline::from_json(&b).map_err(|e| format!("stored baseline: {e}"))?,
        None => match &cfg.learning.import {
            Some(p) => {
                let p = cfg.resolve(p);
                let bytes = std::fs::read(&p)
                    .map_err(|e| format!("[learning] import {}: {e}", p.display()))?;
                Baseline::from_json(&bytes)
                    .map_err(|e| format!("[learning] import {}: {e}", p.display()))?
            }
            None => {
                // First start: learning mode is on.
                let mut b = Baseline::new();
                b.learning.auto_end = cfg.learning.auto_end;
                b
            }
        },
    };
    if let Some(s) = &cfg.learning.ot_subnets {
        match otwatch_engines::parse_subnets(s) {
            Ok(None) => baseline.set_all_ot(true),
            Ok(Some(n)) => baseline.set_ot_subnets(&n),
            Err(e) => return Err(format!("[learning] ot_subnets: {e}")),
        }
    }
    let ids = DeviceIds::load(store).map_err(|e| format!("store: {e}"))?;
    Ok(Prepared {
        manager,
        baseline,
        catalog,
        docs,
        ids,
    })
}

/// Runs the sensor until SIGTERM or SIGINT.
pub fn run(cfg: SensorConfig) -> Result<(), String> {
    let cfg = Arc::new(cfg);
    let dir = cfg.store_dir();
    let store: Arc<dyn Store> = Arc::new(open_store(&cfg)?);
    let p = prepare(&cfg, &*store)?;
    let metrics = Arc::new(Metrics::default());
    let writer = Writer::spawn(
        store.clone(),
        WriterConfig {
            max_batch: cfg.store.batch_ops.max(1),
            max_delay: Duration::from_millis(cfg.store.batch_delay_ms),
            ..WriterConfig::default()
        },
    );
    let live = crate::live::start(&cfg, metrics.clone())?;
    let evidence = crate::evidence::Evidence::new(dir.join("pcaps"), cfg.evidence.clone())?;
    let (jobs_tx, jobs_rx) = std::sync::mpsc::sync_channel::<runtime::Job>(1024);
    let priority = Arc::new(crate::priority::Priority::default());
    let control = Arc::new(SensorControl::new(
        jobs_tx,
        metrics.clone(),
        dir.join("uploads"),
        priority.clone(),
    ));

    // The analysis thread builds the engines itself (they are not Send).
    let analysis = {
        let (cfg, store, metrics) = (cfg.clone(), store.clone(), metrics.clone());
        let sink = WriterSink {
            w: writer.clone(),
            metrics: metrics.clone(),
            urgent: std::sync::atomic::AtomicBool::new(false),
            urgent_unticketed: std::sync::atomic::AtomicBool::new(false),
        };
        let Prepared {
            manager,
            baseline,
            catalog,
            docs,
            ids,
        } = p;
        std::thread::Builder::new()
            .name("analysis".into())
            .spawn(move || {
                if cfg.capture.interfaces.is_empty() {
                    priority.lower(cfg.capture.replay_nice);
                }
                let mut engines = otwatch_engines::builtin(&catalog, baseline);
                if let Ok(c) = control::custom_from(&docs.custom_rules) {
                    engines.push(Box::new(c));
                }
                let subnets = docs.subnets.clone();
                let mut core = Core::new(
                    cfg,
                    engines,
                    manager,
                    catalog,
                    docs,
                    Box::new(sink),
                    store,
                    ids,
                    metrics,
                    Some(evidence),
                );
                let _ = control::apply_subnets(core.engines(), &subnets);
                core.reconcile_pcaps();
                runtime::run(core, jobs_rx, live, &priority);
            })
            .map_err(|e| format!("cannot start the analysis thread: {e}"))?
    };

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the API runtime: {e}"))?;
    let result = rt.block_on(async {
        let shutdown = async {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(s) => s,
                    Err(_) => {
                        let _ = tokio::signal::ctrl_c().await;
                        return;
                    }
                };
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        };
        if cfg.api.listen.is_empty() {
            shutdown.await;
            return Ok(());
        }
        let tls = if cfg.api.tls {
            Some(match (&cfg.api.cert, &cfg.api.key) {
                (Some(c), Some(k)) => otwatch_api::serve::TlsFiles {
                    cert: cfg.resolve(c),
                    key: cfg.resolve(k),
                },
                _ => otwatch_api::serve::ensure_certificate(&dir.join("tls"))
                    .map_err(|e| e.to_string())?,
            })
        } else {
            None
        };
        let listener = tokio::net::TcpListener::bind(&cfg.api.listen)
            .await
            .map_err(|e| format!("[api] listen {}: {e}", cfg.api.listen))?;
        let state = otwatch_api::ApiState {
            store: store.clone(),
            control: control.clone(),
            config: Arc::new(cfg.api_config()),
        };
        let app = otwatch_api::router(state);
        eprintln!(
            "otwatch sensor {}: API on {}://{}",
            cfg.sensor.name,
            if tls.is_some() { "https" } else { "http" },
            listener
                .local_addr()
                .map(|a| a.to_string())
                .unwrap_or_default()
        );
        otwatch_api::serve::serve(listener, app, tls, shutdown)
            .await
            .map_err(|e| e.to_string())
    });
    // Stop the analysis thread (it finishes captures and writes everything),
    // then drain the writer.
    let _ = control.stop();
    let _ = analysis.join();
    writer
        .shutdown()
        .map_err(|e| format!("store: final write failed: {e}"))?;
    for i in metrics.interfaces() {
        eprintln!(
            "otwatch sensor {}: {}: {} packets received, {} dropped by the kernel, {} by the interface, {} by the sensor{}",
            cfg.sensor.name,
            i.interface,
            i.received,
            i.kernel_dropped,
            i.if_dropped,
            i.sensor_dropped,
            i.error
                .map(|e| format!(" (stopped: {e})"))
                .unwrap_or_default()
        );
    }
    eprintln!(
        "otwatch sensor {}: stopped after {} packets",
        cfg.sensor.name,
        metrics.packets.load(Relaxed)
    );
    result
}

/// `otwatch token create`: a new API token (printed once; stored hashed).
pub fn create_token(
    cfg: &SensorConfig,
    role: otwatch_store::Role,
    name: &str,
) -> Result<String, String> {
    if name.trim().is_empty() || name.len() > 100 {
        return Err("--name: give 1-100 characters".into());
    }
    let store = open_store(cfg)?;
    let (secret, hash) = otwatch_api::auth::new_token();
    store
        .add_token(&otwatch_store::Token {
            id: 0,
            name: name.to_string(),
            role,
            secret_hash: hash,
            created: runtime::wall_now(),
            last_used: None,
            created_by: "cli".into(),
        })
        .map_err(|e| e.to_string())?;
    let _ = store.audit(&otwatch_store::AuditRecord {
        id: 0,
        ts: runtime::wall_now(),
        actor: "cli".into(),
        action: "token.create".into(),
        target: name.to_string(),
        detail: format!("role {}", role.as_str()),
    });
    Ok(secret)
}

/// `otwatch user add`: a user with an argon2-hashed password.
pub fn add_user(
    cfg: &SensorConfig,
    role: otwatch_store::Role,
    name: &str,
    password: &str,
) -> Result<(), String> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c))
    {
        return Err("--name: use 1-64 letters, digits, '-', '_', '.' or '@'".into());
    }
    if password.chars().count() < 8 {
        return Err("the password (read from stdin) must have at least 8 characters".into());
    }
    let store = open_store(cfg)?;
    let hash = otwatch_api::auth::hash_password(password).map_err(|e| e.to_string())?;
    store
        .add_user(&otwatch_store::User {
            name: name.to_string(),
            role,
            password_hash: hash,
            created: runtime::wall_now(),
            last_login: None,
        })
        .map_err(|e| e.to_string())?;
    let _ = store.audit(&otwatch_store::AuditRecord {
        id: 0,
        ts: runtime::wall_now(),
        actor: "cli".into(),
        action: "user.add".into(),
        target: name.to_string(),
        detail: format!("role {}", role.as_str()),
    });
    Ok(())
}
