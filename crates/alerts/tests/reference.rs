//! The catalog against the reference (`../shared/spec/alert-catalog.csv` and
//! defender-alerts.md §3): facts copied exactly, descriptions not copied.

use std::collections::{BTreeSet, HashSet};

use otwatch_alerts::{BUILTIN_TOML, Catalog, Engine};

const CSV_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/spec/alert-catalog.csv"
);

struct Row {
    engine: String,
    title: String,
    severity: String,
    sensor_severity: String,
    category: String,
    tactics: String,
    techniques: String,
    threshold: String,
    off_by_default: bool,
}

/// The reference CSV, or `None` (with a loud note) when it is not there.
/// `OTWATCH_ALERT_CSV` names another copy (for worktrees outside the
/// repository's usual place).
fn reference_rows() -> Option<Vec<Row>> {
    let path = std::env::var("OTWATCH_ALERT_CSV").unwrap_or_else(|_| CSV_PATH.to_string());
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!();
            eprintln!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
            eprintln!("!!! NOTE: reference catalog {path} not readable ({e});");
            eprintln!("!!! the catalog was NOT compared with the reference.");
            eprintln!("!!! Set OTWATCH_ALERT_CSV to its path to run this check.");
            eprintln!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
            return None;
        }
    };
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some(
            "engine,title,severity,sensor_severity,category,mitre_tactics,mitre_techniques,threshold,off_by_default"
        )
    );
    let rows = lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            assert!(!l.contains('"'), "quoted CSV field not supported: {l}");
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!(f.len(), 9, "{l}");
            Row {
                engine: f[0].into(),
                title: f[1].into(),
                severity: f[2].into(),
                sensor_severity: f[3].into(),
                category: f[4].into(),
                tactics: f[5].into(),
                techniques: f[6].into(),
                threshold: f[7].into(),
                off_by_default: match f[8] {
                    "yes" => true,
                    "no" => false,
                    x => panic!("off_by_default {x:?}"),
                },
            }
        })
        .collect();
    Some(rows)
}

#[test]
fn ids_and_titles_are_unique() {
    let c = Catalog::builtin();
    let ids: HashSet<_> = c.iter().map(|t| &t.id).collect();
    let titles: HashSet<_> = c.iter().map(|t| &t.title).collect();
    assert_eq!(ids.len(), c.len());
    assert_eq!(titles.len(), c.len());
    for t in c {
        assert_eq!(c.get(&t.id).unwrap().title, t.title);
        assert_eq!(c.by_title(&t.title).unwrap().id, t.id);
    }
}

#[test]
fn every_engine_has_entries() {
    let c = Catalog::builtin();
    for e in Engine::ALL {
        assert!(c.by_engine(e).count() > 0, "{e} has no alert types");
    }
}

#[test]
fn learn_and_mute_follow_the_engine() {
    for t in Catalog::builtin() {
        let (learnable, mutable) = match t.engine {
            Engine::PolicyViolation => (true, false),
            Engine::Anomaly => (true, true),
            Engine::ProtocolViolation | Engine::Operational => (false, true),
            Engine::Malware => (false, false),
        };
        assert_eq!((t.learnable, t.mutable), (learnable, mutable), "{}", t.id);
    }
}

#[test]
fn facts_equal_the_reference_rows() {
    let Some(rows) = reference_rows() else { return };
    let c = Catalog::builtin();
    let mut matched = 0;
    for r in &rows {
        let Some(t) = c.by_title(&r.title) else {
            continue;
        };
        matched += 1;
        assert_eq!(t.engine.display_name(), r.engine, "{}", r.title);
        assert_eq!(t.severity.as_str(), r.severity, "{}", r.title);
        assert_eq!(t.sensor_severity.as_str(), r.sensor_severity, "{}", r.title);
        assert_eq!(t.category, r.category, "{}", r.title);
        assert_eq!(t.mitre_tactics.join(";"), r.tactics, "{}", r.title);
        assert_eq!(t.mitre_techniques.join(";"), r.techniques, "{}", r.title);
        assert_eq!(t.enabled, !r.off_by_default, "{}", r.title);
        // Every number of the reference threshold text is one of the type's
        // threshold values (durations converted to seconds).
        let wanted = threshold_numbers(&r.threshold);
        let have: BTreeSet<u64> = t.thresholds.values().map(|th| th.value).collect();
        for n in &wanted {
            assert!(
                have.contains(n),
                "{}: reference threshold {:?} needs value {n}, catalog has {have:?}",
                r.title,
                r.threshold
            );
        }
        if wanted.is_empty() {
            // Thresholds the reference does not give must say they are
            // otwatch's own choice.
            assert!(
                t.thresholds.values().all(|th| th.own),
                "{}: thresholds without a reference value must be marked `own = true`",
                r.title
            );
        }
    }
    assert_eq!(
        matched,
        c.len(),
        "catalog titles missing from the reference"
    );
}

fn threshold_numbers(text: &str) -> Vec<u64> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut out = Vec::new();
    for (i, w) in words.iter().enumerate() {
        let Ok(n) = w.parse::<u64>() else { continue };
        let next = words.get(i + 1).copied().unwrap_or("");
        let scale = if next.starts_with("minute") {
            60
        } else if next.starts_with("hour") {
            3600
        } else {
            1
        };
        out.push(n * scale);
    }
    out
}

#[test]
fn left_out_types_are_listed_with_a_reason() {
    let Some(rows) = reference_rows() else { return };
    let c = Catalog::builtin();
    let block = BUILTIN_TOML
        .split("# Reference alert types left out")
        .nth(1)
        .expect("catalog.toml ends with the left-out block");
    let mut left_out = 0;
    for r in &rows {
        let listed = block.lines().any(|l| {
            l.strip_prefix(&format!("# - [{}] {}: ", r.engine, r.title))
                .is_some_and(|why| why.len() > 10)
        });
        match (c.by_title(&r.title).is_some(), listed) {
            (true, false) => {}
            (false, true) => left_out += 1,
            (true, true) => panic!("{} is both included and left out", r.title),
            (false, false) => panic!("{} is neither included nor listed as left out", r.title),
        }
    }
    assert_eq!(left_out + c.len(), rows.len());
    let count = block.lines().filter(|l| l.starts_with("# - [")).count();
    assert_eq!(
        count, left_out,
        "left-out block lists titles not in the reference"
    );
}

/// Verbatim reference descriptions (defender-alerts.md §3.3 codes and a few
/// row-specific quotes). Catalog descriptions must be otwatch's own words.
const REFERENCE_TEXTS: &[&str] = &[
    "Firmware was updated on a source device. This may be authorized activity, for example a planned maintenance procedure.",
    "New traffic parameters were detected. This parameter combination hasn't been authorized as learned traffic on your network. The following combination is unauthorized.",
    "A source device defined as part of your network is communicating with Internet addresses. The source isn't authorized to communicate with Internet addresses.",
    "A new source device was detected on the network but hasn't been authorized.",
    "A source device attempted to access a resource on another device. An access attempt to this resource between these two devices hasn't been authorized as learned traffic on your network.",
    "An unauthorized application was detected on a source device. The application hasn't been authorized as a learned application on your network.",
    "A sign-in attempt between a source client and destination server was detected. Communication between these devices hasn't been authorized as learned traffic on your network.",
    "Message (identified by protocol ID) settings were changed on a source device.",
    "The source device isn't defined as a programming device but performed a read/write operation on a destination controller. Programming changes should only be performed by programming devices. A programming application may have been installed on this device.",
    "The source device sent a command to read/write the program of a destination controller. This activity wasn't previously seen.",
    "A source device was detected scanning network devices. This device hasn't been authorized as a network scanning device.",
    "A source device was seen performing excessive sign-in attempts to a destination server. This may indicate a brute force attack. The server may be compromised by a malicious actor.",
    "The source device sent an abnormal message. This alert may indicate an attempt to attack the destination device.",
    "Abnormal bandwidth was detected on a channel. Bandwidth appears to be lower/higher than previously detected. For details, work with the Total Bandwidth widget.",
    "An abnormal quantity of packets was detected in the network. This alert could indicate an attack, for example, an ARP spoofing or ICMP flooding attack.",
    "The source device initiated an invalid request.",
    "The destination device received an invalid request.",
    "A source device (secondary) returned an exception to a destination device (primary).",
    "Suspicious network activity was detected. This activity may be associated with an attack exploiting a method used by known malware.",
    "Suspicious network activity was detected. This activity may be associated with an attack that triggered known 'Indicators of Compromise' (IOCs). Alert metadata should be reviewed by the security team.",
    "A server returned an error code. This alert indicates a server error or an invalid request by a client.",
    "The source device sent a stop command to a destination controller. The controller will stop operating until a start command is sent.",
    "A configuration change was detected on a source device.",
    "A message (identified by protocol ID) dataset was changed on a source device. This means the device will report a different dataset for this message.",
    "A buffer overflow event was detected on a source device. The event may cause data corruption, program crashes, or execution of malicious code.",
    "A source device didn't respond to a command sent to it. It may have been disconnected when the command was sent.",
    "An unrecoverable condition error was detected on a source device. This kind of error usually indicates a hardware failure or failure to perform a specific command.",
    "A primary device requested access to a new secondary memory address.",
    "A Multicast/Broadcast connection was detected between a source device and other devices. Multicast/Broadcast communication isn't authorized.",
    "A sensor stopped detecting network traffic on a network interface.",
    "A sensor resumed detecting network traffic on a network interface.",
    "Traffic was detected on a device using a port reserved for another protocol.",
];

/// Longest run of reference text a catalog description may share.
const MAX_SHARED_CHARS: usize = 40;

#[test]
fn descriptions_are_not_copies_of_the_reference() {
    for t in Catalog::builtin() {
        let own: Vec<String> = std::iter::once(&t.description)
            .chain(&t.remediation)
            .map(|s| s.to_lowercase())
            .collect();
        for reference in REFERENCE_TEXTS {
            let reference = reference.to_lowercase();
            let chars: Vec<char> = reference.chars().collect();
            for text in &own {
                assert_ne!(text, &reference, "{} copies the reference", t.id);
                if chars.len() <= MAX_SHARED_CHARS {
                    assert!(!text.contains(&reference), "{} copies {reference:?}", t.id);
                    continue;
                }
                for w in chars.windows(MAX_SHARED_CHARS + 1) {
                    let w: String = w.iter().collect();
                    assert!(
                        !text.contains(&w),
                        "{} shares {w:?} with the reference text {reference:?}",
                        t.id
                    );
                }
            }
        }
    }
}
