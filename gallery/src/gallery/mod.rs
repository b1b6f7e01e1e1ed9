//! The gallery: the durable store and the in-memory index kept consistent, and the operations a transport
//! (Zenoh, CLI) exposes. `Gallery` is `Send + Sync`; share it with `Arc` and call its `&self` methods from any
//! thread: queries take a read lock on the index, changes are serialised (store first, then index) by a writer
//! lock so the index never holds what the store has dropped, nor misses what it acknowledged.
//!
//! - `forget`: forgetting (identity, time range, all) with the store rewrite, and retention.
//! - [`device`]: top-k answered on a GPU, its copy of the index mirrored under the index's write lock.
//! - [`search`]: queries, costed first ([`crate::budget`]): over-budget requests are refused, heavy ones run on
//!   their own threads and hold the index lock only while reading it.

pub mod device;
mod forget;
mod overview;
mod search;

use search::result_of;

use crate::budget::{OverBudget, QueryBudget};
use crate::hnsw::HnswParams;
use crate::index::{Index, IndexError, IndexKind, IndexStats, Precision};
use crate::payload::{self, EnrollReply, ErrorReply, ForgetReply, Match, PayloadError, Query, QueryReply, QueryResult};
use crate::record::{NewEmbedding, now_ms};
use crate::rerank::RerankConfig;
use crate::snapshot::{self, SnapshotError};
use crate::store::{Store, StoreError, StoreStats, StoreTag};
pub use device::DeviceIndex;
pub use overview::{IdentitySummary, LabelReply, Sighting, UnknownTrack};
use reid_eval::rerank::{AllPairs, CpuAllPairs, RerankError};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use thiserror::Error;

/// How a gallery is opened and answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GalleryConfig {
    /// Embedding dimension: required for a new store, checked against an existing one when given.
    pub dim: Option<usize>,
    /// In-memory storage precision.
    pub precision: Precision,
    /// Search threads (0: one per core).
    pub threads: usize,
    /// Default open-set threshold on the cosine score.
    pub threshold: f32,
    /// Retention: embeddings older than this many ms are deleted by [`Gallery::expire_now`] (and at open).
    pub ttl_ms: Option<i64>,
    /// Query-time re-ranking.
    pub rerank: RerankConfig,
    /// What one query request may cost ([`QueryBudget`]).
    #[serde(default)]
    pub budget: QueryBudget,
    /// Threads for heavy requests (re-ranked, or many vectors); 0: half the search threads, at least 1.
    #[serde(default)]
    pub heavy_threads: usize,
    /// Load the index from its snapshot beside the store when current ([`crate::snapshot`]), and keep that
    /// snapshot free of forgotten records. Off: the index is always rebuilt from the store.
    #[serde(default)]
    pub snapshot: bool,
    /// Exact scan, HNSW graph, or `auto` (exact below [`crate::index::AUTO_HNSW_MIN_ROWS`] rows).
    #[serde(default)]
    pub index: IndexKind,
    /// The HNSW graph's shape and search width (when one is built).
    #[serde(default)]
    pub hnsw: HnswParams,
}

impl Default for GalleryConfig {
    fn default() -> Self {
        GalleryConfig {
            dim: None,
            precision: Precision::F32,
            threads: 0,
            threshold: 0.5,
            ttl_ms: None,
            rerank: RerankConfig::default(),
            budget: QueryBudget::default(),
            heavy_threads: 0,
            snapshot: false,
            index: IndexKind::Auto,
            hnsw: HnswParams::default(),
        }
    }
}

/// Gallery failures.
#[derive(Debug, Error)]
pub enum GalleryError {
    /// The durable store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A request or argument is invalid.
    #[error(transparent)]
    Payload(#[from] PayloadError),
    /// A request over the query budget, naming the limit and the request's cost.
    #[error(transparent)]
    OverBudget(#[from] OverBudget),
    /// Re-ranking refused its input.
    #[error("re-ranking: {0}")]
    Rerank(#[from] RerankError),
    /// Forgetting an identity nobody is enrolled under (the name is not repeated: errors are logged).
    #[error("identity: no embeddings are enrolled or identified under that identity")]
    UnknownIdentity,
    /// A stored record cannot enter the index.
    #[error("gallery store {path}: record {id}: {source}")]
    Index {
        /// Store file.
        path: String,
        /// Record id.
        id: u64,
        /// Why.
        #[source]
        source: IndexError,
    },
    /// The search thread pool could not start.
    #[error("search thread pool: {0}")]
    ThreadPool(String),
    /// Writing the index snapshot failed.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    /// The configuration cannot be served (e.g. an HNSW graph over int8 storage).
    #[error("gallery config: {0}")]
    Config(String),
}

impl GalleryError {
    /// The request field to blame, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            GalleryError::Payload(p) => Some(&p.field),
            GalleryError::UnknownIdentity => Some("identity"),
            GalleryError::OverBudget(o) => Some(o.field),
            _ => None,
        }
    }

    /// The error as a wire reply (clipped to [`reid_protocol::error::MAX_ERROR_MESSAGE`] bytes).
    pub fn to_reply(&self) -> ErrorReply {
        use reid_protocol::error::{MAX_ERROR_FIELD, MAX_ERROR_MESSAGE, clip};
        ErrorReply {
            error: clip(&self.to_string(), MAX_ERROR_MESSAGE),
            field: self.field().map(|f| clip(f, MAX_ERROR_FIELD)),
        }
    }
}

/// Gallery figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GalleryStats {
    /// The store.
    pub store: StoreStats,
    /// The index.
    pub index: IndexStats,
    /// Search threads.
    pub threads: usize,
    /// Default threshold.
    pub threshold: f32,
    /// Retention.
    pub ttl_ms: Option<i64>,
}

/// A reply body and whether it is a success (`ok`) or an [`ErrorReply`] (for Zenoh's `reply` vs `reply_err`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireReply {
    /// Success.
    pub ok: bool,
    /// JSON body.
    pub body: Vec<u8>,
}

impl WireReply {
    /// The reply to a result: its JSON, or the error's [`ErrorReply`] (logged at debug level).
    pub fn from_result<T: Serialize>(r: Result<T, GalleryError>) -> WireReply {
        match r {
            Ok(v) => WireReply { ok: true, body: payload::encode(&v) },
            Err(e) => {
                tracing::debug!(error = %e, "request refused");
                WireReply { ok: false, body: payload::encode(&e.to_reply()) }
            }
        }
    }
}

/// Store + index + search threads.
pub struct Gallery {
    /// Shared with an int8 index, which reads its candidates' exact vectors from it.
    store: Arc<Store>,
    index: RwLock<Index>,
    writer: Mutex<()>,
    pool: rayon::ThreadPool,
    heavy_pool: rayon::ThreadPool,
    config: GalleryConfig,
    rerank_backend: Arc<dyn AllPairs + Send + Sync>,
    /// Top-k on another device (`None`: the CPU index answers). Changed only under the index's write lock.
    device: RwLock<Option<Box<dyn DeviceIndex>>>,
    /// The store state the snapshot file holds (`None`: none written or loaded, or unknown).
    snapshot_tag: Mutex<Option<StoreTag>>,
    /// Where the index came from at open.
    opened_from: IndexSource,
}

/// Where the index came from when the gallery opened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IndexSource {
    /// Loaded from a current snapshot.
    Snapshot,
    /// Rebuilt from every record of the store (with why the snapshot was not used, when snapshots are on).
    Store {
        /// Why not from a snapshot (`None`: snapshots off).
        reason: Option<String>,
    },
}

impl std::fmt::Debug for Gallery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gallery")
            .field("store", &self.store)
            .field("config", &self.config)
            .field("rerank_backend", &self.rerank_backend.name())
            .finish()
    }
}

impl Gallery {
    /// Opens (or creates) the store at `path`, loads the index from its snapshot when current (with
    /// [`GalleryConfig::snapshot`]) or rebuilds it from the store, and applies the retention TTL.
    pub fn open(path: impl AsRef<Path>, config: GalleryConfig) -> Result<Gallery, GalleryError> {
        let started = std::time::Instant::now();
        if config.index == IndexKind::Hnsw && config.precision == Precision::Int8 {
            return Err(GalleryError::Config(
                "--index hnsw links f32 or f16 vectors; use --precision f32 or f16 (or --index exact for int8)".into(),
            ));
        }
        config.hnsw.check().map_err(GalleryError::Config)?;
        let store = Arc::new(Store::open(path, config.dim)?);
        let tag = store.tag()?;
        let snap = snapshot::path_for(store.path());
        let loaded = if config.snapshot {
            match snapshot::load(&snap, &tag, store.dim(), config.precision) {
                Ok(index) => Ok(index),
                Err(SnapshotError::Missing(_)) => Err("no snapshot".to_string()),
                Err(e) => {
                    tracing::warn!("{e}; rebuilding the index from the store");
                    Err(e.to_string())
                }
            }
        } else {
            Err(String::new())
        };
        let (mut index, opened_from, mut snapshot_tag) = match loaded {
            Ok(index) => (index, IndexSource::Snapshot, Some(tag)),
            Err(reason) => {
                let reason = config.snapshot.then_some(reason);
                (Self::rebuild(&store, config.precision)?, IndexSource::Store { reason }, None)
            }
        };
        if config.precision == Precision::Int8 {
            // The int8 index holds codes only: its candidates are re-scored against the store's vectors.
            index.set_vector_source(store.clone());
        }
        if let Some(ttl) = config.ttl_ms {
            let gone = store.expire(now_ms().saturating_sub(ttl))?;
            if !gone.is_empty() {
                index.remove(&gone);
                snapshot_tag = None;
                tracing::info!(expired = gone.len(), "retention applied at open");
            }
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(config.threads)
            .thread_name(|i| format!("gallery-search-{i}"))
            .build()
            .map_err(|e| GalleryError::ThreadPool(e.to_string()))?;
        let want_graph = config.precision != Precision::Int8 && config.index.uses_graph(index.len());
        let same_graph = index.graph().is_some_and(|g| {
            let p = g.params();
            (p.m, p.ef_construction, p.seed) == (config.hnsw.m, config.hnsw.ef_construction, config.hnsw.seed)
        });
        if want_graph && same_graph {
            index.set_ef_search(config.hnsw.ef_search); // the snapshot's graph, as built with these settings
        } else if !want_graph && index.graph().is_some() {
            index.disable_hnsw();
        } else if want_graph {
            let t = std::time::Instant::now();
            pool.install(|| index.enable_hnsw(config.hnsw)).map_err(|e| GalleryError::Config(e.to_string()))?;
            tracing::info!(
                nodes = index.len(),
                m = config.hnsw.m,
                ef_construction = config.hnsw.ef_construction,
                ms = t.elapsed().as_millis() as u64,
                "hnsw graph built from the store"
            );
        }
        let heavy = match config.heavy_threads {
            0 => (pool.current_num_threads() / 2).max(1),
            n => n,
        };
        let heavy_pool = rayon::ThreadPoolBuilder::new()
            .num_threads(heavy)
            .thread_name(|i| format!("gallery-heavy-{i}"))
            .build()
            .map_err(|e| GalleryError::ThreadPool(e.to_string()))?;
        tracing::info!(
            path = %store.path().display(),
            from = ?opened_from,
            embeddings = index.len(),
            precision = %config.precision,
            index = if index.graph().is_some() { "hnsw" } else { "exact" },
            threads = pool.current_num_threads(),
            heavy_threads = heavy,
            ms = started.elapsed().as_millis() as u64,
            "gallery open"
        );
        Ok(Gallery {
            store,
            index: RwLock::new(index),
            writer: Mutex::new(()),
            pool,
            heavy_pool,
            config,
            rerank_backend: Arc::new(CpuAllPairs),
            device: RwLock::new(None),
            snapshot_tag: Mutex::new(snapshot_tag),
            opened_from,
        })
    }

    /// The index of every record in `store`.
    fn rebuild(store: &Store, precision: Precision) -> Result<Index, GalleryError> {
        let mut index = Index::new(store.dim(), precision);
        let records = store.iter_all()?;
        index.reserve(records.total() as usize);
        for r in records {
            let r = r?;
            index.insert(r.id, &r.meta, &r.vector).map_err(|source| GalleryError::Index {
                path: store.path().display().to_string(),
                id: r.id,
                source,
            })?;
        }
        Ok(index)
    }

    /// Where the index came from at open (a snapshot, or the store and why).
    pub fn opened_from(&self) -> &IndexSource {
        &self.opened_from
    }

    /// Runs `f` on the index under its read lock (inspection: tests and tools checking that it agrees with the
    /// store; a query waits for no writer meanwhile, an enrolment waits for `f`).
    pub fn with_index<R>(&self, f: impl FnOnce(&Index) -> R) -> R {
        f(&self.read_index())
    }

    /// The snapshot file beside the store (used when [`GalleryConfig::snapshot`] is on).
    pub fn snapshot_path(&self) -> std::path::PathBuf {
        snapshot::path_for(self.store.path())
    }

    /// Writes the index snapshot when the store changed since the last one; returns its size in bytes (`None`:
    /// already current). Enrolments and forgets wait while it is written; queries do not.
    pub fn save_snapshot(&self) -> Result<Option<u64>, GalleryError> {
        let _w = self.lock_writer();
        self.save_snapshot_locked()
    }

    /// [`Gallery::save_snapshot`] with the writer lock already held.
    fn save_snapshot_locked(&self) -> Result<Option<u64>, GalleryError> {
        let tag = self.store.tag()?;
        let mut saved = self.snapshot_tag.lock().unwrap_or_else(|p| p.into_inner());
        if *saved == Some(tag) {
            return Ok(None);
        }
        let started = std::time::Instant::now();
        // Tombstones of a graph are repaired away first: the snapshot holds live rows only. The writer lock held
        // by the caller keeps the index unchanged between the two locks.
        if self.read_index().tombstones() > 0 {
            let mut guard = self.write_index();
            let index = &mut *guard;
            self.pool.install(|| index.compact());
        }
        let bytes = snapshot::save(&self.snapshot_path(), &tag, &self.read_index())?;
        *saved = Some(tag);
        tracing::info!(
            bytes,
            records = tag.records,
            ms = started.elapsed().as_millis() as u64,
            "index snapshot written"
        );
        Ok(Some(bytes))
    }

    /// Answers top-k on the device `make` builds from the current index (a GPU copy with feature `cuda`) from now
    /// on; the copy follows every insert and removal. An error from `make` leaves the CPU answering.
    pub fn attach_device<E>(&self, make: impl FnOnce(&Index) -> Result<Box<dyn DeviceIndex>, E>) -> Result<String, E> {
        let mut index = self.write_index();
        if index.graph().is_some() {
            // A GPU scans exactly faster than the graph walks: the device answers from the exact rows.
            tracing::info!("dropping the HNSW graph: top-k runs exactly on the device");
            index.disable_hnsw();
        }
        let device = make(&index)?;
        let name = device.name();
        tracing::info!(device = %name, rows = index.len(), "top-k on the device");
        *self.device.write().unwrap_or_else(|p| p.into_inner()) = Some(device);
        Ok(name)
    }

    /// The device answering top-k, if any (its name).
    pub fn device_name(&self) -> Option<String> {
        self.device.read().unwrap_or_else(|p| p.into_inner()).as_ref().map(|d| d.name())
    }

    /// Runs `change` on the device copy while the caller holds the index's write lock (`index` is that guard's
    /// index); a failure drops the device with a warning, so the CPU answers from then on.
    fn mirror(&self, index: &Index, change: impl FnOnce(&mut dyn DeviceIndex, &Index) -> Result<(), String>) {
        let mut slot = self.device.write().unwrap_or_else(|p| p.into_inner());
        if let Some(device) = slot.as_mut()
            && let Err(e) = change(device.as_mut(), index)
        {
            tracing::warn!(device = %device.name(), error = %e, "the device copy of the index failed; top-k answers on the CPU from now on");
            *slot = None;
        }
    }

    /// Removes `ids` from the index (and its device copy). With an HNSW graph removed rows are tombstones until
    /// repaired; `compact` repairs at once (a forget: forgotten vectors leave memory as well as the file).
    fn remove_indexed(&self, ids: &[u64], compact: bool) {
        let mut guard = self.write_index();
        let index = &mut *guard;
        self.pool.install(|| {
            index.remove(ids);
            if compact {
                index.compact();
            }
        });
        self.mirror(index, |d, i| d.removed(i, ids));
    }

    /// Runs re-ranking's all-pairs pass on `backend` from now on (a GPU with feature `cuda`; the CPU by default).
    pub fn set_rerank_backend(&mut self, backend: Arc<dyn AllPairs + Send + Sync>) {
        tracing::info!(backend = backend.name(), "re-ranking backend");
        self.rerank_backend = backend;
    }

    /// Embedding dimension.
    pub fn dim(&self) -> usize {
        self.store.dim()
    }

    /// The configuration it was opened with.
    pub fn config(&self) -> &GalleryConfig {
        &self.config
    }

    /// The (normalised) vector of `id` as the index holds it (widened from f16 when stored so).
    pub fn vector(&self, id: u64) -> Option<Vec<f32>> {
        self.read_index().vector(id)
    }

    /// Embeddings held.
    pub fn len(&self) -> usize {
        self.read_index().len()
    }

    /// Whether the gallery is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn read_index(&self) -> std::sync::RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write_index(&self) -> std::sync::RwLockWriteGuard<'_, Index> {
        self.index.write().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_writer(&self) -> std::sync::MutexGuard<'_, ()> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Enrols a batch: validates and L2-normalises the vectors, commits them durably, then adds them to the index.
    /// Returns the assigned ids once durable (this is the acknowledgement).
    pub fn enroll(&self, mut items: Vec<NewEmbedding>) -> Result<Vec<u64>, GalleryError> {
        let dim = self.dim();
        for (i, e) in items.iter_mut().enumerate() {
            normalise_checked(&mut e.vector, dim, &format!("items[{i}].embedding"))?;
        }
        let _w = self.lock_writer();
        let ids = self.store.enroll(&items)?;
        self.index_new(&ids, &items)?;
        Ok(ids)
    }

    /// Answers a validated query: top-k (optionally re-ranked) and the open-set verdict per query vector.
    pub fn query(&self, query: &Query) -> Result<Vec<QueryResult>, GalleryError> {
        self.search(&query.vectors, &query.options)
    }

    /// [`Gallery::enroll`] of streamed sightings, recording for each the identity it was identified as (`None`:
    /// unknown), so that forgetting that identity forgets the sighting ([`Store::enroll_matched`]).
    pub fn enroll_sightings(
        &self,
        mut items: Vec<NewEmbedding>,
        matches: &[Option<String>],
    ) -> Result<Vec<u64>, GalleryError> {
        let dim = self.dim();
        for (i, e) in items.iter_mut().enumerate() {
            normalise_checked(&mut e.vector, dim, &format!("detections[{i}].embedding"))?;
        }
        let _w = self.lock_writer();
        let ids = self.store.enroll_matched(&items, matches)?;
        self.index_new(&ids, &items)?;
        Ok(ids)
    }

    fn index_new(&self, ids: &[u64], items: &[NewEmbedding]) -> Result<(), GalleryError> {
        let mut guard = self.write_index();
        let index = &mut *guard;
        index.reserve(items.len());
        let mut failed = None;
        let mut inserted = 0;
        self.pool.install(|| {
            for (id, e) in ids.iter().zip(items) {
                if let Err(source) = index.insert(*id, &e.meta, &e.vector) {
                    let path = self.store.path().display().to_string();
                    failed = Some(GalleryError::Index { path, id: *id, source });
                    break;
                }
                inserted += 1;
            }
        });
        if failed.is_none()
            && index.graph().is_none()
            && self.config.index == IndexKind::Auto
            && self.config.precision != Precision::Int8
            && self.config.index.uses_graph(index.len())
            && self.device_name().is_none()
        {
            // `auto` crossing the size where the graph wins: built once, enrolments wait meanwhile (not with a
            // GPU answering top-k: its exact scan is faster than the graph).
            let t = std::time::Instant::now();
            self.pool
                .install(|| index.enable_hnsw(self.config.hnsw))
                .map_err(|e| GalleryError::Config(e.to_string()))?;
            tracing::info!(nodes = index.len(), ms = t.elapsed().as_millis() as u64, "index auto: hnsw graph built");
        }
        // The device follows exactly what entered the index, even when an insert failed part way.
        self.mirror(index, |d, i| d.appended(i, &ids[..inserted]));
        failed.map_or(Ok(()), Err)
    }

    /// Store and index figures.
    pub fn stats(&self) -> Result<GalleryStats, GalleryError> {
        Ok(GalleryStats {
            store: self.store.stats()?,
            index: self.read_index().stats(),
            threads: self.pool.current_num_threads(),
            threshold: self.config.threshold,
            ttl_ms: self.config.ttl_ms,
        })
    }

    /// Enrol request (JSON) to reply ([`EnrollReply`] or [`ErrorReply`]).
    pub fn handle_enroll(&self, body: &[u8]) -> WireReply {
        WireReply::from_result(
            payload::decode_enroll(body, self.dim(), now_ms())
                .map_err(GalleryError::from)
                .and_then(|items| self.enroll(items))
                .map(|ids| EnrollReply { ids }),
        )
    }

    /// Raw-f32 enrolment (body of little-endian f32, optional JSON metadata attachment) to reply.
    pub fn handle_enroll_raw(&self, body: &[u8], attachment: Option<&[u8]>) -> WireReply {
        WireReply::from_result(
            payload::decode_enroll_raw(body, attachment, self.dim(), now_ms())
                .map_err(GalleryError::from)
                .and_then(|items| self.enroll(items))
                .map(|ids| EnrollReply { ids }),
        )
    }

    /// Query (JSON body plus selector parameters) to reply ([`QueryReply`] or [`ErrorReply`]).
    pub fn handle_query(&self, body: &[u8], params: &str) -> WireReply {
        WireReply::from_result(
            payload::decode_query(body, params, self.dim())
                .map_err(GalleryError::from)
                .and_then(|q| self.query(&q))
                .map(|results| QueryReply { results }),
        )
    }

    /// Raw-f32 query (options from selector parameters) to reply.
    pub fn handle_query_raw(&self, body: &[u8], params: &str) -> WireReply {
        WireReply::from_result(
            payload::decode_query_raw(body, params, self.dim())
                .map_err(GalleryError::from)
                .and_then(|q| self.query(&q))
                .map(|results| QueryReply { results }),
        )
    }

    /// Forget request (JSON) to reply ([`ForgetReply`] or [`ErrorReply`]).
    pub fn handle_forget(&self, body: &[u8]) -> WireReply {
        WireReply::from_result(
            payload::decode_forget(body)
                .map_err(GalleryError::from)
                .and_then(|f| self.forget(&f))
                .map(|removed| ForgetReply { removed }),
        )
    }

    /// Stats request to reply ([`GalleryStats`] or [`ErrorReply`]).
    pub fn handle_stats(&self) -> WireReply {
        WireReply::from_result(self.stats())
    }
}

/// Checks the dimension and values and scales `v` to unit length.
fn normalise_checked(v: &mut [f32], dim: usize, field: &str) -> Result<(), PayloadError> {
    let bad = |message: String| PayloadError { field: field.to_string(), message };
    if v.len() != dim {
        return Err(bad(format!("has {} values, the gallery holds {dim}-d embeddings", v.len())));
    }
    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
        return Err(bad(format!("value {i} is {}, not a finite number", v[i])));
    }
    let norm = v.iter().map(|&x| (x as f64) * (x as f64)).sum::<f64>().sqrt();
    if norm == 0.0 || !norm.is_finite() {
        return Err(bad("all zeros: a zero vector has no direction to compare".into()));
    }
    v.iter_mut().for_each(|x| *x = (*x as f64 / norm) as f32);
    Ok(())
}

/// Merges the answers of several gallery shards to one query into the answer one gallery holding everything would
/// give: matches ordered by score (then id) — or by re-ranked distance when every match carries one — cut to `k`,
/// and the open-set verdict recomputed with `threshold` (the first shard's when None). Exact for plain top-k when
/// ids are unique across shards; re-ranked shard answers are merged by distance, an approximation since each
/// shard re-ranked within its own neighbourhood.
pub fn merge_topk(shards: &[QueryResult], k: usize, threshold: Option<f32>) -> QueryResult {
    let threshold = threshold.or_else(|| shards.first().map(|s| s.threshold)).unwrap_or(0.5);
    let mut all: Vec<Match> = shards.iter().flat_map(|s| s.matches.iter().cloned()).collect();
    if !all.is_empty() && all.iter().all(|m| m.rerank_distance.is_some()) {
        all.sort_by(|a, b| {
            let (x, y) = (a.rerank_distance.unwrap_or(0.0), b.rerank_distance.unwrap_or(0.0));
            x.total_cmp(&y).then(a.id.cmp(&b.id))
        });
    } else {
        all.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
    }
    all.truncate(k);
    result_of(all, threshold)
}
