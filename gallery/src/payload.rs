//! Wire payloads: JSON a Python client can write by hand, and validating decoders whose errors name the field.
//!
//! **Embeddings** travel in one of two ways, per item or query:
//! - `"embedding": [0.12, -0.03, ...]`, a JSON array of numbers (exactly `dim` of them);
//! - `"embedding_b64": "..."`, standard base64 (RFC 4648, with padding) of the little-endian f32 bytes
//!   (`4 * dim` bytes; in Python `base64.b64encode(np.asarray(v, '<f4').tobytes())`).
//!
//! For a whole body of raw bytes (no JSON), see [`decode_enroll_raw`] and [`decode_query_raw`]: the body is
//! `n * dim` little-endian f32 values and the metadata or options travel beside it (a JSON attachment, selector
//! parameters). Vectors need not be normalised (the gallery L2-normalises them) but must be finite and non-zero.
//!
//! Enrol: `{"items": [{"embedding": [...], "identity": "alice", "camera": "c1", "timestamp_ms": 1700000000000,
//! "track_id": 7, "source": "door-2"}]}`, or one such item on its own; everything but the embedding is optional
//! (`timestamp_ms` defaults to the server's clock).
//!
//! Query: `{"embedding": [...], "k": 10, "rerank": false, "threshold": 0.6, "cameras": ["c1"], "from_ms": 0,
//! "to_ms": 1800000000000, "identified_only": false}`; several queries with `"embeddings": [[...], ...]` or
//! `"embeddings_b64"` (concatenated vectors). Options may also come as selector parameters
//! (`k=5;rerank=true;cameras=c1,c2`, `&` also separates), see [`decode_query_params`].
//!
//! Forget: `{"identity": "alice"}` or `{"from_ms": ..., "to_ms": ..., "camera": "c1"}` (at least one bound).
//!
//! Unknown fields are refused (a typo such as `treshold` must not silently fall back to a default).

use crate::index::Filter;
use crate::record::{Metadata, NewEmbedding, TimeRange};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use thiserror::Error;

/// Largest `k` a query may ask for.
pub const MAX_K: usize = 1000;
/// Most embeddings per enrol request.
pub const MAX_ENROLL_ITEMS: usize = 10_000;
/// Most query vectors per request.
pub const MAX_QUERIES: usize = 1024;
/// Longest identity, camera or source string, in bytes.
pub const MAX_STRING: usize = 256;
/// `k` when the request gives none.
pub const DEFAULT_K: usize = 10;

/// A request that cannot be decoded, naming the offending field (`body` for the payload as a whole).
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("{field}: {message}")]
pub struct PayloadError {
    /// The field, with its path (`items[3].embedding[7]`).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

fn err<T>(field: impl Into<String>, message: impl Into<String>) -> Result<T, PayloadError> {
    Err(PayloadError { field: field.into(), message: message.into() })
}

// ---------------------------------------------------------------------------------------------------------------
// Request types (what a client writes; servers decode through the `decode_*` functions).

/// One embedding to enrol, as sent.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EnrollItem {
    /// The vector as numbers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedding: Option<Vec<f32>>,
    /// The vector as base64 of little-endian f32 bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedding_b64: Option<String>,
    /// Identity label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// Camera.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub camera: Option<String>,
    /// Timestamp in ms since the epoch (server clock when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp_ms: Option<i64>,
    /// Tracker id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub track_id: Option<u64>,
    /// Origin.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// An enrol request.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EnrollRequest {
    /// The embeddings.
    pub items: Vec<EnrollItem>,
}

/// A query request, as sent.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct QueryRequest {
    /// One query vector.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedding: Option<Vec<f32>>,
    /// One query vector, base64 of little-endian f32.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedding_b64: Option<String>,
    /// Several query vectors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embeddings: Option<Vec<Vec<f32>>>,
    /// Several query vectors, concatenated, base64 of little-endian f32.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embeddings_b64: Option<String>,
    /// Matches per query (default 10, at most [`MAX_K`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub k: Option<usize>,
    /// k-reciprocal re-ranking.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rerank: Option<bool>,
    /// Open-set threshold on the cosine score (server default when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f32>,
    /// Only these cameras.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cameras: Option<Vec<String>>,
    /// Earliest timestamp (inclusive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_ms: Option<i64>,
    /// Latest timestamp (inclusive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_ms: Option<i64>,
    /// Only labelled gallery items.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identified_only: Option<bool>,
}

/// A forget request, as sent: an identity, or a time range (optionally of one camera).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForgetRequest {
    /// Forget this person.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// Earliest timestamp (inclusive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_ms: Option<i64>,
    /// Latest timestamp (inclusive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to_ms: Option<i64>,
    /// Only this camera's embeddings in the range.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub camera: Option<String>,
}

// ---------------------------------------------------------------------------------------------------------------
// Decoded forms.

/// Query options after validation.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryOptions {
    /// Matches per query (1..=[`MAX_K`]).
    pub k: usize,
    /// Re-rank the candidates.
    pub rerank: bool,
    /// Open-set threshold (None: the gallery's default).
    pub threshold: Option<f32>,
    /// Which gallery items may match.
    pub filter: Filter,
}

impl Default for QueryOptions {
    fn default() -> Self {
        QueryOptions { k: DEFAULT_K, rerank: false, threshold: None, filter: Filter::all() }
    }
}

/// A validated query: `vectors` holds `n * dim` finite values (not yet normalised).
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    /// Query vectors, row-major.
    pub vectors: Vec<f32>,
    /// Options.
    pub options: QueryOptions,
}

/// A validated forget request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Forget {
    /// Every embedding of this identity.
    Identity(String),
    /// Every embedding in the range, optionally only one camera's.
    TimeRange {
        /// The interval (inclusive; at least one bound set).
        range: TimeRange,
        /// Only this camera.
        camera: Option<String>,
    },
}

// ---------------------------------------------------------------------------------------------------------------
// Replies.

/// Reply to an enrolment: the ids assigned, in request order (sent once the store commit is durable).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollReply {
    /// Assigned ids.
    pub ids: Vec<u64>,
}

/// One gallery match.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Match {
    /// Gallery id (unique within one gallery server).
    pub id: u64,
    /// Identity label.
    pub identity: Option<String>,
    /// Cosine similarity to the query.
    pub score: f32,
    /// Camera.
    pub camera: Option<String>,
    /// Timestamp (ms).
    pub timestamp_ms: i64,
    /// Tracker id.
    pub track_id: Option<u64>,
    /// Re-ranked distance (smaller is closer), when re-ranking ran; the list is then ordered by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rerank_distance: Option<f32>,
}

/// The answer to one query vector.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueryResult {
    /// Matches, best first.
    pub matches: Vec<Match>,
    /// Identity of the best labelled match (see [`crate::openset`]).
    pub best_identity: Option<String>,
    /// Its cosine score.
    pub best_score: Option<f32>,
    /// True when no labelled match reaches the threshold.
    pub unknown: bool,
    /// Matches carrying the best identity.
    pub votes: usize,
    /// The threshold applied.
    pub threshold: f32,
}

/// Reply to a query: one result per query vector, in request order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueryReply {
    /// Results.
    pub results: Vec<QueryResult>,
}

/// Reply to a forget request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForgetReply {
    /// Embeddings removed from the store and the index.
    pub removed: u64,
}

/// An error reply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorReply {
    /// Human-readable message (includes the field).
    pub error: String,
    /// The offending request field, when one is to blame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl From<&PayloadError> for ErrorReply {
    fn from(e: &PayloadError) -> Self {
        ErrorReply { error: e.to_string(), field: Some(e.field.clone()) }
    }
}

/// JSON bytes of a reply.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("reply types serialise")
}

// ---------------------------------------------------------------------------------------------------------------
// Decoders.

const ITEM_FIELDS: &[&str] =
    &["embedding", "embedding_b64", "identity", "camera", "timestamp_ms", "track_id", "source"];
const QUERY_FIELDS: &[&str] = &[
    "embedding",
    "embedding_b64",
    "embeddings",
    "embeddings_b64",
    "k",
    "rerank",
    "threshold",
    "cameras",
    "from_ms",
    "to_ms",
    "identified_only",
];
const FORGET_FIELDS: &[&str] = &["identity", "from_ms", "to_ms", "camera"];
const META_FIELDS: &[&str] = &["identity", "camera", "timestamp_ms", "track_id", "source"];

/// Decodes an enrol request (`{"items": [...]}` or a single item) for a `dim`-d gallery; `now_ms` stamps items
/// without a timestamp.
pub fn decode_enroll(bytes: &[u8], dim: usize, now_ms: i64) -> Result<Vec<NewEmbedding>, PayloadError> {
    let root = parse_object(bytes)?;
    let single;
    let items: Vec<(String, &Map<String, Value>)> = match root.get("items") {
        Some(items) => {
            check_fields(&root, "", &["items"])?;
            let Value::Array(list) = items else {
                return err("items", format!("expected an array, got {}", kind(items)));
            };
            if list.is_empty() {
                return err("items", "empty: nothing to enrol");
            }
            if list.len() > MAX_ENROLL_ITEMS {
                return err(
                    "items",
                    format!("{} items is more than the {MAX_ENROLL_ITEMS} allowed per request", list.len()),
                );
            }
            let mut out = Vec::with_capacity(list.len());
            for (i, v) in list.iter().enumerate() {
                let path = format!("items[{i}]");
                let Value::Object(o) = v else { return err(path, format!("expected an object, got {}", kind(v))) };
                out.push((path + ".", o));
            }
            out
        }
        None => {
            single = root;
            vec![(String::new(), &single)]
        }
    };
    items
        .into_iter()
        .map(|(prefix, o)| {
            check_fields(o, &prefix, ITEM_FIELDS)?;
            let vector = embedding_of(o, &prefix, "embedding", "embedding_b64", dim)?
                .ok_or_else(|| PayloadError { field: format!("{prefix}embedding"), message: "missing".into() })?;
            Ok(NewEmbedding { vector, meta: metadata_of(o, &prefix, now_ms)? })
        })
        .collect()
}

/// Decodes an enrolment whose body is raw little-endian f32 bytes (`n * dim` values) and whose metadata, applied
/// to every vector, comes as an optional JSON object `attachment` (`identity`, `camera`, `timestamp_ms`,
/// `track_id`, `source`).
pub fn decode_enroll_raw(
    body: &[u8],
    attachment: Option<&[u8]>,
    dim: usize,
    now_ms: i64,
) -> Result<Vec<NewEmbedding>, PayloadError> {
    let vectors = f32_bytes("body", body, dim, MAX_ENROLL_ITEMS)?;
    let meta = match attachment {
        Some(a) if !a.iter().all(u8::is_ascii_whitespace) => {
            let o = parse_object_named(a, "attachment")?;
            check_fields(&o, "attachment.", META_FIELDS)?;
            metadata_of(&o, "attachment.", now_ms)?
        }
        _ => Metadata { timestamp_ms: now_ms, ..Metadata::default() },
    };
    Ok(vectors.chunks_exact(dim).map(|v| NewEmbedding { vector: v.to_vec(), meta: meta.clone() }).collect())
}

/// Decodes a JSON query for a `dim`-d gallery. `params` are selector parameters (`k=5;rerank=true`, may be
/// empty) that supply options the body leaves out; an option given in both is an error.
pub fn decode_query(bytes: &[u8], params: &str, dim: usize) -> Result<Query, PayloadError> {
    let mut o = parse_object(bytes)?;
    check_fields(&o, "", QUERY_FIELDS)?;
    for (key, value) in decode_query_params(params)? {
        if o.get(&key).is_some_and(|v| !v.is_null()) {
            return err(key, "given both in the selector parameters and in the body");
        }
        o.insert(key, value);
    }
    let single = embedding_of(&o, "", "embedding", "embedding_b64", dim)?;
    let several = embeddings_of(&o, dim)?;
    let vectors = match (single, several) {
        (Some(_), Some(_)) => return err("embeddings", "give either embedding(_b64) or embeddings(_b64), not both"),
        (None, None) => return err("embedding", "missing (or embeddings, embedding_b64, embeddings_b64)"),
        (Some(v), None) | (None, Some(v)) => v,
    };
    Ok(Query { vectors, options: options_of(&o)? })
}

/// Decodes a query whose body is raw little-endian f32 bytes (`n * dim` values) and whose options come only from
/// selector `params`.
pub fn decode_query_raw(body: &[u8], params: &str, dim: usize) -> Result<Query, PayloadError> {
    let vectors = f32_bytes("body", body, dim, MAX_QUERIES)?;
    let o: Map<String, Value> = decode_query_params(params)?.into_iter().collect();
    Ok(Query { vectors, options: options_of(&o)? })
}

/// Parses selector parameters (`key=value` pairs separated by `;` or `&`) into typed JSON values: `k` (whole
/// number), `rerank` and `identified_only` (true/false, 1/0, or a bare key for true), `threshold` (number),
/// `cameras` (comma-separated), `from_ms`/`to_ms` (integers). Keys starting with `_` are reserved for the
/// transport and ignored; any other key is an error.
pub fn decode_query_params(params: &str) -> Result<Vec<(String, Value)>, PayloadError> {
    let mut out: Vec<(String, Value)> = Vec::new();
    for pair in params.split([';', '&']).filter(|p| !p.trim().is_empty()) {
        let (key, value) = match pair.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v.trim())),
            None => (pair.trim(), None),
        };
        if key.starts_with('_') {
            continue;
        }
        if out.iter().any(|(k, _)| k == key) {
            return err(key, "given twice in the selector parameters");
        }
        let parsed = match key {
            "k" | "from_ms" | "to_ms" => {
                let v = value.unwrap_or("");
                match v.parse::<i64>() {
                    Ok(n) => Value::from(n),
                    Err(_) => match v.parse::<u64>() {
                        Ok(n) => Value::from(n),
                        Err(_) => return err(key, format!("{v:?} is not a whole number")),
                    },
                }
            }
            "rerank" | "identified_only" => match value.map(str::to_ascii_lowercase).as_deref() {
                None | Some("") | Some("true") | Some("1") | Some("yes") => Value::Bool(true),
                Some("false") | Some("0") | Some("no") => Value::Bool(false),
                Some(v) => return err(key, format!("{v:?} is not true or false")),
            },
            "threshold" => {
                let v = value.unwrap_or("");
                match v.parse::<f64>() {
                    Ok(x) if x.is_finite() => serde_json::Number::from_f64(x).map(Value::Number).unwrap_or(Value::Null),
                    _ => return err(key, format!("{v:?} is not a finite number")),
                }
            }
            "cameras" => Value::Array(
                value
                    .unwrap_or("")
                    .split(',')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(|c| Value::String(c.to_string()))
                    .collect(),
            ),
            other => {
                let expected = "k, rerank, threshold, cameras, from_ms, to_ms, identified_only";
                return err(other, format!("unknown selector parameter (expected {expected})"));
            }
        };
        out.push((key.to_string(), parsed));
    }
    Ok(out)
}

/// Decodes a forget request.
pub fn decode_forget(bytes: &[u8]) -> Result<Forget, PayloadError> {
    let o = parse_object(bytes)?;
    check_fields(&o, "", FORGET_FIELDS)?;
    let identity = opt_string(&o, "", "identity")?;
    let camera = opt_string(&o, "", "camera")?;
    let range = time_range_of(&o, "")?;
    match identity {
        Some(who) => {
            if !range.is_all() || camera.is_some() {
                return err("identity", "give either an identity or a time range (from_ms/to_ms, camera), not both");
            }
            Ok(Forget::Identity(who))
        }
        None if range.is_all() => {
            err("identity", "missing: give an identity, or a time range with from_ms and/or to_ms")
        }
        None => Ok(Forget::TimeRange { range, camera }),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, PayloadError> {
    parse_object_named(bytes, "body")
}

fn parse_object_named(bytes: &[u8], what: &str) -> Result<Map<String, Value>, PayloadError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return err(what, "empty; expected a JSON object");
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(other) => err(what, format!("expected a JSON object, got {}", kind(&other))),
        Err(e) => err(what, format!("malformed JSON: {e}")),
    }
}

fn check_fields(o: &Map<String, Value>, prefix: &str, allowed: &[&str]) -> Result<(), PayloadError> {
    for key in o.keys() {
        if !allowed.contains(&key.as_str()) {
            return err(format!("{prefix}{key}"), format!("unknown field (expected one of {})", allowed.join(", ")));
        }
    }
    Ok(())
}

/// A present, non-null field.
fn get<'a>(o: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    o.get(name).filter(|v| !v.is_null())
}

fn opt_string(o: &Map<String, Value>, prefix: &str, name: &str) -> Result<Option<String>, PayloadError> {
    let Some(v) = get(o, name) else { return Ok(None) };
    let field = format!("{prefix}{name}");
    let Value::String(s) = v else { return err(field, format!("expected a string, got {}", kind(v))) };
    if s.trim().is_empty() {
        return err(field, "must not be empty (omit the field instead)");
    }
    if s.len() > MAX_STRING {
        return err(field, format!("{} bytes is longer than the {MAX_STRING} allowed", s.len()));
    }
    if s.chars().any(char::is_control) {
        return err(field, "must not contain control characters");
    }
    Ok(Some(s.clone()))
}

fn opt_i64(o: &Map<String, Value>, prefix: &str, name: &str) -> Result<Option<i64>, PayloadError> {
    let Some(v) = get(o, name) else { return Ok(None) };
    match v.as_i64() {
        Some(n) => Ok(Some(n)),
        None => err(format!("{prefix}{name}"), format!("expected a whole number of milliseconds, got {v}")),
    }
}

fn opt_u64(o: &Map<String, Value>, prefix: &str, name: &str) -> Result<Option<u64>, PayloadError> {
    let Some(v) = get(o, name) else { return Ok(None) };
    match v.as_u64() {
        Some(n) => Ok(Some(n)),
        None => err(format!("{prefix}{name}"), format!("expected a non-negative whole number, got {v}")),
    }
}

fn opt_bool(o: &Map<String, Value>, name: &str) -> Result<Option<bool>, PayloadError> {
    let Some(v) = get(o, name) else { return Ok(None) };
    match v {
        Value::Bool(b) => Ok(Some(*b)),
        _ => err(name, format!("expected true or false, got {}", kind(v))),
    }
}

fn metadata_of(o: &Map<String, Value>, prefix: &str, now_ms: i64) -> Result<Metadata, PayloadError> {
    Ok(Metadata {
        identity: opt_string(o, prefix, "identity")?,
        camera: opt_string(o, prefix, "camera")?,
        timestamp_ms: opt_i64(o, prefix, "timestamp_ms")?.unwrap_or(now_ms),
        track_id: opt_u64(o, prefix, "track_id")?,
        source: opt_string(o, prefix, "source")?,
    })
}

fn time_range_of(o: &Map<String, Value>, prefix: &str) -> Result<TimeRange, PayloadError> {
    let range = TimeRange { from_ms: opt_i64(o, prefix, "from_ms")?, to_ms: opt_i64(o, prefix, "to_ms")? };
    if let (Some(f), Some(t)) = (range.from_ms, range.to_ms)
        && t < f
    {
        return err(format!("{prefix}to_ms"), format!("{t} is before from_ms {f}"));
    }
    Ok(range)
}

fn options_of(o: &Map<String, Value>) -> Result<QueryOptions, PayloadError> {
    let k = match get(o, "k") {
        None => DEFAULT_K,
        Some(v) => match v.as_u64() {
            Some(0) => return err("k", "must be at least 1"),
            Some(k) if k > MAX_K as u64 => return err("k", format!("{k} is more than the maximum {MAX_K}")),
            Some(k) => k as usize,
            None => return err("k", format!("expected a whole number from 1 to {MAX_K}, got {v}")),
        },
    };
    let threshold = match get(o, "threshold") {
        None => None,
        Some(v) => match v.as_f64() {
            Some(t) if (-1.0..=1.0).contains(&t) => Some(t as f32),
            _ => return err("threshold", format!("expected a number from -1 to 1 (a cosine score), got {v}")),
        },
    };
    let cameras = match get(o, "cameras") {
        None => None,
        Some(Value::Array(list)) => {
            let mut names = Vec::with_capacity(list.len());
            for (i, c) in list.iter().enumerate() {
                match c {
                    Value::String(s) if !s.is_empty() && s.len() <= MAX_STRING => names.push(s.clone()),
                    _ => return err(format!("cameras[{i}]"), format!("expected a non-empty camera name, got {c}")),
                }
            }
            // An empty list means no camera restriction.
            (!names.is_empty()).then_some(names)
        }
        Some(v) => return err("cameras", format!("expected an array of camera names, got {}", kind(v))),
    };
    Ok(QueryOptions {
        k,
        rerank: opt_bool(o, "rerank")?.unwrap_or(false),
        threshold,
        filter: Filter {
            cameras,
            time: time_range_of(o, "")?,
            identified_only: opt_bool(o, "identified_only")?.unwrap_or(false),
        },
    })
}

/// The vector of `name` (array) or `b64name` (base64), if either is present.
fn embedding_of(
    o: &Map<String, Value>,
    prefix: &str,
    name: &str,
    b64name: &str,
    dim: usize,
) -> Result<Option<Vec<f32>>, PayloadError> {
    match (get(o, name), get(o, b64name)) {
        (Some(_), Some(_)) => err(format!("{prefix}{name}"), format!("give either {name} or {b64name}, not both")),
        (Some(v), None) => {
            let field = format!("{prefix}{name}");
            let v = numbers(&field, v, dim)?;
            check_vector(&field, &v)?;
            Ok(Some(v))
        }
        (None, Some(v)) => {
            let field = format!("{prefix}{b64name}");
            let bytes = base64_of(&field, v)?;
            Ok(Some(f32_bytes(&field, &bytes, dim, 1)?))
        }
        (None, None) => Ok(None),
    }
}

fn embeddings_of(o: &Map<String, Value>, dim: usize) -> Result<Option<Vec<f32>>, PayloadError> {
    match (get(o, "embeddings"), get(o, "embeddings_b64")) {
        (Some(_), Some(_)) => err("embeddings", "give either embeddings or embeddings_b64, not both"),
        (Some(Value::Array(list)), None) => {
            if list.is_empty() {
                return err("embeddings", "empty: no query vector");
            }
            if list.len() > MAX_QUERIES {
                return err("embeddings", format!("{} vectors is more than the {MAX_QUERIES} allowed", list.len()));
            }
            let mut out = Vec::with_capacity(list.len() * dim);
            for (i, v) in list.iter().enumerate() {
                let field = format!("embeddings[{i}]");
                let v = numbers(&field, v, dim)?;
                check_vector(&field, &v)?;
                out.extend(v);
            }
            Ok(Some(out))
        }
        (Some(v), None) => err("embeddings", format!("expected an array of arrays of numbers, got {}", kind(v))),
        (None, Some(v)) => {
            let bytes = base64_of("embeddings_b64", v)?;
            Ok(Some(f32_bytes("embeddings_b64", &bytes, dim, MAX_QUERIES)?))
        }
        (None, None) => Ok(None),
    }
}

fn numbers(field: &str, v: &Value, dim: usize) -> Result<Vec<f32>, PayloadError> {
    let Value::Array(list) = v else { return err(field, format!("expected an array of numbers, got {}", kind(v))) };
    if list.len() != dim {
        return err(field, format!("has {} values, the gallery holds {dim}-d embeddings", list.len()));
    }
    list.iter()
        .enumerate()
        .map(|(i, x)| match x.as_f64() {
            Some(f) if (f as f32).is_finite() => Ok(f as f32),
            Some(f) => err(format!("{field}[{i}]"), format!("{f} is not a finite f32")),
            None => err(format!("{field}[{i}]"), format!("expected a number, got {}", kind(x))),
        })
        .collect()
}

fn base64_of(field: &str, v: &Value) -> Result<Vec<u8>, PayloadError> {
    let Value::String(s) = v else { return err(field, format!("expected a base64 string, got {}", kind(v))) };
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .or_else(|e| err(field, format!("invalid base64 (standard alphabet, padded): {e}")))
}

/// Little-endian f32 vectors of `dim` values each, at most `max` of them, all finite and non-zero.
fn f32_bytes(field: &str, bytes: &[u8], dim: usize, max: usize) -> Result<Vec<f32>, PayloadError> {
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

fn check_vector(field: &str, v: &[f32]) -> Result<(), PayloadError> {
    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
        return err(field, format!("value {i} is {}, not a finite number", v[i]));
    }
    if v.iter().all(|&x| x == 0.0) {
        return err(field, "all zeros: a zero vector has no direction to compare");
    }
    Ok(())
}
