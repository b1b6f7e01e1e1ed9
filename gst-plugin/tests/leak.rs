//! No leak: 20,000 frames with ROI metas through `reidembed`, the process's resident memory measured after a
//! warm-up and at the end. Measured in a child process (this test binary re-run on one ignored test) so the
//! other tests running in parallel threads do not move the number.

use crate::common::*;
use gst_check::Harness;
use gst_video::VideoRegionOfInterestMeta;
use gstreid::params;
use reid_runtime::engine::TractEngine;
use std::process::Command;

/// Frames pushed in all.
const FRAMES: u32 = 20_000;
/// Frames pushed before the first measurement (allocator pools, rayon threads, caches).
const WARM_UP: u32 = 1_000;
/// Largest resident growth accepted between the warm-up and the end: a leak of 220 bytes or more per frame
/// (19,000 frames) exceeds it.
const MAX_GROWTH_KIB: u64 = 4 * 1024;
/// Set in the child process.
const CHILD_ENV: &str = "GST_REID_LEAK_CHILD";

/// `VmRSS` of this process in KiB, from `/proc/self/status`.
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn twenty_thousand_frames_do_not_grow_memory() {
    if rss_kib().is_none() {
        println!("SKIPPED: no /proc/self/status VmRSS on this system");
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .args(["leak::measure_rss_over_twenty_thousand_frames", "--exact", "--ignored", "--nocapture"])
        .args(["--test-threads", "1"])
        .env(CHILD_ENV, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    print!("{stdout}");
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the measuring child failed: {}", out.status);
    assert!(stdout.contains("1 passed"), "the measuring test did not run in the child");
}

/// Run by [`twenty_thousand_frames_do_not_grow_memory`] in a child process (ignored otherwise).
#[test]
#[ignore = "run in a child process by twenty_thousand_frames_do_not_grow_memory"]
fn measure_rss_over_twenty_thousand_frames() {
    init();
    let dir = tempfile::tempdir().unwrap();
    let model = write_model(dir.path());
    let engine = TractEngine::open(&model, None).unwrap();
    // interval=3: the per-track cache is exercised too (tracks come and go every 40 frames).
    let mut h = Harness::new_parse(&format!("reidembed model={} engine=tract interval=3", model.display()));
    let (w, hh) = (48u32, 40u32);
    h.set_src_caps_str(&caps("RGB", w, hh));
    let pictures: Vec<_> = (0..4).map(|seed| rgb_picture(w, hh, seed)).collect();
    let boxes = [(0, 0, 20, 36), (22, 3, 17, 30), (30, 10, 18, 30)];
    let mut at_warm_up = 0;
    let mut embedded = 0u64;
    for i in 0..FRAMES {
        let picture = &pictures[(i % 4) as usize];
        let mut buffer = rgb_buffer(picture);
        {
            let b = buffer.get_mut().unwrap();
            for (k, rect) in boxes.iter().enumerate() {
                let mut roi = VideoRegionOfInterestMeta::add(b, "person", *rect);
                if k == 0 {
                    roi.add_param(params::tracking_structure(u64::from(i / 40), None));
                }
            }
        }
        let out = h.push_and_pull(buffer).unwrap();
        let got = embeddings(&out);
        assert_eq!(got.len(), 3);
        // The untracked boxes are embedded on every frame, from this frame's pixels.
        if i % 997 == 0 {
            let crop = image::imageops::crop_imm(picture, 22, 3, 17, 30).to_image();
            assert_close(&got[1].as_ref().unwrap().vector, &hand_embedding(&engine, &crop), &format!("frame {i}"));
        }
        embedded += got.iter().flatten().count() as u64;
        drop(out);
        if i + 1 == WARM_UP {
            at_warm_up = rss_kib().unwrap();
        }
    }
    let at_end = rss_kib().unwrap();
    assert_eq!(embedded, 3 * u64::from(FRAMES), "every box carries an embedding");
    let element = h.find_element("reidembed").unwrap();
    assert_eq!(gst::prelude::ObjectExt::property::<u64>(&element, "stats-frames"), u64::from(FRAMES));
    // Tracked boxes are embedded on one frame in three (frame 0, 3, 6, ... of each 40-frame track).
    let crops = gst::prelude::ObjectExt::property::<u64>(&element, "stats-crops");
    let per_track = (0..40u64).filter(|f| f % 3 == 0).count() as u64;
    assert_eq!(crops, 2 * u64::from(FRAMES) + per_track * u64::from(FRAMES / 40));
    let growth = at_end.saturating_sub(at_warm_up);
    println!(
        "reidembed RSS: {at_warm_up} KiB after {WARM_UP} frames, {at_end} KiB after {FRAMES} frames: grew \
         {growth} KiB (bound {MAX_GROWTH_KIB} KiB)"
    );
    assert!(growth < MAX_GROWTH_KIB, "resident memory grew {growth} KiB over {} frames", FRAMES - WARM_UP);
}
