//! The decoders a server calls: request bytes (and selector parameters) to validated requests. Each parses the
//! JSON, deserializes the typed request ([`super::request`]) and validates it ([`super::validate`]).

use super::de::kind;
use super::params::decode_query_params;
use super::request::{EnrollAttachment, EnrollItem, EnrollRequest, ForgetRequest, QueryRequest};
use super::validate::{Forget, Query};
use super::vector::f32_bytes;
use super::{MAX_ENROLL_ITEMS, MAX_QUERIES};
use crate::error::{PayloadError, err};
use crate::record::{Metadata, NewEmbedding};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// A JSON object (`what` names the whole: `body`, `attachment`).
fn parse_object(bytes: &[u8], what: &str) -> Result<Map<String, Value>, PayloadError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return err(what, "empty; expected a JSON object");
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(other) => err(what, format!("expected a JSON object, got {}", kind(&other))),
        Err(e) => err(what, format!("malformed JSON: {e}")),
    }
}

/// `T` from a JSON object; an error names its field by path under `prefix` (`what` for the object itself).
fn typed<T: DeserializeOwned>(o: Map<String, Value>, what: &str, prefix: &str) -> Result<T, PayloadError> {
    serde_path_to_error::deserialize(Value::Object(o)).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { what.to_owned() } else { format!("{prefix}{path}") };
        PayloadError::new(field, e.into_inner().to_string())
    })
}

/// Decodes an enrol request (`{"items": [...]}` or a single item) for a `dim`-d gallery; `now_ms` stamps items
/// without a timestamp.
pub fn decode_enroll(bytes: &[u8], dim: usize, now_ms: i64) -> Result<Vec<NewEmbedding>, PayloadError> {
    let root = parse_object(bytes, "body")?;
    if root.contains_key("items") {
        typed::<EnrollRequest>(root, "body", "")?.validate(dim, now_ms)
    } else {
        Ok(vec![typed::<EnrollItem>(root, "body", "")?.validate(dim, now_ms)?])
    }
}

/// Decodes an enrolment whose body is raw little-endian f32 bytes (`n * dim` values) and whose metadata, applied
/// to every vector, comes as an optional JSON object `attachment` ([`EnrollAttachment`]: `identity`, `camera`,
/// `timestamp_ms`, `track_id`, `source`).
pub fn decode_enroll_raw(
    body: &[u8],
    attachment: Option<&[u8]>,
    dim: usize,
    now_ms: i64,
) -> Result<Vec<NewEmbedding>, PayloadError> {
    let vectors = f32_bytes("body", body, dim, MAX_ENROLL_ITEMS)?;
    let meta = match attachment {
        Some(a) if !a.iter().all(u8::is_ascii_whitespace) => {
            typed::<EnrollAttachment>(parse_object(a, "attachment")?, "attachment", "attachment.")?.validate(now_ms)?
        }
        _ => Metadata { timestamp_ms: now_ms, ..Metadata::default() },
    };
    Ok(vectors.chunks_exact(dim).map(|v| NewEmbedding { vector: v.to_vec(), meta: meta.clone() }).collect())
}

/// Decodes a JSON query for a `dim`-d gallery. `params` are selector parameters (`k=5;rerank=true`, may be
/// empty) that supply options the body leaves out; an option given in both is an error.
pub fn decode_query(bytes: &[u8], params: &str, dim: usize) -> Result<Query, PayloadError> {
    let mut o = parse_object(bytes, "body")?;
    for (key, value) in decode_query_params(params)? {
        if o.get(&key).is_some_and(|v| !v.is_null()) {
            return err(key, "given both in the selector parameters and in the body");
        }
        o.insert(key, value);
    }
    typed::<QueryRequest>(o, "body", "")?.validate(dim)
}

/// Decodes a query whose body is raw little-endian f32 bytes (`n * dim` values) and whose options come only from
/// selector `params`.
pub fn decode_query_raw(body: &[u8], params: &str, dim: usize) -> Result<Query, PayloadError> {
    let vectors = f32_bytes("body", body, dim, MAX_QUERIES)?;
    let o: Map<String, Value> = decode_query_params(params)?.into_iter().collect();
    let request: QueryRequest = typed(o, "body", "")?;
    Ok(Query { vectors, options: request.options()? })
}

/// Decodes a forget request.
pub fn decode_forget(bytes: &[u8]) -> Result<Forget, PayloadError> {
    typed::<ForgetRequest>(parse_object(bytes, "body")?, "body", "")?.validate()
}
