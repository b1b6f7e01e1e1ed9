//! A plain query's latency while a hostile request runs (issue 17): a gallery server and clients in this process
//! over Zenoh on loopback, three phases of `SECONDS` each, plain top-10 queries from `CLIENTS` clients:
//! 1. alone;
//! 2. while the largest re-ranked request the default budget admits (16 vectors, k = 10, 50 candidates) is sent
//!    back to back;
//! 3. while one hostile request (16 vectors, k = 1000, re-ranked) is sent (refused, or run: last, so that a
//!    build without a budget, still re-ranking it, does not slow the other phases).
//!
//! `cargo run -p reid-gallery --features net --example hostile_query [N] [SECONDS] [CLIENTS]` (defaults 20000, 15,
//! 2; dimension 256). Uses only APIs that predate the query budget, so the same file measures an older build.
//! Exits without waiting for a hostile request still running.

use reid_gallery::net::{GalleryClient, KeySpace, NetConfig, Server, ServerOptions};
use reid_gallery::random::random_unit_rows;
use reid_gallery::{Gallery, GalleryConfig, Metadata, NewEmbedding};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const DIM: usize = 256;

fn arg(i: usize, default: f64) -> f64 {
    std::env::args().nth(i).and_then(|a| a.parse().ok()).unwrap_or(default)
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((p * (sorted.len() - 1) as f64).round() as usize).min(sorted.len() - 1)]
}

/// Plain queries from every client for `seconds`: sorted latencies (ms) and the number of failures.
fn plain_load(clients: &[GalleryClient], bodies: &[Vec<u8>], seconds: f64) -> (Vec<f64>, usize) {
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    let (mut lat, mut failed) = (Vec::new(), 0);
    std::thread::scope(|s| {
        let handles: Vec<_> = clients
            .iter()
            .enumerate()
            .map(|(ci, c)| {
                s.spawn(move || {
                    let (mut lat, mut failed, mut i) = (Vec::new(), 0, ci);
                    while Instant::now() < until {
                        let t = Instant::now();
                        match c.query(&bodies[i % bodies.len()], "k=10", 10) {
                            Ok(_) => lat.push(t.elapsed().as_secs_f64() * 1e3),
                            Err(_) => failed += 1,
                        }
                        i += clients.len();
                    }
                    (lat, failed)
                })
            })
            .collect();
        for h in handles {
            let (l, f) = h.join().unwrap();
            lat.extend(l);
            failed += f;
        }
    });
    lat.sort_by(f64::total_cmp);
    (lat, failed)
}

fn report(phase: &str, lat: &[f64], failed: usize, seconds: f64) {
    println!(
        "{phase}: {} plain queries ({:.1}/s), {failed} failed; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        lat.len(),
        lat.len() as f64 / seconds,
        pct(lat, 0.5),
        pct(lat, 0.99),
        lat.last().copied().unwrap_or(f64::NAN)
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (n, seconds, n_clients) = (arg(1, 20_000.0) as usize, arg(2, 15.0), arg(3, 2.0) as usize);
    let dir = tempfile::tempdir()?;
    let config = GalleryConfig { dim: Some(DIM), ..Default::default() };
    let gallery = Gallery::open(dir.path().join("g.redb"), config)?;
    let data = random_unit_rows(n, DIM, 11);
    for (c, chunk) in data.chunks(DIM * 10_000).enumerate() {
        let items = chunk
            .chunks_exact(DIM)
            .enumerate()
            .map(|(i, v)| NewEmbedding {
                vector: v.to_vec(),
                meta: Metadata { identity: Some(format!("p{}", (c * 10_000 + i) / 4)), ..Default::default() },
            })
            .collect();
        gallery.enroll(items)?;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let endpoint = format!("tcp/127.0.0.1:{port}");
    let keys = KeySpace::new("bench", "hostile")?;
    let net = NetConfig { listen: vec![endpoint.clone()], ..NetConfig::default() };
    let options = ServerOptions { ingest: false, ..ServerOptions::default() };
    let server = Server::start(Arc::new(gallery), &keys, &net, options)?;
    let connect = || {
        let net = NetConfig { connect: vec![endpoint.clone()], ..NetConfig::default() };
        let c = GalleryClient::connect(keys.clone(), &net, Duration::from_secs(600))?;
        for _ in 0..200 {
            if c.stats().is_ok() {
                return Ok(c);
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        Err::<_, Box<dyn std::error::Error>>("the server did not answer".into())
    };
    let clients: Vec<GalleryClient> = (0..n_clients).map(|_| connect()).collect::<Result<_, _>>()?;
    let queries = random_unit_rows(256, DIM, 12);
    let bodies: Vec<Vec<u8>> = queries
        .chunks_exact(DIM)
        .map(|q| serde_json::to_vec(&serde_json::json!({ "embedding": q })).unwrap())
        .collect();
    let sixteen: Vec<Vec<f32>> = random_unit_rows(16, DIM, 13).chunks_exact(DIM).map(<[f32]>::to_vec).collect();
    println!("gallery {n} x {DIM}, {n_clients} plain clients, {seconds} s per phase");

    let (lat, failed) = plain_load(&clients, &bodies, seconds);
    report("1 alone", &lat, failed, seconds);

    let admitted = serde_json::to_vec(&serde_json::json!({ "embeddings": sixteen, "k": 10, "rerank": true }))?;
    let stop = Arc::new(AtomicBool::new(false));
    let (done, total_ms) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let heavy_client = connect()?;
    {
        let (stop, done, total_ms) = (stop.clone(), done.clone(), total_ms.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                if heavy_client.query(&admitted, "", 10).is_ok() {
                    done.fetch_add(1, Ordering::Relaxed);
                    total_ms.fetch_add(t.elapsed().as_millis() as u64, Ordering::Relaxed);
                }
            }
        });
    }
    std::thread::sleep(Duration::from_millis(200));
    let (lat, failed) = plain_load(&clients, &bodies, seconds);
    stop.store(true, Ordering::Relaxed);
    report("2 during back-to-back admitted rerank (16 x k=10)", &lat, failed, seconds);
    let d = done.load(Ordering::Relaxed);
    println!(
        "  admitted re-ranked requests answered: {d}, mean {:.0} ms",
        total_ms.load(Ordering::Relaxed) as f64 / d.max(1) as f64
    );
    std::thread::sleep(Duration::from_millis(500)); // let the last admitted request finish

    let hostile = serde_json::to_vec(&serde_json::json!({ "embeddings": sixteen, "k": 1000, "rerank": true }))?;
    let hostile_client = connect()?;
    let outcome = Arc::new(std::sync::Mutex::new(String::from("still running at the end of the phase")));
    {
        let outcome = outcome.clone();
        std::thread::spawn(move || {
            let t = Instant::now();
            let r = hostile_client.query(&hostile, "", 1000);
            let ms = t.elapsed().as_secs_f64() * 1e3;
            *outcome.lock().unwrap() = match r {
                Ok(_) => format!("answered after {ms:.0} ms"),
                Err(e) => format!("refused after {ms:.0} ms: {e}"),
            };
        });
    }
    std::thread::sleep(Duration::from_millis(200));
    let (lat, failed) = plain_load(&clients, &bodies, seconds);
    report("3 during hostile (16 x k=1000 rerank)", &lat, failed, seconds);
    println!("  hostile request: {}", outcome.lock().unwrap());

    std::mem::forget(server); // do not wait for a hostile request still running
    std::process::exit(0);
}
