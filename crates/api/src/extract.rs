//! Extractors whose rejections are [`ApiError`]s (JSON, naming the field),
//! never axum's plain-text rejections.
//!
//! Handlers take `Json<T>` (this module's, not axum's) for bodies, `Query<T>`
//! for query strings, `Path<T>` for path parameters and `caller: Caller` for
//! the authenticated caller.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequestParts, Request};
use axum::http::{header, request::Parts};
use serde::de::DeserializeOwned;

use crate::{ApiError, Caller};

/// A JSON request body. Rejections: 415 when the content type is not JSON,
/// 413 when the body is over the limit, 400 naming the field otherwise.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

/// Parses `bytes` as JSON into `T`; the error names the path of the bad field
/// (`rules[2].name`) or `body` for syntax errors.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad("body", "a JSON document is required"));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let msg = inner.to_string();
        let field = field_of(&path, &msg, inner.is_syntax() || inner.is_eof());
        ApiError::bad(field, msg)
    })?;
    de.end()
        .map_err(|e| ApiError::bad("body", format!("trailing data after the JSON document: {e}")))?;
    Ok(value)
}

/// The field an error is about: the serde path, extended by the name in
/// "missing field `x`" / "unknown field `x`" messages.
fn field_of(path: &str, msg: &str, syntax: bool) -> String {
    if syntax {
        return "body".into();
    }
    let named = ["missing field `", "unknown field `", "duplicate field `"]
        .iter()
        .find_map(|p| msg.split_once(p))
        .and_then(|(_, rest)| rest.split_once('`'))
        .map(|(name, _)| name);
    let base = if path == "." { "" } else { path };
    match (base, named) {
        ("", Some(n)) => n.to_string(),
        ("", None) => "body".into(),
        (b, Some(n)) if !b.ends_with(n) => format!("{b}.{n}"),
        (b, _) => b.to_string(),
    }
}

fn is_json(parts: &Parts) -> bool {
    parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
        .unwrap_or(false)
}

/// Maps a body read failure: over the limit => 413, else 400.
pub(crate) fn bytes_rejection(r: BytesRejection, limit: usize) -> ApiError {
    if r.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge { limit }
    } else {
        ApiError::bad("body", r.body_text())
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let (parts, body) = req.into_parts();
        if !is_json(&parts) {
            return Err(ApiError::UnsupportedMediaType(
                "the body must be JSON (Content-Type: application/json)".into(),
            ));
        }
        let limit = parts
            .extensions
            .get::<BodyLimit>()
            .map(|l| l.0)
            .unwrap_or(0);
        let req = Request::from_parts(parts, body);
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|r| bytes_rejection(r, limit))?;
        parse_json(&bytes).map(Json)
    }
}

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

/// The body limit in force for the request (set by the router, shown in 413s).
#[derive(Clone, Copy, Debug)]
pub struct BodyLimit(pub usize);

/// Query string parameters; a bad one is a 400 naming `query`.
#[derive(Debug, Clone, Default)]
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        <axum::extract::Query<T> as FromRequestParts<S>>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|r| {
                let text = r.body_text();
                let field = query_field(&text);
                ApiError::bad(field, text)
            })
    }
}

fn query_field(msg: &str) -> String {
    field_in_message(msg).unwrap_or_else(|| "query".into())
}

/// The field a serde or axum rejection message names, if any.
pub(crate) fn field_in_message(msg: &str) -> Option<String> {
    ["missing field `", "unknown field `", "duplicate field `"]
        .iter()
        .find_map(|p| msg.split_once(p))
        .and_then(|(_, rest)| rest.split_once('`'))
        .map(|(n, _)| n.to_string())
        .or_else(|| {
            // "Failed to deserialize query string: limit: invalid digit found in string"
            msg.rsplit_once("query string: ")
                .and_then(|(_, rest)| rest.split_once(": "))
                .map(|(f, _)| f.to_string())
                .filter(|f| !f.contains(' '))
        })
}

/// Path parameters; a bad one (e.g. a non-numeric id) is a 400 naming `path`.
#[derive(Debug, Clone)]
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        <axum::extract::Path<T> as FromRequestParts<S>>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|r| ApiError::bad("path", r.body_text()))
    }
}

/// The client's address (`None` when the server was not started with
/// connection info, e.g. in `oneshot` tests).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or(ApiError::Unauthorized)
    }
}

/// `Option<Caller>`: `None` on public routes called without credentials.
impl<S: Send + Sync> OptionalFromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, ApiError> {
        Ok(parts.extensions.get::<Caller>().cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        port: u16,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        name: String,
        items: Vec<Inner>,
    }

    fn field(body: &str) -> String {
        match parse_json::<Doc>(body.as_bytes()) {
            Err(ApiError::BadRequest { field, .. }) => field,
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(field(r#"{"items": []}"#), "name");
        assert_eq!(field(r#"{"name": 3, "items": []}"#), "name");
        assert_eq!(field(r#"{"name": "a", "items": [{"port": 70000}]}"#), "items[0].port");
        assert_eq!(field(r#"{"name": "a", "items": [{}]}"#), "items[0].port");
        assert_eq!(field(r#"{"name": "a", "items": [], "x": 1}"#), "x");
        assert_eq!(field(r#"{"name": "a""#), "body");
        assert_eq!(field(""), "body");
        assert_eq!(field(r#"{"name": "a", "items": []} []"#), "body");
        assert!(parse_json::<Doc>(br#"{"name": "a", "items": [{"port": 1}]}"#).is_ok());
    }

    #[test]
    fn query_errors_name_the_parameter() {
        assert_eq!(
            query_field("Failed to deserialize query string: limit: invalid digit found in string"),
            "limit"
        );
        assert_eq!(query_field("Failed to deserialize query string: missing field `q`"), "q");
        assert_eq!(query_field("something else"), "query");
    }
}
