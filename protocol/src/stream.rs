//! Streamed embeddings, as `reidpublish` sends them to `<prefix>/embeddings/<camera>`: one message per frame,
//! every detection's embedding with its box and track id; and the gallery's answer per frame, published to
//! `<prefix>/gallery/<name>/identified/<camera>`.
//!
//! Frame messages accept fields they do not know (a newer publisher may add some); requests do not.

use crate::error::{PayloadError, err};
use serde::{Deserialize, Serialize};

/// Longest camera id, in bytes.
pub const MAX_CAMERA: usize = 128;

/// One frame's embeddings from one camera.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrameEmbeddings {
    /// Camera id (also the last key chunk).
    pub camera: String,
    /// Capture time, ms since the Unix epoch.
    pub timestamp_ms: i64,
    /// Frame number in the stream, when known.
    #[serde(default)]
    pub frame: Option<u64>,
    /// The model that produced the embeddings.
    #[serde(default)]
    pub model: Option<String>,
    /// The detections.
    pub detections: Vec<Detection>,
}

/// One detection of a frame.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// Tracker id, when the detector tracks.
    #[serde(default)]
    pub track_id: Option<u64>,
    /// Box `[x, y, width, height]` in pixels.
    #[serde(default)]
    pub bbox: Option<[f32; 4]>,
    /// The embedding.
    pub embedding: Vec<f32>,
}

/// The server's answer for one frame (published to `<prefix>/gallery/<name>/identified/<camera>`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IdentifiedFrame {
    /// Camera id.
    pub camera: String,
    /// Capture time of the frame.
    pub timestamp_ms: i64,
    /// Frame number, when sent.
    #[serde(default)]
    pub frame: Option<u64>,
    /// One answer per detection, in order.
    pub detections: Vec<Identified>,
}

/// The answer for one detection.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Identified {
    /// Tracker id.
    pub track_id: Option<u64>,
    /// Box.
    pub bbox: Option<[f32; 4]>,
    /// Best identity, when one reaches the threshold.
    pub identity: Option<String>,
    /// Its score (cosine).
    pub score: Option<f32>,
    /// True when no labelled match reaches the threshold.
    pub unknown: bool,
}

impl FrameEmbeddings {
    /// Checks the frame against a `dim`-d gallery: camera id usable as a key chunk (1-[`MAX_CAMERA`] bytes
    /// without `/`, `*`, `$`, `?`, `#` or spaces), every embedding of `dim` finite values, not all zero.
    pub fn validate(&self, dim: usize) -> Result<(), PayloadError> {
        if self.camera.is_empty()
            || self.camera.len() > MAX_CAMERA
            || self.camera.chars().any(|c| matches!(c, '/' | '*' | '$' | '?' | '#') || c.is_whitespace())
        {
            return err("camera", "must be 1-128 characters without `/`, `*`, `$`, `?`, `#` or spaces");
        }
        for (i, d) in self.detections.iter().enumerate() {
            let field = format!("detections[{i}].embedding");
            if d.embedding.len() != dim {
                return err(field, format!("has {} values; the gallery holds {dim}", d.embedding.len()));
            }
            if d.embedding.iter().any(|v| !v.is_finite()) {
                return err(field, "contains NaN or infinite values");
            }
            if d.embedding.iter().all(|v| *v == 0.0) {
                return err(field, "is all zeros");
            }
        }
        Ok(())
    }
}

/// Parses and checks a frame message against the gallery's dimension ([`FrameEmbeddings::validate`]). Errors
/// name the field (`detections[3].embedding`; `body` when the message is not JSON or not an object).
pub fn decode_frame(bytes: &[u8], dim: usize) -> Result<FrameEmbeddings, PayloadError> {
    let not_a_frame =
        |field: String, e: &dyn std::fmt::Display| PayloadError::new(field, format!("not a frame message: {e}"));
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let frame: FrameEmbeddings = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let data = e.inner().classify() == serde_json::error::Category::Data;
        not_a_frame(if data && path != "." { path } else { "body".to_owned() }, e.inner())
    })?;
    de.end().map_err(|e| not_a_frame("body".to_owned(), &e))?;
    frame.validate(dim)?;
    Ok(frame)
}
