//! The event timeline (reference §4.4): list with filters and cursor
//! pagination, manual events, CSV export; and the baseline download.

use std::net::IpAddr;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use otwatch_store::{Count, EventFilter, EventRecord, Page, Role};
use serde_json::Value;

use crate::alerts::{Params, bad, json_object, only_fields, opt_str, paged_err, parse_time};
use crate::routes::RouteSpec;
use crate::{ApiError, ApiState, Caller, Json, Query, blocking};

pub const ROUTES: &[RouteSpec] = &[
    RouteSpec::new(
        "GET",
        "/api/timeline",
        Some(Role::Analyst),
        "Event timeline (filters: from, to, type, device, severity, keyword)",
    ),
    RouteSpec::new(
        "POST",
        "/api/timeline",
        Some(Role::Analyst),
        "Add a manual event",
    ),
    RouteSpec::new(
        "GET",
        "/api/timeline.csv",
        Some(Role::Analyst),
        "Event timeline as CSV (same filters)",
    ),
    RouteSpec::new(
        "GET",
        "/api/baseline",
        Some(Role::Analyst),
        "Download the baseline document",
    ),
];

/// Most rows one CSV export writes (newest first).
pub const MAX_CSV_ROWS: usize = 100_000;
/// Longest manual event description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 4096;
/// The type of manual events (reference §6.3).
pub const MANUAL_EVENT_TYPE: &str = "CUSTOM_EVENT";

pub fn router() -> Router<ApiState> {
    Router::new()
        .route("/api/timeline", get(list).post(add))
        .route("/api/timeline.csv", get(csv))
        .route("/api/baseline", get(baseline))
}

fn parse_event_severity(field: &str, v: &str) -> Result<&'static str, ApiError> {
    match v.to_ascii_uppercase().as_str() {
        "INFO" => Ok("INFO"),
        "NOTICE" => Ok("NOTICE"),
        "ALERT" => Ok("ALERT"),
        _ => Err(bad(
            field,
            format!("{v:?} is not an event severity (INFO, NOTICE, ALERT)"),
        )),
    }
}

/// The timeline filter from query parameters.
pub(crate) fn event_filter(p: &Params) -> Result<EventFilter, ApiError> {
    let mut f = EventFilter {
        from: p.time("from")?,
        to: p.time("to")?,
        kinds: p
            .list("type")
            .into_iter()
            .map(str::to_ascii_uppercase)
            .collect(),
        device: p.get("device").map(str::to_string),
        severity: Vec::new(),
        keyword: p.get("keyword").map(str::to_string),
    };
    if let (Some(a), Some(b)) = (f.from, f.to)
        && a > b
    {
        return Err(bad("to", "is before `from`"));
    }
    for s in p.list("severity") {
        f.severity
            .push(parse_event_severity("severity", s)?.to_string());
    }
    Ok(f)
}

async fn list(
    State(state): State<ApiState>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Json<Page<EventRecord>>, ApiError> {
    let p = Params(q);
    let filter = event_filter(&p)?;
    let limit = p.limit(&state.config)?;
    let count = p.count()?;
    let cursor = p.get("cursor").map(str::to_string);
    let store = state.store.clone();
    Ok(Json(
        blocking(move || {
            store
                .events_counted(&filter, cursor.as_deref(), limit, count)
                .map_err(paged_err)
        })
        .await?,
    ))
}

/// A manual event from a `POST /api/timeline` body.
pub(crate) fn manual_event(body: Value, owner: &str) -> Result<EventRecord, ApiError> {
    let m = json_object(body)?;
    only_fields(
        &m,
        &["severity", "timestamp", "device", "description", "title"],
    )?;
    let severity = match opt_str(&m, "severity")? {
        Some(s) => parse_event_severity("severity", s)?,
        None => "INFO",
    };
    let ts = match m.get("timestamp") {
        None | Some(Value::Null) => crate::now(),
        Some(Value::String(s)) => parse_time("timestamp", s)?,
        Some(Value::Number(n)) => n
            .as_i64()
            .and_then(crate::alerts::ms_to_ts)
            .ok_or_else(|| bad("timestamp", "milliseconds out of range"))?,
        Some(_) => {
            return Err(bad(
                "timestamp",
                "must be an RFC 3339 time or milliseconds since 1970",
            ));
        }
    };
    let (mut device_ip, mut device_mac) = (None, None);
    if let Some(d) = opt_str(&m, "device")?
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        if let Ok(ip) = d.parse::<IpAddr>() {
            device_ip = Some(ip);
        } else if is_mac(d) {
            device_mac = Some(d.to_ascii_lowercase().replace('-', ":"));
        } else {
            return Err(bad(
                "device",
                format!("{d:?} is neither an IP nor a MAC address"),
            ));
        }
    }
    let description = opt_str(&m, "description")?
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .ok_or_else(|| bad("description", "is required"))?;
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(bad(
            "description",
            format!("longer than {MAX_DESCRIPTION_CHARS} characters"),
        ));
    }
    let title = match opt_str(&m, "title")?.map(str::trim) {
        None | Some("") => "User Defined Event".to_string(),
        Some(t) if t.chars().count() > 200 => {
            return Err(bad("title", "longer than 200 characters"));
        }
        Some(t) => t.to_string(),
    };
    Ok(EventRecord {
        id: 0,
        ts,
        severity: severity.to_string(),
        kind: MANUAL_EVENT_TYPE.to_string(),
        title,
        device_ip,
        device_mac,
        peer_ip: None,
        owner: Some(owner.to_string()),
        alert_id: None,
        content: description.to_string(),
    })
}

fn is_mac(s: &str) -> bool {
    let parts: Vec<&str> = s.split([':', '-']).collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

async fn add(
    State(state): State<ApiState>,
    caller: Caller,
    Json(body): Json<Value>,
) -> Result<(StatusCode, Json<EventRecord>), ApiError> {
    let mut e = manual_event(body, &caller.actor)?;
    let store = state.store.clone();
    let rec = e.clone();
    e.id = blocking(move || Ok(store.add_event(&rec)?)).await?;
    Ok((StatusCode::CREATED, Json(e)))
}

/// One CSV cell, RFC 4180 quoted when needed; cells a spreadsheet would
/// read as a formula (`=`, `+`, `-`, `@`, and tab or CR) get a leading `'`.
pub(crate) fn csv_cell(out: &mut String, s: &str) {
    let guarded;
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        guarded = format!("'{s}");
        guarded.as_str()
    } else {
        s
    };
    if s.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

pub const CSV_HEADER: &str =
    "id,timestamp,severity,type,title,device_ip,device_mac,peer_ip,owner,alert_id,content";

pub(crate) fn csv_row(out: &mut String, e: &EventRecord) {
    let opt = |v: Option<String>| v.unwrap_or_default();
    let cells = [
        e.id.to_string(),
        e.ts.to_rfc3339(),
        e.severity.clone(),
        e.kind.clone(),
        e.title.clone(),
        opt(e.device_ip.map(|i| i.to_string())),
        opt(e.device_mac.clone()),
        opt(e.peer_ip.map(|i| i.to_string())),
        opt(e.owner.clone()),
        opt(e.alert_id.clone()),
        e.content.clone(),
    ];
    for (i, c) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        csv_cell(out, c);
    }
    out.push_str("\r\n");
}

async fn csv(
    State(state): State<ApiState>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<impl IntoResponse, ApiError> {
    let p = Params(q);
    let filter = event_filter(&p)?;
    let page = state.config.max_page.max(1);
    let store = state.store.clone();
    let text = blocking(move || {
        let mut out = String::from(CSV_HEADER);
        out.push_str("\r\n");
        let mut cursor: Option<String> = None;
        let mut rows = 0usize;
        loop {
            let want = page.min(MAX_CSV_ROWS - rows);
            let got = store.events_counted(&filter, cursor.as_deref(), want, Count::Skip)?;
            for e in &got.items {
                csv_row(&mut out, e);
            }
            rows += got.items.len();
            match got.next_cursor {
                Some(c) if rows < MAX_CSV_ROWS && !got.items.is_empty() => cursor = Some(c),
                _ => break,
            }
        }
        Ok(out)
    })
    .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"timeline.csv\"",
            ),
        ],
        text,
    ))
}

async fn baseline(State(state): State<ApiState>) -> Result<impl IntoResponse, ApiError> {
    let control = state.control.clone();
    let doc = blocking(move || Ok(control.baseline()?)).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"baseline.json\"",
            ),
        ],
        doc,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use otwatch_core::Timestamp;

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let cell = |s: &str| {
            let mut o = String::new();
            csv_cell(&mut o, s);
            o
        };
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(cell("=1+2"), "'=1+2");
        assert_eq!(cell("+x"), "'+x");
        assert_eq!(cell("-x"), "'-x");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("=a,b"), "\"'=a,b\"");
        assert_eq!(cell(""), "");
    }

    #[test]
    fn manual_events_are_validated() {
        let field = |s: &str| match manual_event(
            crate::extract::parse_json(s.as_bytes()).unwrap(),
            "ann",
        ) {
            Err(ApiError::BadRequest { field, .. }) => field,
            other => panic!("{s}: {other:?}"),
        };
        assert_eq!(
            field(r#"{"severity":"LOUD","description":"x"}"#),
            "severity"
        );
        assert_eq!(field(r#"{"description":""}"#), "description");
        assert_eq!(
            field(r#"{"description":"x","timestamp":"noon"}"#),
            "timestamp"
        );
        assert_eq!(field(r#"{"description":"x","device":"plc"}"#), "device");
        assert_eq!(field(r#"{"description":"x","colour":1}"#), "colour");
        let e = manual_event(
            serde_json::json!({"severity":"notice","timestamp":1000,"device":"00-11-22-33-44-AA","description":" valve check "}),
            "ann",
        )
        .unwrap();
        assert_eq!(e.severity, "NOTICE");
        assert_eq!(e.ts, Timestamp(1_000_000_000));
        assert_eq!(e.device_mac.as_deref(), Some("00:11:22:33:44:aa"));
        assert_eq!(e.kind, "CUSTOM_EVENT");
        assert_eq!(e.title, "User Defined Event");
        assert_eq!(e.owner.as_deref(), Some("ann"));
        assert_eq!(e.content, "valve check");
    }

    #[test]
    fn event_filters_name_bad_fields() {
        let p = Params(vec![
            ("type".into(), "scan,program_device".into()),
            ("severity".into(), "alert".into()),
        ]);
        let f = event_filter(&p).unwrap();
        assert_eq!(f.kinds, vec!["SCAN", "PROGRAM_DEVICE"]);
        assert_eq!(f.severity, vec!["ALERT"]);
        let p = Params(vec![("severity".into(), "loud".into())]);
        assert!(
            matches!(event_filter(&p), Err(ApiError::BadRequest { field, .. }) if field == "severity")
        );
    }
}
