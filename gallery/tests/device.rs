//! A gallery answering top-k on an attached device ([`DeviceIndex`]) must answer exactly as the CPU index through
//! enrolments, streamed sightings, forgetting, retention and growth. Here the device is a host copy that follows
//! the same mirroring contract as the GPU copy (rows in the index's order, the index's row mask applied as is);
//! `gpu.rs` runs the same scenario with the real GPU copy when a GPU is present.

use reid_gallery::gallery::device::{DeviceIndex, RowMirror};
use reid_gallery::random::random_unit_rows;
use reid_gallery::record::{Metadata, now_ms};
use reid_gallery::topk::{Hit, TopK};
use reid_gallery::{Filter, Forget, Gallery, GalleryConfig, Index, NewEmbedding, Precision, QueryOptions, TimeRange};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Rows copied in the mirror's order, searched by brute force with the index's row mask.
struct HostDevice {
    mirror: RowMirror,
    rows: Vec<f32>,
    dim: usize,
    searches: Arc<AtomicUsize>,
}

impl DeviceIndex for HostDevice {
    fn name(&self) -> String {
        "host copy".into()
    }
    fn max_k(&self) -> usize {
        64
    }
    fn appended(&mut self, index: &Index, ids: &[u64]) -> Result<(), String> {
        for &id in ids {
            self.mirror.push(id);
            self.rows.extend(index.vector(id).ok_or("appended id not in the index")?);
        }
        Ok(())
    }
    fn removed(&mut self, _index: &Index, ids: &[u64]) -> Result<(), String> {
        let d = self.dim;
        for &id in ids {
            if let Some(m) = self.mirror.swap_remove(id) {
                self.rows.copy_within(m.from * d..(m.from + 1) * d, m.to * d);
                self.rows.truncate(m.from * d);
            }
        }
        Ok(())
    }
    fn search(&self, index: &Index, q: &[f32], k: usize, filter: &Filter) -> Result<Vec<Vec<Hit>>, String> {
        self.searches.fetch_add(1, Ordering::Relaxed);
        if index.len() != self.mirror.len() || index.ids() != self.mirror.ids() {
            return Err("the copy's rows are not the index's".into());
        }
        let mask = index.row_mask(filter);
        Ok(q.chunks_exact(self.dim)
            .map(|qv| {
                let mut top = TopK::new(k);
                for (r, row) in self.rows.chunks_exact(self.dim).enumerate() {
                    if mask.as_ref().is_none_or(|m| m[r] == 1) {
                        top.push(Hit { id: self.mirror.ids()[r], score: row.iter().zip(qv).map(|(a, b)| a * b).sum() });
                    }
                }
                top.into_sorted()
            })
            .collect())
    }
}

fn items(n: usize, dim: usize, seed: u64, now: i64) -> Vec<NewEmbedding> {
    random_unit_rows(n, dim, seed)
        .chunks_exact(dim)
        .enumerate()
        .map(|(i, v)| NewEmbedding {
            vector: v.to_vec(),
            meta: Metadata {
                identity: (i % 3 == 0).then(|| format!("p{}", i % 40)),
                camera: Some(format!("c{}", i % 4)),
                timestamp_ms: now - (i as i64 % 500) * 1_000,
                ..Metadata::default()
            },
        })
        .collect()
}

/// Both galleries must give the same lists (ids in order; scores to 1e-5) for every filter and k.
fn same_answers(cpu: &Gallery, dev: &Gallery, dim: usize, seed: u64, now: i64, step: &str) {
    let queries = random_unit_rows(9, dim, seed);
    let filters = [
        Filter::all(),
        Filter { cameras: Some(vec!["c1".into(), "c3".into()]), identified_only: true, ..Filter::default() },
        Filter { time: TimeRange { from_ms: Some(now - 200_000), to_ms: Some(now - 50_000) }, ..Filter::default() },
    ];
    for filter in &filters {
        for (nq, k) in [(1, 10), (9, 5), (2, 64)] {
            let options = QueryOptions { k, filter: filter.clone(), ..QueryOptions::default() };
            let a = cpu.search(&queries[..nq * dim], &options).unwrap();
            let b = dev.search(&queries[..nq * dim], &options).unwrap();
            for (x, y) in a.iter().zip(&b) {
                let xi: Vec<u64> = x.matches.iter().map(|m| m.id).collect();
                let yi: Vec<u64> = y.matches.iter().map(|m| m.id).collect();
                assert_eq!(xi, yi, "{step}: filter {filter:?}, batch {nq}, k {k}");
                for (m, n) in x.matches.iter().zip(&y.matches) {
                    assert!((m.score - n.score).abs() < 1e-5, "{step}: {} vs {}", m.score, n.score);
                }
                assert_eq!(x.best_identity, y.best_identity, "{step}");
            }
        }
    }
}

/// Runs the same changes on a CPU gallery and on one with `attach` applied, comparing answers after each.
pub fn device_scenario(precision: Precision, attach: impl FnOnce(&Gallery) -> Result<String, String>) -> bool {
    let dim = 32;
    let dirs = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let config = GalleryConfig { dim: Some(dim), precision, threads: 2, ..GalleryConfig::default() };
    let cpu = Gallery::open(dirs.0.path().join("g.redb"), config.clone()).unwrap();
    let dev = Gallery::open(dirs.1.path().join("g.redb"), config).unwrap();
    let now = now_ms();
    // Rows present before the device is attached (the initial copy), then changes mirrored one by one.
    for g in [&cpu, &dev] {
        g.enroll(items(700, dim, 1, now)).unwrap();
    }
    if let Err(why) = attach(&dev) {
        eprintln!("SKIPPED: {why}");
        return false;
    }
    same_answers(&cpu, &dev, dim, 10, now, "after attaching");
    for g in [&cpu, &dev] {
        g.enroll(items(1_500, dim, 2, now)).unwrap(); // past the first copy's size: the copy grows
        let sightings = items(300, dim, 3, now);
        let matched: Vec<Option<String>> = (0..300).map(|i| (i % 5 == 0).then(|| "p7".to_string())).collect();
        g.enroll_sightings(sightings, &matched).unwrap();
    }
    same_answers(&cpu, &dev, dim, 11, now, "after enrolments and sightings");
    for g in [&cpu, &dev] {
        assert!(g.forget(&Forget::Identity("p7".into())).unwrap() > 0);
        g.expire_before(now - 400_000).unwrap();
        g.forget(&Forget::TimeRange {
            range: TimeRange { from_ms: Some(now - 30_000), to_ms: None },
            camera: Some("c2".into()),
        })
        .unwrap();
    }
    same_answers(&cpu, &dev, dim, 12, now, "after forgetting and retention");
    for g in [&cpu, &dev] {
        g.enroll(items(64, dim, 4, now)).unwrap();
    }
    same_answers(&cpu, &dev, dim, 13, now, "after more enrolments");
    assert_eq!(cpu.len(), dev.len());
    assert!(dev.device_name().is_some(), "the device was dropped during the scenario");
    true
}

#[test]
fn a_device_copy_answers_like_the_cpu_through_every_change() {
    for precision in [Precision::F32, Precision::F16] {
        let searches = Arc::new(AtomicUsize::new(0));
        let counter = searches.clone();
        let ran = device_scenario(precision, |g| {
            g.attach_device(|index| {
                let (ids, rows) = index.rows_f32();
                Ok::<_, String>(Box::new(HostDevice {
                    mirror: RowMirror::new(&ids),
                    rows,
                    dim: index.dim(),
                    searches: counter,
                }) as Box<dyn DeviceIndex>)
            })
        });
        assert!(ran, "the host device always attaches");
        // Every top-k of the scenario (4 checks x 3 filters x 3 shapes, all with k <= 64) ran on the device.
        assert_eq!(searches.load(Ordering::Relaxed), 4 * 9, "the device did not answer every search");
    }
}

/// A device that fails on a change is dropped (the CPU answers); one that fails a search answers that request on
/// the CPU. Neither loses an answer.
#[test]
fn a_failing_device_falls_back_to_the_cpu() {
    struct Broken {
        fail_search: bool,
    }
    impl DeviceIndex for Broken {
        fn name(&self) -> String {
            "broken".into()
        }
        fn max_k(&self) -> usize {
            64
        }
        fn appended(&mut self, _: &Index, _: &[u64]) -> Result<(), String> {
            Err("out of device memory".into())
        }
        fn removed(&mut self, _: &Index, _: &[u64]) -> Result<(), String> {
            Ok(())
        }
        fn search(&self, _: &Index, _: &[f32], _: usize, _: &Filter) -> Result<Vec<Vec<Hit>>, String> {
            if self.fail_search { Err("launch failed".into()) } else { Ok(Vec::new()) }
        }
    }
    let dim = 16;
    let dir = tempfile::tempdir().unwrap();
    let config = GalleryConfig { dim: Some(dim), threads: 1, ..GalleryConfig::default() };
    let g = Gallery::open(dir.path().join("g.redb"), config).unwrap();
    let now = now_ms();
    g.enroll(items(50, dim, 5, now)).unwrap();
    g.attach_device(|_| Ok::<_, String>(Box::new(Broken { fail_search: true }) as Box<dyn DeviceIndex>)).unwrap();
    let q = random_unit_rows(1, dim, 6);
    let hits = g.search(&q, &QueryOptions::default()).unwrap();
    assert_eq!(hits[0].matches.len(), 10, "a failed device search must be answered on the CPU");
    g.enroll(items(5, dim, 7, now)).unwrap();
    assert!(g.device_name().is_none(), "a device whose copy failed must be dropped");
    assert_eq!(g.search(&q, &QueryOptions::default()).unwrap()[0].matches.len(), 10);
}
