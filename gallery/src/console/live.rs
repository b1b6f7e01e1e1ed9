//! The live feed: every identified frame the Zenoh server publishes goes to a tokio broadcast channel that each
//! console viewer (server-sent events) reads; per-camera counts and rates are kept beside it. Sending never
//! blocks the ingest thread: a viewer that falls behind skips messages (it is told how many), the Zenoh side drops
//! nothing.

use crate::net::IdentifiedTap;
use crate::net::ingest::IdentifiedFrame;
use crate::record::now_ms;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// Messages a slow viewer may fall behind by before it skips.
pub const CHANNEL_CAPACITY: usize = 4096;
/// Cameras whose rates are kept; frames from further cameras still reach the viewers but are not counted.
pub const MAX_CAMERAS: usize = 1024;
/// The window per-camera rates are averaged over (seconds).
pub const RATE_WINDOW_S: i64 = 10;

/// One server-sent event: its name and JSON data.
#[derive(Clone, Debug)]
pub struct LiveMessage {
    /// `identified`, `rates` or `forgotten`.
    pub event: &'static str,
    /// JSON.
    pub data: String,
}

/// One camera's figures since the console started.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CameraRate {
    /// Frames published.
    pub frames: u64,
    /// Detections identified as someone.
    pub identified: u64,
    /// Detections below the threshold.
    pub unknown: u64,
    /// Detections per second over the last [`RATE_WINDOW_S`] seconds.
    pub detections_per_s: f64,
    /// Frames per second over the same window.
    pub frames_per_s: f64,
    /// When the last frame arrived (ms since the epoch, the server's clock).
    pub last_ms: i64,
    #[serde(skip)]
    window: VecDeque<(i64, u64, u64)>,
}

impl CameraRate {
    fn add(&mut self, now: i64, detections: u64) {
        let sec = now.div_euclid(1000);
        match self.window.back_mut() {
            Some((s, f, d)) if *s == sec => {
                *f += 1;
                *d += detections;
            }
            _ => self.window.push_back((sec, 1, detections)),
        }
        self.last_ms = now;
        self.roll(now);
    }

    fn roll(&mut self, now: i64) {
        let sec = now.div_euclid(1000);
        while self.window.front().is_some_and(|(s, _, _)| *s <= sec - RATE_WINDOW_S) {
            self.window.pop_front();
        }
        let (f, d) = self.window.iter().fold((0, 0), |(f, d), (_, wf, wd)| (f + wf, d + wd));
        self.frames_per_s = f as f64 / RATE_WINDOW_S as f64;
        self.detections_per_s = d as f64 / RATE_WINDOW_S as f64;
    }
}

/// The feed shared by the Zenoh server (sending) and the console (viewers).
#[derive(Clone)]
pub struct LiveFeed {
    inner: Arc<Inner>,
}

struct Inner {
    tx: broadcast::Sender<Arc<LiveMessage>>,
    rates: Mutex<HashMap<String, CameraRate>>,
    sent: AtomicU64,
    viewers: AtomicU64,
}

/// Identified frame as the Live page receives it: the published answer and when the server published it.
#[derive(Serialize)]
struct LiveFrame<'a> {
    #[serde(flatten)]
    frame: &'a IdentifiedFrame,
    published_ms: i64,
}

impl Default for LiveFeed {
    fn default() -> Self {
        LiveFeed::new()
    }
}

impl LiveFeed {
    /// A feed with no viewers yet.
    pub fn new() -> LiveFeed {
        let (tx, _) = broadcast::channel(CHANNEL_CAPACITY);
        let inner =
            Inner { tx, rates: Mutex::new(HashMap::new()), sent: AtomicU64::new(0), viewers: AtomicU64::new(0) };
        LiveFeed { inner: Arc::new(inner) }
    }

    /// The callback to give the Zenoh server ([`crate::net::ServerOptions::on_identified`]).
    pub fn tap(&self) -> IdentifiedTap {
        let feed = self.clone();
        IdentifiedTap(Arc::new(move |frame: &IdentifiedFrame| feed.publish(frame)))
    }

    /// Counts `frame` and sends it to every viewer (never blocks).
    pub fn publish(&self, frame: &IdentifiedFrame) {
        let now = now_ms();
        {
            let mut rates = self.inner.rates.lock().unwrap_or_else(|p| p.into_inner());
            let n = rates.len();
            if let Some(r) = match rates.get_mut(&frame.camera) {
                Some(r) => Some(r),
                None if n < MAX_CAMERAS => Some(rates.entry(frame.camera.clone()).or_default()),
                None => None,
            } {
                r.frames += 1;
                for d in &frame.detections {
                    if d.unknown { r.unknown += 1 } else { r.identified += 1 }
                }
                r.add(now, frame.detections.len() as u64);
            }
        }
        self.inner.sent.fetch_add(1, Ordering::Relaxed);
        if self.inner.tx.receiver_count() == 0 {
            return;
        }
        let data = serde_json::to_string(&LiveFrame { frame, published_ms: now }).unwrap_or_default();
        let _ = self.inner.tx.send(Arc::new(LiveMessage { event: "identified", data }));
    }

    /// Every camera's figures, by camera id.
    pub fn rates(&self) -> BTreeMap<String, CameraRate> {
        let now = now_ms();
        let mut rates = self.inner.rates.lock().unwrap_or_else(|p| p.into_inner());
        rates
            .iter_mut()
            .map(|(k, r)| {
                r.roll(now);
                (k.clone(), r.clone())
            })
            .collect()
    }

    /// Sends the per-camera rates to every viewer (the console does this once a second).
    pub fn publish_rates(&self) {
        if self.inner.tx.receiver_count() == 0 {
            return;
        }
        let data = serde_json::to_string(&self.rates()).unwrap_or_default();
        let _ = self.inner.tx.send(Arc::new(LiveMessage { event: "rates", data }));
    }

    /// Sends any other event (`forgotten`: what an admin forgot, so pages drop it) to every viewer.
    pub fn publish_event(&self, event: &'static str, data: String) {
        if self.inner.tx.receiver_count() > 0 {
            let _ = self.inner.tx.send(Arc::new(LiveMessage { event, data }));
        }
    }

    /// A new viewer's receiving end.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<LiveMessage>> {
        self.inner.tx.subscribe()
    }

    /// Frames published through the feed since it started.
    pub fn frames_sent(&self) -> u64 {
        self.inner.sent.load(Ordering::Relaxed)
    }

    /// Viewers connected now.
    pub fn viewers(&self) -> u64 {
        self.inner.viewers.load(Ordering::Relaxed)
    }

    /// Counts a viewer in; the guard counts it out when dropped.
    pub fn viewer(&self) -> ViewerGuard {
        self.inner.viewers.fetch_add(1, Ordering::Relaxed);
        ViewerGuard(self.clone())
    }
}

/// A connected viewer; counted out when dropped (the viewer disconnected).
pub struct ViewerGuard(LiveFeed);

impl Drop for ViewerGuard {
    fn drop(&mut self) {
        self.0.inner.viewers.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::ingest::Identified;

    fn frame(camera: &str, unknown: &[bool]) -> IdentifiedFrame {
        IdentifiedFrame {
            camera: camera.into(),
            timestamp_ms: now_ms(),
            frame: None,
            detections: unknown
                .iter()
                .map(|&u| Identified {
                    track_id: Some(1),
                    bbox: None,
                    identity: (!u).then(|| "amy".into()),
                    score: Some(0.9),
                    unknown: u,
                })
                .collect(),
        }
    }

    #[test]
    fn counts_per_camera_and_reaches_viewers() {
        let feed = LiveFeed::new();
        feed.publish(&frame("c1", &[false]));
        let mut rx = feed.subscribe();
        feed.publish(&frame("c1", &[false, true]));
        feed.publish(&frame("c2", &[true]));
        let r = feed.rates();
        assert_eq!((r["c1"].frames, r["c1"].identified, r["c1"].unknown), (2, 2, 1));
        assert_eq!((r["c2"].frames, r["c2"].unknown), (1, 1));
        assert!((r["c1"].detections_per_s - 0.3).abs() < 1e-9, "{}", r["c1"].detections_per_s);
        let m = rx.try_recv().unwrap();
        assert_eq!(m.event, "identified");
        let v: serde_json::Value = serde_json::from_str(&m.data).unwrap();
        assert_eq!(v["camera"], "c1");
        assert_eq!(v["detections"][1]["unknown"], true);
        assert!(v["published_ms"].as_i64().unwrap() > 0);
        assert_eq!(feed.frames_sent(), 3);
    }

    #[test]
    fn cameras_beyond_the_cap_are_not_counted() {
        let feed = LiveFeed::new();
        for i in 0..MAX_CAMERAS + 5 {
            feed.publish(&frame(&format!("c{i}"), &[true]));
        }
        assert_eq!(feed.rates().len(), MAX_CAMERAS);
    }
}
