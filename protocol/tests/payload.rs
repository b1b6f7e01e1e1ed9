//! Wire decoders: valid requests decode to the right values, invalid ones give errors naming the field, and no
//! input of any shape makes them panic (proptest).

use base64::Engine;
use proptest::prelude::*;
use reid_protocol::payload::{
    EnrollItem, EnrollRequest, ErrorReply, ForgetRequest, QueryRequest, decode_enroll, decode_enroll_raw,
    decode_forget, decode_query, decode_query_params, decode_query_raw, encode,
};
use reid_protocol::{Forget, TimeRange};

const DIM: usize = 4;

fn field_of<T: std::fmt::Debug>(r: Result<T, reid_protocol::PayloadError>) -> (String, String) {
    let e = r.unwrap_err();
    (e.field.clone(), e.to_string())
}

#[test]
fn client_types_round_trip_through_the_decoders() {
    let b64 = base64::engine::general_purpose::STANDARD
        .encode([0.5f32, -0.5, 0.25, 1.0].iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>());
    let req = EnrollRequest {
        items: vec![
            EnrollItem {
                embedding: Some(vec![1.0, 2.0, 3.0, 4.0]),
                identity: Some("alice".into()),
                camera: Some("c1".into()),
                timestamp_ms: Some(-5),
                track_id: Some(9),
                source: Some("door".into()),
                ..EnrollItem::default()
            },
            EnrollItem { embedding_b64: Some(b64.clone()), ..EnrollItem::default() },
        ],
    };
    let items = decode_enroll(&encode(&req), DIM, 777).unwrap();
    assert_eq!(items[0].vector, vec![1.0, 2.0, 3.0, 4.0]);
    assert_eq!(items[0].meta.identity.as_deref(), Some("alice"));
    assert_eq!((items[0].meta.timestamp_ms, items[0].meta.track_id), (-5, Some(9)));
    assert_eq!(items[1].vector, vec![0.5, -0.5, 0.25, 1.0]);
    assert_eq!((items[1].meta.timestamp_ms, items[1].meta.identity.as_ref()), (777, None));
    // A single item without the "items" wrapper.
    let one = decode_enroll(br#"{"embedding": [0, 0, 1, 0], "identity": "bob"}"#, DIM, 1).unwrap();
    assert_eq!(one[0].meta.identity.as_deref(), Some("bob"));

    let q = QueryRequest {
        embeddings: Some(vec![vec![1.0, 0.0, 0.0, 0.0], vec![0.0, 1.0, 0.0, 0.0]]),
        k: Some(3),
        rerank: Some(true),
        threshold: Some(0.25),
        cameras: Some(vec!["c1".into()]),
        from_ms: Some(10),
        to_ms: Some(20),
        identified_only: Some(true),
        ..QueryRequest::default()
    };
    let d = decode_query(&encode(&q), "", DIM).unwrap();
    assert_eq!(d.vectors.len(), 8);
    assert_eq!((d.options.k, d.options.rerank, d.options.threshold), (3, true, Some(0.25)));
    assert_eq!(d.options.filter.cameras, Some(vec!["c1".to_string()]));
    assert_eq!(d.options.filter.time, TimeRange { from_ms: Some(10), to_ms: Some(20) });
    assert!(d.options.filter.identified_only);
    // Options from selector parameters; b64 query vector.
    let body = format!(r#"{{"embedding_b64": "{b64}"}}"#);
    let d = decode_query(body.as_bytes(), "k=7;rerank&cameras=a,b;_time=now", DIM).unwrap();
    assert_eq!((d.options.k, d.options.rerank), (7, true));
    assert_eq!(d.options.filter.cameras, Some(vec!["a".to_string(), "b".to_string()]));
    let d = decode_query(br#"{"embedding": [1, 0, 0, 0]}"#, "", DIM).unwrap();
    assert_eq!((d.options.k, d.options.rerank, d.options.threshold), (10, false, None));

    let f = ForgetRequest { identity: Some("alice".into()), ..ForgetRequest::default() };
    assert_eq!(decode_forget(&encode(&f)).unwrap(), Forget::Identity("alice".into()));
    let f = ForgetRequest { to_ms: Some(50), camera: Some("c2".into()), ..ForgetRequest::default() };
    assert_eq!(
        decode_forget(&encode(&f)).unwrap(),
        Forget::TimeRange { range: TimeRange { from_ms: None, to_ms: Some(50) }, camera: Some("c2".into()) }
    );

    let raw: Vec<u8> = [1.0f32, 0.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    let items = decode_enroll_raw(&raw, Some(br#"{"identity": "cy", "timestamp_ms": 3}"#), DIM, 0).unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(
        (items[1].vector[1], items[1].meta.identity.as_deref(), items[1].meta.timestamp_ms),
        (2.0, Some("cy"), 3)
    );
    assert_eq!(decode_query_raw(&raw, "k=2", DIM).unwrap().vectors.len(), 8);
}

#[test]
fn errors_name_the_field() {
    let cases: Vec<(Result<(), reid_protocol::PayloadError>, &str, &str)> = vec![
        (decode_query(b"{\"embedding\": [1, 2", "", DIM).map(drop), "body", "malformed JSON"),
        (decode_query(b"", "", DIM).map(drop), "body", "empty"),
        (decode_query(b"[1, 2, 3, 4]", "", DIM).map(drop), "body", "expected a JSON object, got an array"),
        (decode_query(br#"{"embedding": [1, 2, 3]}"#, "", DIM).map(drop), "embedding", "has 3 values"),
        (decode_query(br#"{"embedding": [1, "x", 3, 4]}"#, "", DIM).map(drop), "embedding[1]", "expected a number"),
        (decode_query(br#"{"embedding": [1, 1e39, 3, 4]}"#, "", DIM).map(drop), "embedding[1]", "not a finite f32"),
        (decode_query(br#"{"embedding": [0, 0, 0, 0]}"#, "", DIM).map(drop), "embedding", "all zeros"),
        (decode_query(br#"{"embedding": [1, 0, 0, 0], "k": 0}"#, "", DIM).map(drop), "k", "at least 1"),
        (
            decode_query(br#"{"embedding": [1, 0, 0, 0], "k": 1000000000}"#, "", DIM).map(drop),
            "k",
            "1000000000 is more than the maximum 1000",
        ),
        (decode_query(br#"{"embedding": [1, 0, 0, 0], "k": -2}"#, "", DIM).map(drop), "k", "whole number"),
        (decode_query(br#"{"embedding": [1, 0, 0, 0], "k": 5}"#, "k=4", DIM).map(drop), "k", "given both"),
        (decode_query(br#"{"embedding": [1, 0, 0, 0]}"#, "k=abc", DIM).map(drop), "k", "not a whole number"),
        (decode_query(br#"{"embedding": [1, 0, 0, 0]}"#, "colour=red", DIM).map(drop), "colour", "unknown selector"),
        (decode_query(br#"{"embedding": [1, 0, 0, 0], "threshold": 2}"#, "", DIM).map(drop), "threshold", "-1 to 1"),
        (decode_query(br#"{"embedding": [1, 0, 0, 0], "cameras": "c1"}"#, "", DIM).map(drop), "cameras", "array"),
        (
            decode_query(br#"{"embedding": [1, 0, 0, 0], "cameras": [""]}"#, "", DIM).map(drop),
            "cameras[0]",
            "non-empty",
        ),
        (
            decode_query(br#"{"embedding": [1, 0, 0, 0], "from_ms": 9, "to_ms": 3}"#, "", DIM).map(drop),
            "to_ms",
            "3 is before from_ms 9",
        ),
        (
            decode_query(br#"{"embedding": [1, 0, 0, 0], "rerank": "yes"}"#, "", DIM).map(drop),
            "rerank",
            "true or false",
        ),
        (decode_query(br#"{"k": 3}"#, "", DIM).map(drop), "embedding", "missing"),
        (decode_query(br#"{"embedding_b64": "%%%"}"#, "", DIM).map(drop), "embedding_b64", "invalid base64"),
        (decode_query(br#"{"embedding_b64": "AAAA"}"#, "", DIM).map(drop), "embedding_b64", "3 bytes"),
        (
            decode_query(br#"{"embedding_b64": "AADAfwAAAAAAAAAAAAAAAA=="}"#, "", DIM).map(drop),
            "embedding_b64",
            "value 0 is NaN",
        ),
        (decode_query(br#"{"embeddings": []}"#, "", DIM).map(drop), "embeddings", "empty"),
        (decode_enroll(br#"{"items": []}"#, DIM, 0).map(drop), "items", "empty"),
        (decode_enroll(br#"{"items": [5]}"#, DIM, 0).map(drop), "items[0]", "expected an object"),
        (
            decode_enroll(br#"{"items": [{"embedding": [1,0,0,0]}, {"embedding": [1,0,0]}]}"#, DIM, 0).map(drop),
            "items[1].embedding",
            "has 3 values",
        ),
        (
            decode_enroll(br#"{"items": [{"embedding": [1,0,0,0], "identity": ""}]}"#, DIM, 0).map(drop),
            "items[0].identity",
            "must not be empty",
        ),
        (decode_enroll(br#"{"identity": "x"}"#, DIM, 0).map(drop), "embedding", "missing"),
        (decode_enroll(br#"{"items": [], "extra": 1}"#, DIM, 0).map(drop), "extra", "unknown field"),
        (decode_enroll(br#"{"embedding": [1,0,0,0], "track_id": -1}"#, DIM, 0).map(drop), "track_id", "non-negative"),
        (
            decode_enroll(br#"{"embedding": [1,0,0,0], "timestamp_ms": 1.5}"#, DIM, 0).map(drop),
            "timestamp_ms",
            "whole number",
        ),
        (decode_enroll_raw(&[0u8; 15], None, DIM, 0).map(drop), "body", "15 bytes is not a whole number"),
        (decode_enroll_raw(&[0u8; 16], Some(b"{\"camera\": 3}"), DIM, 0).map(drop), "body", "all zeros"),
        (decode_forget(br#"{"identity": ""}"#).map(drop), "identity", "must not be empty"),
        (decode_forget(br#"{"identity": "   "}"#).map(drop), "identity", "must not be empty"),
        (decode_forget(b"{}").map(drop), "identity", "missing"),
        (decode_forget(br#"{"identity": "a", "to_ms": 5}"#).map(drop), "identity", "not both"),
        (decode_forget(br#"{"identity": 7}"#).map(drop), "identity", "expected a string"),
        (decode_forget(br#"{"who": "a"}"#).map(drop), "who", "unknown field"),
    ];
    for (result, field, text) in cases {
        let (f, message) = field_of(result);
        assert_eq!(f, field, "{message}");
        assert!(message.starts_with(&format!("{field}: ")) && message.contains(text), "{field}: {message}");
    }
    let attachment = decode_enroll_raw(&1.0f32.to_le_bytes().repeat(4), Some(b"{\"camera\": 3}"), DIM, 0);
    assert_eq!(field_of(attachment).0, "attachment.camera");
    let reply = ErrorReply::from(&decode_forget(b"{}").unwrap_err());
    assert_eq!(reply.field.as_deref(), Some("identity"));
    assert!(String::from_utf8(encode(&reply)).unwrap().starts_with(r#"{"error":"identity: missing"#));
    assert!(decode_query_params("k=5;k=6").unwrap_err().to_string().contains("twice"));
}

/// Arbitrary JSON values, nested a few levels.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<u64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        ".{0,12}".prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(".{0,8}", inner, 0..5)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Objects with the real field names and values of any type.
fn structured() -> impl Strategy<Value = serde_json::Value> {
    let names = prop::sample::select(vec![
        "embedding",
        "embedding_b64",
        "embeddings",
        "embeddings_b64",
        "k",
        "rerank",
        "threshold",
        "cameras",
        "from_ms",
        "to_ms",
        "identified_only",
        "identity",
        "camera",
        "timestamp_ms",
        "track_id",
        "source",
        "items",
    ]);
    let value = prop_oneof![
        json_value(),
        prop::collection::vec(any::<f32>().prop_map(|f| serde_json::json!(f)), 0..6).prop_map(serde_json::Value::Array),
        prop::collection::vec(any::<u8>(), 0..24)
            .prop_map(|b| serde_json::Value::String(base64::engine::general_purpose::STANDARD.encode(b))),
    ];
    prop::collection::btree_map(names, value, 0..6).prop_map(|m| {
        let o: serde_json::Map<String, serde_json::Value> = m.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        serde_json::Value::Object(o)
    })
}

fn decode_all(bytes: &[u8], params: &str) {
    let _ = decode_enroll(bytes, DIM, 0);
    let _ = decode_query(bytes, params, DIM);
    let _ = decode_forget(bytes);
    let _ = decode_enroll_raw(bytes, Some(bytes), DIM, 0);
    let _ = decode_query_raw(bytes, params, DIM);
    let _ = decode_query_params(params);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256), params in ".{0,40}") {
        decode_all(&bytes, &params);
    }

    #[test]
    fn arbitrary_json_never_panics(v in json_value()) {
        decode_all(&serde_json::to_vec(&v).unwrap(), "");
        let wrapped = serde_json::json!({ "items": [v] });
        decode_all(&serde_json::to_vec(&wrapped).unwrap(), "");
    }

    #[test]
    fn structured_but_wrong_json_never_panics(
        v in structured(),
        params in "(k|rerank|threshold|cameras|from_ms|to_ms)=[-a-z0-9.,]{0,6}",
    ) {
        let bytes = serde_json::to_vec(&v).unwrap();
        decode_all(&bytes, &params);
        let wrapped = serde_json::to_vec(&serde_json::json!({ "items": [v.clone(), v] })).unwrap();
        decode_all(&wrapped, "");
    }
}

#[test]
fn nested_type_errors_and_unknown_fields_name_their_path() {
    let cases: Vec<(Result<(), reid_protocol::PayloadError>, &str, &str)> = vec![
        (
            decode_enroll(br#"{"items": [{"embedding": [1,0,0,0]}, {"embedding": [1,0,0,0], "who": 1}]}"#, DIM, 0)
                .map(drop),
            "items[1].who",
            "unknown field",
        ),
        (
            decode_enroll(br#"{"items": [{"embedding": [1,0,0,0], "camera": 3}]}"#, DIM, 0).map(drop),
            "items[0].camera",
            "expected a string, got a number",
        ),
        (decode_enroll(br#"{"items": null}"#, DIM, 0).map(drop), "items", "expected an array, got null"),
        (decode_enroll(br#"{"items": [[1]]}"#, DIM, 0).map(drop), "items[0]", "expected an object, got an array"),
        (
            decode_query(br#"{"embeddings": [[1, 0, 0, 0], [1, 0, true, 0]]}"#, "", DIM).map(drop),
            "embeddings[1][2]",
            "expected a number, got a boolean",
        ),
        (decode_query(br#"{"embeddings": [5]}"#, "", DIM).map(drop), "embeddings[0]", "expected an array of numbers"),
        (decode_query(br#"{"embedding": {"a": 1}}"#, "", DIM).map(drop), "embedding", "got an object"),
        (
            decode_query(br#"{"embedding": [1, 0, 0, 0], "cameras": ["a", 5]}"#, "", DIM).map(drop),
            "cameras[1]",
            "got 5",
        ),
        (decode_query(br#"{"embedding": [1, 0, 0, 0], "k": "3"}"#, "", DIM).map(drop), "k", r#"got "3""#),
        (
            decode_query(br#"{"embedding": [1, 0, 0, 0], "treshold": 0.5}"#, "", DIM).map(drop),
            "treshold",
            "unknown field",
        ),
        (decode_query(b"{}", "k=-2", DIM).map(drop), "k", "whole number from 1 to 1000"),
        (decode_query_raw(&1.0f32.to_le_bytes().repeat(4), "k=0", DIM).map(drop), "k", "at least 1"),
        (
            decode_enroll_raw(&1.0f32.to_le_bytes().repeat(4), Some(b"{\"who\": 1}"), DIM, 0).map(drop),
            "attachment.who",
            "unknown field",
        ),
        (
            decode_enroll_raw(&1.0f32.to_le_bytes().repeat(4), Some(b"[]"), DIM, 0).map(drop),
            "attachment",
            "JSON object",
        ),
        (
            decode_enroll_raw(&1.0f32.to_le_bytes().repeat(4), Some(br#"{"source": " "}"#), DIM, 0).map(drop),
            "attachment.source",
            "must not be empty",
        ),
    ];
    for (result, field, text) in cases {
        let (f, message) = field_of(result);
        assert_eq!(f, field, "{message}");
        assert!(message.starts_with(&format!("{field}: ")) && message.contains(text), "{field}: {message}");
    }
}

#[test]
fn null_fields_count_as_absent() {
    let d = decode_query(br#"{"embedding": [1, 0, 0, 0], "embeddings": null, "k": null, "cameras": null}"#, "k=3", DIM)
        .unwrap();
    assert_eq!((d.options.k, d.options.filter.cameras), (3, None));
    let one =
        decode_enroll(br#"{"embedding": [0, 1, 0, 0], "identity": null, "timestamp_ms": null}"#, DIM, 42).unwrap();
    assert_eq!((one[0].meta.identity.as_ref(), one[0].meta.timestamp_ms), (None, 42));
    assert_eq!(decode_forget(br#"{"identity": "a", "to_ms": null}"#).unwrap(), Forget::Identity("a".into()));
    // The typed request types read what they write.
    let q = QueryRequest { embedding: Some(vec![1.0, 0.0, 0.0, 0.0]), k: Some(4), ..QueryRequest::default() };
    assert_eq!(serde_json::from_slice::<QueryRequest>(&encode(&q)).unwrap(), q);
    let e = EnrollRequest { items: vec![EnrollItem { identity: Some("x".into()), ..EnrollItem::default() }] };
    assert_eq!(serde_json::from_slice::<EnrollRequest>(&encode(&e)).unwrap(), e);
}

#[test]
fn forgetting_all_time_needs_all_true() {
    let now = 1_800_000_000_000i64;
    let forget = |body: &str| serde_json::from_str::<ForgetRequest>(body).unwrap().validate_at(now);
    assert_eq!(forget(r#"{"all": true}"#).unwrap(), Forget::All { camera: None });
    assert_eq!(forget(r#"{"all": true, "camera": "c1"}"#).unwrap(), Forget::All { camera: Some("c1".into()) });
    // Ranges that cover all time (from the epoch or before, to now or after) are refused naming `all`.
    for body in [
        r#"{"from_ms": 0}"#,
        r#"{"from_ms": -9223372036854775808}"#,
        r#"{"to_ms": 9223372036854775807}"#,
        r#"{"from_ms": -5, "to_ms": 9000000000000000}"#,
        r#"{"from_ms": 0, "camera": "c1"}"#,
    ] {
        let e = forget(body).unwrap_err();
        assert_eq!(e.field, "all", "{body}: {e}");
        assert!(e.message.contains("all: true"), "{e}");
    }
    // Bounded ranges pass.
    let bounded = forget(r#"{"from_ms": 1, "to_ms": 1800000000000}"#).unwrap();
    assert!(matches!(bounded, Forget::TimeRange { .. }));
    assert!(matches!(forget(r#"{"to_ms": 1700000000000}"#).unwrap(), Forget::TimeRange { .. }));
    assert!(matches!(forget(r#"{"all": false, "from_ms": 5}"#).unwrap(), Forget::TimeRange { .. }));
    // `all` with bounds or with an identity is refused; `all: false` alone is the empty request.
    assert_eq!(forget(r#"{"all": true, "from_ms": 5}"#).unwrap_err().field, "all");
    assert_eq!(forget(r#"{"all": true, "identity": "a"}"#).unwrap_err().field, "identity");
    assert!(forget(r#"{"all": false}"#).unwrap_err().message.contains("missing"));
}

#[test]
fn errors_quote_huge_values_clipped() {
    let huge = "x".repeat(50 << 20);
    // A 50 MB camera name in a query filter.
    let body = format!(r#"{{"embedding": [1, 0, 0, 0], "cameras": ["{huge}"]}}"#);
    let e = decode_query(body.as_bytes(), "", DIM).unwrap_err();
    assert_eq!(e.field, "cameras[0]");
    assert!(e.message.len() < 200 && e.message.contains("bytes in all"), "{} bytes", e.message.len());
    let reply = encode(&ErrorReply::from(&e));
    assert!(reply.len() < 400, "{} bytes", reply.len());
    // A huge selector value, a huge wrong-typed timestamp, a huge unknown field name.
    let e = decode_query(br#"{"embedding": [1, 0, 0, 0]}"#, &format!("k={huge}"), DIM).unwrap_err();
    assert!(e.message.len() < 200, "{} bytes", e.message.len());
    let e = decode_forget(format!(r#"{{"from_ms": "{huge}"}}"#).as_bytes()).unwrap_err();
    assert!(e.field == "from_ms" && e.message.len() < 200, "{} bytes", e.message.len());
    let e = decode_forget(format!(r#"{{"{huge}": 1}}"#).as_bytes()).unwrap_err();
    assert!(e.field.len() < 400 && e.message.len() < 2048, "{} + {} bytes", e.field.len(), e.message.len());
    let identity = "i".repeat(10_000);
    let e = decode_forget(format!(r#"{{"identity": "{identity}"}}"#).as_bytes()).unwrap_err();
    assert!(e.message.len() < 200, "{e}");
}
