//! The alert catalog: every alert type otwatch can raise, as data.
//!
//! The built-in catalog is `crates/alerts/catalog.toml`, embedded in the binary
//! with `include_str!` and parsed once by [`Catalog::builtin`]. Admins change it
//! at run time only through [`Overrides`] (enable or disable an alert type or a
//! whole engine, change a threshold); the catalog file itself is not a setting.
//!
//! # Catalog format
//!
//! One `[[alert]]` table per alert type:
//!
//! ```toml
//! [[alert]]
//! id = "port_scan"                 # stable snake_case key, unique
//! title = "Port Scan Detected"     # the reference title, unique
//! engine = "anomaly"               # policy_violation | protocol_violation | malware | anomaly | operational
//! category = "Scan"                # reference category
//! sensor_severity = "Critical"     # Critical | Major | Minor | Warning
//! severity = "High"                # High | Medium | Low (must match sensor_severity, see SensorSeverity::severity)
//! mitre_tactics = ["Discovery"]
//! mitre_techniques = ["T0842"]
//! learnable = true                 # "Learn" (close + add to baseline) is offered
//! mutable = true                   # "Mute" (close + suppress) is offered
//! enabled = true                   # false: off by default
//! protocols = []                   # otwatch `proto` names it applies to; empty = any traffic
//! aggregation_key = ["src", "dst"] # see crate docs for the field names
//! description = "..."
//! remediation = ["...", "..."]
//! [alert.thresholds.count]         # zero or more named thresholds
//! value = 25
//! unit = "ports"
//! doc = "distinct destination ports of one host"
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// The embedded catalog text.
pub const BUILTIN_TOML: &str = include_str!("../catalog.toml");

/// Field names allowed in an `aggregation_key` (meanings in the crate docs).
pub const AGGREGATION_FIELDS: &[&str] = &[
    "src",
    "dst",
    "protocol",
    "port",
    "function_code",
    "object",
    "subnet",
    "value",
    "indicator",
    "interface",
    "rule",
];

/// The five detection engines.
///
/// Serde and catalog name: snake_case (`policy_violation`); the reference's
/// display string is [`Engine::display_name`] and its upper-case API form
/// (maintenance windows) is [`Engine::api_name`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    PolicyViolation,
    ProtocolViolation,
    Malware,
    Anomaly,
    Operational,
}

impl Engine {
    pub const ALL: [Engine; 5] = [
        Engine::PolicyViolation,
        Engine::ProtocolViolation,
        Engine::Malware,
        Engine::Anomaly,
        Engine::Operational,
    ];

    /// The catalog/serde name (`policy_violation`).
    pub fn name(self) -> &'static str {
        match self {
            Engine::PolicyViolation => "policy_violation",
            Engine::ProtocolViolation => "protocol_violation",
            Engine::Malware => "malware",
            Engine::Anomaly => "anomaly",
            Engine::Operational => "operational",
        }
    }

    /// The reference's display string (`Policy Violation`).
    pub fn display_name(self) -> &'static str {
        match self {
            Engine::PolicyViolation => "Policy Violation",
            Engine::ProtocolViolation => "Protocol Violation",
            Engine::Malware => "Malware",
            Engine::Anomaly => "Anomaly",
            Engine::Operational => "Operational",
        }
    }

    /// The reference's API form (`POLICY_VIOLATION`).
    pub fn api_name(self) -> &'static str {
        match self {
            Engine::PolicyViolation => "POLICY_VIOLATION",
            Engine::ProtocolViolation => "PROTOCOL_VIOLATION",
            Engine::Malware => "MALWARE",
            Engine::Anomaly => "ANOMALY",
            Engine::Operational => "OPERATIONAL",
        }
    }

    /// Parses the catalog name (`anomaly`).
    pub fn from_name(s: &str) -> Option<Engine> {
        Engine::ALL.into_iter().find(|e| e.name() == s)
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.display_name())
    }
}

/// The three-level severity (the reference's portal scale).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Severity {
    High,
    Medium,
    Low,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::High => "High",
            Severity::Medium => "Medium",
            Severity::Low => "Low",
        }
    }
}

/// The four-level sensor severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SensorSeverity {
    Critical,
    Major,
    Minor,
    Warning,
}

impl SensorSeverity {
    pub fn as_str(self) -> &'static str {
        match self {
            SensorSeverity::Critical => "Critical",
            SensorSeverity::Major => "Major",
            SensorSeverity::Minor => "Minor",
            SensorSeverity::Warning => "Warning",
        }
    }

    /// The reference mapping (§1.2): Critical → High, Major → Medium,
    /// Minor and Warning → Low.
    pub fn severity(self) -> Severity {
        match self {
            SensorSeverity::Critical => Severity::High,
            SensorSeverity::Major => Severity::Medium,
            SensorSeverity::Minor | SensorSeverity::Warning => Severity::Low,
        }
    }

    /// The CEF integer used when forwarding (10, 8, 4, 1).
    pub fn cef(self) -> u8 {
        match self {
            SensorSeverity::Critical => 10,
            SensorSeverity::Major => 8,
            SensorSeverity::Minor => 4,
            SensorSeverity::Warning => 1,
        }
    }
}

/// One named threshold of an alert type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    /// Always > 0.
    pub value: u64,
    /// What `value` counts (`seconds`, `connections`, `bytes`...).
    pub unit: String,
    /// What the threshold means.
    pub doc: String,
    /// The reference gives no value for this type: the number is otwatch's
    /// own choice (documented with the engine).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub own: bool,
}

/// One alert type of the catalog.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertType {
    pub id: String,
    pub title: String,
    pub engine: Engine,
    pub category: String,
    pub sensor_severity: SensorSeverity,
    pub severity: Severity,
    pub mitre_tactics: Vec<String>,
    pub mitre_techniques: Vec<String>,
    pub learnable: bool,
    pub mutable: bool,
    /// Enabled by default (after overrides: enabled by the admin). The engine
    /// switch is separate: see [`Catalog::is_enabled`].
    pub enabled: bool,
    pub protocols: Vec<String>,
    #[serde(default)]
    pub thresholds: BTreeMap<String, Threshold>,
    pub aggregation_key: Vec<String>,
    pub description: String,
    pub remediation: Vec<String>,
}

impl AlertType {
    /// The value of a named threshold.
    pub fn threshold(&self, name: &str) -> Option<u64> {
        self.thresholds.get(name).map(|t| t.value)
    }

    /// Whether the type applies to traffic of protocol `proto` (an otwatch
    /// `proto` name). An empty protocol list applies to any traffic.
    pub fn applies_to(&self, proto: &str) -> bool {
        self.protocols.is_empty() || self.protocols.iter().any(|p| p == proto)
    }
}

/// A catalog that failed validation (for the built-in one, a bug).
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("catalog TOML: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("alert type id `{0}` is not snake_case")]
    BadId(String),
    #[error("alert type id `{0}` appears more than once")]
    DuplicateId(String),
    #[error("alert title `{0}` appears more than once")]
    DuplicateTitle(String),
    #[error("alert type `{id}`: severity {severity:?} does not match sensor severity {sensor:?}")]
    SeverityMismatch {
        id: String,
        severity: Severity,
        sensor: SensorSeverity,
    },
    #[error("alert type `{id}`: unknown protocol `{protocol}`")]
    UnknownProtocol { id: String, protocol: String },
    #[error(
        "alert type `{id}`: unknown aggregation field `{field}` (known: {})",
        AGGREGATION_FIELDS.join(", ")
    )]
    UnknownAggregationField { id: String, field: String },
    #[error("alert type `{id}`: {what} is empty")]
    Empty { id: String, what: &'static str },
    #[error("alert type `{id}`: threshold `{threshold}` must be greater than 0")]
    ZeroThreshold { id: String, threshold: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    alert: Vec<AlertType>,
}

/// The set of alert types, with the engine switches.
#[derive(Clone, Debug)]
pub struct Catalog {
    types: Vec<AlertType>,
    by_id: HashMap<String, usize>,
    by_title: HashMap<String, usize>,
    engines: BTreeMap<Engine, bool>,
}

impl Catalog {
    /// The embedded catalog, parsed once. A parse or validation error is a
    /// bug in `catalog.toml` (the crate's tests catch it).
    pub fn builtin() -> &'static Catalog {
        static BUILTIN: OnceLock<Catalog> = OnceLock::new();
        BUILTIN.get_or_init(|| match Catalog::from_toml_str(BUILTIN_TOML) {
            Ok(c) => c,
            Err(e) => panic!("built-in alert catalog is invalid: {e}"),
        })
    }

    /// Parses and validates a catalog (all engines enabled).
    pub fn from_toml_str(s: &str) -> Result<Catalog, CatalogError> {
        let file: CatalogFile = toml::from_str(s)?;
        Catalog::from_types(file.alert)
    }

    fn from_types(types: Vec<AlertType>) -> Result<Catalog, CatalogError> {
        let mut by_id = HashMap::with_capacity(types.len());
        let mut by_title = HashMap::with_capacity(types.len());
        for (i, t) in types.iter().enumerate() {
            validate(t)?;
            if by_id.insert(t.id.clone(), i).is_some() {
                return Err(CatalogError::DuplicateId(t.id.clone()));
            }
            if by_title.insert(t.title.clone(), i).is_some() {
                return Err(CatalogError::DuplicateTitle(t.title.clone()));
            }
        }
        Ok(Catalog {
            types,
            by_id,
            by_title,
            engines: Engine::ALL.into_iter().map(|e| (e, true)).collect(),
        })
    }

    pub fn get(&self, id: &str) -> Option<&AlertType> {
        self.by_id.get(id).map(|&i| &self.types[i])
    }

    pub fn by_title(&self, title: &str) -> Option<&AlertType> {
        self.by_title.get(title).map(|&i| &self.types[i])
    }

    /// All alert types, in catalog order.
    pub fn iter(&self) -> std::slice::Iter<'_, AlertType> {
        self.types.iter()
    }

    /// The alert types of one engine, in catalog order.
    pub fn by_engine(&self, engine: Engine) -> impl Iterator<Item = &AlertType> {
        self.types.iter().filter(move |t| t.engine == engine)
    }

    pub fn len(&self) -> usize {
        self.types.len()
    }

    pub fn is_empty(&self) -> bool {
        self.types.is_empty()
    }

    /// Whether the engine is switched on.
    pub fn engine_enabled(&self, engine: Engine) -> bool {
        self.engines.get(&engine).copied().unwrap_or(true)
    }

    /// Whether alerts of type `id` are raised: the type and its engine are
    /// both enabled. Unknown ids are not enabled.
    pub fn is_enabled(&self, id: &str) -> bool {
        self.get(id)
            .is_some_and(|t| t.enabled && self.engine_enabled(t.engine))
    }

    /// A copy of the catalog with the admin's overrides applied. Nothing is
    /// applied unless every override is valid.
    pub fn with_overrides(&self, o: &Overrides) -> Result<Catalog, OverrideError> {
        let mut c = self.clone();
        for (name, &on) in &o.engines {
            let e = Engine::from_name(name)
                .ok_or_else(|| OverrideError::UnknownEngine { name: name.clone() })?;
            c.engines.insert(e, on);
        }
        for (id, to) in &o.types {
            let &i = c
                .by_id
                .get(id)
                .ok_or_else(|| OverrideError::UnknownAlertType { id: id.clone() })?;
            let t = &mut c.types[i];
            if let Some(on) = to.enabled {
                t.enabled = on;
            }
            for (name, &value) in &to.thresholds {
                let known = || t.thresholds.keys().cloned().collect::<Vec<_>>().join(", ");
                if !t.thresholds.contains_key(name) {
                    return Err(OverrideError::UnknownThreshold {
                        id: id.clone(),
                        threshold: name.clone(),
                        known: if t.thresholds.is_empty() {
                            "none".to_string()
                        } else {
                            known()
                        },
                    });
                }
                if value == 0 {
                    return Err(OverrideError::ZeroThreshold {
                        id: id.clone(),
                        threshold: name.clone(),
                    });
                }
                if let Some(th) = t.thresholds.get_mut(name) {
                    th.value = value;
                }
            }
        }
        Ok(c)
    }
}

impl<'a> IntoIterator for &'a Catalog {
    type Item = &'a AlertType;
    type IntoIter = std::slice::Iter<'a, AlertType>;
    fn into_iter(self) -> Self::IntoIter {
        self.types.iter()
    }
}

fn validate(t: &AlertType) -> Result<(), CatalogError> {
    let snake = !t.id.is_empty()
        && t.id.starts_with(|c: char| c.is_ascii_lowercase())
        && t.id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !snake {
        return Err(CatalogError::BadId(t.id.clone()));
    }
    if t.sensor_severity.severity() != t.severity {
        return Err(CatalogError::SeverityMismatch {
            id: t.id.clone(),
            severity: t.severity,
            sensor: t.sensor_severity,
        });
    }
    let empty = |what| {
        Err(CatalogError::Empty {
            id: t.id.clone(),
            what,
        })
    };
    if t.title.trim().is_empty() {
        return empty("title");
    }
    if t.category.trim().is_empty() {
        return empty("category");
    }
    if t.description.trim().is_empty() {
        return empty("description");
    }
    if t.remediation.is_empty() || t.remediation.iter().any(|s| s.trim().is_empty()) {
        return empty("remediation");
    }
    if t.mitre_tactics.is_empty() {
        return empty("mitre_tactics");
    }
    if t.mitre_techniques.is_empty() {
        return empty("mitre_techniques");
    }
    if t.aggregation_key.is_empty() {
        return empty("aggregation_key");
    }
    for p in &t.protocols {
        if otwatch_core::Proto::from_name(p).is_none() {
            return Err(CatalogError::UnknownProtocol {
                id: t.id.clone(),
                protocol: p.clone(),
            });
        }
    }
    for f in &t.aggregation_key {
        if !AGGREGATION_FIELDS.contains(&f.as_str()) {
            return Err(CatalogError::UnknownAggregationField {
                id: t.id.clone(),
                field: f.clone(),
            });
        }
    }
    for (name, th) in &t.thresholds {
        if th.value == 0 {
            return Err(CatalogError::ZeroThreshold {
                id: t.id.clone(),
                threshold: name.clone(),
            });
        }
    }
    Ok(())
}

/// Admin changes to the catalog, read from the `[alerts]` section of the
/// configuration:
///
/// ```toml
/// [alerts.engines]            # engine name → on/off (default: all on)
/// anomaly = false
///
/// [alerts.types.port_scan]    # alert type id
/// enabled = true              # optional: turn the type on or off
/// thresholds = { count = 40, window = 60 }   # optional: new values (> 0)
/// ```
///
/// [`Overrides::from_toml_str`] parses the section's content (`engines` and
/// `types` at the top level); a configuration struct can also embed
/// `Overrides` as its `alerts` field. Unknown keys are rejected at parse
/// time; unknown engines, alert type ids and threshold names are rejected by
/// [`Catalog::with_overrides`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Overrides {
    #[serde(default)]
    pub engines: BTreeMap<String, bool>,
    #[serde(default)]
    pub types: BTreeMap<String, TypeOverride>,
}

/// Changes to one alert type.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TypeOverride {
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub thresholds: BTreeMap<String, u64>,
}

impl Overrides {
    pub fn from_toml_str(s: &str) -> Result<Overrides, toml::de::Error> {
        toml::from_str(s)
    }
}

/// An override that does not fit the catalog.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OverrideError {
    #[error(
        "alerts.engines: unknown engine `{name}` (known: policy_violation, protocol_violation, malware, anomaly, operational)"
    )]
    UnknownEngine { name: String },
    #[error("alerts.types: unknown alert type id `{id}`")]
    UnknownAlertType { id: String },
    #[error("alerts.types.{id}: unknown threshold `{threshold}` (known: {known})")]
    UnknownThreshold {
        id: String,
        threshold: String,
        known: String,
    },
    #[error("alerts.types.{id}: threshold `{threshold}` must be greater than 0")]
    ZeroThreshold { id: String, threshold: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_parses_and_validates() {
        let c = Catalog::from_toml_str(BUILTIN_TOML).expect("catalog.toml must parse");
        assert!(c.len() > 100);
        assert_eq!(Catalog::builtin().len(), c.len());
    }

    #[test]
    fn severity_mapping() {
        assert_eq!(SensorSeverity::Critical.severity(), Severity::High);
        assert_eq!(SensorSeverity::Major.severity(), Severity::Medium);
        assert_eq!(SensorSeverity::Minor.severity(), Severity::Low);
        assert_eq!(SensorSeverity::Warning.severity(), Severity::Low);
        assert_eq!(SensorSeverity::Warning.cef(), 1);
    }

    #[test]
    fn engine_names_round_trip() {
        for e in Engine::ALL {
            assert_eq!(Engine::from_name(e.name()), Some(e));
            assert_eq!(e.api_name(), e.name().to_ascii_uppercase());
        }
        assert_eq!(
            Engine::ProtocolViolation.display_name(),
            "Protocol Violation"
        );
    }

    fn one(extra: &str) -> String {
        format!(
            r#"[[alert]]
id = "x_y"
title = "X"
engine = "anomaly"
category = "Scan"
sensor_severity = "Critical"
severity = "High"
mitre_tactics = ["Discovery"]
mitre_techniques = ["T0842"]
learnable = true
mutable = true
enabled = true
protocols = ["modbus"]
aggregation_key = ["src"]
description = "d"
remediation = ["r"]
{extra}"#
        )
    }

    #[test]
    fn validation_names_the_problem() {
        assert!(Catalog::from_toml_str(&one("")).is_ok());
        let bad = one("").replace("\"modbus\"", "\"modbus2\"");
        let e = Catalog::from_toml_str(&bad).unwrap_err().to_string();
        assert!(e.contains("x_y") && e.contains("modbus2"), "{e}");
        let bad = one("").replace("[\"src\"]", "[\"source\"]");
        let e = Catalog::from_toml_str(&bad).unwrap_err().to_string();
        assert!(e.contains("source"), "{e}");
        let bad = one("").replace("\"High\"", "\"Low\"");
        assert!(matches!(
            Catalog::from_toml_str(&bad),
            Err(CatalogError::SeverityMismatch { .. })
        ));
        let bad = one("[alert.thresholds.count]\nvalue = 0\nunit = \"x\"\ndoc = \"y\"\n");
        assert!(matches!(
            Catalog::from_toml_str(&bad),
            Err(CatalogError::ZeroThreshold { .. })
        ));
        let twice = format!(
            "{}\n{}",
            one(""),
            one("").replace("title = \"X\"", "title = \"Z\"")
        );
        assert!(matches!(
            Catalog::from_toml_str(&twice),
            Err(CatalogError::DuplicateId(id)) if id == "x_y"
        ));
        let twice = format!("{}\n{}", one(""), one("").replace("x_y", "x_z"));
        assert!(matches!(
            Catalog::from_toml_str(&twice),
            Err(CatalogError::DuplicateTitle(t)) if t == "X"
        ));
        let bad = one("").replace("x_y", "X-Y");
        assert!(matches!(
            Catalog::from_toml_str(&bad),
            Err(CatalogError::BadId(_))
        ));
        let bad = one("colour = \"red\"\n");
        assert!(matches!(
            Catalog::from_toml_str(&bad),
            Err(CatalogError::Parse(_))
        ));
    }
}
