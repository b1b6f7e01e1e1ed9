//! `reidembed` in NvDs mode on system-memory frames: only the chosen classes, embeddings equal to the ROI path's
//! on the same crops, user metas read back through the C structures, bad boxes and batch ids counted.

use super::fake::*;
use crate::common::*;
use gst::prelude::*;
use gst_check::Harness;
use reid_runtime::engine::TractEngine;

fn harness(model: &std::path::Path, extra: &str) -> Harness {
    Harness::new_parse(&format!("reidembed model={} engine=tract {extra}", model.display()))
}

fn crop(picture: &image::RgbImage, (x, y, w, h): (u32, u32, u32, u32)) -> image::RgbImage {
    image::imageops::crop_imm(picture, x, y, w, h).to_image()
}

#[test]
fn nvds_objects_are_embedded_like_rois_and_written_back_as_user_metas() {
    init();
    let _serial = super::serial();
    let dir = tempfile::tempdir().unwrap();
    let model = write_model(dir.path());
    let engine = TractEngine::open(&model, None).unwrap();
    let picture = rgb_picture(90, 60, 4);
    let objs = vec![
        person(Some(11), (0.0, 0.0, 20.0, 40.0)),
        Obj { class_id: 2, track: Some(12), rect: (10.0, 10.0, 30.0, 30.0), confidence: 0.9 }, // a face: not ours
        person(None, (33.0, 7.0, 17.0, 31.0)),
        person(Some(13), (70.0, 20.0, 30.0, 50.0)), // partly outside: clipped to 70,20 20x40
        person(Some(14), (5.0, 5.0, 0.0, 30.0)),    // zero width
        person(Some(15), (5.0, 5.0, 20.0, -3.0)),   // negative height
        person(Some(16), (f32::NAN, 5.0, 20.0, 30.0)),
        Obj { class_id: 0, track: Some(17), rect: (40.0, 10.0, 20.0, 40.0), confidence: 0.2 }, // under min-confidence
    ];
    let mut buffer = rgb_buffer(&picture);
    attach_batch(
        buffer.get_mut().unwrap(),
        2,
        &[
            FrameSpec { source_id: 3, batch_id: 0, frame_num: 41, objects: objs.clone() },
            // A system-memory buffer holds one frame: batch_id 1 lies beyond it.
            FrameSpec {
                source_id: 4,
                batch_id: 1,
                frame_num: 7,
                objects: vec![person(Some(1), (0.0, 0.0, 20.0, 40.0))],
            },
        ],
    );
    let before = counters();
    let mut h = harness(&model, "cameras=\"3=gate\" min-confidence=0.5");
    h.set_src_caps_str(&caps("RGB", 90, 60));
    let element = h.find_element("reidembed").unwrap();
    let out = h.push_and_pull(buffer).unwrap();

    let frames = objects(&out);
    assert_eq!(frames.len(), 2);
    let got: Vec<Vec<ReadBack>> = frames[0].1.iter().map(|o| embeddings_of(*o)).collect();
    let boxes = [(0, 0, 20, 40), (33, 7, 17, 31), (70, 20, 20, 40)];
    for (i, want_box) in [(0, boxes[0]), (2, boxes[1]), (3, boxes[2])] {
        assert_eq!(got[i].len(), 1, "object {i}: one embedding");
        let e = &got[i][0];
        assert_eq!((e.age, e.normalized, e.model.as_str(), e.camera.as_str()), (0, true, "tiny-reid.onnx", "gate"));
        assert_close(&e.values, &hand_embedding(&engine, &crop(&picture, want_box)), &format!("object {i}"));
    }
    for i in [1, 4, 5, 6, 7] {
        assert!(got[i].is_empty(), "object {i} ({:?}) must not be embedded", objs[i]);
    }
    assert!(embeddings_of(frames[1].1[0]).is_empty(), "frame with batch_id 1 skipped");
    assert_eq!(element.property::<u64>("nvds-objects"), 3);
    assert_eq!(element.property::<u64>("nvds-skipped-boxes"), 3);
    assert_eq!(element.property::<u64>("nvds-skipped-frames"), 1);
    let after = counters();
    assert_eq!(after[0], before[0], "every user meta was added under the batch lock");
    assert_eq!(after[5] - before[5], 3, "three user metas added");

    // The ROI path on the same crops gives the same vectors.
    let mut h = harness(&model, "");
    h.set_src_caps_str(&caps("RGB", 90, 60));
    let mut buffer = rgb_buffer(&picture);
    for b in boxes {
        add_roi(&mut buffer, "person", b);
    }
    let roi = embeddings(&h.push_and_pull(buffer).unwrap());
    for (k, i) in [0, 2, 3].into_iter().enumerate() {
        assert_close(&got[i][0].values, &roi[k].as_ref().unwrap().vector, &format!("object {i} vs ROI {k}"));
    }
    drop(out);
    assert_eq!(counters()[4] - before[4], 3, "the user metas were released with the batch");
}

#[test]
fn buffers_without_batch_meta_keep_the_roi_path_and_deepstream_is_reported() {
    init();
    let dir = tempfile::tempdir().unwrap();
    let model = write_model(dir.path());
    let mut h = harness(&model, "");
    h.set_src_caps_str(&caps("RGB", 40, 40));
    let element = h.find_element("reidembed").unwrap();
    let status: String = element.property("deepstream");
    assert!(status.contains("DeepStream 7.1") && status.contains("NvDs mode available"), "{status}");
    let templ = element.pad_template("sink").unwrap().caps().to_string();
    assert!(templ.to_string().contains("memory:NVMM"), "{templ}");
    let mut buffer = rgb_buffer(&rgb_picture(40, 40, 1));
    add_roi(&mut buffer, "person", (0, 0, 20, 40));
    let out = h.push_and_pull(buffer).unwrap();
    assert!(embeddings(&out)[0].is_some());
    assert_eq!(element.property::<u64>("nvds-objects"), 0);
}

#[test]
fn class_ids_and_cameras_properties() {
    init();
    let e = gst::ElementFactory::make("reidembed").build().unwrap();
    assert_eq!(e.property::<String>("class-ids"), "0");
    assert_eq!(e.property::<f32>("min-confidence"), -1.0);
    e.set_property_from_str("class-ids", "0,2");
    assert_eq!(e.property::<String>("class-ids"), "0,2");
    e.set_property_from_str("cameras", "0=gate,1=lobby");
    assert_eq!(e.property::<String>("cameras"), "0=gate,1=lobby");
    // A bad value is refused with a warning; the setting stays.
    e.set_property_from_str("cameras", "0=a/b");
    assert_eq!(e.property::<String>("cameras"), "0=gate,1=lobby");
    e.set_property_from_str("class-ids", "person");
    assert_eq!(e.property::<String>("class-ids"), "0,2");
}

/// NvDs mode with a camera model: the default `sie-camera` (-1) feeds each frame's `source_id`; a source id beyond
/// the SIE table leaves that frame's objects without an embedding, counted in `stats-camera-skipped`.
fn nvds_camera_run(source_id: u32, extra: &str) -> (Option<ReadBack>, u64) {
    let dir = tempfile::tempdir().unwrap();
    let model = write_camera_model(dir.path());
    let picture = rgb_picture(90, 60, 6);
    let mut buffer = rgb_buffer(&picture);
    let frame =
        FrameSpec { source_id, batch_id: 0, frame_num: 1, objects: vec![person(Some(1), (5.0, 4.0, 20.0, 40.0))] };
    attach_batch(buffer.get_mut().unwrap(), 1, &[frame]);
    let mut h = harness(&model, extra);
    h.set_src_caps_str(&caps("RGB", 90, 60));
    let element = h.find_element("reidembed").unwrap();
    let out = h.push_and_pull(buffer).unwrap();
    let got = embeddings_of(objects(&out)[0].1[0]).into_iter().next();
    (got, element.property::<u64>("stats-camera-skipped"))
}

#[test]
fn nvds_source_ids_feed_the_camera_input() {
    init();
    let _serial = super::serial();
    let dir = tempfile::tempdir().unwrap();
    let engine = TractEngine::open(&write_camera_model(dir.path()), None).unwrap();
    let crop = crop(&rgb_picture(90, 60, 6), (5, 4, 20, 40));
    for source in [1u32, 2] {
        let (got, skipped) = nvds_camera_run(source, "");
        let want = hand_embedding_camera(&engine, &crop, i64::from(source));
        assert_close(&got.expect("an embedding").values, &want, &format!("source {source}"));
        assert_eq!(skipped, 0);
    }
    // A fixed sie-camera wins over the source id.
    let (got, _) = nvds_camera_run(2, "sie-camera=0");
    assert_close(&got.unwrap().values, &hand_embedding_camera(&engine, &crop, 0), "sie-camera=0");
    // Source 5 has no row in a 3-camera table: not embedded, counted.
    let (got, skipped) = nvds_camera_run(5, "");
    assert!(got.is_none());
    assert_eq!(skipped, 1);
}
