//! docs/alerts.md lists the catalog; this test keeps the list in sync.

use std::fmt::Write;

use otwatch_alerts::{BUILTIN_TOML, Catalog, Engine};

const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/alerts.md");
const START: &str = "<!-- catalog:start -->\n";
const END: &str = "<!-- catalog:end -->";

fn generated() -> String {
    let c = Catalog::builtin();
    let mut s = String::new();
    let counts: Vec<String> = Engine::ALL
        .iter()
        .map(|&e| format!("{} {}", c.by_engine(e).count(), e.display_name()))
        .collect();
    writeln!(s, "{} alert types: {}.\n", c.len(), counts.join(", ")).unwrap();
    writeln!(
        s,
        "| id | title | engine | severity (sensor) | on by default | protocols | thresholds |"
    )
    .unwrap();
    writeln!(s, "|---|---|---|---|---|---|---|").unwrap();
    for e in Engine::ALL {
        for t in c.by_engine(e) {
            let protocols = if t.protocols.is_empty() {
                "any".to_string()
            } else {
                t.protocols.join(", ")
            };
            let thresholds: Vec<String> = t
                .thresholds
                .iter()
                .map(|(n, th)| {
                    let own = if th.own { " (otwatch)" } else { "" };
                    format!("{n} = {} {}{own}", th.value, th.unit)
                })
                .collect();
            writeln!(
                s,
                "| `{}` | {} | {} | {} ({}) | {} | {} | {} |",
                t.id,
                t.title,
                t.engine.display_name(),
                t.severity.as_str(),
                t.sensor_severity.as_str(),
                if t.enabled { "yes" } else { "no" },
                protocols,
                thresholds.join("; ")
            )
            .unwrap();
        }
    }
    let left: Vec<&str> = BUILTIN_TOML
        .lines()
        .filter_map(|l| l.strip_prefix("# - "))
        .collect();
    writeln!(
        s,
        "\n### Left out ({})\n\nReference alert types that otwatch cannot observe (the same list ends `catalog.toml`):\n",
        left.len()
    )
    .unwrap();
    for l in left {
        writeln!(s, "- {l}").unwrap();
    }
    s
}

#[test]
fn alerts_md_lists_the_catalog() {
    let doc = std::fs::read_to_string(DOC).expect("docs/alerts.md");
    let (head, rest) = doc.split_once(START).expect("start marker");
    let (_, tail) = rest.split_once(END).expect("end marker");
    let want = format!("{head}{START}{}{END}{tail}", generated());
    if std::env::var_os("OTWATCH_BLESS").is_some() {
        std::fs::write(DOC, &want).unwrap();
        return;
    }
    assert!(
        doc == want,
        "docs/alerts.md is stale: run OTWATCH_BLESS=1 cargo test -p otwatch-alerts --test docs"
    );
}
