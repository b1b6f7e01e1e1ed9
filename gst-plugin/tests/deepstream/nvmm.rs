//! `reidembed` on NVMM buffers (an `NvBufSurface` in the buffer's memory) batched by `nvstreammux`: two sources,
//! RGBA and NV12 surfaces with padded pitches, `interval` per source, and surfaces that do not hold what they
//! claim (refused with a warning, never read out of bounds).

use super::fake::*;
use crate::common::*;
use gst::prelude::*;
use gst_check::Harness;
use reid_runtime::engine::TractEngine;

fn harness(model: &std::path::Path, caps: &str, extra: &str) -> Harness {
    let mut h = Harness::new_parse(&format!("reidembed model={} engine=tract {extra}", model.display()));
    h.set_src_caps_str(caps);
    h
}

fn nvmm_caps(format: &str, w: u32, h: u32) -> String {
    format!("video/x-raw(memory:NVMM),format={format},width={w},height={h},framerate=30/1")
}

/// The first warning the element posted (the harness gives it no bus: `with_bus` does).
fn warning(bus: &gst::Bus) -> Option<String> {
    std::iter::from_fn(|| bus.pop()).find_map(|m| match m.view() {
        gst::MessageView::Warning(w) => Some(w.error().to_string()),
        _ => None,
    })
}

/// Gives the harness's element a bus.
fn with_bus(h: &Harness) -> gst::Bus {
    let bus = gst::Bus::new();
    h.element().unwrap().set_bus(Some(&bus));
    bus
}

fn crop(picture: &image::RgbImage, (x, y, w, h): (u32, u32, u32, u32)) -> image::RgbImage {
    image::imageops::crop_imm(picture, x, y, w, h).to_image()
}

#[test]
fn two_rgba_sources_batched_with_interval_per_source() {
    init();
    let _serial = super::serial();
    let dir = tempfile::tempdir().unwrap();
    let model = write_model(dir.path());
    let engine = TractEngine::open(&model, None).unwrap();
    // Two cameras, different sizes and pitches (a pitch wider than 4 * width, as NVMM surfaces have).
    let pictures = [rgb_picture(64, 48, 1), rgb_picture(80, 50, 2)];
    let mut h = harness(&model, &nvmm_caps("RGBA", 64, 48), "interval=3 cameras=\"0=gate,1=lobby\"");
    let element = h.find_element("reidembed").unwrap();
    let before = counters();
    // The same tracker id 5 on both sources is two objects: each re-embeds on its own schedule.
    let boxes = [(4, 2, 20, 40), (50, 5, 24, 40)];
    let mut ages = Vec::new();
    for frame_num in 0..5 {
        let surfaces = [rgba_surface(&pictures[0], 64 * 4 + 32), rgba_surface(&pictures[1], 80 * 4 + 64)];
        let (mut buffer, keep) = nvmm_buffer(&surfaces, 2);
        let b = |i: usize| boxes[i];
        let rect = |(x, y, w, h): (u32, u32, u32, u32)| (x as f32, y as f32, w as f32, h as f32);
        attach_batch(
            buffer.get_mut().unwrap(),
            2,
            &[
                // List order differs from batch order, as muxers may produce.
                FrameSpec { source_id: 1, batch_id: 1, frame_num, objects: vec![person(Some(5), rect(b(1)))] },
                FrameSpec { source_id: 0, batch_id: 0, frame_num, objects: vec![person(Some(5), rect(b(0)))] },
            ],
        );
        let out = h.push_and_pull(buffer).unwrap();
        let frames = objects(&out);
        let lobby = embeddings_of(frames[0].1[0]);
        let gate = embeddings_of(frames[1].1[0]);
        assert_eq!((gate.len(), lobby.len()), (1, 1), "frame {frame_num}");
        assert_eq!((gate[0].camera.as_str(), lobby[0].camera.as_str()), ("gate", "lobby"));
        assert_close(&gate[0].values, &hand_embedding(&engine, &crop(&pictures[0], boxes[0])), "gate");
        assert_close(&lobby[0].values, &hand_embedding(&engine, &crop(&pictures[1], boxes[1])), "lobby");
        ages.push((gate[0].age, lobby[0].age));
        drop(out);
        drop(keep);
    }
    assert_eq!(ages, vec![(0, 0), (1, 1), (2, 2), (0, 0), (1, 1)], "re-embedded every 3 frames, per source");
    // Two fresh frames x two sources = four crops; every map was unmapped.
    assert_eq!(element.property::<u64>("stats-crops"), 4);
    let after = counters();
    assert_eq!(after[1] - before[1], 4, "maps");
    assert_eq!(after[2] - before[2], after[1] - before[1], "every map unmapped");
    assert_eq!(after[3] - before[3], 4, "synced for the CPU");
}

#[test]
fn nv12_surfaces_match_a_hand_conversion_and_bad_batch_ids_are_skipped() {
    init();
    let _serial = super::serial();
    let dir = tempfile::tempdir().unwrap();
    let model = write_model(dir.path());
    let engine = TractEngine::open(&model, None).unwrap();
    let frames = [Nv12::new(75, 51, 3), Nv12::new(64, 40, 9)];
    let mut h = harness(&model, &nvmm_caps("NV12", 75, 51), "");
    let element = h.find_element("reidembed").unwrap();
    let surfaces = [nv12_surface(&frames[0], 128), nv12_surface(&frames[1], 64)];
    let (mut buffer, _keep) = nvmm_buffer(&surfaces, 2);
    attach_batch(
        buffer.get_mut().unwrap(),
        4,
        &[
            FrameSpec {
                source_id: 0,
                batch_id: 0,
                frame_num: 1,
                objects: vec![person(None, (41.0, 10.0, 34.0, 41.0))],
            },
            FrameSpec {
                source_id: 1,
                batch_id: 1,
                frame_num: 1,
                objects: vec![person(Some(2), (3.0, 5.0, 17.0, 33.0))],
            },
            FrameSpec {
                source_id: 2,
                batch_id: 2,
                frame_num: 1,
                objects: vec![person(Some(3), (3.0, 5.0, 17.0, 33.0))],
            },
        ],
    );
    let out = h.push_and_pull(buffer).unwrap();
    let metas = objects(&out);
    let want0 = hand_embedding(&engine, &frames[0].crop_rgb(41, 10, 34, 41));
    let want1 = hand_embedding(&engine, &frames[1].crop_rgb(3, 5, 17, 33));
    assert_close(&embeddings_of(metas[0].1[0])[0].values, &want0, "source 0");
    assert_close(&embeddings_of(metas[1].1[0])[0].values, &want1, "source 1");
    assert_eq!(embeddings_of(metas[1].1[0])[0].camera, "cam1");
    assert!(embeddings_of(metas[2].1[0]).is_empty(), "batch_id 2 of a 2-surface batch");
    assert_eq!(element.property::<u64>("nvds-skipped-frames"), 1);
}

#[test]
fn surfaces_that_do_not_hold_what_they_claim_are_refused() {
    init();
    let _serial = super::serial();
    let dir = tempfile::tempdir().unwrap();
    let model = write_model(dir.path());
    let frame = Nv12::new(40, 40, 5);
    let one = |objects| vec![FrameSpec { source_id: 0, batch_id: 0, frame_num: 0, objects }];
    let boxes = vec![person(None, (0.0, 0.0, 20.0, 40.0))];
    let mut cases: Vec<(&str, SurfaceSpec)> = Vec::new();
    // One plane where NV12 needs two.
    let mut s = nv12_surface(&frame, 40);
    s.planes.truncate(1);
    cases.push(("1 planes", s));
    // A pitch narrower than the width.
    let mut s = nv12_surface(&frame, 40);
    s.planes[0].0 = 32;
    s.planes[0].2.truncate(32 * 40);
    cases.push(("pitch 32", s));
    // Fewer rows than the height.
    let mut s = nv12_surface(&frame, 40);
    s.planes[1].1 = 10;
    s.planes[1].2.truncate(40 * 10);
    cases.push(("10 rows", s));
    for (what, surface) in cases {
        let mut h = harness(&model, &nvmm_caps("NV12", 40, 40), "");
        let element = h.find_element("reidembed").unwrap();
        let bus = with_bus(&h);
        let (mut buffer, _keep) = nvmm_buffer(&[surface], 1);
        attach_batch(buffer.get_mut().unwrap(), 1, &one(boxes.clone()));
        let out = h.push_and_pull(buffer).unwrap();
        assert!(embeddings_of(objects(&out)[0].1[0]).is_empty(), "{what}");
        assert_eq!(element.property::<u64>("nvds-skipped-frames"), 1, "{what}");
        let warning = warning(&bus).unwrap_or_else(|| panic!("{what}: no warning"));
        assert!(warning.contains(what), "{what}: {warning}");
    }
    // Memory too small for an NvBufSurface; numFilled beyond batchSize.
    for (what, buffer) in [
        ("holds 8 bytes", gst::Buffer::from_mut_slice(vec![0u8; 8])),
        ("numFilled 3 > batchSize 1", nvmm_buffer(&[nv12_surface(&frame, 40)], 3).0),
    ] {
        let mut h = harness(&model, &nvmm_caps("NV12", 40, 40), "");
        let bus = with_bus(&h);
        let mut buffer = buffer;
        attach_batch(buffer.get_mut().unwrap(), 1, &one(boxes.clone()));
        let out = h.push_and_pull(buffer).unwrap();
        assert!(embeddings_of(objects(&out)[0].1[0]).is_empty(), "{what}");
        let warning = warning(&bus);
        assert!(warning.as_deref().is_some_and(|w| w.contains(what)), "{what}: {warning:?}");
    }
}
