//! The gallery on the network, over Zenoh (DESIGN.md key space, prefix configurable, default `reid`):
//!
//! | key | kind | body |
//! |---|---|---|
//! | `<prefix>/gallery/<name>/query` | queryable | [`crate::payload::QueryRequest`] JSON (or f32 bytes with `?format=f32`) |
//! | `<prefix>/gallery/<name>/enroll` | queryable | [`crate::payload::EnrollRequest`] JSON (or f32 bytes + JSON attachment) |
//! | `<prefix>/gallery/<name>/forget` | queryable | [`crate::payload::ForgetRequest`] JSON |
//! | `<prefix>/gallery/<name>/stats` | queryable | empty |
//! | `<prefix>/embeddings/<camera>` | subscribed | [`ingest::FrameEmbeddings`] JSON (what `reidpublish` sends) |
//! | `<prefix>/gallery/<name>/identified/<camera>` | published | [`ingest::IdentifiedFrame`] JSON |
//!
//! - [`config`]: peer/client mode, endpoints, mutual TLS, an optional Zenoh config file (access control), as a
//!   `zenoh::Config` ([`ZenohConfig`]); certificate files are checked first.
//! - [`certs`]: a site's CA, server and client certificates and its access-control rules by common name.
//! - [`keys`]: the key expressions (the protocol's).
//! - [`server`]: queryables and the ingest subscriber around a shared [`crate::Gallery`].
//! - [`client`]: a Rust client that merges the top-k of every shard answering the same key.
//! - [`ingest`]: streamed frame embeddings: identification and the published answer (types and decoding are the
//!   protocol's).
//!
//! The wire types (requests, replies, stream messages, keys, network options) live in `reid-protocol`, which
//! clients such as the GStreamer publisher use without this crate's store.

pub mod certs;
pub mod client;
pub mod config;
pub mod ingest;
pub mod server;

pub use client::GalleryClient;
pub use config::{Mode, NetConfig, TlsFiles, ZenohConfig};
pub use reid_protocol::keys::{self, KeySpace};
pub use reid_protocol::tls;
pub use server::{IdentifiedTap, Server, ServerOptions};

use reid_protocol::ConfigError;

/// Network failures; each names the key, endpoint or setting involved.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// A Zenoh setting is invalid.
    #[error("zenoh config `{key}`: {message}")]
    Config {
        /// The setting.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// Zenoh failed (opening the session, declaring a key, sending).
    #[error("zenoh: {0}")]
    Zenoh(String),
    /// No server answered on the key.
    #[error(
        "no gallery answered on `{key}` within {timeout_ms} ms (none reachable, or the access rules deny this client: enrol and forget need an admin certificate)"
    )]
    NoReply {
        /// The key expression queried.
        key: String,
        /// The timeout.
        timeout_ms: u64,
    },
    /// A server answered with an error.
    #[error("the gallery refused the request: {0}")]
    Refused(String),
    /// A reply could not be decoded.
    #[error("undecodable reply on `{key}`: {message}")]
    BadReply {
        /// The key expression.
        key: String,
        /// What is wrong.
        message: String,
    },
}

impl From<ConfigError> for NetError {
    fn from(e: ConfigError) -> Self {
        NetError::Config { key: e.key, message: e.message }
    }
}
