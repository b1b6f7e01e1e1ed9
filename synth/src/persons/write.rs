//! Writing a Market-1501 folder of synthetic crops: the plan (who, which camera, which split, which name),
//! parallel rendering and JPEG encoding, and the `synth.json` / `README.txt` record.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use image::RgbImage;
use image::codecs::jpeg::JpegEncoder;
use rand::Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use tracing::info;

use super::camera::Camera;
use super::error::PersonsError;
use super::identity::Identity;
use super::pose::Shot;
use super::render::render_crop;
use super::{rng_for, tag};
use reid_eval::progress::Progress;
use reid_runtime::dataset::{MARKET_GALLERY, MARKET_TRAIN, QUERY};

/// JPEG quality of the written crops.
pub const JPEG_QUALITY: u8 = 90;

/// The shape of a synthetic person dataset. Identities `1..=train_ids` are for training, the next `test_ids`
/// for query and gallery (disjoint, as in Market-1501); every identity is seen by every camera.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetSpec {
    /// Training identities (`bounding_box_train`); 0 writes no training folder.
    pub train_ids: u32,
    /// Test identities (`query` and `bounding_box_test`), at least 1.
    pub test_ids: u32,
    /// Cameras (ids `1..=cameras`), at least 2 so that queries have cross-camera matches.
    pub cameras: u32,
    /// Images of each identity in each camera.
    pub images_per_camera: u32,
    /// Crop width in pixels.
    pub width: u32,
    /// Crop height in pixels.
    pub height: u32,
    /// Random seed: the same spec writes byte-identical files.
    pub seed: u64,
    /// Distractor images (pid `0000`, people of no test identity) added to the gallery.
    pub distractors: u32,
    /// Junk images (pid `-1`: bad detections, partial people, empty background) added to the gallery.
    pub junk: u32,
}

impl Default for DatasetSpec {
    /// 100 training and 50 test identities, 4 cameras, 4 images each, 64x128 crops, seed 0, 20 distractors,
    /// 10 junk images: 1,600 training, 200 query and 630 gallery images, written in a few seconds.
    fn default() -> Self {
        Self {
            train_ids: 100,
            test_ids: 50,
            cameras: 4,
            images_per_camera: 4,
            width: 64,
            height: 128,
            seed: 0,
            distractors: 20,
            junk: 10,
        }
    }
}

impl DatasetSpec {
    /// Checks every parameter's range; the error names the parameter.
    pub fn validate(&self) -> Result<(), PersonsError> {
        if self.test_ids == 0 {
            return Err(PersonsError::invalid(
                "--test-ids",
                "at least 1 test identity is needed for query and gallery",
            ));
        }
        if u64::from(self.train_ids) + u64::from(self.test_ids) > 9999 {
            return Err(PersonsError::invalid(
                "--train-ids",
                "train and test identities together must be at most 9999 (four-digit pids)",
            ));
        }
        if !(2..=99).contains(&self.cameras) {
            return Err(PersonsError::invalid(
                "--cameras",
                format!("{} is not in 2..=99 (queries need a match in another camera)", self.cameras),
            ));
        }
        if !(1..=1000).contains(&self.images_per_camera) {
            return Err(PersonsError::invalid(
                "--images-per-camera",
                format!("{} is not in 1..=1000", self.images_per_camera),
            ));
        }
        if !(16..=1024).contains(&self.width) {
            return Err(PersonsError::invalid("--width", format!("{} is not in 16..=1024", self.width)));
        }
        if !(32..=2048).contains(&self.height) {
            return Err(PersonsError::invalid("--height", format!("{} is not in 32..=2048", self.height)));
        }
        for (parameter, value) in [("--distractors", self.distractors), ("--junk", self.junk)] {
            if value > 100_000 {
                return Err(PersonsError::invalid(parameter, format!("{value} is more than 100000")));
            }
        }
        Ok(())
    }

    /// The cameras of this dataset, `1..=cameras`.
    pub fn camera_list(&self) -> Vec<Camera> {
        (1..=self.cameras).map(|id| Camera::new(self.seed, id)).collect()
    }

    /// The conditions of image `index` of identity `pid` in camera `camera` (what the writer renders).
    pub fn shot(&self, camera: &Camera, pid: u32, index: u32) -> Shot {
        let mut rng = rng_for(&[self.seed, tag::IMAGE, u64::from(pid), u64::from(camera.id), u64::from(index)]);
        Shot::random(camera, &mut rng)
    }

    /// True when image `index` of test identity `pid` in `camera` is a query: the first image in every camera,
    /// or with one image per camera, the cameras of one parity (so that the others hold its gallery matches).
    fn is_query(&self, pid: u32, camera: u32, index: u32) -> bool {
        index == 0 && (self.images_per_camera >= 2 || (pid + camera).is_multiple_of(2))
    }
}

/// What [`write_dataset`] wrote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DatasetSummary {
    /// The dataset root.
    #[serde(skip)]
    pub root: PathBuf,
    /// Images in `bounding_box_train`.
    pub train_images: usize,
    /// Images in `query`.
    pub query_images: usize,
    /// Images in `bounding_box_test`, distractors and junk included.
    pub gallery_images: usize,
    /// Distractor images (pid 0) in the gallery.
    pub distractors: usize,
    /// Junk images (pid -1) in the gallery.
    pub junk: usize,
    /// Training identities.
    pub train_ids: u32,
    /// Test identities.
    pub test_ids: u32,
    /// Cameras.
    pub cameras: u32,
}

impl DatasetSummary {
    /// All images written.
    pub fn images(&self) -> usize {
        self.train_images + self.query_images + self.gallery_images
    }
}

/// What one planned image shows.
#[derive(Clone, Copy, Debug)]
enum Subject {
    Person { pid: u32, index: u32 },
    Distractor(u32),
    Junk(u32),
}

/// One image to render: its folder, file name, camera and subject.
struct Planned {
    folder: &'static str,
    name: String,
    camera: u32,
    subject: Subject,
}

/// The images of the dataset, in a fixed order.
fn plan(spec: &DatasetSpec) -> Vec<Planned> {
    let mut items = Vec::new();
    let first_test = spec.train_ids + 1;
    for pid in 1..=spec.train_ids + spec.test_ids {
        for camera in 1..=spec.cameras {
            let mut rng = rng_for(&[spec.seed, tag::NAME, u64::from(pid), u64::from(camera)]);
            let sequence = rng.random_range(1..=6);
            let base = rng.random_range(0..(999_000 - 30 * spec.images_per_camera)) as u64;
            for index in 0..spec.images_per_camera {
                let frame = base + 30 * u64::from(index) + rng.random_range(0..30);
                let bbox = rng.random_range(1..=4);
                let folder = if pid < first_test {
                    MARKET_TRAIN
                } else if spec.is_query(pid, camera, index) {
                    QUERY
                } else {
                    MARKET_GALLERY
                };
                let name = format!("{pid:04}_c{camera}s{sequence}_{frame:06}_{bbox:02}.jpg");
                items.push(Planned { folder, name, camera, subject: Subject::Person { pid, index } });
            }
        }
    }
    for (count, key, prefix) in [(spec.distractors, tag::DISTRACTOR, "0000"), (spec.junk, tag::JUNK, "-1")] {
        for k in 0..count {
            let camera = 1 + k % spec.cameras;
            let mut rng = rng_for(&[spec.seed, tag::NAME, key, u64::from(k)]);
            let sequence = rng.random_range(1..=6);
            // 97 is prime to 10^6: distinct k give distinct frames.
            let frame = (u64::from(k) + 1) * 97 % 1_000_000;
            let bbox = rng.random_range(1..=4);
            let name = format!("{prefix}_c{camera}s{sequence}_{frame:06}_{bbox:02}.jpg");
            let subject = if key == tag::DISTRACTOR { Subject::Distractor(k) } else { Subject::Junk(k) };
            items.push(Planned { folder: MARKET_GALLERY, name, camera, subject });
        }
    }
    items
}

/// Renders the crop of one planned image.
fn render(spec: &DatasetSpec, cameras: &[Camera], item: &Planned) -> RgbImage {
    let camera = &cameras[(item.camera - 1) as usize];
    match item.subject {
        Subject::Person { pid, index } => {
            render_crop(&Identity::new(spec.seed, pid), camera, &spec.shot(camera, pid, index), spec.width, spec.height)
        }
        Subject::Distractor(k) => {
            let mut rng = rng_for(&[spec.seed, tag::DISTRACTOR, u64::from(k)]);
            let identity = Identity::random(&mut rng);
            let shot = Shot::random(camera, &mut rng);
            render_crop(&identity, camera, &shot, spec.width, spec.height)
        }
        Subject::Junk(k) => {
            let mut rng = rng_for(&[spec.seed, tag::JUNK, u64::from(k)]);
            let identity = Identity::random(&mut rng);
            let mut shot = Shot::random(camera, &mut rng);
            match rng.random_range(0..3) {
                // A box that caught only the edge of a person.
                0 => shot.offset.0 = if rng.random_bool(0.5) { -0.55 } else { 0.55 },
                // A box far too close: head and torso only.
                1 => {
                    shot.scale = rng.random_range(1.8..2.4);
                    shot.offset.1 = rng.random_range(0.3..0.6);
                }
                // A false detection: background only.
                _ => shot.offset.0 = 3.0,
            }
            render_crop(&identity, camera, &shot, spec.width, spec.height)
        }
    }
}

/// Writes the dataset described by `spec` under `out` (created if missing) in the Market-1501 layout:
/// `bounding_box_train/`, `bounding_box_test/`, `query/`, plus `synth.json` (the spec and counts),
/// `README.txt` and `preview.png` (the first identities in every camera).
///
/// A non-empty `out` is refused unless `force`, which replaces the three split folders and the three record
/// files (other files are left alone). Images are rendered in parallel; the files depend only on `spec`.
pub fn write_dataset(
    spec: &DatasetSpec,
    out: &Path,
    force: bool,
    progress: &dyn Progress,
) -> Result<DatasetSummary, PersonsError> {
    spec.validate()?;
    prepare_folder(out, force)?;
    let items = plan(spec);
    let cameras = spec.camera_list();
    for folder in [MARKET_GALLERY, QUERY].into_iter().chain((spec.train_ids > 0).then_some(MARKET_TRAIN)) {
        let dir = out.join(folder);
        fs::create_dir_all(&dir).map_err(|err| PersonsError::io("create folder", &dir, err))?;
    }
    info!(out = %out.display(), images = items.len(), "writing synthetic person dataset");
    progress.stage("rendering images", items.len() as u64);
    items.par_iter().try_for_each(|item| {
        let path = out.join(item.folder).join(&item.name);
        write_jpeg(&render(spec, &cameras, item), &path)?;
        progress.advance(1);
        Ok::<(), PersonsError>(())
    })?;
    progress.finish_stage();

    let count = |folder: &str| items.iter().filter(|item| item.folder == folder).count();
    let summary = DatasetSummary {
        root: out.to_owned(),
        train_images: count(MARKET_TRAIN),
        query_images: count(QUERY),
        gallery_images: count(MARKET_GALLERY),
        distractors: spec.distractors as usize,
        junk: spec.junk as usize,
        train_ids: spec.train_ids,
        test_ids: spec.test_ids,
        cameras: spec.cameras,
    };
    write_records(spec, &summary, out)?;
    Ok(summary)
}

/// Encodes `image` as a JPEG of quality [`JPEG_QUALITY`] at `path`.
fn write_jpeg(image: &RgbImage, path: &Path) -> Result<(), PersonsError> {
    let mut bytes = Vec::with_capacity(8 * 1024);
    JpegEncoder::new_with_quality(&mut bytes, JPEG_QUALITY)
        .encode_image(image)
        .map_err(|error| PersonsError::Encode { path: path.to_owned(), error })?;
    fs::write(path, bytes).map_err(|err| PersonsError::io("write", path, err))
}

/// The files [`write_dataset`] owns in the root besides the split folders.
const RECORDS: [&str; 3] = ["synth.json", "README.txt", "preview.png"];

/// Creates `out` or checks that it may be written: empty, or `force` (then the dataset's own folders and
/// files are removed first, so that no image of an earlier run stays behind).
fn prepare_folder(out: &Path, force: bool) -> Result<(), PersonsError> {
    match fs::metadata(out) {
        Ok(meta) if !meta.is_dir() => return Err(PersonsError::NotAFolder { path: out.to_owned() }),
        Ok(_) => {}
        Err(err) if err.kind() == ErrorKind::NotFound => {
            return fs::create_dir_all(out).map_err(|err| PersonsError::io("create folder", out, err));
        }
        Err(err) => return Err(PersonsError::io("open output folder", out, err)),
    }
    let entries = fs::read_dir(out).map_err(|err| PersonsError::io("list folder", out, err))?.count();
    if entries == 0 {
        return Ok(());
    }
    if !force {
        return Err(PersonsError::NotEmpty { path: out.to_owned(), entries });
    }
    for folder in [MARKET_TRAIN, MARKET_GALLERY, QUERY] {
        let dir = out.join(folder);
        if dir.is_dir() {
            fs::remove_dir_all(&dir).map_err(|err| PersonsError::io("remove folder", &dir, err))?;
        }
    }
    for file in RECORDS {
        let path = out.join(file);
        if path.is_file() {
            fs::remove_file(&path).map_err(|err| PersonsError::io("remove", &path, err))?;
        }
    }
    Ok(())
}

/// Writes `synth.json`, `README.txt` and `preview.png` into the root.
fn write_records(spec: &DatasetSpec, summary: &DatasetSummary, out: &Path) -> Result<(), PersonsError> {
    let record = serde_json::json!({
        "generator": "reid dataset synth",
        "generator_version": 1,
        "layout": "market1501",
        "jpeg_quality": JPEG_QUALITY,
        "spec": spec,
        "counts": summary,
    });
    let path = out.join("synth.json");
    let text = serde_json::to_string_pretty(&record).map_err(|err| PersonsError::io("write", &path, err.into()))?;
    fs::write(&path, text + "\n").map_err(|err| PersonsError::io("write", &path, err))?;

    let path = out.join("README.txt");
    fs::write(&path, readme(spec, summary)).map_err(|err| PersonsError::io("write", &path, err))?;

    let path = out.join("preview.png");
    render_preview(spec, 8).save(&path).map_err(|error| PersonsError::Encode { path: path.clone(), error })?;
    Ok(())
}

fn readme(spec: &DatasetSpec, s: &DatasetSummary) -> String {
    format!(
        "Synthetic person re-identification dataset in the Market-1501 layout, written by `reid dataset synth`.\n\
         \n\
         bounding_box_train/  {train} images of identities 0001..{last_train:04} (training)\n\
         query/               {query} images: each test identity once per camera (with one image per camera,\n\
         \u{20}                    in half of the cameras, so that the others hold its matches)\n\
         bounding_box_test/   {gallery} images: the other images of the test identities, {distractors} distractors\n\
         \u{20}                    (pid 0000) and {junk} junk images (pid -1, ignored by the evaluation)\n\
         preview.png          identities 0001.. (rows) in every camera (columns)\n\
         synth.json           the parameters and counts, as JSON\n\
         \n\
         File names: PPPP_cCsS_FFFFFF_NN.jpg (pid, camera, sequence, frame, box), JPEG quality {quality}.\n\
         Test identities {first_test:04}..{last_test:04} never appear in training.\n\
         Every image is a pure function of the parameters: the same command writes the same bytes.\n\
         \n\
         Parameters: {train_ids} training and {test_ids} test identities, {cameras} cameras, {ipc} images per\n\
         identity and camera, {w}x{h} pixels, seed {seed}.\n\
         \n\
         To write it again:\n\
         \u{20} reid dataset synth --out DIR --train-ids {train_ids} --test-ids {test_ids} --cameras {cameras} \
         --images-per-camera {ipc} --width {w} --height {h} --seed {seed} --distractors {distractors} --junk {junk}\n",
        train = s.train_images,
        last_train = spec.train_ids,
        query = s.query_images,
        gallery = s.gallery_images,
        distractors = spec.distractors,
        junk = spec.junk,
        quality = JPEG_QUALITY,
        first_test = spec.train_ids + 1,
        last_test = spec.train_ids + spec.test_ids,
        train_ids = spec.train_ids,
        test_ids = spec.test_ids,
        cameras = spec.cameras,
        ipc = spec.images_per_camera,
        w = spec.width,
        h = spec.height,
        seed = spec.seed,
    )
}

/// A contact sheet for a visual check: identities `1..=identities` (rows) in every camera (columns), each
/// cell the identity's first image in that camera as the dataset holds it, with 2-pixel grey gaps.
pub fn render_preview(spec: &DatasetSpec, identities: u32) -> RgbImage {
    let cameras = spec.camera_list();
    let (w, h, gap) = (spec.width, spec.height, 2);
    let cols = cameras.len() as u32;
    let mut sheet = RgbImage::from_pixel(cols * (w + gap) + gap, identities * (h + gap) + gap, image::Rgb([128; 3]));
    for row in 0..identities {
        let pid = row + 1;
        let identity = Identity::new(spec.seed, pid);
        for (col, camera) in cameras.iter().enumerate() {
            let crop = render_crop(&identity, camera, &spec.shot(camera, pid, 0), w, h);
            let (x0, y0) = (gap + col as u32 * (w + gap), gap + row * (h + gap));
            for (x, y, pixel) in crop.enumerate_pixels() {
                sheet.put_pixel(x0 + x, y0 + y, *pixel);
            }
        }
    }
    sheet
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn plan_counts_and_unique_names() {
        let spec = DatasetSpec {
            train_ids: 7,
            test_ids: 5,
            cameras: 3,
            images_per_camera: 2,
            distractors: 9,
            junk: 4,
            ..DatasetSpec::default()
        };
        let items = plan(&spec);
        assert_eq!(items.len(), (7 + 5) * 3 * 2 + 9 + 4);
        let names: HashSet<&str> = items.iter().map(|item| item.name.as_str()).collect();
        assert_eq!(names.len(), items.len(), "file names must be unique");
        assert_eq!(items.iter().filter(|item| item.folder == QUERY).count(), 5 * 3);
        assert!(items.iter().any(|item| item.name.starts_with("-1_c")));
        assert!(items.iter().any(|item| item.name.starts_with("0000_c")));
    }

    #[test]
    fn one_image_per_camera_still_leaves_gallery_matches() {
        for cameras in [2, 3, 5] {
            let spec = DatasetSpec {
                train_ids: 0,
                test_ids: 6,
                cameras,
                images_per_camera: 1,
                distractors: 0,
                junk: 0,
                ..DatasetSpec::default()
            };
            for pid in 1..=6 {
                let query: Vec<u32> = (1..=cameras).filter(|&c| spec.is_query(pid, c, 0)).collect();
                let gallery: Vec<u32> = (1..=cameras).filter(|&c| !spec.is_query(pid, c, 0)).collect();
                assert!(!gallery.is_empty(), "pid {pid} with {cameras} cameras has no gallery image");
                assert!(query.iter().all(|q| gallery.iter().any(|g| g != q)));
            }
        }
    }

    #[test]
    fn validation_names_the_parameter() {
        let bad = DatasetSpec { cameras: 1, ..DatasetSpec::default() };
        let msg = bad.validate().unwrap_err().to_string();
        assert!(msg.contains("--cameras"), "{msg}");
        let bad = DatasetSpec { test_ids: 0, ..DatasetSpec::default() };
        assert!(bad.validate().unwrap_err().to_string().contains("--test-ids"));
        DatasetSpec::default().validate().unwrap();
    }
}
