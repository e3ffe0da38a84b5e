//! The OpenAPI 3.1 document (`GET /api/openapi.json`), generated from the
//! route table so that it lists every route with its least role; request and
//! response schemas are given for the routes whose bodies this module knows.

use std::sync::OnceLock;

use axum::Router;
use axum::routing::get;
use otwatch_store::Role;
use serde_json::{Map, Value, json};

use crate::routes::RouteSpec;
use crate::{ApiState, route_table};

pub const ROUTES: &[RouteSpec] = &[RouteSpec::new(
    "GET",
    "/api/openapi.json",
    Some(Role::Readonly),
    "The OpenAPI 3 document of this API",
)];

pub fn router() -> Router<ApiState> {
    Router::new().route("/api/openapi.json", get(openapi))
}

async fn openapi() -> axum::Json<Value> {
    static DOC: OnceLock<Value> = OnceLock::new();
    axum::Json(DOC.get_or_init(document).clone())
}

fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// Request body schema of the routes this module knows.
fn request_schema(method: &str, path: &str) -> Option<(&'static str, Value)> {
    let j = "application/json";
    Some(match (method, path) {
        ("POST", "/api/login") => (j, reference("Login")),
        ("POST", "/api/users") => (j, reference("NewUser")),
        ("PATCH", "/api/users/{name}") => (j, reference("UserEdit")),
        ("POST", "/api/tokens") => (j, reference("NewToken")),
        ("PUT", "/api/learning") => (
            j,
            json!({ "type": "object", "required": ["learning"], "properties": { "learning": { "type": "boolean" } } }),
        ),
        ("PUT", "/api/settings/alerts") => (j, reference("AlertOverrides")),
        ("PUT", "/api/exclusions") | ("PUT", "/api/custom-rules") => {
            (j, json!({ "type": "array", "items": { "type": "object" } }))
        }
        ("PUT", "/api/subnets") => (j, json!({ "type": "object" })),
        ("PUT", "/api/ti/{name}") => ("text/plain", json!({ "type": "string" })),
        ("POST", "/api/replay") => (
            "application/octet-stream",
            json!({ "type": "string", "format": "binary", "description": "a pcap or pcapng file" }),
        ),
        (m, _) if m == "POST" || m == "PUT" || m == "PATCH" => (j, json!({})),
        _ => return None,
    })
}

/// Success status and body schema of the routes this module knows.
fn response(method: &str, path: &str) -> (&'static str, Option<Value>) {
    let array = |r: &str| Some(json!({ "type": "array", "items": reference(r) }));
    match (method, path) {
        ("GET", "/api/users") => ("200", array("User")),
        ("POST", "/api/users") => ("201", Some(reference("User"))),
        ("PATCH", "/api/users/{name}") => ("200", Some(reference("User"))),
        ("GET", "/api/tokens") => ("200", array("Token")),
        ("POST", "/api/tokens") => ("201", Some(reference("NewTokenAnswer"))),
        ("GET", "/api/audit") => ("200", array("AuditRecord")),
        ("GET", "/api/me") => ("200", Some(reference("Me"))),
        ("POST", "/api/login") => ("200", Some(reference("LoginAnswer"))),
        ("POST", "/api/replay") => (
            "202",
            Some(json!({ "type": "object", "properties": {
                "replay": { "type": "string" }, "bytes": { "type": "integer" } } })),
        ),
        ("GET", "/metrics") => ("200", None),
        ("DELETE", _) | ("POST", "/api/logout") | ("PUT", "/api/ti/{name}") => ("204", None),
        _ => ("200", Some(json!({}))),
    }
}

fn operation(r: &RouteSpec) -> Value {
    let mut op = Map::new();
    op.insert("summary".into(), r.summary.into());
    let id: String = format!("{} {}", r.method.to_lowercase(), r.path)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    op.insert("operationId".into(), id.into());
    let tag = r
        .path
        .trim_start_matches('/')
        .split('/')
        .find(|s| *s != "api" && !is_version(s))
        .unwrap_or("api");
    op.insert("tags".into(), json!([tag]));
    let role = r.min_role.map_or("public", Role::as_str);
    op.insert("x-min-role".into(), role.into());
    let params: Vec<Value> = r
        .path
        .split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
        .collect();
    if !params.is_empty() {
        op.insert("parameters".into(), params.into());
    }
    if let Some((ct, schema)) = request_schema(r.method, r.path) {
        op.insert(
            "requestBody".into(),
            json!({ "required": true, "content": { ct: { "schema": schema } } }),
        );
    }
    let (ok, body) = response(r.method, r.path);
    let mut responses = Map::new();
    let mut success = json!({ "description": "success" });
    if let Some(schema) = body {
        success["content"] = json!({ "application/json": { "schema": schema } });
    } else if r.path == "/metrics" {
        success["content"] = json!({ "text/plain": { "schema": { "type": "string" } } });
    }
    responses.insert(ok.into(), success);
    let err = json!({ "$ref": "#/components/responses/Error" });
    if r.min_role.is_some() {
        responses.insert("401".into(), err.clone());
        responses.insert("403".into(), err.clone());
        op.insert(
            "security".into(),
            json!([{ "token": [] }, { "session": [] }]),
        );
    } else {
        op.insert("security".into(), json!([]));
    }
    responses.insert("default".into(), err);
    op.insert("responses".into(), responses.into());
    op.into()
}

/// `v1`, `v2`, ...
fn is_version(s: &str) -> bool {
    s.strip_prefix('v')
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The whole document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for r in route_table() {
        let entry = paths
            .entry(r.path.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        entry[r.method.to_lowercase()] = operation(&r);
    }
    let role = json!({ "type": "string", "enum": ["readonly", "analyst", "admin"] });
    let ts = json!({ "type": "string", "format": "date-time" });
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "otwatch sensor API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Alerts, devices, timeline and settings of an otwatch sensor. Every route names its least role in `x-min-role`."
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "token": { "type": "apiKey", "in": "header", "name": "Authorization",
                           "description": "An API token (`otw_...`), bare or after `Bearer `." },
                "session": { "type": "apiKey", "in": "cookie", "name": "otwatch_session" }
            },
            "responses": {
                "Error": { "description": "an error",
                           "content": { "application/json": { "schema": reference("Error") } } }
            },
            "schemas": {
                "Error": { "type": "object", "required": ["error"], "properties": { "error": {
                    "type": "object", "required": ["code", "message"], "properties": {
                        "code": { "type": "string" }, "message": { "type": "string" },
                        "field": { "type": "string" } } } } },
                "Login": { "type": "object", "required": ["name", "password"], "properties": {
                    "name": { "type": "string" }, "password": { "type": "string" } } },
                "LoginAnswer": { "type": "object", "properties": {
                    "name": { "type": "string" }, "role": role, "expires": ts } },
                "Me": { "type": "object", "properties": { "name": { "type": "string" }, "role": role } },
                "User": { "type": "object", "properties": {
                    "name": { "type": "string" }, "role": role, "created": ts, "last_login": ts } },
                "NewUser": { "type": "object", "required": ["name", "role", "password"], "properties": {
                    "name": { "type": "string" }, "role": role, "password": { "type": "string", "minLength": 8 } } },
                "UserEdit": { "type": "object", "properties": {
                    "role": role, "password": { "type": "string", "minLength": 8 } } },
                "Token": { "type": "object", "properties": {
                    "id": { "type": "integer" }, "name": { "type": "string" }, "role": role,
                    "created": ts, "last_used": ts, "created_by": { "type": "string" } } },
                "NewToken": { "type": "object", "required": ["name", "role"], "properties": {
                    "name": { "type": "string" }, "role": role } },
                "NewTokenAnswer": { "allOf": [reference("Token"), { "type": "object", "properties": {
                    "token": { "type": "string", "description": "the secret, shown only here" } } }] },
                "AuditRecord": { "type": "object", "properties": {
                    "id": { "type": "integer" }, "ts": ts, "actor": { "type": "string" },
                    "action": { "type": "string" }, "target": { "type": "string" },
                    "detail": { "type": "string" } } },
                "AlertOverrides": { "type": "object", "properties": {
                    "engines": { "type": "object", "additionalProperties": { "type": "boolean" } },
                    "types": { "type": "object", "additionalProperties": { "type": "object", "properties": {
                        "enabled": { "type": "boolean" },
                        "thresholds": { "type": "object", "additionalProperties": { "type": "integer" } } } } } } }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_documented() {
        let doc = document();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
        for r in route_table() {
            let op = &doc["paths"][r.path][r.method.to_lowercase()];
            assert!(op.is_object(), "{} {} missing", r.method, r.path);
            assert_eq!(op["summary"], r.summary);
            for p in r.path.split('/').filter(|s| s.starts_with('{')) {
                let name = p.trim_matches(|c| c == '{' || c == '}');
                assert!(
                    op["parameters"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|x| x["name"] == name),
                    "{} {}: parameter {name}",
                    r.method,
                    r.path
                );
            }
        }
        // Every $ref resolves.
        let text = doc.to_string();
        for part in text.split("\"$ref\":\"#/components/").skip(1) {
            let path = part.split('"').next().unwrap();
            let mut v = &doc["components"];
            for seg in path.split('/') {
                v = &v[seg];
            }
            assert!(v.is_object(), "dangling $ref {path}");
        }
    }
}
