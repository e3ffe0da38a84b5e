//! Our own alert API, designed for an alert UI: list with filters, sorting
//! and cursor pagination, one alert, triage (`PATCH`) and bulk triage.
//!
//! Reads go to the store; every change goes through [`Control::alert_action`]
//! so the running sensor (its alert manager, learned and muted sets) and the
//! store stay in step. The small query/body helpers shared by the data
//! endpoint modules live here too.

use std::collections::HashSet;

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use otwatch_alerts::{Alert, Engine, SensorSeverity, Severity, Status};
use otwatch_core::Timestamp;
use otwatch_store::{AlertFilter, AlertSort, Count, Page, Role};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::control::AlertAction;
use crate::routes::RouteSpec;
use crate::{ApiError, ApiState, Caller, Json, Path, Query, blocking};

pub const ROUTES: &[RouteSpec] = &[
    RouteSpec::new(
        "GET",
        "/api/alerts",
        Some(Role::Readonly),
        "List alerts (filters, sort, cursor pagination)",
    ),
    RouteSpec::new("GET", "/api/alerts/{id}", Some(Role::Readonly), "One alert"),
    RouteSpec::new(
        "PATCH",
        "/api/alerts/{id}",
        Some(Role::Analyst),
        "Triage an alert: status, severity, learn, mute, comment",
    ),
    RouteSpec::new(
        "POST",
        "/api/alerts/bulk",
        Some(Role::Analyst),
        "Triage several alerts at once (per-id results)",
    ),
];

/// Most ids one bulk request may name.
pub const MAX_BULK_IDS: usize = 1000;
/// Longest comment, in characters.
pub const MAX_COMMENT_CHARS: usize = 2000;

pub fn router() -> Router<ApiState> {
    Router::new()
        .route("/api/alerts", get(list))
        .route("/api/alerts/bulk", post(bulk))
        .route("/api/alerts/{id}", get(one).patch(edit))
}

// ---------------------------------------------------------------------------
// helpers shared by the data endpoint modules

/// A 400 naming `field`.
pub(crate) fn bad(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::BadRequest {
        field: field.to_string(),
        message: message.into(),
    }
}

/// Query parameters in order, repeated names kept.
pub(crate) struct Params(pub Vec<(String, String)>);

impl Params {
    /// The last value of `name` (empty values count as absent).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim())
    }

    /// Every value of `name`, repeated or comma-separated, trimmed, empty
    /// items dropped.
    pub fn list(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect()
    }

    pub fn u64(&self, name: &str) -> Result<Option<u64>, ApiError> {
        self.get(name)
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| bad(name, format!("{v:?} is not a non-negative integer")))
            })
            .transpose()
    }

    pub fn bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        self.get(name)
            .map(|v| match v.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Ok(true),
                "false" | "0" | "no" => Ok(false),
                _ => Err(bad(name, format!("{v:?} is not true or false"))),
            })
            .transpose()
    }

    /// A time: RFC 3339 or integer milliseconds since 1970.
    pub fn time(&self, name: &str) -> Result<Option<Timestamp>, ApiError> {
        self.get(name).map(|v| parse_time(name, v)).transpose()
    }

    /// How far to count a list's `total`: `count=exact`, `count=none`, or
    /// up to a number (default [`Count::DEFAULT`], 10,000).
    pub fn count(&self) -> Result<Count, ApiError> {
        Ok(match self.get("count") {
            None => Count::DEFAULT,
            Some(v) if v.eq_ignore_ascii_case("exact") => Count::Exact,
            Some(v) if v.eq_ignore_ascii_case("none") => Count::Skip,
            Some(v) => match v.parse::<u64>() {
                Ok(n) if n > 0 => Count::AtMost(n),
                _ => {
                    return Err(bad(
                        "count",
                        format!("{v:?} is not exact, none or a positive number"),
                    ));
                }
            },
        })
    }

    /// The page size: `limit` clamped by [`crate::page_limit`]; a value
    /// that is not a number is a 400.
    pub fn limit(&self, cfg: &crate::ApiConfig) -> Result<usize, ApiError> {
        let requested = self
            .u64("limit")?
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX));
        Ok(crate::page_limit(cfg, requested))
    }
}

/// Parses RFC 3339 or integer epoch milliseconds.
pub(crate) fn parse_time(field: &str, v: &str) -> Result<Timestamp, ApiError> {
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        return v
            .parse::<i64>()
            .ok()
            .and_then(ms_to_ts)
            .ok_or_else(|| bad(field, format!("{v} milliseconds is out of range")));
    }
    Timestamp::parse_rfc3339(v).ok_or_else(|| {
        bad(
            field,
            format!("{v:?} is neither an RFC 3339 time nor milliseconds since 1970"),
        )
    })
}

/// Epoch milliseconds to a timestamp (`None` on overflow).
pub(crate) fn ms_to_ts(ms: i64) -> Option<Timestamp> {
    ms.checked_mul(1_000_000).map(Timestamp)
}

/// A timestamp (nanoseconds) as epoch milliseconds, rounded down.
pub(crate) fn epoch_ms(t: Timestamp) -> i64 {
    t.0.div_euclid(1_000_000)
}

/// A store error of a paged read: a cursor the store cannot use is the
/// caller's mistake (400 naming `cursor`), anything else is the store's.
pub(crate) fn paged_err(e: otwatch_store::StoreError) -> ApiError {
    match e {
        otwatch_store::StoreError::BadCursor(m) => bad("cursor", m),
        other => other.into(),
    }
}

/// The JSON object of a request body; anything else is a 400 naming `body`.
pub(crate) fn json_object(v: Value) -> Result<Map<String, Value>, ApiError> {
    match v {
        Value::Object(m) => Ok(m),
        _ => Err(bad("body", "must be a JSON object")),
    }
}

/// Parses a body the way the `Json` extractor does (tests).
#[cfg(test)]
pub(crate) fn obj(s: &str) -> Result<Map<String, Value>, ApiError> {
    json_object(crate::extract::parse_json(s.as_bytes())?)
}

/// Rejects fields of `m` that are not in `allowed`.
pub(crate) fn only_fields(m: &Map<String, Value>, allowed: &[&str]) -> Result<(), ApiError> {
    match m.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(bad(
            k,
            format!("unknown field (expected one of: {})", allowed.join(", ")),
        )),
        None => Ok(()),
    }
}

pub(crate) fn opt_bool(m: &Map<String, Value>, field: &str) -> Result<Option<bool>, ApiError> {
    match m.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(bad(field, "must be true or false")),
    }
}

pub(crate) fn opt_str<'a>(
    m: &'a Map<String, Value>,
    field: &str,
) -> Result<Option<&'a str>, ApiError> {
    match m.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(bad(field, "must be a string")),
    }
}

// ---------------------------------------------------------------------------
// filters

fn parse_status(field: &str, v: &str) -> Result<Status, ApiError> {
    match v.to_ascii_lowercase().as_str() {
        "new" => Ok(Status::New),
        "active" => Ok(Status::Active),
        "closed" => Ok(Status::Closed),
        _ => Err(bad(
            field,
            format!("{v:?} is not a status (New, Active, Closed)"),
        )),
    }
}

fn parse_severity(field: &str, v: &str) -> Result<Severity, ApiError> {
    match v.to_ascii_lowercase().as_str() {
        "high" => Ok(Severity::High),
        "medium" => Ok(Severity::Medium),
        "low" => Ok(Severity::Low),
        _ => Err(bad(
            field,
            format!("{v:?} is not a severity (High, Medium, Low)"),
        )),
    }
}

fn parse_sensor_severity(field: &str, v: &str) -> Result<SensorSeverity, ApiError> {
    match v.to_ascii_lowercase().as_str() {
        "critical" => Ok(SensorSeverity::Critical),
        "major" => Ok(SensorSeverity::Major),
        "minor" => Ok(SensorSeverity::Minor),
        "warning" => Ok(SensorSeverity::Warning),
        _ => Err(bad(
            field,
            format!("{v:?} is not a severity (Critical, Major, Minor, Warning)"),
        )),
    }
}

fn parse_engine(field: &str, v: &str) -> Result<Engine, ApiError> {
    let norm: String = v
        .chars()
        .map(|c| {
            if c == ' ' || c == '-' {
                '_'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    Engine::from_name(&norm).ok_or_else(|| {
        bad(
            field,
            format!(
                "{v:?} is not an engine (policy_violation, protocol_violation, malware, anomaly, operational)"
            ),
        )
    })
}

fn parse_sort(v: &str) -> Result<AlertSort, ApiError> {
    Ok(match v {
        "last_detection_desc" | "-last_detection" => AlertSort::LastDetectionDesc,
        "last_detection_asc" | "last_detection" => AlertSort::LastDetectionAsc,
        "first_detection_desc" | "-first_detection" => AlertSort::FirstDetectionDesc,
        "first_detection_asc" | "first_detection" => AlertSort::FirstDetectionAsc,
        "severity_desc" | "-severity" => AlertSort::SeverityDesc,
        "id_asc" | "id" => AlertSort::IdAsc,
        _ => {
            return Err(bad(
                "sort",
                format!(
                    "{v:?} is not a sort order (last_detection_desc, last_detection_asc, \
                     first_detection_desc, first_detection_asc, severity_desc, id_asc)"
                ),
            ));
        }
    })
}

/// The filter of `GET /api/alerts` from its query parameters.
pub(crate) fn alert_filter(p: &Params) -> Result<AlertFilter, ApiError> {
    let mut f = AlertFilter::default();
    for v in p.list("status") {
        f.status.push(parse_status("status", v)?);
    }
    for v in p.list("severity") {
        f.severity.push(parse_severity("severity", v)?);
    }
    for v in p.list("engine") {
        f.engine.push(parse_engine("engine", v)?);
    }
    f.protocol = p.list("protocol").into_iter().map(str::to_string).collect();
    f.type_id = p.list("type").into_iter().map(str::to_string).collect();
    f.device = p.get("device").map(str::to_string);
    f.from = p.time("from")?;
    f.to = p.time("to")?;
    if let (Some(a), Some(b)) = (f.from, f.to)
        && a > b
    {
        return Err(bad("to", "is before `from`"));
    }
    f.text = p.get("text").map(str::to_string);
    Ok(f)
}

async fn list(
    State(state): State<ApiState>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Json<Page<Alert>>, ApiError> {
    let p = Params(q);
    let filter = alert_filter(&p)?;
    let sort = p
        .get("sort")
        .map(parse_sort)
        .transpose()?
        .unwrap_or_default();
    let limit = p.limit(&state.config)?;
    let count = p.count()?;
    let cursor = p.get("cursor").map(str::to_string);
    let store = state.store.clone();
    let page = blocking(move || {
        store
            .alerts_counted(&filter, sort, cursor.as_deref(), limit, count)
            .map_err(paged_err)
    })
    .await?;
    Ok(Json(page))
}

/// Looks an alert up by its global id (`<sensor>-<sequence>`) or, when the
/// id is all digits, by its numeric (sensor) id.
pub(crate) async fn find_alert(state: &ApiState, id: &str) -> Result<Alert, ApiError> {
    let store = state.store.clone();
    let key = id.to_string();
    let found = blocking(move || {
        let mut a = store.alert(&key)?;
        if a.is_none()
            && !key.is_empty()
            && key.bytes().all(|b| b.is_ascii_digit())
            && let Ok(n) = key.parse::<u64>()
        {
            a = store.alert_by_numeric_id(n)?;
        }
        Ok(a)
    })
    .await?;
    found.ok_or_else(|| ApiError::NotFound {
        what: "alert".into(),
        id: id.to_string(),
    })
}

async fn one(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<Alert>, ApiError> {
    Ok(Json(find_alert(&state, &id).await?))
}

/// A validated triage request (`PATCH /api/alerts/{id}`, bulk actions).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Triage {
    pub status: Option<Status>,
    pub severity: Option<SensorSeverity>,
    pub learn: Option<bool>,
    pub mute: Option<bool>,
    pub comment: Option<String>,
}

const TRIAGE_FIELDS: &[&str] = &["status", "severity", "learn", "mute", "comment"];

impl Triage {
    /// Validates every field of `m` (other than `extra`) before anything is
    /// applied.
    pub fn parse(m: &Map<String, Value>, extra: &[&str]) -> Result<Triage, ApiError> {
        let allowed: Vec<&str> = TRIAGE_FIELDS.iter().chain(extra).copied().collect();
        only_fields(m, &allowed)?;
        let t = Triage {
            status: opt_str(m, "status")?
                .map(|s| parse_status("status", s))
                .transpose()?,
            severity: opt_str(m, "severity")?
                .map(|s| parse_sensor_severity("severity", s))
                .transpose()?,
            learn: opt_bool(m, "learn")?,
            mute: opt_bool(m, "mute")?,
            comment: match opt_str(m, "comment")? {
                None => None,
                Some(c) => {
                    let c = c.trim();
                    if c.is_empty() {
                        return Err(bad("comment", "must not be empty"));
                    }
                    if c.chars().count() > MAX_COMMENT_CHARS {
                        return Err(bad(
                            "comment",
                            format!("longer than {MAX_COMMENT_CHARS} characters"),
                        ));
                    }
                    Some(c.to_string())
                }
            },
        };
        if t == Triage::default() {
            return Err(bad(
                "body",
                format!("nothing to change (fields: {})", TRIAGE_FIELDS.join(", ")),
            ));
        }
        if let Some(s) = t.status
            && s.is_open()
        {
            if t.learn == Some(true) {
                return Err(bad(
                    "status",
                    "learning closes the alert: status must be Closed",
                ));
            }
            if t.mute == Some(true) {
                return Err(bad(
                    "status",
                    "muting closes the alert: status must be Closed",
                ));
            }
        }
        Ok(t)
    }

    /// The actions to apply to `a`, in order: severity, comment, learn or
    /// unlearn, mute or unmute, then status. Actions that would not change
    /// the alert are left out (a status equal to the one the alert has after
    /// the flag changes included).
    pub fn actions(&self, a: &Alert) -> Vec<AlertAction> {
        let mut out = Vec::new();
        if let Some(s) = self.severity
            && s != a.sensor_severity
        {
            out.push(AlertAction::Severity { severity: s });
        }
        if let Some(c) = &self.comment {
            out.push(AlertAction::Comment { text: c.clone() });
        }
        // The status the alert will have after the flag changes: learning
        // and muting close it, unlearning reopens it as New.
        let mut status = a.status;
        match self.learn {
            Some(true) if !a.learned => {
                out.push(AlertAction::Learn);
                status = Status::Closed;
            }
            Some(false) if a.learned => {
                out.push(AlertAction::Unlearn);
                status = Status::New;
            }
            _ => {}
        }
        match self.mute {
            Some(true) if !a.muted => {
                out.push(AlertAction::Mute);
                status = Status::Closed;
            }
            Some(false) if a.muted => out.push(AlertAction::Unmute),
            _ => {}
        }
        if let Some(s) = self.status
            && s != status
        {
            out.push(AlertAction::Status { status: s });
        }
        out
    }
}

/// Applies `t` to the alert `id`: returns the alert after it.
async fn triage(state: &ApiState, id: &str, t: &Triage, actor: &str) -> Result<Alert, ApiError> {
    let current = find_alert(state, id).await?;
    let actions = t.actions(&current);
    if actions.is_empty() {
        return Ok(current);
    }
    let control = state.control.clone();
    let alert_id = current.id.clone();
    let actor = actor.to_string();
    blocking(move || {
        let mut last = current;
        for a in actions {
            last = control.alert_action(&alert_id, a, &actor)?;
        }
        Ok(last)
    })
    .await
}

async fn edit(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Result<Json<Alert>, ApiError> {
    let m = json_object(body)?;
    let t = Triage::parse(&m, &[])?;
    Ok(Json(triage(&state, &id, &t, &caller.actor).await?))
}

/// One id's outcome in a bulk request.
#[derive(Debug, Serialize)]
pub(crate) struct BulkResult {
    pub id: String,
    pub ok: bool,
    /// The HTTP status this id alone would have had.
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<Alert>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct BulkAnswer {
    pub results: Vec<BulkResult>,
    pub succeeded: usize,
    pub failed: usize,
}

async fn bulk(
    State(state): State<ApiState>,
    caller: Caller,
    Json(body): Json<Value>,
) -> Result<Json<BulkAnswer>, ApiError> {
    let m = json_object(body)?;
    let ids = match m.get("ids") {
        Some(Value::Array(a)) => a,
        Some(_) => return Err(bad("ids", "must be an array of alert ids")),
        None => return Err(bad("ids", "is required")),
    };
    if ids.is_empty() {
        return Err(bad("ids", "must not be empty"));
    }
    if ids.len() > MAX_BULK_IDS {
        return Err(bad("ids", format!("more than {MAX_BULK_IDS} ids")));
    }
    let mut seen = HashSet::new();
    let mut list = Vec::with_capacity(ids.len());
    for (i, v) in ids.iter().enumerate() {
        let id = match v {
            Value::String(s) if !s.trim().is_empty() => s.trim().to_string(),
            Value::Number(n) if n.is_u64() => n.to_string(),
            _ => return Err(bad(&format!("ids[{i}]"), "must be an alert id")),
        };
        if seen.insert(id.clone()) {
            list.push(id);
        }
    }
    let t = Triage::parse(&m, &["ids"])?;
    let mut results = Vec::with_capacity(list.len());
    for id in list {
        results.push(match triage(&state, &id, &t, &caller.actor).await {
            Ok(a) => BulkResult {
                id,
                ok: true,
                status: 200,
                alert: Some(a),
                error: None,
            },
            Err(e) => BulkResult {
                id,
                ok: false,
                status: e.status().as_u16(),
                alert: None,
                error: Some(e.to_string()),
            },
        });
    }
    let succeeded = results.iter().filter(|r| r.ok).count();
    Ok(Json(BulkAnswer {
        failed: results.len() - succeeded,
        succeeded,
        results,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use otwatch_alerts::{Catalog, DeviceRef};

    fn params(q: &str) -> Params {
        // Test strings are written unencoded.
        Params(
            q.split('&')
                .filter(|kv| !kv.is_empty())
                .map(|kv| {
                    let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                    (k.to_string(), v.to_string())
                })
                .collect(),
        )
    }

    fn alert() -> Alert {
        let t = Catalog::builtin().get("modbus_function_code").unwrap();
        Alert::new(
            "s1",
            3,
            t,
            Timestamp(5),
            "m".into(),
            None,
            DeviceRef::default(),
            DeviceRef::default(),
        )
    }

    #[test]
    fn times_take_rfc3339_or_epoch_ms() {
        assert_eq!(
            parse_time("from", "1594550986000").unwrap(),
            Timestamp(1_594_550_986_000_000_000)
        );
        assert_eq!(
            parse_time("from", "1970-01-01T00:00:01Z").unwrap(),
            Timestamp(1_000_000_000)
        );
        let e = parse_time("from", "yesterday").unwrap_err();
        assert!(matches!(e, ApiError::BadRequest { field, .. } if field == "from"));
        assert!(parse_time("to", "99999999999999999999").is_err());
        assert_eq!(epoch_ms(Timestamp(1_999_999)), 1);
        assert_eq!(epoch_ms(Timestamp(-1)), -1);
    }

    #[test]
    fn filters_parse_lists_and_name_bad_fields() {
        let f = alert_filter(&params(
            "status=new,Closed&severity=High&engine=Policy Violation&engine=anomaly&type=a,b&text=x",
        ))
        .unwrap();
        assert_eq!(f.status, vec![Status::New, Status::Closed]);
        assert_eq!(f.severity, vec![Severity::High]);
        assert_eq!(f.engine, vec![Engine::PolicyViolation, Engine::Anomaly]);
        assert_eq!(f.type_id, vec!["a", "b"]);
        assert_eq!(f.text.as_deref(), Some("x"));
        for (q, field) in [
            ("status=open", "status"),
            ("severity=Huge", "severity"),
            ("engine=foo", "engine"),
            ("from=abc", "from"),
            ("from=2000&to=1000", "to"),
        ] {
            match alert_filter(&params(q)) {
                Err(ApiError::BadRequest { field: f, .. }) => assert_eq!(f, field, "{q}"),
                other => panic!("{q}: {other:?}"),
            }
        }
    }

    #[test]
    fn triage_validates_everything_first() {
        let m = |s: &str| obj(s).unwrap();
        let err_field = |s: &str| match Triage::parse(&m(s), &[]) {
            Err(ApiError::BadRequest { field, .. }) => field,
            other => panic!("{s}: {other:?}"),
        };
        assert_eq!(err_field(r#"{"status":"Closed","learn":"yes"}"#), "learn");
        assert_eq!(err_field(r#"{"severity":"Huge"}"#), "severity");
        assert_eq!(err_field(r#"{"comment":"  "}"#), "comment");
        assert_eq!(err_field(r#"{"colour":"red"}"#), "colour");
        assert_eq!(err_field(r#"{}"#), "body");
        assert_eq!(err_field(r#"{"learn":true,"status":"New"}"#), "status");
        assert!(matches!(obj("[1]"), Err(ApiError::BadRequest { .. })));
        assert!(matches!(obj("{"), Err(ApiError::BadRequest { .. })));
    }

    #[test]
    fn triage_orders_actions_and_skips_no_ops() {
        let a = alert();
        let t = Triage::parse(
            &obj(
                r#"{"status":"Closed","severity":"Critical","learn":true,"mute":false,"comment":"ok"}"#,
            )
            .unwrap(),
            &[],
        )
        .unwrap();
        let acts = t.actions(&a);
        assert_eq!(
            acts,
            vec![
                AlertAction::Severity {
                    severity: SensorSeverity::Critical
                },
                AlertAction::Comment { text: "ok".into() },
                AlertAction::Learn,
            ]
        );
        let mut learned = a.clone();
        learned.learned = true;
        learned.status = Status::Closed;
        let t = Triage {
            learn: Some(false),
            status: Some(Status::New),
            ..Triage::default()
        };
        assert_eq!(t.actions(&learned), vec![AlertAction::Unlearn]);
        let t = Triage {
            learn: Some(false),
            status: Some(Status::Closed),
            ..Triage::default()
        };
        assert_eq!(
            t.actions(&learned),
            vec![
                AlertAction::Unlearn,
                AlertAction::Status {
                    status: Status::Closed
                }
            ]
        );
        let t = Triage {
            status: Some(Status::New),
            ..Triage::default()
        };
        assert!(t.actions(&a).is_empty());
        assert_eq!(
            t.actions(&learned),
            vec![AlertAction::Status {
                status: Status::New
            }]
        );
    }

    #[test]
    fn limit_is_clamped() {
        let cfg = crate::ApiConfig {
            max_page: 50,
            default_page: 10,
            ..crate::ApiConfig::default()
        };
        let lim = |q: &str| params(q).limit(&cfg);
        assert_eq!(lim("").unwrap(), 10);
        assert_eq!(lim("limit=500").unwrap(), 50);
        assert!(lim("limit=x").is_err());
        assert_eq!(lim("limit=0").unwrap(), 1);
    }
}
