//! `reid evaluate` end to end on TAO inference JSON, against the numpy reference's results
//! (`tools/reference/gen_fixtures.py`: junk names dropped, distractors kept, embeddings L2-normalised).

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/e2e")
}

fn reid(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_reid")).args(args).output().expect("run reid")
}

fn report(dir: &Path, extra: &[&str]) -> Value {
    let out = dir.join("report.json");
    let (q, g) = (fixtures().join("query.json"), fixtures().join("gallery.json"));
    let mut args =
        vec!["evaluate", "-q", q.to_str().unwrap(), "-g", g.to_str().unwrap(), "--report", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = reid(&args);
    assert!(o.status.success(), "reid evaluate failed: {}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap()
}

fn check(got: &Value, expected: &Value, case: &str) {
    let e = &expected[case];
    let close = |a: &Value, b: &Value, what: &str| {
        let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
        assert!((a - b).abs() < 1e-6, "{case}: {what} is {a}, reference {b}");
    };
    close(&got["mAP"], &e["mAP"], "mAP");
    close(&got["mINP"], &e["mINP"], "mINP");
    assert_eq!(got["num_valid_queries"], e["num_valid_queries"], "{case}: valid queries");
    let (gc, ec) = (got["cmc"].as_array().unwrap(), e["cmc"].as_array().unwrap());
    assert_eq!(gc.len(), ec.len(), "{case}: CMC length (gallery size after junk)");
    for (k, (a, b)) in gc.iter().zip(ec).enumerate() {
        close(a, b, &format!("CMC at rank {}", k + 1));
    }
}

fn expected() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixtures().join("expected.json")).unwrap()).unwrap()
}

#[test]
fn euclidean_matches_reference() {
    let dir = tempfile::tempdir().unwrap();
    let r = report(dir.path(), &[]);
    check(&r, &expected(), "euclidean");
    assert_eq!(r["junk_dropped"]["gallery"], 8);
    assert_eq!(r["num_gallery"], 102, "90 identity images + 12 distractors kept");
}

#[test]
fn cosine_matches_reference() {
    let dir = tempfile::tempdir().unwrap();
    check(&report(dir.path(), &["--metric", "cosine"]), &expected(), "cosine");
}

#[test]
fn re_ranking_matches_reference() {
    let dir = tempfile::tempdir().unwrap();
    let r = report(dir.path(), &["--re-ranking", "--k1", "20", "--k2", "6", "--lambda", "0.3"]);
    check(&r, &expected(), "euclidean_rerank");
    // The report keeps the scores before re-ranking too.
    let before = r["original"]["mAP"].as_f64().unwrap();
    assert!((before - expected()["euclidean"]["mAP"].as_f64().unwrap()).abs() < 1e-6);
}

#[test]
fn plot_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("cmc.png");
    report(dir.path(), &["--re-ranking", "--plot", png.to_str().unwrap()]);
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
}

fn fails_with(args: &[&str], needle: &str) {
    let o = reid(args);
    assert!(!o.status.success(), "expected failure for {args:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(needle), "stderr for {args:?} lacks `{needle}`:\n{err}");
}

#[test]
fn bad_inputs_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let g = fixtures().join("gallery.json");
    let g = g.to_str().unwrap();
    let missing = dir.path().join("nope.json");
    fails_with(&["evaluate", "-q", missing.to_str().unwrap(), "-g", g], "nope.json");

    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"[{"img_path": "0001_c1s1_000001_00.jpg", "embedding": [1, 2, "x"]}]"#).unwrap();
    fails_with(&["evaluate", "-q", bad.to_str().unwrap(), "-g", g], "bad.json");

    let short = dir.path().join("short.json");
    std::fs::write(&short, r#"[{"img_path": "0001_c1s1_000001_00.jpg", "embedding": [1, 2]}]"#).unwrap();
    fails_with(&["evaluate", "-q", short.to_str().unwrap(), "-g", g], "2-d embeddings");

    let mixed = dir.path().join("mixed.json");
    std::fs::write(
        &mixed,
        r#"[{"img_path": "0001_c1s1_000001_00.jpg", "embedding": [1, 2]}, {"img_path": "alice/x.jpg", "embedding": [1, 2]}]"#,
    )
    .unwrap();
    fails_with(&["evaluate", "-q", mixed.to_str().unwrap(), "-g", g], "alice/x.jpg");

    let q = fixtures().join("query.json");
    fails_with(&["evaluate", "-q", q.to_str().unwrap(), "-g", g, "--re-ranking", "--k1", "0"], "--k1 0");
}

#[test]
fn synth_then_evaluate_runs() {
    let dir = tempfile::tempdir().unwrap();
    let o = reid(&["dataset", "synth-embeddings", "--out", dir.path().to_str().unwrap(), "--dim", "32"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (q, g) = (dir.path().join("query.json"), dir.path().join("gallery.json"));
    let o = reid(&["evaluate", "-q", q.to_str().unwrap(), "-g", g.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("valid queries 400/400") && text.contains("50 junk dropped"), "{text}");
}

fn failure(args: &[&str]) -> String {
    let o = reid(args);
    assert!(!o.status.success(), "reid {args:?} succeeded: {}", String::from_utf8_lossy(&o.stdout));
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn bad_embeddings_are_refused_naming_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let g = fixtures().join("gallery.json");
    let q = dir.path().join("q.json");
    let write = |embedding: &str| {
        let json = format!(
            r#"[{{"img_path":"0001_c1s1_000001_00.jpg","embedding":[1,0]}},
                {{"img_path":"0002_c2s1_000002_00.jpg","embedding":{embedding}}}]"#
        );
        std::fs::write(&q, json).unwrap();
    };
    let (qs, gs) = (q.to_str().unwrap(), g.to_str().unwrap());
    // 1e39 is beyond f32: it used to read as infinity and give a wrong mAP with exit 0.
    write("[1e39,0]");
    let err = failure(&["evaluate", "-q", qs, "-g", gs]);
    assert!(err.contains("q.json: entry 1 (0002_c2s1_000002_00.jpg) has value inf at position 0"), "{err}");
    write("[0,0]");
    let err = failure(&["evaluate", "-q", qs, "-g", gs]);
    assert!(err.contains("entry 1 (0002_c2s1_000002_00.jpg) has an all-zero embedding"), "{err}");
    // A 10 MB value is not echoed back.
    write(&format!("\"{}\"", "9".repeat(10 << 20)));
    let err = failure(&["evaluate", "-q", qs, "-g", gs]);
    assert!(err.len() < 2000 && err.contains("more bytes"), "{} bytes of error", err.len());
}

#[test]
fn meaningless_flags_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (q, g) = (fixtures().join("query.json"), fixtures().join("gallery.json"));
    let (qs, gs) = (q.to_str().unwrap(), g.to_str().unwrap());
    let err = failure(&["evaluate", "-q", qs, "-g", gs, "--max-rank", "0"]);
    assert!(err.contains("--max-rank 0"), "{err}");
    let err = failure(&["evaluate", "-q", qs, "-g", gs, "--k1", "0"]);
    assert!(err.contains("--k1 0: expected an integer > 0"), "{err}");
    let err = failure(&["evaluate", "-q", qs, "-g", gs, "--lambda", "1.5"]);
    assert!(err.contains("--lambda 1.5: expected a number in [0, 1]"), "{err}");
    // The report must not overwrite an input.
    let copy = dir.path().join("q.json");
    std::fs::copy(&q, &copy).unwrap();
    let err = failure(&["evaluate", "-q", copy.to_str().unwrap(), "-g", gs, "--report", copy.to_str().unwrap()]);
    assert!(err.contains("--report") && err.contains("input file"), "{err}");
    assert_eq!(std::fs::read(&copy).unwrap(), std::fs::read(&q).unwrap());
}

#[test]
fn a_gpu_asked_of_a_cpu_build_is_named_once() {
    let spec = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../trainer/specs/quickstart.yaml");
    let spec = spec.to_str().unwrap();
    // No checkpoint: the command fails after loading the spec, which is where the note is given.
    let err = failure(&["evaluate", "-e", spec, "evaluate.gpu_id=1"]);
    assert!(err.contains("evaluate.checkpoint"), "{err}");
    let note = "evaluate.gpu_id = 1 is not used";
    if cfg!(feature = "cuda") {
        assert!(err.contains(note) && !err.contains("--features cuda"), "{err}");
    } else {
        assert_eq!(err.matches(note).count(), 1, "{err}");
        assert!(err.contains("this build has no CUDA support") && err.contains("--features cuda"), "{err}");
    }
    let err = failure(&["evaluate", "-e", spec]);
    assert!(!err.contains("is not used"), "the defaults say nothing: {err}");
}
