//! `reidembed` through gstreamer-check's harness: embeddings equal the runtime's for the same crop, video data
//! untouched, odd boxes skipped, many boxes, no boxes, renegotiation, and errors at state change.

use crate::common::*;
use gst::prelude::*;
use gst_check::Harness;
use gst_video::VideoRegionOfInterestMeta;
use gstreid::params;
use image::RgbImage;
use reid_runtime::engine::TractEngine;

struct Fixture {
    _dir: tempfile::TempDir,
    model: std::path::PathBuf,
    engine: TractEngine,
}

fn fixture() -> Fixture {
    init();
    let dir = tempfile::tempdir().unwrap();
    let model = write_model(dir.path());
    let engine = TractEngine::open(&model, None).unwrap();
    Fixture { _dir: dir, model, engine }
}

fn harness(model: &std::path::Path, extra: &str) -> Harness {
    Harness::new_parse(&format!("reidembed model={} engine=tract {extra}", model.display()))
}

fn crop(picture: &RgbImage, (x, y, w, h): (u32, u32, u32, u32)) -> RgbImage {
    image::imageops::crop_imm(picture, x, y, w, h).to_image()
}

#[test]
fn rgb_embeddings_match_the_runtime_and_pixels_are_untouched() {
    let f = fixture();
    let mut h = harness(&f.model, "");
    // 90 pixels wide: RGB rows are padded (270 -> 272 bytes), so strides matter.
    h.set_src_caps_str(&caps("RGB", 90, 60));
    let picture = rgb_picture(90, 60, 1);
    let boxes = [(0, 0, 20, 40), (33, 7, 17, 31), (70, 20, 20, 40), (5, 25, 80, 35)];
    let mut buffer = rgb_buffer(&picture);
    for b in boxes {
        add_roi(&mut buffer, "person", b);
    }
    let before = bytes(&buffer);
    let out = h.push_and_pull(buffer).unwrap();
    assert_eq!(bytes(&out), before, "the video data must pass through untouched");
    let got = embeddings(&out);
    assert_eq!(got.len(), boxes.len());
    for (b, e) in boxes.iter().zip(&got) {
        let e = e.as_ref().unwrap_or_else(|| panic!("no embedding on {b:?}"));
        assert_eq!(e.vector.len(), D);
        assert!(e.normalized);
        assert_eq!(e.model, "tiny-reid.onnx");
        assert_eq!(e.age, 0);
        assert_close(&e.vector, &hand_embedding(&f.engine, &crop(&picture, *b)), &format!("box {b:?}"));
        // The comparison is sharp: the same box one pixel to the right embeds differently.
        let shifted = hand_embedding(&f.engine, &crop(&picture, (b.0 + 1, b.1, b.2 - 1, b.3)));
        assert!(e.vector.iter().zip(&shifted).any(|(a, b)| (a - b).abs() > 1e-3), "box {b:?} vs shifted");
    }
    // The structure's other fields, as C/Python code reads them.
    let roi = out.meta::<VideoRegionOfInterestMeta>().unwrap();
    let s = roi.param(params::EMBEDDING).unwrap();
    assert_eq!(s.get::<i32>("dim").unwrap(), D as i32);
    assert_eq!(s.get::<gst::glib::Bytes>("data").unwrap().len(), 4 * D);
    assert!(s.get::<bool>("normalized").unwrap());
}

#[test]
fn nv12_embeddings_match_a_hand_conversion() {
    let f = fixture();
    // Odd sizes: chroma planes round up, strides are padded.
    let frame = Nv12::new(75, 51, 3);
    let mut h = harness(&f.model, "batch-size=2");
    h.set_src_caps_str(&caps("NV12", frame.w, frame.h));
    let boxes = [(0, 0, 20, 40), (3, 5, 17, 33), (41, 10, 34, 41), (20, 1, 33, 49)];
    let mut buffer = frame.buffer();
    for b in boxes {
        add_roi(&mut buffer, "person", b);
    }
    let before = bytes(&buffer);
    let out = h.push_and_pull(buffer).unwrap();
    assert_eq!(bytes(&out), before);
    for (b, e) in boxes.iter().zip(embeddings(&out)) {
        let e = e.unwrap_or_else(|| panic!("no embedding on {b:?}"));
        let want = hand_embedding(&f.engine, &frame.crop_rgb(b.0, b.1, b.2, b.3));
        assert_close(&e.vector, &want, &format!("NV12 box {b:?}"));
    }
}

#[test]
fn i420_embeddings_match_a_hand_conversion() {
    let f = fixture();
    let frame = Nv12::new(63, 47, 8);
    let mut h = harness(&f.model, "");
    h.set_src_caps_str(&caps("I420", frame.w, frame.h));
    let boxes = [(1, 1, 20, 40), (30, 3, 33, 44)];
    let mut buffer = frame.i420_buffer();
    for b in boxes {
        add_roi(&mut buffer, "person", b);
    }
    let before = bytes(&buffer);
    let out = h.push_and_pull(buffer).unwrap();
    assert_eq!(bytes(&out), before);
    for (b, e) in boxes.iter().zip(embeddings(&out)) {
        let want = hand_embedding(&f.engine, &frame.crop_rgb(b.0, b.1, b.2, b.3));
        assert_close(&e.unwrap().vector, &want, &format!("I420 box {b:?}"));
    }
}

#[test]
fn odd_boxes_are_skipped_or_clipped() {
    let f = fixture();
    let mut h = harness(&f.model, "min-size=8");
    h.set_src_caps_str(&caps("RGB", 64, 48));
    let picture = rgb_picture(64, 48, 2);
    let mut buffer = rgb_buffer(&picture);
    let boxes: [(u32, u32, u32, u32); 9] = [
        (10, 10, 0, 20),              // zero width
        (10, 10, 20, 0),              // zero height
        (-5i32 as u32, 4, 20, 30),    // negative x (C code writing -5): clipped to x 0..15
        (0, 0, -20i32 as u32, 30),    // negative width: empty
        (64, 0, 10, 10),              // right of the frame
        (0, 48, 10, 10),              // below the frame
        (u32::MAX, u32::MAX, 10, 10), // (-1, -1) 10x10: clipped to 9x9
        (50, 30, 40, 40),             // sticks out: clipped to 14x18
        (10, 10, 5, 30),              // narrower than min-size
    ];
    for b in boxes {
        add_roi(&mut buffer, "person", b);
    }
    add_roi(&mut buffer, "car", (0, 0, 32, 32)); // another type: ignored
    let out = h.push_and_pull(buffer).unwrap();
    let got = embeddings(&out);
    assert_eq!(got.len(), 10);
    let want = |b| Some(hand_embedding(&f.engine, &crop(&picture, b)));
    let expected =
        [None, None, want((0, 4, 15, 30)), None, None, None, want((0, 0, 9, 9)), want((50, 30, 14, 18)), None, None];
    for (i, (g, w)) in got.iter().zip(&expected).enumerate() {
        match (g, w) {
            (None, None) => {}
            (Some(g), Some(w)) => assert_close(&g.vector, w, &format!("box {i}")),
            _ => panic!("box {i} {:?}: embedding {} expected {}", boxes.get(i), g.is_some(), w.is_some()),
        }
    }
}

#[test]
fn two_hundred_boxes_in_one_frame() {
    let f = fixture();
    let mut h = harness(&f.model, "batch-size=16");
    h.set_src_caps_str(&caps("RGB", 320, 240));
    let picture = rgb_picture(320, 240, 4);
    let mut buffer = rgb_buffer(&picture);
    let boxes: Vec<(u32, u32, u32, u32)> =
        (0..200u32).map(|i| ((i * 13) % 290, (i * 7) % 190, 16 + i % 15, 32 + i % 19)).collect();
    for &b in &boxes {
        add_roi(&mut buffer, "person", b);
    }
    let out = h.push_and_pull(buffer).unwrap();
    let got = embeddings(&out);
    assert_eq!(got.len(), 200);
    for (i, (b, e)) in boxes.iter().zip(&got).enumerate() {
        let e = e.as_ref().unwrap_or_else(|| panic!("box {i} has no embedding"));
        if i % 37 == 0 || i == 199 {
            assert_close(&e.vector, &hand_embedding(&f.engine, &crop(&picture, *b)), &format!("box {i}"));
        }
    }
}

#[test]
fn frames_without_boxes_pass_through() {
    let f = fixture();
    let mut h = harness(&f.model, "");
    h.set_src_caps_str(&caps("RGB", 32, 24));
    for seed in 0..3 {
        let buffer = rgb_buffer(&rgb_picture(32, 24, seed));
        let before = bytes(&buffer);
        let out = h.push_and_pull(buffer).unwrap();
        assert_eq!(bytes(&out), before);
        assert_eq!(out.iter_meta::<VideoRegionOfInterestMeta>().count(), 0);
    }
}

#[test]
fn renegotiation_mid_stream() {
    let f = fixture();
    let mut h = harness(&f.model, "");
    let b = (4, 4, 20, 30);
    for (i, (w, hh)) in [(64u32, 48u32), (120, 90), (40, 36)].into_iter().enumerate() {
        h.set_src_caps_str(&caps("RGB", w, hh));
        let picture = rgb_picture(w, hh, i as u32);
        let mut buffer = rgb_buffer(&picture);
        add_roi(&mut buffer, "person", b);
        let out = h.push_and_pull(buffer).unwrap();
        let e = embeddings(&out).remove(0).expect("embedding after renegotiation");
        assert_close(&e.vector, &hand_embedding(&f.engine, &crop(&picture, b)), &format!("{w}x{hh}"));
    }
    // And to NV12.
    let frame = Nv12::new(50, 40, 9);
    h.set_src_caps_str(&caps("NV12", 50, 40));
    let mut buffer = frame.buffer();
    add_roi(&mut buffer, "person", b);
    let out = h.push_and_pull(buffer).unwrap();
    let e = embeddings(&out).remove(0).unwrap();
    assert_close(&e.vector, &hand_embedding(&f.engine, &frame.crop_rgb(b.0, b.1, b.2, b.3)), "NV12 after RGB");
}

#[test]
fn packed_formats_agree() {
    let f = fixture();
    let picture = rgb_picture(48, 40, 5);
    let b = (6, 2, 22, 35);
    let want = hand_embedding(&f.engine, &crop(&picture, b));
    for format in ["RGBA", "BGRx"] {
        let mut h = harness(&f.model, "");
        h.set_src_caps_str(&caps(format, 48, 40));
        let data: Vec<u8> = picture
            .pixels()
            .flat_map(|p| if format == "RGBA" { [p[0], p[1], p[2], 200] } else { [p[2], p[1], p[0], 0] })
            .collect();
        let mut buffer = gst::Buffer::from_mut_slice(data);
        add_roi(&mut buffer, "person", b);
        let out = h.push_and_pull(buffer).unwrap();
        assert_close(&embeddings(&out)[0].as_ref().unwrap().vector, &want, format);
    }
}

#[test]
fn tracked_objects_are_re_embedded_every_interval() {
    let f = fixture();
    let mut h = harness(&f.model, "interval=3");
    h.set_src_caps_str(&caps("RGB", 64, 48));
    let mut ages = Vec::new();
    let mut vectors = Vec::new();
    for frame in 0..5u32 {
        let picture = rgb_picture(64, 48, frame);
        let mut buffer = rgb_buffer(&picture);
        {
            let mut roi = VideoRegionOfInterestMeta::add(buffer.get_mut().unwrap(), "person", (2, 2, 20, 30));
            roi.add_param(params::tracking_structure(42, None));
        }
        // An untracked box: embedded on every frame.
        add_roi(&mut buffer, "person", (30, 10, 20, 30));
        let out = h.push_and_pull(buffer).unwrap();
        let got = embeddings(&out);
        let tracked = got[0].clone().unwrap();
        ages.push(tracked.age);
        vectors.push(tracked.vector);
        assert_eq!(got[1].as_ref().unwrap().age, 0);
        assert_close(
            &got[1].as_ref().unwrap().vector,
            &hand_embedding(&f.engine, &crop(&picture, (30, 10, 20, 30))),
            "untracked",
        );
    }
    assert_eq!(ages, [0, 1, 2, 0, 1]);
    assert_eq!(vectors[1], vectors[0]);
    assert_ne!(vectors[3], vectors[0]);
}

#[test]
fn model_errors_fail_the_state_change() {
    init();
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.onnx");
    std::fs::write(&broken, b"not an onnx model").unwrap();
    let broken = broken.to_str().unwrap();
    for (model, expect) in [
        (Some("/nonexistent/model.onnx"), "does not exist"),
        (None, "no model"),
        (Some(broken), "not a valid ONNX model"),
    ] {
        let pipeline = gst::Pipeline::new();
        let src = gst::ElementFactory::make("fakesrc").build().unwrap();
        let mut embed = gst::ElementFactory::make("reidembed");
        if let Some(model) = model {
            embed = embed.property("model", model);
        }
        let embed = embed.build().unwrap();
        let sink = gst::ElementFactory::make("fakesink").build().unwrap();
        pipeline.add_many([&src, &embed, &sink]).unwrap();
        gst::Element::link_many([&src, &embed, &sink]).unwrap();
        assert!(pipeline.set_state(gst::State::Paused).is_err(), "{model:?} must fail to start");
        let bus = pipeline.bus().unwrap();
        let message = bus.timed_pop_filtered(gst::ClockTime::from_seconds(5), &[gst::MessageType::Error]).unwrap();
        let gst::MessageView::Error(err) = message.view() else { unreachable!() };
        let text = err.error().to_string();
        assert!(text.contains(expect), "{model:?}: {text}");
        pipeline.set_state(gst::State::Null).unwrap();
    }
}

#[test]
fn unknown_engine_fails_the_state_change() {
    let f = fixture();
    let embed = gst::ElementFactory::make("reidembed")
        .property("model", f.model.to_str().unwrap())
        .property("engine", "openvino")
        .build()
        .unwrap();
    let pipeline = gst::Pipeline::new();
    pipeline.add(&embed).unwrap();
    assert!(pipeline.set_state(gst::State::Paused).is_err());
    let message = pipeline
        .bus()
        .unwrap()
        .timed_pop_filtered(gst::ClockTime::from_seconds(5), &[gst::MessageType::Error])
        .unwrap();
    let gst::MessageView::Error(err) = message.view() else { unreachable!() };
    assert!(err.error().to_string().contains("unknown engine"), "{}", err.error());
    pipeline.set_state(gst::State::Null).unwrap();
}

#[test]
fn truncated_buffer_is_a_stream_error_not_a_panic() {
    let f = fixture();
    let mut h = harness(&f.model, "");
    h.set_src_caps_str(&caps("NV12", 64, 48));
    let mut buffer = gst::Buffer::from_mut_slice(vec![16u8; 100]);
    add_roi(&mut buffer, "person", (0, 0, 32, 32));
    assert_eq!(h.push(buffer), Err(gst::FlowError::Error));
}

#[test]
fn raw_output_other_roi_type_and_engine_description() {
    let f = fixture();
    let mut h = harness(&f.model, "normalize=false roi-type=pedestrian model-id=tiny-v1");
    h.set_src_caps_str(&caps("RGB", 64, 48));
    let element = h.find_element("reidembed").unwrap();
    assert_eq!(element.property::<Option<String>>("engine-description").as_deref(), Some("tract"));
    let picture = rgb_picture(64, 48, 6);
    let mut buffer = rgb_buffer(&picture);
    add_roi(&mut buffer, "person", (0, 0, 20, 30));
    add_roi(&mut buffer, "pedestrian", (10, 5, 20, 30));
    let out = h.push_and_pull(buffer).unwrap();
    let got = embeddings(&out);
    assert!(got[0].is_none(), "a `person` box is not a `pedestrian`");
    let e = got[1].as_ref().unwrap();
    assert!(!e.normalized);
    assert_eq!(e.model, "tiny-v1");
    let input = reid_runtime::engine::preprocess::preprocess_image(
        &crop(&picture, (10, 5, 20, 30)),
        &reid_runtime::engine::Engine::info(&f.engine).preprocess,
    );
    let raw = reid_runtime::engine::Engine::embed_batch(&f.engine, &input, 1).unwrap();
    assert_close(&e.vector, &raw, "raw output");
}

#[test]
fn models_without_metadata_take_the_preprocessing_from_properties() {
    init();
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("bare.onnx");
    std::fs::write(&model, model_bytes_with(false)).unwrap();

    // Without the properties: a clear error at state change naming them.
    let embed = gst::ElementFactory::make("reidembed").property("model", model.to_str().unwrap()).build().unwrap();
    let pipeline = gst::Pipeline::new();
    pipeline.add(&embed).unwrap();
    assert!(pipeline.set_state(gst::State::Paused).is_err());
    let message = pipeline
        .bus()
        .unwrap()
        .timed_pop_filtered(gst::ClockTime::from_seconds(5), &[gst::MessageType::Error])
        .unwrap();
    let gst::MessageView::Error(err) = message.view() else { unreachable!() };
    assert!(err.error().to_string().contains("input-width"), "{}", err.error());
    pipeline.set_state(gst::State::Null).unwrap();

    // With them: the runtime's embedding under the same explicit preprocessing.
    let mut cfg = reid_runtime::engine::PreprocessConfig::imagenet(H, W);
    cfg.mean = [0.5, 0.5, 0.5];
    let engine = TractEngine::open(&model, Some(&cfg)).unwrap();
    let mut h = Harness::new_parse(&format!(
        "reidembed model={} engine=tract input-width={W} input-height={H} pixel-mean=0.5,0.5,0.5",
        model.display()
    ));
    h.set_src_caps_str(&caps("RGB", 64, 48));
    let picture = rgb_picture(64, 48, 11);
    let mut buffer = rgb_buffer(&picture);
    add_roi(&mut buffer, "person", (3, 4, 25, 40));
    let out = h.push_and_pull(buffer).unwrap();
    let e = embeddings(&out).remove(0).unwrap();
    assert_close(&e.vector, &hand_embedding(&engine, &crop(&picture, (3, 4, 25, 40))), "explicit preprocessing");
}

#[test]
fn inconsistent_preprocessing_properties_fail_the_state_change() {
    let f = fixture();
    for extra in [
        vec![("input-width", 8u32.to_value())],
        vec![
            ("pixel-mean", "0.5,0.5".to_value()),
            ("input-width", 8u32.to_value()),
            ("input-height", 16u32.to_value()),
        ],
        vec![
            ("pixel-std", "0.2,0,0.2".to_value()),
            ("input-width", 8u32.to_value()),
            ("input-height", 16u32.to_value()),
        ],
        vec![("pixel-mean", "0.5,0.5,0.5".to_value())],
    ] {
        let embed =
            gst::ElementFactory::make("reidembed").property("model", f.model.to_str().unwrap()).build().unwrap();
        for (name, value) in &extra {
            embed.set_property_from_value(name, value);
        }
        let pipeline = gst::Pipeline::new();
        pipeline.add(&embed).unwrap();
        assert!(pipeline.set_state(gst::State::Paused).is_err(), "{extra:?}");
        pipeline.set_state(gst::State::Null).unwrap();
    }
}

#[test]
fn auto_engine_opens_whatever_the_build() {
    let f = fixture();
    // `auto`: ONNX Runtime's CPU provider when a build with feature `ort` finds the library, else tract.
    let mut h = Harness::new_parse(&format!("reidembed model={}", f.model.display()));
    h.set_src_caps_str(&caps("RGB", 40, 40));
    let description = h.find_element("reidembed").unwrap().property::<Option<String>>("engine-description").unwrap();
    assert!(description == "tract" || description.starts_with("ONNX Runtime"), "{description}");
    let picture = rgb_picture(40, 40, 12);
    let mut buffer = rgb_buffer(&picture);
    add_roi(&mut buffer, "person", (2, 2, 18, 36));
    let out = h.push_and_pull(buffer).unwrap();
    let e = embeddings(&out).remove(0).unwrap();
    assert_close(&e.vector, &hand_embedding(&f.engine, &crop(&picture, (2, 2, 18, 36))), &description);
}

#[test]
fn stats_properties_count_frames_crops_and_stage_times() {
    let f = fixture();
    let mut h = harness(&f.model, "interval=2");
    h.set_src_caps_str(&caps("RGB", 64, 48));
    let element = h.find_element("reidembed").unwrap();
    let stat = |name: &str| element.property::<u64>(name);
    for name in gstreid::reidembed::STATS_PROPERTIES {
        assert_eq!(stat(name), 0, "{name} before any frame");
    }
    for frame in 0..3u32 {
        let mut buffer = rgb_buffer(&rgb_picture(64, 48, frame));
        {
            let b = buffer.get_mut().unwrap();
            let mut roi = VideoRegionOfInterestMeta::add(b, "person", (2, 2, 20, 30));
            roi.add_param(params::tracking_structure(5, None));
            VideoRegionOfInterestMeta::add(b, "person", (30, 10, 20, 30));
            VideoRegionOfInterestMeta::add(b, "person", (10, 10, 4, 4)); // below min-size: no crop
        }
        h.push_and_pull(buffer).unwrap();
    }
    // Frames 0 and 2 embed the tracked box, frame 1 reuses it; the untracked box is embedded on all three.
    assert_eq!(stat("stats-frames"), 3);
    assert_eq!(stat("stats-crops"), 5);
    let (total, engine) = (stat("stats-total-ns"), stat("stats-engine-ns"));
    assert!(engine > 0 && total > engine, "total {total} ns, engine {engine} ns");
    assert!(stat("stats-convert-ns") > 0 && stat("stats-resize-ns") > 0);
    let prepare = stat("stats-prepare-ns");
    assert!(prepare > 0 && prepare + engine <= total, "prepare {prepare} ns");
    // A frame without boxes counts as a frame, not as a crop or engine time.
    h.push_and_pull(rgb_buffer(&rgb_picture(64, 48, 9))).unwrap();
    assert_eq!((stat("stats-frames"), stat("stats-crops"), stat("stats-engine-ns")), (4, 5, engine));
}
