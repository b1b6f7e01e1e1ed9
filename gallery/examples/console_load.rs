//! Load on the web console's Live page (issue 20): `VIEWERS` server-sent-event clients on `/api/live` while
//! `CAMERAS` cameras publish `FPS` frames per second of `DETECTIONS` detections each over Zenoh, for `SECONDS`.
//! The gallery server and console run in this process; publishers, a Zenoh subscriber counting the published
//! identifications, and the viewers run in a child process (this program with `--load`), so the CPU and memory
//! printed are the server's alone.
//!
//! `cargo run -p reid-gallery --features console --example console_load [SECONDS] [VIEWERS] [CAMERAS] [FPS]
//! [DETECTIONS] [drop|block]` (defaults 20, 50, 8, 10, 4, drop; 1,000 enrolled identities, 256-d). `drop`: the
//! cameras publish with Zenoh's default congestion control, as `reidpublish` does (a frame is dropped at the
//! publisher when its queue stays full for a millisecond); `block`: they wait instead, so every frame reaches the
//! server and any loss is the server's or the subscriber's. Prints the server's CPU (user +
//! system time over wall time, from /proc/self/stat at 100 ticks/s), its peak and final RSS, the server's frame
//! counters, what the Zenoh subscriber received (dropped identifications = published - received), and per viewer
//! the identified events received, skips (lagged) and publish-to-viewer latency.

use reid_gallery::console::{Console, ConsoleOptions, LiveFeed};
use reid_gallery::net::ingest::{Detection, FrameEmbeddings};
use reid_gallery::net::{KeySpace, NetConfig, Server, ServerOptions, ZenohConfig};
use reid_gallery::random::random_unit_rows;
use reid_gallery::{Gallery, GalleryConfig, Metadata, NewEmbedding};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zenoh::Wait;

const DIM: usize = 256;
const IDENTITIES: usize = 1000;
const SEED: u64 = 20;

fn arg(args: &[String], i: usize, default: u64) -> u64 {
    args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default)
}

/// (user + system CPU seconds, at 100 ticks per second) of this process.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let t = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (t(11) + t(12)) / 100.0
}

/// VmRSS and VmHWM in MiB.
fn memory_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = |key: &str| {
        status.lines().find_map(|l| l.strip_prefix(key)).and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
    };
    (kb("VmRSS:").unwrap_or(0.0) / 1024.0, kb("VmHWM:").unwrap_or(0.0) / 1024.0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--load") {
        load(&args[2..]);
        return;
    }
    let seconds = arg(&args, 1, 20);
    let viewers = arg(&args, 2, 50);
    let cameras = arg(&args, 3, 8);
    let fps = arg(&args, 4, 10);
    let detections = arg(&args, 5, 4);
    let dir = tempfile::tempdir().unwrap();
    let config = GalleryConfig { dim: Some(DIM), threshold: 0.5, ..GalleryConfig::default() };
    let gallery = Arc::new(Gallery::open(dir.path().join("load.redb"), config).unwrap());
    let rows = random_unit_rows(IDENTITIES, DIM, SEED);
    let items = rows
        .chunks_exact(DIM)
        .enumerate()
        .map(|(i, v)| NewEmbedding {
            vector: v.to_vec(),
            meta: Metadata { identity: Some(format!("id{i}")), camera: Some("enrol".into()), ..Default::default() },
        })
        .collect();
    gallery.enroll(items).unwrap();
    let keys = KeySpace::new("bench/console", "main").unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let net = NetConfig { listen: vec![format!("tcp/127.0.0.1:{port}")], ..NetConfig::default() };
    let feed = LiveFeed::new();
    let options = ServerOptions { on_identified: Some(feed.tap()), ..ServerOptions::default() };
    let server = Server::start(gallery.clone(), &keys, &net, options).unwrap();
    let mut o = ConsoleOptions::new("127.0.0.1:0".parse().unwrap());
    o.max_viewers = viewers as usize + 8;
    let console = Console::start(gallery.clone(), feed.clone(), o).unwrap();
    let (rss0, _) = memory_mib();
    println!(
        "server: gallery {IDENTITIES} x {DIM}, console on http://{}/, zenoh tcp/127.0.0.1:{port}; RSS {rss0:.0} MiB \
         before load",
        console.addr()
    );
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--load", &port.to_string(), &console.addr().to_string()])
        .args([seconds, viewers, cameras, fps, detections].map(|v| v.to_string()))
        .arg(args.get(6).map(String::as_str).unwrap_or("drop"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Measure from when every viewer is connected (the child says `go`) until it is done publishing.
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut line = || out.next().and_then(Result::ok).unwrap_or_default();
    assert_eq!(line(), "go", "the load process did not start");
    let (cpu0, t0) = (cpu_seconds(), Instant::now());
    let peak_rss = Arc::new(Mutex::new(0.0f64));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, stop) = (peak_rss.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let (rss, _) = memory_mib();
                let mut p = peak.lock().unwrap();
                *p = p.max(rss);
                drop(p);
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };
    assert_eq!(line(), "published", "the load process failed");
    let (cpu, wall) = (cpu_seconds() - cpu0, t0.elapsed().as_secs_f64());
    let (rss, hwm) = memory_mib();
    stop.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    let report: Value = serde_json::from_str(&line()).unwrap_or(Value::Null);
    let _ = child.wait();
    let c = server.counters();
    let frames = c.frames.load(Ordering::Relaxed);
    println!(
        "server over {wall:.1} s: CPU {cpu:.2} s = {:.0}% of one core; RSS {rss:.0} MiB now, {:.0} MiB peak while \
         loaded (VmHWM {hwm:.0} MiB)",
        100.0 * cpu / wall,
        *peak_rss.lock().unwrap()
    );
    println!(
        "server counters: frames identified and published {frames}, detections identified {}, unknown {}, refused {}; \
         live feed sent {} frames, {} viewers still connected",
        c.identified.load(Ordering::Relaxed),
        c.unknown.load(Ordering::Relaxed),
        c.rejected.load(Ordering::Relaxed),
        feed.frames_sent(),
        feed.viewers()
    );
    println!("load process: {}", serde_json::to_string_pretty(&report).unwrap());
    let published = report["published"].as_u64().unwrap_or(0);
    let received = report["zenoh_received"].as_u64().unwrap_or(0);
    println!(
        "zenoh side: published {published} frames, server identified {frames}, subscriber received {received}: \
         {} dropped",
        published.saturating_sub(received)
    );
    drop(console);
    server.stop();
}

/// The child: Zenoh publishers, a subscriber on every identified answer, `viewers` SSE clients.
fn load(a: &[String]) {
    let port = &a[0];
    let http = a[1].clone();
    let n = |i: usize| a[i].parse::<u64>().unwrap();
    let (seconds, viewers, cameras, fps, detections) = (n(2), n(3), n(4), n(5), n(6));
    let block = a.get(7).map(String::as_str) == Some("block");
    let keys = KeySpace::new("bench/console", "main").unwrap();
    let net = NetConfig { connect: vec![format!("tcp/127.0.0.1:{port}")], ..NetConfig::default() };
    let session = zenoh::open(net.to_zenoh().unwrap()).wait().unwrap();
    let received = Arc::new(AtomicU64::new(0));
    let seen: Arc<Mutex<std::collections::HashSet<(String, u64)>>> = Arc::default();
    let (r, seen_cb) = (received.clone(), seen.clone());
    let _sub = session
        .declare_subscriber(keys.identified_all())
        .callback(move |sample| {
            r.fetch_add(1, Ordering::Relaxed);
            if let Ok(v) = serde_json::from_slice::<Value>(&sample.payload().to_bytes())
                && let (Some(c), Some(f)) = (v["camera"].as_str(), v["frame"].as_u64())
            {
                seen_cb.lock().unwrap().insert((c.to_owned(), f));
            }
        })
        .wait()
        .unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let connected = Arc::new(AtomicU64::new(0));
    let viewer_threads: Vec<_> = (0..viewers)
        .map(|_| {
            let (http, done, connected) = (http.clone(), done.clone(), connected.clone());
            std::thread::spawn(move || viewer(&http, &done, &connected))
        })
        .collect();
    while connected.load(Ordering::Relaxed) < viewers {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(500));
    println!("go");
    std::io::stdout().flush().unwrap();
    let rows = random_unit_rows(IDENTITIES, DIM, SEED);
    let published = AtomicU64::new(0);
    let per_camera: Vec<AtomicU64> = (0..cameras).map(|_| AtomicU64::new(0)).collect();
    std::thread::scope(|s| {
        for cam in 0..cameras {
            let (session, keys, rows, published) = (&session, &keys, &rows, &published);
            let sent = &per_camera[cam as usize];
            s.spawn(move || {
                let key = keys.embeddings(&format!("cam{cam}"));
                let period = Duration::from_secs_f64(1.0 / fps as f64);
                let start = Instant::now();
                let mut frame = 0u64;
                while start.elapsed() < Duration::from_secs(seconds) {
                    let dets = (0..detections)
                        .map(|d| {
                            let who = ((frame * 7 + d * 13 + cam * 101) as usize) % IDENTITIES;
                            // Three in four near an enrolled identity (identified), one in four a fresh direction.
                            let v: Vec<f32> = if d % 4 == 3 {
                                random_unit_rows(1, DIM, frame * 1000 + cam * 10 + d)
                            } else {
                                rows[who * DIM..(who + 1) * DIM].iter().map(|x| x + 0.01).collect()
                            };
                            Detection { track_id: Some(frame * 100 + d), bbox: None, embedding: v }
                        })
                        .collect();
                    let msg = FrameEmbeddings {
                        camera: format!("cam{cam}"),
                        timestamp_ms: reid_gallery::record::now_ms(),
                        frame: Some(frame),
                        model: None,
                        detections: dets,
                    };
                    let put = session.put(&key, serde_json::to_vec(&msg).unwrap());
                    let put = if block { put.congestion_control(zenoh::qos::CongestionControl::Block) } else { put };
                    put.wait().unwrap();
                    published.fetch_add(1, Ordering::Relaxed);
                    frame += 1;
                    sent.store(frame, Ordering::Relaxed);
                    let next = start + period * frame as u32;
                    if let Some(wait) = next.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                }
            });
        }
    });
    println!("published");
    std::io::stdout().flush().unwrap();
    std::thread::sleep(Duration::from_secs(2));
    done.store(true, Ordering::Relaxed);
    let mut events = Vec::new();
    let (mut lagged, mut latencies) = (0u64, Vec::new());
    for t in viewer_threads {
        let (e, l, lat) = t.join().unwrap();
        events.push(e);
        lagged += l;
        latencies.extend(lat);
    }
    latencies.sort_by(f64::total_cmp);
    // Which frames never came back identified: (camera, frame number) of the first few.
    let seen = seen.lock().unwrap();
    let mut missing = Vec::new();
    for (cam, sent) in per_camera.iter().enumerate() {
        for f in 0..sent.load(Ordering::Relaxed) {
            if !seen.contains(&(format!("cam{cam}"), f)) {
                missing.push(format!("cam{cam}#{f}"));
            }
        }
    }
    let pct = |p: f64| latencies.get(((latencies.len() as f64 - 1.0) * p) as usize).copied().unwrap_or(f64::NAN);
    let report = json!({
        "published": published.load(Ordering::Relaxed),
        "zenoh_received": received.load(Ordering::Relaxed),
        "missing": missing.len(),
        "missing_first": missing.iter().take(12).collect::<Vec<_>>(),
        "viewers": viewers,
        "identified_events_per_viewer_min": events.iter().min(),
        "identified_events_per_viewer_max": events.iter().max(),
        "lagged_messages_total": lagged,
        "publish_to_viewer_ms_p50": pct(0.5),
        "publish_to_viewer_ms_p99": pct(0.99),
        "publish_to_viewer_ms_max": latencies.last(),
    });
    println!("{report}");
}

/// One Live viewer: `GET /api/live`, counting `identified` events (and the time from publication to here) until
/// `done`. Returns (events, messages skipped, latencies ms).
fn viewer(http: &str, done: &AtomicBool, connected: &AtomicU64) -> (u64, u64, Vec<f64>) {
    let mut s = std::net::TcpStream::connect(http).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    write!(s, "GET /api/live HTTP/1.1\r\nHost: {http}\r\nAccept: text/event-stream\r\n\r\n").unwrap();
    let mut reader = BufReader::new(s);
    let (mut events, mut lagged, mut lat) = (0u64, 0u64, Vec::new());
    let mut event = String::new();
    let mut line = String::new();
    let mut counted = false;
    while !done.load(Ordering::Relaxed) {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(_) => continue,
        }
        let l = line.trim_end();
        if !counted && l.starts_with("event: hello") {
            connected.fetch_add(1, Ordering::Relaxed);
            counted = true;
        }
        if let Some(e) = l.strip_prefix("event: ") {
            event = e.to_owned();
        } else if let Some(d) = l.strip_prefix("data: ") {
            match event.as_str() {
                "identified" => {
                    events += 1;
                    if let Ok(v) = serde_json::from_str::<Value>(d)
                        && let Some(p) = v["published_ms"].as_i64()
                    {
                        lat.push((reid_gallery::record::now_ms() - p) as f64);
                    }
                }
                "lagged" => lagged += d.trim().parse::<u64>().unwrap_or(0),
                _ => {}
            }
        }
    }
    (events, lagged, lat)
}
