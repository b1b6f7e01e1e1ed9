//! Streamed embeddings, as `reidpublish` sends them to `<prefix>/embeddings/<camera>`: one message per frame,
//! every detection's embedding with its box and track id; and the gallery's answer per frame, published to
//! `<prefix>/gallery/<name>/identified/<camera>`.
//!
//! Frame messages are refused like requests are: an unknown field (a typo, or a field this gallery does not
//! understand), a camera id that is not a usable key chunk, more than [`MAX_DETECTIONS`] detections, a model name
//! over [`crate::payload::MAX_STRING`] bytes, or a timestamp outside the window
//! `[now - MAX_STREAM_AGE_MS, now + MAX_STREAM_SKEW_MS]` (a sighting stamped `i64::MAX` would never expire; one
//! from 1970 would be expired at once). Errors quote values clipped ([`crate::error::quote`]).

use crate::error::{PayloadError, err};
use serde::{Deserialize, Serialize};

/// Longest camera id, in bytes.
pub const MAX_CAMERA: usize = 128;
/// Most detections in one frame message (each one is a search).
pub const MAX_DETECTIONS: usize = 1024;
/// Oldest accepted frame timestamp, relative to the receiver's clock: 7 days (a publisher that buffered while
/// the network was down still delivers).
pub const MAX_STREAM_AGE_MS: i64 = 7 * 24 * 3_600_000;
/// Newest accepted frame timestamp ahead of the receiver's clock: 10 minutes of clock skew.
pub const MAX_STREAM_SKEW_MS: i64 = 10 * 60_000;

/// One frame's embeddings from one camera (unknown fields are refused).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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

/// One detection of a frame (unknown fields are refused).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
    /// Checks the timestamp against the receiver's clock `now_ms`: within
    /// `[now_ms - MAX_STREAM_AGE_MS, now_ms + MAX_STREAM_SKEW_MS]`.
    pub fn check_timestamp(&self, now_ms: i64) -> Result<(), PayloadError> {
        let (oldest, newest) = (now_ms.saturating_sub(MAX_STREAM_AGE_MS), now_ms.saturating_add(MAX_STREAM_SKEW_MS));
        if !(oldest..=newest).contains(&self.timestamp_ms) {
            let ts = self.timestamp_ms;
            return err(
                "timestamp_ms",
                format!(
                    "{ts} is outside the accepted window {oldest}..={newest} (7 days before to 10 minutes after the \
                     gallery's clock, {now_ms} ms since the epoch)"
                ),
            );
        }
        Ok(())
    }

    /// Checks the frame against a `dim`-d gallery: camera id usable as a key chunk (1-[`MAX_CAMERA`] bytes
    /// without `/`, `*`, `$`, `?`, `#` or spaces), a model name of at most [`crate::payload::MAX_STRING`] bytes,
    /// at most [`MAX_DETECTIONS`] detections, every embedding of `dim` finite values, not all zero.
    pub fn validate(&self, dim: usize) -> Result<(), PayloadError> {
        if self.camera.is_empty()
            || self.camera.len() > MAX_CAMERA
            || self.camera.chars().any(|c| matches!(c, '/' | '*' | '$' | '?' | '#') || c.is_whitespace())
        {
            let len = self.camera.len();
            return err(
                "camera",
                format!("must be 1-{MAX_CAMERA} bytes without `/`, `*`, `$`, `?`, `#` or spaces (got {len} bytes)"),
            );
        }
        if let Some(model) = &self.model
            && model.len() > crate::payload::MAX_STRING
        {
            let max = crate::payload::MAX_STRING;
            return err("model", format!("{} bytes is longer than the {max} allowed", model.len()));
        }
        if self.detections.len() > MAX_DETECTIONS {
            let n = self.detections.len();
            return err("detections", format!("{n} detections is more than the {MAX_DETECTIONS} allowed per frame"));
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

/// What a gallery ingests: [`decode_frame`], then the timestamp window at the receiver's clock `now_ms`
/// ([`FrameEmbeddings::check_timestamp`]).
pub fn decode_frame_at(bytes: &[u8], dim: usize, now_ms: i64) -> Result<FrameEmbeddings, PayloadError> {
    let frame = decode_frame(bytes, dim)?;
    frame.check_timestamp(now_ms)?;
    Ok(frame)
}

/// Parses and checks a frame message against the gallery's dimension ([`FrameEmbeddings::validate`]; the
/// timestamp window is [`decode_frame_at`]'s). Errors name the field (`detections[3].embedding`; `body` when the
/// message is not JSON or not an object, or has a field the frame does not know).
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
