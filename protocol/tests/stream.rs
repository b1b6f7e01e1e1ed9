//! Stream messages: a frame round-trips through `decode_frame`, and a bad one is refused naming the field.

use reid_protocol::error::{MAX_ERROR_MESSAGE, MAX_QUOTED};
use reid_protocol::record::now_ms;
use reid_protocol::stream::{MAX_DETECTIONS, MAX_STREAM_AGE_MS, MAX_STREAM_SKEW_MS};
use reid_protocol::{Detection, FrameEmbeddings, decode_frame, decode_frame_at};

#[test]
fn frames_decode_and_errors_name_the_field() {
    let frame = FrameEmbeddings {
        camera: "cam-1".into(),
        timestamp_ms: 5,
        frame: Some(2),
        model: None,
        detections: vec![Detection { track_id: Some(1), bbox: Some([0.0, 1.0, 2.0, 3.0]), embedding: vec![1.0, 0.0] }],
    };
    let bytes = serde_json::to_vec(&frame).unwrap();
    assert_eq!(decode_frame(&bytes, 2).unwrap(), frame);
    let cases: Vec<(&[u8], usize, &str, &str)> = vec![
        (b"{", 2, "body", "not a frame message"),
        (b"[]", 2, "body", "not a frame message"),
        (br#"{"camera": "c", "timestamp_ms": 1}"#, 2, "body", "detections"),
        (br#"{"camera": "c", "timestamp_ms": 1, "detections": []} x"#, 2, "body", "trailing"),
        (br#"{"camera": 3, "timestamp_ms": 1, "detections": []}"#, 2, "camera", "not a frame message"),
        (
            br#"{"camera": "c", "timestamp_ms": 1, "detections": [{"embedding": [1, "x"]}]}"#,
            2,
            "detections[0].embedding[1]",
            "string",
        ),
        (br#"{"camera": "a/b", "timestamp_ms": 1, "detections": []}"#, 2, "camera", "without `/`"),
        (&bytes, 3, "detections[0].embedding", "has 2 values"),
        (
            br#"{"camera": "c", "timestamp_ms": 1, "detections": [{"embedding": [0, 0]}]}"#,
            2,
            "detections[0].embedding",
            "all zeros",
        ),
    ];
    for (bytes, dim, field, text) in cases {
        let e = decode_frame(bytes, dim).unwrap_err();
        assert_eq!(e.field, field, "{e}");
        assert!(e.message.contains(text), "{e}");
    }
}

#[test]
fn frames_with_unknown_fields_are_refused() {
    let extra = br#"{"camera": "c", "timestamp_ms": 1, "detections": [], "fps": 30}"#;
    let e = decode_frame(extra, 2).unwrap_err();
    assert!(e.message.contains("unknown field `fps`"), "{e}");
    let inner = br#"{"camera": "c", "timestamp_ms": 1, "detections": [{"embedding": [1, 0], "conf": 0.9}]}"#;
    let e = decode_frame(inner, 2).unwrap_err();
    assert!(e.message.contains("unknown field `conf`"), "{e}");
    // A 1 MB unknown field name gives a small error.
    let huge = format!(r#"{{"camera": "c", "timestamp_ms": 1, "detections": [], "{}": 1}}"#, "f".repeat(1 << 20));
    let e = decode_frame(huge.as_bytes(), 2).unwrap_err();
    assert!(e.message.len() <= MAX_ERROR_MESSAGE + 64 && e.field.len() <= 300, "{} bytes", e.message.len());
    assert!(e.message.contains("bytes in all"), "{}", &e.message[..200]);
}

#[test]
fn frames_outside_the_time_window_are_refused() {
    let now = 1_800_000_000_000i64;
    let at = |ts: i64| format!(r#"{{"camera": "c", "timestamp_ms": {ts}, "detections": [{{"embedding": [1, 0]}}]}}"#);
    for ts in [now, now - MAX_STREAM_AGE_MS, now + MAX_STREAM_SKEW_MS] {
        assert_eq!(decode_frame_at(at(ts).as_bytes(), 2, now).unwrap().timestamp_ms, ts);
    }
    for ts in [i64::MAX, i64::MIN, 0, now - MAX_STREAM_AGE_MS - 1, now + MAX_STREAM_SKEW_MS + 1] {
        let e = decode_frame_at(at(ts).as_bytes(), 2, now).unwrap_err();
        assert_eq!(e.field, "timestamp_ms", "{e}");
        assert!(e.message.contains(&ts.to_string()) && e.message.contains("window"), "{e}");
    }
    assert!(decode_frame_at(at(now_ms()).as_bytes(), 2, now_ms()).is_ok());
    // Without a clock (`decode_frame`) the window is not checked.
    assert!(decode_frame(at(0).as_bytes(), 2).is_ok());
}

#[test]
fn huge_or_too_many_values_give_small_errors() {
    let camera = "c".repeat(50 << 20);
    let body = format!(r#"{{"camera": "{camera}", "timestamp_ms": 1, "detections": []}}"#);
    let e = decode_frame(body.as_bytes(), 2).unwrap_err();
    assert_eq!(e.field, "camera");
    assert!(e.message.len() < 200 && e.message.contains(&(50usize << 20).to_string()), "{e}");
    let body = format!(r#"{{"camera": "c", "timestamp_ms": "{}", "detections": []}}"#, "9".repeat(1 << 20));
    let e = decode_frame(body.as_bytes(), 2).unwrap_err();
    assert!(e.field == "timestamp_ms" && e.message.len() < MAX_QUOTED + 200, "{} bytes", e.message.len());
    let body = format!(r#"{{"camera": 7{}, "timestamp_ms": 1, "detections": []}}"#, "0".repeat(1 << 20));
    let e = decode_frame(body.as_bytes(), 2).unwrap_err();
    assert!(e.to_string().len() <= MAX_ERROR_MESSAGE + 400, "{} bytes", e.to_string().len());
    let model = "m".repeat(300);
    let body = format!(r#"{{"camera": "c", "timestamp_ms": 1, "model": "{model}", "detections": []}}"#);
    assert_eq!(decode_frame(body.as_bytes(), 2).unwrap_err().field, "model");
    let one = r#"{"embedding": [1, 0]}"#;
    let many = vec![one; MAX_DETECTIONS + 1].join(",");
    let body = format!(r#"{{"camera": "c", "timestamp_ms": 1, "detections": [{many}]}}"#);
    let e = decode_frame(body.as_bytes(), 2).unwrap_err();
    assert!(e.field == "detections" && e.message.contains("1025"), "{e}");
}
