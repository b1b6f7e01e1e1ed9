//! End-to-end demo: two synthetic cameras, a gallery, and the share of camera-B tracks it identifies correctly.
//!
//! 1. Camera A: `reidsynthsrc camera=A ! reidembed ! fakesink`; a pad probe reads every detection's embedding
//!    and its ground truth (`identity`, `track-id` of the `tracking` parameter).
//! 2. A gallery server: `reid gallery serve` started from `--reid BIN` (or one already running at `--connect`,
//!    or, with neither, an in-process `reid_gallery::net::Server`), enrolled through [`GalleryClient`] with every
//!    camera-A embedding under its TRUE identity (`person-<pid>`).
//! 3. Camera B (same seed, so the same people, under another camera's light, background and viewpoints):
//!    `reidsynthsrc camera=B ! reidembed ! reidpublish camera=B`; the server identifies every detection and
//!    publishes the answers on `reid/gallery/main/identified/B`, which this program subscribes to. A probe on
//!    `reidpublish`'s sink pad records camera B's ground truth per track.
//! 4. Each camera-B track's answers vote (majority; `unknown` is a vote too, ties go to the smallest label) and
//!    the winner is compared with the track's true identity.
//!
//! ```sh
//! cargo run -p gst-reid --example two_cameras -- --model results/quickstart/export/model.onnx \
//!     --reid target/debug/reid
//! ```
//! `--help` lists the options. `scripts/demo.sh` runs it after building the CLI and the quick-start model.

use gst::prelude::*;
use gst_video::VideoRegionOfInterestMeta;
use gstreid::params::{self, Embedding};
use reid_gallery::net::GalleryClient;
use reid_protocol::payload::encode;
use reid_protocol::{EnrollItem, EnrollRequest, IdentifiedFrame, KeySpace, NetConfig};
use std::collections::{BTreeMap, HashMap};
use std::error::Error;
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zenoh::Wait;

type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

const USAGE: &str = "two_cameras --model MODEL.onnx [options]
  --model PATH        ReID ONNX model (reid export output; required)
  --reid PATH         the `reid` CLI: start `reid gallery serve` on a private store (default: none)
  --connect ENDPOINT  a gallery server already running there (an empty store is best)
                      (neither --reid nor --connect: an in-process gallery server)
  --port N            loopback port for the server started here (default: a free one)
  --threshold X       open-set threshold of the server started here (default 0.5)
  --engine NAME       reidembed engine (default tract)
  --seed N            scene seed, both cameras (default 1)
  --persons N         people in the scene (default 6)
  --frames N          frames per camera (default 450)
  --fps N             frames per second of the scene (default 15)
  --width N --height N  frame size (default 640x360)";

/// Command-line options.
struct Args {
    model: PathBuf,
    reid: Option<PathBuf>,
    connect: Option<String>,
    port: Option<u16>,
    threshold: f32,
    engine: String,
    seed: u64,
    persons: u32,
    frames: u32,
    fps: u32,
    width: u32,
    height: u32,
}

fn parse_args() -> Result<Args> {
    let mut args = Args {
        model: PathBuf::new(),
        reid: None,
        connect: None,
        port: None,
        threshold: 0.5,
        engine: "tract".to_owned(),
        seed: 1,
        persons: 6,
        frames: 450,
        fps: 15,
        width: 640,
        height: 360,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{flag} {value}: {e}");
        match flag.as_str() {
            "--model" => args.model = PathBuf::from(&value),
            "--reid" => args.reid = Some(PathBuf::from(&value)),
            "--connect" => args.connect = Some(value),
            "--port" => args.port = Some(value.parse().map_err(|e| bad(&e))?),
            "--threshold" => args.threshold = value.parse().map_err(|e| bad(&e))?,
            "--engine" => args.engine = value,
            "--seed" => args.seed = value.parse().map_err(|e| bad(&e))?,
            "--persons" => args.persons = value.parse().map_err(|e| bad(&e))?,
            "--frames" => args.frames = value.parse().map_err(|e| bad(&e))?,
            "--fps" => args.fps = value.parse().map_err(|e| bad(&e))?,
            "--width" => args.width = value.parse().map_err(|e| bad(&e))?,
            "--height" => args.height = value.parse().map_err(|e| bad(&e))?,
            other => return Err(format!("unknown option {other}\n{USAGE}").into()),
        }
    }
    if args.model.as_os_str().is_empty() {
        return Err(format!("--model is required\n{USAGE}").into());
    }
    if !args.model.is_file() {
        return Err(format!("model {} does not exist (scripts/quickstart.sh writes one)", args.model.display()).into());
    }
    if args.persons == 0 || args.frames == 0 || args.fps == 0 {
        return Err("--persons, --frames and --fps must be positive".into());
    }
    Ok(args)
}

/// One embedded detection with its ground truth.
#[derive(Clone, Debug)]
struct Truth {
    track_id: u64,
    identity: i32,
    embedding: Vec<f32>,
}

/// The label a person is enrolled under.
fn label(identity: i32) -> String {
    format!("person-{identity}")
}

/// Adds a probe to `pad` that records every embedded ROI carrying ground truth.
fn record_truth(pad: &gst::Pad) -> Arc<Mutex<Vec<Truth>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        if let Some(buffer) = info.buffer() {
            let mut sink = sink.lock().unwrap_or_else(|e| e.into_inner());
            for roi in buffer.iter_meta::<VideoRegionOfInterestMeta>() {
                let (Some(e), Some(track_id), Some(identity)) =
                    (Embedding::from_roi(&roi), params::track_id(&roi, false), params::identity(&roi))
                else {
                    continue;
                };
                sink.push(Truth { track_id, identity, embedding: e.vector });
            }
        }
        gst::PadProbeReturn::Ok
    });
    seen
}

/// The scene source and embedder of one camera, as a launch-line prefix.
fn camera_head(args: &Args, camera: &str) -> String {
    format!(
        "reidsynthsrc is-live=false camera={camera} seed={} persons={} num-buffers={} fps={} width={} height={} \
         ! reidembed name=embed model=\"{}\" engine={}",
        args.seed,
        args.persons,
        args.frames,
        args.fps,
        args.width,
        args.height,
        args.model.display(),
        args.engine
    )
}

/// Plays `pipeline` to its end; an error message fails.
fn run_to_end(pipeline: &gst::Pipeline) -> Result<()> {
    pipeline.set_state(gst::State::Playing)?;
    let bus = pipeline.bus().ok_or("pipeline without a bus")?;
    let message = bus
        .timed_pop_filtered(gst::ClockTime::from_seconds(3600), &[gst::MessageType::Eos, gst::MessageType::Error])
        .ok_or("the pipeline neither ended nor failed within an hour")?;
    let result = match message.view() {
        gst::MessageView::Error(err) => Err(format!("pipeline error: {} ({:?})", err.error(), err.debug()).into()),
        _ => Ok(()),
    };
    pipeline.set_state(gst::State::Null)?;
    result
}

fn launch(line: &str) -> Result<gst::Pipeline> {
    gst::parse::launch(line)?.downcast::<gst::Pipeline>().map_err(|_| "not a pipeline".into())
}

fn element(pipeline: &gst::Pipeline, name: &str) -> Result<gst::Element> {
    pipeline.by_name(name).ok_or_else(|| format!("no element {name}").into())
}

/// `reidembed`'s measured cost, as one line.
fn embed_cost(embed: &gst::Element) -> String {
    let get = |name: &str| embed.property::<u64>(name);
    let (frames, crops, total, engine) =
        (get("stats-frames"), get("stats-crops"), get("stats-total-ns"), get("stats-engine-ns"));
    let ms = |ns: u64| ns as f64 / 1e6;
    format!(
        "{frames} frames, {crops} crops, {:.1} ms in reidembed of which {:.1} ms in the engine ({:.1} crops/s)",
        ms(total),
        ms(engine),
        crops as f64 / (total.max(1) as f64 / 1e9)
    )
}

/// A gallery server this program started; stopped when dropped.
enum Server {
    /// One that was running already (`--connect`).
    None,
    /// `reid gallery serve`, and the folder of its store.
    Child { child: Child, _store: tempfile::TempDir },
    /// An in-process server, and the folder of its store.
    InProcess { server: Option<reid_gallery::net::Server>, _store: tempfile::TempDir },
}

impl Drop for Server {
    fn drop(&mut self) {
        match self {
            Server::None => {}
            Server::Child { child, .. } => {
                let _ = child.kill();
                let _ = child.wait();
            }
            Server::InProcess { server, .. } => {
                if let Some(s) = server.take() {
                    s.stop();
                }
            }
        }
    }
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Starts (or finds) the gallery server; returns it and its endpoint.
fn start_server(args: &Args, dim: usize) -> Result<(Server, String)> {
    if let Some(endpoint) = &args.connect {
        return Ok((Server::None, endpoint.clone()));
    }
    let port = match args.port {
        Some(p) => p,
        None => free_port()?,
    };
    let endpoint = format!("tcp/127.0.0.1:{port}");
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("demo.redb");
    if let Some(reid) = &args.reid {
        let child = Command::new(reid)
            .args(["gallery", "serve", "--no-store-sightings"])
            .arg("--db")
            .arg(&db)
            .args(["--dim", &dim.to_string(), "--threshold", &args.threshold.to_string(), "--listen", &endpoint])
            .spawn()
            .map_err(|e| format!("starting {} gallery serve: {e}", reid.display()))?;
        println!("started `{} gallery serve --listen {endpoint}` (pid {})", reid.display(), child.id());
        let server = Server::Child { child, _store: dir };
        // Wait until it listens.
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return Err(format!("the gallery server did not listen on {endpoint} within 60 s").into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        return Ok((server, endpoint));
    }
    use reid_gallery::net::ServerOptions;
    use reid_gallery::{Gallery, GalleryConfig};
    let config = GalleryConfig { dim: Some(dim), threshold: args.threshold, ..GalleryConfig::default() };
    let gallery = Arc::new(Gallery::open(&db, config)?);
    let net = NetConfig { listen: vec![endpoint.clone()], ..Default::default() };
    let options = ServerOptions { store_sightings: false, ..ServerOptions::default() };
    let server = reid_gallery::net::Server::start(gallery, &KeySpace::default(), &net, options)?;
    println!("started an in-process gallery server on {endpoint} (no --reid given)");
    Ok((Server::InProcess { server: Some(server), _store: dir }, endpoint))
}

/// The most frequent label (ties: the smallest).
fn majority(votes: &[String]) -> Option<&String> {
    let mut counts: BTreeMap<&String, usize> = BTreeMap::new();
    for v in votes {
        *counts.entry(v).or_default() += 1;
    }
    let best = counts.values().copied().max()?;
    counts.into_iter().find(|(_, c)| *c == best).map(|(l, _)| l)
}

fn run() -> Result<()> {
    let args = parse_args()?;
    gst::init()?;
    gstreid::register_static()?;

    // 1. Camera A: embeddings with ground truth.
    let started = Instant::now();
    let a = launch(&format!("{} ! fakesink name=sink sync=false", camera_head(&args, "A")))?;
    let a_truth = record_truth(&element(&a, "sink")?.static_pad("sink").ok_or("fakesink without a sink pad")?);
    run_to_end(&a)?;
    let a_truth = std::mem::take(&mut *a_truth.lock().unwrap_or_else(|e| e.into_inner()));
    println!("camera A: {} ({:.1} s)", embed_cost(&element(&a, "embed")?), started.elapsed().as_secs_f64());
    let dim = a_truth.first().map(|t| t.embedding.len()).ok_or("camera A embedded nobody: nothing to enrol")?;

    // 2. The gallery, enrolled with camera A's ground truth.
    let (_server, endpoint) = start_server(&args, dim)?;
    let net = NetConfig { connect: vec![endpoint.clone()], ..Default::default() };
    let keys = KeySpace::default();
    let client = GalleryClient::connect(keys.clone(), &net, Duration::from_secs(10))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while let Err(e) = client.stats() {
        if Instant::now() > deadline {
            return Err(format!("the gallery at {endpoint} does not answer: {e}").into());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let mut enrolled = 0;
    for chunk in a_truth.chunks(1000) {
        let items = chunk
            .iter()
            .map(|t| EnrollItem {
                embedding: Some(t.embedding.clone()),
                identity: Some(label(t.identity)),
                camera: Some("A".to_owned()),
                track_id: Some(t.track_id),
                source: Some("demo-ground-truth".to_owned()),
                ..Default::default()
            })
            .collect();
        enrolled += client.enroll(&encode(&EnrollRequest { items }))?.ids.len();
    }
    let a_tracks: HashMap<u64, i32> = a_truth.iter().map(|t| (t.track_id, t.identity)).collect();
    let mut a_people: Vec<i32> = a_tracks.values().copied().collect();
    a_people.sort_unstable();
    a_people.dedup();
    println!(
        "enrolled {enrolled} camera-A embeddings ({} tracks, {} identities) under their true identities",
        a_tracks.len(),
        a_people.len()
    );

    // 3. Camera B, published to the gallery; its answers collected here.
    let answers: Arc<Mutex<Vec<IdentifiedFrame>>> = Arc::default();
    let sink = answers.clone();
    let subscriber = client
        .session()
        .declare_subscriber(keys.identified("B"))
        .callback(move |sample| {
            if let Ok(frame) = serde_json::from_slice::<IdentifiedFrame>(&sample.payload().to_bytes()) {
                sink.lock().unwrap_or_else(|e| e.into_inner()).push(frame);
            }
        })
        .wait()?;
    let started = Instant::now();
    let b = launch(&format!(
        "{} ! reidpublish name=publish camera=B skip-empty=true connect={endpoint}",
        camera_head(&args, "B")
    ))?;
    let publish = element(&b, "publish")?;
    let b_truth = record_truth(&publish.static_pad("sink").ok_or("reidpublish without a sink pad")?);
    run_to_end(&b)?;
    println!("camera B: {} ({:.1} s)", embed_cost(&element(&b, "embed")?), started.elapsed().as_secs_f64());
    let (published, dropped) = (publish.property::<u64>("published"), publish.property::<u64>("dropped"));
    // Wait for the answers: all published frames, or 5 s without a new one.
    let mut last = (0, Instant::now());
    loop {
        let n = answers.lock().unwrap_or_else(|e| e.into_inner()).len();
        if n as u64 >= published || last.1.elapsed() > Duration::from_secs(5) {
            break;
        }
        if n != last.0 {
            last = (n, Instant::now());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(subscriber);
    let answers = std::mem::take(&mut *answers.lock().unwrap_or_else(|e| e.into_inner()));
    let b_truth = std::mem::take(&mut *b_truth.lock().unwrap_or_else(|e| e.into_inner()));

    // 4. Score per track.
    let truth: HashMap<u64, i32> = b_truth.iter().map(|t| (t.track_id, t.identity)).collect();
    let mut votes: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    let (mut detections, mut detections_correct) = (0usize, 0usize);
    for frame in &answers {
        for d in &frame.detections {
            let Some(track) = d.track_id else { continue };
            let answer = d.identity.clone().filter(|_| !d.unknown).unwrap_or_else(|| "unknown".to_owned());
            detections += 1;
            if truth.get(&track).is_some_and(|&id| answer == label(id)) {
                detections_correct += 1;
            }
            votes.entry(track).or_default().push(answer);
        }
    }
    let mut correct = 0;
    for (track, v) in &votes {
        let want = truth.get(track).map(|&id| label(id)).unwrap_or_else(|| "?".to_owned());
        let got = majority(v).cloned().unwrap_or_default();
        let ok = got == want;
        correct += usize::from(ok);
        println!(
            "  track {track:>4}: truth {want:<10} voted {got:<10} ({} answers) {}",
            v.len(),
            if ok { "ok" } else { "WRONG" }
        );
    }
    println!(
        "camera B: {} frames published ({dropped} dropped), {} answered by the gallery; {detections} detections, \
         {detections_correct} identified correctly ({:.1}%)",
        published,
        answers.len(),
        100.0 * detections_correct as f64 / detections.max(1) as f64
    );
    println!(
        "camera-B tracks identified correctly (majority vote): {correct} of {} answered tracks = {:.1}% \
         ({} tracks in camera B's ground truth)",
        votes.len(),
        100.0 * correct as f64 / votes.len().max(1) as f64,
        truth.len()
    );
    if votes.is_empty() {
        return Err("the gallery answered no camera-B detection".into());
    }
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("two_cameras: {e}");
            ExitCode::FAILURE
        }
    }
}
