//! The index with an HNSW graph: filters, removal, inserts and the graph's bytes, against the exact scan.

use super::*;
use crate::hnsw::HnswParams;
use crate::random::random_unit_rows;
use crate::record::TimeRange;
use crate::topk::Hit;

const DIM: usize = 16;

fn params() -> HnswParams {
    HnswParams { m: 12, ef_construction: 100, ef_search: 64, seed: 1 }
}

fn meta(i: u64) -> Metadata {
    Metadata {
        identity: (!i.is_multiple_of(4)).then(|| format!("p{}", i % 97)),
        camera: Some(format!("c{}", i % 5)),
        timestamp_ms: (i as i64) * 10,
        ..Metadata::default()
    }
}

fn filled(n: usize, precision: Precision) -> (Index, Vec<f32>) {
    let data = random_unit_rows(n, DIM, 31);
    let mut ix = Index::new(DIM, precision);
    for (i, v) in data.chunks_exact(DIM).enumerate() {
        ix.insert(i as u64 + 1, &meta(i as u64 + 1), v).unwrap();
    }
    ix.enable_hnsw(params()).unwrap();
    (ix, data)
}

fn recall(ix: &Index, queries: &[f32], k: usize, f: &Filter) -> f64 {
    let got = ix.search(queries, k, f);
    let want = ix.search_exact(queries, k, f);
    let (mut hit, mut total) = (0, 0);
    for (g, w) in got.iter().zip(&want) {
        total += w.len();
        hit += w.iter().filter(|h| g.iter().any(|x| x.id == h.id)).count();
    }
    if total == 0 { 1.0 } else { hit as f64 / total as f64 }
}

fn admitted(ix: &Index, f: &Filter, id: u64) -> bool {
    let info = ix.info(id).expect("a returned id is live");
    (!f.identified_only || info.identity.is_some())
        && f.cameras.as_ref().is_none_or(|c| info.camera.is_some_and(|x| c.iter().any(|n| n == x)))
        && f.time.contains(info.timestamp_ms)
}

#[test]
fn filtered_graph_search_returns_only_matching_rows() {
    for precision in [Precision::F32, Precision::F16] {
        let (ix, _) = filled(8000, precision);
        let queries = random_unit_rows(64, DIM, 32);
        let filters = [
            Filter::all(),
            Filter { identified_only: true, ..Filter::all() },
            Filter { cameras: Some(vec!["c1".into(), "c3".into()]), ..Filter::all() },
            Filter { time: TimeRange { from_ms: Some(10_000), to_ms: Some(60_000) }, ..Filter::all() },
            // Very selective (one camera, a short time): answered by the exact scan.
            Filter {
                cameras: Some(vec!["c2".into()]),
                time: TimeRange { from_ms: Some(0), to_ms: Some(2_000) },
                identified_only: true,
            },
            Filter { cameras: Some(vec!["nowhere".into()]), ..Filter::all() },
        ];
        for f in &filters {
            for hits in ix.search(&queries, 10, f) {
                assert!(hits.iter().all(|h| admitted(&ix, f, h.id)), "{precision} {f:?}");
            }
            let r = recall(&ix, &queries, 10, f);
            assert!(r >= 0.95, "{precision} {f:?}: recall {r}");
        }
        // Single queries take the same path as batches.
        // (ids only: a filter this selective at this size is answered by the exact scan, whose single-query and
        // batched kernels may differ in the last bit of a score).
        let ids = |h: &[Hit]| h.iter().map(|h| h.id).collect::<Vec<_>>();
        let one = ix.search(&queries[..DIM], 10, &filters[2]);
        assert_eq!(ids(&one[0]), ids(&ix.search(&queries, 10, &filters[2])[0]));
    }
}

#[test]
fn removed_ids_are_never_returned_and_inserts_are_found() {
    let (mut ix, data) = filled(6000, Precision::F16);
    let queries = random_unit_rows(40, DIM, 33);
    let mut next = 6001u64;
    let mut gone = std::collections::HashSet::new();
    let extra = random_unit_rows(2000, DIM, 34);
    for round in 0..10u64 {
        // Remove ~4% per round (the graph repairs itself once tombstones pass 10%), insert 200 new rows.
        let ids: Vec<u64> = (1..6001).filter(|i| (i * 31 + round * 7) % 25 == 0 && !gone.contains(i)).collect();
        assert_eq!(ix.remove(&ids), ids.len());
        gone.extend(ids.iter().copied());
        for v in extra[round as usize * 200 * DIM..(round as usize + 1) * 200 * DIM].chunks_exact(DIM) {
            ix.insert(next, &meta(next), v).unwrap();
            next += 1;
        }
        assert!(ix.tombstones() as f64 <= REPAIR_FRACTION * ix.rows() as f64 + 1.0);
        for f in [Filter::all(), Filter { identified_only: true, ..Filter::all() }] {
            for hits in ix.search(&queries, 20, &f) {
                assert!(hits.iter().all(|h| !gone.contains(&h.id) && ix.contains(h.id)), "round {round}");
            }
        }
        // A removed row's own vector does not find it.
        for &id in ids.iter().take(20) {
            let v = &data[(id as usize - 1) * DIM..id as usize * DIM];
            assert!(ix.search(v, 5, &Filter::all())[0].iter().all(|h| h.id != id));
        }
        let r = recall(&ix, &queries, 10, &Filter::all());
        assert!(r >= 0.95, "round {round}: recall {r}");
    }
    assert_eq!(ix.len(), 6000 - gone.len() + 2000);
    // Every inserted row is found by its own vector.
    let found = (6001..next)
        .filter(|&id| {
            let v = ix.vector(id).unwrap();
            ix.search(&v, 1, &Filter::all())[0][0].id == id
        })
        .count();
    assert!(found >= 1995, "{found} of 2000 inserts found by their own vector");
    // Compacting drops every tombstone; answers stay the same rows.
    let before = ix.search(&queries, 10, &Filter::all());
    ix.compact();
    assert_eq!(ix.tombstones(), 0);
    assert_eq!(ix.rows(), ix.len());
    let after = ix.search(&queries, 10, &Filter::all());
    // (ids: with tombstones a search of this small index may take the exact scan, whose kernel can differ from
    // the graph's single-row one in the last bit of a score)
    let ids = |l: &[Hit]| l.iter().map(|h| h.id).collect::<Vec<_>>();
    let same = before.iter().zip(&after).filter(|(a, b)| ids(a) == ids(b)).count();
    assert!(same >= 36, "{same} of 40 answers unchanged by compaction");
    // The exact scan skips tombstones too.
    let (mut ix2, _) = filled(500, Precision::F32);
    ix2.remove(&[1, 2, 3]);
    assert_eq!(ix2.tombstones(), 3);
    let q = ix2.rows_f32();
    assert_eq!(q.0.len(), 497);
    for hits in ix2.search_exact(&random_unit_rows(8, DIM, 3), 500, &Filter::all()) {
        assert_eq!(hits.len(), 497);
        assert!(hits.iter().all(|h| h.id > 3));
    }
    assert_eq!(ix2.row_mask(&Filter { identified_only: true, ..Filter::all() }).unwrap().len(), 497);
}

#[test]
fn graph_bytes_round_trip_and_stale_graphs_are_refused() {
    let (mut ix, _) = filled(3000, Precision::F32);
    let queries = random_unit_rows(20, DIM, 35);
    let mut bytes = Vec::new();
    ix.write_graph(&mut bytes).unwrap();
    let answers = ix.search(&queries, 10, &Filter::all());
    let mut fresh = ix.clone();
    fresh.disable_hnsw();
    assert!(fresh.graph().is_none());
    fresh.read_graph(&mut bytes.as_slice()).unwrap();
    assert_eq!(fresh.search(&queries, 10, &Filter::all()), answers);
    // Tombstones must be repaired before writing.
    ix.remove(&[5]);
    assert!(ix.write_graph(&mut Vec::new()).is_err());
    // A graph written for other rows (one removed since) is refused, naming the field.
    let mut stale = fresh.clone();
    stale.remove(&[7]);
    stale.compact();
    let e = stale.read_graph(&mut bytes.as_slice()).unwrap_err().to_string();
    assert!(e.contains("nodes"), "{e}");
    // Same count, different ids.
    let mut other = Index::new(DIM, Precision::F32);
    for (i, v) in random_unit_rows(3000, DIM, 31).chunks_exact(DIM).enumerate() {
        other.insert(i as u64 + 100, &meta(i as u64), v).unwrap();
    }
    let e = other.read_graph(&mut bytes.as_slice()).unwrap_err().to_string();
    assert!(e.contains("ids"), "{e}");
    // Truncated: refused.
    assert!(fresh.clone().read_graph(&mut &bytes[..bytes.len() - 3]).is_err());
    // int8 storage takes no graph.
    assert_eq!(
        Index::new(DIM, Precision::Int8).enable_hnsw(params()),
        Err(IndexError::GraphPrecision(Precision::Int8))
    );
}
