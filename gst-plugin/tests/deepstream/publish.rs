//! `reidembed ! reidpublish` in NvDs mode: the messages published over Zenoh (one per frame meta, keyed by the
//! camera of its `source_id`) carry exactly the `REID.EMBEDDING` user metas read back through the C structures;
//! foreign user metas are passed over, unreadable ones counted.

use super::fake::*;
use crate::common::*;
use crate::publish::listener;
use gst::prelude::*;
use gst_check::Harness;
use gstreid::deepstream::abi::EMBEDDING_META_DESCRIPTOR;
use gstreid::deepstream::{Batch, Cameras, library};
use gstreid::reidpublish::nvds_frame_messages;
use reid_protocol::{Detection, FrameEmbeddings, decode_frame};
use std::time::{Duration, Instant};

/// An embedded two-source batch: source 0 (frame 7) holds a tracked person, an untracked person and a face;
/// source 1 (frame 9) a tracked person. The face gets an unreadable REID.EMBEDDING meta, the first person a
/// foreign user meta.
fn embedded_batch(embed: &mut Harness, pictures: &[image::RgbImage; 2]) -> (gst::Buffer, SurfaceKeep) {
    let surfaces = [rgba_surface(&pictures[0], 64 * 4), rgba_surface(&pictures[1], 64 * 4 + 16)];
    let (mut buffer, keep) = nvmm_buffer(&surfaces, 2);
    attach_batch(
        buffer.get_mut().unwrap(),
        2,
        &[
            FrameSpec {
                source_id: 0,
                batch_id: 0,
                frame_num: 7,
                objects: vec![
                    person(Some(21), (4.0, 2.0, 20.0, 40.0)),
                    person(None, (30.0, 5.0, 20.0, 30.0)),
                    Obj { class_id: 2, track: Some(23), rect: (40.0, 4.0, 16.0, 16.0), confidence: 0.8 },
                ],
            },
            FrameSpec {
                source_id: 1,
                batch_id: 1,
                frame_num: 9,
                objects: vec![person(Some(22), (10.0, 8.0, 24.0, 40.0))],
            },
        ],
    );
    let out = embed.push_and_pull(buffer).unwrap();
    let frames = objects(&out);
    static FOREIGN: [u8; 16] = [7; 16];
    add_user_meta(&out, frames[0].1[0], user_meta_type(c"SOMEONE.ELSE"), FOREIGN.as_ptr().cast_mut().cast());
    add_user_meta(&out, frames[0].1[2], user_meta_type(EMBEDDING_META_DESCRIPTOR), std::ptr::null_mut());
    (out, keep)
}

/// The messages the read-back user metas say should be published.
fn expected(buffer: &gst::BufferRef) -> Vec<FrameEmbeddings> {
    let frames = objects(buffer);
    let spec = [
        ("gate", 7, vec![(Some(21), [4.0, 2.0, 20.0, 40.0]), (None, [30.0, 5.0, 20.0, 30.0])]),
        ("lobby", 9, vec![(Some(22), [10.0, 8.0, 24.0, 40.0])]),
    ];
    spec.into_iter()
        .zip(frames)
        .map(|((camera, frame, dets), (_, objs))| FrameEmbeddings {
            camera: camera.to_owned(),
            timestamp_ms: 0,
            frame: Some(frame),
            model: Some("tiny-reid.onnx".to_owned()),
            detections: dets
                .into_iter()
                .zip(objs)
                .map(|((track_id, bbox), obj)| {
                    let read = embeddings_of(obj);
                    assert_eq!(read.len(), 1);
                    Detection { track_id, bbox: Some(bbox), embedding: read[0].values.clone() }
                })
                .collect(),
        })
        .collect()
}

#[test]
fn published_messages_equal_the_user_metas_read_back() {
    init();
    let _serial = super::serial();
    let dir = tempfile::tempdir().unwrap();
    let model = write_model(dir.path());
    let pictures = [rgb_picture(64, 48, 3), rgb_picture(64, 48, 8)];
    let mut embed =
        Harness::new_parse(&format!("reidembed model={} engine=tract cameras=\"0=gate,1=lobby\"", model.display()));
    embed.set_src_caps_str("video/x-raw(memory:NVMM),format=RGBA,width=64,height=48,framerate=30/1");

    // The message builder alone.
    let (buffer, keep) = embedded_batch(&mut embed, &pictures);
    let want = expected(&buffer);
    let batch = Batch::of(library().unwrap(), &buffer).unwrap();
    let cameras = Cameras::parse("0=gate,1=lobby").unwrap();
    let (messages, bad) = nvds_frame_messages(&batch, &cameras, 0);
    assert_eq!(messages, want);
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert!(bad[0].contains("without data") && bad[0].contains("Some(23)"), "{bad:?}");
    drop((buffer, keep));

    // Over Zenoh.
    let listener = listener();
    let mut publish =
        Harness::new_parse(&format!("reidpublish cameras=\"0=gate,1=lobby\" connect={}", listener.endpoint));
    publish.set_src_caps_str("video/x-raw(memory:NVMM),format=RGBA,width=64,height=48,framerate=30/1");
    let element = publish.find_element("reidpublish").unwrap();
    let mut received = Vec::new();
    let (mut pushed, deadline) = (0u64, Instant::now() + Duration::from_secs(20));
    while received.len() < 4 && Instant::now() < deadline {
        let (buffer, keep) = embedded_batch(&mut embed, &pictures);
        publish.push(buffer).unwrap();
        drop(keep);
        pushed += 1;
        while let Some((key, body)) = listener.recv(Duration::from_millis(50)) {
            received.push((key, decode_frame(&body, 8).unwrap()));
        }
    }
    assert!(received.len() >= 4, "{} messages in 20 s ({pushed} buffers)", received.len());
    for (key, mut message) in received {
        let want = if message.camera == "gate" { &want[0] } else { &want[1] };
        assert_eq!(key, format!("reid/embeddings/{}", want.camera));
        assert!(message.timestamp_ms > 1_600_000_000_000);
        message.timestamp_ms = 0;
        assert_eq!(&message, want);
    }
    assert_eq!(element.property::<u64>("bad-metas"), pushed);
}
