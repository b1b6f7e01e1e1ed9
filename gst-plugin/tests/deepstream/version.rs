//! A DeepStream library of an unknown version (the fake reports `REID_FAKE_DEEPSTREAM_VERSION`): the elements
//! refuse NvDs mode and NVMM caps with a message naming the version, and ROI mode keeps working. The library is
//! loaded once per process, so the check runs in a child process of this test binary.

use super::fake::*;
use crate::common::*;
use gst::prelude::*;
use gst_check::Harness;

/// Run by `unknown_versions_are_refused_and_roi_mode_works` in a child process with the fake reporting
/// another version.
#[test]
#[ignore = "run in a child process by unknown_versions_are_refused_and_roi_mode_works"]
fn child_with_unknown_version() {
    init();
    let version = std::env::var("REID_FAKE_DEEPSTREAM_VERSION").expect("run as a child");
    let dir = tempfile::tempdir().unwrap();
    let model = write_model(dir.path());
    let mut h = Harness::new_parse(&format!("reidembed model={} engine=tract", model.display()));
    h.set_src_caps_str(&caps("RGB", 40, 40));
    let element = h.find_element("reidembed").unwrap();
    let status: String = element.property("deepstream");
    assert!(status.contains(&format!("DeepStream {version} is not supported")), "{status}");
    let templ = element.pad_template("sink").unwrap().caps().to_string();
    assert!(!templ.contains("NVMM"), "{templ}");
    // A buffer with both a batch meta and a ROI: the batch is not read, the ROI is embedded.
    let mut buffer = rgb_buffer(&rgb_picture(40, 40, 1));
    add_roi(&mut buffer, "person", (0, 0, 20, 40));
    attach_batch(
        buffer.get_mut().unwrap(),
        1,
        &[FrameSpec {
            source_id: 0,
            batch_id: 0,
            frame_num: 0,
            objects: vec![person(Some(1), (0.0, 0.0, 20.0, 40.0))],
        }],
    );
    let out = h.push_and_pull(buffer).unwrap();
    assert!(embeddings(&out)[0].is_some(), "ROI mode works");
    assert!(embeddings_of(objects(&out)[0].1[0]).is_empty(), "NvDs mode is off");
    println!("CHILD-OK {status}");
}

#[test]
fn unknown_versions_are_refused_and_roi_mode_works() {
    let exe = std::env::current_exe().unwrap();
    for version in ["99.0", "5.1"] {
        let out = std::process::Command::new(&exe)
            .args([
                "--ignored",
                "--exact",
                "deepstream::version::child_with_unknown_version",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("REID_FAKE_DEEPSTREAM_VERSION", version)
            .env("REID_FAKE_DEEPSTREAM", fake_deepstream_path())
            .output()
            .unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "DeepStream {version}: {text}");
        assert!(
            text.contains("CHILD-OK") && text.contains(&format!("DeepStream {version} is not supported")),
            "{text}"
        );
        assert!(text.contains("1 passed"), "the child test ran: {text}");
    }
}
