//! Devices and connections: list, get, edit (the attributes users set),
//! merge, delete; device-to-device connections.
//!
//! A device is what the sensor observed (`facts`, the inventory's record)
//! with the user's edits on top. Edits are stored with `Store::edit_device`
//! and handed to the sensor (`Control::device_action(Edit)`) so the baseline
//! follows (authorized, programming device, scanner).

use std::net::IpAddr;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use otwatch_core::Timestamp;
use otwatch_store::{DeviceEdits, DeviceView, Role, StoreError};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::alerts::{Params, bad, json_object, only_fields, opt_bool, opt_str};
use crate::control::DeviceAction;
use crate::routes::RouteSpec;
use crate::{ApiError, ApiState, Caller, Json, Path, Query, blocking};

pub const ROUTES: &[RouteSpec] = &[
    RouteSpec::new(
        "GET",
        "/api/devices",
        Some(Role::Readonly),
        "List devices (filters: authorized, type, text)",
    ),
    RouteSpec::new(
        "GET",
        "/api/devices/{id}",
        Some(Role::Readonly),
        "One device",
    ),
    RouteSpec::new(
        "PATCH",
        "/api/devices/{id}",
        Some(Role::Analyst),
        "Edit a device: name, type, authorized, programming device, scanner, important",
    ),
    RouteSpec::new(
        "POST",
        "/api/devices/{id}/merge",
        Some(Role::Admin),
        "Merge other devices into this one",
    ),
    RouteSpec::new(
        "DELETE",
        "/api/devices/{id}",
        Some(Role::Admin),
        "Delete a device",
    ),
    RouteSpec::new(
        "GET",
        "/api/connections",
        Some(Role::Readonly),
        "Device-to-device connections",
    ),
];

/// The device types of the reference (§7.3); `type` edits must be one.
pub const DEVICE_TYPES: &[&str] = &[
    "Engineering Station",
    "PLC",
    "Historian",
    "HMI",
    "Domain Controller",
    "DB Server",
    "Wireless Access Point",
    "Router",
    "Switch",
    "Workstation",
    "Server",
    "IP Camera",
    "Printer",
    "Multicast/Broadcast",
    "Internet",
    "Firewall",
    "Terminal Station",
    "VPN Gateway",
    "Group",
    "IED",
    "DCS Controller",
    "RTU",
    "NTP Server",
    "Storage",
    "Industrial Packaging System",
    "Industrial Scale",
    "Industrial Robot",
    "Slot",
    "Punch Clock",
    "ATM",
    "Smart TV",
    "Game console",
    "DVR",
    "Door Control Panel",
    "HVAC",
    "Thermostat",
    "Fire Alarm",
    "Smart Light",
    "Smart Switch",
    "Fire Detector",
    "IP Telephone",
    "Alarm System",
    "Alarm Siren",
    "Smart Phone",
    "Tablet",
    "Wifi Pineapple",
    "Motion Detector",
    "Elevator",
    "Humidity Sensor",
    "Physical Location",
    "Backup Server",
    "Meter",
    "Barcode Scanner",
    "Uninterruptable Power Supply",
    "Variable Frequency Drive",
    "Robot Controller",
    "Servo Drive",
    "Pneumatic Device",
    "Marquee",
    "People Counter System",
    "Intercom",
    "Turnstile",
    "I/O Adapter",
    "Protocol Converter",
    "KVM",
    "Web Guiding System",
    "Turbine",
    "External Management",
    "Embedded Device",
    "Unknown",
];

/// The canonical spelling of a device type, matched case-insensitively.
pub fn device_type(s: &str) -> Option<&'static str> {
    let s = s.trim();
    DEVICE_TYPES
        .iter()
        .copied()
        .find(|t| t.eq_ignore_ascii_case(s))
}

/// Longest device name, in characters.
pub const MAX_NAME_CHARS: usize = 128;
/// Most devices one merge may name.
pub const MAX_MERGE: usize = 100;

pub fn router() -> Router<ApiState> {
    Router::new()
        .route("/api/devices", get(list))
        .route(
            "/api/devices/{id}",
            get(one).patch(edit).delete(delete_device),
        )
        .route("/api/devices/{id}/merge", post(merge))
        .route("/api/connections", get(connections))
}

/// A device as our API shows it: the effective attributes (edits over
/// observations) first, then the raw observations and edits.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DeviceOut {
    pub id: u64,
    pub ip: Option<IpAddr>,
    pub mac: Option<String>,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub authorized: bool,
    pub programming_device: bool,
    pub scanner: bool,
    pub important: bool,
    pub vendor: Option<String>,
    pub os: Option<String>,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub facts: Value,
    pub edits: DeviceEdits,
}

fn fact_str<'a>(facts: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut v = facts;
    for p in path {
        v = v.get(p)?;
    }
    v.as_str().filter(|s| !s.is_empty())
}

/// The effective name: the user's, else the host name, else the address.
pub fn effective_name(d: &DeviceView) -> String {
    if let Some(n) = &d.edits.name {
        return n.clone();
    }
    if let Some(h) = fact_str(&d.record.facts, &["identity", "hostname"]) {
        return h.to_string();
    }
    match (&d.record.ip, &d.record.mac) {
        (Some(ip), _) => ip.to_string(),
        (None, Some(mac)) => mac.clone(),
        (None, None) => format!("device {}", d.record.id),
    }
}

/// The effective type: the user's, else the classifier's when it is one of
/// the reference types, else `Unknown`.
pub fn effective_type(d: &DeviceView) -> &'static str {
    d.edits
        .kind
        .as_deref()
        .and_then(device_type)
        .or_else(|| fact_str(&d.record.facts, &["class", "device_type"]).and_then(device_type))
        .unwrap_or("Unknown")
}

/// Whether the device is authorized: the user's setting, else the sensor's
/// (`facts.authorized`, set for devices seen during learning), else false.
pub fn effective_authorized(d: &DeviceView) -> bool {
    d.edits.authorized.unwrap_or_else(|| {
        d.record
            .facts
            .get("authorized")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    })
}

/// Vendor: the device's own claim, else the MAC prefix's owner.
pub fn effective_vendor(d: &DeviceView) -> Option<String> {
    fact_str(&d.record.facts, &["identity", "vendor"])
        .or_else(|| fact_str(&d.record.facts, &["mac_vendor"]))
        .map(str::to_string)
}

pub fn effective_os(d: &DeviceView) -> Option<String> {
    fact_str(&d.record.facts, &["class", "os"])
        .or_else(|| fact_str(&d.record.facts, &["identity", "os"]))
        .map(str::to_string)
}

impl DeviceOut {
    pub fn new(d: DeviceView) -> DeviceOut {
        let kind = effective_type(&d).to_string();
        DeviceOut {
            id: d.record.id,
            ip: d.record.ip,
            mac: d.record.mac.clone(),
            name: effective_name(&d),
            programming_device: d
                .edits
                .programming_device
                .unwrap_or(kind == "Engineering Station"),
            kind,
            authorized: effective_authorized(&d),
            scanner: d.edits.scanner.unwrap_or(false),
            important: d.edits.important.unwrap_or(false),
            vendor: effective_vendor(&d),
            os: effective_os(&d),
            first_seen: d.record.first_seen,
            last_seen: d.record.last_seen,
            facts: d.record.facts,
            edits: d.edits,
        }
    }

    fn matches_text(&self, needle: &str) -> bool {
        let hay = [
            Some(self.name.as_str()),
            self.mac.as_deref(),
            self.vendor.as_deref(),
            self.os.as_deref(),
            Some(self.kind.as_str()),
        ];
        let ip = self.ip.map(|i| i.to_string());
        hay.iter()
            .flatten()
            .chain(ip.as_deref().iter())
            .any(|h| h.to_lowercase().contains(needle))
    }
}

/// A page of devices: `next_cursor` is the offset of the next page.
#[derive(Debug, Serialize)]
pub struct DevicePage {
    pub items: Vec<DeviceOut>,
    pub next_cursor: Option<String>,
    pub total: u64,
}

/// Filters and pages `all` (ordered by id).
pub(crate) fn filter_devices(
    all: Vec<DeviceView>,
    p: &Params,
    limit: usize,
) -> Result<DevicePage, ApiError> {
    let authorized = p.bool("authorized")?;
    let kinds = p
        .list("type")
        .into_iter()
        .map(|t| device_type(t).ok_or_else(|| bad("type", format!("{t:?} is not a device type"))))
        .collect::<Result<Vec<_>, _>>()?;
    let text = p.get("text").map(str::to_lowercase);
    let offset = page_offset(p)?;
    let mut out: Vec<DeviceOut> = all
        .into_iter()
        .map(DeviceOut::new)
        .filter(|d| authorized.is_none_or(|a| d.authorized == a))
        .filter(|d| kinds.is_empty() || kinds.contains(&d.kind.as_str()))
        .filter(|d| text.as_deref().is_none_or(|t| d.matches_text(t)))
        .collect();
    out.sort_by_key(|d| d.id);
    let total = out.len();
    let items: Vec<DeviceOut> = out.into_iter().skip(offset).take(limit).collect();
    let end = offset.saturating_add(items.len());
    Ok(DevicePage {
        next_cursor: (end < total).then(|| end.to_string()),
        items,
        total: total as u64,
    })
}

async fn list(
    State(state): State<ApiState>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Json<DevicePage>, ApiError> {
    let p = Params(q);
    let limit = p.limit(&state.config)?;
    let store = state.store.clone();
    // Without filters, the store reads just the page (the filters apply to
    // the effective attributes, computed here from facts and edits).
    let filtered = ["authorized", "type", "text"]
        .iter()
        .any(|k| p.get(k).is_some());
    if !filtered {
        let offset = page_offset(&p)?;
        let (items, total) = blocking(move || Ok(store.devices_page(offset, limit)?)).await?;
        let end = offset.saturating_add(items.len());
        return Ok(Json(DevicePage {
            next_cursor: (end < total as usize).then(|| end.to_string()),
            items: items.into_iter().map(DeviceOut::new).collect(),
            total,
        }));
    }
    let all = blocking(move || Ok(store.devices()?)).await?;
    Ok(Json(filter_devices(all, &p, limit)?))
}

/// The offset a `cursor` of a device page stands for (0 without one).
fn page_offset(p: &Params) -> Result<usize, ApiError> {
    match p.get("cursor") {
        None => Ok(0),
        Some(c) => c
            .parse::<usize>()
            .map_err(|_| bad("cursor", "not a cursor from a previous page")),
    }
}

pub(crate) fn parse_device_id(field: &str, s: &str) -> Result<u64, ApiError> {
    s.trim()
        .parse::<u64>()
        .map_err(|_| bad(field, format!("{s:?} is not a device id")))
}

fn not_found(id: u64) -> ApiError {
    ApiError::NotFound {
        what: "device".into(),
        id: id.to_string(),
    }
}

async fn load(state: &ApiState, id: u64) -> Result<DeviceView, ApiError> {
    let store = state.store.clone();
    blocking(move || store.device(id)?.ok_or_else(|| not_found(id))).await
}

async fn one(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<DeviceOut>, ApiError> {
    let id = parse_device_id("id", &id)?;
    Ok(Json(DeviceOut::new(load(&state, id).await?)))
}

const EDIT_FIELDS: &[&str] = &[
    "name",
    "type",
    "authorized",
    "programming_device",
    "scanner",
    "important",
];

/// Validates a `PATCH /api/devices/{id}` body.
pub(crate) fn parse_edits(m: &Map<String, Value>) -> Result<DeviceEdits, ApiError> {
    only_fields(m, EDIT_FIELDS)?;
    let name = match opt_str(m, "name")? {
        None => None,
        Some(n) => {
            let n = n.trim();
            if n.is_empty() {
                return Err(bad("name", "must not be empty"));
            }
            if n.chars().count() > MAX_NAME_CHARS {
                return Err(bad(
                    "name",
                    format!("longer than {MAX_NAME_CHARS} characters"),
                ));
            }
            if n.chars().any(char::is_control) {
                return Err(bad("name", "must not contain control characters"));
            }
            Some(n.to_string())
        }
    };
    let kind = match opt_str(m, "type")? {
        None => None,
        Some(t) => Some(
            device_type(t)
                .ok_or_else(|| {
                    bad(
                        "type",
                        format!("{t:?} is not a device type (see docs/api.md)"),
                    )
                })?
                .to_string(),
        ),
    };
    let e = DeviceEdits {
        name,
        kind,
        authorized: opt_bool(m, "authorized")?,
        programming_device: opt_bool(m, "programming_device")?,
        scanner: opt_bool(m, "scanner")?,
        important: opt_bool(m, "important")?,
    };
    if e == DeviceEdits::default() {
        return Err(bad(
            "body",
            format!("nothing to change (fields: {})", EDIT_FIELDS.join(", ")),
        ));
    }
    Ok(e)
}

async fn edit(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Result<Json<DeviceOut>, ApiError> {
    let id = parse_device_id("id", &id)?;
    let edits = parse_edits(&json_object(body)?)?;
    load(&state, id).await?;
    let (store, control) = (state.store.clone(), state.control.clone());
    let view = blocking(move || {
        // The sensor first: if it refuses, nothing is stored.
        control.device_action(
            id,
            DeviceAction::Edit {
                edits: edits.clone(),
            },
            &caller.actor,
        )?;
        Ok(store.edit_device(id, &edits)?)
    })
    .await?;
    Ok(Json(DeviceOut::new(view)))
}

#[derive(Debug, Serialize)]
struct Merged {
    id: u64,
    merged: Vec<u64>,
}

async fn merge(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Result<Json<Merged>, ApiError> {
    let id = parse_device_id("id", &id)?;
    let m = json_object(body)?;
    only_fields(&m, &["from"])?;
    let from = match m.get("from") {
        Some(Value::Array(a)) => a,
        Some(_) => return Err(bad("from", "must be an array of device ids")),
        None => return Err(bad("from", "is required")),
    };
    if from.is_empty() {
        return Err(bad("from", "must not be empty"));
    }
    if from.len() > MAX_MERGE {
        return Err(bad("from", format!("more than {MAX_MERGE} devices")));
    }
    let mut ids = Vec::with_capacity(from.len());
    for (i, v) in from.iter().enumerate() {
        let field = format!("from[{i}]");
        let d = v
            .as_u64()
            .ok_or_else(|| bad(&field, "must be a device id"))?;
        if d == id {
            return Err(bad(&field, "a device cannot be merged into itself"));
        }
        if !ids.contains(&d) {
            ids.push(d);
        }
    }
    let (store, control) = (state.store.clone(), state.control.clone());
    let merged = ids.clone();
    let target = blocking(move || {
        if store.device(id)?.is_none() {
            return Err(not_found(id));
        }
        for d in &ids {
            if store.device(*d)?.is_none() {
                return Err(not_found(*d));
            }
        }
        Ok(control.device_action(id, DeviceAction::Merge { from: ids }, &caller.actor)?)
    })
    .await?;
    Ok(Json(Merged { id: target, merged }))
}

async fn delete_device(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_device_id("id", &id)?;
    let (store, control) = (state.store.clone(), state.control.clone());
    blocking(move || {
        if store.device(id)?.is_none() {
            return Err(not_found(id));
        }
        control.device_action(id, DeviceAction::Delete, &caller.actor)?;
        // The sensor may already have removed the record.
        match store.delete_device(id) {
            Ok(()) | Err(StoreError::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn connections(State(state): State<ApiState>) -> Result<Json<Value>, ApiError> {
    let control = state.control.clone();
    Ok(Json(blocking(move || Ok(control.connections()?)).await?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use otwatch_store::DeviceRecord;
    use serde_json::json;

    fn view(id: u64, facts: Value, edits: DeviceEdits) -> DeviceView {
        DeviceView {
            record: DeviceRecord {
                id,
                ip: Some(format!("10.0.0.{id}").parse().unwrap()),
                mac: Some(format!("00:11:22:33:44:{id:02x}")),
                first_seen: Timestamp(1),
                last_seen: Timestamp(2),
                facts,
            },
            edits,
        }
    }

    #[test]
    fn types_are_the_reference_enum() {
        assert_eq!(device_type("plc"), Some("PLC"));
        assert_eq!(
            device_type(" engineering station "),
            Some("Engineering Station")
        );
        assert_eq!(device_type("toaster"), None);
        assert_eq!(DEVICE_TYPES.len(), 70);
    }

    #[test]
    fn edits_override_observations() {
        let facts = json!({"identity": {"hostname": "plc-a", "vendor": "Acme"},
                           "class": {"device_type": "PLC", "os": "VxWorks"}, "mac_vendor": "AcmeNIC"});
        let d = DeviceOut::new(view(1, facts.clone(), DeviceEdits::default()));
        assert_eq!((d.name.as_str(), d.kind.as_str()), ("plc-a", "PLC"));
        assert_eq!(d.vendor.as_deref(), Some("Acme"));
        assert_eq!(d.os.as_deref(), Some("VxWorks"));
        assert!(!d.authorized && !d.scanner && !d.important && !d.programming_device);
        let d = DeviceOut::new(view(
            1,
            facts,
            DeviceEdits {
                name: Some("Line 3".into()),
                kind: Some("HMI".into()),
                authorized: Some(true),
                ..DeviceEdits::default()
            },
        ));
        assert_eq!((d.name.as_str(), d.kind.as_str()), ("Line 3", "HMI"));
        assert!(d.authorized);
        let d = DeviceOut::new(view(
            2,
            json!({"class": {"device_type": "Gizmo"}}),
            DeviceEdits::default(),
        ));
        assert_eq!((d.name.as_str(), d.kind.as_str()), ("10.0.0.2", "Unknown"));
    }

    #[test]
    fn edit_bodies_are_validated() {
        let field = |s: &str| match parse_edits(&crate::alerts::obj(s).unwrap()) {
            Err(ApiError::BadRequest { field, .. }) => field,
            other => panic!("{s}: {other:?}"),
        };
        assert_eq!(field(r#"{"type":"toaster"}"#), "type");
        assert_eq!(field(r#"{"name":""}"#), "name");
        assert_eq!(field(r#"{"scanner":1}"#), "scanner");
        assert_eq!(field(r#"{"owner":"me"}"#), "owner");
        assert_eq!(field(r#"{}"#), "body");
        let e = parse_edits(&crate::alerts::obj(r#"{"type":"plc","important":true}"#).unwrap())
            .unwrap();
        assert_eq!(e.kind.as_deref(), Some("PLC"));
        assert_eq!(e.important, Some(true));
    }

    #[test]
    fn device_pages_walk_everything() {
        let all: Vec<DeviceView> = (1..=7)
            .map(|i| view(i, json!({"authorized": i % 2 == 0}), DeviceEdits::default()))
            .collect();
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut q = vec![("authorized".to_string(), "false".to_string())];
            if let Some(c) = &cursor {
                q.push(("cursor".into(), c.clone()));
            }
            let page = filter_devices(all.clone(), &Params(q), 2).unwrap();
            assert_eq!(page.total, 4);
            seen.extend(page.items.iter().map(|d| d.id));
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen, vec![1, 3, 5, 7]);
        let bad_cursor = Params(vec![("cursor".into(), "x".into())]);
        assert!(filter_devices(all, &bad_cursor, 2).is_err());
    }
}
