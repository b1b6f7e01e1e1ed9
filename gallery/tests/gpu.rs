//! The GPU path (feature `cuda`) against the CPU: top-k lists equal to the CPU index's (ids and order, scores to
//! 1e-5) with and without a filter, and re-ranking through the GPU all-pairs pass equal to the CPU's (distances to
//! 1e-5, same top-10). Without an NVIDIA GPU and its libraries, opening fails with an error naming what is missing
//! (checked here) and the comparisons print that they were skipped.
#![cfg(feature = "cuda")]

use reid_eval::Matrix;
use reid_eval::progress::NoProgress;
use reid_eval::rerank::{CpuAllPairs, RerankParams, rerank_on};
use reid_gallery::gallery::device::DeviceIndex;
use reid_gallery::gpu::{Gpu, GpuAllPairs, GpuGallery, GpuIndex, compile_kernels, missing_libraries};
use reid_gallery::random::random_unit_rows;
use reid_gallery::record::Metadata;
use reid_gallery::{Filter, Index, Precision};
use std::sync::Arc;

fn open() -> Option<Arc<Gpu>> {
    match Gpu::open(0) {
        Ok(g) => Some(Arc::new(g)),
        Err(e) => {
            eprintln!("SKIPPED: no usable CUDA device ({e})");
            None
        }
    }
}

#[test]
fn opening_without_a_gpu_is_an_error_that_names_the_missing_library() {
    let missing = missing_libraries();
    match Gpu::open(0) {
        Ok(g) => assert!(missing.is_empty(), "opened {} although {missing:?} are missing", g.name()),
        Err(e) => {
            let msg = e.to_string();
            for lib in &missing {
                let short = lib.split(' ').next().unwrap();
                assert!(msg.contains(short), "`{msg}` does not name {short}");
            }
        }
    }
    // An absurd ordinal is an error, never a panic, with or without a GPU.
    assert!(Gpu::open(10_000).is_err());
}

/// NVRTC needs no device: with libnvrtc on the loader path (scripts/test.sh installs NVIDIA's
/// `nvidia-cuda-nvrtc-cu12` wheel into .venv for this) the kernels are really compiled here.
#[test]
fn kernels_compile_with_nvrtc() {
    match compile_kernels() {
        Ok(ptx) => {
            let text = ptx.to_src();
            for entry in ["segment_topk", "rows_nearest"] {
                assert!(text.contains(&format!(".entry {entry}")), "PTX lacks the entry point {entry}");
            }
        }
        Err(reid_gallery::gpu::GpuError::Unavailable(why)) => eprintln!("SKIPPED: {why}"),
        Err(e) => panic!("the kernels do not compile: {e}"),
    }
}

#[test]
fn gpu_top_k_equals_the_cpu_index() {
    let Some(gpu) = open() else { return };
    let (n, dim) = (40_000, 64);
    let mut index = Index::new(dim, Precision::F32);
    let data = random_unit_rows(n, dim, 5);
    for (i, v) in data.chunks_exact(dim).enumerate() {
        let meta = Metadata {
            camera: Some(format!("c{}", i % 3)),
            timestamp_ms: i as i64,
            identity: (i % 2 == 0).then(|| format!("p{}", i % 97)),
            ..Metadata::default()
        };
        index.insert(1_000 + i as u64 * 7, &meta, v).unwrap();
    }
    // Removal reorders rows: results must still be ordered by score, then id.
    index.remove(&[1_000, 1_007 + 7 * 500]);
    let on_gpu = GpuGallery::upload(gpu, &index).unwrap();
    let queries = random_unit_rows(70, dim, 6);
    let filters =
        [Filter::all(), Filter { cameras: Some(vec!["c1".into()]), identified_only: true, ..Filter::default() }];
    for filter in &filters {
        for (nq, k) in [(1, 10), (70, 10), (5, 64)] {
            let q = &queries[..nq * dim];
            let cpu = index.search_brute_force(q, k, filter);
            let got = on_gpu.search(&index, q, k, filter).unwrap();
            assert_eq!(cpu.len(), got.len());
            for (c, g) in cpu.iter().zip(&got) {
                let ci: Vec<u64> = c.iter().map(|h| h.id).collect();
                let gi: Vec<u64> = g.iter().map(|h| h.id).collect();
                assert_eq!(ci, gi, "filter {filter:?} batch {nq} k {k}");
                for (a, b) in c.iter().zip(g) {
                    assert!((a.score - b.score).abs() < 1e-5, "{} vs {}", a.score, b.score);
                }
            }
        }
    }
    assert!(on_gpu.search(&index, &queries[..dim], 65, &Filter::all()).is_err(), "k past MAX_K is an error");
}

#[test]
fn gpu_all_pairs_rerank_equals_the_cpu() {
    let Some(gpu) = open() else { return };
    let dim = 32;
    let q = Matrix::from_vec(40, dim, random_unit_rows(40, dim, 7)).unwrap();
    let g = Matrix::from_vec(900, dim, random_unit_rows(900, dim, 8)).unwrap();
    let params = RerankParams::default();
    let cpu = rerank_on(&CpuAllPairs, &q, &g, &params, &NoProgress).unwrap();
    let got = rerank_on(&GpuAllPairs::new(gpu), &q, &g, &params, &NoProgress).unwrap();
    for (i, (a, b)) in cpu.as_slice().iter().zip(got.as_slice()).enumerate() {
        assert!((a - b).abs() < 1e-5, "entry {i}: cpu {a} gpu {b}");
    }
}

/// `reid gallery serve --device cuda:0`: the GPU copy follows every change of a serving gallery (growth past its
/// first size, sightings, forget, retention) and answers as the CPU does, in f32 and f16.
#[test]
fn a_served_gallery_answers_top_k_on_the_gpu_like_the_cpu() {
    for precision in [Precision::F32, Precision::F16] {
        let ran = super::device::device_scenario(precision, |g| {
            let gpu = Gpu::open(0).map_err(|e| e.to_string())?;
            g.attach_device(|index| {
                GpuIndex::new(Arc::new(gpu), index)
                    .map(|d| Box::new(d) as Box<dyn DeviceIndex>)
                    .map_err(|e| e.to_string())
            })
        });
        if !ran {
            return;
        }
    }
}

/// The GPU copy's rows stay in the index's order through appends (with growth) and swap-removals.
#[test]
fn the_gpu_copy_keeps_the_index_row_order() {
    let Some(gpu) = open() else { return };
    let dim = 16;
    let mut index = Index::new(dim, Precision::F32);
    let data = random_unit_rows(5_000, dim, 9);
    let mut copy = GpuIndex::new(gpu, &index).unwrap();
    let mut next = 0usize;
    for round in 0..20 {
        let ids: Vec<u64> = (next..next + 200).map(|i| i as u64 * 2 + 5).collect();
        for (j, id) in ids.iter().enumerate() {
            index.insert(*id, &Metadata::default(), &data[((next + j) % 5_000) * dim..][..dim]).unwrap();
        }
        copy.appended(&index, &ids).unwrap();
        next += 200;
        let held = index.ids().to_vec();
        let gone = vec![held[0], held[held.len() / 3], *held.last().unwrap(), 1, held[7]];
        index.remove(&gone);
        copy.removed(&index, &gone).unwrap();
        assert_eq!(copy.device_ids().unwrap(), index.ids(), "round {round}");
    }
    let q = random_unit_rows(3, dim, 10);
    let want = index.search_brute_force(&q, 10, &Filter::all());
    let got = copy.search(&index, &q, 10, &Filter::all()).unwrap();
    for (w, g) in want.iter().zip(&got) {
        assert_eq!(w.iter().map(|h| h.id).collect::<Vec<_>>(), g.iter().map(|h| h.id).collect::<Vec<_>>());
    }
}
