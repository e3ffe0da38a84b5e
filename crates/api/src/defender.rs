//! Endpoints with the exact shapes of Defender for IoT's sensor API
//! (reference §6.2 and §6.5), so that existing integrations work unchanged:
//! field names, types, nullability and value strings as documented there.
//!
//! Decisions where the reference is silent (also in `docs/api.md`):
//! - `time` is the alert's first detection, in epoch milliseconds;
//!   `fromTime`/`toTime` select on it (at or after / before).
//! - `state=handled` selects `Closed` alerts (closed, learned or muted);
//!   `unhandled` selects `New` and `Active`. Other values are ignored.
//! - `type=unexpected new devices` selects the catalog types
//!   [`UNEXPECTED_NEW_DEVICES`], `type=disconnections` the types
//!   [`DISCONNECTIONS`]; other values are ignored (as in the reference).
//! - `additionalInformation` is `null` when the alert has no details, else
//!   `{"description": <alert category>, "information": ["key: value", ...]}`.
//! - `/api/v1/events` is not cached: every call reads the store (the
//!   reference caches identical calls for an hour to spare its database; a
//!   bounded read of 100 rows needs no cache, and stale answers would hide
//!   new events from integrations that poll).

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use otwatch_alerts::{Alert, DeviceRef, Status, timeline::title_of};
use otwatch_core::{Proto, Timestamp};
use otwatch_store::{AlertFilter, AlertSort, Count, DeviceView, EventFilter, Role};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::alerts::{Params, bad, epoch_ms, ms_to_ts};
use crate::devices::{
    effective_authorized, effective_name, effective_os, effective_type, effective_vendor,
    parse_device_id,
};
use crate::routes::RouteSpec;
use crate::{ApiError, ApiState, Json, Path, Query, blocking, now};

pub const ROUTES: &[RouteSpec] = &[
    RouteSpec::new(
        "GET",
        "/api/v1/alerts",
        Some(Role::Readonly),
        "Alerts, reference v1 shape (state, fromTime, toTime, type)",
    ),
    RouteSpec::new(
        "GET",
        "/api/v2/alerts",
        Some(Role::Readonly),
        "Alerts, reference v2 shape (adds addresses and remediation steps)",
    ),
    RouteSpec::new(
        "GET",
        "/api/v1/events",
        Some(Role::Analyst),
        "Latest 100 timeline events, reference shape (minutesTimeFrame, type)",
    ),
    RouteSpec::new(
        "GET",
        "/api/v1/devices",
        Some(Role::Readonly),
        "Devices, reference shape (authorized)",
    ),
    RouteSpec::new(
        "GET",
        "/api/v1/devices/connections",
        Some(Role::Readonly),
        "Device connections, reference shape",
    ),
    RouteSpec::new(
        "GET",
        "/api/v1/devices/{id}/connections",
        Some(Role::Readonly),
        "One device's connections, reference shape",
    ),
    RouteSpec::new(
        "GET",
        "/api/v2/alerts/pcap/{id}",
        Some(Role::Analyst),
        "The PCAP file of an alert (numeric sensor alert id)",
    ),
];

/// Catalog types that `type=unexpected new devices` selects.
pub const UNEXPECTED_NEW_DEVICES: &[&str] =
    &["new_asset_detected", "field_device_discovered_unexpectedly"];
/// Catalog types that `type=disconnections` selects.
pub const DISCONNECTIONS: &[&str] = &[
    "device_unresponsive",
    "modbus_unresponsive",
    "inactive_communication_channel",
];
/// Most alerts one `/api/v{1,2}/alerts` answer holds (the newest, by first
/// detection); narrow with `fromTime` to read more.
pub const MAX_ALERTS: usize = 10_000;
/// `minutesTimeFrame` is clamped to this (3 days).
pub const MAX_MINUTES_TIME_FRAME: u64 = 4320;
/// `/api/v1/events` answers at most this many events.
pub const EVENTS_LIMIT: usize = 100;
/// The body of a PCAP request that cannot be answered with a file.
pub const PCAP_NOT_AVAILABLE: &str = "PCAP file is not available";

pub fn router() -> Router<ApiState> {
    Router::new()
        .route("/api/v1/alerts", get(alerts_v1))
        .route("/api/v2/alerts", get(alerts_v2))
        .route("/api/v1/events", get(events))
        .route("/api/v1/devices", get(devices))
        .route("/api/v1/devices/connections", get(connections_all))
        .route("/api/v1/devices/{id}/connections", get(connections_one))
        .route("/api/v2/alerts/pcap/{id}", get(pcap))
}

// ---------------------------------------------------------------------------
// alerts

/// `additionalInformation`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AdditionalInformation {
    pub description: String,
    pub information: Vec<String>,
}

/// One alert in the v1 shape.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertV1 {
    pub id: u64,
    pub time: i64,
    pub title: String,
    pub message: String,
    pub severity: &'static str,
    pub engine: &'static str,
    pub source_device: Option<u64>,
    pub destination_device: Option<u64>,
    pub additional_information: Option<AdditionalInformation>,
}

/// One alert in the v2 shape: v1 plus addresses and remediation steps.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertV2 {
    #[serde(flatten)]
    pub v1: AlertV1,
    pub source_device_address: Option<String>,
    pub destination_device_address: Option<String>,
    pub remediation_steps: Vec<String>,
}

fn address(d: &DeviceRef) -> Option<String> {
    d.ip.map(|i| i.to_string())
        .or_else(|| d.mac.map(|m| m.to_string()))
}

fn additional_information(a: &Alert) -> Option<AdditionalInformation> {
    if a.additional_info.is_empty() {
        return None;
    }
    Some(AdditionalInformation {
        description: a.category.clone(),
        information: a
            .additional_info
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect(),
    })
}

impl AlertV1 {
    pub fn new(a: &Alert) -> AlertV1 {
        AlertV1 {
            id: a.numeric_id,
            time: epoch_ms(a.first_detection),
            title: a.title.clone(),
            message: a.message.clone(),
            severity: a.sensor_severity.as_str(),
            engine: a.engine.display_name(),
            source_device: a.source.id,
            destination_device: a.destination.id,
            additional_information: additional_information(a),
        }
    }
}

impl AlertV2 {
    pub fn new(a: &Alert) -> AlertV2 {
        AlertV2 {
            v1: AlertV1::new(a),
            source_device_address: address(&a.source),
            destination_device_address: address(&a.destination),
            remediation_steps: a.remediation.clone(),
        }
    }
}

/// The query of `/api/v{1,2}/alerts`.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct AlertQuery {
    pub state: Option<bool>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub types: Option<&'static [&'static str]>,
}

fn epoch_ms_param(p: &Params, name: &str) -> Result<Option<Timestamp>, ApiError> {
    match p.get(name) {
        None => Ok(None),
        Some(v) => {
            let ms = v
                .parse::<i64>()
                .map_err(|_| bad(name, format!("{v:?} is not milliseconds since 1970")))?;
            ms_to_ts(ms)
                .map(Some)
                .ok_or_else(|| bad(name, format!("{v} is out of range")))
        }
    }
}

pub(crate) fn alert_query(p: &Params) -> Result<AlertQuery, ApiError> {
    Ok(AlertQuery {
        state: match p.get("state").map(str::to_ascii_lowercase).as_deref() {
            Some("handled") => Some(true),
            Some("unhandled") => Some(false),
            _ => None,
        },
        from: epoch_ms_param(p, "fromTime")?,
        to: epoch_ms_param(p, "toTime")?,
        types: match p.get("type").map(str::to_ascii_lowercase).as_deref() {
            Some("unexpected new devices") => Some(UNEXPECTED_NEW_DEVICES),
            Some("disconnections") => Some(DISCONNECTIONS),
            _ => None,
        },
    })
}

/// The matching alerts, oldest first (at most [`MAX_ALERTS`], the newest).
async fn select_alerts(state: &ApiState, q: AlertQuery) -> Result<Vec<Alert>, ApiError> {
    let mut filter = AlertFilter {
        // On the first-detection index: a recent fromTime reads few rows.
        first_from: q.from,
        ..AlertFilter::default()
    };
    match q.state {
        Some(true) => filter.status = vec![Status::Closed],
        Some(false) => filter.status = vec![Status::New, Status::Active],
        None => {}
    }
    if let Some(t) = q.types {
        filter.type_id = t.iter().map(|s| s.to_string()).collect();
    }
    let max_page = state.config.max_page.max(1);
    let store = state.store.clone();
    blocking(move || {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        // A poll with a recent fromTime matches few alerts: small pages
        // first, doubling up to `max_page`, so that it reads few rows.
        let mut page = max_page.min(100);
        loop {
            // Polls answer a list, never a total: nothing to count.
            let got = store.alerts_counted(
                &filter,
                AlertSort::FirstDetectionDesc,
                cursor.as_deref(),
                page,
                Count::Skip,
            )?;
            let n = got.items.len();
            // Newest first detection first: past `fromTime`, nothing more matches.
            let past_from = got
                .items
                .last()
                .is_some_and(|a| q.from.is_some_and(|f| a.first_detection < f));
            out.extend(got.items.into_iter().filter(|a| {
                q.from.is_none_or(|f| a.first_detection >= f)
                    && q.to.is_none_or(|t| a.first_detection < t)
            }));
            if past_from {
                break;
            }
            if out.len() >= MAX_ALERTS {
                out.truncate(MAX_ALERTS);
                break;
            }
            match got.next_cursor {
                Some(c) if n > 0 => cursor = Some(c),
                _ => break,
            }
            page = page.saturating_mul(2).min(max_page);
        }
        out.sort_by_key(|a| (a.first_detection, a.numeric_id));
        Ok(out)
    })
    .await
}

async fn alerts_v1(
    State(state): State<ApiState>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Json<Vec<AlertV1>>, ApiError> {
    let q = alert_query(&Params(q))?;
    let alerts = select_alerts(&state, q).await?;
    Ok(Json(alerts.iter().map(AlertV1::new).collect()))
}

async fn alerts_v2(
    State(state): State<ApiState>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Json<Vec<AlertV2>>, ApiError> {
    let q = alert_query(&Params(q))?;
    let alerts = select_alerts(&state, q).await?;
    Ok(Json(alerts.iter().map(AlertV2::new).collect()))
}

// ---------------------------------------------------------------------------
// events

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EventV1 {
    pub timestamp: i64,
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub severity: String,
    pub owner: Option<String>,
    pub content: String,
}

/// The timeline filter of `/api/v1/events` at wall-clock time `now`.
pub(crate) fn events_filter(p: &Params, now: Timestamp) -> Result<EventFilter, ApiError> {
    let mut f = EventFilter::default();
    if let Some(m) = p.u64("minutesTimeFrame")? {
        let m = m.min(MAX_MINUTES_TIME_FRAME) as i64;
        f.from = Some(now.add_nanos(-m * 60 * Timestamp::NANOS_PER_SEC));
    }
    if let Some(t) = p.get("type")
        && title_of(t).is_some()
    {
        f.kinds = vec![t.to_string()];
    }
    Ok(f)
}

async fn events(
    State(state): State<ApiState>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Json<Vec<EventV1>>, ApiError> {
    let filter = events_filter(&Params(q), now())?;
    let store = state.store.clone();
    let page =
        blocking(move || Ok(store.events_counted(&filter, None, EVENTS_LIMIT, Count::Skip)?))
            .await?;
    Ok(Json(
        page.items
            .into_iter()
            .map(|e| EventV1 {
                timestamp: epoch_ms(e.ts),
                kind: e.kind,
                title: e.title,
                severity: e.severity,
                owner: e.owner,
                content: e.content,
            })
            .collect(),
    ))
}

// ---------------------------------------------------------------------------
// devices

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProtocolV1 {
    pub id: u32,
    pub name: String,
    pub ip_addresses: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FirmwareV1 {
    pub address: Option<String>,
    pub module_address: Option<String>,
    pub serial: Option<String>,
    pub model: Option<String>,
    pub firmware_version: Option<String>,
    pub additional_data: Option<String>,
    pub rack: Option<String>,
    pub slot: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceV1 {
    pub id: u64,
    pub ip_addresses: Vec<String>,
    pub name: String,
    pub vendor: Option<String>,
    pub operating_system: Option<String>,
    pub mac_addresses: Vec<String>,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub engineering_station: bool,
    pub authorized: bool,
    pub scanner: bool,
    pub protocols: Vec<ProtocolV1>,
    pub firmware: Vec<FirmwareV1>,
    pub has_dynamic_address: bool,
}

/// The reference's protocol name (§8.2) for an otwatch protocol name.
pub fn protocol_name(name: &str) -> String {
    let known = match name {
        "modbus" => "MODBUS",
        "dnp3" => "DNP3",
        "s7comm" => "Siemens S7",
        "s7comm_plus" => "Siemens S7 Plus",
        "enip" => "EtherNet/IP",
        "bacnet" => "BACNet",
        "iec104" => "IEC-60870",
        "mms" => "MMS",
        "goose" => "GOOSE",
        "sv" => "Sampled Values",
        "opcua" => "OPC UA",
        "fins" => "Omron FINS",
        "profinet_dcp" => "Profinet DCP",
        "profinet_rt" => "Profinet Real-Time",
        "ads" => "AMS",
        "melsec" => "Mitsubishi MELSEC",
        "srtp" => "SRTP",
        "c37118" => "C37.118",
        "arp" => "ARP",
        "dns" => "DNS",
        "nbns" => "Netbios Name Service",
        "mdns" => "MDNS",
        "http" => "HTTP",
        "ssh" => "SSH",
        "telnet" => "Telnet",
        "ftp" => "FTP",
        "smb" => "SMB",
        "snmp" => "SNMP",
        "lldp" => "LLDP",
        "cdp" => "CDP",
        "syslog" => "SYSLOG",
        "icmp" => "ICMP",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_string();
    }
    Proto::from_name(name)
        .map(|p| p.title().to_string())
        .unwrap_or_else(|| name.to_string())
}

/// A stable numeric id for a protocol name: its position in otwatch's
/// protocol list (from 1), or 0 for names otwatch does not know.
fn protocol_id(name: &str) -> u32 {
    Proto::ALL
        .iter()
        .position(|p| p.name() == name)
        .map_or(0, |i| i as u32 + 1)
}

fn s(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl DeviceV1 {
    pub fn new(d: &DeviceView) -> DeviceV1 {
        let facts = &d.record.facts;
        let ip = d.record.ip.map(|i| i.to_string());
        let ip_addresses: Vec<String> = ip.iter().cloned().collect();
        let mut macs: Vec<String> = d.record.mac.iter().cloned().collect();
        if let Some(Value::Array(others)) = facts.get("other_macs") {
            for m in others.iter().filter_map(Value::as_str) {
                if !macs.iter().any(|x| x.eq_ignore_ascii_case(m)) {
                    macs.push(m.to_string());
                }
            }
        }
        let protos = facts.get("protocols").and_then(Value::as_object);
        let protocols = protos
            .map(|m| {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                keys.into_iter()
                    .map(|k| ProtocolV1 {
                        id: protocol_id(k),
                        name: protocol_name(k),
                        ip_addresses: ip_addresses.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let dhcp_client = protos
            .and_then(|m| m.get("dhcp"))
            .and_then(|u| u.get("roles"))
            .and_then(Value::as_array)
            .is_some_and(|r| r.iter().any(|x| x == "client"));
        let identity = facts.get("identity");
        let firmware = match identity {
            Some(i)
                if ["firmware", "model", "serial"]
                    .iter()
                    .any(|k| s(i.get(k)).is_some()) =>
            {
                vec![FirmwareV1 {
                    address: ip.clone(),
                    module_address: None,
                    serial: s(i.get("serial")),
                    model: s(i.get("model")),
                    firmware_version: s(i.get("firmware")),
                    additional_data: s(i.get("hardware")),
                    rack: None,
                    slot: None,
                }]
            }
            _ => Vec::new(),
        };
        let kind = effective_type(d);
        DeviceV1 {
            id: d.record.id,
            ip_addresses,
            name: effective_name(d),
            vendor: effective_vendor(d),
            operating_system: effective_os(d),
            mac_addresses: macs,
            kind,
            engineering_station: d
                .edits
                .programming_device
                .unwrap_or(kind == "Engineering Station"),
            authorized: effective_authorized(d),
            scanner: d.edits.scanner.unwrap_or(false),
            protocols,
            firmware,
            has_dynamic_address: dhcp_client,
        }
    }
}

async fn devices(
    State(state): State<ApiState>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Json<Vec<DeviceV1>>, ApiError> {
    let p = Params(q);
    let authorized = p.bool("authorized")?;
    let store = state.store.clone();
    let all = blocking(move || Ok(store.devices()?)).await?;
    let mut out: Vec<DeviceV1> = all
        .iter()
        .map(DeviceV1::new)
        .filter(|d| authorized.is_none_or(|a| d.authorized == a))
        .collect();
    out.sort_by_key(|d| d.id);
    Ok(Json(out))
}

// ---------------------------------------------------------------------------
// connections

/// A connection as `Control::connections` reports it (see docs/api.md):
/// device ids, first and last seen (RFC 3339 or integer nanoseconds), ports,
/// protocols (names, or `{name, commands}`).
#[derive(Clone, Debug, Deserialize)]
pub struct ConnectionIn {
    #[serde(alias = "firstDeviceId", alias = "src")]
    pub first_device_id: u64,
    #[serde(alias = "secondDeviceId", alias = "dst")]
    pub second_device_id: u64,
    #[serde(alias = "discovered")]
    pub first_seen: Timestamp,
    #[serde(alias = "lastSeen")]
    pub last_seen: Timestamp,
    #[serde(default)]
    pub ports: Vec<u16>,
    #[serde(default)]
    pub protocols: Vec<ProtocolIn>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum ProtocolIn {
    Name(String),
    Full {
        name: String,
        #[serde(default)]
        commands: Vec<String>,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConnectionProtocolV1 {
    pub name: String,
    pub commands: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionV1 {
    pub first_device_id: u64,
    pub second_device_id: u64,
    pub last_seen: i64,
    pub discovered: i64,
    pub ports: Vec<u16>,
    pub protocols: Vec<ConnectionProtocolV1>,
}

/// Filters of the connection endpoints.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct ConnectionQuery {
    pub device: Option<u64>,
    pub discovered_before: Option<Timestamp>,
    pub discovered_after: Option<Timestamp>,
    pub active_since: Option<Timestamp>,
}

pub(crate) fn connection_query(
    p: &Params,
    device: Option<u64>,
    now: Timestamp,
) -> Result<ConnectionQuery, ApiError> {
    Ok(ConnectionQuery {
        device,
        discovered_before: epoch_ms_param(p, "discoveredBefore")?,
        discovered_after: epoch_ms_param(p, "discoveredAfter")?,
        active_since: p
            .u64("lastActiveInMinutes")?
            .map(|m| {
                i64::try_from(m)
                    .ok()
                    .and_then(|m| m.checked_mul(60 * Timestamp::NANOS_PER_SEC))
                    .map(|n| now.add_nanos(-n))
                    .ok_or_else(|| bad("lastActiveInMinutes", "out of range"))
            })
            .transpose()?,
    })
}

/// Converts and filters the sensor's connections.
pub(crate) fn select_connections(
    doc: Value,
    q: &ConnectionQuery,
) -> Result<Vec<ConnectionV1>, ApiError> {
    let list = match doc {
        Value::Array(a) => a,
        Value::Object(mut m) => match m.remove("items") {
            Some(Value::Array(a)) => a,
            _ => return Err(ApiError::Internal("sensor connections: not a list".into())),
        },
        _ => return Err(ApiError::Internal("sensor connections: not a list".into())),
    };
    let mut out = Vec::new();
    for (i, v) in list.into_iter().enumerate() {
        let c: ConnectionIn = serde_json::from_value(v)
            .map_err(|e| ApiError::Internal(format!("sensor connection {i}: {e}")))?;
        let keep = q
            .device
            .is_none_or(|d| c.first_device_id == d || c.second_device_id == d)
            && q.discovered_before.is_none_or(|t| c.first_seen < t)
            && q.discovered_after.is_none_or(|t| c.first_seen > t)
            && q.active_since.is_none_or(|t| c.last_seen >= t);
        if !keep {
            continue;
        }
        let mut ports = c.ports;
        ports.sort_unstable();
        ports.dedup();
        let mut protocols: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for p in c.protocols {
            let (name, commands) = match p {
                ProtocolIn::Name(n) => (n, Vec::new()),
                ProtocolIn::Full { name, commands } => (name, commands),
            };
            let e = protocols.entry(protocol_name(&name)).or_default();
            for cmd in commands {
                if !e.contains(&cmd) {
                    e.push(cmd);
                }
            }
        }
        out.push(ConnectionV1 {
            first_device_id: c.first_device_id,
            second_device_id: c.second_device_id,
            last_seen: epoch_ms(c.last_seen),
            discovered: epoch_ms(c.first_seen),
            ports,
            protocols: protocols
                .into_iter()
                .map(|(name, commands)| ConnectionProtocolV1 { name, commands })
                .collect(),
        });
    }
    Ok(out)
}

async fn connections(
    state: ApiState,
    q: Vec<(String, String)>,
    device: Option<u64>,
) -> Result<Json<Vec<ConnectionV1>>, ApiError> {
    let q = connection_query(&Params(q), device, now())?;
    let (control, store) = (state.control.clone(), state.store.clone());
    let doc = blocking(move || {
        if let Some(d) = device
            && store.device(d)?.is_none()
        {
            return Err(ApiError::NotFound {
                what: "device".into(),
                id: d.to_string(),
            });
        }
        Ok(control.connections()?)
    })
    .await?;
    Ok(Json(select_connections(doc, &q)?))
}

async fn connections_all(
    State(state): State<ApiState>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Json<Vec<ConnectionV1>>, ApiError> {
    connections(state, q, None).await
}

async fn connections_one(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Json<Vec<ConnectionV1>>, ApiError> {
    let id = parse_device_id("id", &id)?;
    connections(state, q, Some(id)).await
}

// ---------------------------------------------------------------------------
// pcap

fn pcap_not_available() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(serde_json::json!({ "error": PCAP_NOT_AVAILABLE })),
    )
        .into_response()
}

async fn pcap(State(state): State<ApiState>, Path(id): Path<String>) -> Response {
    let Ok(n) = id.trim().parse::<u64>() else {
        return bad("id", format!("{id:?} is not a numeric sensor alert id")).into_response();
    };
    let store = state.store.clone();
    let found = blocking(move || {
        let Some(alert) = store.alert_by_numeric_id(n)? else {
            return Ok(None);
        };
        let Some(rec) = store.pcap(&alert.id)? else {
            return Ok(None);
        };
        // A file removed behind the store's back is "not available" too.
        Ok(std::fs::read(&rec.path).ok())
    })
    .await;
    match found {
        Ok(Some(bytes)) => (
            [
                (
                    header::CONTENT_TYPE,
                    "application/vnd.tcpdump.pcap".to_string(),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"alert-{n}.pcap\""),
                ),
            ],
            bytes,
        )
            .into_response(),
        Ok(None) => pcap_not_available(),
        Err(e) => e.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use otwatch_store::{DeviceEdits, DeviceRecord};
    use serde_json::json;

    fn p(kv: &[(&str, &str)]) -> Params {
        Params(
            kv.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn alert_query_follows_the_reference() {
        let q = alert_query(&p(&[
            ("state", "handled"),
            ("fromTime", "1594550986000"),
            ("type", "disconnections"),
        ]))
        .unwrap();
        assert_eq!(q.state, Some(true));
        assert_eq!(q.from, Some(Timestamp(1_594_550_986_000 * 1_000_000)));
        assert_eq!(q.types, Some(DISCONNECTIONS));
        let q = alert_query(&p(&[("state", "whatever"), ("type", "pizza")])).unwrap();
        assert_eq!(q, AlertQuery::default());
        match alert_query(&p(&[("toTime", "yesterday")])) {
            Err(ApiError::BadRequest { field, .. }) => assert_eq!(field, "toTime"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn events_time_frame_is_clamped_and_types_checked() {
        let now = Timestamp(10_000_000 * 60 * Timestamp::NANOS_PER_SEC);
        let f = events_filter(&p(&[("minutesTimeFrame", "99999"), ("type", "SCAN")]), now).unwrap();
        assert_eq!(
            f.from,
            Some(now.add_nanos(-4320 * 60 * Timestamp::NANOS_PER_SEC))
        );
        assert_eq!(f.kinds, vec!["SCAN"]);
        let f = events_filter(&p(&[("type", "NOT_A_TYPE")]), now).unwrap();
        assert!(f.kinds.is_empty() && f.from.is_none());
        assert!(matches!(
            events_filter(&p(&[("minutesTimeFrame", "-5")]), now),
            Err(ApiError::BadRequest { field, .. }) if field == "minutesTimeFrame"
        ));
    }

    #[test]
    fn device_shape_from_facts_and_edits() {
        let d = DeviceView {
            record: DeviceRecord {
                id: 4,
                ip: Some("10.0.0.4".parse().unwrap()),
                mac: Some("00:11:22:33:44:55".into()),
                first_seen: Timestamp(1),
                last_seen: Timestamp(2),
                facts: json!({
                    "mac_vendor": "Acme",
                    "other_macs": ["00:11:22:33:44:66"],
                    "protocols": {"modbus": {"roles": ["server"]}, "dhcp": {"roles": ["client"]}},
                    "identity": {"model": "M340", "firmware": "3.1", "sources": []},
                    "class": {"device_type": "PLC", "confidence": 80, "evidence": []}
                }),
            },
            edits: DeviceEdits {
                scanner: Some(true),
                ..DeviceEdits::default()
            },
        };
        let v = serde_json::to_value(DeviceV1::new(&d)).unwrap();
        assert_eq!(
            v,
            json!({
                "id": 4, "ipAddresses": ["10.0.0.4"], "name": "10.0.0.4", "vendor": "Acme",
                "operatingSystem": null, "macAddresses": ["00:11:22:33:44:55", "00:11:22:33:44:66"],
                "type": "PLC", "engineeringStation": false, "authorized": false, "scanner": true,
                "protocols": [
                    {"id": protocol_id("dhcp"), "name": "DHCP", "ipAddresses": ["10.0.0.4"]},
                    {"id": 1, "name": "MODBUS", "ipAddresses": ["10.0.0.4"]}
                ],
                "firmware": [{"address": "10.0.0.4", "moduleAddress": null, "serial": null,
                  "model": "M340", "firmwareVersion": "3.1", "additionalData": null,
                  "rack": null, "slot": null}],
                "hasDynamicAddress": true
            })
        );
    }

    #[test]
    fn connections_convert_and_filter() {
        let doc = json!([
            {"first_device_id": 1, "second_device_id": 2, "first_seen": "1970-01-01T00:00:10Z",
             "last_seen": 30_000_000_000i64, "ports": [502, 502],
             "protocols": ["modbus", {"name": "modbus", "commands": ["Read Holding Registers"]}]},
            {"first_device_id": 3, "second_device_id": 1, "first_seen": "1970-01-01T00:00:20Z",
             "last_seen": "1970-01-01T00:00:25Z"}
        ]);
        let all = select_connections(doc.clone(), &ConnectionQuery::default()).unwrap();
        assert_eq!(
            serde_json::to_value(&all[0]).unwrap(),
            json!({"firstDeviceId": 1, "secondDeviceId": 2, "lastSeen": 30_000, "discovered": 10_000,
                   "ports": [502], "protocols": [{"name": "MODBUS", "commands": ["Read Holding Registers"]}]})
        );
        let now = Timestamp(40 * Timestamp::NANOS_PER_SEC);
        let q = connection_query(&p(&[("discoveredAfter", "15000")]), Some(1), now).unwrap();
        let got = select_connections(doc.clone(), &q).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].first_device_id, 3);
        let q = connection_query(&p(&[("lastActiveInMinutes", "0")]), None, now).unwrap();
        assert!(select_connections(doc.clone(), &q).unwrap().is_empty());
        let q = connection_query(&p(&[("discoveredBefore", "15000")]), Some(2), now).unwrap();
        assert_eq!(select_connections(doc, &q).unwrap().len(), 1);
        assert!(connection_query(&p(&[("discoveredBefore", "x")]), None, now).is_err());
    }

    #[test]
    fn protocol_names_follow_the_reference() {
        assert_eq!(protocol_name("s7comm"), "Siemens S7");
        assert_eq!(protocol_name("hart_ip"), "HART-IP");
        assert_eq!(protocol_name("zzz"), "zzz");
    }
}
