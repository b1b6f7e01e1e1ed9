//! The data the gallery keeps for every embedding, shared by its store, its index and the wire payloads.

use serde::{Deserialize, Serialize};

/// What is known about one enrolled embedding besides the vector itself.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// The person's identity label, when known.
    pub identity: Option<String>,
    /// The camera that saw the crop.
    pub camera: Option<String>,
    /// When the crop was seen, milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    /// The tracker's id for the person on that camera.
    pub track_id: Option<u64>,
    /// Free-form origin (file, stream, pipeline name).
    pub source: Option<String>,
}

/// An embedding to enrol: the vector and its metadata. The gallery assigns the id.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEmbedding {
    /// The embedding (L2-normalised by the gallery on enrolment).
    pub vector: Vec<f32>,
    /// Its metadata.
    pub meta: Metadata,
}

/// One stored embedding.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// The id the store assigned (monotonic, never reused).
    pub id: u64,
    /// Its metadata.
    pub meta: Metadata,
    /// The stored (L2-normalised) vector.
    pub vector: Vec<f32>,
}

/// A closed time interval `[from_ms, to_ms]` in milliseconds since the epoch; a missing bound is open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeRange {
    /// Earliest timestamp included.
    pub from_ms: Option<i64>,
    /// Latest timestamp included.
    pub to_ms: Option<i64>,
}

impl TimeRange {
    /// Every timestamp.
    pub const ALL: TimeRange = TimeRange { from_ms: None, to_ms: None };

    /// Whether `ts` lies in the interval.
    #[inline]
    pub fn contains(&self, ts: i64) -> bool {
        self.from_ms.is_none_or(|f| ts >= f) && self.to_ms.is_none_or(|t| ts <= t)
    }

    /// Whether neither bound is set.
    pub fn is_all(&self) -> bool {
        self.from_ms.is_none() && self.to_ms.is_none()
    }

    /// Inclusive bounds with open ends replaced by the extreme values.
    pub fn bounds(&self) -> (i64, i64) {
        (self.from_ms.unwrap_or(i64::MIN), self.to_ms.unwrap_or(i64::MAX))
    }
}

/// Milliseconds since the Unix epoch, now (0 if the clock is before 1970).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
