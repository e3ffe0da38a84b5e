//! Admin overrides: engine and alert type switches, thresholds, validation.

use otwatch_alerts::{Catalog, Engine, OverrideError, Overrides};
use serde::Deserialize;

#[test]
fn thresholds_are_sound() {
    for t in Catalog::builtin() {
        for (name, th) in &t.thresholds {
            assert!(th.value > 0, "{}.{name}", t.id);
            assert!(!th.unit.is_empty() && !th.doc.is_empty(), "{}.{name}", t.id);
        }
    }
    let scan = Catalog::builtin().get("port_scan").unwrap();
    assert_eq!(scan.threshold("count"), Some(25));
    assert_eq!(scan.threshold("window"), Some(120));
    let sweep = Catalog::builtin().get("address_scan").unwrap();
    assert_eq!(sweep.threshold("subnet_prefix"), Some(16));
}

#[test]
fn defaults_follow_the_catalog() {
    let c = Catalog::builtin();
    assert!(c.is_enabled("port_scan"));
    // Off by default in the reference.
    assert!(!c.is_enabled("arp_spoofing"));
    assert!(!c.is_enabled("no_such_alert"));
    for e in Engine::ALL {
        assert!(c.engine_enabled(e));
    }
}

#[test]
fn overrides_switch_types_and_engines_and_change_thresholds() {
    let o = Overrides::from_toml_str(
        r#"
[engines]
anomaly = false

[types.arp_spoofing]
enabled = true

[types.modbus_function_code]
enabled = false

[types.port_scan]
thresholds = { count = 40, window = 60 }
"#,
    )
    .unwrap();
    let c = Catalog::builtin().with_overrides(&o).unwrap();
    assert!(!c.engine_enabled(Engine::Anomaly));
    // The type is on, but its engine is off.
    assert!(c.get("arp_spoofing").unwrap().enabled);
    assert!(!c.is_enabled("arp_spoofing"));
    assert!(!c.is_enabled("port_scan"));
    assert!(!c.is_enabled("modbus_function_code"));
    assert!(c.is_enabled("modbus_exception"));
    let scan = c.get("port_scan").unwrap();
    assert_eq!(
        (scan.threshold("count"), scan.threshold("window")),
        (Some(40), Some(60))
    );
    // The built-in catalog is untouched.
    assert_eq!(
        Catalog::builtin()
            .get("port_scan")
            .unwrap()
            .threshold("count"),
        Some(25)
    );
}

#[test]
fn overrides_embed_in_a_configuration_section() {
    #[derive(Deserialize)]
    struct Config {
        alerts: Overrides,
    }
    let cfg: Config = toml::from_str(
        r#"
[alerts.engines]
malware = false
[alerts.types.ssh_access]
enabled = false
"#,
    )
    .unwrap();
    let c = Catalog::builtin().with_overrides(&cfg.alerts).unwrap();
    assert!(!c.engine_enabled(Engine::Malware));
    assert!(!c.is_enabled("ssh_access"));
    assert!(
        Catalog::builtin()
            .with_overrides(&Overrides::default())
            .is_ok()
    );
}

fn apply(s: &str) -> OverrideError {
    let o = Overrides::from_toml_str(s).unwrap();
    Catalog::builtin().with_overrides(&o).unwrap_err()
}

#[test]
fn validation_errors_name_the_culprit() {
    let e = apply("[engines]\nanomalies = false\n");
    assert_eq!(
        e,
        OverrideError::UnknownEngine {
            name: "anomalies".into()
        }
    );
    assert!(e.to_string().contains("`anomalies`"), "{e}");

    let e = apply("[types.port_scann]\nenabled = false\n");
    assert_eq!(
        e,
        OverrideError::UnknownAlertType {
            id: "port_scann".into()
        }
    );
    assert!(e.to_string().contains("`port_scann`"), "{e}");

    let e = apply("[types.port_scan]\nthresholds = { windows = 10 }\n");
    assert!(
        matches!(&e, OverrideError::UnknownThreshold { id, threshold, .. }
        if id == "port_scan" && threshold == "windows")
    );
    let msg = e.to_string();
    assert!(
        msg.contains("port_scan") && msg.contains("`windows`") && msg.contains("count, window"),
        "{msg}"
    );

    let e = apply("[types.ssh_access]\nthresholds = { count = 3 }\n");
    assert!(e.to_string().contains("known: none"), "{e}");

    let e = apply("[types.port_scan]\nthresholds = { count = 0 }\n");
    assert_eq!(
        e,
        OverrideError::ZeroThreshold {
            id: "port_scan".into(),
            threshold: "count".into()
        }
    );
}

#[test]
fn malformed_override_sections_are_rejected_at_parse_time() {
    assert!(Overrides::from_toml_str("[types.port_scan]\nenable = true\n").is_err());
    assert!(Overrides::from_toml_str("[engine]\nanomaly = false\n").is_err());
    assert!(Overrides::from_toml_str("[types.port_scan]\nthresholds = { count = -1 }\n").is_err());
    assert!(Overrides::from_toml_str("[engines]\nanomaly = \"off\"\n").is_err());
}
