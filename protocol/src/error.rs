//! The protocol's errors: a request that cannot be decoded ([`PayloadError`], naming the field) and a key or
//! network setting that cannot be used ([`ConfigError`], naming the setting).

use thiserror::Error;

/// A request that cannot be decoded, naming the offending field (`body` for the payload as a whole).
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("{field}: {message}")]
pub struct PayloadError {
    /// The field, with its path (`items[3].embedding[7]`).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl PayloadError {
    /// An error on `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        PayloadError { field: field.into(), message: message.into() }
    }
}

/// `Err(PayloadError)` on `field`.
pub(crate) fn err<T>(field: impl Into<String>, message: impl Into<String>) -> Result<T, PayloadError> {
    Err(PayloadError::new(field, message))
}

/// A key-space or network setting that cannot be used (a key chunk with wildcards, an unknown endpoint protocol).
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("zenoh config `{key}`: {message}")]
pub struct ConfigError {
    /// The setting (`prefix`, `gallery name`, `endpoint`, a file).
    pub key: String,
    /// What is wrong.
    pub message: String,
}
