//! `reidpublish`: a sink that publishes each frame's embeddings as one JSON message over Zenoh to
//! `<prefix>/embeddings/<camera>`, in the gallery's ingest format ([`FrameEmbeddings`]):
//! `{"camera", "timestamp_ms", "frame", "model", "detections": [{"track_id", "bbox": [x, y, w, h], "embedding"}]}`.
//!
//! Every ROI meta with a `reid-embedding` parameter becomes a detection (its `tracking` parameter gives the track
//! id, see [`crate::params`]); embeddings that are empty, non-finite or all zeros are left out (the gallery
//! would refuse the frame). `timestamp_ms` is the wall clock when the frame reaches the sink; `frame` is the
//! buffer's offset when it has one, else the number of frames the sink has seen.
//!
//! **NvDs mode**: when the buffer carries DeepStream's batch meta (and the libraries load, see
//! [`crate::deepstream`]), each frame meta of the batch becomes one message, to
//! `<prefix>/embeddings/<camera>` with the camera named from the frame's `source_id` by the `cameras` property
//! (`"0=gate,1=lobby"`, default `cam<source_id>`; set it as on `reidembed`), its detections from the
//! `REID.EMBEDDING` user metas on the objects (track id: the tracker's `object_id`; bbox: `rect_params`);
//! `frame` is the frame meta's `frame_num` ([`nvds_frame_messages`]). `REID.EMBEDDING` metas that cannot be
//! read are counted (`bad-metas`) and logged; user metas of other components are passed over.
//!
//! The streaming thread never waits for the network: messages go into a bounded queue (`queue-size`) that a
//! worker thread drains into the Zenoh session; when the queue is full the message is dropped and counted
//! (`dropped`). `published` counts messages handed to Zenoh, `failed` the ones Zenoh refused.
//!
//! **Mutual TLS**: `tls-ca`, `tls-cert` and `tls-key` (all three or none; `reid gallery certs` makes them) are read
//! before connecting — a file that is not PEM, an expired certificate or a CA that is not a CA fails the start
//! naming the property and the file — and every endpoint must then be `tls/` (see [`tls_files`]). The gallery's
//! access rules decide by the certificate's common name whether this camera may stream.

use crate::params::{self, Embedding};
use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;
use gst_base::subclass::prelude::*;
use gst_video::VideoRegionOfInterestMeta;
use reid_protocol::{Detection, FrameEmbeddings, KeySpace, Mode, NetConfig, check_chunks};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, LazyLock, Mutex};
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};
use zenoh::Wait;

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new("reidpublish", gst::DebugColorFlags::empty(), Some("Zenoh publisher of ReID embeddings"))
});

/// Default camera name.
pub const DEFAULT_CAMERA: &str = "cam1";
/// Default key prefix.
pub const DEFAULT_PREFIX: &str = "reid";
/// Default queue length (messages).
pub const DEFAULT_QUEUE_SIZE: u32 = 64;

/// The frame message for the ROI metas of `buffer` that carry an embedding (see the module documentation).
pub fn frame_message(
    buffer: &gst::BufferRef,
    camera: &str,
    frame: Option<u64>,
    timestamp_ms: i64,
    roi_id_is_track: bool,
) -> FrameEmbeddings {
    let mut model = None;
    let mut detections = Vec::new();
    for roi in buffer.iter_meta::<VideoRegionOfInterestMeta>() {
        let Some(embedding) = Embedding::from_roi(&roi) else { continue };
        if embedding.vector.iter().any(|v| !v.is_finite()) || embedding.vector.iter().all(|v| *v == 0.0) {
            continue;
        }
        if model.is_none() && !embedding.model.is_empty() {
            model = Some(embedding.model.clone());
        }
        let (x, y, w, h) = roi.rect();
        detections.push(Detection {
            track_id: params::track_id(&roi, roi_id_is_track),
            bbox: Some([x as f32, y as f32, w as f32, h as f32]),
            embedding: embedding.vector,
        });
    }
    FrameEmbeddings { camera: camera.to_owned(), timestamp_ms, frame, model, detections }
}

/// The Zenoh configuration of `net`: its config file (or Zenoh's defaults), then the protocol's settings over it
/// (mode, endpoints, multicast scouting, TLS). With TLS on (from `net.tls` or the file), the certificate and key
/// files are read and every endpoint must be `tls/` ([`check_config_tls`]). Errors name the setting or file.
pub fn zenoh_config(net: &NetConfig) -> Result<zenoh::Config, String> {
    let mut config = match &net.config_file {
        Some(path) => zenoh::Config::from_file(path).map_err(|e| format!("zenoh config `{}`: {e}", path.display()))?,
        None => zenoh::Config::default(),
    };
    for (key, value) in net.settings().map_err(|e| e.to_string())? {
        config.insert_json5(key, &value).map_err(|e| format!("zenoh config `{key}`: {e}"))?;
    }
    check_config_tls(&config)?;
    Ok(config)
}

glib::wrapper! {
    /// The `reidpublish` element (see the module documentation).
    pub struct ReidPublish(ObjectSubclass<imp::ReidPublish>) @extends gst_base::BaseSink, gst::Element, gst::Object;
}

/// Registers `reidpublish` with `plugin`.
pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(Some(plugin), "reidpublish", gst::Rank::NONE, ReidPublish::static_type())
}

/// Splits a comma-separated endpoint list.
fn endpoints(list: &str) -> Vec<String> {
    list.split(',').map(str::trim).filter(|e| !e.is_empty()).map(str::to_owned).collect()
}

mod imp;
mod nvds;
mod tls;

pub use nvds::nvds_frame_messages;
pub use tls::{check_config_tls, check_tls_files, tls_configured, tls_files};
