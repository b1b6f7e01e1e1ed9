//! `reidpublish`: the message format the gallery ingests, publishing over Zenoh on loopback, counters, and the
//! whole `reidsynthsrc ! reidembed ! reidpublish` pipeline.

use crate::common::*;
use gst::prelude::*;
use gst_check::Harness;
use gst_video::VideoRegionOfInterestMeta;
use gstreid::params::{self, Embedding};
use gstreid::reidpublish::frame_message;
use gstreid::reidpublish::zenoh_config;
use reid_protocol::{FrameEmbeddings, NetConfig, decode_frame};
use std::time::{Duration, Instant};
use zenoh::Wait;

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A Zenoh session listening on a loopback port, subscribed to every camera's embeddings.
pub(crate) struct Listener {
    _session: zenoh::Session,
    subscriber: zenoh::pubsub::Subscriber<zenoh::handlers::FifoChannelHandler<zenoh::sample::Sample>>,
    pub(crate) endpoint: String,
}

pub(crate) fn listener() -> Listener {
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let net = NetConfig { listen: vec![endpoint.clone()], ..Default::default() };
    let session = zenoh::open(zenoh_config(&net).unwrap()).wait().unwrap();
    let subscriber = session.declare_subscriber("reid/embeddings/**").wait().unwrap();
    Listener { _session: session, subscriber, endpoint }
}

impl Listener {
    pub(crate) fn recv(&self, timeout: Duration) -> Option<(String, Vec<u8>)> {
        let sample = self.subscriber.recv_timeout(timeout).ok().flatten()?;
        Some((sample.key_expr().to_string(), sample.payload().to_bytes().to_vec()))
    }
}

/// A buffer with two embedded ROIs (one tracked) and one without an embedding.
pub(crate) fn embedded_buffer(seed: f32) -> gst::Buffer {
    let mut buffer = gst::Buffer::with_size(16).unwrap();
    {
        let b = buffer.get_mut().unwrap();
        b.set_offset(7);
        let e =
            |k: f32| Embedding { vector: vec![seed + k, 1.0, -0.5], model: "m.onnx".into(), normalized: false, age: 0 };
        let mut roi = VideoRegionOfInterestMeta::add(b, "person", (1, 2, 30, 60));
        roi.add_param(params::tracking_structure(9, Some(3)));
        roi.add_param(e(0.0).to_structure());
        let mut roi = VideoRegionOfInterestMeta::add(b, "person", (40, 5, 20, 50));
        roi.add_param(e(1.0).to_structure());
        VideoRegionOfInterestMeta::add(b, "person", (0, 0, 10, 10));
        // All zeros: the gallery refuses it, so it is left out.
        let mut roi = VideoRegionOfInterestMeta::add(b, "person", (5, 5, 10, 10));
        roi.add_param(Embedding { vector: vec![0.0; 3], ..e(0.0) }.to_structure());
    }
    buffer
}

#[test]
fn frame_message_is_what_the_gallery_ingests() {
    init();
    let buffer = embedded_buffer(0.25);
    let message = frame_message(&buffer, "gate", Some(7), 1_700_000_000_000, false);
    assert_eq!(message.detections.len(), 2);
    assert_eq!(message.model.as_deref(), Some("m.onnx"));
    assert_eq!(message.detections[0].track_id, Some(9));
    assert_eq!(message.detections[0].bbox, Some([1.0, 2.0, 30.0, 60.0]));
    assert_eq!(message.detections[0].embedding, vec![0.25, 1.0, -0.5]);
    assert_eq!(message.detections[1].track_id, None);
    let json = serde_json::to_vec(&message).unwrap();
    assert_eq!(decode_frame(&json, 3).unwrap(), message);
    let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
    for key in ["camera", "timestamp_ms", "frame", "model", "detections"] {
        assert!(value.get(key).is_some(), "missing {key} in {value}");
    }
}

#[test]
fn publishes_one_message_per_frame_over_zenoh() {
    init();
    let listener = listener();
    let mut h = Harness::new_parse(&format!("reidpublish camera=gate connect={}", listener.endpoint));
    h.set_src_caps_str("video/x-raw,format=RGB,width=4,height=4,framerate=30/1");
    let element = h.find_element("reidpublish").unwrap();
    let mut received: Vec<FrameEmbeddings> = Vec::new();
    let mut pushed = 0u64;
    let deadline = Instant::now() + Duration::from_secs(20);
    // Zenoh connects and learns about the subscriber asynchronously: push until messages arrive (bounded).
    while received.len() < 5 && Instant::now() < deadline {
        h.push(embedded_buffer(pushed as f32)).unwrap();
        pushed += 1;
        while let Some((key, body)) = listener.recv(Duration::from_millis(50)) {
            assert_eq!(key, "reid/embeddings/gate");
            received.push(decode_frame(&body, 3).unwrap());
        }
    }
    assert!(received.len() >= 5, "{} messages in 20 s ({pushed} frames pushed)", received.len());
    for m in &received {
        assert_eq!(m.camera, "gate");
        assert_eq!(m.frame, Some(7));
        assert_eq!(m.detections.len(), 2);
        assert!(m.timestamp_ms > 1_600_000_000_000);
    }
    drop(h);
    // Stopped: every frame was either sent or dropped, none lost silently.
    let count = |name: &str| element.property::<u64>(name);
    assert_eq!(count("published") + count("dropped") + count("failed"), pushed);
    assert_eq!(count("failed"), 0);
}

#[test]
fn bad_settings_fail_the_state_change() {
    init();
    for (property, value, expect) in [
        ("camera", "a/b", "camera"),
        ("camera", "", "camera"),
        ("prefix", "reid/*", "prefix"),
        ("mode", "router", "mode"),
        ("connect", "127.0.0.1:7447", "endpoint"),
    ] {
        let sink = gst::ElementFactory::make("reidpublish").property(property, value).build().unwrap();
        let pipeline = gst::Pipeline::new();
        pipeline.add(&sink).unwrap();
        assert!(pipeline.set_state(gst::State::Paused).is_err(), "{property}={value} must fail");
        let message = pipeline
            .bus()
            .unwrap()
            .timed_pop_filtered(gst::ClockTime::from_seconds(5), &[gst::MessageType::Error])
            .unwrap();
        let gst::MessageView::Error(err) = message.view() else { unreachable!() };
        let text = err.error().to_string();
        assert!(text.contains(expect), "{property}={value}: {text}");
        pipeline.set_state(gst::State::Null).unwrap();
    }
}

#[test]
fn synthetic_people_embedded_and_published() {
    init();
    let dir = tempfile::tempdir().unwrap();
    let model = write_model(dir.path());
    let listener = listener();
    let pipeline = gst::parse::launch(&format!(
        "reidsynthsrc is-live=true fps=30 num-buffers=60 width=160 height=120 persons=4 seed=5 camera=cam3 ! \
         reidembed model={} engine=tract min-size=4 ! reidpublish name=publish camera=cam3 connect={}",
        model.display(),
        listener.endpoint
    ))
    .unwrap()
    .downcast::<gst::Pipeline>()
    .unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let bus = pipeline.bus().unwrap();
    let message = bus
        .timed_pop_filtered(gst::ClockTime::from_seconds(60), &[gst::MessageType::Eos, gst::MessageType::Error])
        .expect("the pipeline neither ended nor failed in 60 s");
    if let gst::MessageView::Error(err) = message.view() {
        panic!("pipeline error: {} ({:?})", err.error(), err.debug());
    }
    let publish = pipeline.by_name("publish").unwrap();
    pipeline.set_state(gst::State::Null).unwrap();
    let mut messages = Vec::new();
    while let Some((key, body)) = listener.recv(Duration::from_millis(500)) {
        assert_eq!(key, "reid/embeddings/cam3");
        messages.push(decode_frame(&body, D).unwrap());
    }
    let published = publish.property::<u64>("published");
    assert_eq!(published + publish.property::<u64>("dropped"), 60);
    assert!(!messages.is_empty() && messages.len() as u64 <= published, "{} of {published}", messages.len());
    let detections: usize = messages.iter().map(|m| m.detections.len()).sum();
    assert!(detections > 0, "no person was published");
    for m in &messages {
        assert_eq!(m.model.as_deref().unwrap_or("tiny-reid.onnx"), "tiny-reid.onnx");
        for d in &m.detections {
            assert!(d.track_id.is_some());
            let norm: f32 = d.embedding.iter().map(|v| v * v).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-4);
        }
    }
}

#[test]
fn the_gallery_server_ingests_what_reidpublish_sends() {
    use reid_gallery::net::{KeySpace, Server, ServerOptions};
    use reid_gallery::{Gallery, GalleryConfig};
    use std::sync::Arc;
    use std::sync::atomic::Ordering::Relaxed;

    init();
    let dir = tempfile::tempdir().unwrap();
    let model = write_model(dir.path());
    let gallery = Arc::new(
        Gallery::open(dir.path().join("g.redb"), GalleryConfig { dim: Some(D), ..GalleryConfig::default() }).unwrap(),
    );
    let endpoint = format!("tcp/127.0.0.1:{}", free_port());
    let net = NetConfig { listen: vec![endpoint.clone()], ..Default::default() };
    let server = Server::start(gallery.clone(), &KeySpace::default(), &net, ServerOptions::default()).unwrap();
    let pipeline = gst::parse::launch(&format!(
        "reidsynthsrc is-live=true fps=30 num-buffers=45 width=160 height=120 persons=4 seed=2 camera=cam2 ! \
         reidembed model={} engine=tract min-size=4 ! reidpublish camera=cam2 skip-empty=true connect={endpoint}",
        model.display()
    ))
    .unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let message = pipeline
        .bus()
        .unwrap()
        .timed_pop_filtered(gst::ClockTime::from_seconds(60), &[gst::MessageType::Eos, gst::MessageType::Error])
        .unwrap();
    assert!(matches!(message.view(), gst::MessageView::Eos(_)), "{message:?}");
    pipeline.set_state(gst::State::Null).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.counters().frames.load(Relaxed) == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let c = server.counters();
    assert!(c.frames.load(Relaxed) > 0, "the gallery ingested no frame");
    assert_eq!(c.rejected.load(Relaxed), 0, "the gallery refused a message");
    // Nobody is enrolled under a name: every sighting is unknown, and kept.
    assert!(c.unknown.load(Relaxed) > 0);
    assert!(!gallery.is_empty());
    server.stop();
}
