//! `check_dataset`: the report a user runs first on a dataset.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};

use serde::Serialize;
use tracing::info;

use super::decode::{DecodeSummary, decode_all};
use super::error::{BadFile, DatasetError, serialize_lossy_path};
use super::identity::Identity;
use super::layout::{Dataset, SplitKind, open_dataset};
use super::split::{ImageRecord, Layout, Split};
use reid_eval::progress::{NoProgress, Progress};

/// What [`check_dataset`] does beyond listing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CheckOptions {
    /// List unusable files and go on, instead of stopping at the first.
    pub lenient: bool,
    /// Decode every image to find corrupt files and measure image sizes.
    pub decode: bool,
}

/// The images of one camera in a split.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct CameraCount {
    /// The camera id.
    pub camera: u32,
    /// Images from that camera.
    pub images: usize,
}

/// The counts of one split.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SplitReport {
    /// Which split.
    pub split: SplitKind,
    /// Its folder.
    #[serde(serialize_with = "serialize_lossy_path")]
    pub dir: PathBuf,
    /// Usable images (distractors included, junk excluded).
    pub images: usize,
    /// Distinct identities, distractors (pid 0) not counted.
    pub identities: usize,
    /// Images per camera, by camera id (empty when the layout has no cameras).
    pub cameras: Vec<CameraCount>,
    /// Images whose camera is unknown.
    pub images_without_camera: usize,
    /// Junk images (pid -1) dropped.
    pub junk_dropped: usize,
    /// Distractor images (pid 0), kept.
    pub distractors: usize,
    /// Non-image entries ignored (e.g. `Thumbs.db`).
    pub ignored_files: usize,
    /// Unusable files skipped (lenient mode; strict mode stops at the first).
    pub bad_files: Vec<BadFile>,
    /// What decoding found, when decoding was asked for.
    pub decode: Option<DecodeSummary>,
}

/// The result of [`check_dataset`]: per-split counts, cross-split checks and warnings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DatasetReport {
    /// The dataset root.
    #[serde(serialize_with = "serialize_lossy_path")]
    pub root: PathBuf,
    /// The detected layout.
    pub layout: Layout,
    /// Whether unusable files were skipped rather than fatal.
    pub lenient: bool,
    /// One report per split present, in the order train, query, gallery.
    pub splits: Vec<SplitReport>,
    /// Query identities with no gallery image at all, sorted.
    pub query_identities_missing_from_gallery: Vec<String>,
    /// Query images with no valid gallery match under the protocol (same identity, different or unknown camera).
    pub queries_without_valid_match: Vec<String>,
    /// Identities (distractors excepted) present in train and in query or gallery: a train/test leak.
    pub train_test_shared_identities: Vec<String>,
    /// One line per problem worth a look, most important last.
    pub warnings: Vec<String>,
}

impl DatasetReport {
    /// Problems that make the dataset unusable as it is: undecodable images.
    pub fn errors(&self) -> usize {
        self.splits.iter().filter_map(|split| split.decode.as_ref()).map(|decode| decode.failures.len()).sum()
    }

    /// The report of one split, if present.
    pub fn split(&self, kind: SplitKind) -> Option<&SplitReport> {
        self.splits.iter().find(|split| split.split == kind)
    }

    /// `path` relative to the dataset root, for short messages.
    fn relative<'a>(&self, path: &'a Path) -> &'a Path {
        path.strip_prefix(&self.root).unwrap_or(path)
    }
}

/// Opens the dataset at `root` and reports on it; see [`check_dataset_with_progress`].
pub fn check_dataset(root: &Path, opts: &CheckOptions) -> Result<DatasetReport, DatasetError> {
    check_dataset_with_progress(root, opts, &NoProgress)
}

/// Opens the dataset at `root` and reports on it, with a `decode images` progress stage when decoding.
///
/// In strict mode the first unusable file is the error; in lenient mode such files are listed in the report.
/// Undecodable images never stop the check: they are listed per split (see [`DatasetReport::errors`]).
pub fn check_dataset_with_progress(
    root: &Path,
    opts: &CheckOptions,
    progress: &dyn Progress,
) -> Result<DatasetReport, DatasetError> {
    let dataset = open_dataset(root, opts.lenient)?;
    let mut splits: Vec<SplitReport> =
        dataset.splits().into_iter().map(|(kind, split)| split_report(kind, split)).collect();
    if opts.decode {
        decode_splits(&dataset, &mut splits, progress);
    }
    let mut report = DatasetReport {
        root: root.to_owned(),
        layout: dataset.layout,
        lenient: opts.lenient,
        splits,
        query_identities_missing_from_gallery: missing_from_gallery(&dataset),
        queries_without_valid_match: without_valid_match(&dataset),
        train_test_shared_identities: shared_with_train(&dataset),
        warnings: Vec::new(),
    };
    report.warnings = warnings(&report, &dataset);
    info!(root = %root.display(), warnings = report.warnings.len(), errors = report.errors(), "checked dataset");
    Ok(report)
}

fn split_report(kind: SplitKind, split: &Split) -> SplitReport {
    let mut cameras: BTreeMap<u32, usize> = BTreeMap::new();
    let mut identities = BTreeSet::new();
    let mut images_without_camera = 0;
    let mut distractors = 0;
    for record in &split.records {
        match record.camera {
            Some(camera) => *cameras.entry(camera).or_default() += 1,
            None => images_without_camera += 1,
        }
        if record.identity.is_distractor() {
            distractors += 1;
        } else {
            identities.insert(&record.identity);
        }
    }
    SplitReport {
        split: kind,
        dir: split.dir.clone(),
        images: split.records.len(),
        identities: identities.len(),
        cameras: cameras.into_iter().map(|(camera, images)| CameraCount { camera, images }).collect(),
        images_without_camera,
        junk_dropped: split.junk_dropped,
        distractors,
        ignored_files: split.ignored_files,
        bad_files: split.skipped.clone(),
        decode: None,
    }
}

/// Decodes the images of every split in one parallel pass and fills in each split's summary.
fn decode_splits(dataset: &Dataset, reports: &mut [SplitReport], progress: &dyn Progress) {
    let splits = dataset.splits();
    let paths: Vec<&Path> =
        splits.iter().flat_map(|(_, split)| split.records.iter().map(|record| record.path.as_path())).collect();
    info!(images = paths.len(), "decoding images");
    let mut results = decode_all(&paths, progress).into_iter();
    for ((_, split), report) in splits.iter().zip(reports.iter_mut()) {
        let split_paths = split.records.iter().map(|record| record.path.as_path());
        let split_results: Vec<_> = results.by_ref().take(split.records.len()).collect();
        report.decode = Some(DecodeSummary::from_results(split_paths, split_results));
    }
}

/// Real identities (distractors excepted) of a split.
fn identities(records: &[ImageRecord]) -> BTreeSet<&Identity> {
    records.iter().map(|record| &record.identity).filter(|identity| !identity.is_distractor()).collect()
}

fn missing_from_gallery(dataset: &Dataset) -> Vec<String> {
    let gallery = identities(&dataset.gallery.records);
    identities(&dataset.query.records).difference(&gallery).map(ToString::to_string).collect()
}

/// Query images with no gallery image of the same identity left after removing same-camera images.
fn without_valid_match(dataset: &Dataset) -> Vec<String> {
    // Per identity: all gallery images, and those per known camera.
    let mut gallery: HashMap<&Identity, (usize, HashMap<u32, usize>)> = HashMap::new();
    for record in &dataset.gallery.records {
        let (total, per_camera) = gallery.entry(&record.identity).or_default();
        *total += 1;
        if let Some(camera) = record.camera {
            *per_camera.entry(camera).or_default() += 1;
        }
    }
    dataset
        .query
        .records
        .iter()
        .filter(|query| {
            let Some((total, per_camera)) = gallery.get(&query.identity) else {
                return true;
            };
            let same_view = query.camera.and_then(|camera| per_camera.get(&camera)).copied().unwrap_or(0);
            total - same_view == 0
        })
        .map(|query| query.path.to_string_lossy().into_owned())
        .collect()
}

fn shared_with_train(dataset: &Dataset) -> Vec<String> {
    let Some(train) = &dataset.train else {
        return Vec::new();
    };
    let test: BTreeSet<&Identity> =
        identities(&dataset.query.records).union(&identities(&dataset.gallery.records)).copied().collect();
    identities(&train.records).intersection(&test).map(ToString::to_string).collect()
}

fn warnings(report: &DatasetReport, dataset: &Dataset) -> Vec<String> {
    let mut warnings = Vec::new();
    for split in &report.splits {
        if let Some(first) = split.bad_files.first() {
            warnings.push(format!(
                "{} unusable files skipped in {} (e.g. {}: {})",
                split.bad_files.len(),
                split.split,
                report.relative(&first.path).display(),
                first.reason
            ));
        }
        if let Some(first) = split.decode.as_ref().and_then(|decode| decode.failures.first()) {
            let failed = split.decode.as_ref().map_or(0, |decode| decode.failures.len());
            warnings.push(format!(
                "{failed} images in {} could not be decoded (e.g. {}: {})",
                split.split,
                report.relative(&first.path).display(),
                first.reason
            ));
        }
    }
    let query_distractors: Vec<&ImageRecord> =
        dataset.query.records.iter().filter(|record| record.identity.is_distractor()).collect();
    if let Some(first) = query_distractors.first() {
        warnings.push(format!(
            "{} query images are distractors (pid 0) (e.g. {})",
            query_distractors.len(),
            report.relative(&first.path).display()
        ));
    }
    if let Some(first) = report.query_identities_missing_from_gallery.first() {
        warnings.push(format!(
            "{} query identities are absent from the gallery (e.g. {first})",
            report.query_identities_missing_from_gallery.len()
        ));
    }
    if let Some(first) = report.queries_without_valid_match.first() {
        warnings.push(format!(
            "{} query images have no valid gallery match (e.g. {})",
            report.queries_without_valid_match.len(),
            report.relative(Path::new(first)).display()
        ));
    }
    if let Some(first) = report.train_test_shared_identities.first() {
        warnings.push(format!(
            "{} identities appear in both train and query/gallery (e.g. {first}): a train/test leak",
            report.train_test_shared_identities.len()
        ));
    }
    warnings.into_iter().map(escape_controls).collect()
}

/// Keeps a warning on one line even when a file name holds a newline or another control character.
fn escape_controls(text: String) -> String {
    if !text.chars().any(char::is_control) {
        return text;
    }
    text.chars().map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() }).collect()
}

impl fmt::Display for DatasetReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "dataset {} ({} layout{})",
            self.root.display(),
            self.layout,
            if self.lenient { ", lenient" } else { "" }
        )?;
        writeln!(f)?;
        let has_cameras = self.splits.iter().any(|split| !split.cameras.is_empty());
        let header = ["split", "images", "identities", "cameras", "junk", "distractors", "ignored", "skipped"];
        let rows: Vec<Vec<String>> = self
            .splits
            .iter()
            .map(|split| {
                vec![
                    split.split.to_string(),
                    split.images.to_string(),
                    split.identities.to_string(),
                    if split.cameras.is_empty() { "-".to_owned() } else { split.cameras.len().to_string() },
                    split.junk_dropped.to_string(),
                    split.distractors.to_string(),
                    split.ignored_files.to_string(),
                    split.bad_files.len().to_string(),
                ]
            })
            .collect();
        write_table(f, &header, &rows)?;

        if has_cameras {
            writeln!(f)?;
            writeln!(f, "images per camera")?;
            let cameras: BTreeSet<u32> =
                self.splits.iter().flat_map(|split| split.cameras.iter().map(|count| count.camera)).collect();
            let unknown = self.splits.iter().any(|split| split.images_without_camera > 0);
            let mut header: Vec<String> = vec![String::new()];
            header.extend(cameras.iter().map(|camera| format!("c{camera}")));
            if unknown {
                header.push("unknown".to_owned());
            }
            let rows: Vec<Vec<String>> = self
                .splits
                .iter()
                .map(|split| {
                    let mut row = vec![format!("  {}", split.split)];
                    row.extend(cameras.iter().map(|camera| {
                        let count = split.cameras.iter().find(|count| count.camera == *camera);
                        count.map_or(0, |count| count.images).to_string()
                    }));
                    if unknown {
                        row.push(split.images_without_camera.to_string());
                    }
                    row
                })
                .collect();
            let header: Vec<&str> = header.iter().map(String::as_str).collect();
            write_table(f, &header, &rows)?;
        }

        if self.splits.iter().any(|split| split.decode.is_some()) {
            writeln!(f)?;
            writeln!(f, "decoded image sizes (min / median / max)")?;
            let header = ["", "decoded", "failed", "width", "height"];
            let rows: Vec<Vec<String>> = self
                .splits
                .iter()
                .filter_map(|split| Some((split.split, split.decode.as_ref()?)))
                .map(|(kind, decode)| {
                    let stats = |stats: Option<super::decode::SizeStats>| {
                        stats.map_or("-".to_owned(), |s| format!("{} / {} / {}", s.min, s.median, s.max))
                    };
                    vec![
                        format!("  {kind}"),
                        decode.decoded.to_string(),
                        decode.failures.len().to_string(),
                        stats(decode.width),
                        stats(decode.height),
                    ]
                })
                .collect();
            write_table(f, &header, &rows)?;
        }

        writeln!(f)?;
        writeln!(f, "across splits")?;
        let rows = vec![
            vec![
                "  query identities absent from the gallery".to_owned(),
                self.query_identities_missing_from_gallery.len().to_string(),
            ],
            vec![
                "  query images without a valid gallery match".to_owned(),
                self.queries_without_valid_match.len().to_string(),
            ],
            vec![
                "  identities shared by train and query/gallery".to_owned(),
                self.train_test_shared_identities.len().to_string(),
            ],
        ];
        write_table(f, &[], &rows)?;

        let errors = self.errors();
        if !self.warnings.is_empty() || errors > 0 {
            writeln!(f)?;
        }
        for warning in &self.warnings {
            writeln!(f, "warning: {warning}")?;
        }
        if errors > 0 {
            writeln!(f, "error: {errors} images could not be decoded")?;
        }
        Ok(())
    }
}

/// Writes rows as aligned columns: the first left-aligned, the others right-aligned.
fn write_table(f: &mut fmt::Formatter<'_>, header: &[&str], rows: &[Vec<String>]) -> fmt::Result {
    let columns = rows.iter().map(Vec::len).chain([header.len()]).max().unwrap_or(0);
    let mut widths = vec![0; columns];
    let header_row: Vec<String> = header.iter().map(|cell| (*cell).to_owned()).collect();
    let all_rows = (!header.is_empty()).then_some(&header_row).into_iter().chain(rows);
    for row in all_rows.clone() {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in all_rows {
        let mut line = String::new();
        for (index, (cell, width)) in row.iter().zip(&widths).enumerate() {
            if index == 0 {
                write!(line, "{cell:<width$}")?;
            } else {
                write!(line, "  {cell:>width$}")?;
            }
        }
        writeln!(f, "{}", line.trim_end())?;
    }
    Ok(())
}
