//! Wire payloads: JSON a Python client can write by hand, and validating decoders whose errors name the field.
//!
//! **Embeddings** travel in one of two ways, per item or query:
//! - `"embedding": [0.12, -0.03, ...]`, a JSON array of numbers (exactly `dim` of them);
//! - `"embedding_b64": "..."`, standard base64 (RFC 4648, with padding) of the little-endian f32 bytes
//!   (`4 * dim` bytes; in Python `base64.b64encode(np.asarray(v, '<f4').tobytes())`).
//!
//! For a whole body of raw bytes (no JSON), see [`decode_enroll_raw`] and [`decode_query_raw`]: the body is
//! `n * dim` little-endian f32 values and the metadata or options travel beside it (a JSON attachment, selector
//! parameters). Vectors need not be normalised (the gallery L2-normalises them) but must be finite and non-zero.
//!
//! Enrol: `{"items": [{"embedding": [...], "identity": "alice", "camera": "c1", "timestamp_ms": 1700000000000,
//! "track_id": 7, "source": "door-2"}]}`, or one such item on its own; everything but the embedding is optional
//! (`timestamp_ms` defaults to the server's clock).
//!
//! Query: `{"embedding": [...], "k": 10, "rerank": false, "threshold": 0.6, "cameras": ["c1"], "from_ms": 0,
//! "to_ms": 1800000000000, "identified_only": false}`; several queries with `"embeddings": [[...], ...]` or
//! `"embeddings_b64"` (concatenated vectors). Options may also come as selector parameters
//! (`k=5;rerank=true;cameras=c1,c2`, `&` also separates), see [`decode_query_params`].
//!
//! Forget: `{"identity": "alice"}` (every record labelled alice and every streamed sighting identified as her), or
//! `{"from_ms": ..., "to_ms": ..., "camera": "c1"}` (at least one bound; a range covering all time is refused), or
//! `{"all": true}` (optionally with `camera`) to forget every time.
//!
//! Errors quote a value clipped to [`crate::error::MAX_QUOTED`] bytes and are at most
//! [`crate::error::MAX_ERROR_MESSAGE`] bytes long, whatever the size of what was sent.
//!
//! Decoding is serde into the typed [`request`] structs, which refuse unknown fields (a typo such as `treshold`
//! must not silently fall back to a default) and name the field of a wrong JSON type (`items[1].embedding[3]`),
//! then one `validate()` per request for limits and values ([`validate`]). A `null` field counts as absent.

mod de;
pub mod decode;
pub mod params;
pub mod reply;
pub mod request;
pub mod validate;
mod vector;

pub use decode::{decode_enroll, decode_enroll_raw, decode_forget, decode_query, decode_query_raw};
pub use params::decode_query_params;
pub use reply::{EnrollReply, ErrorReply, ForgetReply, Match, QueryReply, QueryResult, encode};
pub use request::{EnrollAttachment, EnrollItem, EnrollRequest, ForgetRequest, QueryRequest};
pub use validate::{Forget, Query, QueryOptions, covers_all_time};

// The payload error lives with the protocol's other errors; re-exported here where the decoders are.
pub use crate::error::PayloadError;

/// Largest `k` a query may ask for.
pub const MAX_K: usize = 1000;
/// Most embeddings per enrol request.
pub const MAX_ENROLL_ITEMS: usize = 10_000;
/// Most query vectors per request.
pub const MAX_QUERIES: usize = 1024;
/// Longest identity, camera or source string, in bytes.
pub const MAX_STRING: usize = 256;
/// `k` when the request gives none.
pub const DEFAULT_K: usize = 10;
