//! `reid gallery serve | enroll | query | forget | stats | calibrate`: the matching service over Zenoh and its
//! command-line client; `console`: the web console's flags and search by image (`serve --http`).

mod console;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use reid_eval::distance::{dot, l2_normalize};
use reid_gallery::net::certs::{Role, SitePlan, make_site};
use reid_gallery::net::{GalleryClient, KeySpace, Mode, NetConfig, Server, ServerOptions, TlsFiles};
use reid_gallery::{Gallery, GalleryConfig, IndexSource, Precision};
use reid_runtime::dataset::parse_market_name;
use reid_runtime::embeddings::read_tao_json;
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// `reid gallery` subcommands.
#[derive(Subcommand, Debug)]
pub enum GalleryCommand {
    /// Run a gallery server: a durable store (redb) and an in-memory index answering on Zenoh
    /// (`<prefix>/gallery/<name>/{query,enroll,forget,stats}`), ingesting `<prefix>/embeddings/**`.
    #[command(after_help = "Peer mode on loopback by default (tcp/127.0.0.1:7447, multicast scouting off). \
Several servers with different --db files and the same --name are shards: `reid gallery query` merges their top-k. \
A Zenoh JSON5 file (--zenoh-config) carries access control and TLS; see deploy/zenoh/.\n\nExample:\n  \
reid gallery serve --db lobby.redb --dim 256 --threshold 0.55 --ttl 30d")]
    Serve(Box<ServeArgs>),
    /// Enrol embeddings: a TAO inference JSON (identity and camera from Market-1501 file names) or an enrol request.
    Enroll(EnrollArgs),
    /// Look up embeddings (TAO inference JSON or a query request); prints the best identity of each, and with
    /// Market-1501 names the share identified correctly.
    Query(QueryArgs),
    /// Forget an identity, or a time range (optionally one camera's), on every shard.
    Forget(ForgetArgs),
    /// Every shard's statistics.
    Stats(ClientArgs),
    /// Pick the open-set threshold that gives a target false-match rate on a labelled embedding set.
    Calibrate(CalibrateArgs),
    /// Make a site's certificate authority, the server's and clients' certificates, and a Zenoh config with mutual
    /// TLS and access control by certificate common name.
    #[command(after_help = "Roles: names given to --admins (default: names starting with `admin`) may enrol, \
forget, stream and look up; --cameras (default: names starting with `cam`) may stream and look up; every other \
client may look up and read statistics. Running again on the same folder keeps the CA and existing certificates \
and adds new clients. Private keys are written with mode 0600; keep ca.key off the cameras.\n\nExample:\n  \
reid gallery certs --out site --site lobby --clients cam1,cam2,admin --hosts gallery.lan,10.0.0.5")]
    Certs(CertsArgs),
}

/// Zenoh settings shared by server and client.
#[derive(Args, Debug, Clone)]
pub struct NetArgs {
    /// Key prefix.
    #[arg(long, default_value = "reid")]
    pub prefix: String,
    /// Gallery name (`<prefix>/gallery/<name>/...`).
    #[arg(long, default_value = "main")]
    pub name: String,
    /// Zenoh mode: peer or client (through routers).
    #[arg(long, default_value = "peer", value_parser = |s: &str| s.parse::<Mode>())]
    pub mode: Mode,
    /// Endpoints to listen on (server default tcp/127.0.0.1:7447; client default none).
    #[arg(long, value_delimiter = ',')]
    pub listen: Vec<String>,
    /// Endpoints to connect to (client default tcp/127.0.0.1:7447).
    #[arg(long, value_delimiter = ',')]
    pub connect: Vec<String>,
    /// A Zenoh JSON5 config file (access control, TLS, ...), applied before the flags above.
    #[arg(long, value_name = "FILE")]
    pub zenoh_config: Option<PathBuf>,
    /// Mutual TLS: the site CA certificate (PEM); peers must hold a certificate it signed (`reid gallery certs`).
    /// With the three --tls-* files the default endpoint is tls/127.0.0.1:7447 and plaintext endpoints are refused.
    #[arg(long, value_name = "PEM", requires_all = ["tls_cert", "tls_key"])]
    pub tls_ca: Option<PathBuf>,
    /// Mutual TLS: this end's certificate (PEM); its common name is its identity in the access-control rules.
    #[arg(long, value_name = "PEM", requires_all = ["tls_ca", "tls_key"])]
    pub tls_cert: Option<PathBuf>,
    /// Mutual TLS: this end's private key (PEM).
    #[arg(long, value_name = "PEM", requires_all = ["tls_ca", "tls_cert"])]
    pub tls_key: Option<PathBuf>,
}

impl NetArgs {
    fn keys(&self) -> Result<KeySpace> {
        Ok(KeySpace::new(&self.prefix, &self.name)?)
    }

    fn net(&self, server: bool) -> NetConfig {
        let mut net = if server { NetConfig::server_default() } else { NetConfig::client_default() };
        net.mode = self.mode;
        if !self.listen.is_empty() || (server && self.zenoh_config.is_some()) {
            net.listen = self.listen.clone();
        }
        if !server && !self.listen.is_empty() && self.connect.is_empty() {
            net.connect.clear();
        }
        if !self.connect.is_empty() || self.zenoh_config.is_some() {
            net.connect = self.connect.clone();
        }
        net.config_file = self.zenoh_config.clone();
        match (&self.tls_ca, &self.tls_cert, &self.tls_key) {
            (Some(ca), Some(cert), Some(key)) => {
                net.with_tls(TlsFiles { ca: ca.clone(), cert: cert.clone(), key: key.clone() })
            }
            _ => net,
        }
    }
}

/// Arguments of `reid gallery serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// The store (a redb file; created when missing).
    #[arg(long)]
    pub db: PathBuf,
    /// Embedding dimension (required for a new store; checked against an existing one).
    #[arg(long)]
    pub dim: Option<usize>,
    /// In-memory precision: f32, f16 (half the memory, scores within ~1e-3), or int8 (a quarter of f32's memory:
    /// queries scan int8 codes, then the best candidates are re-scored exactly against the store's f32 vectors).
    #[arg(long, default_value = "f32")]
    pub precision: String,
    /// Search index: exact (scan), hnsw (approximate graph, f32/f16 only; rebuilt from the store at start), or auto
    /// (exact below 50,000 embeddings, hnsw from there on; int8 stays exact).
    #[arg(long, default_value = "auto")]
    pub index: String,
    /// HNSW links per node (2x on the bottom layer; FAISS's M).
    #[arg(long, default_value_t = reid_gallery::hnsw::DEFAULT_M)]
    pub hnsw_m: usize,
    /// HNSW construction search width (efConstruction).
    #[arg(long, default_value_t = reid_gallery::hnsw::DEFAULT_EF_CONSTRUCTION)]
    pub hnsw_ef_construction: usize,
    /// HNSW query search width (efSearch; at least k is used): higher finds more of the exact top-k, slower.
    #[arg(long, default_value_t = reid_gallery::hnsw::DEFAULT_EF_SEARCH)]
    pub hnsw_ef_search: usize,
    /// Search threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Open-set threshold on the cosine score (`reid gallery calibrate` picks one).
    #[arg(long, default_value_t = 0.5)]
    pub threshold: f32,
    /// Retention: delete embeddings older than this (`90s`, `12h`, `30d`).
    #[arg(long, value_parser = parse_duration)]
    pub ttl: Option<Duration>,
    /// Threads answering look-ups.
    #[arg(long, default_value_t = 4)]
    pub workers: usize,
    /// Do not subscribe to streamed embeddings.
    #[arg(long)]
    pub no_ingest: bool,
    /// Identify streamed embeddings without keeping them.
    #[arg(long)]
    pub no_store_sightings: bool,
    /// Where re-ranking's all-pairs pass runs: `cpu`, or `cuda:N` (a build with feature `cuda` and an NVIDIA GPU).
    #[arg(long, default_value = "cpu")]
    pub rerank_device: String,
    /// Where top-k runs: `cpu`, or `cuda:N` (exact top-k on a GPU copy of the index kept in step with every enrol,
    /// sighting and forget; same answers as the CPU; k above 64 and failures answer on the CPU). A build without
    /// the `gallery-cuda` feature, or a machine without the GPU or its libraries, warns and serves on the CPU.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Do not keep an index snapshot (`<db>.index`): every start rebuilds the index from the store.
    #[arg(long)]
    pub no_snapshot: bool,
    /// How often the index snapshot is rewritten when the store changed (`10m`, `1h`); it is also written after
    /// a start that rebuilt the index, after every forget, and on SIGTERM/SIGINT before exiting.
    #[arg(long, value_parser = parse_duration, default_value = "10m")]
    pub snapshot_every: Duration,
    /// Query budget: most re-ranking pairs per request, the sum of M² over its vectors (gallery/README.md).
    #[arg(long, default_value_t = reid_gallery::budget::QueryBudget::default().max_rerank_pairs)]
    pub max_rerank_pairs: u64,
    /// Query budget: most matches per request (query vectors x k).
    #[arg(long, default_value_t = reid_gallery::budget::QueryBudget::default().max_matches)]
    pub max_matches: u64,
    /// Heavy requests (re-ranked, or over 16 vectors) that may wait; more are answered busy.
    #[arg(long, default_value_t = 4)]
    pub heavy_queue: usize,
    /// Serve the web console and its JSON API on this address (e.g. 127.0.0.1:8080; off by default). A
    /// non-loopback address needs --http-token-file.
    #[arg(long, value_name = "ADDR")]
    pub http: Option<std::net::SocketAddr>,
    /// The console's operator token (admin actions: enrol, forget, label): read from FILE, or written there
    /// (mode 0600) when missing. Without it a token is generated for this run and printed.
    #[arg(long, value_name = "FILE", requires = "http")]
    pub http_token_file: Option<PathBuf>,
    /// A console without admin actions (no token at all).
    #[arg(long, requires = "http")]
    pub http_read_only: bool,
    /// Largest HTTP request body (an uploaded crop, an enrol request), in bytes.
    #[arg(long, default_value_t = reid_gallery::console::DEFAULT_BODY_LIMIT, requires = "http")]
    pub http_body_limit: usize,
    /// An ONNX model (`reid export`) that embeds crops uploaded to the console's Search page.
    #[arg(long, value_name = "ONNX", requires = "http")]
    pub model: Option<PathBuf>,
    /// Engine for --model: auto (ONNX Runtime CPU when its library is found, else tract), tract, ort-cpu, cuda,
    /// tensorrt.
    #[arg(long, default_value = "auto", value_parser = |s: &str| s.parse::<reid_runtime::engine::EngineKind>())]
    pub model_engine: reid_runtime::engine::EngineKind,
    /// The open-set threshold curve the console's Calibration page plots (`reid gallery calibrate --curve FILE`).
    #[arg(long, value_name = "JSON", requires = "http")]
    pub calibration: Option<PathBuf>,
    #[command(flatten)]
    pub net: NetArgs,
}

/// Client settings.
#[derive(Args, Debug)]
pub struct ClientArgs {
    /// Seconds to wait for the servers' answers.
    #[arg(long, default_value_t = 10.0)]
    pub timeout: f64,
    #[command(flatten)]
    pub net: NetArgs,
}

impl ClientArgs {
    fn connect(&self) -> Result<GalleryClient> {
        if !(self.timeout > 0.0 && self.timeout.is_finite()) {
            bail!("--timeout must be a positive number of seconds");
        }
        Ok(GalleryClient::connect(self.net.keys()?, &self.net.net(false), Duration::from_secs_f64(self.timeout))?)
    }
}

/// Arguments of `reid gallery enroll`.
#[derive(Args, Debug)]
pub struct EnrollArgs {
    /// TAO inference JSON (`[{"img_path", "embedding"}]`); Market-1501 names give identity `pid` and camera `cN`.
    #[arg(long, conflicts_with = "request")]
    pub tao: Option<PathBuf>,
    /// An enrol request body (JSON) to send as is.
    #[arg(long)]
    pub request: Option<PathBuf>,
    /// Only items whose Market-1501 camera is this (e.g. `1`).
    #[arg(long)]
    pub camera: Option<String>,
    /// Items per request.
    #[arg(long, default_value_t = 1000)]
    pub chunk: usize,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Arguments of `reid gallery query`.
#[derive(Args, Debug)]
pub struct QueryArgs {
    /// TAO inference JSON of the query images.
    #[arg(long, conflicts_with = "request")]
    pub tao: Option<PathBuf>,
    /// A query request body (JSON) to send as is (prints the reply).
    #[arg(long)]
    pub request: Option<PathBuf>,
    /// Only query items whose Market-1501 camera is this.
    #[arg(long)]
    pub camera: Option<String>,
    /// Matches per query.
    #[arg(long, default_value_t = 10)]
    pub k: usize,
    /// k-reciprocal re-ranking of the candidates.
    #[arg(long)]
    pub rerank: bool,
    /// Open-set threshold (default: the server's).
    #[arg(long)]
    pub threshold: Option<f32>,
    /// Queries per request.
    #[arg(long, default_value_t = 64)]
    pub chunk: usize,
    /// Write every reply (JSON lines) here.
    #[arg(long)]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Arguments of `reid gallery forget`.
#[derive(Args, Debug)]
pub struct ForgetArgs {
    /// Forget every embedding of this identity (labelled, and streamed sightings identified as it).
    #[arg(long, conflicts_with_all = ["from_ms", "to_ms", "all"])]
    pub identity: Option<String>,
    /// Forget every time (optionally only --camera's); a range covering all time is refused without it.
    #[arg(long, conflicts_with_all = ["from_ms", "to_ms"])]
    pub all: bool,
    /// Start of the time range (ms since the epoch, inclusive).
    #[arg(long)]
    pub from_ms: Option<i64>,
    /// End of the time range (inclusive).
    #[arg(long)]
    pub to_ms: Option<i64>,
    /// Only this camera's embeddings in the range.
    #[arg(long)]
    pub camera: Option<String>,
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Arguments of `reid gallery calibrate`.
#[derive(Args, Debug)]
pub struct CalibrateArgs {
    /// Labelled embeddings: TAO inference JSON with Market-1501 names (identity = pid).
    #[arg(long)]
    pub tao: PathBuf,
    /// Target false-match rate (share of different-identity pairs scoring at or above the threshold).
    #[arg(long, default_value_t = 0.01)]
    pub target_fmr: f64,
    /// Also write the threshold curve (false- and true-match rate at 200 thresholds) as JSON, for
    /// `reid gallery serve --http ... --calibration FILE`.
    #[arg(long, value_name = "JSON")]
    pub curve: Option<PathBuf>,
}

/// Arguments of `reid gallery certs`.
#[derive(Args, Debug)]
pub struct CertsArgs {
    /// Folder for the site's files (created; existing certificates are kept).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Site name (the CA's organisation).
    #[arg(long, default_value = "site")]
    pub site: String,
    /// Clients to certify (their common names, e.g. cam1,cam2,admin).
    #[arg(long, value_delimiter = ',')]
    pub clients: Vec<String>,
    /// Clients that may enrol and forget (default: the names starting with `admin`).
    #[arg(long, value_delimiter = ',')]
    pub admins: Vec<String>,
    /// Clients that may stream embeddings (default: the names starting with `cam`).
    #[arg(long, value_delimiter = ',')]
    pub cameras: Vec<String>,
    /// Host names and IP addresses the clients reach the server by (localhost, 127.0.0.1 and ::1 are always added).
    #[arg(long, value_delimiter = ',')]
    pub hosts: Vec<String>,
    /// The server's common name (and file names).
    #[arg(long, default_value = "gallery")]
    pub server_name: String,
    /// Validity of the new certificates in days (the CA: at least ten years).
    #[arg(long, default_value_t = 365)]
    pub days: u32,
    /// Key prefix the access-control rules cover.
    #[arg(long, default_value = "reid")]
    pub prefix: String,
}

/// `90s`, `15m`, `12h`, `30d`, or plain seconds.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(s.len()));
    let v: f64 = num.parse().map_err(|_| format!("`{s}` is not a duration like 90s, 15m, 12h or 30d"))?;
    let secs = match unit {
        "" | "s" => v,
        "m" => v * 60.0,
        "h" => v * 3600.0,
        "d" => v * 86400.0,
        _ => return Err(format!("`{s}`: unknown unit `{unit}` (s, m, h, d)")),
    };
    if !(secs > 0.0 && secs.is_finite()) {
        return Err(format!("`{s}` must be positive"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Runs `reid gallery ...`.
pub fn run(cmd: GalleryCommand) -> Result<()> {
    match cmd {
        GalleryCommand::Serve(a) => serve(*a),
        GalleryCommand::Enroll(a) => enroll(a),
        GalleryCommand::Query(a) => query(a),
        GalleryCommand::Forget(a) => forget(a),
        GalleryCommand::Stats(a) => stats(a),
        GalleryCommand::Calibrate(a) => calibrate(a),
        GalleryCommand::Certs(a) => certs(a),
    }
}

fn serve(args: ServeArgs) -> Result<()> {
    let precision = match args.precision.as_str() {
        "f32" => Precision::F32,
        "f16" => Precision::F16,
        "int8" => Precision::Int8,
        other => bail!("--precision `{other}`: expected f32, f16 or int8"),
    };
    if !(args.threshold.is_finite() && (-1.0..=1.0).contains(&args.threshold)) {
        bail!("--threshold {} is outside [-1, 1]", args.threshold);
    }
    let index: reid_gallery::index::IndexKind =
        args.index.parse().map_err(|e: String| anyhow::anyhow!("--index `{}`: {e}", args.index))?;
    let hnsw = reid_gallery::hnsw::HnswParams {
        m: args.hnsw_m,
        ef_construction: args.hnsw_ef_construction,
        ef_search: args.hnsw_ef_search,
        ..Default::default()
    };
    hnsw.check().map_err(|e| anyhow::anyhow!("--hnsw-*: {e}"))?;
    let config = GalleryConfig {
        dim: args.dim,
        precision,
        index,
        hnsw,
        threads: args.threads,
        threshold: args.threshold,
        ttl_ms: args.ttl.map(|d| d.as_millis() as i64),
        budget: reid_gallery::budget::QueryBudget {
            max_rerank_pairs: args.max_rerank_pairs,
            max_matches: args.max_matches,
            ..Default::default()
        },
        snapshot: !args.no_snapshot,
        ..GalleryConfig::default()
    };
    let started = Instant::now();
    let mut gallery = Gallery::open(&args.db, config).with_context(|| format!("opening {}", args.db.display()))?;
    if let Some(backend) = rerank_backend(&args.rerank_device)? {
        gallery.set_rerank_backend(backend);
    }
    let device = serve_device(&gallery, &args.device)?;
    let keys = args.net.keys()?;
    let net = args.net.net(true);
    let feed = reid_gallery::console::LiveFeed::new();
    let options = ServerOptions {
        query_workers: args.workers.max(1),
        ingest: !args.no_ingest,
        store_sightings: !args.no_store_sightings,
        heavy_queue: args.heavy_queue.max(1),
        on_identified: args.http.map(|_| feed.tap()),
        ..ServerOptions::default()
    };
    let n = gallery.len();
    let dim = gallery.dim();
    let searched = match gallery.stats()?.index.graph {
        Some(g) => format!("hnsw m={} ef_search={}", g.m, g.ef_search),
        None => "exact".to_owned(),
    };
    let gallery = std::sync::Arc::new(gallery);
    // Registered before serving, so a stop request from now on writes the snapshot first.
    let mut signals = signal_hook::iterator::Signals::new([signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT])
        .context("installing the SIGTERM/SIGINT handler")?;
    let console_options = match args.http {
        Some(addr) => Some(console::options(
            console::ConsoleFlags {
                addr,
                token_file: args.http_token_file.as_deref(),
                read_only: args.http_read_only,
                body_limit: args.http_body_limit,
                model: args.model.as_ref(),
                engine: args.model_engine,
                calibration: args.calibration.as_ref(),
                dim,
            },
            &mut std::io::stdout().lock(),
        )?),
        None => None,
    };
    let server = Server::start(gallery.clone(), &keys, &net, options)?;
    let console = match console_options {
        Some(o) => Some(reid_gallery::console::Console::start(gallery.clone(), feed, o)?),
        None => None,
    };
    let from = match gallery.opened_from() {
        IndexSource::Snapshot => format!("snapshot {}", gallery.snapshot_path().display()),
        IndexSource::Store { reason: Some(why) } => format!("{} (rebuilt: {why})", args.db.display()),
        IndexSource::Store { reason: None } => args.db.display().to_string(),
    };
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "gallery `{}`: {n} embeddings ({dim}-d, {precision}, {searched}, top-k on {device}) from {from} in {:.2} s; serving {} \
         on {} (zenoh id {})",
        keys.name,
        started.elapsed().as_secs_f64(),
        keys.query(),
        if net.listen.is_empty() { "the configured endpoints".to_owned() } else { net.listen.join(", ") },
        server.zid()
    )?;
    if let Some(c) = &console {
        writeln!(out, "console on http://{}/", c.addr())?;
    }
    writeln!(out, "ready")?;
    out.flush()?;
    drop(out);
    if !args.no_snapshot {
        let g = gallery.clone();
        let every = args.snapshot_every;
        std::thread::Builder::new()
            .name("gallery-snapshot".into())
            .spawn(move || {
                loop {
                    // The first pass writes at once after a rebuild (a no-op when the snapshot is current).
                    if let Err(e) = g.save_snapshot() {
                        tracing::warn!("{e}; the next start may rebuild the index from the store");
                    }
                    std::thread::sleep(every);
                }
            })
            .context("starting the snapshot thread")?;
    }
    // Every acknowledged enrolment is already committed: a stop loses nothing; the snapshot only saves time.
    if let Some(sig) = signals.forever().next() {
        if !args.no_snapshot {
            match gallery.save_snapshot() {
                Ok(Some(bytes)) => eprintln!("index snapshot written ({bytes} bytes)"),
                Ok(None) => {}
                Err(e) => eprintln!("warning: {e}"),
            }
        }
        eprintln!("stopped by signal {sig}");
    }
    drop(console);
    drop(server);
    Ok(())
}

/// Attaches the top-k device `--device` names; returns what answers top-k ("the CPU" or the GPU's name). A GPU
/// that cannot be used (no feature, no device, no library) is a warning, not an error: the CPU serves.
fn serve_device(gallery: &Gallery, device: &str) -> Result<String> {
    if device == "cpu" {
        return Ok("the CPU".into());
    }
    let Some(ordinal) = device.strip_prefix("cuda:").and_then(|n| n.parse::<usize>().ok()) else {
        bail!("--device `{device}`: expected cpu or cuda:N");
    };
    #[cfg(feature = "gallery-cuda")]
    {
        use reid_gallery::gpu::{Gpu, GpuIndex};
        let attached = Gpu::open(ordinal).map(std::sync::Arc::new).and_then(|gpu| {
            gallery.attach_device(|index| {
                GpuIndex::new(gpu, index).map(|g| Box::new(g) as Box<dyn reid_gallery::gallery::DeviceIndex>)
            })
        });
        match attached {
            Ok(name) => Ok(format!("{name} (cuda:{ordinal})")),
            Err(e) => {
                tracing::warn!("--device cuda:{ordinal}: {e}; top-k runs on the CPU");
                eprintln!("warning: --device cuda:{ordinal}: {e}; top-k runs on the CPU");
                Ok("the CPU".into())
            }
        }
    }
    #[cfg(not(feature = "gallery-cuda"))]
    {
        let _ = gallery;
        let msg = format!(
            "--device cuda:{ordinal}: this reid was built without the `gallery-cuda` (or `cuda`) feature; top-k runs \
             on the CPU (cargo build -p reid-cli --features gallery-cuda)"
        );
        tracing::warn!("{msg}");
        eprintln!("warning: {msg}");
        Ok("the CPU".into())
    }
}

/// The re-ranking backend `--rerank-device` names (`None`: the CPU default).
fn rerank_backend(device: &str) -> Result<Option<std::sync::Arc<dyn reid_eval::rerank::AllPairs + Send + Sync>>> {
    if device == "cpu" {
        return Ok(None);
    }
    let Some(ordinal) = device.strip_prefix("cuda:").and_then(|n| n.parse::<usize>().ok()) else {
        bail!("--rerank-device `{device}`: expected cpu or cuda:N");
    };
    #[cfg(feature = "gallery-cuda")]
    {
        let gpu = reid_gallery::gpu::Gpu::open(ordinal).with_context(|| format!("--rerank-device {device}"))?;
        tracing::info!(gpu = gpu.name(), "re-ranking on the GPU");
        Ok(Some(std::sync::Arc::new(reid_gallery::gpu::GpuAllPairs::new(std::sync::Arc::new(gpu)))))
    }
    #[cfg(not(feature = "gallery-cuda"))]
    {
        bail!("--rerank-device cuda:{ordinal}: this reid was built without the `gallery-cuda` (or `cuda`) feature")
    }
}

/// (identity, camera) from a Market-1501 file name.
fn market_labels(path: &str) -> Option<(String, String)> {
    let name = Path::new(path).file_name()?.to_str()?;
    let m = parse_market_name(name).ok()?;
    Some((m.pid.to_string(), m.camera.to_string()))
}

fn enroll(args: EnrollArgs) -> Result<()> {
    let client = args.client.connect()?;
    let started = Instant::now();
    if let Some(path) = &args.request {
        let body = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let reply = client.enroll(&body)?;
        println!("enrolled {} embeddings", reply.ids.len());
        return Ok(());
    }
    let Some(tao) = &args.tao else { bail!("give --tao FILE or --request FILE") };
    let set = read_tao_json(tao)?;
    let mut items = Vec::new();
    for (i, path) in set.paths.iter().enumerate() {
        let labels = market_labels(path);
        if let Some(cam) = &args.camera
            && labels.as_ref().map(|l| &l.1) != Some(cam)
        {
            continue;
        }
        let mut item = json!({ "embedding": set.embeddings.row(i), "source": path });
        if let Some((pid, cam)) = labels {
            item["identity"] = json!(pid);
            item["camera"] = json!(cam);
        }
        items.push(item);
    }
    if items.is_empty() {
        bail!("{}: no items to enrol (camera filter {:?})", tao.display(), args.camera);
    }
    let mut ids = 0;
    for chunk in items.chunks(args.chunk.max(1)) {
        let body = serde_json::to_vec(&json!({ "items": chunk }))?;
        ids += client.enroll(&body)?.ids.len();
    }
    println!("enrolled {ids} embeddings from {} in {:.2} s", tao.display(), started.elapsed().as_secs_f64());
    Ok(())
}

fn query(args: QueryArgs) -> Result<()> {
    let client = args.client.connect()?;
    let mut params = format!("k={};rerank={}", args.k, args.rerank);
    if let Some(t) = args.threshold {
        params.push_str(&format!(";threshold={t}"));
    }
    if let Some(path) = &args.request {
        let body = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let (reply, shards) = client.query(&body, "", args.k)?;
        println!("{}", serde_json::to_string_pretty(&json!({ "shards": shards, "results": reply.results }))?);
        return Ok(());
    }
    let Some(tao) = &args.tao else { bail!("give --tao FILE or --request FILE") };
    let set = read_tao_json(tao)?;
    let rows: Vec<usize> = (0..set.paths.len())
        .filter(|&i| args.camera.as_ref().is_none_or(|c| market_labels(&set.paths[i]).is_some_and(|l| &l.1 == c)))
        .collect();
    if rows.is_empty() {
        bail!("{}: no query items (camera filter {:?})", tao.display(), args.camera);
    }
    let mut output = match &args.output {
        Some(p) => Some(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => None,
    };
    let (mut labelled, mut correct, mut unknown, mut shards_seen) = (0usize, 0usize, 0usize, 0usize);
    let started = Instant::now();
    for chunk in rows.chunks(args.chunk.max(1)) {
        let vectors: Vec<&[f32]> = chunk.iter().map(|&i| set.embeddings.row(i)).collect();
        let body = serde_json::to_vec(&json!({ "embeddings": vectors }))?;
        let (reply, shards) = client.query(&body, &params, args.k)?;
        shards_seen = shards_seen.max(shards);
        for (&i, result) in chunk.iter().zip(&reply.results) {
            if result.unknown {
                unknown += 1;
            }
            if let Some((pid, _)) = market_labels(&set.paths[i]) {
                labelled += 1;
                if !result.unknown && result.best_identity.as_deref() == Some(pid.as_str()) {
                    correct += 1;
                }
            }
            if let Some(w) = output.as_mut() {
                serde_json::to_writer(&mut *w, &json!({ "img_path": set.paths[i], "result": result }))?;
                writeln!(w)?;
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{} queries answered by {shards_seen} shard(s) in {secs:.2} s ({:.0} queries/s); unknown: {unknown}",
        rows.len(),
        rows.len() as f64 / secs.max(1e-9)
    );
    if labelled > 0 {
        println!(
            "identified correctly: {correct} / {labelled} = {:.1}% (identity from the Market-1501 names)",
            100.0 * correct as f64 / labelled as f64
        );
    }
    Ok(())
}

fn forget(args: ForgetArgs) -> Result<()> {
    let client = args.client.connect()?;
    let body = match (&args.identity, args.from_ms, args.to_ms) {
        (Some(_), _, _) if args.camera.is_some() => bail!("--camera applies to a time range, not to --identity"),
        (Some(who), None, None) => json!({ "identity": who }),
        (None, None, None) if args.all => json!({ "all": true, "camera": args.camera }),
        (None, None, None) => bail!("give --identity, --from-ms and/or --to-ms, or --all"),
        (None, from, to) => json!({ "from_ms": from, "to_ms": to, "camera": args.camera }),
        _ => unreachable!("clap keeps --identity apart from the range"),
    };
    let removed = client.forget(&serde_json::to_vec(&body)?)?;
    println!("removed {removed} embeddings");
    Ok(())
}

fn stats(args: ClientArgs) -> Result<()> {
    let client = args.connect()?;
    for s in client.stats()? {
        println!("{}", serde_json::to_string(&s)?);
    }
    Ok(())
}

fn calibrate(args: CalibrateArgs) -> Result<()> {
    let set = read_tao_json(&args.tao)?;
    let labels: Vec<Option<String>> = set.paths.iter().map(|p| market_labels(p).map(|l| l.0)).collect();
    let rows: Vec<usize> = (0..labels.len()).filter(|&i| labels[i].is_some()).collect();
    if rows.len() < 2 {
        bail!("{}: fewer than two items with Market-1501 names (identity labels)", args.tao.display());
    }
    let vectors: Vec<Vec<f32>> = rows
        .iter()
        .map(|&i| {
            let mut v = set.embeddings.row(i).to_vec();
            l2_normalize(&mut v);
            v
        })
        .collect();
    let (mut genuine, mut impostor) = (Vec::new(), Vec::new());
    for a in 0..rows.len() {
        for b in a + 1..rows.len() {
            let s = dot(&vectors[a], &vectors[b]);
            if labels[rows[a]] == labels[rows[b]] { genuine.push(s) } else { impostor.push(s) }
        }
    }
    let c = reid_gallery::openset::calibrate(&genuine, &impostor, args.target_fmr)?;
    println!(
        "threshold {:.4}: false-match rate {:.4} (target {}), false-non-match rate {:.4}, over {} genuine and {} impostor pairs",
        c.threshold, c.false_match_rate, args.target_fmr, c.false_non_match_rate, c.genuine, c.impostor
    );
    println!("use: reid gallery serve ... --threshold {:.4}", c.threshold);
    if let Some(path) = &args.curve {
        let curve = reid_gallery::openset::CalibrationCurve {
            target_fmr: args.target_fmr,
            chosen: c,
            points: reid_gallery::openset::curve(&genuine, &impostor, 200),
        };
        std::fs::write(path, serde_json::to_vec_pretty(&curve)?)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("threshold curve written to {}", path.display());
    }
    Ok(())
}

/// The role of client `name`: named in --admins or --cameras, else by its prefix (`admin*`, `cam*`), else reader.
fn role_of(name: &str, args: &CertsArgs) -> Role {
    if args.admins.iter().any(|n| n == name) {
        Role::Admin
    } else if args.cameras.iter().any(|n| n == name) {
        Role::Camera
    } else if args.admins.is_empty() && name.starts_with("admin") {
        Role::Admin
    } else if args.cameras.is_empty() && name.starts_with("cam") {
        Role::Camera
    } else {
        Role::Reader
    }
}

fn certs(args: CertsArgs) -> Result<()> {
    let mut names: Vec<String> = Vec::new();
    for n in args.clients.iter().chain(&args.admins).chain(&args.cameras) {
        let n = n.trim();
        if !n.is_empty() && !names.iter().any(|m| m == n) {
            names.push(n.to_owned());
        }
    }
    let plan = SitePlan {
        site: args.site.clone(),
        server: args.server_name.clone(),
        hosts: args.hosts.iter().map(|h| h.trim().to_owned()).filter(|h| !h.is_empty()).collect(),
        clients: names.iter().map(|n| (n.clone(), role_of(n, &args))).collect(),
        days: args.days,
        prefix: args.prefix.clone(),
    };
    let site = make_site(&args.out, &plan, reid_gallery::net::tls::now_s())
        .with_context(|| format!("making the site certificates in {}", args.out.display()))?;
    let mut out = std::io::stdout().lock();
    for p in &site.written {
        writeln!(out, "wrote {}", p.display())?;
    }
    for p in &site.kept {
        writeln!(out, "kept  {}", p.display())?;
    }
    for (name, role) in &plan.clients {
        writeln!(out, "client {name}: {}", format!("{role:?}").to_lowercase())?;
    }
    let d = site.dir.display();
    let server = &args.server_name;
    let host = plan.hosts.first().map(String::as_str).unwrap_or("127.0.0.1");
    writeln!(out, "\nserve (TLS files and access rules from the config):")?;
    writeln!(
        out,
        "  reid gallery serve --db gallery.redb --dim 256 --zenoh-config {d}/gallery.json5 --listen tls/0.0.0.0:7447"
    )?;
    if let Some((client, _)) = plan.clients.first() {
        writeln!(out, "a client (here `{client}`; its common name is its identity):")?;
        writeln!(
            out,
            "  reid gallery stats --connect tls/{host}:7447 --tls-ca {d}/ca.pem --tls-cert {d}/{client}.pem --tls-key {d}/{client}.key"
        )?;
    }
    writeln!(out, "(server certificate `{server}` names: {})", plan.server_names().join(", "))?;
    Ok(())
}
