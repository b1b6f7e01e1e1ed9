//! `reid bench gallery-restart`: time from opening a gallery store to its first correct answer, with the index
//! rebuilt from the store (no snapshot) and loaded from a current snapshot, in one run on the same store.

use anyhow::{Context, Result, ensure};
use clap::Args;
use reid_gallery::random::random_unit_rows;
use reid_gallery::{Gallery, GalleryConfig, IndexSource, Metadata, NewEmbedding, Precision, QueryOptions};
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `reid bench gallery-restart`.
#[derive(Args, Debug)]
pub struct GalleryRestartArgs {
    /// Gallery size (random unit vectors with identity, camera and time).
    #[arg(long, default_value_t = 1_000_000)]
    pub n: usize,
    /// Dimension.
    #[arg(long, default_value_t = 256)]
    pub dim: usize,
    /// In-memory precision: f32, f16 or int8.
    #[arg(long, default_value = "f32")]
    pub precision: String,
    /// Keep the store here (made on the first run, reused when it already holds `--n` records) instead of a
    /// temporary folder; large stores take minutes to fill.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Before each open, ask the kernel to drop its page cache (`/proc/sys/vm/drop_caches`; needs root): the
    /// cold-start case. Without it both opens read from a warm cache.
    #[arg(long)]
    pub cold: bool,
    /// Rounds of each (the median is printed).
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
}

/// One timed open.
struct Opened {
    open_s: f64,
    first_answer_s: f64,
    from: IndexSource,
    answers: String,
}

fn drop_caches() -> Result<()> {
    // Sync first so that dirty pages are written and can be dropped too.
    std::process::Command::new("sync").status().context("running sync")?;
    std::fs::write("/proc/sys/vm/drop_caches", "3").context("--cold: writing /proc/sys/vm/drop_caches (needs root)")
}

/// Runs `reid bench gallery-restart`.
pub fn run(args: &GalleryRestartArgs) -> Result<()> {
    ensure!(args.n > 0 && args.dim > 0 && args.rounds > 0, "--n, --dim and --rounds must be positive");
    let precision: Precision = args.precision.parse().map_err(anyhow::Error::msg)?;
    let tmp;
    let dir = match &args.dir {
        Some(d) => {
            std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
            d.clone()
        }
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    let db = dir.join(format!("restart-{}x{}.redb", args.n, args.dim));
    let config = |snapshot| GalleryConfig { dim: Some(args.dim), precision, snapshot, ..GalleryConfig::default() };
    {
        let g = Gallery::open(&db, config(false)).with_context(|| format!("opening {}", db.display()))?;
        if g.len() != args.n {
            ensure!(
                g.is_empty(),
                "{} holds {} records, not {}: remove it or use another --dir",
                db.display(),
                g.len(),
                args.n
            );
            fill(&g, args.n, args.dim)?;
        }
    }
    // The queries: stored vectors (row j's own vector must come back first), and their full top-10 lists.
    let probes: Vec<usize> = (0..8).map(|i| (i * 7_919 + 13) % args.n).collect();
    let query: Vec<f32> = probes
        .iter()
        .flat_map(|&p| {
            let (block, row) = (p / FILL, p % FILL);
            let data = random_unit_rows(rows_in(block, args.n), args.dim, 1_000 + block as u64);
            data[row * args.dim..(row + 1) * args.dim].to_vec()
        })
        .collect();
    let want_ids: Vec<u64> = probes.iter().map(|&p| p as u64 + 1).collect();
    let open_once = |snapshot: bool| -> Result<Opened> {
        if args.cold {
            drop_caches()?;
        }
        let started = Instant::now();
        let g = Gallery::open(&db, config(snapshot))?;
        let open_s = started.elapsed().as_secs_f64();
        let results = g.search(&query, &QueryOptions { k: 10, ..QueryOptions::default() })?;
        let first_answer_s = started.elapsed().as_secs_f64();
        let top1: Vec<u64> = results.iter().map(|r| r.matches.first().map_or(0, |m| m.id)).collect();
        ensure!(top1 == want_ids, "wrong first answer: top-1 {top1:?}, expected {want_ids:?}");
        let answers = format!("{:?}", results.iter().map(|r| &r.matches).collect::<Vec<_>>());
        Ok(Opened { open_s, first_answer_s, from: g.opened_from().clone(), answers })
    };
    // A current snapshot for the snapshot rounds (written once; its time and size are reported).
    let snapshot_write = {
        let g = Gallery::open(&db, config(true))?;
        let started = Instant::now();
        let bytes = match g.save_snapshot()? {
            Some(b) => b,
            None => std::fs::metadata(g.snapshot_path())?.len(),
        };
        (started.elapsed().as_secs_f64(), bytes)
    };
    let mut rebuild = Vec::new();
    let mut loaded = Vec::new();
    for _ in 0..args.rounds {
        rebuild.push(open_once(false)?);
        loaded.push(open_once(true)?);
    }
    for o in &loaded {
        ensure!(o.from == IndexSource::Snapshot, "the snapshot was not used: {:?}", o.from);
        ensure!(o.answers == rebuild[0].answers, "the snapshot's answers differ from the rebuilt index's");
    }
    let med = |v: &[Opened], f: fn(&Opened) -> f64| {
        let mut x: Vec<f64> = v.iter().map(f).collect();
        x.sort_by(f64::total_cmp);
        x[x.len() / 2]
    };
    let (rb, sn) = (med(&rebuild, |o| o.first_answer_s), med(&loaded, |o| o.first_answer_s));
    println!(
        "gallery restart: {} x {} ({precision}), {} page cache, median of {} rounds; both answers checked (top-1 = \
         the probe's own id, identical top-10 lists)",
        args.n,
        args.dim,
        if args.cold { "cold (dropped before each open)" } else { "warm" },
        args.rounds
    );
    println!("| index from | open (s) | first correct answer (s) |");
    println!("|---|---|---|");
    println!("| store (rebuild) | {:.3} | {:.3} |", med(&rebuild, |o| o.open_s), rb);
    println!("| snapshot | {:.3} | {:.3} |", med(&loaded, |o| o.open_s), sn);
    println!(
        "snapshot {:.0} MiB written in {:.2} s; first answer {:.1}x sooner from the snapshot",
        snapshot_write.1 as f64 / (1 << 20) as f64,
        snapshot_write.0,
        rb / sn
    );
    Ok(())
}

/// Rows of the fill's generator block (blocks of `FILL` rows, each from its own seed).
const FILL: usize = 10_000;

fn rows_in(block: usize, n: usize) -> usize {
    FILL.min(n - block * FILL)
}

/// Enrols `n` random unit vectors in blocks (ids 1..=n in order), printing progress.
fn fill(g: &Gallery, n: usize, dim: usize) -> Result<()> {
    let started = Instant::now();
    let blocks = n.div_ceil(FILL);
    for b in 0..blocks {
        let data = random_unit_rows(rows_in(b, n), dim, 1_000 + b as u64);
        let items = data
            .chunks_exact(dim)
            .enumerate()
            .map(|(i, v)| NewEmbedding {
                vector: v.to_vec(),
                meta: Metadata {
                    identity: Some(format!("p{}", (b * FILL + i) % 50_000)),
                    camera: Some(format!("c{}", i % 8)),
                    timestamp_ms: reid_gallery::record::now_ms() - i as i64,
                    ..Metadata::default()
                },
            })
            .collect();
        g.enroll(items)?;
        if b % 10 == 9 || b + 1 == blocks {
            eprintln!("filled {} of {n} ({:.0} s)", ((b + 1) * FILL).min(n), started.elapsed().as_secs_f64());
        }
    }
    Ok(())
}
