//! The page: one HTML file, one script, one style sheet, compiled into the binary (`include_str!`); no CDN, no
//! framework, no build step. Every value from the server is put on the page with `textContent` (never HTML).

use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;

/// The page.
pub const INDEX_HTML: &str = include_str!("assets/index.html");
/// Its script.
pub const APP_JS: &str = include_str!("assets/app.js");
/// Its style sheet.
pub const STYLE_CSS: &str = include_str!("assets/style.css");

fn typed(kind: &'static str, body: &'static str) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, HeaderValue::from_static(kind))], body)
}

/// `GET /`.
pub async fn index() -> impl IntoResponse {
    typed("text/html; charset=utf-8", INDEX_HTML)
}

/// `GET /app.js`.
pub async fn script() -> impl IntoResponse {
    typed("text/javascript; charset=utf-8", APP_JS)
}

/// `GET /style.css`.
pub async fn style() -> impl IntoResponse {
    typed("text/css; charset=utf-8", STYLE_CSS)
}
