//! Reply types: what the gallery answers (JSON), success or [`ErrorReply`].

use crate::error::PayloadError;
use serde::{Deserialize, Serialize};

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
    /// Identity of the best labelled match (the gallery's open-set decision).
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
