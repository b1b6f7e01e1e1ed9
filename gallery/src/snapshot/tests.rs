use super::*;
use crate::index::{Filter, Precision};
use crate::random::random_unit_rows;
use crate::record::Metadata;

fn sample(precision: Precision) -> Index {
    let dim = 12;
    let mut index = Index::new(dim, precision);
    let data = random_unit_rows(300, dim, 4);
    for (i, v) in data.chunks_exact(dim).enumerate() {
        let meta = Metadata {
            identity: (i % 3 == 0).then(|| format!("p{}", i % 17)),
            camera: Some(format!("cam{}", i % 5)),
            timestamp_ms: 1_000 + i as i64,
            track_id: (i % 4 == 0).then_some(i as u64 * 11),
            ..Metadata::default()
        };
        index.insert(10 + i as u64 * 3, &meta, v).unwrap();
    }
    index.remove(&[10, 13, 10 + 3 * 299]);
    index
}

fn tag(index: &Index) -> StoreTag {
    StoreTag { uid: 0xfeed, generation: 42, records: index.len() as u64 }
}

/// The loaded index answers every query, filter and metadata look-up as the saved one.
fn assert_same(a: &Index, b: &Index) {
    assert_eq!(a.ids(), b.ids());
    assert_eq!(a.stats(), b.stats());
    let q = random_unit_rows(4, a.dim(), 5);
    let filters =
        [Filter::all(), Filter { cameras: Some(vec!["cam2".into()]), identified_only: true, ..Filter::default() }];
    for f in &filters {
        assert_eq!(a.search(&q, 7, f), b.search(&q, 7, f));
    }
    for &id in a.ids() {
        assert_eq!(a.info(id), b.info(id));
        assert_eq!(a.vector(id), b.vector(id));
    }
}

#[test]
fn a_saved_index_loads_back_equal_at_every_precision() {
    let dir = tempfile::tempdir().unwrap();
    for precision in [Precision::F32, Precision::F16, Precision::Int8] {
        let index = sample(precision);
        let path = dir.path().join(format!("{precision}.index"));
        let size = save(&path, &tag(&index), &index).unwrap();
        assert_eq!(size, std::fs::metadata(&path).unwrap().len());
        let back = load(&path, &tag(&index), index.dim(), precision).unwrap();
        assert_same(&index, &back);
        // The loaded index keeps working: ids known (a repeat is refused), names interned once.
        let mut back = back;
        let v = index.vector(16).unwrap();
        assert!(back.insert(16, &Metadata::default(), &v).is_err(), "id 16 is held");
        back.insert(9_999, &Metadata { camera: Some("cam1".into()), ..Metadata::default() }, &v).unwrap();
        assert_eq!(back.info(9_999).unwrap().camera, Some("cam1"));
        assert_eq!(back.stats().cameras, index.stats().cameras);
    }
}

#[test]
fn another_state_store_or_setting_is_stale() {
    let dir = tempfile::tempdir().unwrap();
    let index = sample(Precision::F32);
    let path = dir.path().join("g.index");
    save(&path, &tag(&index), &index).unwrap();
    let t = tag(&index);
    let stale = |r: Result<Index, SnapshotError>| matches!(r, Err(SnapshotError::Stale { .. }));
    assert!(stale(load(&path, &StoreTag { generation: 43, ..t }, 12, Precision::F32)));
    assert!(stale(load(&path, &StoreTag { uid: 1, ..t }, 12, Precision::F32)));
    assert!(stale(load(&path, &StoreTag { records: t.records + 1, ..t }, 12, Precision::F32)));
    assert!(stale(load(&path, &t, 12, Precision::F16)));
    assert!(stale(load(&path, &t, 16, Precision::F32)));
    assert!(matches!(load(&dir.path().join("none"), &t, 12, Precision::F32), Err(SnapshotError::Missing(_))));
}

#[test]
fn truncated_flipped_or_foreign_files_are_damaged_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let index = sample(Precision::F16);
    let t = tag(&index);
    let path = dir.path().join("g.index");
    save(&path, &t, &index).unwrap();
    let good = std::fs::read(&path).unwrap();
    let check = |bytes: &[u8], what: &str| {
        std::fs::write(&path, bytes).unwrap();
        match load(&path, &t, 12, Precision::F16) {
            Err(SnapshotError::Damaged { path: p, reason }) => {
                assert_eq!(p, path, "{what}");
                assert!(!reason.is_empty());
            }
            Err(SnapshotError::Stale { .. }) if what.starts_with("flip") => {} // a flipped tag byte reads as stale
            other => panic!("{what}: {:?}", other.map(|i| i.len())),
        }
    };
    // Truncated at every header byte and at many body offsets.
    for cut in (0..48).chain((48..good.len()).step_by(97)).chain([good.len() - 1]) {
        check(&good[..cut], &format!("cut at {cut}"));
    }
    // One bit flipped anywhere (every 13th byte): the checksum or a structural check catches it.
    for at in (0..good.len()).step_by(13) {
        let mut bad = good.clone();
        bad[at] ^= 0x10;
        check(&bad, &format!("flip at {at}"));
    }
    let mut longer = good.clone();
    longer.push(0);
    check(&longer, "trailing byte");
    check(b"SQLite format 3\0 and more bytes than a header needs to be read", "foreign");
    check(&[], "empty");
    // A header claiming absurd sizes fails without allocating them (tag matches, body lies).
    let mut lie = good[..42].to_vec();
    lie.extend_from_slice(&u64::MAX.to_le_bytes());
    check(&lie, "absurd body row count");
}

/// `file` with its format field set to `format` and the checksum made good again (a file an older build wrote).
fn as_format(file: &[u8], format: u32) -> Vec<u8> {
    let mut bytes = file.to_vec();
    bytes[8..12].copy_from_slice(&format.to_le_bytes());
    let body = bytes.len() - 4;
    let crc = crc32fast::hash(&bytes[..body]);
    bytes[body..].copy_from_slice(&crc.to_le_bytes());
    bytes
}

#[test]
fn a_format_1_int8_snapshot_is_rebuilt_with_its_reason_and_f32_f16_ones_still_load() {
    let dir = tempfile::tempdir().unwrap();
    for precision in [Precision::F32, Precision::F16, Precision::Int8] {
        let index = sample(precision);
        let path = dir.path().join(format!("{precision}.index"));
        save(&path, &tag(&index), &index).unwrap();
        let old = as_format(&std::fs::read(&path).unwrap(), 1);
        std::fs::write(&path, &old).unwrap();
        match (precision, load(&path, &tag(&index), index.dim(), precision)) {
            (Precision::Int8, Err(SnapshotError::Stale { reason, .. })) => {
                assert!(reason.contains("int8 snapshot of format 1"), "{reason}");
            }
            (Precision::Int8, other) => panic!("a format-1 int8 snapshot was read: {other:?}"),
            (_, Ok(back)) => assert_same(&index, &back),
            (_, Err(e)) => panic!("{precision}: a format-1 snapshot (same body) was refused: {e}"),
        }
        // A format from the future is stale too, naming both.
        std::fs::write(&path, as_format(&old, FORMAT + 1)).unwrap();
        let Err(SnapshotError::Stale { reason, .. }) = load(&path, &tag(&index), index.dim(), precision) else {
            panic!("a future format was read")
        };
        assert!(reason.contains(&format!("snapshot format {}", FORMAT + 1)), "{reason}");
    }
}
