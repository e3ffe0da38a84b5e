//! The route table: every route once, with the least role it needs.
//!
//! Each endpoint module exports `pub const ROUTES: &[RouteSpec]` and
//! `pub fn router() -> Router<ApiState>`. The authorization layer looks the
//! matched route up here, so a route missing from the table is refused (a
//! test checks every routed path is in the table), and `docs/api-roles.md`
//! is checked against the table by a test.

use otwatch_store::Role;

/// One route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteSpec {
    /// `GET`, `POST`, `PUT`, `PATCH` or `DELETE`.
    pub method: &'static str,
    /// The axum path pattern, e.g. `/api/alerts/{id}`.
    pub path: &'static str,
    /// Least role allowed; `None` = no authentication (health, login).
    pub min_role: Option<Role>,
    /// One line for the role matrix and the OpenAPI document.
    pub summary: &'static str,
}

impl RouteSpec {
    pub const fn new(
        method: &'static str,
        path: &'static str,
        min_role: Option<Role>,
        summary: &'static str,
    ) -> RouteSpec {
        RouteSpec {
            method,
            path,
            min_role,
            summary,
        }
    }
}

/// The role-by-endpoint table of `docs/api-roles.md` (Markdown), in route
/// table order.
pub fn role_matrix(routes: &[RouteSpec]) -> String {
    let mut out = String::from(
        "| Method | Path | What | Read-only | Analyst | Admin |\n|---|---|---|:-:|:-:|:-:|\n",
    );
    for r in routes {
        let cells: Vec<&str> = [Role::Readonly, Role::Analyst, Role::Admin]
            .iter()
            .map(|role| match r.min_role {
                None => "public",
                Some(min) if *role >= min => "✔",
                Some(_) => "–",
            })
            .collect();
        out.push_str(&format!(
            "| {} | `{}` | {} | {} | {} | {} |\n",
            r.method, r.path, r.summary, cells[0], cells[1], cells[2]
        ));
    }
    out
}
