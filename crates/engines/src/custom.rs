//! Custom alert rules (reference §3.9): administrators describe an operation
//! that the built-in engines do not cover — "any Modbus write to registers
//! above 100 on the dosing PLC", "any S7 block download outside working
//! hours" — and otwatch raises an alert (or records a timeline event) when
//! traffic matches.
//!
//! A rule names a protocol, optional device addresses (IP, MAC or subnet,
//! with a direction), optional daily time windows and week days, and one or
//! more conditions on the message's fields. Conditions are ANDed. Fields are
//! named as in the `--events` NDJSON records: `code` (the protocol's
//! function/command/service), `kind` (`request`/`response`/...),
//! `src_port`, `dst_port`, and any dotted path into the protocol object
//! (`modbus.address`, `s7comm.block_type`, `enip.cip.class`...). Alerts have
//! the catalog type `user_defined_rule` ("Unauthorized Operation was detected
//! by a User Defined Rule", category Custom Alerts) unless the rule gives its
//! own title, and the rule's severity.
//!
//! Cost: the protocol, address and time checks are done on the typed event;
//! only a message that passes them and a rule that has field-path
//! conditions builds the message's JSON form (once per message, shared by
//! all rules). A rule reports a device pair at most once per capture second;
//! the alert manager aggregates the rest into the open alert.
//!
//! The TOML format is documented in `docs/custom-rules.md`.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;

use hashbrown::HashMap;
use otwatch_alerts::exclusion::{
    RawDevice, RawWindow, check_rule_name, parse_devices, parse_windows,
};
use otwatch_alerts::{Detection, DeviceMatch, Endpoint, SensorSeverity, TimeWindow, UtcOffset};
use otwatch_core::{FlowSide, Proto, Timestamp, Transport};
use otwatch_proto::event::{AppEvent, Event};
use otwatch_proto::json::Record;
use serde::Deserialize;
use serde_json::Value;

use crate::Engine;

/// The catalog type of custom-rule alerts.
pub const TYPE_ID: &str = "user_defined_rule";

/// Device pairs remembered for the once-per-second report limit.
pub const MAX_RECENT: usize = 4096;

/// A comparison of one field with the rule's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// The field equals one of a list.
    In,
    NotIn,
    /// Substring of a string field, or element of an array field.
    Contains,
    /// The field is present (the value is ignored).
    Exists,
}

impl Op {
    fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "==" | "eq" => Op::Eq,
            "!=" | "ne" => Op::Ne,
            "<" | "lt" => Op::Lt,
            "<=" | "le" => Op::Le,
            ">" | "gt" => Op::Gt,
            ">=" | "ge" => Op::Ge,
            "in" => Op::In,
            "not_in" => Op::NotIn,
            "contains" => Op::Contains,
            "exists" => Op::Exists,
            _ => return None,
        })
    }
}

/// Where a condition's field comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Field {
    /// The protocol's function/command/service code (no JSON needed).
    Code,
    /// `request`, `response`, ... (no JSON needed).
    Kind,
    SrcPort,
    DstPort,
    /// A dotted path into the event record (needs its JSON form).
    Path(Vec<String>),
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Field::Code => f.write_str("code"),
            Field::Kind => f.write_str("kind"),
            Field::SrcPort => f.write_str("src_port"),
            Field::DstPort => f.write_str("dst_port"),
            Field::Path(p) => f.write_str(&p.join(".")),
        }
    }
}

/// One validated condition.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    field: Field,
    op: Op,
    value: Value,
}

/// What a matching rule does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    #[default]
    Alert,
    /// A timeline event (`USER_DEFINED_RULE_OPERATION`), no alert.
    Event,
}

/// A validated custom rule.
#[derive(Clone, Debug, PartialEq)]
pub struct CustomRule {
    pub name: String,
    pub enabled: bool,
    pub protocol: Proto,
    pub action: Action,
    pub severity: SensorSeverity,
    pub title: Option<String>,
    pub message: Option<String>,
    pub devices: Vec<DeviceMatch>,
    pub time_zone: UtcOffset,
    pub windows: Vec<TimeWindow>,
    /// Week days (0 = Monday ... 6 = Sunday); empty = every day.
    pub days: Vec<u8>,
    conditions: Vec<Condition>,
    needs_json: bool,
}

/// A rule file that failed validation: names the rule and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("custom rules: {0}")]
    Parse(String),
    #[error("custom rule \"{rule}\": {field}: {problem}")]
    Invalid {
        rule: String,
        field: &'static str,
        problem: String,
    },
    #[error("custom rule \"{0}\": name used by more than one rule")]
    DuplicateName(String),
}

fn invalid(rule: &str, field: &'static str, problem: impl Into<String>) -> RuleError {
    RuleError::Invalid {
        rule: rule.to_string(),
        field,
        problem: problem.into(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCondition {
    field: String,
    op: String,
    #[serde(default)]
    value: Option<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: String,
    #[serde(default = "yes")]
    enabled: bool,
    protocol: String,
    #[serde(default)]
    action: Action,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    devices: Vec<RawDevice>,
    #[serde(default)]
    time_zone: Option<String>,
    #[serde(default)]
    windows: Vec<RawWindow>,
    #[serde(default)]
    days: Vec<String>,
    #[serde(default)]
    conditions: Vec<RawCondition>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    rule: Vec<RawRule>,
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn severity(s: &str) -> Option<SensorSeverity> {
    Some(match s.to_ascii_lowercase().as_str() {
        "critical" => SensorSeverity::Critical,
        "major" => SensorSeverity::Major,
        "minor" => SensorSeverity::Minor,
        "warning" => SensorSeverity::Warning,
        _ => return None,
    })
}

fn json_value(v: toml::Value) -> Result<Value, String> {
    Ok(match v {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => Value::from(f),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Array(a) => Value::Array(
            a.into_iter()
                .map(json_value)
                .collect::<Result<Vec<_>, _>>()?,
        ),
        other => {
            return Err(format!(
                "unsupported value `{other}` (use a number, string, boolean or list)"
            ));
        }
    })
}

impl TryFrom<RawRule> for CustomRule {
    type Error = RuleError;

    fn try_from(r: RawRule) -> Result<Self, RuleError> {
        let name = r.name;
        check_rule_name(&name).map_err(|e| invalid(&name, "name", e))?;
        let protocol = Proto::from_name(&r.protocol).ok_or_else(|| {
            invalid(
                &name,
                "protocol",
                format!(
                    "`{}` is not an otwatch protocol name (see `otwatch simulate --list` or docs/events.md)",
                    r.protocol
                ),
            )
        })?;
        let severity = match &r.severity {
            None => SensorSeverity::Major,
            Some(s) => severity(s).ok_or_else(|| {
                invalid(
                    &name,
                    "severity",
                    format!("`{s}`: use Critical, Major, Minor or Warning"),
                )
            })?,
        };
        if let Some(t) = &r.title
            && t.trim().is_empty()
        {
            return Err(invalid(&name, "title", "must not be empty when given"));
        }
        let time_zone = match &r.time_zone {
            Some(tz) => tz.parse().map_err(|e| invalid(&name, "time_zone", e))?,
            None if r.windows.is_empty() && r.days.is_empty() => UtcOffset(0),
            None => {
                return Err(invalid(
                    &name,
                    "time_zone",
                    "required with windows or days (a UTC offset like \"+02:00\")",
                ));
            }
        };
        let windows = parse_windows(&r.windows).map_err(|e| invalid(&name, "windows", e))?;
        let mut days = Vec::with_capacity(r.days.len());
        for d in &r.days {
            let l = d.to_ascii_lowercase();
            let i = DAYS.iter().position(|x| l.starts_with(x)).ok_or_else(|| {
                invalid(&name, "days", format!("`{d}` is not a week day (mon..sun)"))
            })?;
            days.push(i as u8);
        }
        let devices = parse_devices(&r.devices).map_err(|e| invalid(&name, "devices", e))?;
        if r.conditions.is_empty() {
            return Err(invalid(
                &name,
                "conditions",
                "at least one condition is required (for example { field = \"code\", op = \"==\", value = 16 })",
            ));
        }
        let mut conditions = Vec::with_capacity(r.conditions.len());
        for c in r.conditions {
            let op = Op::parse(&c.op).ok_or_else(|| {
                invalid(
                    &name,
                    "conditions",
                    format!(
                        "`{}`: op must be one of ==, !=, <, <=, >, >=, in, not_in, contains, exists",
                        c.op
                    ),
                )
            })?;
            let path = c.field.trim();
            if path.is_empty() || path.split('.').any(str::is_empty) {
                return Err(invalid(
                    &name,
                    "conditions",
                    format!(
                        "`{}` is not a field name (dotted path like modbus.address)",
                        c.field
                    ),
                ));
            }
            let field = match path {
                "code" => Field::Code,
                "kind" => Field::Kind,
                "src_port" => Field::SrcPort,
                "dst_port" => Field::DstPort,
                p => Field::Path(p.split('.').map(str::to_string).collect()),
            };
            let value = match (op, c.value) {
                (Op::Exists, _) => Value::Null,
                (_, None) => {
                    return Err(invalid(
                        &name,
                        "conditions",
                        format!("`{field}`: a value is required with `{}`", c.op),
                    ));
                }
                (_, Some(v)) => json_value(v).map_err(|e| invalid(&name, "conditions", e))?,
            };
            if matches!(op, Op::In | Op::NotIn) && !value.is_array() {
                return Err(invalid(
                    &name,
                    "conditions",
                    format!("`{field}`: `{}` needs a list value", c.op),
                ));
            }
            if matches!(op, Op::Lt | Op::Le | Op::Gt | Op::Ge) && !value.is_number() {
                return Err(invalid(
                    &name,
                    "conditions",
                    format!("`{field}`: `{}` needs a number", c.op),
                ));
            }
            conditions.push(Condition { field, op, value });
        }
        let needs_json = conditions.iter().any(|c| matches!(c.field, Field::Path(_)))
            || r.message.as_deref().is_some_and(template_needs_json);
        Ok(CustomRule {
            name,
            enabled: r.enabled,
            protocol,
            action: r.action,
            severity,
            title: r.title,
            message: r.message,
            devices,
            time_zone,
            windows,
            days,
            conditions,
            needs_json,
        })
    }
}

/// Parses a file of `[[rule]]` tables and validates every rule (names are
/// unique).
pub fn parse_rules(s: &str) -> Result<Vec<CustomRule>, RuleError> {
    let file: RawFile = toml::from_str(s).map_err(|e| RuleError::Parse(e.to_string()))?;
    let mut names = BTreeSet::new();
    let mut rules = Vec::with_capacity(file.rule.len());
    for raw in file.rule {
        let rule = CustomRule::try_from(raw)?;
        if !names.insert(rule.name.clone()) {
            return Err(RuleError::DuplicateName(rule.name));
        }
        rules.push(rule);
    }
    Ok(rules)
}

const SIMPLE_VARS: [&str; 10] = [
    "src_ip", "dst_ip", "src_mac", "dst_mac", "src_port", "dst_port", "protocol", "code", "kind",
    "rule",
];

fn template_needs_json(t: &str) -> bool {
    vars(t).any(|v| !SIMPLE_VARS.contains(&v))
}

/// The `{variable}` names of a message template.
fn vars(t: &str) -> impl Iterator<Item = &str> {
    t.split('{')
        .skip(1)
        .filter_map(|s| s.split_once('}').map(|(v, _)| v.trim()))
}

fn lookup<'v>(root: &'v Value, path: &[String]) -> Option<&'v Value> {
    let mut v = root;
    for p in path {
        v = match v {
            Value::Object(m) => m.get(p)?,
            Value::Array(a) => a.get(p.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(v)
}

fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        _ => None,
    }
}

fn equal(a: &Value, b: &Value) -> bool {
    match (num(a), num(b)) {
        (Some(x), Some(y)) => x == y,
        _ => match (a, b) {
            // Case-insensitive for strings: protocol names and enums are
            // written in either case by users.
            (Value::String(x), Value::String(y)) => x.eq_ignore_ascii_case(y),
            _ => a == b,
        },
    }
}

impl Condition {
    fn holds(&self, v: Option<&Value>) -> bool {
        let Some(v) = v else {
            return matches!(self.op, Op::Ne | Op::NotIn);
        };
        match self.op {
            Op::Exists => !v.is_null(),
            Op::Eq => equal(v, &self.value),
            Op::Ne => !equal(v, &self.value),
            Op::In => self
                .value
                .as_array()
                .is_some_and(|l| l.iter().any(|x| equal(v, x))),
            Op::NotIn => !self
                .value
                .as_array()
                .is_some_and(|l| l.iter().any(|x| equal(v, x))),
            Op::Lt | Op::Le | Op::Gt | Op::Ge => {
                let (Some(x), Some(y)) = (num(v), num(&self.value)) else {
                    return false;
                };
                match self.op {
                    Op::Lt => x < y,
                    Op::Le => x <= y,
                    Op::Gt => x > y,
                    _ => x >= y,
                }
            }
            Op::Contains => match (v, &self.value) {
                (Value::String(s), Value::String(p)) => {
                    s.to_ascii_lowercase().contains(&p.to_ascii_lowercase())
                }
                (Value::Array(a), x) => a.iter().any(|e| equal(e, x)),
                _ => false,
            },
        }
    }
}

/// The facts of one message that need no JSON.
struct Facts<'e> {
    code: Value,
    kind: &'static str,
    src_port: Value,
    dst_port: Value,
    src: &'e FlowSide,
    dst: &'e FlowSide,
    ports: bool,
}

impl<'e> Facts<'e> {
    fn of(a: &'e AppEvent<'e>) -> Self {
        let ep = a.flow.endpoints(a.dir);
        let ports = matches!(a.flow.transport, Transport::Tcp | Transport::Udp);
        Facts {
            code: Value::from(a.msg.function_code()),
            kind: a.kind.as_str(),
            src_port: Value::from(ep.src.port),
            dst_port: Value::from(ep.dst.port),
            src: ep.src,
            dst: ep.dst,
            ports,
        }
    }

    fn get<'a>(&'a self, f: &Field, json: Option<&'a Value>) -> Option<Cow<'a, Value>> {
        match f {
            Field::Code => Some(Cow::Borrowed(&self.code)),
            Field::Kind => Some(Cow::Owned(Value::from(self.kind))),
            Field::SrcPort => self.ports.then_some(Cow::Borrowed(&self.src_port)),
            Field::DstPort => self.ports.then_some(Cow::Borrowed(&self.dst_port)),
            Field::Path(p) => json.and_then(|j| lookup(j, p)).map(Cow::Borrowed),
        }
    }
}

fn endpoint(s: &FlowSide, l2: bool) -> Endpoint {
    Endpoint {
        ip: (!l2).then_some(s.ip),
        mac: Some(s.mac),
        port: (!l2).then_some(s.port),
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl CustomRule {
    /// Whether the rule is active at `ts` (time windows and week days in the
    /// rule's time zone).
    pub fn active_at(&self, ts: Timestamp) -> bool {
        if self.windows.is_empty() && self.days.is_empty() {
            return true;
        }
        let local = ts.secs() + i64::from(self.time_zone.0);
        let tod = local.rem_euclid(86_400) as u32;
        // 1970-01-01 was a Thursday (index 3 with Monday = 0).
        let day = ((local.div_euclid(86_400) + 3).rem_euclid(7)) as u8;
        (self.windows.is_empty() || self.windows.iter().any(|w| w.contains(tod)))
            && (self.days.is_empty() || self.days.contains(&day))
    }

    fn message(&self, f: &Facts<'_>, proto: Proto, json: Option<&Value>) -> String {
        let Some(t) = &self.message else {
            return format!(
                "custom rule \"{}\" matched: {} code {} ({}) from {} to {}",
                self.name,
                proto.name(),
                show(&f.code),
                f.kind,
                f.src.ip,
                f.dst.ip
            );
        };
        let mut out = String::with_capacity(t.len() + 32);
        let mut rest = t.as_str();
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else {
                out.push_str(&rest[open..]);
                rest = "";
                break;
            };
            let var = after[..close].trim();
            let v = match var {
                "src_ip" => f.src.ip.to_string(),
                "dst_ip" => f.dst.ip.to_string(),
                "src_mac" => f.src.mac.to_string(),
                "dst_mac" => f.dst.mac.to_string(),
                "src_port" => show(&f.src_port),
                "dst_port" => show(&f.dst_port),
                "protocol" => proto.name().to_string(),
                "code" => show(&f.code),
                "kind" => f.kind.to_string(),
                "rule" => self.name.clone(),
                path => {
                    let p: Vec<String> = path.split('.').map(str::to_string).collect();
                    json.and_then(|j| lookup(j, &p))
                        .map(show)
                        .unwrap_or_else(|| "?".to_string())
                }
            };
            out.push_str(&v);
            rest = &after[close + 1..];
        }
        out.push_str(rest);
        out
    }
}

/// The custom-rule engine: every enabled rule checked on every application
/// message of its protocol.
pub struct CustomRules {
    rules: Vec<CustomRule>,
    /// Rule indexes by protocol, so a message only meets its protocol's rules.
    by_proto: HashMap<Proto, Vec<usize>>,
    /// `(rule, src, dst)` → capture second last reported.
    recent: HashMap<(usize, FlowKeyPart, FlowKeyPart), i64>,
    /// Matches not reported because of the once-per-second limit.
    pub throttled: u64,
}

type FlowKeyPart = (std::net::IpAddr, [u8; 6]);

impl CustomRules {
    pub fn new(rules: Vec<CustomRule>) -> Self {
        let mut by_proto: HashMap<Proto, Vec<usize>> = HashMap::new();
        for (i, r) in rules.iter().enumerate() {
            if r.enabled {
                by_proto.entry(r.protocol).or_default().push(i);
            }
        }
        CustomRules {
            rules,
            by_proto,
            recent: HashMap::new(),
            throttled: 0,
        }
    }

    pub fn rules(&self) -> &[CustomRule] {
        &self.rules
    }

    fn check(&mut self, a: &AppEvent<'_>, out: &mut Vec<Detection>) {
        let proto = a.msg.proto();
        let Some(idx) = self.by_proto.get(&proto) else {
            return;
        };
        let facts = Facts::of(a);
        let l2 = a.flow.transport == Transport::L2;
        let (src, dst) = (endpoint(facts.src, l2), endpoint(facts.dst, l2));
        let mut json: Option<Value> = None;
        let mut hits: Vec<usize> = Vec::new();
        for &i in idx {
            let r = &self.rules[i];
            if !r.active_at(a.ts)
                || !(r.devices.is_empty() || r.devices.iter().any(|d| d.matches(&src, &dst)))
            {
                continue;
            }
            if r.needs_json && json.is_none() {
                json = serde_json::to_value(Record::App(a)).ok();
            }
            if r.conditions
                .iter()
                .all(|c| c.holds(facts.get(&c.field, json.as_ref()).as_deref()))
            {
                hits.push(i);
            }
        }
        let sec = a.ts.secs();
        for i in hits {
            let key = (
                i,
                (facts.src.ip, facts.src.mac.0),
                (facts.dst.ip, facts.dst.mac.0),
            );
            if self.recent.get(&key) == Some(&sec) {
                self.throttled += 1;
                continue;
            }
            if self.recent.len() >= MAX_RECENT {
                self.recent.clear();
            }
            self.recent.insert(key, sec);
            let r = &self.rules[i];
            let mut d = Detection::new(TYPE_ID, a.ts, src.clone(), dst.clone())
                .protocol(proto.name())
                .key("rule", &r.name)
                .message(r.message(&facts, proto, json.as_ref()))
                .info("rule", &r.name)
                .info("code", show(&facts.code))
                .severity(r.severity)
                .event_only(r.action == Action::Event)
                .flow(a.flow.id);
            if let Some(t) = &r.title {
                d = d.title(t.clone());
            }
            out.push(d);
        }
    }
}

impl Engine for CustomRules {
    fn kind(&self) -> otwatch_alerts::Engine {
        otwatch_alerts::Engine::PolicyViolation
    }

    fn on_event(&mut self, ev: &Event<'_>, out: &mut Vec<Detection>) {
        if let Event::App(a) = ev {
            self.check(a, out);
        }
    }
}
