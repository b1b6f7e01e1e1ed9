//! Validation: one `validate()` per request type checks limits and values (after serde has checked the JSON
//! types) and turns what was sent into what the gallery runs. Errors name the field with its path.

use super::request::{EnrollAttachment, EnrollItem, EnrollRequest, ForgetRequest, QueryRequest};
use super::vector::{base64_bytes, f32_bytes, numbers};
use super::{DEFAULT_K, MAX_ENROLL_ITEMS, MAX_K, MAX_QUERIES, MAX_STRING};
use crate::error::{PayloadError, err, quote};
use crate::filter::Filter;
use crate::record::{Metadata, NewEmbedding, TimeRange};

/// Query options after validation.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryOptions {
    /// Matches per query (1..=[`MAX_K`]).
    pub k: usize,
    /// Re-rank the candidates.
    pub rerank: bool,
    /// Open-set threshold (None: the gallery's default).
    pub threshold: Option<f32>,
    /// Which gallery items may match.
    pub filter: Filter,
}

impl Default for QueryOptions {
    fn default() -> Self {
        QueryOptions { k: DEFAULT_K, rerank: false, threshold: None, filter: Filter::all() }
    }
}

/// A validated query: `vectors` holds `n * dim` finite values (not yet normalised).
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    /// Query vectors, row-major.
    pub vectors: Vec<f32>,
    /// Options.
    pub options: QueryOptions,
}

/// A validated forget request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Forget {
    /// Every embedding of this identity.
    Identity(String),
    /// Every embedding in the range, optionally only one camera's.
    TimeRange {
        /// The interval (inclusive; it does not cover all time, see [`covers_all_time`]).
        range: TimeRange,
        /// Only this camera.
        camera: Option<String>,
    },
    /// Every embedding (`"all": true`), optionally only one camera's.
    All {
        /// Only this camera.
        camera: Option<String>,
    },
}

/// Whether `range` covers all time at the clock `now_ms`: it starts open or at/before the epoch (0) and ends open
/// or at/after `now_ms` plus the stream skew ([`crate::stream::MAX_STREAM_SKEW_MS`]), so nothing a camera can send
/// lies outside it. Forgetting such a range needs `"all": true`.
pub fn covers_all_time(range: &TimeRange, now_ms: i64) -> bool {
    let newest = now_ms.saturating_add(crate::stream::MAX_STREAM_SKEW_MS);
    range.from_ms.is_none_or(|f| f <= 0) && range.to_ms.is_none_or(|t| t >= newest)
}

/// A label (identity, camera, source): not blank, at most [`MAX_STRING`] bytes, no control characters.
fn label(field: String, s: Option<String>) -> Result<Option<String>, PayloadError> {
    let Some(s) = s else { return Ok(None) };
    if s.trim().is_empty() {
        return err(field, "must not be empty (omit the field instead)");
    }
    if s.len() > MAX_STRING {
        return err(field, format!("{} bytes is longer than the {MAX_STRING} allowed", s.len()));
    }
    if s.chars().any(char::is_control) {
        return err(field, "must not contain control characters");
    }
    Ok(Some(s))
}

/// `[from_ms, to_ms]`, `to_ms` not before `from_ms`.
fn time_range(prefix: &str, from_ms: Option<i64>, to_ms: Option<i64>) -> Result<TimeRange, PayloadError> {
    if let (Some(f), Some(t)) = (from_ms, to_ms)
        && t < f
    {
        return err(format!("{prefix}to_ms"), format!("{t} is before from_ms {f}"));
    }
    Ok(TimeRange { from_ms, to_ms })
}

/// The vector of `name` (numbers) or `b64name` (base64), if either is present.
fn one_vector(
    prefix: &str,
    (name, numbers_given): (&str, Option<Vec<f32>>),
    (b64name, b64_given): (&str, Option<String>),
    dim: usize,
) -> Result<Option<Vec<f32>>, PayloadError> {
    match (numbers_given, b64_given) {
        (Some(_), Some(_)) => err(format!("{prefix}{name}"), format!("give either {name} or {b64name}, not both")),
        (Some(v), None) => numbers(&format!("{prefix}{name}"), v, dim).map(Some),
        (None, Some(s)) => {
            let field = format!("{prefix}{b64name}");
            f32_bytes(&field, &base64_bytes(&field, &s)?, dim, 1).map(Some)
        }
        (None, None) => Ok(None),
    }
}

/// Metadata fields shared by an enrol item and a raw enrolment's attachment.
struct MetaFields {
    identity: Option<String>,
    camera: Option<String>,
    timestamp_ms: Option<i64>,
    track_id: Option<u64>,
    source: Option<String>,
}

impl MetaFields {
    fn validate(self, prefix: &str, now_ms: i64) -> Result<Metadata, PayloadError> {
        Ok(Metadata {
            identity: label(format!("{prefix}identity"), self.identity)?,
            camera: label(format!("{prefix}camera"), self.camera)?,
            timestamp_ms: self.timestamp_ms.unwrap_or(now_ms),
            track_id: self.track_id,
            source: label(format!("{prefix}source"), self.source)?,
        })
    }
}

impl EnrollItem {
    /// One embedding to enrol in a `dim`-d gallery; `now_ms` stamps it when it has no timestamp.
    pub fn validate(self, dim: usize, now_ms: i64) -> Result<NewEmbedding, PayloadError> {
        self.validate_at("", dim, now_ms)
    }

    /// [`EnrollItem::validate`] with field names under `prefix` (`items[3].`).
    fn validate_at(self, prefix: &str, dim: usize, now_ms: i64) -> Result<NewEmbedding, PayloadError> {
        let vector = one_vector(prefix, ("embedding", self.embedding), ("embedding_b64", self.embedding_b64), dim)?
            .ok_or_else(|| PayloadError::new(format!("{prefix}embedding"), "missing"))?;
        let meta = MetaFields {
            identity: self.identity,
            camera: self.camera,
            timestamp_ms: self.timestamp_ms,
            track_id: self.track_id,
            source: self.source,
        };
        Ok(NewEmbedding { vector, meta: meta.validate(prefix, now_ms)? })
    }
}

impl EnrollRequest {
    /// 1 to [`MAX_ENROLL_ITEMS`] embeddings for a `dim`-d gallery; `now_ms` stamps items without a timestamp.
    pub fn validate(self, dim: usize, now_ms: i64) -> Result<Vec<NewEmbedding>, PayloadError> {
        if self.items.is_empty() {
            return err("items", "empty: nothing to enrol");
        }
        if self.items.len() > MAX_ENROLL_ITEMS {
            let n = self.items.len();
            return err("items", format!("{n} items is more than the {MAX_ENROLL_ITEMS} allowed per request"));
        }
        self.items
            .into_iter()
            .enumerate()
            .map(|(i, item)| item.validate_at(&format!("items[{i}]."), dim, now_ms))
            .collect()
    }
}

impl EnrollAttachment {
    /// The metadata applied to every vector of a raw enrolment (fields named `attachment.camera`, ...).
    pub fn validate(self, now_ms: i64) -> Result<Metadata, PayloadError> {
        let meta = MetaFields {
            identity: self.identity,
            camera: self.camera,
            timestamp_ms: self.timestamp_ms,
            track_id: self.track_id,
            source: self.source,
        };
        meta.validate("attachment.", now_ms)
    }
}

impl QueryRequest {
    /// Query vectors for a `dim`-d gallery (one of `embedding`, `embedding_b64`, `embeddings`,
    /// `embeddings_b64`) and the options.
    pub fn validate(mut self, dim: usize) -> Result<Query, PayloadError> {
        let (embedding, embedding_b64) = (self.embedding.take(), self.embedding_b64.take());
        let single = one_vector("", ("embedding", embedding), ("embedding_b64", embedding_b64), dim)?;
        let several = match (self.embeddings.take(), self.embeddings_b64.take()) {
            (Some(_), Some(_)) => return err("embeddings", "give either embeddings or embeddings_b64, not both"),
            (Some(list), None) => {
                if list.is_empty() {
                    return err("embeddings", "empty: no query vector");
                }
                if list.len() > MAX_QUERIES {
                    return err("embeddings", format!("{} vectors is more than the {MAX_QUERIES} allowed", list.len()));
                }
                let mut out = Vec::with_capacity(list.len() * dim);
                for (i, v) in list.into_iter().enumerate() {
                    out.extend(numbers(&format!("embeddings[{i}]"), v, dim)?);
                }
                Some(out)
            }
            (None, Some(s)) => {
                Some(f32_bytes("embeddings_b64", &base64_bytes("embeddings_b64", &s)?, dim, MAX_QUERIES)?)
            }
            (None, None) => None,
        };
        let vectors = match (single, several) {
            (Some(_), Some(_)) => {
                return err("embeddings", "give either embedding(_b64) or embeddings(_b64), not both");
            }
            (None, None) => return err("embedding", "missing (or embeddings, embedding_b64, embeddings_b64)"),
            (Some(v), None) | (None, Some(v)) => v,
        };
        Ok(Query { vectors, options: self.options()? })
    }

    /// The options alone (`k` 1 to [`MAX_K`], threshold -1 to 1, non-empty camera names, a time range).
    pub fn options(&self) -> Result<QueryOptions, PayloadError> {
        let k = match self.k {
            None => DEFAULT_K,
            Some(0) => return err("k", "must be at least 1"),
            Some(k) if k > MAX_K => return err("k", format!("{k} is more than the maximum {MAX_K}")),
            Some(k) => k,
        };
        let threshold = match self.threshold {
            Some(t) if !(-1.0..=1.0).contains(&t) => {
                return err("threshold", format!("expected a number from -1 to 1 (a cosine score), got {t}"));
            }
            t => t,
        };
        if let Some(names) = &self.cameras {
            for (i, c) in names.iter().enumerate() {
                if c.is_empty() || c.len() > MAX_STRING {
                    let got = quote(serde_json::Value::from(c.as_str()));
                    return err(format!("cameras[{i}]"), format!("expected a non-empty camera name, got {got}"));
                }
            }
        }
        Ok(QueryOptions {
            k,
            rerank: self.rerank.unwrap_or(false),
            threshold,
            filter: Filter {
                // An empty list means no camera restriction.
                cameras: self.cameras.clone().filter(|c| !c.is_empty()),
                time: time_range("", self.from_ms, self.to_ms)?,
                identified_only: self.identified_only.unwrap_or(false),
            },
        })
    }
}

impl ForgetRequest {
    /// [`ForgetRequest::validate_at`] the current clock.
    pub fn validate(self) -> Result<Forget, PayloadError> {
        self.validate_at(crate::record::now_ms())
    }

    /// An identity; or a time range (optionally of one camera) that does not cover all time at `now_ms`
    /// ([`covers_all_time`]); or `"all": true` (optionally of one camera) — one of the three.
    pub fn validate_at(self, now_ms: i64) -> Result<Forget, PayloadError> {
        let identity = label("identity".to_owned(), self.identity)?;
        let camera = label("camera".to_owned(), self.camera)?;
        let range = time_range("", self.from_ms, self.to_ms)?;
        let all = self.all.unwrap_or(false);
        match identity {
            Some(who) => {
                if !range.is_all() || camera.is_some() || all {
                    return err(
                        "identity",
                        "give either an identity or a time range (from_ms/to_ms, camera, all), not both",
                    );
                }
                Ok(Forget::Identity(who))
            }
            None if all => {
                if !range.is_all() {
                    return err("all", "`all: true` forgets every time; leave out from_ms and to_ms");
                }
                Ok(Forget::All { camera })
            }
            None if range.is_all() => err(
                "identity",
                "missing: give an identity, a time range with from_ms and/or to_ms, or `all: true` to forget every time",
            ),
            None if covers_all_time(&range, now_ms) => err(
                "all",
                format!(
                    "the range {}..={} covers all time (from the epoch or earlier to now or later); send `all: true` \
                     without from_ms/to_ms to forget everything",
                    range.from_ms.map_or("open".to_owned(), |f| f.to_string()),
                    range.to_ms.map_or("open".to_owned(), |t| t.to_string()),
                ),
            ),
            None => Ok(Forget::TimeRange { range, camera }),
        }
    }
}
