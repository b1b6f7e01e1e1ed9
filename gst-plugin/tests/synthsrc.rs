//! `reidsynthsrc`: frames, ground-truth ROI metas, determinism, cameras.

use crate::common::*;
use gst::prelude::*;
use gst_check::Harness;
use gst_video::VideoRegionOfInterestMeta;
use gstreid::params;
use gstreid::reidsynthsrc::{Scene, camera_id};

fn source(extra: &str) -> Harness {
    init();
    let mut h =
        Harness::new_parse(&format!("reidsynthsrc is-live=false num-buffers=40 width=160 height=120 fps=10 {extra}"));
    h.play();
    h
}

fn pull(h: &mut Harness, n: usize) -> Vec<gst::Buffer> {
    (0..n).map(|_| h.pull().unwrap()).collect()
}

#[test]
fn frames_carry_ground_truth_person_rois() {
    let mut h = source("persons=5 seed=3 camera=cam1");
    let buffers = pull(&mut h, 40);
    let caps = h.sinkpad().unwrap().current_caps().unwrap();
    let info = gst_video::VideoInfo::from_caps(&caps).unwrap();
    assert_eq!((info.width(), info.height(), info.fps()), (160, 120, gst::Fraction::new(10, 1)));
    let mut rois = 0;
    for (i, b) in buffers.iter().enumerate() {
        assert_eq!(b.size(), info.size());
        assert_eq!(b.pts(), Some(gst::ClockTime::from_mseconds(100 * i as u64)));
        for roi in b.iter_meta::<VideoRegionOfInterestMeta>() {
            rois += 1;
            assert_eq!(roi.roi_type(), "person");
            let (x, y, w, hh) = roi.rect();
            assert!(w > 0 && hh > 0 && x + w <= 160 && y + hh <= 120, "{:?}", roi.rect());
            let track = params::track_id(&roi, false).expect("track id");
            let pid = params::identity(&roi).expect("identity");
            assert!((1..=5).contains(&pid));
            assert_eq!(track % 5, pid as u64 % 5, "track ids are walk * persons + pid");
            assert_eq!(roi.id() as u64, track);
        }
    }
    assert!(rois > 0, "40 frames without anybody");
}

#[test]
fn same_settings_same_frames_other_camera_same_people() {
    let a = pull(&mut source("persons=3 seed=7 camera=cam1"), 5);
    let b = pull(&mut source("persons=3 seed=7 camera=cam1"), 5);
    let c = pull(&mut source("persons=3 seed=7 camera=cam2"), 5);
    for i in 0..5 {
        assert_eq!(bytes(&a[i]), bytes(&b[i]), "frame {i} differs between identical sources");
    }
    assert_ne!(bytes(&a[0]), bytes(&c[0]), "another camera must look different");
    // The people are the seed's identities whatever the camera; the camera's conditions differ.
    let (s1, s2) = (Scene::new(7, camera_id("cam1"), 3), Scene::new(7, camera_id("cam2"), 3));
    assert_eq!(s1.identities, s2.identities);
    assert_ne!(s1.camera.lighting, s2.camera.lighting);
    assert_eq!(s1.camera, reid_synth::persons::Camera::new(7, 1));
}

#[test]
fn camera_names() {
    assert_eq!(camera_id("cam2"), 2);
    assert_eq!(camera_id("12"), 12);
    assert_eq!(camera_id("lobby"), camera_id("lobby"));
    assert_ne!(camera_id("lobby"), camera_id("gate"));
}

#[test]
fn rgba_output_and_embedding_downstream() {
    init();
    let dir = tempfile::tempdir().unwrap();
    let model = write_model(dir.path());
    let mut h = Harness::new_parse(&format!(
        "reidsynthsrc is-live=false num-buffers=30 width=128 height=96 persons=4 seed=1 ! video/x-raw,format=RGBA ! reidembed model={} \
         engine=tract min-size=4",
        model.display()
    ));
    h.play();
    let mut embedded = 0;
    for _ in 0..30 {
        let b = h.pull().unwrap();
        for roi in b.iter_meta::<VideoRegionOfInterestMeta>() {
            if let Some(e) = params::Embedding::from_roi(&roi) {
                assert_eq!(e.vector.len(), D);
                embedded += 1;
            }
        }
    }
    assert!(embedded > 0);
}
