//! The test sensor (a real `AlertManager` behind a mutex, writing to the real
//! SQLite store), users and tokens, and a real server on 127.0.0.1:0.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use otwatch_alerts::{
    AlertManager, Catalog, Detection, ExclusionRule, ManagerConfig, Overrides, TriageError,
};
use otwatch_api::control::LearningStatus;
use otwatch_api::serve::{TlsFiles, ensure_certificate, serve};
use otwatch_api::{AlertAction, ApiConfig, ApiState, Control, ControlError, DeviceAction, now};
use otwatch_store::sqlite::SqliteStore;
use otwatch_store::{Op, Role, Store, Token, User};
use serde_json::{Value, json};

pub struct TestSensor {
    store: Arc<SqliteStore>,
    inner: Mutex<Inner>,
}

struct Inner {
    manager: AlertManager,
    learning: bool,
    replays: Vec<PathBuf>,
}

impl TestSensor {
    pub fn new(store: Arc<SqliteStore>) -> TestSensor {
        let manager = AlertManager::new(
            Catalog::builtin().clone(),
            "sensor-1".into(),
            ManagerConfig::default(),
        );
        TestSensor {
            store,
            inner: Mutex::new(Inner {
                manager,
                learning: true,
                replays: Vec::new(),
            }),
        }
    }

    /// Feeds a detection and stores the alerts it raised; returns their ids.
    pub fn ingest(&self, d: Detection) -> Vec<String> {
        let mut inner = self.inner.lock().unwrap();
        inner.manager.ingest(d);
        let ops: Vec<Op> = inner
            .manager
            .alerts()
            .map(|a| Op::PutAlert {
                alert: Box::new(a.clone()),
                key: inner.manager.scenario_key(&a.id).unwrap().clone(),
            })
            .collect();
        self.store.apply(&ops).unwrap();
        inner.manager.alerts().map(|a| a.id.clone()).collect()
    }

    pub fn replays(&self) -> Vec<PathBuf> {
        self.inner.lock().unwrap().replays.clone()
    }

    fn setting(&self, key: &str, default: Value) -> Result<Value, ControlError> {
        self.store
            .setting(key)
            .map(|v| v.unwrap_or(default))
            .map_err(|e| ControlError::Internal(e.to_string()))
    }

    fn set_setting(&self, key: &str, v: &Value) -> Result<(), ControlError> {
        self.store
            .set_setting(key, v)
            .map_err(|e| ControlError::Internal(e.to_string()))
    }
}

fn triage(e: TriageError) -> ControlError {
    match e {
        TriageError::UnknownAlert(id) => ControlError::NotFound {
            what: "alert".into(),
            id,
        },
        other => ControlError::Refused(other.to_string()),
    }
}

fn invalid(field: &str, e: impl std::fmt::Display) -> ControlError {
    ControlError::Invalid {
        field: field.into(),
        message: e.to_string(),
    }
}

impl Control for TestSensor {
    fn alert_action(
        &self,
        id: &str,
        action: AlertAction,
        actor: &str,
    ) -> Result<otwatch_alerts::Alert, ControlError> {
        let mut inner = self.inner.lock().unwrap();
        let m = &mut inner.manager;
        let ts = now();
        match action {
            AlertAction::Status { status } => m.set_status(id, status, ts),
            AlertAction::Learn => m.learn(id, ts),
            AlertAction::Unlearn => m.unlearn(id, ts),
            AlertAction::Mute => m.mute(id, ts),
            AlertAction::Unmute => m.unmute(id, ts),
            AlertAction::Comment { text } => m.comment(id, ts, actor, &text),
            AlertAction::Severity { severity } => m.set_severity(id, severity, ts),
        }
        .map_err(triage)?;
        let alert = m.get(id).cloned().ok_or_else(|| ControlError::NotFound {
            what: "alert".into(),
            id: id.into(),
        })?;
        let key = m
            .scenario_key(id)
            .cloned()
            .ok_or_else(|| ControlError::Internal(format!("alert {id} has no scenario key")))?;
        self.store
            .apply(&[Op::PutAlert {
                alert: Box::new(alert.clone()),
                key,
            }])
            .map_err(|e| ControlError::Internal(e.to_string()))?;
        Ok(alert)
    }

    fn device_action(&self, id: u64, action: DeviceAction, _: &str) -> Result<u64, ControlError> {
        let nf = |_| ControlError::NotFound {
            what: "device".into(),
            id: id.to_string(),
        };
        match action {
            DeviceAction::Edit { edits } => {
                self.store.edit_device(id, &edits).map(|_| id).map_err(nf)
            }
            DeviceAction::Delete => self.store.delete_device(id).map(|_| id).map_err(nf),
            DeviceAction::Merge { .. } => Err(ControlError::Refused(
                "the test sensor has no inventory to merge".into(),
            )),
        }
    }

    fn learning(&self) -> Result<LearningStatus, ControlError> {
        let inner = self.inner.lock().unwrap();
        Ok(LearningStatus {
            learning: inner.learning,
            auto_end: false,
            since: None,
            stats: json!({ "alerts": inner.manager.len() }),
        })
    }

    fn set_learning(&self, on: bool, _: &str) -> Result<LearningStatus, ControlError> {
        self.inner.lock().unwrap().learning = on;
        self.learning()
    }

    fn alert_settings(&self) -> Result<Value, ControlError> {
        let inner = self.inner.lock().unwrap();
        let types: serde_json::Map<String, Value> = inner
            .manager
            .catalog()
            .iter()
            .map(|t| {
                (
                    t.id.clone(),
                    json!({ "enabled": t.enabled, "engine": t.engine }),
                )
            })
            .collect();
        Ok(json!({ "types": types }))
    }

    fn set_alert_settings(&self, overrides: &Value, _: &str) -> Result<Value, ControlError> {
        let o: Overrides =
            serde_json::from_value(overrides.clone()).map_err(|e| invalid("settings", e))?;
        {
            let mut inner = self.inner.lock().unwrap();
            let c = inner
                .manager
                .catalog()
                .with_overrides(&o)
                .map_err(|e| invalid("settings", e))?;
            inner.manager.set_catalog(c);
        }
        self.alert_settings()
    }

    fn exclusions(&self) -> Result<Value, ControlError> {
        self.setting("exclusions", json!([]))
    }

    fn set_exclusions(&self, rules: &Value, _: &str) -> Result<(), ControlError> {
        let parsed: Vec<ExclusionRule> =
            serde_json::from_value(rules.clone()).map_err(|e| invalid("rules", e))?;
        self.inner
            .lock()
            .unwrap()
            .manager
            .set_exclusions(parsed)
            .map_err(|e| invalid("rules", e))?;
        self.set_setting("exclusions", rules)
    }

    fn custom_rules(&self) -> Result<Value, ControlError> {
        self.setting("custom_rules", json!([]))
    }

    fn set_custom_rules(&self, rules: &Value, _: &str) -> Result<(), ControlError> {
        if !rules.is_array() {
            return Err(invalid("rules", "an array of rules is required"));
        }
        self.set_setting("custom_rules", rules)
    }

    fn ti_packages(&self) -> Result<Value, ControlError> {
        let list = self
            .store
            .settings_with_prefix("ti:")
            .map_err(|e| ControlError::Internal(e.to_string()))?;
        Ok(Value::Array(
            list.into_iter()
                .map(|(k, v)| json!({ "name": k.trim_start_matches("ti:"), "indicators": v["indicators"] }))
                .collect(),
        ))
    }

    fn put_ti_package(&self, name: &str, text: &str, _: &str) -> Result<(), ControlError> {
        let n = text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .count();
        if n == 0 {
            return Err(invalid("package", "no indicators"));
        }
        self.set_setting(&format!("ti:{name}"), &json!({ "indicators": n }))
    }

    fn delete_ti_package(&self, name: &str, _: &str) -> Result<(), ControlError> {
        let key = format!("ti:{name}");
        if self.setting(&key, Value::Null)?.is_null() {
            return Err(ControlError::NotFound {
                what: "threat-intelligence package".into(),
                id: name.into(),
            });
        }
        self.store
            .delete_setting(&key)
            .map_err(|e| ControlError::Internal(e.to_string()))
    }

    fn subnets(&self) -> Result<Value, ControlError> {
        self.setting("subnets", json!({ "subnets": [] }))
    }

    fn set_subnets(&self, doc: &Value, _: &str) -> Result<(), ControlError> {
        if !doc.is_object() {
            return Err(invalid("subnets", "an object is required"));
        }
        self.set_setting("subnets", doc)
    }

    fn baseline(&self) -> Result<Vec<u8>, ControlError> {
        Ok(self
            .store
            .baseline()
            .map_err(|e| ControlError::Internal(e.to_string()))?
            .unwrap_or_else(|| b"{}".to_vec()))
    }

    fn connections(&self) -> Result<Value, ControlError> {
        Ok(json!([]))
    }

    fn replay(&self, path: PathBuf, _: &str) -> Result<String, ControlError> {
        if !path.is_file() {
            return Err(ControlError::Internal(format!(
                "{} is not a file",
                path.display()
            )));
        }
        let mut inner = self.inner.lock().unwrap();
        inner.replays.push(path);
        Ok(format!("replay-{}", inner.replays.len()))
    }

    fn status(&self) -> Result<Value, ControlError> {
        let inner = self.inner.lock().unwrap();
        Ok(json!({ "alerts": inner.manager.len(), "learning": inner.learning }))
    }

    fn metrics(&self) -> String {
        let n = self.inner.lock().unwrap().manager.len();
        format!("# TYPE otwatch_alerts_open gauge\notwatch_alerts_open {n}\n")
    }
}

/// A running API server.
pub struct Server {
    pub base: String,
    pub store: Arc<SqliteStore>,
    pub sensor: Arc<TestSensor>,
    pub client: reqwest::Client,
    pub dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<()>>,
}

pub fn install_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Starts the API on 127.0.0.1:0 over HTTP or HTTPS (self-signed).
pub async fn start(config: ApiConfig, tls: bool) -> Server {
    install_provider();
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("db")).unwrap());
    let sensor = Arc::new(TestSensor::new(store.clone()));
    let state = ApiState {
        store: store.clone(),
        control: sensor.clone(),
        config: Arc::new(config),
    };
    let app = otwatch_api::router(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let files: Option<TlsFiles> = tls.then(|| ensure_certificate(&dir.path().join("tls")).unwrap());
    let client = match &files {
        Some(f) => tls_client(f),
        None => reqwest::Client::builder().build().unwrap(),
    };
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(async move {
        serve(listener, app, files, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    let scheme = if tls { "https" } else { "http" };
    Server {
        base: format!(
            "{scheme}://{}",
            if tls {
                format!("localhost:{}", addr.port())
            } else {
                addr.to_string()
            }
        ),
        store,
        sensor,
        client,
        dir,
        shutdown: Some(tx),
        handle: Some(handle),
    }
}

/// A client trusting only the server's self-signed certificate.
pub fn tls_client(files: &TlsFiles) -> reqwest::Client {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(&files.cert).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(cfg)
        .resolve("localhost", "127.0.0.1:0".parse().unwrap())
        .build()
        .unwrap()
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Asks the server to stop (open requests may finish).
    pub fn begin_stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Stops the server and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            tokio::time::timeout(std::time::Duration::from_secs(15), h)
                .await
                .expect("server did not stop")
                .unwrap();
        }
    }

    pub fn add_user(&self, name: &str, role: Role, password: &str) {
        self.store
            .add_user(&User {
                name: name.into(),
                role,
                password_hash: otwatch_api::auth::hash_password(password).unwrap(),
                created: now(),
                last_login: None,
            })
            .unwrap();
    }

    /// Adds a token; returns its secret.
    pub fn add_token(&self, name: &str, role: Role) -> String {
        let (secret, hash) = otwatch_api::auth::new_token();
        self.store
            .add_token(&Token {
                id: 0,
                name: name.into(),
                role,
                secret_hash: hash,
                created: now(),
                last_used: None,
                created_by: "test".into(),
            })
            .unwrap();
        secret
    }
}
