//! `docs/api-roles.md` is generated from the route table: run with
//! `OTWATCH_BLESS=1` to rewrite it after changing a route.

use otwatch_api::route_table;
use otwatch_api::routes::role_matrix;

const HEADER: &str = "# API roles

Generated from the route table (`otwatch_api::route_table()`) by
`OTWATCH_BLESS=1 cargo test -p otwatch-api --test roles_doc`; the test fails
when this page and the table differ. ✔ = allowed, – = refused with 403,
`public` = no authentication. Roles follow the reference §9.1; see
[api.md](api.md) for the choices where the sources disagree.

";

#[test]
fn api_roles_page_matches_the_route_table() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/api-roles.md");
    let want = format!("{HEADER}{}", role_matrix(&route_table()));
    if std::env::var_os("OTWATCH_BLESS").is_some() {
        std::fs::write(path, &want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        have == want,
        "docs/api-roles.md is out of date: run OTWATCH_BLESS=1 cargo test -p otwatch-api --test roles_doc"
    );
}

#[test]
fn routes_are_unique_and_well_formed() {
    let table = route_table();
    let mut seen = std::collections::HashSet::new();
    for r in &table {
        assert!(
            seen.insert((r.method, r.path)),
            "{} {} twice",
            r.method,
            r.path
        );
        assert!(
            ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&r.method),
            "{}",
            r.method
        );
        assert!(r.path.starts_with('/'), "{}", r.path);
        assert!(!r.summary.is_empty());
    }
}
