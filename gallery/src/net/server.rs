//! The gallery server: one Zenoh session, a queryable per operation served by worker threads (look-ups run in
//! parallel; the index and store lock as they need), the ingest subscriber, and a retention sweep.
//!
//! Raw f32 bodies: add the selector parameter `_format=f32` (the `_` keys are the transport's); an enrolment's
//! metadata then comes as a JSON attachment.

use super::ingest::{self, IdentifiedFrame};
use super::{KeySpace, NetConfig, NetError, ZenohConfig};
use crate::gallery::{Gallery, WireReply};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions { query_workers: 4, store_sightings: true, ingest: true, ttl_sweep: Duration::from_secs(60) }
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
    /// Streamed messages refused (malformed, wrong dimension, ...).
    pub rejected: AtomicU64,
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
            for _ in 0..workers {
                let (queryable, gallery, counters) = (queryable.clone(), gallery.clone(), counters.clone());
                threads.push(std::thread::spawn(move || {
                    while let Ok(query) = queryable.recv() {
                        answer(&gallery, op, &query, &counters);
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
            threads.push(std::thread::spawn(move || {
                while let Ok(sample) = subscriber.recv() {
                    let bytes = sample.payload().to_bytes();
                    match ingest::decode_frame(&bytes, gallery.dim()) {
                        Ok(frame) => match ingest::identify(&gallery, &frame, store) {
                            Ok(answer) => publish(&publisher_session, &keys, &answer, &counters),
                            Err(e) => {
                                counters.rejected.fetch_add(1, Ordering::Relaxed);
                                tracing::warn!("{}: {e}", sample.key_expr());
                            }
                        },
                        Err(e) => {
                            counters.rejected.fetch_add(1, Ordering::Relaxed);
                            tracing::warn!("{}: {e}", sample.key_expr());
                        }
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
