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
    /// An error on `field`; the field is clipped to [`MAX_ERROR_FIELD`] bytes, every quoted value in the message
    /// (between `"` or backticks, as serde quotes them) to [`MAX_QUOTED`], and the message to [`MAX_ERROR_MESSAGE`]
    /// (so that an error about a huge value is never huge itself).
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        let message = clip(&clip_quoted(&message.into()), MAX_ERROR_MESSAGE);
        PayloadError { field: clip(&field.into(), MAX_ERROR_FIELD), message }
    }
}

/// Longest value quoted in an error message, in bytes ([`quote`]); the rest is replaced by its length.
pub const MAX_QUOTED: usize = 64;
/// Longest error message, in bytes ([`PayloadError::new`] clips longer ones).
pub const MAX_ERROR_MESSAGE: usize = 1024;
/// Longest field path in an error, in bytes.
pub const MAX_ERROR_FIELD: usize = 256;

/// `s` cut to at most `max` bytes (at a character boundary) followed by `… (N bytes in all)` when longer.
pub fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &s[..end], s.len())
}

/// Whether `inner` is short, or already clipped by [`clip`] to [`MAX_QUOTED`] (kept: it states the real length).
fn short_or_clipped(inner: &str) -> bool {
    inner.len() <= MAX_QUOTED || (inner.ends_with(" bytes in all)") && inner.len() <= MAX_QUOTED + 40)
}

/// `s` with the text between each pair of `"` or backticks clipped to [`MAX_QUOTED`] bytes ([`clip`]).
pub fn clip_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(2 * MAX_ERROR_MESSAGE));
    let mut rest = s;
    while let Some(open) = rest.find(['"', '`']) {
        let quote = &rest[open..open + 1];
        out.push_str(&rest[..=open]);
        let after = &rest[open + 1..];
        match after.find(quote) {
            Some(close) => {
                let inner = &after[..close];
                out.push_str(&if short_or_clipped(inner) { inner.to_owned() } else { clip(inner, MAX_QUOTED) });
                out.push_str(quote);
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&if short_or_clipped(after) { after.to_owned() } else { clip(after, MAX_QUOTED) });
                return out;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A value as an error message quotes it: its text clipped to [`MAX_QUOTED`] bytes ([`clip`]); a JSON string keeps
/// its closing quote.
pub fn quote(value: impl std::fmt::Display) -> String {
    let text = value.to_string();
    match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) if text.len() > MAX_QUOTED => format!("\"{}\"", clip(inner, MAX_QUOTED)),
        _ => clip(&text, MAX_QUOTED),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_values_are_clipped_once_and_keep_their_length() {
        let huge = "x".repeat(1000);
        let q = quote(serde_json::Value::from(huge.as_str()));
        assert_eq!(q, format!("\"{}… (1000 bytes in all)\"", "x".repeat(MAX_QUOTED)));
        let e = PayloadError::new("cameras[0]", format!("got {q}"));
        assert_eq!(e.message, format!("got {q}"));
        let raw = PayloadError::new("f", format!("unknown field `{huge}`, expected `a`"));
        assert_eq!(raw.message, format!("unknown field `{}… (1000 bytes in all)`, expected `a`", "x".repeat(64)));
        assert_eq!(PayloadError::new("f", "short `ok` \"fine\"").message, "short `ok` \"fine\"");
        assert!(PayloadError::new("f", format!("open \"{huge}")).message.ends_with("(1000 bytes in all)"));
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
