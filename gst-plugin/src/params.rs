//! The parameter structures this plugin reads from and writes to `GstVideoRegionOfInterestMeta` (GStreamer
//! 1.14+), so that C, Python and Rust code downstream can use them.
//!
//! **Embedding** (written by `reidembed`), a structure named [`EMBEDDING`] (`reid-embedding`):
//!
//! | field | type | meaning |
//! | --- | --- | --- |
//! | `vector` | `GstValueArray` of `gfloat` | the embedding (`gst_value_array_get_value` + `g_value_get_float`; a list in gst-python) |
//! | `data` | `GBytes` | the same values as little-endian IEEE-754 `f32`, `4 * dim` bytes (a fast path for C) |
//! | `dim` | `gint` | number of values |
//! | `model` | string | model id (the `model-id` property, else the model file name) |
//! | `normalized` | `gboolean` | true when the vector has unit L2 norm (normalised here, or by the model itself) |
//! | `age` | `gint` | frames since the vector was computed: 0 when computed on this frame, more when reused for a tracked object (`interval` > 1) |
//!
//! **Tracking** (read by `reidembed` and `reidpublish`, written by `reidsynthsrc`), a structure named
//! [`TRACKING`] (`tracking`) whose `track-id` field (any integer type; `object-id` is accepted too) is the
//! tracker's id for the object. `reidsynthsrc` also sets `identity` (`gint`, the ground-truth person id).
//! Trackers that write the track id into the ROI's own `id` field instead are supported by `reidembed`'s
//! `roi-id-is-track` property.

use gst::glib;
use gst_video::VideoRegionOfInterestMeta;

/// Name of the embedding parameter structure.
pub const EMBEDDING: &str = "reid-embedding";
/// Name of the tracking parameter structure.
pub const TRACKING: &str = "tracking";
/// The track id field of [`TRACKING`].
pub const TRACK_ID: &str = "track-id";
/// An alternative name for the track id field.
pub const OBJECT_ID: &str = "object-id";
/// The ground-truth identity field of [`TRACKING`] (`reidsynthsrc`).
pub const IDENTITY: &str = "identity";

/// An embedding as carried by the [`EMBEDDING`] structure.
#[derive(Clone, Debug, PartialEq)]
pub struct Embedding {
    /// The values.
    pub vector: Vec<f32>,
    /// Model id.
    pub model: String,
    /// Unit L2 norm.
    pub normalized: bool,
    /// Frames since it was computed.
    pub age: u32,
}

impl Embedding {
    /// The [`EMBEDDING`] structure for this embedding.
    pub fn to_structure(&self) -> gst::Structure {
        let bytes: Vec<u8> = self.vector.iter().flat_map(|v| v.to_le_bytes()).collect();
        gst::Structure::builder(EMBEDDING)
            .field("vector", gst::Array::new(self.vector.iter().copied()))
            .field("data", glib::Bytes::from_owned(bytes))
            .field("dim", i32::try_from(self.vector.len()).unwrap_or(i32::MAX))
            .field("model", self.model.as_str())
            .field("normalized", self.normalized)
            .field("age", i32::try_from(self.age).unwrap_or(i32::MAX))
            .build()
    }

    /// Reads an [`EMBEDDING`] structure: `vector` (or, without it, `data`); `None` when the structure has
    /// another name, no values, or values of another type.
    pub fn from_structure(s: &gst::StructureRef) -> Option<Self> {
        if s.name() != EMBEDDING {
            return None;
        }
        let vector = match s.get::<gst::Array>("vector") {
            Ok(array) => array.iter().map(|v| v.get::<f32>().ok()).collect::<Option<Vec<f32>>>()?,
            Err(_) => {
                let bytes = s.get::<glib::Bytes>("data").ok()?;
                if bytes.len() % 4 != 0 {
                    return None;
                }
                bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
            }
        };
        if vector.is_empty() {
            return None;
        }
        Some(Embedding {
            vector,
            model: s.get::<String>("model").unwrap_or_default(),
            normalized: s.get::<bool>("normalized").unwrap_or(false),
            age: s.get::<i32>("age").ok().and_then(|a| u32::try_from(a).ok()).unwrap_or(0),
        })
    }

    /// The embedding attached to `roi`, if any (the first [`EMBEDDING`] structure that reads).
    pub fn from_roi(roi: &VideoRegionOfInterestMeta) -> Option<Self> {
        roi.params().filter(|s| s.name() == EMBEDDING).find_map(Self::from_structure)
    }
}

/// An integer field of any integer type, as `u64` (negative values are not ids: `None`).
fn integer_field(s: &gst::StructureRef, field: &str) -> Option<u64> {
    let value = s.value(field).ok()?;
    if let Ok(v) = value.get::<u64>() {
        return Some(v);
    }
    if let Ok(v) = value.get::<u32>() {
        return Some(u64::from(v));
    }
    if let Ok(v) = value.get::<i64>() {
        return u64::try_from(v).ok();
    }
    value.get::<i32>().ok().and_then(|v| u64::try_from(v).ok())
}

/// The tracker's id of the object in `roi`: the `track-id` (or `object-id`) field of its [`TRACKING`]
/// structure; with `roi_id_is_track`, the ROI's own `id` field when that structure is absent (negative ids
/// mean untracked).
pub fn track_id(roi: &VideoRegionOfInterestMeta, roi_id_is_track: bool) -> Option<u64> {
    roi.params()
        .filter(|s| s.name() == TRACKING)
        .find_map(|s| integer_field(s, TRACK_ID).or_else(|| integer_field(s, OBJECT_ID)))
        .or_else(|| if roi_id_is_track { u64::try_from(roi.id()).ok() } else { None })
}

/// The [`TRACKING`] structure for a tracked object, with its ground-truth identity when known.
pub fn tracking_structure(track_id: u64, identity: Option<i32>) -> gst::Structure {
    let mut builder = gst::Structure::builder(TRACKING).field(TRACK_ID, track_id);
    if let Some(identity) = identity {
        builder = builder.field(IDENTITY, identity);
    }
    builder.build()
}

/// The ground-truth identity in `roi`'s [`TRACKING`] structure, if any.
pub fn identity(roi: &VideoRegionOfInterestMeta) -> Option<i32> {
    roi.params().filter(|s| s.name() == TRACKING).find_map(|s| s.get::<i32>(IDENTITY).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedding_round_trips_through_a_structure() {
        gst::init().unwrap();
        let e = Embedding { vector: vec![0.5, -1.25, 3.0], model: "m.onnx".into(), normalized: true, age: 2 };
        let s = e.to_structure();
        assert_eq!(s.get::<i32>("dim").unwrap(), 3);
        assert_eq!(Embedding::from_structure(&s), Some(e.clone()));
        // Only `data`: the same values.
        let mut bytes_only = s.clone();
        bytes_only.remove_field("vector");
        assert_eq!(Embedding::from_structure(&bytes_only), Some(e));
        // Serialisable as text (gst-launch debug output, gst_structure_to_string).
        assert!(s.to_string().contains("reid-embedding"));
    }

    #[test]
    fn track_ids_of_any_integer_type() {
        gst::init().unwrap();
        let s = gst::Structure::builder(TRACKING).field(OBJECT_ID, 7i32).build();
        assert_eq!(integer_field(&s, OBJECT_ID), Some(7));
        let s = tracking_structure(u64::MAX, Some(3));
        assert_eq!(integer_field(&s, TRACK_ID), Some(u64::MAX));
        let s = gst::Structure::builder(TRACKING).field(TRACK_ID, -1i64).build();
        assert_eq!(integer_field(&s, TRACK_ID), None);
    }
}
