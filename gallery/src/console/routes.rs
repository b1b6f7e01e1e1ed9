//! The console's router: the page, the API, JSON error replies (also for unknown routes, wrong methods and
//! bodies over the limit) and security headers on every response.

use super::api;
use super::assets;
use super::{ConsoleOptions, Embedder, LiveFeed};
use crate::gallery::GalleryError;
use crate::openset::CalibrationCurve;
use crate::{Gallery, payload::ErrorReply};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// What every handler shares.
pub struct AppState {
    /// The gallery served.
    pub gallery: Arc<Gallery>,
    /// Live identifications.
    pub feed: LiveFeed,
    /// The operator token (`None`: admin actions off).
    pub token: Option<String>,
    /// Search by image.
    pub embedder: Option<Arc<dyn Embedder>>,
    /// The Calibration page's curve.
    pub calibration: Option<CalibrationCurve>,
    /// Most live viewers.
    pub max_viewers: usize,
    /// Most request body bytes.
    pub body_limit: usize,
    /// Heavy queries (re-ranked, many vectors) running at once; more are answered busy.
    pub heavy: Semaphore,
}

/// Heavy queries the console runs at once.
pub const HEAVY_AT_ONCE: usize = 2;

/// An error reply: HTTP status and the gallery's JSON error body (`{"error": ..., "field": ...}`).
#[derive(Debug)]
pub struct ApiError {
    /// The status.
    pub status: StatusCode,
    /// The body.
    pub reply: ErrorReply,
}

impl ApiError {
    /// A 400 naming `field`.
    pub fn bad(field: &str, error: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, Some(field), error)
    }

    /// Any status.
    pub fn new(status: StatusCode, field: Option<&str>, error: impl Into<String>) -> ApiError {
        let error = reid_protocol::error::clip(&error.into(), reid_protocol::error::MAX_ERROR_MESSAGE);
        ApiError { status, reply: ErrorReply { error, field: field.map(str::to_owned) } }
    }
}

impl From<GalleryError> for ApiError {
    fn from(e: GalleryError) -> ApiError {
        let status = match &e {
            GalleryError::Payload(_) | GalleryError::OverBudget(_) | GalleryError::Rerank(_) => StatusCode::BAD_REQUEST,
            GalleryError::UnknownIdentity => StatusCode::NOT_FOUND,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status.is_server_error() {
            tracing::error!("console: {e}");
        }
        ApiError { status, reply: e.to_reply() }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = json_response(self.status, crate::payload::encode(&self.reply));
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        r
    }
}

/// A JSON body with `status`.
pub fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response()
}

/// The console's routes over `gallery`.
pub fn router(gallery: Arc<Gallery>, feed: LiveFeed, options: ConsoleOptions) -> Router {
    let state = AppState {
        gallery,
        feed,
        token: options.token,
        embedder: options.embedder,
        calibration: options.calibration,
        max_viewers: options.max_viewers,
        body_limit: options.body_limit,
        heavy: Semaphore::new(HEAVY_AT_ONCE),
    };
    Router::new()
        .route("/", get(assets::index))
        .route("/app.js", get(assets::script))
        .route("/style.css", get(assets::style))
        .route("/api/stats", get(api::stats))
        .route("/api/query", post(api::query))
        .route("/api/search", post(api::search))
        .route("/api/identities", get(api::identities))
        .route("/api/identities/{name}", get(api::sightings))
        .route("/api/unknown", get(api::unknown))
        .route("/api/calibration", get(api::calibration))
        .route("/api/live", get(api::live))
        .route("/api/rates", get(api::rates))
        .route("/api/auth", get(api::auth))
        .route("/api/enroll", post(api::enroll))
        .route("/api/forget", post(api::forget))
        .route("/api/label", post(api::label))
        .fallback(not_found)
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(options.body_limit))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(Arc::new(state))
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    let path = reid_protocol::error::clip(uri.path(), 128);
    ApiError::new(
        StatusCode::NOT_FOUND,
        None,
        format!("no such page or API route: {path} (the API is listed in the gallery README)"),
    )
}

async fn wrong_method(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    let path = reid_protocol::error::clip(uri.path(), 128);
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, None, format!("{method} is not allowed on {path}"))
}

/// The page runs only its own script and style, talks only to this server, is never framed.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

async fn security_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}
