//! The re-identification gallery's wire contract: what clients, the gallery server and the GStreamer publisher
//! say to each other, without the store or the transport.
//!
//! - [`payload`]: request and reply types (JSON a Python client can write by hand) and their decoders: serde into
//!   typed structs that refuse unknown fields, then one `validate()` per request; every error names the field
//!   (`items[3].embedding`).
//! - [`record`]: the data kept for every embedding ([`Metadata`], [`TimeRange`], [`NewEmbedding`], [`Record`]).
//! - [`filter`]: which gallery items a query may match ([`Filter`]).
//! - [`stream`]: per-frame embeddings as `reidpublish` streams them ([`FrameEmbeddings`]) and the gallery's
//!   per-frame answers ([`IdentifiedFrame`]).
//! - [`keys`]: the key space (`<prefix>/gallery/<name>/query`, `<prefix>/embeddings/<camera>`, ...).
//! - [`net`]: network options ([`NetConfig`]: peer or client, endpoints, a transport config file); turning them
//!   into a Zenoh configuration is the transport's job (`reid_gallery::net`, `reidpublish`).
//! - `tls` (feature `tls`): certificate and key files checked before a transport uses them (PEM, validity dates,
//!   common name), so a wrong file gets an error naming it.
//!
//! This crate never depends on the gallery's store (redb), on Zenoh or on the inference runtime.

pub mod error;
pub mod filter;
pub mod keys;
pub mod net;
pub mod payload;
pub mod record;
pub mod stream;
#[cfg(feature = "tls")]
pub mod tls;

pub use error::{ConfigError, PayloadError};
pub use filter::Filter;
pub use keys::{KeySpace, check_chunks};
pub use net::{DEFAULT_ENDPOINT, DEFAULT_TLS_ENDPOINT, Mode, NetConfig, TlsFiles};
pub use payload::{
    EnrollAttachment, EnrollItem, EnrollReply, EnrollRequest, ErrorReply, Forget, ForgetReply, ForgetRequest, Match,
    Query, QueryOptions, QueryReply, QueryRequest, QueryResult,
};
pub use record::{Metadata, NewEmbedding, Record, TimeRange, now_ms};
pub use stream::{Detection, FrameEmbeddings, Identified, IdentifiedFrame, decode_frame, decode_frame_at};
