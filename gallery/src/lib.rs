//! The gallery service's core, without the network: a durable embedding store, an exact top-k index, open-set
//! answers, query-time re-ranking and the JSON wire payloads a Zenoh (or any other) transport carries.
//!
//! - [`store`]: every embedding and its metadata in a redb file; enrolments are acknowledged once durable.
//! - [`index`]: in-memory exact top-k (f32 or f16 storage), SIMD scans for single queries, GEMM for batches
//!   ([`kernels`], [`topk`]).
//! - [`gallery`]: the two together ([`Gallery`]), forgetting, retention and shard merging ([`merge_topk`]).
//! - [`payload`]: request/reply types and validating decoders whose errors name the field.
//! - [`openset`]: the best identity of a result list, `unknown` below a threshold, threshold calibration.
//! - [`rerank`]: k-reciprocal re-ranking over a query's candidate neighbourhood.
//! - [`net`] (feature `net`, default): the Zenoh server, client and stream ingest.
//! - [`bench`]: top-k throughput against FAISS on the same data.
//! - [`gpu`] (feature `cuda`): top-k and re-ranking's all-pairs pass on an NVIDIA GPU, same answers as the CPU.
//!
//! A transport wraps a shared `Arc<Gallery>`: `handle_enroll`, `handle_query`, `handle_forget` and
//! `handle_stats` turn request bytes into a [`gallery::WireReply`] (JSON body, success or error).
//! No training framework: this crate depends on `reid-runtime` only.

pub mod bench;
pub mod gallery;
#[cfg(feature = "cuda")]
pub mod gpu;
pub mod index;
pub mod kernels;
#[cfg(feature = "net")]
pub mod net;
pub mod openset;
pub mod payload;
pub mod record;
pub mod rerank;
pub mod store;
pub mod topk;

pub use gallery::{Gallery, GalleryConfig, GalleryError, GalleryStats, WireReply, merge_topk};
pub use index::{Filter, Index, Precision};
pub use payload::{Forget, PayloadError, Query, QueryOptions, QueryResult};
pub use record::{Metadata, NewEmbedding, Record, TimeRange};
pub use store::{Store, StoreError};
