//! The `reidpublish` GObject: properties, the Zenoh session and its worker thread, and the per-buffer render.

use super::*;
use crate::deepstream::{self, Batch, Cameras};
use crate::lock::lock;

#[derive(Clone, Debug)]
struct Settings {
    camera: String,
    prefix: String,
    connect: String,
    listen: String,
    mode: String,
    config: Option<PathBuf>,
    queue_size: u32,
    skip_empty: bool,
    roi_id_is_track: bool,
    cameras: String,
    tls_ca: Option<PathBuf>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            camera: DEFAULT_CAMERA.to_owned(),
            prefix: DEFAULT_PREFIX.to_owned(),
            connect: String::new(),
            listen: String::new(),
            mode: "peer".to_owned(),
            config: None,
            queue_size: DEFAULT_QUEUE_SIZE,
            skip_empty: false,
            roi_id_is_track: false,
            cameras: String::new(),
            tls_ca: None,
            tls_cert: None,
            tls_key: None,
        }
    }
}

#[derive(Default)]
struct Counters {
    published: AtomicU64,
    dropped: AtomicU64,
    failed: AtomicU64,
    bad_metas: AtomicU64,
}

struct State {
    key: String,
    camera: String,
    keys: KeySpace,
    cameras: Cameras,
    sender: Option<SyncSender<(String, Vec<u8>)>>,
    worker: Option<JoinHandle<()>>,
    frames: u64,
}

#[derive(Default)]
pub struct ReidPublish {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
    counters: Arc<Counters>,
}

/// Drains the queue into the session until the sender is dropped, then closes the session.
fn worker(session: zenoh::Session, queue: Receiver<(String, Vec<u8>)>, counters: Arc<Counters>) {
    while let Ok((key, body)) = queue.recv() {
        match session.put(&key, body).wait() {
            Ok(()) => counters.published.fetch_add(1, Ordering::Relaxed),
            Err(e) => {
                tracing::warn!("reidpublish: publishing on {key}: {e}");
                counters.failed.fetch_add(1, Ordering::Relaxed)
            }
        };
    }
    if let Err(e) = session.close().wait() {
        tracing::warn!("reidpublish: closing the zenoh session: {e}");
    }
}

#[glib::object_subclass]
impl ObjectSubclass for ReidPublish {
    const NAME: &'static str = "GstReidPublish";
    type Type = super::ReidPublish;
    type ParentType = gst_base::BaseSink;
}

impl ObjectImpl for ReidPublish {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecString::builder("camera")
                    .nick("Camera")
                    .blurb("Camera id: the last key chunk and the message's `camera` (no `/`, `*`, `$`, `?`, `#`, spaces)")
                    .default_value(Some(DEFAULT_CAMERA))
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("prefix")
                    .nick("Key prefix")
                    .blurb("Zenoh key prefix: messages go to <prefix>/embeddings/<camera>")
                    .default_value(Some(DEFAULT_PREFIX))
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("connect")
                    .nick("Connect")
                    .blurb("Comma-separated Zenoh endpoints to connect to, e.g. tcp/127.0.0.1:7447 (a gallery or router)")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("listen")
                    .nick("Listen")
                    .blurb("Comma-separated Zenoh endpoints to listen on, e.g. tcp/0.0.0.0:7448")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("mode")
                    .nick("Mode")
                    .blurb("Zenoh session mode: peer (talk to peers directly) or client (through routers)")
                    .default_value(Some("peer"))
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("config")
                    .nick("Zenoh config file")
                    .blurb("A Zenoh JSON5 config file applied first (TLS, access control); the properties above override it")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("tls-ca")
                    .nick("TLS CA")
                    .blurb("Mutual TLS: the site CA certificate (PEM); with tls-cert and tls-key, every endpoint must be tls/")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("tls-cert")
                    .nick("TLS certificate")
                    .blurb("Mutual TLS: this camera's certificate (PEM); its common name is its identity in the gallery's access rules")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("tls-key")
                    .nick("TLS private key")
                    .blurb("Mutual TLS: this camera's private key (PEM)")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("queue-size")
                    .nick("Queue size")
                    .blurb("Messages waiting for the network at most; when full, new messages are dropped (see `dropped`)")
                    .minimum(1)
                    .maximum(100_000)
                    .default_value(DEFAULT_QUEUE_SIZE)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecBoolean::builder("skip-empty")
                    .nick("Skip empty frames")
                    .blurb("Publish nothing for frames without any embedding")
                    .default_value(false)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("roi-id-is-track")
                    .nick("ROI id is the track id")
                    .blurb("Take the ROI meta's `id` as the track id when it has no `tracking` param")
                    .default_value(false)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecString::builder("cameras")
                    .nick("Cameras")
                    .blurb("NvDs mode: camera names of DeepStream source ids, \"0=gate,1=lobby\" (default cam<source_id>): the key and `camera` of each frame's message")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt64::builder("bad-metas")
                    .nick("Bad metas")
                    .blurb("NvDs mode: REID.EMBEDDING user metas that could not be read (no data, bad size)")
                    .read_only()
                    .build(),
                glib::ParamSpecUInt64::builder("published")
                    .nick("Published")
                    .blurb("Messages handed to Zenoh since the element started")
                    .read_only()
                    .build(),
                glib::ParamSpecUInt64::builder("dropped")
                    .nick("Dropped")
                    .blurb("Messages dropped because the queue was full")
                    .read_only()
                    .build(),
                glib::ParamSpecUInt64::builder("failed")
                    .nick("Failed")
                    .blurb("Messages Zenoh refused to send")
                    .read_only()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut s = lock(&self.settings);
        let string = || value.get::<Option<String>>().ok().flatten().unwrap_or_default();
        let path = || Some(string()).filter(|c| !c.is_empty()).map(PathBuf::from);
        match pspec.name() {
            "camera" => s.camera = string(),
            "prefix" => s.prefix = string(),
            "connect" => s.connect = string(),
            "listen" => s.listen = string(),
            "mode" => s.mode = string(),
            "config" => s.config = path(),
            "tls-ca" => s.tls_ca = path(),
            "tls-cert" => s.tls_cert = path(),
            "tls-key" => s.tls_key = path(),
            "queue-size" => s.queue_size = value.get().unwrap_or(DEFAULT_QUEUE_SIZE),
            "skip-empty" => s.skip_empty = value.get().unwrap_or(false),
            "roi-id-is-track" => s.roi_id_is_track = value.get().unwrap_or(false),
            "cameras" => s.cameras = string(),
            other => gst::warning!(CAT, imp = self, "unknown property {other}"),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let c = &self.counters;
        match pspec.name() {
            "published" => return c.published.load(Ordering::Relaxed).to_value(),
            "dropped" => return c.dropped.load(Ordering::Relaxed).to_value(),
            "failed" => return c.failed.load(Ordering::Relaxed).to_value(),
            "bad-metas" => return c.bad_metas.load(Ordering::Relaxed).to_value(),
            _ => {}
        }
        let s = lock(&self.settings);
        let shown = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string()).to_value();
        match pspec.name() {
            "camera" => s.camera.to_value(),
            "prefix" => s.prefix.to_value(),
            "connect" => s.connect.to_value(),
            "listen" => s.listen.to_value(),
            "mode" => s.mode.to_value(),
            "config" => shown(&s.config),
            "tls-ca" => shown(&s.tls_ca),
            "tls-cert" => shown(&s.tls_cert),
            "tls-key" => shown(&s.tls_key),
            "queue-size" => s.queue_size.to_value(),
            "skip-empty" => s.skip_empty.to_value(),
            "roi-id-is-track" => s.roi_id_is_track.to_value(),
            "cameras" => s.cameras.to_value(),
            _ => None::<String>.to_value(),
        }
    }

    fn constructed(&self) {
        self.parent_constructed();
        // Publishing is analytics, not display: do not hold frames back until their presentation time.
        self.obj().set_sync(false);
    }
}

impl GstObjectImpl for ReidPublish {}

impl ElementImpl for ReidPublish {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "ReID embedding publisher",
                "Sink/Network",
                "Publishes each frame's ReID embeddings (ROI metas with a `reid-embedding` param) as JSON over \
                 Zenoh to <prefix>/embeddings/<camera>, where the reid gallery ingests them",
                "reid project",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            vec![
                gst::PadTemplate::new("sink", gst::PadDirection::Sink, gst::PadPresence::Always, &gst::Caps::new_any())
                    .expect("static pad template"),
            ]
        });
        TEMPLATES.as_ref()
    }
}

impl BaseSinkImpl for ReidPublish {
    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let s = lock(&self.settings).clone();
        let settings_error = |message: String| gst::error_msg!(gst::LibraryError::Settings, ("reidpublish: {message}"));
        let keys = KeySpace::new(&s.prefix, "main").map_err(|e| settings_error(format!("property `prefix`: {e}")))?;
        check_chunks("camera", &s.camera).map_err(|e| settings_error(format!("property `camera`: {e}")))?;
        if s.camera.contains('/') || s.camera.len() > 128 {
            return Err(settings_error(format!(
                "property `camera`: `{}` must be 1-128 characters without `/`",
                s.camera
            )));
        }
        let cameras = Cameras::parse(&s.cameras).map_err(|e| settings_error(format!("property `cameras`: {e}")))?;
        let mode: Mode = s.mode.parse().map_err(|e: String| settings_error(format!("property `mode`: {e}")))?;
        let tls = tls_files(s.tls_ca.clone(), s.tls_cert.clone(), s.tls_key.clone()).map_err(settings_error)?;
        let mut net = NetConfig {
            mode,
            listen: endpoints(&s.listen),
            connect: endpoints(&s.connect),
            config_file: s.config.clone(),
            multicast: false,
            tls: None,
        };
        if let Some(files) = tls {
            let own = check_tls_files(&files, reid_protocol::tls::now_s()).map_err(settings_error)?;
            gst::info!(CAT, imp = self, "mutual TLS as `{}`", own.common_name);
            net = net.with_tls(files);
        }
        let config = zenoh_config(&net).map_err(settings_error)?;
        let session = zenoh::open(config).wait().map_err(|e| {
            gst::error_msg!(
                gst::ResourceError::OpenWrite,
                (
                    "reidpublish: cannot open the zenoh session (listen {:?}, connect {:?}): {e}",
                    net.listen,
                    net.connect
                )
            )
        })?;
        let key = keys.embeddings(&s.camera);
        gst::info!(CAT, imp = self, "publishing on {key} ({} mode)", s.mode);
        for c in [&self.counters.published, &self.counters.dropped, &self.counters.failed, &self.counters.bad_metas] {
            c.store(0, Ordering::Relaxed);
        }
        let (sender, receiver) = sync_channel(s.queue_size.max(1) as usize);
        let counters = self.counters.clone();
        let worker = std::thread::Builder::new()
            .name("reidpublish".to_owned())
            .spawn(move || worker(session, receiver, counters))
            .map_err(|e| gst::error_msg!(gst::CoreError::Thread, ("reidpublish: cannot start the worker: {e}")))?;
        *lock(&self.state) =
            Some(State { key, camera: s.camera, keys, cameras, sender: Some(sender), worker: Some(worker), frames: 0 });
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        let state = lock(&self.state).take();
        if let Some(mut state) = state {
            // Closing the queue lets the worker send what is queued, close the session and end.
            drop(state.sender.take());
            if let Some(worker) = state.worker.take()
                && worker.join().is_err()
            {
                gst::warning!(CAT, imp = self, "the publishing thread panicked");
            }
        }
        Ok(())
    }

    fn render(&self, buffer: &gst::Buffer) -> Result<gst::FlowSuccess, gst::FlowError> {
        let s = lock(&self.settings).clone();
        let mut guard = lock(&self.state);
        let Some(state) = guard.as_mut() else {
            gst::element_imp_error!(self, gst::CoreError::Failed, ("reidpublish: not started"));
            return Err(gst::FlowError::Error);
        };
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
        if let Some(batch) = deepstream::library().ok().and_then(|ds| Batch::of(ds, buffer)) {
            let (messages, bad) = nvds_frame_messages(&batch, &state.cameras, now);
            for why in bad {
                self.counters.bad_metas.fetch_add(1, Ordering::Relaxed);
                gst::warning!(CAT, imp = self, "{why}: skipped");
            }
            state.frames += 1;
            for message in messages {
                let key = state.keys.embeddings(&message.camera);
                self.send(state, &s, key, &message)?;
            }
            return Ok(gst::FlowSuccess::Ok);
        }
        let frame = buffer.offset();
        let frame = if frame == gst::format::Buffers::OFFSET_NONE { state.frames } else { frame };
        state.frames += 1;
        let message = frame_message(buffer, &state.camera, Some(frame), now, s.roi_id_is_track);
        let key = state.key.clone();
        self.send(state, &s, key, &message)
    }
}

impl ReidPublish {
    /// Queues `message` for `key` (unless empty with `skip-empty`); a full queue drops it (counted).
    fn send(
        &self,
        state: &State,
        s: &Settings,
        key: String,
        message: &FrameEmbeddings,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        if s.skip_empty && message.detections.is_empty() {
            return Ok(gst::FlowSuccess::Ok);
        }
        let body = match serde_json::to_vec(message) {
            Ok(body) => body,
            Err(e) => {
                gst::warning!(CAT, imp = self, "cannot encode frame {:?}: {e}", message.frame);
                return Ok(gst::FlowSuccess::Ok);
            }
        };
        let Some(sender) = state.sender.as_ref() else { return Ok(gst::FlowSuccess::Ok) };
        match sender.try_send((key, body)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                let dropped = self.counters.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                gst::debug!(CAT, imp = self, "queue full: {dropped} messages dropped");
            }
            Err(TrySendError::Disconnected(_)) => {
                gst::element_imp_error!(self, gst::ResourceError::Write, ("reidpublish: the publishing thread ended"));
                return Err(gst::FlowError::Error);
            }
        }
        Ok(gst::FlowSuccess::Ok)
    }
}
