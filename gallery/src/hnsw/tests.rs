use super::search::Scored;
use super::*;
use crate::random::random_unit_rows;

const DIM: usize = 24;

fn params(m: usize) -> HnswParams {
    HnswParams { m, ef_construction: 80, ef_search: 64, seed: 3 }
}

fn rows(data: &[f32]) -> Rows<'_> {
    Rows::F32 { data, dim: DIM, simd: Simd::detect() }
}

fn build(data: &[f32], p: HnswParams) -> Hnsw {
    let mut g = Hnsw::new(DIM, p);
    g.extend(&rows(data), &|_| false);
    g
}

/// Exact top-k node numbers by a plain loop.
fn exact(data: &[f32], q: &[f32], k: usize, keep: impl Fn(u32) -> bool) -> Vec<u32> {
    let mut all: Vec<Scored> = data
        .chunks_exact(DIM)
        .enumerate()
        .filter(|(i, _)| keep(*i as u32))
        .map(|(i, r)| Scored { score: crate::kernels::portable_dot(q, r), node: i as u32 })
        .collect();
    all.sort_unstable_by(|a, b| b.cmp(a));
    all.into_iter().take(k).map(|s| s.node).collect()
}

fn recall(g: &Hnsw, data: &[f32], queries: &[f32], k: usize, ef: usize, keep: &dyn Fn(u32) -> bool) -> f64 {
    let (mut hit, mut total) = (0, 0);
    for q in queries.chunks_exact(DIM) {
        let truth = exact(data, q, k, keep);
        let got: Vec<u32> = g.search(&rows(data), q, k, ef, keep).iter().map(|s| s.node).collect();
        assert!(got.iter().all(|&n| keep(n)), "a node outside the predicate was returned");
        total += truth.len();
        hit += truth.iter().filter(|n| got.contains(n)).count();
    }
    hit as f64 / total as f64
}

#[test]
fn recall_against_exact_on_seeded_data() {
    let data = random_unit_rows(6000, DIM, 11);
    let queries = random_unit_rows(200, DIM, 12);
    let g = build(&data, params(12));
    assert_eq!(g.len(), 6000);
    let r = recall(&g, &data, &queries, 10, 64, &|_| true);
    assert!(r >= 0.95, "recall@10 {r}");
    // A width-1 search finds clearly less: the figure above comes from the graph, not from luck.
    let narrow = recall(&g, &data, &queries, 10, 10, &|_| true);
    assert!(narrow < r, "ef 10 {narrow} vs ef 64 {r}");
    assert!(g.mean_degree() > 6.0, "degree {}", g.mean_degree());
}

#[test]
fn a_graph_without_links_misses() {
    // The check of the recall test fails on a broken graph: drop every link but the first on layer 0.
    let data = random_unit_rows(3000, DIM, 21);
    let queries = random_unit_rows(50, DIM, 22);
    let mut g = build(&data, params(8));
    for n in 0..g.len() as u32 {
        let keep: Vec<u32> = g.links(n, 0).iter().take(1).copied().collect();
        g.set_links(n, 0, &keep);
    }
    assert!(recall(&g, &data, &queries, 10, 64, &|_| true) < 0.9);
}

#[test]
fn construction_is_deterministic_across_thread_counts() {
    let data = random_unit_rows(3000, DIM, 5);
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap().install(|| build(&data, params(8)));
    let three = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap().install(|| build(&data, params(8)));
    assert_eq!(one, three);
    // Built in two steps (as enrolments arrive) it is a valid graph of the same quality; another seed differs.
    let mut two_steps = Hnsw::new(DIM, params(8));
    two_steps.extend(&rows(&data[..1000 * DIM]), &|_| false);
    two_steps.extend(&rows(&data), &|_| false);
    let queries = random_unit_rows(100, DIM, 6);
    assert!(recall(&two_steps, &data, &queries, 10, 64, &|_| true) >= 0.95);
    assert_ne!(build(&data, HnswParams { seed: 4, ..params(8) }), one);
}

#[test]
fn predicates_are_never_violated_and_inserts_are_found() {
    let data = random_unit_rows(4000, DIM, 7);
    let g = build(&data, params(10));
    let queries = random_unit_rows(60, DIM, 8);
    let odd = |n: u32| n % 3 == 1;
    assert!(recall(&g, &data, &queries, 10, 96, &odd) >= 0.9);
    // Every node is found by its own vector (the inserts are all reachable).
    let r = rows(&data);
    let missing = (0..4000u32)
        .filter(|&n| g.search(&r, &data[n as usize * DIM..(n as usize + 1) * DIM], 1, 32, &|_| true)[0].node != n)
        .count();
    assert!(missing <= 4, "{missing} of 4000 nodes not found by their own vector");
}

#[test]
fn repair_drops_removed_nodes_and_keeps_recall() {
    let data = random_unit_rows(5000, DIM, 9);
    let mut g = build(&data, params(12));
    // Remove 40%, in a pattern that hits every neighbourhood.
    let dead: Vec<bool> = (0..5000).map(|i| (i * 7) % 10 < 4).collect();
    g.repair(&rows(&data), &dead);
    let kept: Vec<f32> =
        data.chunks_exact(DIM).zip(&dead).filter(|(_, d)| !**d).flat_map(|(r, _)| r.to_vec()).collect();
    assert_eq!(g.len(), 3000);
    for n in 0..g.len() as u32 {
        for l in 0..=g.levels[n as usize] as usize {
            assert!(g.links(n, l).iter().all(|&x| (x as usize) < g.len() && x != n));
        }
    }
    let queries = random_unit_rows(100, DIM, 10);
    let r = recall(&g, &kept, &queries, 10, 64, &|_| true);
    assert!(r >= 0.95, "recall after repair {r}");
    // And the graph keeps growing after a repair.
    let more = random_unit_rows(500, DIM, 13);
    let all: Vec<f32> = kept.iter().chain(&more).copied().collect();
    g.extend(&rows(&all), &|_| false);
    assert!(recall(&g, &all, &queries, 10, 64, &|_| true) >= 0.95);
}

#[test]
fn bytes_round_trip() {
    let data = random_unit_rows(2000, DIM, 14);
    let g = build(&data, params(6));
    let mut bytes = Vec::new();
    g.write_to(&mut bytes).unwrap();
    let back = Hnsw::read_from(&mut bytes.as_slice(), DIM, 2000).unwrap();
    assert_eq!(back, g);
    // Wrong expectations are refused, naming the field.
    let e = Hnsw::read_from(&mut bytes.as_slice(), DIM, 1999).unwrap_err().to_string();
    assert!(e.contains("nodes"), "{e}");
    let e = Hnsw::read_from(&mut bytes.as_slice(), DIM + 1, 2000).unwrap_err().to_string();
    assert!(e.contains("dim"), "{e}");
    let empty = Hnsw::new(DIM, params(6));
    let mut eb = Vec::new();
    empty.write_to(&mut eb).unwrap();
    assert_eq!(Hnsw::read_from(&mut eb.as_slice(), DIM, 0).unwrap(), empty);
}

#[test]
fn truncated_random_and_corrupted_bytes_are_refused_without_panics() {
    let data = random_unit_rows(800, DIM, 15);
    let g = build(&data, params(6));
    let mut bytes = Vec::new();
    g.write_to(&mut bytes).unwrap();
    // Every prefix (in steps, and every length of the header) fails cleanly.
    for cut in (0..64).chain((64..bytes.len()).step_by(97)) {
        assert!(Hnsw::read_from(&mut &bytes[..cut], DIM, 800).is_err(), "prefix {cut} accepted");
    }
    // Random bytes, also behind a valid magic, with a huge node count claimed: refused, nothing huge allocated.
    let mut state = 0x1234_5678_u64;
    for round in 0..200 {
        let mut junk: Vec<u8> = (0..(round * 37) % 5000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        if round % 2 == 0 && junk.len() > 8 {
            junk[..8].copy_from_slice(b"RIDHNSW1");
        }
        assert!(Hnsw::read_from(&mut junk.as_slice(), DIM, 800).is_err());
        assert!(Hnsw::read_from(&mut junk.as_slice(), DIM, usize::MAX / 64).is_err());
    }
    // Single corrupted fields: a link out of range, a count over capacity, an entry that is not a top node.
    let header = 8 + 4 * 4 + 8 + 8 + 4 + 4;
    let layer0 = header + 800;
    let mut bad = bytes.clone();
    bad[layer0 + 4..layer0 + 8].copy_from_slice(&5000u32.to_le_bytes());
    assert!(Hnsw::read_from(&mut bad.as_slice(), DIM, 800).unwrap_err().to_string().contains("links"));
    let mut bad = bytes.clone();
    bad[layer0..layer0 + 4].copy_from_slice(&13u32.to_le_bytes());
    assert!(Hnsw::read_from(&mut bad.as_slice(), DIM, 800).unwrap_err().to_string().contains("capacity"));
    let mut bad = bytes.clone();
    let entry_at = 8 + 4 * 4 + 8 + 8;
    let other = (0..800u32).find(|&n| g.levels[n as usize] < g.max_level).unwrap();
    bad[entry_at..entry_at + 4].copy_from_slice(&other.to_le_bytes());
    assert!(Hnsw::read_from(&mut bad.as_slice(), DIM, 800).unwrap_err().to_string().contains("entry"));
    let mut bad = bytes.clone();
    bad[0] = b'X';
    assert!(matches!(Hnsw::read_from(&mut bad.as_slice(), DIM, 800), Err(HnswReadError::Magic { .. })));
}

#[test]
fn incremental_overflow_selection_builds_the_same_graph_as_the_full_heuristic() {
    // Clustered rows (views of identities, as learned embeddings) in f32 and f16, grown in three steps so later
    // steps overflow lists chosen earlier, with a tombstone walked through but never linked.
    let latent = crate::random::LatentRows::new(DIM, 6, 4, 5);
    let data = latent.gallery(0, 5000);
    let halves: Vec<f16> = data.iter().map(|&x| f16::from_f32(x)).collect();
    let views = [rows(&data), Rows::F16 { data: &halves, dim: DIM, simd: Simd::detect() }];
    for view in views {
        let (mut fast, mut full) = (Hnsw::new(DIM, params(6)), Hnsw::new(DIM, params(6)));
        let dead = |n: u32| n == 17;
        let mut counts = (0, 0);
        for end in [900, 3100, 5000] {
            let part = match view {
                Rows::F32 { dim, simd, .. } => Rows::F32 { data: &data[..end * DIM], dim, simd },
                Rows::F16 { dim, simd, .. } => Rows::F16 { data: &halves[..end * DIM], dim, simd },
            };
            let (quick, slow) = fast.extend_with(&part, &dead, true);
            let (none, all) = full.extend_with(&part, &dead, false);
            assert_eq!(none, 0);
            assert_eq!(quick + slow, all, "overflows differ");
            counts = (counts.0 + quick, counts.1 + slow);
        }
        // The shortcut resolved most overflows (a list's first overflow needs the whole heuristic).
        assert!(counts.0 > counts.1 && counts.0 > 1000, "{counts:?} incremental, in full");
        assert!(fast == full, "the incremental selection changed the graph");
        assert!(fast.mean_degree() > 8.0, "degree {}", fast.mean_degree());
    }
}

#[test]
fn a_bulk_f32_step_is_built_on_f16_rows_and_a_small_one_on_the_f32_rows() {
    let latent = crate::random::LatentRows::new(DIM, 6, 4, 5);
    let data = latent.gallery(0, 3000);
    let halves: Vec<f16> = data.iter().map(|&x| f16::from_f32(x)).collect();
    let simd = Simd::detect();
    let first = 2800 * DIM;
    // The first build (bulk): the graph built on the f16 rows, not the one the f32 rows give.
    let mut ours = Hnsw::new(DIM, params(6));
    ours.extend(&rows(&data[..first]), &|_| false);
    let mut on_halves = Hnsw::new(DIM, params(6));
    on_halves.extend_with(&Rows::F16 { data: &halves[..first], dim: DIM, simd }, &|_| false, true);
    let mut on_f32 = Hnsw::new(DIM, params(6));
    on_f32.extend_with(&rows(&data[..first]), &|_| false, true);
    assert!(ours == on_halves, "the bulk step did not build on the f16 copy");
    assert!(ours != on_f32, "rounding to f16 changed no link: this data cannot tell the two paths apart");
    // Growth by 150 rows (< 1/16 of 2950): scored on the f32 rows.
    let (mut grown, mut expected) = (ours.clone(), ours.clone());
    grown.extend(&rows(&data[..2950 * DIM]), &|_| false);
    expected.extend_with(&rows(&data[..2950 * DIM]), &|_| false, true);
    assert!(grown == expected, "a small step did not read the f32 rows");
    // A value past f16's range keeps even a bulk step on the f32 rows (scaling keeps the inner-product order).
    let big: Vec<f32> = data[..first].iter().map(|&x| x * 1e5).collect();
    let (mut scaled, mut scaled_f32) = (Hnsw::new(DIM, params(6)), Hnsw::new(DIM, params(6)));
    scaled.extend(&rows(&big), &|_| false);
    scaled_f32.extend_with(&rows(&big), &|_| false, true);
    assert!(scaled == scaled_f32, "rows past f16's range were rounded");
    // Both graphs find the same neighbours about as well.
    let queries = latent.queries(100, 700);
    let a = recall(&ours, &data[..first], &queries, 10, 64, &|_| true);
    let b = recall(&on_f32, &data[..first], &queries, 10, 64, &|_| true);
    assert!(a >= 0.9 && (a - b).abs() <= 0.03, "recall@10 {a} (built on f16) vs {b} (on f32)");
}
