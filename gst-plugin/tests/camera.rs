//! `reidembed` with a model that has a camera input (TransReID's side information embedding): the `sie-camera`
//! property reaches the model (embeddings equal the runtime's for that camera, and differ between cameras), the
//! default feeds camera 0 outside NvDs mode, and a camera beyond the model's table stops the element at start.

use crate::common::*;
use gst::prelude::*;
use gst_check::Harness;
use reid_runtime::engine::TractEngine;

fn embed_one(model: &std::path::Path, extra: &str) -> Vec<f32> {
    let mut h = Harness::new_parse(&format!("reidembed model={} engine=tract {extra}", model.display()));
    h.set_src_caps_str(&caps("RGB", 40, 50));
    let mut buffer = rgb_buffer(&rgb_picture(40, 50, 9));
    add_roi(&mut buffer, "person", (4, 3, 20, 40));
    let out = h.push_and_pull(buffer).unwrap();
    let got = embeddings(&out);
    got[0].as_ref().expect("an embedding").vector.clone()
}

#[test]
fn sie_camera_reaches_the_camera_input() {
    init();
    let dir = tempfile::tempdir().unwrap();
    let model = write_camera_model(dir.path());
    let engine = TractEngine::open(&model, None).unwrap();
    let crop = image::imageops::crop_imm(&rgb_picture(40, 50, 9), 4, 3, 20, 40).to_image();
    for camera in 0..CAMERAS as i64 {
        let got = embed_one(&model, &format!("sie-camera={camera}"));
        assert_close(&got, &hand_embedding_camera(&engine, &crop, camera), &format!("camera {camera}"));
    }
    // The default (-1) outside NvDs mode is camera 0; the cameras really differ.
    let default = embed_one(&model, "");
    assert_close(&default, &hand_embedding_camera(&engine, &crop, 0), "default camera");
    let two = hand_embedding_camera(&engine, &crop, 2);
    assert!(default.iter().zip(&two).any(|(a, b)| (a - b).abs() > 1e-3), "camera 0 and 2 must differ");
    // A model without a camera input ignores the property.
    let plain = write_model(dir.path());
    let plain_engine = TractEngine::open(&plain, None).unwrap();
    assert_close(&embed_one(&plain, "sie-camera=2"), &hand_embedding(&plain_engine, &crop), "no camera input");
}

#[test]
fn sie_camera_beyond_the_table_fails_the_state_change() {
    init();
    let dir = tempfile::tempdir().unwrap();
    let model = write_camera_model(dir.path());
    let pipeline = gst::Pipeline::new();
    let src = gst::ElementFactory::make("fakesrc").build().unwrap();
    let embed = gst::ElementFactory::make("reidembed")
        .property("model", model.to_str().unwrap())
        .property("engine", "tract")
        .property("sie-camera", CAMERAS as i32)
        .build()
        .unwrap();
    let sink = gst::ElementFactory::make("fakesink").build().unwrap();
    pipeline.add_many([&src, &embed, &sink]).unwrap();
    gst::Element::link_many([&src, &embed, &sink]).unwrap();
    assert!(pipeline.set_state(gst::State::Paused).is_err());
    let bus = pipeline.bus().unwrap();
    let message = bus.timed_pop_filtered(gst::ClockTime::from_seconds(5), &[gst::MessageType::Error]).unwrap();
    let gst::MessageView::Error(err) = message.view() else { unreachable!() };
    let text = err.error().to_string();
    assert!(text.contains("sie-camera") && text.contains("3 SIE cameras"), "{text}");
    pipeline.set_state(gst::State::Null).unwrap();
}
