//! A Rust client for one gallery name: enrolments go to one server, look-ups and forgets to every server
//! answering the key (shards), look-up answers merged into one top-k ([`crate::merge_topk`]).

use super::{KeySpace, NetConfig, NetError, ZenohConfig};
use crate::gallery::{GalleryStats, merge_topk};
use crate::payload::{EnrollReply, ErrorReply, ForgetReply, QueryReply};
use std::time::Duration;
use zenoh::Wait;
use zenoh::query::{ConsolidationMode, QueryTarget};

/// A connection to a gallery (all its shards).
pub struct GalleryClient {
    session: zenoh::Session,
    keys: KeySpace,
    timeout: Duration,
}

/// One server's answer: its JSON body, or its error reply.
type Answer = Result<Vec<u8>, ErrorReply>;

impl GalleryClient {
    /// Opens a Zenoh session with `net` and waits up to `timeout` for each request.
    pub fn connect(keys: KeySpace, net: &NetConfig, timeout: Duration) -> Result<Self, NetError> {
        let session = zenoh::open(net.to_zenoh()?).wait().map_err(|e| NetError::Zenoh(e.to_string()))?;
        Ok(GalleryClient { session, keys, timeout })
    }

    /// Uses an existing session.
    pub fn with_session(session: zenoh::Session, keys: KeySpace, timeout: Duration) -> Self {
        GalleryClient { session, keys, timeout }
    }

    /// The session (to publish or subscribe beside the gallery requests).
    pub fn session(&self) -> &zenoh::Session {
        &self.session
    }

    /// The key space.
    pub fn keys(&self) -> &KeySpace {
        &self.keys
    }

    fn request(&self, key: &str, params: &str, body: Vec<u8>, all: bool) -> Result<Vec<Answer>, NetError> {
        let selector = if params.is_empty() { key.to_owned() } else { format!("{key}?{params}") };
        let mut get = self.session.get(&selector).timeout(self.timeout);
        if !body.is_empty() {
            get = get.payload(body);
        }
        let get = if all {
            get.target(QueryTarget::All).consolidation(ConsolidationMode::None)
        } else {
            get.target(QueryTarget::BestMatching)
        };
        let replies = get.wait().map_err(|e| NetError::Zenoh(format!("querying `{selector}`: {e}")))?;
        let mut out = Vec::new();
        while let Ok(reply) = replies.recv() {
            out.push(match reply.result() {
                Ok(sample) => Ok(sample.payload().to_bytes().into_owned()),
                Err(e) => {
                    let bytes = e.payload().to_bytes();
                    Err(serde_json::from_slice::<ErrorReply>(&bytes).unwrap_or_else(|_| ErrorReply {
                        error: String::from_utf8_lossy(&bytes).into_owned(),
                        field: None,
                    }))
                }
            });
        }
        if out.is_empty() {
            return Err(NetError::NoReply { key: key.to_owned(), timeout_ms: self.timeout.as_millis() as u64 });
        }
        Ok(out)
    }

    fn decode<T: serde::de::DeserializeOwned>(&self, key: &str, answer: Answer) -> Result<T, NetError> {
        let body = answer.map_err(|e| NetError::Refused(e.error))?;
        serde_json::from_slice(&body).map_err(|e| NetError::BadReply { key: key.to_owned(), message: e.to_string() })
    }

    /// Enrols (a JSON [`crate::payload::EnrollRequest`]) on one server; returns once it is durable there.
    pub fn enroll(&self, body: &[u8]) -> Result<EnrollReply, NetError> {
        let key = self.keys.enroll();
        let answer = self.request(&key, "", body.to_vec(), false)?.into_iter().next().expect("non-empty");
        self.decode(&key, answer)
    }

    /// Looks up (a JSON [`crate::payload::QueryRequest`], options also as selector `params`) on every shard and
    /// merges their answers per query vector into the best `k`; also returns how many shards answered.
    pub fn query(&self, body: &[u8], params: &str, k: usize) -> Result<(QueryReply, usize), NetError> {
        let key = self.keys.query();
        let answers = self.request(&key, params, body.to_vec(), true)?;
        let shards = answers.len();
        let mut replies: Vec<QueryReply> = Vec::with_capacity(shards);
        for a in answers {
            replies.push(self.decode(&key, a)?);
        }
        let n = replies[0].results.len();
        if replies.iter().any(|r| r.results.len() != n) {
            return Err(NetError::BadReply { key, message: "shards answered different numbers of queries".to_owned() });
        }
        let results = (0..n)
            .map(|i| {
                let per_shard: Vec<_> = replies.iter().map(|r| r.results[i].clone()).collect();
                let threshold = per_shard[0].threshold;
                merge_topk(&per_shard, k, Some(threshold))
            })
            .collect();
        Ok((QueryReply { results }, shards))
    }

    /// Forgets (a JSON [`crate::payload::ForgetRequest`]) on every shard; returns the total removed. A shard
    /// that does not hold the identity refuses; that is only an error when every shard refuses.
    pub fn forget(&self, body: &[u8]) -> Result<u64, NetError> {
        let key = self.keys.forget();
        let mut removed = 0;
        let mut first_error = None;
        let mut any_ok = false;
        for a in self.request(&key, "", body.to_vec(), true)? {
            match self.decode::<ForgetReply>(&key, a) {
                Ok(r) => {
                    any_ok = true;
                    removed += r.removed;
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match (any_ok, first_error) {
            (false, Some(e)) => Err(e),
            _ => Ok(removed),
        }
    }

    /// Every shard's statistics.
    pub fn stats(&self) -> Result<Vec<GalleryStats>, NetError> {
        let key = self.keys.stats();
        self.request(&key, "", Vec::new(), true)?.into_iter().map(|a| self.decode(&key, a)).collect()
    }
}
