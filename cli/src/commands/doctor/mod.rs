//! `reid doctor`: checks what this host has for running ReID at the edge (GStreamer and the `reid` plugin, the
//! ONNX Runtime library and its providers, the CUDA driver, the GPU, TensorRT, DeepStream and NvDs mode, disk for
//! engine caches, Zenoh reachability) and prints one line per check: status, finding, and how to fix what is missing.
//!
//! Every probe goes through [`Host`], so the checks run on a faked host in tests (a temporary folder standing
//! for `/`, canned command output, a canned ONNX Runtime probe).

mod cuda;
mod deepstream;
mod disk;
mod gpu;
mod gstreamer;
mod host;
mod ort;
mod plugin;
mod report;
mod tensorrt;
mod zenoh;

use host::{Host, SystemHost, library_dirs};
use report::{Check, Report, Status};

use cuda::check_cuda;
use deepstream::check_deepstream;
use disk::check_disk;
use gpu::check_gpu;
use gstreamer::check_gstreamer;
use ort::check_ort;
use plugin::check_plugin;
use tensorrt::check_tensorrt;
use zenoh::check_zenoh;

use anyhow::{Result, bail};
use clap::Args;
use reid_runtime::engine::EngineKind;
use std::path::PathBuf;
use std::time::Duration;

/// Arguments of `reid doctor`.
#[derive(Args, Debug)]
#[command(after_help = "Exit status: 0 when the chosen engine can run here (and the --zenoh endpoint, when given, \
answers), 1 otherwise. Each line is `STATUS  CHECK  finding  -> fix`, STATUS one of OK, WARN, MISSING.\n\nExamples:\n  \
reid doctor\n  reid doctor --engine tensorrt --zenoh tcp/gallery.local:7447\n  reid doctor --json")]
pub struct DoctorArgs {
    /// The engine the deployment will use: auto, tract, ort-cpu, cuda, tensorrt.
    #[arg(long, default_value = "auto", value_parser = |s: &str| s.parse::<EngineKind>())]
    pub engine: EngineKind,
    /// The ONNX Runtime library to check (default: as the engines search: $ORT_DYLIB_PATH, scripts/setup-ort.sh's
    /// folder, /opt/reid/lib, the system library path).
    #[arg(long, value_name = "FILE")]
    pub ort_lib: Option<PathBuf>,
    /// Root of the TensorRT engine caches (default $REID_ENGINE_CACHE or ~/.cache/reid/engines).
    #[arg(long, value_name = "DIR")]
    pub engine_cache: Option<PathBuf>,
    /// A Zenoh endpoint (router or gallery) to try a TCP connection to, e.g. tcp/192.168.1.10:7447.
    #[arg(long, value_name = "ENDPOINT")]
    pub zenoh: Option<String>,
    /// Seconds to wait for the Zenoh endpoint.
    #[arg(long, default_value_t = 3.0)]
    pub timeout: f64,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `reid doctor`: prints the report; an error (exit 1) when the engine cannot run or Zenoh is unreachable.
pub fn run(args: DoctorArgs) -> Result<()> {
    if !(args.timeout > 0.0 && args.timeout.is_finite()) {
        bail!("--timeout must be a positive number of seconds");
    }
    let options = Options {
        engine: args.engine,
        ort_lib: args.ort_lib,
        engine_cache: args.engine_cache,
        zenoh: args.zenoh,
        timeout: Duration::from_secs_f64(args.timeout),
    };
    let report = diagnose(&SystemHost, &options);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{report}");
    }
    if !report.engine_runs {
        bail!("engine `{}` cannot run on this host (see the MISSING lines above)", report.engine);
    }
    if report.get("zenoh").is_some_and(|c| c.status != Status::Ok) {
        bail!("the Zenoh endpoint {} does not answer", options.zenoh.as_deref().unwrap_or(""));
    }
    Ok(())
}

/// What `reid doctor` is asked to check.
#[derive(Clone, Debug)]
pub struct Options {
    /// The engine the deployment will use.
    pub engine: EngineKind,
    /// An explicit ONNX Runtime library.
    pub ort_lib: Option<PathBuf>,
    /// An explicit engine cache root.
    pub engine_cache: Option<PathBuf>,
    /// A Zenoh endpoint to probe.
    pub zenoh: Option<String>,
    /// How long to wait for it.
    pub timeout: Duration,
}

/// Runs every check on `host`.
pub fn diagnose(host: &dyn Host, options: &Options) -> Report {
    let dirs = library_dirs(host);
    let mut checks = Vec::new();
    let (gst, has_inspect) = check_gstreamer(host, &dirs);
    checks.push(gst);
    checks.push(check_plugin(host, has_inspect));
    let (ort_checks, ort) = check_ort(&host.onnx_runtime(options.ort_lib.as_deref()));
    checks.extend(ort_checks);
    let (cuda_check, cuda) = check_cuda(host, &dirs);
    checks.push(cuda_check);
    let (gpu_check, gpu) = check_gpu(host);
    checks.push(gpu_check);
    let (trt_check, trt) = check_tensorrt(host);
    checks.push(trt_check);
    checks.push(check_deepstream(host));
    checks.push(check_disk(host, options.engine_cache.as_deref()));
    if let Some(endpoint) = &options.zenoh {
        checks.push(check_zenoh(host, endpoint, options.timeout));
    }

    let engine = options.engine;
    let mut lacking: Vec<&str> = Vec::new();
    let needs_ort = matches!(engine, EngineKind::OrtCpu | EngineKind::Cuda | EngineKind::TensorRt);
    if needs_ort && !ort.library {
        lacking.push("the ONNX Runtime library");
    } else if engine == EngineKind::OrtCpu && !ort.cpu {
        lacking.push("ONNX Runtime's CPUExecutionProvider");
    }
    if matches!(engine, EngineKind::Cuda | EngineKind::TensorRt) {
        if ort.library && !ort.cuda {
            lacking.push("ONNX Runtime's CUDAExecutionProvider");
        }
        if !cuda {
            lacking.push("the CUDA driver");
        }
        if gpu.is_none() {
            lacking.push("an NVIDIA GPU");
        }
    }
    if engine == EngineKind::TensorRt {
        if ort.library && !ort.tensorrt {
            lacking.push("ONNX Runtime's TensorrtExecutionProvider");
        }
        if !trt {
            lacking.push("TensorRT (libnvinfer)");
        }
    }
    let resolved = match engine {
        EngineKind::Auto if ort.library && ort.cpu => "ort-cpu".to_owned(),
        EngineKind::Auto => "tract".to_owned(),
        other => other.to_string(),
    };
    let engine_runs = lacking.is_empty();
    let verdict = if engine_runs {
        let how = match engine {
            EngineKind::Auto if resolved == "tract" => "auto runs as tract (no ONNX Runtime library found; pure Rust)",
            EngineKind::Auto => "auto runs as ort-cpu (ONNX Runtime's CPU provider)",
            EngineKind::Tract => "tract runs (pure Rust, nothing to install)",
            EngineKind::OrtCpu => "ort-cpu runs (ONNX Runtime's CPU provider)",
            EngineKind::Cuda => "cuda runs (ONNX Runtime's CUDA provider)",
            EngineKind::TensorRt => "tensorrt runs (engines are built on first start and cached under engine-cache)",
        };
        Check::new("engine", Status::Ok, how, None)
    } else {
        Check::new(
            "engine",
            Status::Missing,
            format!("{engine} cannot run: missing {}", lacking.join(", ")),
            Some("fix the MISSING lines above, or choose --engine tract (always available) / auto".to_owned()),
        )
    };
    checks.push(verdict);
    Report { engine: engine.to_string(), resolved_engine: resolved, engine_runs, checks }
}

#[cfg(test)]
mod tests;
