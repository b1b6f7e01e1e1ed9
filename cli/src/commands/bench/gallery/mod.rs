//! `reid bench gallery`: exact top-k of the gallery index (f32 and f16 storage, batch 1 and batched) against
//! FAISS `IndexFlatIP` on the same random unit vectors and thread count, in one run ([`faiss`]); with
//! `--index hnsw`, the HNSW graph against FAISS `IndexHNSWFlat` ([`hnsw`]); with `--gpu`,
//! the GPU path against the CPU (`gpu`, feature `gallery-cuda`). `reid bench gallery-load`: the Zenoh server
//! under concurrent clients. `reid bench gallery-restart` ([`restart`]): time to the first answer after a restart,
//! index rebuilt from the store vs loaded from its snapshot.

pub mod faiss;
#[cfg(feature = "gallery-cuda")]
pub mod gpu;
pub mod hnsw;
pub mod restart;

use anyhow::Result;
use clap::Args;
use faiss::{BenchConfig, FAISS_SCRIPT, FaissSetup, rss_mib, run as run_bench};
use std::path::PathBuf;

/// Arguments of `reid bench gallery`.
#[derive(Args, Debug)]
pub struct GalleryBenchArgs {
    /// Gallery size.
    #[arg(long, default_value_t = 1_000_000)]
    pub n: usize,
    /// Dimension.
    #[arg(long, default_value_t = 256)]
    pub dim: usize,
    /// Matches per query.
    #[arg(long, default_value_t = 10)]
    pub k: usize,
    /// Threads for both sides (default: rayon's, i.e. the cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Queries per batched call.
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    /// Python interpreter with numpy and faiss-cpu (`scripts/pyenv.sh --bench`).
    #[arg(long, default_value = "python3")]
    pub python: PathBuf,
    /// Only time the gallery index.
    #[arg(long)]
    pub skip_reference: bool,
    /// Write the report as JSON here too.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Also time GPU top-k and re-ranking on CUDA device N against the CPU, answers compared (feature `cuda`).
    #[arg(long)]
    pub gpu: Option<usize>,
    /// Re-ranking size for `--gpu`: queries x gallery items.
    #[arg(long, default_value = "500x5000", value_parser = parse_size)]
    pub rerank_size: (usize, usize),
    /// What to benchmark: exact (the scans against FAISS flat and SQ8) or hnsw (our graph against FAISS
    /// IndexHNSWFlat with the same M, efConstruction and efSearch values).
    #[arg(long, default_value = "exact")]
    pub index: String,
    /// `--index hnsw`: links per node (FAISS's M).
    #[arg(long, default_value_t = reid_gallery::hnsw::DEFAULT_M)]
    pub hnsw_m: usize,
    /// `--index hnsw`: construction width (efConstruction).
    #[arg(long, default_value_t = reid_gallery::hnsw::DEFAULT_EF_CONSTRUCTION)]
    pub hnsw_ef_construction: usize,
    /// `--index hnsw`: query widths to measure on the same graphs, comma-separated (efSearch).
    #[arg(long, default_value = "64,128,256", value_delimiter = ',')]
    pub hnsw_ef_search: Vec<usize>,
    /// `--index hnsw`: our storages, comma-separated (f16, f32).
    #[arg(long, default_value = "f16,f32", value_delimiter = ',')]
    pub precision: Vec<String>,
    /// `--index hnsw`: single queries timed per pass.
    #[arg(long, default_value_t = 200)]
    pub single: usize,
    /// `--index hnsw`: the data, latent (views of identities on a 32-d manifold, like learned embeddings) or random
    /// (uniform unit vectors: no neighbourhood structure, no graph index reaches a useful recall on them).
    #[arg(long, default_value = "latent")]
    pub data: String,
    /// `--index hnsw`: skip timing the exact scan on the same storage.
    #[arg(long)]
    pub no_exact: bool,
    /// Directory for the FAISS input file (n x dim x 4 bytes) and, for the exact comparison, the int8 index's
    /// store (about 1.3 x that; default: the system temp dir). Removed afterwards.
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// Exact comparison: single queries timed per pass (batch 1).
    #[arg(long, default_value_t = 20)]
    pub single_exact: usize,
}

fn parse_size(s: &str) -> Result<(usize, usize), String> {
    let (a, b) = s.split_once('x').ok_or_else(|| format!("`{s}`: expected QUERIESxGALLERY, e.g. 500x5000"))?;
    let n = |v: &str| v.trim().parse::<usize>().map_err(|_| format!("`{v}` in `{s}` is not a count"));
    Ok((n(a)?, n(b)?))
}

/// Runs `reid bench gallery --index hnsw`.
fn run_hnsw(args: &GalleryBenchArgs) -> Result<()> {
    let precisions = args
        .precision
        .iter()
        .map(|p| p.parse::<reid_gallery::Precision>().map_err(|e| anyhow::anyhow!("--precision: {e}")))
        .collect::<Result<Vec<_>>>()?;
    let cfg = hnsw::HnswBenchConfig {
        n: args.n,
        dim: args.dim,
        k: args.k,
        threads: args.threads.unwrap_or_else(rayon::current_num_threads),
        m: args.hnsw_m,
        ef_construction: args.hnsw_ef_construction,
        ef_search: args.hnsw_ef_search.clone(),
        precisions,
        single_queries: args.single,
        batch: args.batch,
        exact: !args.no_exact,
        data: args.data.clone(),
        ..hnsw::HnswBenchConfig::default()
    };
    let dir = tempfile::tempdir()?;
    let script = faiss::write_script(dir.path(), "bench_faiss_hnsw.py", hnsw::FAISS_HNSW_SCRIPT)?;
    let work_dir = match &args.work_dir {
        Some(d) => d.join(format!("reid-hnsw-bench-{}", std::process::id())),
        None => dir.path().join("data"),
    };
    let faiss = (!args.skip_reference).then(|| hnsw::FaissHnswSetup {
        python: args.python.clone(),
        script,
        work_dir: work_dir.clone(),
    });
    let report = hnsw::run(&cfg, faiss.as_ref());
    let _ = std::fs::remove_dir_all(&work_dir);
    let report = report?;
    print!("{}", report.table());
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)?;
    }
    Ok(())
}

/// Runs `reid bench gallery`.
pub fn run(args: &GalleryBenchArgs) -> Result<()> {
    match args.index.as_str() {
        "exact" => {}
        "hnsw" => return run_hnsw(args),
        other => anyhow::bail!("--index `{other}`: expected exact or hnsw"),
    }
    let cfg = BenchConfig {
        n: args.n,
        dim: args.dim,
        k: args.k,
        threads: args.threads.unwrap_or_else(rayon::current_num_threads),
        batch: args.batch,
        single_queries: args.single_exact,
        work_dir: args.work_dir.clone(),
        ..BenchConfig::default()
    };
    let dir = tempfile::tempdir()?;
    let script = faiss::write_script(dir.path(), "bench_faiss_topk.py", FAISS_SCRIPT)?;
    let faiss = (!args.skip_reference).then(|| FaissSetup { python: args.python.clone(), script });
    #[cfg(not(feature = "gallery-cuda"))]
    if let Some(n) = args.gpu {
        anyhow::bail!("--gpu {n}: this reid was built without the `gallery-cuda` (or `cuda`) feature");
    }
    let report = run_bench(&cfg, faiss.as_ref())?;
    print!("{}", report.table());
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)?;
    }
    #[cfg(feature = "gallery-cuda")]
    if let Some(n) = args.gpu {
        use anyhow::Context;
        let device = std::sync::Arc::new(reid_gallery::gpu::Gpu::open(n).with_context(|| format!("--gpu {n}"))?);
        let (rq, rg) = args.rerank_size;
        let gpu_report = gpu::compare(device, &cfg, rq, rg)?;
        print!("{}", gpu_report.table());
    }
    Ok(())
}

/// Arguments of `reid bench gallery-load`.
#[derive(Args, Debug)]
pub struct GalleryLoadArgs {
    /// Gallery size (random unit vectors with identity labels).
    #[arg(long, default_value_t = 100_000)]
    pub n: usize,
    /// Dimension.
    #[arg(long, default_value_t = 256)]
    pub dim: usize,
    /// Concurrent clients, each with its own Zenoh session.
    #[arg(long, default_value_t = 8)]
    pub clients: usize,
    /// Seconds of load.
    #[arg(long, default_value_t = 20.0)]
    pub seconds: f64,
    /// Matches per query.
    #[arg(long, default_value_t = 10)]
    pub k: usize,
    /// Links to measure, one round each on the same gallery: all (tcp, tls, tls-acl), tcp, tls (mutual TLS), or
    /// tls-acl (mutual TLS with the access-control rules of `reid gallery certs`).
    #[arg(long, default_value = "all")]
    pub transport: String,
    /// Also run a plaintext round with top-k on CUDA device N (`serve --device cuda:N`: the GPU copy of the index)
    /// and print it beside the CPU's plaintext round (feature `gallery-cuda`).
    #[arg(long)]
    pub gpu: Option<usize>,
}

/// Runs `reid bench gallery-load`: a server and `clients` clients in this process, over Zenoh on loopback.
pub fn run_load(args: &GalleryLoadArgs) -> Result<()> {
    use reid_gallery::random::random_unit_rows;
    use reid_gallery::{Gallery, GalleryConfig, Metadata, NewEmbedding};
    use std::sync::Arc;
    use std::time::Instant;
    anyhow::ensure!(
        args.clients > 0 && args.n > 0 && args.seconds > 0.0,
        "--n, --clients and --seconds must be positive"
    );
    let dir = tempfile::tempdir()?;
    let gallery =
        Gallery::open(dir.path().join("load.redb"), GalleryConfig { dim: Some(args.dim), ..Default::default() })?;
    let data = random_unit_rows(args.n, args.dim, 11);
    let started = Instant::now();
    for (c, chunk) in data.chunks(args.dim * 10_000).enumerate() {
        let items = chunk
            .chunks_exact(args.dim)
            .enumerate()
            .map(|(i, v)| NewEmbedding {
                vector: v.to_vec(),
                meta: Metadata {
                    identity: Some(format!("p{}", (c * 10_000 + i) / 4)),
                    timestamp_ms: 0,
                    ..Default::default()
                },
            })
            .collect();
        gallery.enroll(items)?;
    }
    println!("enrolled {} x {} in {:.1} s", args.n, args.dim, started.elapsed().as_secs_f64());
    let gallery = Arc::new(gallery);
    let site_dir = tempfile::tempdir()?;
    let site = reid_gallery::net::certs::make_site(
        site_dir.path(),
        &reid_gallery::net::certs::SitePlan {
            site: "bench".into(),
            server: "gallery".into(),
            hosts: Vec::new(),
            clients: vec![("bench".into(), reid_gallery::net::certs::Role::Reader)],
            days: 1,
            prefix: "bench".into(),
        },
        reid_gallery::net::tls::now_s(),
    )?;
    let transports: Vec<Transport> = match args.transport.as_str() {
        "all" => vec![Transport::Tcp, Transport::Tls, Transport::TlsAcl],
        "tcp" => vec![Transport::Tcp],
        "tls" => vec![Transport::Tls],
        "tls-acl" => vec![Transport::TlsAcl],
        other => anyhow::bail!("--transport `{other}`: expected all, tcp, tls or tls-acl"),
    };
    let mut rounds = Vec::new();
    for t in transports {
        let round = load_round(args, &gallery, t, &site)?;
        rounds.push((t, round));
    }
    if let Some(n) = args.gpu {
        // The CPU's plaintext round first (the device stays attached once copied).
        let cpu = match rounds.iter().find(|(t, _)| *t == Transport::Tcp) {
            Some((_, r)) => LoadRound { qps: r.qps, p99_ms: r.p99_ms },
            None => load_round(args, &gallery, Transport::Tcp, &site)?,
        };
        let gpu_round = gpu_load_round(args, &gallery, &site, n)?;
        println!(
            "top-k on the GPU / CPU (plaintext): queries/s {:.2}x, p99 {:.2}x",
            gpu_round.qps / cpu.qps,
            gpu_round.p99_ms / cpu.p99_ms
        );
    }
    if let Some((_, base)) = rounds.iter().find(|(t, _)| *t == Transport::Tcp) {
        for (t, r) in rounds.iter().filter(|(t, _)| *t != Transport::Tcp) {
            println!(
                "{} / plaintext: queries/s {:.2}x, p99 {:.2}x",
                t.label(),
                r.qps / base.qps,
                r.p99_ms / base.p99_ms
            );
        }
    }
    Ok(())
}

/// A plaintext load round with the GPU copy of the index attached (`serve --device cuda:N`).
#[cfg(feature = "gallery-cuda")]
fn gpu_load_round(
    args: &GalleryLoadArgs,
    gallery: &std::sync::Arc<reid_gallery::Gallery>,
    site: &reid_gallery::net::certs::SiteFiles,
    ordinal: usize,
) -> Result<LoadRound> {
    use anyhow::Context;
    use reid_gallery::gpu::{Gpu, GpuIndex};
    let gpu = std::sync::Arc::new(Gpu::open(ordinal).with_context(|| format!("--gpu {ordinal}"))?);
    let name = gallery
        .attach_device(|index| {
            GpuIndex::new(gpu, index).map(|g| Box::new(g) as Box<dyn reid_gallery::gallery::DeviceIndex>)
        })
        .with_context(|| format!("copying the index to --gpu {ordinal}"))?;
    println!("top-k on {name} (cuda:{ordinal}):");
    load_round(args, gallery, Transport::Tcp, site)
}

#[cfg(not(feature = "gallery-cuda"))]
fn gpu_load_round(
    _: &GalleryLoadArgs,
    _: &std::sync::Arc<reid_gallery::Gallery>,
    _: &reid_gallery::net::certs::SiteFiles,
    ordinal: usize,
) -> Result<LoadRound> {
    anyhow::bail!("--gpu {ordinal}: this reid was built without the `gallery-cuda` (or `cuda`) feature")
}

/// The link a load round runs over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Transport {
    /// Plain TCP.
    Tcp,
    /// Mutual TLS, no access control.
    Tls,
    /// Mutual TLS with the site's access-control rules by common name (`reid gallery certs`).
    TlsAcl,
}

impl Transport {
    fn label(self) -> &'static str {
        match self {
            Transport::Tcp => "plaintext tcp",
            Transport::Tls => "mutual TLS",
            Transport::TlsAcl => "mutual TLS + ACL",
        }
    }
}

/// What one load round measured.
struct LoadRound {
    qps: f64,
    p99_ms: f64,
}

/// One round of `args.seconds` of load from `args.clients` sessions over `transport`.
fn load_round(
    args: &GalleryLoadArgs,
    gallery: &std::sync::Arc<reid_gallery::Gallery>,
    transport: Transport,
    site: &reid_gallery::net::certs::SiteFiles,
) -> Result<LoadRound> {
    use reid_gallery::net::{GalleryClient, KeySpace, NetConfig, Server, ServerOptions};
    use reid_gallery::random::random_unit_rows;
    use std::time::{Duration, Instant};
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let proto = if transport == Transport::Tcp { "tcp" } else { "tls" };
    let endpoint = format!("{proto}/127.0.0.1:{port}");
    let keys = KeySpace::new("bench", "load")?;
    let mut net = NetConfig { listen: vec![endpoint.clone()], ..NetConfig::default() };
    match transport {
        Transport::Tcp => {}
        Transport::Tls => net.tls = Some(site.tls("gallery")),
        Transport::TlsAcl => net.config_file = Some(site.gallery_config.clone()),
    }
    let options = ServerOptions { query_workers: args.clients, ingest: false, ..ServerOptions::default() };
    let server = Server::start(gallery.clone(), &keys, &net, options)?;
    let queries = random_unit_rows(256, args.dim, 12);
    let bodies: Vec<Vec<u8>> = queries
        .chunks_exact(args.dim)
        .map(|q| serde_json::to_vec(&serde_json::json!({ "embedding": q })).unwrap_or_default())
        .collect();
    let clients: Vec<GalleryClient> = (0..args.clients)
        .map(|_| {
            let mut net = NetConfig { connect: vec![endpoint.clone()], ..NetConfig::default() };
            if transport != Transport::Tcp {
                net.tls = Some(site.tls("bench"));
            }
            GalleryClient::connect(keys.clone(), &net, Duration::from_secs(10))
        })
        .collect::<Result<_, _>>()?;
    for c in &clients {
        let mut tries = 0;
        while c.stats().is_err() {
            tries += 1;
            anyhow::ensure!(tries < 200, "the server did not answer");
            std::thread::sleep(Duration::from_millis(25));
        }
    }
    let params = format!("k={}", args.k);
    let rss_start = rss_mib();
    let until = Instant::now() + Duration::from_secs_f64(args.seconds);
    let t0 = Instant::now();
    let mut latencies: Vec<f64> = std::thread::scope(|s| {
        let handles: Vec<_> = clients
            .iter()
            .enumerate()
            .map(|(ci, c)| {
                let (bodies, params) = (&bodies, &params);
                s.spawn(move || {
                    let mut lat = Vec::new();
                    let mut i = ci;
                    while Instant::now() < until {
                        let t = Instant::now();
                        if c.query(&bodies[i % bodies.len()], params, args.k).is_ok() {
                            lat.push(t.elapsed().as_secs_f64() * 1e3);
                        }
                        i += args.clients;
                    }
                    lat
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    });
    let wall = t0.elapsed().as_secs_f64();
    let rss_end = rss_mib();
    anyhow::ensure!(!latencies.is_empty(), "no query succeeded");
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies[((p * (latencies.len() - 1) as f64).round() as usize).min(latencies.len() - 1)];
    println!(
        "{}: {} clients over Zenoh (peer, loopback), {} x {} gallery (f32), top-{}, {:.0} s: {} queries, {:.1} queries/s; \
         latency p50 {:.2} ms, p99 {:.2} ms; process RSS {:.0} MiB at start of load, {:.0} MiB at end",
        transport.label(),
        args.clients,
        args.n,
        args.dim,
        args.k,
        wall,
        latencies.len(),
        latencies.len() as f64 / wall,
        pct(0.5),
        pct(0.99),
        rss_start,
        rss_end
    );
    drop(clients);
    server.stop();
    Ok(LoadRound { qps: latencies.len() as f64 / wall, p99_ms: pct(0.99) })
}
