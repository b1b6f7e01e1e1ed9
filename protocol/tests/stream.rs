//! Stream messages: a frame round-trips through `decode_frame`, and a bad one is refused naming the field.

use reid_protocol::{Detection, FrameEmbeddings, decode_frame};

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
    // Unknown fields pass: a newer publisher may send more.
    let extra = br#"{"camera": "c", "timestamp_ms": 1, "detections": [], "fps": 30}"#;
    assert!(decode_frame(extra, 2).is_ok());
}
