//! The data endpoint tests' sensor and harness.
//!
//! `DataSensor` is a real `AlertManager` behind a mutex that writes every
//! change (alerts, learned/muted keys, timeline events) to the real
//! `SqliteStore`, as the sensor's packet thread does. `Harness` builds the
//! whole API (`otwatch_api::router`, with the authorization layer) on a
//! store in a temporary directory, with one API token per role, and calls it
//! in-process with `tower::ServiceExt::oneshot`.

#![allow(dead_code)]

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use otwatch_alerts::timeline::entry_for_manager_event;
use otwatch_alerts::{
    Alert, AlertManager, Catalog, Detection, Endpoint, ManagerConfig, Outcome, TriageError,
};
use otwatch_api::control::LearningStatus;
use otwatch_api::{
    AlertAction, ApiConfig, ApiState, Control, ControlError, DeviceAction, auth, router,
};
use otwatch_core::Timestamp;
use otwatch_store::{EventRecord, Op, Role, SqliteStore, Store, Token};
use serde_json::Value;
use tower::ServiceExt;

pub const SENSOR: &str = "sensor-1";

pub struct DataSensor {
    pub store: Arc<SqliteStore>,
    inner: Mutex<Inner>,
}

struct Inner {
    manager: AlertManager,
    connections: Value,
    baseline: Vec<u8>,
    device_actions: Vec<(u64, DeviceAction, String)>,
}

fn triage_error(e: TriageError) -> ControlError {
    match e {
        TriageError::UnknownAlert(id) => ControlError::NotFound {
            what: "alert".into(),
            id,
        },
        other => ControlError::Refused(other.to_string()),
    }
}

fn internal(e: impl std::fmt::Display) -> ControlError {
    ControlError::Internal(e.to_string())
}

impl DataSensor {
    pub fn new(store: Arc<SqliteStore>) -> DataSensor {
        DataSensor {
            store,
            inner: Mutex::new(Inner {
                manager: AlertManager::new(
                    Catalog::builtin().clone(),
                    SENSOR.into(),
                    ManagerConfig::default(),
                ),
                connections: Value::Array(Vec::new()),
                baseline: b"{\"devices\": []}".to_vec(),
                device_actions: Vec::new(),
            }),
        }
    }

    /// Writes alert `id` and the manager's pending timeline events.
    fn persist(
        &self,
        inner: &mut Inner,
        id: &str,
        owner: Option<&str>,
    ) -> Result<(), ControlError> {
        let mut ops = Vec::new();
        if let (Some(a), Some(key)) = (inner.manager.get(id), inner.manager.scenario_key(id)) {
            ops.push(Op::PutAlert {
                alert: Box::new(a.clone()),
                key: key.clone(),
            });
            ops.push(Op::Learned {
                key: key.clone(),
                on: a.learned,
            });
            ops.push(Op::Muted {
                key: key.clone(),
                on: a.muted,
            });
        }
        for e in inner.manager.drain_events() {
            let t = entry_for_manager_event(&e, None);
            ops.push(Op::Event(EventRecord {
                id: 0,
                ts: t.ts,
                severity: t.severity.as_str().to_string(),
                kind: t.kind.to_string(),
                title: t.title.to_string(),
                device_ip: t.device_ip,
                device_mac: t.device_mac.map(|m| m.to_string()),
                peer_ip: t.peer_ip,
                owner: owner.map(str::to_string),
                alert_id: t.alert_id,
                content: t.content,
            }));
        }
        self.store.apply(&ops).map_err(internal)
    }

    /// Feeds a detection; returns the id of the alert it created or updated.
    pub fn ingest(&self, d: Detection) -> String {
        let mut inner = self.inner.lock().unwrap();
        let id = match inner.manager.ingest(d) {
            Outcome::Created(id) | Outcome::Updated(id) => id,
            other => panic!("detection raised no alert: {other:?}"),
        };
        self.persist(&mut inner, &id, None).unwrap();
        id
    }

    pub fn set_connections(&self, v: Value) {
        self.inner.lock().unwrap().connections = v;
    }

    pub fn device_actions(&self) -> Vec<(u64, DeviceAction, String)> {
        self.inner.lock().unwrap().device_actions.clone()
    }
}

const NOT_HERE: &str = "not part of the data endpoint tests";

impl Control for DataSensor {
    fn alert_action(
        &self,
        id: &str,
        action: AlertAction,
        actor: &str,
    ) -> Result<Alert, ControlError> {
        let mut inner = self.inner.lock().unwrap();
        let ts = otwatch_api::now();
        let m = &mut inner.manager;
        match action {
            AlertAction::Status { status } => m.set_status(id, status, ts),
            AlertAction::Learn => m.learn(id, ts),
            AlertAction::Unlearn => m.unlearn(id, ts),
            AlertAction::Mute => m.mute(id, ts),
            AlertAction::Unmute => m.unmute(id, ts),
            AlertAction::Comment { text } => m.comment(id, ts, actor, &text),
            AlertAction::Severity { severity } => m.set_severity(id, severity, ts),
        }
        .map_err(triage_error)?;
        self.persist(&mut inner, id, Some(actor))?;
        inner
            .manager
            .get(id)
            .cloned()
            .ok_or_else(|| internal("alert vanished"))
    }

    fn device_action(
        &self,
        id: u64,
        action: DeviceAction,
        actor: &str,
    ) -> Result<u64, ControlError> {
        let mut inner = self.inner.lock().unwrap();
        if self.store.device(id).map_err(internal)?.is_none() {
            return Err(ControlError::NotFound {
                what: "device".into(),
                id: id.to_string(),
            });
        }
        match &action {
            DeviceAction::Edit { .. } => {}
            DeviceAction::Merge { from } => {
                for d in from {
                    self.store.delete_device(*d).map_err(internal)?;
                }
            }
            DeviceAction::Delete => self.store.delete_device(id).map_err(internal)?,
        }
        inner.device_actions.push((id, action, actor.to_string()));
        Ok(id)
    }

    fn learning(&self) -> Result<LearningStatus, ControlError> {
        Err(ControlError::Unavailable(NOT_HERE.into()))
    }
    fn set_learning(&self, _: bool, _: &str) -> Result<LearningStatus, ControlError> {
        Err(ControlError::Unavailable(NOT_HERE.into()))
    }
    fn alert_settings(&self) -> Result<Value, ControlError> {
        Err(ControlError::Unavailable(NOT_HERE.into()))
    }
    fn set_alert_settings(&self, _: &Value, _: &str) -> Result<Value, ControlError> {
        Err(ControlError::Unavailable(NOT_HERE.into()))
    }
    fn exclusions(&self) -> Result<Value, ControlError> {
        Err(ControlError::Unavailable(NOT_HERE.into()))
    }
    fn set_exclusions(&self, _: &Value, _: &str) -> Result<(), ControlError> {
        Err(ControlError::Unavailable(NOT_HERE.into()))
    }
    fn custom_rules(&self) -> Result<Value, ControlError> {
        Err(ControlError::Unavailable(NOT_HERE.into()))
    }
    fn set_custom_rules(&self, _: &Value, _: &str) -> Result<(), ControlError> {
        Err(ControlError::Unavailable(NOT_HERE.into()))
    }
    fn ti_packages(&self) -> Result<Value, ControlError> {
        Err(ControlError::Unavailable(NOT_HERE.into()))
    }
    fn put_ti_package(&self, _: &str, _: &str, _: &str) -> Result<(), ControlError> {
        Err(ControlError::Unavailable(NOT_HERE.into()))
    }
    fn delete_ti_package(&self, _: &str, _: &str) -> Result<(), ControlError> {
        Err(ControlError::Unavailable(NOT_HERE.into()))
    }
    fn subnets(&self) -> Result<Value, ControlError> {
        Err(ControlError::Unavailable(NOT_HERE.into()))
    }
    fn set_subnets(&self, _: &Value, _: &str) -> Result<(), ControlError> {
        Err(ControlError::Unavailable(NOT_HERE.into()))
    }
    fn baseline(&self) -> Result<Vec<u8>, ControlError> {
        Ok(self.inner.lock().unwrap().baseline.clone())
    }
    fn connections(&self) -> Result<Value, ControlError> {
        Ok(self.inner.lock().unwrap().connections.clone())
    }
    fn replay(&self, _: std::path::PathBuf, _: &str) -> Result<String, ControlError> {
        Err(ControlError::Unavailable(NOT_HERE.into()))
    }
    fn status(&self) -> Result<Value, ControlError> {
        Err(ControlError::Unavailable(NOT_HERE.into()))
    }
    fn metrics(&self) -> String {
        String::new()
    }
}

/// A detection of `type_id` at `secs` (capture time, seconds) between two IPs.
pub fn detection(type_id: &'static str, secs: i64, src: &str, dst: &str) -> Detection {
    let ip = |s: &str| Endpoint::ip(s.parse::<IpAddr>().unwrap());
    Detection::new(type_id, Timestamp::from_secs(secs), ip(src), ip(dst))
}

pub struct Harness {
    pub dir: tempfile::TempDir,
    pub store: Arc<SqliteStore>,
    pub sensor: Arc<DataSensor>,
    pub app: Router,
    tokens: Vec<(Role, String)>,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}), status {}: {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts a 400 whose JSON body names `field`.
    pub fn assert_bad(&self, field: &str) {
        assert_eq!(self.status, StatusCode::BAD_REQUEST, "{}", self.text());
        assert_eq!(self.json()["error"]["field"], field, "{}", self.text());
    }
}

impl Harness {
    pub fn new() -> Harness {
        Harness::with_config(ApiConfig::default())
    }

    pub fn with_config(config: ApiConfig) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
        let sensor = Arc::new(DataSensor::new(store.clone()));
        let state = ApiState {
            store: store.clone(),
            control: sensor.clone(),
            config: Arc::new(config),
        };
        let mut tokens = Vec::new();
        for role in [Role::Readonly, Role::Analyst, Role::Admin] {
            let (secret, hash) = auth::new_token();
            store
                .add_token(&Token {
                    id: 0,
                    name: format!("test-{}", role.as_str()),
                    role,
                    secret_hash: hash,
                    created: otwatch_api::now(),
                    last_used: None,
                    created_by: "cli".into(),
                })
                .unwrap();
            tokens.push((role, secret));
        }
        Harness {
            dir,
            store,
            sensor,
            app: router(state),
            tokens,
        }
    }

    fn token(&self, role: Role) -> &str {
        &self.tokens.iter().find(|(r, _)| *r == role).unwrap().1
    }

    /// One request as `role` (`None`: no credentials); `body` is sent as JSON.
    pub async fn call(
        &self,
        role: Option<Role>,
        method: &str,
        uri: &str,
        body: Option<Value>,
    ) -> Answer {
        let mut req = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri(uri);
        if let Some(r) = role {
            req = req.header(header::AUTHORIZATION, self.token(r));
        }
        let req = match body {
            Some(b) => req
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(serde_json::to_vec(&b).unwrap())),
            None => req.body(Body::empty()),
        }
        .unwrap();
        let resp = self.app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, role: Role, uri: &str) -> Answer {
        self.call(Some(role), "GET", uri, None).await
    }

    /// GET as admin, expecting 200 and JSON.
    pub async fn ok(&self, uri: &str) -> Value {
        let a = self.get(Role::Admin, uri).await;
        assert_eq!(a.status, StatusCode::OK, "{uri}: {}", a.text());
        a.json()
    }
}
