//! Streamed embeddings, as `reidpublish` sends them to `<prefix>/embeddings/<camera>` (one message per frame,
//! every detection's embedding with its box and track id; the types and [`decode_frame`] are the protocol's).
//! The server identifies each against the labelled gallery (best identity or `unknown`), publishes the answers,
//! and keeps the sightings (unlabelled, subject to the retention TTL and to `forget`) unless told not to.

use crate::gallery::Gallery;
use crate::index::Filter;
use crate::payload::QueryOptions;
use crate::record::{Metadata, NewEmbedding};
pub use reid_protocol::stream::{
    Detection, FrameEmbeddings, Identified, IdentifiedFrame, decode_frame, decode_frame_at,
};

/// Identifies every detection of `frame` against the labelled gallery entries and, with `store`, enrols the
/// sightings (no identity label; camera, time, track id, source `stream`), each recorded as a sighting of the
/// identity it was identified as, so that `forget <identity>` forgets it too.
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
        let matches: Vec<Option<String>> =
            results.iter().map(|r| if r.unknown { None } else { r.best_identity.clone() }).collect();
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
        gallery.enroll_sightings(items, &matches)?;
    }
    Ok(IdentifiedFrame {
        camera: frame.camera.clone(),
        timestamp_ms: frame.timestamp_ms,
        frame: frame.frame,
        detections,
    })
}
