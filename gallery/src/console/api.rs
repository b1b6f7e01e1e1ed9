//! The JSON API under `/api/`, mirroring the Zenoh queryables (same request and reply bodies) plus what the
//! page needs. Documented in the gallery README ("Web console"). Blocking gallery work runs on tokio's blocking
//! threads; every failure is a JSON `{"error", "field"}` reply and the server keeps serving.

use super::auth::bearer_matches;
use super::routes::{ApiError, AppState, json_response};
use crate::gallery::{GalleryError, WireReply};
use crate::payload::{self, QueryReply};
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::broadcast::error::RecvError;

type St = State<Arc<AppState>>;

/// Runs gallery work on a blocking thread.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, ApiError> + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, None, format!("worker failed: {e}"))))
}

fn ok_json<T: serde::Serialize>(value: &T) -> Response {
    json_response(StatusCode::OK, payload::encode(value))
}

fn wire(reply: WireReply) -> Response {
    json_response(if reply.ok { StatusCode::OK } else { StatusCode::BAD_REQUEST }, reply.body)
}

/// The body, or the reason it was refused (over the limit: 413).
fn body(b: Result<Bytes, BytesRejection>, limit: usize) -> Result<Bytes, ApiError> {
    b.map_err(|e| {
        let status = e.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(status, Some("body"), format!("larger than this console's limit of {limit} bytes"))
        } else {
            ApiError::new(status, Some("body"), e.body_text())
        }
    })
}

/// Admin actions: the operator token as `Authorization: Bearer <token>`.
fn admin(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(token) = &state.token else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            Some("authorization"),
            "admin actions are off: this console was started without an operator token (read-only)",
        ));
    };
    if bearer_matches(headers.get(header::AUTHORIZATION).map(|v| v.as_bytes()), token) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            Some("authorization"),
            "admin actions need the operator token: send `Authorization: Bearer <token>` (printed or written by \
             `reid gallery serve --http ...`)",
        ))
    }
}

/// `GET /api/stats`: the gallery's statistics (as the Zenoh `stats` queryable) and the console's.
pub async fn stats(State(s): St) -> Result<Response, ApiError> {
    let st = s.clone();
    let gallery = blocking(move || Ok(st.gallery.stats()?)).await?;
    Ok(ok_json(&json!({
        "gallery": gallery,
        "console": { "viewers": s.feed.viewers(), "frames": s.feed.frames_sent(), "search": s.embedder.as_ref().map(|e| e.describe()), "admin": s.token.is_some() },
    })))
}

/// `GET /api/auth`: whether admin actions are on, and whether this request's token is the operator's.
pub async fn auth(State(s): St, headers: HeaderMap) -> Response {
    let admin_ok = admin(&s, &headers).is_ok();
    ok_json(&json!({ "admin_enabled": s.token.is_some(), "admin": admin_ok }))
}

/// Decodes and costs a query; heavy ones (re-ranked, many vectors) take one of the console's heavy slots.
fn run_query(s: &AppState, body: &[u8], params: &str) -> Result<QueryReply, ApiError> {
    let gallery = &s.gallery;
    let dim = gallery.dim();
    let q = payload::decode_query(body, params, dim).map_err(GalleryError::from)?;
    let cost = gallery.cost(q.vectors.len() / dim.max(1), &q.options)?;
    let _slot = if cost.heavy {
        Some(s.heavy.try_acquire().map_err(|_| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                None,
                "busy: the console's heavy requests (re-ranked, or many vectors) are all running; retry later, or \
                 query without rerank",
            )
        })?)
    } else {
        None
    };
    Ok(QueryReply { results: gallery.query(&q)? })
}

/// `POST /api/query`: a query request (JSON, as on Zenoh); options also from the URL's query string
/// (`?k=5&rerank=true`).
pub async fn query(
    State(s): St,
    RawQuery(params): RawQuery,
    b: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let b = body(b, s.body_limit)?;
    let params = params.unwrap_or_default();
    let reply = blocking(move || run_query(&s, &b, &params)).await?;
    Ok(ok_json(&reply))
}

/// `POST /api/search?k=10&rerank=true`: the body is an image file (a person crop); the server embeds it and
/// answers its top-k like a query.
pub async fn search(
    State(s): St,
    RawQuery(params): RawQuery,
    b: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Some(embedder) = s.embedder.clone() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            Some("image"),
            "search by image: this server has no model (reid gallery serve --model m.onnx)",
        ));
    };
    let b = body(b, s.body_limit)?;
    if b.is_empty() {
        return Err(ApiError::bad("image", "empty upload: send the image file as the request body"));
    }
    let params = params.unwrap_or_default();
    let reply = blocking(move || {
        let started = Instant::now();
        let vector = embedder.embed(&b).map_err(|e| ApiError::bad("image", e))?;
        let embed_ms = started.elapsed().as_secs_f64() * 1e3;
        let dim = s.gallery.dim();
        if vector.len() != dim {
            return Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                Some("image"),
                format!("the model gives {}-d embeddings, the gallery holds {dim}-d", vector.len()),
            ));
        }
        let request = serde_json::to_vec(&json!({ "embedding": vector })).unwrap_or_default();
        let started = Instant::now();
        let mut reply = run_query(&s, &request, &params)?;
        let search_ms = started.elapsed().as_secs_f64() * 1e3;
        let mut result = serde_json::to_value(reply.results.pop()).unwrap_or_default();
        // Sightings carry no label: add the identity each was identified as, when any.
        if let Some(matches) = result.get_mut("matches").and_then(|m| m.as_array_mut()) {
            let ids: Vec<u64> = matches.iter().filter_map(|m| m["id"].as_u64()).collect();
            let matched = s.gallery.matched_of(&ids)?;
            for m in matches.iter_mut() {
                let who = m["id"].as_u64().and_then(|id| matched.get(&id));
                m["matched_identity"] = json!(who);
            }
        }
        Ok(json!({ "model": embedder.describe(), "embed_ms": embed_ms, "search_ms": search_ms, "result": result }))
    })
    .await?;
    Ok(ok_json(&reply))
}

/// `GET /api/identities`: every identity with counts per camera and first/last seen.
pub async fn identities(State(s): St) -> Result<Response, ApiError> {
    let list = blocking(move || Ok(s.gallery.identities()?)).await?;
    Ok(ok_json(&json!({ "identities": list })))
}

/// `GET /api/identities/{name}`: that identity's enrolled embeddings and sightings, oldest first.
pub async fn sightings(State(s): St, name: Result<Path<String>, PathRejection>) -> Result<Response, ApiError> {
    let Path(name) = name.map_err(|e| ApiError::bad("identity", e.body_text()))?;
    let (list, who) = blocking(move || Ok((s.gallery.sightings(&name)?, name))).await?;
    if list.is_empty() {
        return Err(ApiError::new(StatusCode::NOT_FOUND, Some("identity"), "no embeddings under that identity"));
    }
    Ok(ok_json(&json!({ "identity": who, "sightings": list })))
}

/// `GET /api/unknown`: tracks identified as nobody, newest first (what Admin can label).
pub async fn unknown(State(s): St) -> Result<Response, ApiError> {
    let list = blocking(move || Ok(s.gallery.unknown_tracks()?)).await?;
    Ok(ok_json(&json!({ "tracks": list })))
}

/// `GET /api/calibration`: the open-set threshold curve given at start (`curve` null, with a `hint`, when none),
/// and the threshold serving now.
pub async fn calibration(State(s): St) -> Response {
    let hint = "no calibration curve: write one with `reid gallery calibrate --curve FILE` and serve with \
                --calibration FILE";
    ok_json(&json!({
        "curve": s.calibration,
        "serving_threshold": s.gallery.config().threshold,
        "hint": if s.calibration.is_some() { None } else { Some(hint) },
    }))
}

/// `GET /api/rates`: per-camera counts and rates.
pub async fn rates(State(s): St) -> Response {
    ok_json(&s.feed.rates())
}

/// `GET /api/live`: server-sent events: `identified` (each published frame), `rates` (every second), `lagged`
/// (messages this viewer skipped because it fell behind).
pub async fn live(State(s): St) -> Result<Response, ApiError> {
    if s.feed.viewers() as usize >= s.max_viewers {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            format!("busy: {} live viewers are connected, the most this console serves", s.max_viewers),
        ));
    }
    let guard = s.feed.viewer();
    let rx = s.feed.subscribe();
    let hello = Event::default().event("hello").data(json!({ "threshold": s.gallery.config().threshold }).to_string());
    let stream = futures_util::stream::unfold((rx, guard, Some(hello)), |(mut rx, guard, hello)| async move {
        if let Some(h) = hello {
            return Some((Ok::<_, Infallible>(h), (rx, guard, None)));
        }
        let event = match rx.recv().await {
            Ok(m) => Event::default().event(m.event).data(&m.data),
            Err(RecvError::Lagged(n)) => Event::default().event("lagged").data(n.to_string()),
            Err(RecvError::Closed) => return None,
        };
        Some((Ok(event), (rx, guard, None)))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()).into_response())
}

/// `POST /api/enroll` (admin): an enrol request, as on Zenoh.
pub async fn enroll(State(s): St, headers: HeaderMap, b: Result<Bytes, BytesRejection>) -> Result<Response, ApiError> {
    admin(&s, &headers)?;
    let b = body(b, s.body_limit)?;
    Ok(wire(blocking(move || Ok(s.gallery.handle_enroll(&b))).await?))
}

/// `POST /api/forget` (admin): a forget request (identity, time range, all), as on Zenoh.
pub async fn forget(State(s): St, headers: HeaderMap, b: Result<Bytes, BytesRejection>) -> Result<Response, ApiError> {
    admin(&s, &headers)?;
    let b = body(b, s.body_limit)?;
    let feed = s.feed.clone();
    let request = b.clone();
    let reply = blocking(move || Ok(s.gallery.handle_forget(&b))).await?;
    if reply.ok
        && let Ok(what) = serde_json::from_slice::<serde_json::Value>(&request)
    {
        // Every open page drops what was forgotten from its Live rows and lists.
        feed.publish_event("forgotten", what.to_string());
    }
    Ok(wire(reply))
}

/// The body of `POST /api/label`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LabelRequest {
    camera: Option<String>,
    track_id: Option<u64>,
    identity: String,
}

/// `POST /api/label` (admin): `{"camera", "track_id", "identity"}` labels an unknown track.
pub async fn label(State(s): St, headers: HeaderMap, b: Result<Bytes, BytesRejection>) -> Result<Response, ApiError> {
    admin(&s, &headers)?;
    let b = body(b, s.body_limit)?;
    let req: LabelRequest =
        serde_json::from_slice(&b).map_err(|e| ApiError::bad("body", format!("label request: {e}")))?;
    let reply =
        blocking(move || Ok(s.gallery.label_track(req.camera.as_deref(), req.track_id, &req.identity)?)).await?;
    Ok(ok_json(&reply))
}
