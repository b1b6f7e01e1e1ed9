//! The gallery service's core: a durable embedding store, an exact top-k index, open-set answers and query-time
//! re-ranking behind the wire contract of `reid-protocol`, and (feature `net`) its Zenoh transport.
//!
//! - [`store`]: every embedding and its metadata in a redb file; enrolments are acknowledged once durable.
//! - [`index`]: in-memory exact top-k (f32, f16 or int8 + exact re-scoring), SIMD scans for single queries, GEMM for batches
//!   ([`kernels`], [`topk`]).
//! - [`hnsw`]: an HNSW graph (approximate top-k) over the index's f32/f16 rows, with filters, removal and repair.
//! - [`budget`]: what one query request may cost (re-ranking pairs, matches) and which requests are heavy.
//! - [`gallery`]: the two together ([`Gallery`]), forgetting, retention and shard merging ([`merge_topk`]).
//! - [`payload`], [`record`]: request/reply types, validating decoders whose errors name the field, and the data
//!   kept per embedding (re-exported from `reid-protocol`).
//! - [`snapshot`]: the index written beside the store and loaded at start when it matches the store's state.
//! - [`openset`]: the best identity of a result list, `unknown` below a threshold, threshold calibration.
//! - [`rerank`]: k-reciprocal re-ranking over a query's candidate neighbourhood.
//! - [`net`] (feature `net`): the Zenoh server, client and stream ingest.
//! - [`console`] (feature `console`): the web console and its JSON API over HTTP (axum), live identifications
//!   by server-sent events.
//! - [`random`]: reproducible random unit vectors (benchmarks and tests; `reid bench gallery` times against FAISS).
//! - [`gpu`] (feature `cuda`): top-k and re-ranking's all-pairs pass on an NVIDIA GPU, same answers as the CPU.
//!
//! A transport wraps a shared `Arc<Gallery>`: `handle_enroll`, `handle_query`, `handle_forget` and
//! `handle_stats` turn request bytes into a [`gallery::WireReply`] (JSON body, success or error).
//! No training framework: this crate depends on `reid-protocol` and `reid-eval` only.

pub mod budget;
#[cfg(feature = "console")]
pub mod console;
pub mod gallery;
#[cfg(feature = "cuda")]
pub mod gpu;
pub mod hnsw;
pub mod index;
pub mod kernels;
#[cfg(feature = "net")]
pub mod net;
pub mod openset;
pub mod random;
pub mod rerank;
pub mod snapshot;
pub mod store;
pub mod topk;

pub use reid_protocol::{self as protocol, payload, record};

pub use gallery::{Gallery, GalleryConfig, GalleryError, GalleryStats, IndexSource, WireReply, merge_topk};
pub use index::{Filter, Index, Precision};
pub use payload::{Forget, PayloadError, Query, QueryOptions, QueryResult};
pub use record::{Metadata, NewEmbedding, Record, TimeRange};
pub use store::{Store, StoreError, StoreTag};
