//! One error type for pages and the API: an HTTP status, a stable machine-readable code,
//! and field-level codes. Pages render it as HTML, the API as RFC 9457 problem+json.

use axum::http::StatusCode;
use otklik_domain::lifecycle::TransitionError;
use otklik_domain::{FieldError, ValidationErrors};
use otklik_store::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppError {
    pub status: StatusCode,
    pub code: &'static str,
    pub fields: Vec<FieldError>,
    /// Seconds the client should wait before trying again (`Retry-After`).
    pub retry_after: Option<u64>,
}

impl AppError {
    pub fn new(status: StatusCode, code: &'static str) -> Self {
        Self {
            status,
            code,
            fields: Vec::new(),
            retry_after: None,
        }
    }

    /// `429` with `Retry-After`.
    pub fn too_many_requests(code: &'static str, retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, code)
        }
    }

    /// Access refused by the policy, with the reason's code.
    pub fn denied(denied: otklik_domain::access::Denied) -> Self {
        use otklik_domain::access::Denied;
        match denied {
            Denied::SignInRequired => Self::unauthorized(),
            other => Self::new(StatusCode::FORBIDDEN, other.code()),
        }
    }

    pub fn validation(errors: ValidationErrors) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "validation_failed",
            fields: errors.0,
            retry_after: None,
        }
    }

    pub fn field(field: &str, code: &'static str) -> Self {
        let mut errors = ValidationErrors::default();
        errors.push(field, code);
        Self::validation(errors)
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found")
    }

    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized")
    }

    pub fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden")
    }

    pub fn csrf() -> Self {
        Self::new(StatusCode::FORBIDDEN, "csrf_failed")
    }

    /// `503` with `Retry-After`: a dependency (the database, the identity provider) or
    /// this node itself cannot serve now; the same request may succeed later.
    pub fn unavailable(code: &'static str, retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after),
            ..Self::new(StatusCode::SERVICE_UNAVAILABLE, code)
        }
    }

    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error")
    }

    pub fn too_large() -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "request_too_large")
    }

    pub fn bad_request(code: &'static str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code)
    }

    /// The code to show for this error: its first field's, else its own.
    pub fn first_code(&self) -> &'static str {
        self.fields.first().map_or(self.code, |f| f.code)
    }

    /// The field the error is at, if it is at one.
    pub fn first_field(&self) -> Option<&str> {
        self.fields.first().map(|f| f.field.as_str())
    }

    /// The code of the given field, if that field is invalid.
    pub fn field_code(&self, field: &str) -> Option<&'static str> {
        self.fields
            .iter()
            .find(|f| f.field == field)
            .map(|f| f.code)
    }
}

impl From<otklik_domain::access::Denied> for AppError {
    fn from(d: otklik_domain::access::Denied) -> Self {
        Self::denied(d)
    }
}

/// A template the notify crate's check refuses: a field error of that part.
impl From<otklik_notify::templates::TemplateError> for AppError {
    fn from(e: otklik_notify::templates::TemplateError) -> Self {
        Self::field(e.field, e.code)
    }
}

impl From<TransitionError> for AppError {
    fn from(e: TransitionError) -> Self {
        match e {
            TransitionError::Forbidden => Self::forbidden(),
            TransitionError::SameOrganisation => Self::field("to_org", e.code()),
            other => Self::new(StatusCode::CONFLICT, other.code()),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::not_found(),
            StoreError::Conflict(code) => Self::new(StatusCode::CONFLICT, code),
            StoreError::InvalidReference(code) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, code),
            StoreError::Transition(t) => t.into(),
            StoreError::Route(r) => Self::new(StatusCode::CONFLICT, r.code()),
            StoreError::Merge(m) => {
                use otklik_domain::merge::MergeError;
                let status = match m {
                    MergeError::Forbidden => StatusCode::FORBIDDEN,
                    MergeError::SameSubmission => StatusCode::UNPROCESSABLE_ENTITY,
                    _ => StatusCode::CONFLICT,
                };
                Self::new(status, m.code())
            }
            StoreError::Incident(i) => {
                use otklik_domain::social::IncidentError;
                let status = match i {
                    IncidentError::Forbidden => StatusCode::FORBIDDEN,
                    IncidentError::NotOpen(_) => StatusCode::CONFLICT,
                    IncidentError::MergeIntoItself | IncidentError::SplitNothing => {
                        StatusCode::UNPROCESSABLE_ENTITY
                    }
                };
                Self::new(status, i.code())
            }
            ref unavailable if unavailable.is_unavailable() => {
                tracing::warn!(error = %e, "database unavailable");
                Self::unavailable("database_unavailable", 1)
            }
            StoreError::Database(_) | StoreError::Migration(_) => {
                tracing::error!(error = %e, "store failed");
                Self::internal()
            }
        }
    }
}

/// Sets `Retry-After` when the error says how long to wait.
pub fn add_retry_after(response: &mut axum::response::Response, seconds: Option<u64>) {
    if let Some(seconds) = seconds {
        if let Ok(value) = axum::http::HeaderValue::from_str(&seconds.to_string()) {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database that cannot be reached is `503` with `Retry-After`; any other database
    /// failure stays a `500` (its cause logged, never shown).
    #[test]
    fn an_unreachable_database_is_503_with_retry_after() {
        for unreachable in [
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
            sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionReset)),
        ] {
            let e = AppError::from(StoreError::Database(unreachable));
            assert_eq!(
                (e.status, e.code, e.retry_after),
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "database_unavailable",
                    Some(1)
                )
            );
        }
        let e = AppError::from(StoreError::Database(sqlx::Error::RowNotFound));
        assert_eq!(e.status, StatusCode::INTERNAL_SERVER_ERROR);
    }
}
