//! `reid gallery serve --http ADDR`: the web console's options from the command line, and search by image with
//! an ONNX model on any engine (the gallery crate has no inference engine; this is its [`Embedder`]).

use crate::engine_args::EngineArgs;
use anyhow::{Context, Result, bail};
use reid_gallery::console::auth::token_from_file;
use reid_gallery::console::{ConsoleOptions, Embedder};
use reid_gallery::openset::CalibrationCurve;
use reid_runtime::engine::preprocess::preprocess_image;
use reid_runtime::engine::{Engine, EngineKind, OpenedEngine};
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Largest uploaded image accepted, in pixels per side.
pub const MAX_SIDE: u32 = 8192;
/// Most memory the decoder may allocate for one upload.
pub const MAX_DECODE_BYTES: u64 = 256 << 20;

/// An ONNX model embedding uploaded crops: decode (size-limited), the runtime's one preprocessing, the engine,
/// L2 normalisation.
pub struct ImageEmbedder {
    engine: Box<dyn Engine>,
    description: String,
}

impl ImageEmbedder {
    /// Opens `model` on `engine` (auto: ONNX Runtime CPU when its library is found, else tract).
    pub fn open(model: &Path, engine: EngineKind) -> Result<ImageEmbedder> {
        let args = EngineArgs {
            engine,
            ort_lib: None,
            threads: 0,
            strict: false,
            device: 0,
            precision: "fp16".parse().map_err(|e: String| anyhow::anyhow!(e))?,
            calibration_table: None,
            max_batch: 1,
            opt_batch: None,
            engine_cache: None,
            workspace_mb: 2048,
        };
        let OpenedEngine { engine, description } =
            args.open(model, None).with_context(|| format!("--model {}", model.display()))?;
        let name = model.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        Ok(ImageEmbedder { engine, description: format!("{name} on {description}") })
    }

    /// The embedding's dimension.
    pub fn dim(&self) -> Option<usize> {
        self.engine.info().output_dim
    }
}

impl Embedder for ImageEmbedder {
    fn describe(&self) -> String {
        self.description.clone()
    }

    fn embed(&self, image: &[u8]) -> Result<Vec<f32>, String> {
        let mut reader = image::ImageReader::new(std::io::Cursor::new(image))
            .with_guessed_format()
            .map_err(|e| format!("not an image: {e}"))?;
        if reader.format().is_none() {
            return Err("not an image: the bytes are no JPEG, PNG or BMP file".into());
        }
        let mut limits = image::Limits::default();
        limits.max_image_width = Some(MAX_SIDE);
        limits.max_image_height = Some(MAX_SIDE);
        limits.max_alloc = Some(MAX_DECODE_BYTES);
        reader.limits(limits);
        let rgb = reader.decode().map_err(|e| format!("cannot decode the image: {e}"))?.to_rgb8();
        if rgb.width() == 0 || rgb.height() == 0 {
            return Err("the image has no pixels".into());
        }
        let input = preprocess_image(&rgb, &self.engine.info().preprocess);
        let mut v = self.engine.embed_batch(&input, 1).map_err(|e| format!("the model failed: {e}"))?;
        let norm = v.iter().map(|x| (*x as f64) * (*x as f64)).sum::<f64>().sqrt();
        if !(norm > 0.0 && norm.is_finite()) {
            return Err("the model gave a zero or non-finite embedding for this image".into());
        }
        v.iter_mut().for_each(|x| *x = (*x as f64 / norm) as f32);
        Ok(v)
    }
}

/// The console flags of `reid gallery serve`.
pub struct ConsoleFlags<'a> {
    /// `--http`.
    pub addr: SocketAddr,
    /// `--http-token-file`.
    pub token_file: Option<&'a Path>,
    /// `--http-read-only`.
    pub read_only: bool,
    /// `--http-body-limit` (bytes).
    pub body_limit: usize,
    /// `--model`.
    pub model: Option<&'a PathBuf>,
    /// `--model-engine`.
    pub engine: EngineKind,
    /// `--calibration`.
    pub calibration: Option<&'a PathBuf>,
    /// The gallery's dimension (the model must give it).
    pub dim: usize,
}

/// The console's options; prints where the operator token is (or the token itself when generated for this run).
pub fn options(flags: ConsoleFlags<'_>, out: &mut impl Write) -> Result<ConsoleOptions> {
    let mut o = ConsoleOptions::new(flags.addr);
    o.body_limit = flags.body_limit;
    match (flags.token_file, flags.read_only) {
        (Some(_), true) => bail!("--http-read-only and --http-token-file: give one"),
        (_, true) => {}
        (Some(path), false) => {
            let (token, created) = token_from_file(path).map_err(anyhow::Error::msg)?;
            if created {
                writeln!(out, "console operator token written to {} (mode 0600)", path.display())?;
            } else {
                writeln!(out, "console operator token read from {}", path.display())?;
            }
            o.token = Some(token);
            o.operator_token = true;
        }
        (None, false) => {
            let token = reid_gallery::console::auth::new_token().context("generating the console token")?;
            writeln!(out, "console operator token (this run only; --http-token-file keeps one): {token}")?;
            o.token = Some(token);
        }
    }
    reid_gallery::console::auth::check_bind(flags.addr, o.operator_token).map_err(anyhow::Error::msg)?;
    if !flags.addr.ip().is_loopback() {
        let msg = format!(
            "the console on {} speaks plain HTTP: put a TLS proxy in front of it before the operator token crosses \
             a network",
            flags.addr
        );
        tracing::warn!("{msg}");
        eprintln!("warning: {msg}");
    }
    if let Some(model) = flags.model {
        let embedder = ImageEmbedder::open(model, flags.engine)?;
        if let Some(d) = embedder.dim()
            && d != flags.dim
        {
            bail!("--model {}: gives {d}-d embeddings, the gallery holds {}-d", model.display(), flags.dim);
        }
        writeln!(out, "search by image: {}", embedder.describe())?;
        o.embedder = Some(Arc::new(embedder));
    }
    if let Some(path) = flags.calibration {
        o.calibration = Some(CalibrationCurve::read(path).map_err(anyhow::Error::msg)?);
    }
    Ok(o)
}
