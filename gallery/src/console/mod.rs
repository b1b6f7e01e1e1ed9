//! The web console (feature `console`): a page for operators and a JSON API under `/api/` beside the Zenoh
//! queryables, served over HTTP by axum on its own small tokio runtime.
//!
//! - [`routes`]: the router, the page's assets, error replies as JSON, the body limit.
//! - [`api`]: the JSON API (stats, query, search by image, identities, sightings, unknown tracks, calibration, and
//!   the admin actions enrol, forget, label).
//! - [`live`]: identified frames from the Zenoh server to every viewer (server-sent events), per-camera rates.
//! - [`auth`]: the operator's bearer token (constant-time compare), where the console may listen.
//! - [`embed`]: the [`Embedder`] trait the serving program implements (this crate has no inference engine).
//! - [`assets`]: the page (HTML, JS, CSS) embedded in the binary; no CDN, no build step.
//!
//! Off unless asked for (`reid gallery serve --http ADDR`); loopback by default; admin actions need
//! `Authorization: Bearer <token>` and are refused (401) without it; everything else is read-only.

pub mod api;
pub mod assets;
pub mod auth;
pub mod embed;
pub mod live;
pub mod routes;

pub use embed::Embedder;
pub use live::LiveFeed;

use crate::Gallery;
use crate::openset::CalibrationCurve;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

/// Largest request body by default (an uploaded crop, an enrol request): 16 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 16 << 20;
/// Most live viewers (server-sent event streams) at once by default.
pub const DEFAULT_MAX_VIEWERS: usize = 256;

/// How the console serves.
#[derive(Clone)]
pub struct ConsoleOptions {
    /// Where to listen (loopback unless an operator token file was given; see [`auth::check_bind`]).
    pub addr: SocketAddr,
    /// The operator token admin actions need (`None`: admin actions are off, the console is read-only).
    pub token: Option<String>,
    /// Whether the operator chose the token (a token file): allows a non-loopback address.
    pub operator_token: bool,
    /// Largest request body in bytes; larger ones are answered 413 with a JSON error.
    pub body_limit: usize,
    /// Most live viewers at once; more are answered 503.
    pub max_viewers: usize,
    /// Embeds uploaded crops for "search by image" (`None`: that page says the server has no model).
    pub embedder: Option<Arc<dyn Embedder>>,
    /// The open-set threshold curve the Calibration page plots.
    pub calibration: Option<CalibrationCurve>,
    /// Threads of the console's runtime.
    pub threads: usize,
}

impl ConsoleOptions {
    /// Loopback defaults on `addr`: no token (read-only), 16 MiB bodies, 256 viewers, 2 threads.
    pub fn new(addr: SocketAddr) -> ConsoleOptions {
        ConsoleOptions {
            addr,
            token: None,
            operator_token: false,
            body_limit: DEFAULT_BODY_LIMIT,
            max_viewers: DEFAULT_MAX_VIEWERS,
            embedder: None,
            calibration: None,
            threads: 2,
        }
    }
}

/// Console failures at start.
#[derive(Debug, Error)]
pub enum ConsoleError {
    /// The address may not be used (e.g. not loopback without an operator token).
    #[error("console: {0}")]
    Refused(String),
    /// Binding or starting the runtime failed.
    #[error("console on {addr}: {source}")]
    Io {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// A running console; dropping it (or [`Console::stop`]) stops serving.
pub struct Console {
    runtime: Option<tokio::runtime::Runtime>,
    addr: SocketAddr,
}

impl Console {
    /// Binds `options.addr` and serves `gallery` with the live `feed` (give the Zenoh server `feed.tap()`).
    pub fn start(gallery: Arc<Gallery>, feed: LiveFeed, options: ConsoleOptions) -> Result<Console, ConsoleError> {
        auth::check_bind(options.addr, options.operator_token).map_err(ConsoleError::Refused)?;
        let addr = options.addr;
        let io = |source| ConsoleError::Io { addr, source };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(options.threads.max(1))
            .thread_name("reid-console")
            .enable_io()
            .enable_time()
            .build()
            .map_err(io)?;
        let listener = std::net::TcpListener::bind(addr).map_err(io)?;
        listener.set_nonblocking(true).map_err(io)?;
        let bound = listener.local_addr().map_err(io)?;
        let listener = {
            let _guard = runtime.enter();
            tokio::net::TcpListener::from_std(listener).map_err(io)?
        };
        let app = routes::router(gallery, feed.clone(), options);
        runtime.spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!("console stopped: {e}");
            }
        });
        runtime.spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                feed.publish_rates();
            }
        });
        tracing::info!("console serving on http://{bound}/");
        Ok(Console { runtime: Some(runtime), addr: bound })
    }

    /// The address it listens on (the real port when started on port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops serving (open connections are dropped).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(Duration::from_secs(1));
        }
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        self.shutdown();
    }
}
