//! The gallery server: one Zenoh session, a queryable per operation served by worker threads (look-ups run in
//! parallel; the index and store lock as they need), the ingest subscriber, and a retention sweep.
//!
//! Queries are costed as they arrive ([`crate::budget`]): an over-budget one is answered with an error at once; a
//! plain one is answered by the query worker; a heavy one (re-ranked, or many vectors) is handed to its own
//! bounded queue ([`ServerOptions::heavy_queue`]) served by [`ServerOptions::heavy_workers`] threads, and refused
//! as busy when that queue is full, so heavy requests wait for each other but never hold up plain ones.
//!
//! Streamed frames are refused like requests ([`reid_protocol::stream`]: unknown fields, a timestamp outside the
//! window, a bad camera id), counted in [`Counters::rejected`] and logged with the error clipped.
//!
//! Raw f32 bodies: add the selector parameter `_format=f32` (the `_` keys are the transport's); an enrolment's
//! metadata then comes as a JSON attachment.

use super::ingest::{self, IdentifiedFrame};
use super::{KeySpace, NetConfig, NetError, ZenohConfig};
use crate::gallery::{Gallery, GalleryError, WireReply};
use crate::payload::{self, ErrorReply, Query, QueryReply};
use crate::record::now_ms;
use reid_protocol::error::{MAX_ERROR_MESSAGE, clip};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;
use zenoh::Wait;

/// How the server runs.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerOptions {
    /// Threads answering look-ups (enrol, forget and stats get one each).
    pub query_workers: usize,
    /// Keep streamed sightings in the store (unlabelled; the TTL and `forget` apply).
    pub store_sightings: bool,
    /// Subscribe to `<prefix>/embeddings/**` at all.
    pub ingest: bool,
    /// How often expired embeddings are removed (when the gallery has a TTL).
    pub ttl_sweep: Duration,
    /// Threads running heavy queries (re-ranked, or many vectors), one at a time each.
    pub heavy_workers: usize,
    /// Heavy queries that may wait for a heavy worker; more are refused as busy.
    pub heavy_queue: usize,
    /// Called with every identified frame right after it is published (the web console's live feed).
    pub on_identified: Option<IdentifiedTap>,
}

/// A callback given every [`IdentifiedFrame`] the server publishes; it runs on the ingest thread, so it must not
/// block (the console's feed sends to a broadcast channel and returns).
#[derive(Clone)]
pub struct IdentifiedTap(pub Arc<dyn Fn(&IdentifiedFrame) + Send + Sync>);

impl std::fmt::Debug for IdentifiedTap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdentifiedTap")
    }
}

impl PartialEq for IdentifiedTap {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            query_workers: 4,
            store_sightings: true,
            ingest: true,
            ttl_sweep: Duration::from_secs(60),
            heavy_workers: 1,
            heavy_queue: 4,
            on_identified: None,
        }
    }
}

/// What the server has done since it started.
#[derive(Debug, Default)]
pub struct Counters {
    /// Requests answered with a success.
    pub replies: AtomicU64,
    /// Requests answered with an error.
    pub errors: AtomicU64,
    /// Streamed frames ingested.
    pub frames: AtomicU64,
    /// Streamed detections identified as a known person.
    pub identified: AtomicU64,
    /// Streamed detections below the threshold.
    pub unknown: AtomicU64,
    /// Streamed messages refused (malformed, unknown fields, timestamp outside the window, wrong dimension, ...).
    pub rejected: AtomicU64,
    /// Heavy queries run in the heavy lane.
    pub heavy: AtomicU64,
    /// Heavy queries refused because the heavy queue was full.
    pub busy: AtomicU64,
}

/// A running server; [`Server::stop`] (or drop) closes the session and joins its threads.
pub struct Server {
    session: Option<zenoh::Session>,
    threads: Vec<JoinHandle<()>>,
    stop: Arc<AtomicBool>,
    counters: Arc<Counters>,
    zid: String,
}

#[derive(Clone, Copy, Debug)]
enum Op {
    Query,
    Enroll,
    Forget,
    Stats,
}

fn z(e: impl std::fmt::Display) -> NetError {
    NetError::Zenoh(e.to_string())
}

impl Server {
    /// Opens the session and declares the gallery's keys. Fails (naming the key or endpoint) when Zenoh cannot.
    pub fn start(
        gallery: Arc<Gallery>,
        keys: &KeySpace,
        net: &NetConfig,
        options: ServerOptions,
    ) -> Result<Server, NetError> {
        let session = zenoh::open(net.to_zenoh()?).wait().map_err(z)?;
        let zid = session.zid().to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(Counters::default());
        let mut threads = Vec::new();
        for (op, key, workers) in [
            (Op::Query, keys.query(), options.query_workers.max(1)),
            (Op::Enroll, keys.enroll(), 1),
            (Op::Forget, keys.forget(), 1),
            (Op::Stats, keys.stats(), 1),
        ] {
            let queryable = Arc::new(
                session
                    .declare_queryable(&key)
                    .wait()
                    .map_err(|e| NetError::Zenoh(format!("declaring `{key}`: {e}")))?,
            );
            let heavy = match op {
                Op::Query => Some(heavy_lane(&gallery, &counters, &options, &mut threads)),
                _ => None,
            };
            for _ in 0..workers {
                let (queryable, gallery, counters) = (queryable.clone(), gallery.clone(), counters.clone());
                let heavy = heavy.clone();
                threads.push(std::thread::spawn(move || {
                    while let Ok(query) = queryable.recv() {
                        match &heavy {
                            Some(lane) => route_query(&gallery, query, lane, &counters),
                            None => answer(&gallery, op, &query, &counters),
                        }
                    }
                }));
            }
        }
        if options.ingest {
            let key = keys.embeddings_all();
            let subscriber = session
                .declare_subscriber(&key)
                .wait()
                .map_err(|e| NetError::Zenoh(format!("subscribing to `{key}`: {e}")))?;
            let publisher_session = session.clone();
            let (gallery, counters, keys, store) =
                (gallery.clone(), counters.clone(), keys.clone(), options.store_sightings);
            let tap = options.on_identified.clone();
            threads.push(std::thread::spawn(move || {
                while let Ok(sample) = subscriber.recv() {
                    let bytes = sample.payload().to_bytes();
                    let refused = |e: &dyn std::fmt::Display| {
                        counters.rejected.fetch_add(1, Ordering::Relaxed);
                        let e = clip(&e.to_string(), MAX_ERROR_MESSAGE);
                        tracing::warn!("stream message on {} refused: {e}", sample.key_expr());
                    };
                    match ingest::decode_frame_at(&bytes, gallery.dim(), now_ms()) {
                        Ok(frame) => match ingest::identify(&gallery, &frame, store) {
                            Ok(answer) => {
                                publish(&publisher_session, &keys, &answer, &counters);
                                if let Some(tap) = &tap {
                                    (tap.0)(&answer);
                                }
                            }
                            Err(e) => refused(&e),
                        },
                        Err(e) => refused(&e),
                    }
                }
            }));
        }
        if gallery.config().ttl_ms.is_some() {
            let (gallery, stop, every) = (gallery.clone(), stop.clone(), options.ttl_sweep);
            threads.push(std::thread::spawn(move || {
                let tick = Duration::from_millis(100);
                let mut waited = Duration::ZERO;
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(tick);
                    waited += tick;
                    if waited >= every {
                        waited = Duration::ZERO;
                        match gallery.expire_now() {
                            Ok(0) => {}
                            Ok(n) => tracing::info!("retention: removed {n} expired embeddings"),
                            Err(e) => tracing::error!("retention sweep failed: {e}"),
                        }
                    }
                }
            }));
        }
        tracing::info!("gallery `{}` serving on {} (zenoh id {zid})", keys.name, keys.query());
        Ok(Server { session: Some(session), threads, stop, counters, zid })
    }

    /// This server's Zenoh id.
    pub fn zid(&self) -> &str {
        &self.zid
    }

    /// Counters since start.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Closes the session (no new requests) and waits for the workers to finish the ones in hand.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(session) = self.session.take()
            && let Err(e) = session.close().wait()
        {
            tracing::warn!("closing the zenoh session: {e}");
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// `_format=f32` among the selector parameters.
fn raw_format(params: &str) -> bool {
    params.split([';', '&']).any(|p| p.trim() == "_format=f32")
}

/// A heavy query waiting for a heavy worker.
type HeavyJob = (zenoh::query::Query, Query);

/// Starts the heavy workers; returns the sending end of their bounded queue.
fn heavy_lane(
    gallery: &Arc<Gallery>,
    counters: &Arc<Counters>,
    options: &ServerOptions,
    threads: &mut Vec<JoinHandle<()>>,
) -> SyncSender<HeavyJob> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<HeavyJob>(options.heavy_queue.max(1));
    let rx = Arc::new(Mutex::new(rx));
    for _ in 0..options.heavy_workers.max(1) {
        let (rx, gallery, counters) = (rx.clone(), gallery.clone(), counters.clone());
        threads.push(std::thread::spawn(move || {
            loop {
                let job = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                let Ok((query, request)) = job else { break };
                counters.heavy.fetch_add(1, Ordering::Relaxed);
                let reply = WireReply::from_result(gallery.query(&request).map(|results| QueryReply { results }));
                send(&query, reply, &counters);
            }
        }));
    }
    tx
}

/// Decodes and costs a query: refuses it when over budget, answers it here when plain, queues it for the heavy
/// workers otherwise (refused as busy when their queue is full).
fn route_query(gallery: &Gallery, query: zenoh::query::Query, heavy: &SyncSender<HeavyJob>, counters: &Counters) {
    let params = query.parameters().as_str().to_owned();
    let body = query.payload().map(|p| p.to_bytes().into_owned()).unwrap_or_default();
    let dim = gallery.dim();
    let decoded = if raw_format(&params) {
        payload::decode_query_raw(&body, &params, dim)
    } else {
        payload::decode_query(&body, &params, dim)
    };
    let costed = decoded
        .map_err(GalleryError::from)
        .and_then(|q| gallery.cost(q.vectors.len() / dim.max(1), &q.options).map(|c| (q, c)));
    match costed {
        Err(e) => send(&query, WireReply::from_result::<()>(Err(e)), counters),
        Ok((request, cost)) if !cost.heavy => {
            let reply = WireReply::from_result(gallery.query(&request).map(|results| QueryReply { results }));
            send(&query, reply, counters);
        }
        Ok((request, _)) => match heavy.try_send((query, request)) {
            Ok(()) => {}
            Err(TrySendError::Full((query, _)) | TrySendError::Disconnected((query, _))) => {
                counters.busy.fetch_add(1, Ordering::Relaxed);
                let light = gallery.config().budget.light_vectors;
                let error = format!(
                    "busy: the queue of heavy requests (re-ranked, or more than {light} vectors) is full; retry \
                     later, or query without rerank"
                );
                let body = payload::encode(&ErrorReply { error, field: None });
                send(&query, WireReply { ok: false, body }, counters);
            }
        },
    }
}

fn send(query: &zenoh::query::Query, reply: WireReply, counters: &Counters) {
    let sent = if reply.ok {
        counters.replies.fetch_add(1, Ordering::Relaxed);
        query.reply(query.key_expr().clone(), reply.body).wait()
    } else {
        counters.errors.fetch_add(1, Ordering::Relaxed);
        query.reply_err(reply.body).wait()
    };
    if let Err(e) = sent {
        tracing::warn!("replying on {}: {e}", query.key_expr());
    }
}

fn answer(gallery: &Gallery, op: Op, query: &zenoh::query::Query, counters: &Counters) {
    let params = query.parameters().as_str().to_owned();
    let body = query.payload().map(|p| p.to_bytes().into_owned()).unwrap_or_default();
    let raw = raw_format(&params);
    let reply: WireReply = match op {
        Op::Query if raw => gallery.handle_query_raw(&body, &params),
        Op::Query => gallery.handle_query(&body, &params),
        Op::Enroll if raw => {
            let attachment = query.attachment().map(|a| a.to_bytes().into_owned());
            gallery.handle_enroll_raw(&body, attachment.as_deref())
        }
        Op::Enroll => gallery.handle_enroll(&body),
        Op::Forget => gallery.handle_forget(&body),
        Op::Stats => gallery.handle_stats(),
    };
    send(query, reply, counters);
}

fn publish(session: &zenoh::Session, keys: &KeySpace, answer: &IdentifiedFrame, counters: &Counters) {
    counters.frames.fetch_add(1, Ordering::Relaxed);
    for d in &answer.detections {
        let c = if d.unknown { &counters.unknown } else { &counters.identified };
        c.fetch_add(1, Ordering::Relaxed);
    }
    let key = keys.identified(&answer.camera);
    let body = serde_json::to_vec(answer).unwrap_or_default();
    if let Err(e) = session.put(&key, body).wait() {
        tracing::warn!("publishing on {key}: {e}");
    }
}
