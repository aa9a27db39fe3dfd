//! The one error shape of the HTTP API: `{"error": {"code": "...", "message": "..."}}`.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use greenledger_core::{
    api::{ErrorBody, ErrorDetail},
    entry::EntryError,
    error::{CanonicalError, DecodeError},
};

use crate::store::{ErrorClass, IngestError};

/// An API error: status, stable code, message for people.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// What is wrong and what to do.
    pub message: String,
}

impl ApiError {
    /// Builds an error.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// 404.
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", what)
    }

    /// 400 with a code.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 500 for storage failures.
    pub fn internal(err: impl std::fmt::Display) -> Self {
        tracing::error!(cause = %err, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("internal error: {err}"),
        )
    }
}

/// Longest message sent back: an error about a huge input names its start and its end (where
/// the reason usually is), it does not echo all of it.
const MAX_MESSAGE: usize = 1024;

/// `message`, shortened in the middle to at most about [`MAX_MESSAGE`] bytes.
fn bounded(message: String) -> String {
    if message.len() <= MAX_MESSAGE {
        return message;
    }
    let mut head = MAX_MESSAGE / 2;
    while !message.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = message.len() - MAX_MESSAGE / 3;
    while !message.is_char_boundary(tail) {
        tail += 1;
    }
    format!(
        "{} … [{} bytes omitted] … {}",
        &message[..head],
        tail - head,
        &message[tail..]
    )
}

impl ApiError {
    /// The error's JSON body (`{"error": {"code", "message"}}`), its message bounded.
    pub fn body(self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: bounded(self.message),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status;
        (status, Json(self.body())).into_response()
    }
}

impl From<DecodeError> for ApiError {
    fn from(e: DecodeError) -> Self {
        let code = match &e {
            DecodeError::Envelope(_) => "malformed_entry",
            DecodeError::Canonical(CanonicalError::NotCanonical { .. }) => "not_canonical",
            DecodeError::Canonical(CanonicalError::NotJson(_)) => "malformed_json",
            DecodeError::Canonical(_) => "invalid_field",
            DecodeError::UnsupportedVersion(_) => "unsupported_version",
            DecodeError::UnknownKind(_) => "unknown_kind",
            DecodeError::Field(_) | DecodeError::Invalid { .. } => "invalid_field",
            DecodeError::Signature(_) => "malformed_signature",
        };
        Self::bad_request(code, e.to_string())
    }
}

impl From<EntryError> for ApiError {
    fn from(e: EntryError) -> Self {
        match e {
            EntryError::Decode(d) => d.into(),
            EntryError::Signature(s) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_signature", s.to_string()),
        }
    }
}

impl From<IngestError> for ApiError {
    fn from(e: IngestError) -> Self {
        use StatusCode as S;
        let status = match e.class() {
            ErrorClass::Forbidden => S::FORBIDDEN,
            ErrorClass::Conflict => S::CONFLICT,
            ErrorClass::Invalid => S::UNPROCESSABLE_ENTITY,
            ErrorClass::Unavailable => S::SERVICE_UNAVAILABLE,
            ErrorClass::Internal => S::INTERNAL_SERVER_ERROR,
        };
        let code = e.code();
        let mut message = e.to_string();
        if code == "unknown_signer" {
            message.push_str(
                " (as far as this node knows: an admission submitted to another node reaches this one within seconds; retry then)",
            );
        }
        Self::new(status, code, message)
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        Self::internal(format!("{e:#}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_keep_their_start_and_their_reason() {
        let m = format!("invalid part: \"urn:x:{}\" is longer than 512 bytes", "é".repeat(5000));
        let b = bounded(m.clone());
        assert!(b.len() < MAX_MESSAGE + 64, "{}", b.len());
        assert!(b.starts_with("invalid part: \"urn:x:é"), "{b}");
        assert!(b.ends_with("is longer than 512 bytes"), "{b}");
        assert!(b.contains("bytes omitted]"), "{b}");
        assert_eq!(bounded("short".into()), "short");
    }
}
