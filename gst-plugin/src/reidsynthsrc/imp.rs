//! The `reidsynthsrc` GObject: properties, caps, and one rendered frame with its ROI metas per buffer.

use super::*;
use crate::lock::lock;

#[derive(Clone, Debug)]
struct Settings {
    width: u32,
    height: u32,
    fps: u32,
    camera: String,
    seed: u64,
    persons: u32,
    is_live: bool,
    min_visible: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            width: DEFAULT_WIDTH,
            height: DEFAULT_HEIGHT,
            fps: DEFAULT_FPS,
            camera: DEFAULT_CAMERA.to_owned(),
            seed: 0,
            persons: DEFAULT_PERSONS,
            is_live: true,
            min_visible: 0.3,
        }
    }
}

struct State {
    scene: Scene,
    video: Option<(gst_video::VideoInfo, RgbImage)>,
    frame: u64,
}

#[derive(Default)]
pub struct ReidSynthSrc {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
}

#[glib::object_subclass]
impl ObjectSubclass for ReidSynthSrc {
    const NAME: &'static str = "GstReidSynthSrc";
    type Type = super::ReidSynthSrc;
    type ParentType = gst_base::PushSrc;
}

impl ObjectImpl for ReidSynthSrc {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecUInt::builder("width")
                    .nick("Width")
                    .blurb("Frame width in pixels")
                    .minimum(16)
                    .maximum(8192)
                    .default_value(DEFAULT_WIDTH)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("height")
                    .nick("Height")
                    .blurb("Frame height in pixels")
                    .minimum(16)
                    .maximum(8192)
                    .default_value(DEFAULT_HEIGHT)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("fps")
                    .nick("Frames per second")
                    .blurb("Frame rate (frames per second)")
                    .minimum(1)
                    .maximum(240)
                    .default_value(DEFAULT_FPS)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("camera")
                    .nick("Camera")
                    .blurb(
                        "Camera name; its trailing number is the camera id of `reid dataset synth` (cam2 = \
                         camera 2: its lighting, background, viewpoints), other names are hashed",
                    )
                    .default_value(Some(DEFAULT_CAMERA))
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt64::builder("seed")
                    .nick("Seed")
                    .blurb("Seed of the people and cameras (the same seed gives the same people on every camera)")
                    .default_value(0)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("persons")
                    .nick("Persons")
                    .blurb("Number of people (identities 1..=persons) walking through the scene")
                    .maximum(1000)
                    .default_value(DEFAULT_PERSONS)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecBoolean::builder("is-live")
                    .nick("Is live")
                    .blurb(
                        "Act as a live source (frames paced by the clock); false produces frames as fast as possible",
                    )
                    .default_value(true)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecDouble::builder("min-visible")
                    .nick("Minimum visible share")
                    .blurb("A person gets a ROI meta only when at least this share of its box is inside the frame")
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(0.3)
                    .mutable_playing()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut s = lock(&self.settings);
        match pspec.name() {
            "width" => s.width = value.get().unwrap_or(DEFAULT_WIDTH),
            "height" => s.height = value.get().unwrap_or(DEFAULT_HEIGHT),
            "fps" => s.fps = value.get().unwrap_or(DEFAULT_FPS),
            "camera" => {
                s.camera = value
                    .get::<Option<String>>()
                    .ok()
                    .flatten()
                    .filter(|c| !c.is_empty())
                    .unwrap_or_else(|| DEFAULT_CAMERA.to_owned())
            }
            "seed" => s.seed = value.get().unwrap_or(0),
            "persons" => s.persons = value.get().unwrap_or(DEFAULT_PERSONS),
            "is-live" => {
                s.is_live = value.get().unwrap_or(true);
                let live = s.is_live;
                drop(s);
                self.obj().set_live(live);
            }
            "min-visible" => s.min_visible = value.get().unwrap_or(0.3),
            other => gst::warning!(CAT, imp = self, "unknown property {other}"),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let s = lock(&self.settings);
        match pspec.name() {
            "width" => s.width.to_value(),
            "height" => s.height.to_value(),
            "fps" => s.fps.to_value(),
            "camera" => s.camera.to_value(),
            "seed" => s.seed.to_value(),
            "persons" => s.persons.to_value(),
            "is-live" => s.is_live.to_value(),
            "min-visible" => s.min_visible.to_value(),
            _ => None::<String>.to_value(),
        }
    }

    fn constructed(&self) {
        self.parent_constructed();
        let obj = self.obj();
        obj.set_live(true);
        obj.set_format(gst::Format::Time);
    }
}

impl GstObjectImpl for ReidSynthSrc {}

impl ElementImpl for ReidSynthSrc {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Synthetic people source",
                "Source/Video",
                "Renders synthetic people walking through a camera's scene (the `reid dataset synth` \
                 generator) and attaches a `person` ROI meta with the ground-truth track id and identity to \
                 every visible person",
                "reid project",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let caps = gst_video::VideoCapsBuilder::new()
                .format_list([gst_video::VideoFormat::Rgb, gst_video::VideoFormat::Rgba])
                .build();
            vec![
                gst::PadTemplate::new("src", gst::PadDirection::Src, gst::PadPresence::Always, &caps)
                    .expect("static pad template"),
            ]
        });
        TEMPLATES.as_ref()
    }
}

impl ReidSynthSrc {
    fn frame_duration(&self) -> gst::ClockTime {
        let fps = u64::from(lock(&self.settings).fps.max(1));
        gst::ClockTime::SECOND / fps
    }
}

impl BaseSrcImpl for ReidSynthSrc {
    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let s = lock(&self.settings).clone();
        let id = camera_id(&s.camera);
        gst::info!(CAT, imp = self, "camera {} (id {id}), seed {}, {} persons", s.camera, s.seed, s.persons);
        *lock(&self.state) = Some(State { scene: Scene::new(s.seed, id, s.persons), video: None, frame: 0 });
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        *lock(&self.state) = None;
        Ok(())
    }

    fn is_seekable(&self) -> bool {
        false
    }

    fn caps(&self, filter: Option<&gst::Caps>) -> Option<gst::Caps> {
        let s = lock(&self.settings).clone();
        let caps = gst_video::VideoCapsBuilder::new()
            .format_list([gst_video::VideoFormat::Rgb, gst_video::VideoFormat::Rgba])
            .width(s.width as i32)
            .height(s.height as i32)
            .framerate(gst::Fraction::new(s.fps as i32, 1))
            .build();
        Some(match filter {
            Some(filter) => filter.intersect_with_mode(&caps, gst::CapsIntersectMode::First),
            None => caps,
        })
    }

    fn set_caps(&self, caps: &gst::Caps) -> Result<(), gst::LoggableError> {
        let info =
            gst_video::VideoInfo::from_caps(caps).map_err(|_| gst::loggable_error!(CAT, "cannot parse caps {caps}"))?;
        let mut guard = lock(&self.state);
        let state = guard.as_mut().ok_or_else(|| gst::loggable_error!(CAT, "caps before start"))?;
        let background = state.scene.background(info.width(), info.height());
        gst::debug!(CAT, imp = self, "caps {caps}");
        state.video = Some((info, background));
        Ok(())
    }

    fn times(&self, buffer: &gst::BufferRef) -> (Option<gst::ClockTime>, Option<gst::ClockTime>) {
        // A live source is paced by the clock: base class waits until each frame's running time.
        if self.obj().is_live()
            && let Some(pts) = buffer.pts()
        {
            return (Some(pts), buffer.duration().map(|d| pts + d));
        }
        (None, None)
    }

    fn query(&self, query: &mut gst::QueryRef) -> bool {
        if let gst::QueryViewMut::Latency(q) = query.view_mut() {
            let latency = self.frame_duration();
            q.set(self.obj().is_live(), latency, Some(latency));
            return true;
        }
        BaseSrcImplExt::parent_query(self, query)
    }
}

impl PushSrcImpl for ReidSynthSrc {
    fn create(&self, _buffer: Option<&mut gst::BufferRef>) -> Result<CreateSuccess, gst::FlowError> {
        let min_visible = lock(&self.settings).min_visible;
        let mut guard = lock(&self.state);
        let Some(state) = guard.as_mut() else {
            gst::element_imp_error!(self, gst::CoreError::Failed, ("reidsynthsrc: not started"));
            return Err(gst::FlowError::Error);
        };
        let Some((info, background)) = state.video.as_ref() else {
            gst::element_imp_error!(self, gst::CoreError::Negotiation, ("reidsynthsrc: no caps negotiated"));
            return Err(gst::FlowError::NotNegotiated);
        };
        let (width, height) = (info.width(), info.height());
        let fps = info.fps();
        let (num, den) = (fps.numer().max(1) as u64, fps.denom().max(1) as u64);
        let frame = state.frame;
        state.frame += 1;
        let pts = gst::ClockTime::from_nseconds(
            gst::ClockTime::SECOND.nseconds().saturating_mul(frame).saturating_mul(den) / num,
        );
        let next = gst::ClockTime::from_nseconds(
            gst::ClockTime::SECOND.nseconds().saturating_mul(frame + 1).saturating_mul(den) / num,
        );
        let time = frame as f64 * den as f64 / num as f64;

        let placements = state.scene.placements(time, width, height);
        let mut image = background.clone();
        state.scene.draw(&mut image, &placements, frame);

        let mut buffer = gst::Buffer::with_size(info.size()).map_err(|_| gst::FlowError::Error)?;
        {
            let buffer = buffer.get_mut().ok_or(gst::FlowError::Error)?;
            buffer.set_pts(pts);
            buffer.set_duration(next - pts);
            buffer.set_offset(frame);
            buffer.set_offset_end(frame + 1);
            {
                let mut vframe = gst_video::VideoFrameRef::from_buffer_ref_writable(buffer, info)
                    .map_err(|_| gst::FlowError::Error)?;
                let stride = vframe.plane_stride()[0] as usize;
                let rgba = vframe.format() == gst_video::VideoFormat::Rgba;
                let data = vframe.plane_data_mut(0).map_err(|_| gst::FlowError::Error)?;
                for (y, row) in image.as_raw().chunks_exact(3 * width as usize).enumerate() {
                    let dst = &mut data[y * stride..];
                    if rgba {
                        for (d, s) in dst.chunks_exact_mut(4).zip(row.chunks_exact(3)) {
                            d.copy_from_slice(&[s[0], s[1], s[2], 255]);
                        }
                    } else {
                        dst[..row.len()].copy_from_slice(row);
                    }
                }
            }
            for p in &placements {
                let r = p.rect;
                let Some(area) = clamp_box((r.x as u32, r.y as u32, r.width, r.height), width, height) else {
                    continue;
                };
                let full = f64::from(r.width) * f64::from(r.height);
                if full <= 0.0 || f64::from(area.width) * f64::from(area.height) < min_visible * full {
                    continue;
                }
                let mut roi =
                    VideoRegionOfInterestMeta::add(buffer, "person", (area.x, area.y, area.width, area.height));
                roi.set_id(i32::try_from(p.track_id & 0x7fff_ffff).unwrap_or(0));
                roi.add_param(params::tracking_structure(p.track_id, i32::try_from(p.pid).ok()));
            }
        }
        gst::trace!(CAT, imp = self, "frame {frame}: {} people", placements.len());
        Ok(CreateSuccess::NewBuffer(buffer))
    }
}
