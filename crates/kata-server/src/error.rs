//! Errors of the native API: a status and a JSON reason, always.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answer of the native API: `{"error": {"code", "message"}}`.
#[derive(Debug)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// A stable, machine-readable code (`bad_id`, `busy`, …).
    pub code: &'static str,
    /// What a person needs to know.
    pub message: String,
}

impl ApiError {
    /// A 400 with `code`.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code,
            message: message.into(),
        }
    }

    /// A 503: the Docker engine failed, the run may work once it is back.
    /// Details go to the log.
    pub fn unavailable(error: &dyn std::error::Error) -> Self {
        tracing::error!("the Docker engine failed: {error}");
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "engine_unavailable",
            message: "the Docker engine failed; try again shortly".into(),
        }
    }

    /// A 500; the details go to the log, not to the client.
    pub fn internal(context: &str, error: &dyn std::error::Error) -> Self {
        tracing::error!("{context}: {error}");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            message: format!("{context} failed; see the server's log"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(json!({"error": {"code": self.code, "message": self.message}}));
        let mut response = (self.status, body).into_response();
        if matches!(
            self.status,
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
        ) {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}
