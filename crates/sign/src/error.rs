//! [`SignError`]: a stable snake_case code and a detail for people.

/// What went wrong, as a stable snake_case [`code`](SignError::code) (for programs and
/// translations) and a detail in English (for logs and operators).
///
/// Codes: `malformed_signature`, `wrong_password`, `gost_unavailable`, `bad_key`,
/// `bad_certificate`, `bad_crl`, `bad_sealed_key`, `bad_installation_key`, `bad_subject`,
/// `bad_entry_name`, `unsupported_algorithm`, `crypto_failure`.
///
/// A detail never holds key material or a password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {detail}")]
pub struct SignError {
    code: &'static str,
    detail: String,
}

impl SignError {
    pub(crate) fn new(code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
        }
    }

    /// The stable code, e.g. `"wrong_password"`.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The human-readable reason (no secrets).
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// An OpenSSL failure that has no more precise code, with what was being done.
    pub(crate) fn crypto(doing: &str, e: openssl::error::ErrorStack) -> Self {
        Self::new("crypto_failure", format!("{doing}: {e}"))
    }
}
