//! API errors: every 4xx names the field and the problem, as JSON.

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
    /// 413.
    #[error("request body larger than {limit} bytes")]
    TooLarge { limit: usize },
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
