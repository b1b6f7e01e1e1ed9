//! NvDs mode of `reidpublish`: one message per frame meta of a DeepStream batch, from the `REID.EMBEDDING` user
//! metas `reidembed` wrote on its objects; the camera is the frame's `source_id` named by this element's own
//! `cameras` property (so frames without any embedding go to the same key), in the same format as ROI mode.

use crate::deepstream::{Batch, Cameras, EmbeddingRead, read_embedding};
use reid_protocol::{Detection, FrameEmbeddings};

/// The messages of `batch`, one per frame meta in list order, each with its camera; and what could not be read
/// (a `REID.EMBEDDING` user meta without data or with a bad size), by object. User metas of other types
/// (other components') are passed over.
pub fn nvds_frame_messages(batch: &Batch, cameras: &Cameras, timestamp_ms: i64) -> (Vec<FrameEmbeddings>, Vec<String>) {
    let (mut messages, mut bad) = (Vec::new(), Vec::new());
    let _lock = batch.lock();
    for frame in batch.frames() {
        let (_, source_id, frame_num) = batch.frame_ids(frame);
        let camera = cameras.name(source_id);
        let mut model = None;
        let mut detections = Vec::new();
        for object in batch.objects(frame) {
            for user in object.user_metas() {
                let embedding = match read_embedding(batch, user) {
                    EmbeddingRead::Foreign => continue,
                    EmbeddingRead::Bad(why) => {
                        bad.push(format!(
                            "frame {frame_num} of source {source_id}, object {:?}: {why}",
                            object.track_id()
                        ));
                        continue;
                    }
                    EmbeddingRead::Embedding(embedding, _) => embedding,
                };
                if embedding.vector.iter().any(|v| !v.is_finite()) || embedding.vector.iter().all(|v| *v == 0.0) {
                    continue;
                }
                if model.is_none() && !embedding.model.is_empty() {
                    model = Some(embedding.model.clone());
                }
                let r = object.rect();
                detections.push(Detection {
                    track_id: object.track_id(),
                    bbox: Some([r.left, r.top, r.width, r.height]),
                    embedding: embedding.vector,
                });
                break;
            }
        }
        let frame = u64::try_from(frame_num).ok();
        messages.push(FrameEmbeddings { camera, timestamp_ms, frame, model, detections });
    }
    (messages, bad)
}
