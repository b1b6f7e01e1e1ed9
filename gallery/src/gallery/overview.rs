//! What the console shows about the gallery's content: identities with their counts per camera and first/last
//! seen, one identity's sightings in time order, the unknown tracks, and labelling an unknown track as an
//! identity. Built from the index's row metadata (no vectors read) and the store's `matched` table.

use super::{Gallery, GalleryError};
use crate::payload::{EnrollAttachment, PayloadError};
use crate::record::{NewEmbedding, now_ms};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Most sightings returned for one identity, or unknown tracks listed (the newest).
pub const MAX_LISTED: usize = 2000;
/// Most labelled copies a label request enrols (the newest sightings of the track).
pub const MAX_LABEL_COPIES: usize = 256;

/// One identity as the console lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IdentitySummary {
    /// The identity label.
    pub identity: String,
    /// Embeddings enrolled under the label.
    pub enrolled: usize,
    /// Streamed sightings identified as this identity.
    pub sightings: usize,
    /// Enrolled plus sightings, per camera (`-` for none).
    pub cameras: BTreeMap<String, usize>,
    /// Earliest timestamp (ms since the epoch).
    pub first_seen_ms: i64,
    /// Latest timestamp.
    pub last_seen_ms: i64,
}

/// One embedding of an identity (enrolled, or a sighting identified as it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sighting {
    /// Record id.
    pub id: u64,
    /// Camera, when known.
    pub camera: Option<String>,
    /// Timestamp (ms since the epoch).
    pub timestamp_ms: i64,
    /// Tracker id, when known.
    pub track_id: Option<u64>,
    /// `enrolled` (labelled) or `sighting` (streamed, identified as it).
    pub kind: String,
}

/// Unlabelled, unidentified sightings of one track on one camera.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnknownTrack {
    /// Camera, when known.
    pub camera: Option<String>,
    /// Tracker id, when known.
    pub track_id: Option<u64>,
    /// Sightings.
    pub count: usize,
    /// Earliest.
    pub first_seen_ms: i64,
    /// Latest.
    pub last_seen_ms: i64,
}

/// What labelling a track did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabelReply {
    /// Labelled copies enrolled (the newest sightings, at most [`MAX_LABEL_COPIES`]).
    pub enrolled: usize,
    /// Sightings recorded as identified as the identity (forgetting it forgets them).
    pub marked: usize,
}

/// One row's metadata, copied out of the index.
struct Row {
    id: u64,
    identity: Option<String>,
    camera: Option<String>,
    timestamp_ms: i64,
    track_id: Option<u64>,
}

impl Gallery {
    fn rows(&self) -> Vec<Row> {
        let index = self.read_index();
        index
            .ids()
            .iter()
            .filter_map(|&id| {
                let info = index.info(id)?;
                Some(Row {
                    id,
                    identity: info.identity.map(str::to_owned),
                    camera: info.camera.map(str::to_owned),
                    timestamp_ms: info.timestamp_ms,
                    track_id: info.track_id,
                })
            })
            .collect()
    }

    /// The identity each of the sightings `ids` was identified as at ingest (or labelled as later), when any.
    pub fn matched_of(&self, ids: &[u64]) -> Result<HashMap<u64, String>, GalleryError> {
        Ok(self.store.matched_of(ids)?)
    }

    /// Every identity (labelled records and the sightings identified as it), by name.
    pub fn identities(&self) -> Result<Vec<IdentitySummary>, GalleryError> {
        let matched = self.store.matched_all()?;
        let mut out: BTreeMap<String, IdentitySummary> = BTreeMap::new();
        for row in self.rows() {
            let (who, enrolled) = match (&row.identity, matched.get(&row.id)) {
                (Some(who), _) => (who.clone(), true),
                (None, Some(who)) => (who.clone(), false),
                (None, None) => continue,
            };
            let s = out.entry(who.clone()).or_insert_with(|| IdentitySummary {
                identity: who,
                enrolled: 0,
                sightings: 0,
                cameras: BTreeMap::new(),
                first_seen_ms: i64::MAX,
                last_seen_ms: i64::MIN,
            });
            if enrolled {
                s.enrolled += 1;
            } else {
                s.sightings += 1;
            }
            *s.cameras.entry(row.camera.unwrap_or_else(|| "-".into())).or_default() += 1;
            s.first_seen_ms = s.first_seen_ms.min(row.timestamp_ms);
            s.last_seen_ms = s.last_seen_ms.max(row.timestamp_ms);
        }
        Ok(out.into_values().collect())
    }

    /// The embeddings of `identity` (enrolled and identified sightings), oldest first, the newest
    /// [`MAX_LISTED`] at most; empty when nobody has that name.
    pub fn sightings(&self, identity: &str) -> Result<Vec<Sighting>, GalleryError> {
        let matched = self.store.matched_all()?;
        let mut out: Vec<Sighting> = self
            .rows()
            .into_iter()
            .filter_map(|row| {
                let kind = match (&row.identity, matched.get(&row.id)) {
                    (Some(who), _) if who == identity => "enrolled",
                    (None, Some(who)) if who == identity => "sighting",
                    _ => return None,
                };
                Some(Sighting {
                    id: row.id,
                    camera: row.camera,
                    timestamp_ms: row.timestamp_ms,
                    track_id: row.track_id,
                    kind: kind.into(),
                })
            })
            .collect();
        out.sort_by_key(|s| (s.timestamp_ms, s.id));
        let skip = out.len().saturating_sub(MAX_LISTED);
        out.drain(..skip);
        Ok(out)
    }

    /// Tracks whose sightings were identified as nobody (no label, no match), the most recently seen first, at
    /// most [`MAX_LISTED`].
    pub fn unknown_tracks(&self) -> Result<Vec<UnknownTrack>, GalleryError> {
        let matched = self.store.matched_all()?;
        let mut tracks: HashMap<(Option<String>, Option<u64>), UnknownTrack> = HashMap::new();
        for row in self.rows() {
            if row.identity.is_some() || matched.contains_key(&row.id) {
                continue;
            }
            let t = tracks.entry((row.camera.clone(), row.track_id)).or_insert_with(|| UnknownTrack {
                camera: row.camera,
                track_id: row.track_id,
                count: 0,
                first_seen_ms: i64::MAX,
                last_seen_ms: i64::MIN,
            });
            t.count += 1;
            t.first_seen_ms = t.first_seen_ms.min(row.timestamp_ms);
            t.last_seen_ms = t.last_seen_ms.max(row.timestamp_ms);
        }
        let mut out: Vec<UnknownTrack> = tracks.into_values().collect();
        out.sort_by(|a, b| b.last_seen_ms.cmp(&a.last_seen_ms).then(a.camera.cmp(&b.camera)));
        out.truncate(MAX_LISTED);
        Ok(out)
    }

    /// Labels the unknown sightings of track `track_id` on `camera` as `identity`: the newest
    /// [`MAX_LABEL_COPIES`] are enrolled again as labelled embeddings (so later detections are identified as
    /// it), and every one is recorded as identified as it (so that forgetting it forgets them). An error naming
    /// the field when the name is invalid or the track has no unknown sightings.
    pub fn label_track(
        &self,
        camera: Option<&str>,
        track_id: Option<u64>,
        identity: &str,
    ) -> Result<LabelReply, GalleryError> {
        let checked = EnrollAttachment {
            identity: Some(identity.to_owned()),
            camera: camera.map(str::to_owned),
            ..Default::default()
        }
        .validate(now_ms())
        .map_err(|mut e| {
            e.field = e.field.trim_start_matches("attachment.").to_owned();
            e
        })?;
        let matched = self.store.matched_all()?;
        let mut rows: Vec<Row> = self
            .rows()
            .into_iter()
            .filter(|r| {
                r.identity.is_none()
                    && !matched.contains_key(&r.id)
                    && r.camera.as_deref() == camera
                    && r.track_id == track_id
            })
            .collect();
        if rows.is_empty() {
            let message =
                "no unknown sightings of this track on this camera (already labelled, identified, or forgotten)";
            return Err(PayloadError { field: "track_id".into(), message: message.into() }.into());
        }
        rows.sort_by_key(|r| std::cmp::Reverse((r.timestamp_ms, r.id)));
        let ids: Vec<u64> = rows.iter().map(|r| r.id).collect();
        let copies: Vec<NewEmbedding> = rows
            .iter()
            .take(MAX_LABEL_COPIES)
            .filter_map(|r| {
                Some(NewEmbedding {
                    vector: self.vector(r.id)?,
                    meta: crate::record::Metadata {
                        identity: checked.identity.clone(),
                        camera: r.camera.clone(),
                        timestamp_ms: r.timestamp_ms,
                        track_id: r.track_id,
                        source: Some("console-label".into()),
                    },
                })
            })
            .collect();
        let enrolled = self.enroll(copies)?.len();
        let marked = self.store.mark_matched(&ids, identity)?;
        tracing::info!(enrolled, marked, "unknown track labelled");
        Ok(LabelReply { enrolled, marked })
    }
}
