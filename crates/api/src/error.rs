//! API errors: every 4xx names the field and the problem, as JSON.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use otwatch_store::StoreError;

use crate::ControlError;

/// An error answer. Serialized as
/// `{"error": {"code": "...", "message": "...", "field": "..."}}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// 400: a parameter or body field is wrong.
    #[error("{field}: {message}")]
    BadRequest { field: String, message: String },
    /// 401: no or bad credentials.
    #[error("authentication required")]
    Unauthorized,
    /// 403: the caller's role is too low.
    #[error("the {role} role may not {action}")]
    Forbidden { role: String, action: String },
    /// 404.
    #[error("{what} {id} not found")]
    NotFound { what: String, id: String },
    /// 409: conflicts with the current state (e.g. mute of an internet endpoint).
    #[error("{0}")]
    Conflict(String),
    /// 405: the path exists, the method does not (`allow` lists the methods).
    #[error("{method} is not allowed on {path}; allowed: {allow}")]
    MethodNotAllowed {
        method: String,
        path: String,
        allow: String,
    },
    /// 413.
    #[error("request body larger than {limit} bytes")]
    TooLarge { limit: usize },
    /// 415: the body is not of the expected media type.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 429, with the seconds to wait.
    #[error("too many attempts; retry after {retry_after} s")]
    TooMany { retry_after: u64 },
    /// 503: the sensor is shutting down or its packet thread is busy.
    #[error("{0}")]
    Unavailable(String),
    /// 500: a bug or a storage failure (logged with detail, answered briefly).
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// Shorthand for a 400 naming `field`.
    pub fn bad(field: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError::BadRequest {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Shorthand for a 404.
    pub fn not_found(what: impl Into<String>, id: impl Into<String>) -> ApiError {
        ApiError::NotFound {
            what: what.into(),
            id: id.into(),
        }
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooMany { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable code of the body.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest { .. } => "bad_request",
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden { .. } => "forbidden",
            ApiError::NotFound { .. } => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::TooLarge { .. } => "too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::TooMany { .. } => "too_many_requests",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    /// The JSON body `{"error": {"code", "message", "field"?, ...}}`.
    pub fn body(&self) -> serde_json::Value {
        let message = match self {
            // Details of internal failures go to the log, not to the client.
            ApiError::Internal(_) => "internal error; see the sensor log".to_string(),
            other => other.to_string(),
        };
        let mut e = serde_json::Map::new();
        e.insert("code".into(), self.code().into());
        e.insert("message".into(), message.into());
        match self {
            ApiError::BadRequest { field, .. } => {
                e.insert("field".into(), field.as_str().into());
            }
            ApiError::Forbidden { role, action } => {
                e.insert("role".into(), role.as_str().into());
                e.insert("action".into(), action.as_str().into());
            }
            ApiError::TooMany { retry_after } => {
                e.insert("retry_after".into(), (*retry_after).into());
            }
            ApiError::TooLarge { limit } => {
                e.insert("limit".into(), (*limit).into());
            }
            _ => {}
        }
        serde_json::json!({ "error": e })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(detail) = &self {
            eprintln!("otwatch api: internal error: {detail}");
        }
        let mut resp = (self.status(), axum::Json(self.body())).into_response();
        match &self {
            ApiError::TooMany { retry_after } => {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
            ApiError::MethodNotAllowed { allow, .. } => {
                if let Ok(v) = HeaderValue::from_str(allow) {
                    resp.headers_mut().insert(header::ALLOW, v);
                }
            }
            _ => {}
        }
        resp
    }
}

impl From<ControlError> for ApiError {
    fn from(e: ControlError) -> ApiError {
        match e {
            ControlError::NotFound { what, id } => ApiError::NotFound { what, id },
            ControlError::Refused(m) => ApiError::Conflict(m),
            ControlError::Invalid { field, message } => ApiError::BadRequest { field, message },
            ControlError::Unavailable(m) => ApiError::Unavailable(m),
            ControlError::Internal(m) => ApiError::Internal(m),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::NotFound { what, name } => ApiError::NotFound {
                what: what.to_string(),
                id: name,
            },
            StoreError::Exists { .. } => ApiError::Conflict(e.to_string()),
            StoreError::BadCursor(m) => ApiError::BadRequest {
                field: "cursor".into(),
                message: m,
            },
            StoreError::Invalid { what, detail } => ApiError::BadRequest {
                field: what,
                message: detail,
            },
            other => ApiError::Internal(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_name_the_field_role_and_action() {
        let b = ApiError::bad("name", "must not be empty").body();
        assert_eq!(b["error"]["code"], "bad_request");
        assert_eq!(b["error"]["field"], "name");
        let f = ApiError::Forbidden {
            role: "readonly".into(),
            action: "POST /api/users".into(),
        };
        assert_eq!(f.status(), StatusCode::FORBIDDEN);
        assert_eq!(f.body()["error"]["role"], "readonly");
        assert!(
            f.body()["error"]["message"]
                .as_str()
                .unwrap()
                .contains("POST /api/users")
        );
        let i = ApiError::Internal("disk I/O error at /secret/path".into());
        assert!(!i.body().to_string().contains("/secret/path"));
    }

    #[test]
    fn conversions_keep_the_meaning() {
        let e: ApiError = ControlError::Invalid {
            field: "rules[0].name".into(),
            message: "empty".into(),
        }
        .into();
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        let e: ApiError = StoreError::Exists {
            what: "user",
            name: "bob".into(),
        }
        .into();
        assert_eq!(e.status(), StatusCode::CONFLICT);
        let e: ApiError = ControlError::Unavailable("stopping".into()).into();
        assert_eq!(e.status(), StatusCode::SERVICE_UNAVAILABLE);
        let resp = ApiError::TooMany { retry_after: 7 }.into_response();
        assert_eq!(resp.headers()[header::RETRY_AFTER], "7");
    }
}
