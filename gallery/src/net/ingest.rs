//! Streamed embeddings, as `reidpublish` sends them to `<prefix>/embeddings/<camera>`: one message per frame,
//! every detection's embedding with its box and track id. The server identifies each against the labelled
//! gallery (best identity or `unknown`), publishes the answers, and keeps the sightings (unlabelled, subject to
//! the retention TTL and to `forget`) unless told not to.

use crate::gallery::Gallery;
use crate::index::Filter;
use crate::payload::{PayloadError, QueryOptions};
use crate::record::{Metadata, NewEmbedding};
use serde::{Deserialize, Serialize};

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

/// Parses and checks a frame message against the gallery's dimension: camera non-empty, every embedding of
/// `dim` finite values. Errors name the field (`detections[3].embedding`).
pub fn decode_frame(bytes: &[u8], dim: usize) -> Result<FrameEmbeddings, PayloadError> {
    let frame: FrameEmbeddings = serde_json::from_slice(bytes)
        .map_err(|e| PayloadError { field: "body".to_owned(), message: format!("not a frame message: {e}") })?;
    if frame.camera.is_empty()
        || frame.camera.len() > 128
        || frame.camera.chars().any(|c| matches!(c, '/' | '*' | '$' | '?' | '#') || c.is_whitespace())
    {
        return Err(PayloadError {
            field: "camera".to_owned(),
            message: "must be 1-128 characters without `/`, `*`, `$`, `?`, `#` or spaces".to_owned(),
        });
    }
    for (i, d) in frame.detections.iter().enumerate() {
        let field = format!("detections[{i}].embedding");
        if d.embedding.len() != dim {
            return Err(PayloadError {
                field,
                message: format!("has {} values; the gallery holds {dim}", d.embedding.len()),
            });
        }
        if d.embedding.iter().any(|v| !v.is_finite()) {
            return Err(PayloadError { field, message: "contains NaN or infinite values".to_owned() });
        }
        if d.embedding.iter().all(|v| *v == 0.0) {
            return Err(PayloadError { field, message: "is all zeros".to_owned() });
        }
    }
    Ok(frame)
}

/// Identifies every detection of `frame` against the labelled gallery entries and, with `store`, enrols the
/// sightings (no identity label; camera, time, track id, source `stream`).
pub fn identify(
    gallery: &Gallery,
    frame: &FrameEmbeddings,
    store: bool,
) -> Result<IdentifiedFrame, crate::GalleryError> {
    let dim = gallery.dim();
    let mut vectors = Vec::with_capacity(frame.detections.len() * dim);
    for d in &frame.detections {
        vectors.extend_from_slice(&d.embedding);
    }
    let options =
        QueryOptions { k: 5, filter: Filter { identified_only: true, ..Filter::all() }, ..Default::default() };
    let results = if frame.detections.is_empty() { Vec::new() } else { gallery.search(&vectors, &options)? };
    let detections = frame
        .detections
        .iter()
        .zip(&results)
        .map(|(d, r)| Identified {
            track_id: d.track_id,
            bbox: d.bbox,
            identity: if r.unknown { None } else { r.best_identity.clone() },
            score: r.best_score,
            unknown: r.unknown,
        })
        .collect();
    if store && !frame.detections.is_empty() {
        let items = frame
            .detections
            .iter()
            .map(|d| NewEmbedding {
                vector: d.embedding.clone(),
                meta: Metadata {
                    identity: None,
                    camera: Some(frame.camera.clone()),
                    timestamp_ms: frame.timestamp_ms,
                    track_id: d.track_id,
                    source: Some("stream".to_owned()),
                },
            })
            .collect();
        gallery.enroll(items)?;
    }
    Ok(IdentifiedFrame {
        camera: frame.camera.clone(),
        timestamp_ms: frame.timestamp_ms,
        frame: frame.frame,
        detections,
    })
}
