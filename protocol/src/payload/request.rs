//! Request types: what a client writes (and what servers deserialize before [`validate`](EnrollRequest::validate)).
//! Every struct refuses unknown fields (a typo such as `treshold` must not silently fall back to a default); a
//! `null` field counts as absent.

use super::de;
use serde::{Deserialize, Serialize};

/// One embedding to enrol, as sent (also a whole enrol request on its own).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollItem {
    /// The vector as numbers.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "de::opt_vector")]
    pub embedding: Option<Vec<f32>>,
    /// The vector as base64 of little-endian f32 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "de::opt_base64")]
    pub embedding_b64: Option<String>,
    /// Identity label.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "de::opt_string")]
    pub identity: Option<String>,
    /// Camera.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "de::opt_string")]
    pub camera: Option<String>,
    /// Timestamp in ms since the epoch (server clock when absent).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "de::opt_ms")]
    pub timestamp_ms: Option<i64>,
    /// Tracker id.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "de::opt_u64")]
    pub track_id: Option<u64>,
    /// Origin.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "de::opt_string")]
    pub source: Option<String>,
}

/// An enrol request.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    /// The embeddings.
    #[serde(deserialize_with = "de::items")]
    pub items: Vec<EnrollItem>,
}

/// The metadata of a raw-f32 enrolment, sent as a JSON attachment beside the vectors and applied to each.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollAttachment {
    /// Identity label.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "de::opt_string")]
    pub identity: Option<String>,
    /// Camera.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "de::opt_string")]
    pub camera: Option<String>,
    /// Timestamp in ms since the epoch (server clock when absent).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "de::opt_ms")]
    pub timestamp_ms: Option<i64>,
    /// Tracker id.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "de::opt_u64")]
    pub track_id: Option<u64>,
    /// Origin.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "de::opt_string")]
    pub source: Option<String>,
}

/// A query request, as sent.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryRequest {
    /// One query vector.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "de::opt_vector")]
    pub embedding: Option<Vec<f32>>,
    /// One query vector, base64 of little-endian f32.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "de::opt_base64")]
    pub embedding_b64: Option<String>,
    /// Several query vectors.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "de::opt_vectors")]
    pub embeddings: Option<Vec<Vec<f32>>>,
    /// Several query vectors, concatenated, base64 of little-endian f32.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "de::opt_base64")]
    pub embeddings_b64: Option<String>,
    /// Matches per query (default 10, at most [`super::MAX_K`]).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "de::opt_k")]
    pub k: Option<usize>,
    /// k-reciprocal re-ranking.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "de::opt_bool")]
    pub rerank: Option<bool>,
    /// Open-set threshold on the cosine score (server default when absent).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "de::opt_threshold")]
    pub threshold: Option<f32>,
    /// Only these cameras.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "de::opt_cameras")]
    pub cameras: Option<Vec<String>>,
    /// Earliest timestamp (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "de::opt_ms")]
    pub from_ms: Option<i64>,
    /// Latest timestamp (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "de::opt_ms")]
    pub to_ms: Option<i64>,
    /// Only labelled gallery items.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "de::opt_bool")]
    pub identified_only: Option<bool>,
}

/// A forget request, as sent: an identity, a time range (optionally of one camera), or `all: true` (optionally
/// of one camera).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForgetRequest {
    /// Forget this person.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "de::opt_string")]
    pub identity: Option<String>,
    /// Earliest timestamp (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "de::opt_ms")]
    pub from_ms: Option<i64>,
    /// Latest timestamp (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "de::opt_ms")]
    pub to_ms: Option<i64>,
    /// Only this camera's embeddings in the range.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "de::opt_string")]
    pub camera: Option<String>,
    /// Forget every time (required for a range that covers all time; see [`super::validate::Forget::All`]).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "de::opt_bool")]
    pub all: Option<bool>,
}
