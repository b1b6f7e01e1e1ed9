//! Embedding checks shared by the decoders: dimension, finite values, not all zero, base64 and raw f32 bytes.

use crate::error::{PayloadError, err};
use base64::Engine;

/// A vector given as numbers: `dim` values, finite, not all zero.
pub(crate) fn numbers(field: &str, v: Vec<f32>, dim: usize) -> Result<Vec<f32>, PayloadError> {
    if v.len() != dim {
        return err(field, format!("has {} values, the gallery holds {dim}-d embeddings", v.len()));
    }
    check_vector(field, &v)?;
    Ok(v)
}

/// Standard base64 (padded; surrounding spaces ignored) to bytes.
pub(crate) fn base64_bytes(field: &str, s: &str) -> Result<Vec<u8>, PayloadError> {
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .or_else(|e| err(field, format!("invalid base64 (standard alphabet, padded): {e}")))
}

/// Little-endian f32 vectors of `dim` values each, at most `max` of them, all finite and non-zero.
pub(crate) fn f32_bytes(field: &str, bytes: &[u8], dim: usize, max: usize) -> Result<Vec<f32>, PayloadError> {
    let row = dim * 4;
    if bytes.is_empty() {
        return err(field, "empty: no embedding");
    }
    if row == 0 || !bytes.len().is_multiple_of(row) {
        return err(
            field,
            format!("{} bytes is not a whole number of {dim}-d f32 embeddings ({row} bytes each)", bytes.len()),
        );
    }
    let n = bytes.len() / row;
    if n > max {
        return err(field, format!("{n} embeddings is more than the {max} allowed"));
    }
    let v: Vec<f32> = bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    for (i, chunk) in v.chunks_exact(dim).enumerate() {
        let f = if n == 1 { field.to_string() } else { format!("{field} (embedding {i})") };
        check_vector(&f, chunk)?;
    }
    Ok(v)
}

/// Finite values, not all zero.
pub(crate) fn check_vector(field: &str, v: &[f32]) -> Result<(), PayloadError> {
    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
        return err(field, format!("value {i} is {}, not a finite number", v[i]));
    }
    if v.iter().all(|&x| x == 0.0) {
        return err(field, "all zeros: a zero vector has no direction to compare");
    }
    Ok(())
}
