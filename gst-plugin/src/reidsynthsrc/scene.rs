//! The scene a `reidsynthsrc` camera shows: seeded people walking across its background, where each one is at
//! a given time, and drawing them.

use image::RgbImage;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reid_synth::persons::{
    Camera, Identity, Pose, Rect, Viewpoint, apply_sensor, derive_seed, render_background, render_person,
};

/// Keys separating this element's random streams from the dataset writer's.
const TAG_WALKER: u64 = 0x5752_4b52;
const TAG_WALK: u64 = 0x5741_4c4b;
const TAG_NOISE: u64 = 0x4e4f_4953;

/// The camera id of a camera name: its trailing digits (`cam2` and `2` are camera 2, as in Market-1501 names),
/// else a stable hash of the name (FNV-1a, 1..=1_000_000).
pub fn camera_id(name: &str) -> u32 {
    let digits: String =
        name.chars().rev().take_while(char::is_ascii_digit).collect::<Vec<_>>().into_iter().rev().collect();
    if let Ok(id) = digits.parse::<u32>() {
        return id;
    }
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    for b in name.bytes() {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash % 1_000_000) as u32 + 1
}

/// How one person moves through the scene: walks of `walk` seconds separated by `pause` seconds off-screen.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Walker {
    pid: u32,
    walk: f64,
    pause: f64,
    offset: f64,
}

/// One visible person on one frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Placement {
    /// Person id (1-based).
    pub pid: u32,
    /// Track id of this walk.
    pub track_id: u64,
    /// Box (may stick out of the frame).
    pub rect: Rect,
    /// Pose.
    pub pose: Pose,
    /// Distance from the camera, 0 (far) to 1 (near): far people are drawn first.
    pub depth: f32,
}

/// The people of one camera, and where each is at any time: a pure function of seed, camera and time.
#[derive(Clone, Debug)]
pub struct Scene {
    /// The camera's conditions.
    pub camera: Camera,
    /// The people, `pid` = index + 1.
    pub identities: Vec<Identity>,
    walkers: Vec<Walker>,
    seed: u64,
}

impl Scene {
    /// The scene of `persons` people seen by camera `camera_id` under `seed`.
    pub fn new(seed: u64, camera_id: u32, persons: u32) -> Self {
        let camera = Camera::new(seed, camera_id);
        let identities = (1..=persons).map(|pid| Identity::new(seed, pid)).collect();
        let walkers = (1..=persons)
            .map(|pid| {
                let mut rng =
                    StdRng::seed_from_u64(derive_seed(&[seed, TAG_WALKER, u64::from(pid), u64::from(camera_id)]));
                let walk = rng.random_range(4.0..9.0);
                let pause = rng.random_range(0.5..4.0);
                let offset = rng.random_range(0.0..walk + pause);
                Walker { pid, walk, pause, offset }
            })
            .collect();
        Scene { camera, identities, walkers, seed }
    }

    /// The people visible at `time` seconds on a `width x height` frame, far ones first.
    pub fn placements(&self, time: f64, width: u32, height: u32) -> Vec<Placement> {
        let (fw, fh) = (width as f32, height as f32);
        let horizon = self.camera.background.horizon.clamp(0.3, 0.9);
        let persons = self.walkers.len() as u64;
        let mut out = Vec::new();
        for w in &self.walkers {
            let t = time + w.offset;
            let cycle = w.walk + w.pause;
            let walk_no = (t / cycle).floor().max(0.0);
            let u = ((t - walk_no * cycle) / w.walk) as f32;
            if u > 1.0 {
                continue;
            }
            let walk_no = walk_no as u64;
            let mut rng = StdRng::seed_from_u64(derive_seed(&[
                self.seed,
                TAG_WALK,
                u64::from(w.pid),
                u64::from(self.camera.id),
                walk_no,
            ]));
            let viewpoint = self.camera.viewpoint(&mut rng);
            let base_depth: f32 = rng.random_range(0.0..1.0);
            let lane: f32 = rng.random_range(0.15..0.85);
            let drift: f32 = rng.random_range(-0.15..0.15);
            let (depth, x_share) = match viewpoint {
                Viewpoint::Right => (base_depth, -0.15 + 1.3 * u),
                Viewpoint::Left => (base_depth, 1.15 - 1.3 * u),
                // Towards the camera: from far to near; away: from near to far.
                Viewpoint::Front => (0.1 + 0.85 * u, lane + drift * u),
                Viewpoint::Back => (0.95 - 0.85 * u, lane + drift * u),
            };
            let h = fh * (0.3 + 0.5 * depth);
            let feet = fh * (horizon + (1.0 - horizon) * (0.1 + 0.85 * depth));
            let bw = 0.45 * h;
            let cx = x_share * fw;
            // One stride per box height or so: the walking cycle advances with the distance covered.
            let travelled = match viewpoint {
                Viewpoint::Left | Viewpoint::Right => 1.3 * u * fw,
                Viewpoint::Front | Viewpoint::Back => 0.85 * u * fh * 1.5,
            };
            let phase = std::f32::consts::TAU * travelled / (0.9 * h.max(1.0));
            let rect = Rect::new(
                (cx - bw / 2.0).round() as i32,
                (feet - h).round() as i32,
                bw.round() as u32,
                h.round() as u32,
            );
            out.push(Placement {
                pid: w.pid,
                track_id: walk_no * persons + u64::from(w.pid),
                rect,
                pose: Pose::new(viewpoint, phase),
                depth,
            });
        }
        out.sort_by(|a, b| a.depth.total_cmp(&b.depth));
        out
    }

    /// The camera's background for a `width x height` frame, with its sensor's blur and noise.
    pub fn background(&self, width: u32, height: u32) -> RgbImage {
        let mut image = RgbImage::new(width, height);
        render_background(&self.camera, &mut image, derive_seed(&[self.seed, u64::from(self.camera.id)]));
        // The sensor's blur is given for a 128-pixel person box and scales with the region: scale it to the
        // people's size in this frame (about half its height), not to the whole frame.
        let camera = Camera { blur: self.camera.blur * 0.5, ..self.camera };
        apply_sensor(&camera, &mut image, Rect::full(width, height), derive_seed(&[self.seed, TAG_NOISE]));
        image
    }

    /// Draws `placements` onto `image` (a copy of [`Scene::background`]) for frame number `frame`.
    pub fn draw(&self, image: &mut RgbImage, placements: &[Placement], frame: u64) {
        for p in placements {
            render_person(&self.identities[p.pid as usize - 1], &self.camera, &p.pose, image, p.rect);
            apply_sensor(&self.camera, image, p.rect, derive_seed(&[self.seed, TAG_NOISE, frame, u64::from(p.pid)]));
        }
    }
}
