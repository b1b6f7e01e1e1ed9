//! Labelling images for evaluation: identities interned into dense ids shared by query and gallery.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use tracing::{info, warn};

use super::error::{BadFile, DatasetError};
use super::identity::Identity;
use super::name::{NameError, parse_market_name};
use super::split::ImageRecord;
use reid_eval::metrics::Label;

/// Where the identity and camera of an image path come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum LabelSource {
    /// Market-1501 when every file name parses, folder per identity when none does, an error when mixed.
    #[default]
    Auto,
    /// The Market-1501 file name (`0002_c1s1_000451_03.jpg`): identity and camera.
    Market,
    /// The parent folder's name is the identity; the camera is unknown.
    Folders,
}

impl fmt::Display for LabelSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LabelSource::Auto => "auto",
            LabelSource::Market => "market",
            LabelSource::Folders => "folders",
        })
    }
}

/// The error of parsing a [`LabelSource`] from text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown label source `{0}`: expected `auto`, `market` or `folders`")]
pub struct UnknownLabelSource(pub String);

impl FromStr for LabelSource {
    type Err = UnknownLabelSource;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "auto" => Ok(LabelSource::Auto),
            "market" | "market1501" | "market-1501" => Ok(LabelSource::Market),
            "folders" | "folder" => Ok(LabelSource::Folders),
            _ => Err(UnknownLabelSource(text.to_owned())),
        }
    }
}

/// The labels of a list of paths, with what was dropped or skipped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Labelled {
    /// One label per kept path, in the order of `kept`.
    pub labels: Vec<Label>,
    /// Indices into the input paths of the labelled items (junk and skipped paths are left out).
    pub kept: Vec<usize>,
    /// Junk paths (pid -1) dropped.
    pub junk_dropped: usize,
    /// Paths whose label could not be read, skipped in lenient mode.
    pub skipped: Vec<BadFile>,
}

/// Interns identities into dense `u32` ids, shared by every call on the same labeler.
///
/// Label the query set and the gallery set with the same `Labeler` so that one person gets one id in both.
#[derive(Clone, Debug, Default)]
pub struct Labeler {
    ids: HashMap<Identity, u32>,
    identities: Vec<Identity>,
}

impl Labeler {
    /// An empty labeler.
    pub fn new() -> Self {
        Self::default()
    }

    /// The dense id of `identity`, assigning the next free id to a new one (`None` once all 2^32 are taken).
    pub fn intern(&mut self, identity: &Identity) -> Option<u32> {
        if let Some(&id) = self.ids.get(identity) {
            return Some(id);
        }
        let id = u32::try_from(self.identities.len()).ok()?;
        self.ids.insert(identity.clone(), id);
        self.identities.push(identity.clone());
        Some(id)
    }

    /// The dense id already given to `identity`, if any.
    pub fn id_of(&self, identity: &Identity) -> Option<u32> {
        self.ids.get(identity).copied()
    }

    /// The identity behind a dense id.
    pub fn identity(&self, pid: u32) -> Option<&Identity> {
        self.identities.get(usize::try_from(pid).ok()?)
    }

    /// The identity behind a dense id as the dataset names it (`0002`, `alice`), for reports.
    pub fn identity_name(&self, pid: u32) -> String {
        match self.identity(pid) {
            Some(identity) => identity.to_string(),
            None => format!("<unknown id {pid}>"),
        }
    }

    /// The number of identities interned so far.
    pub fn len(&self) -> usize {
        self.identities.len()
    }

    /// True when no identity has been interned.
    pub fn is_empty(&self) -> bool {
        self.identities.is_empty()
    }

    /// Labels loaded dataset records (identity and camera as the split loader read them).
    pub fn label_records(&mut self, records: &[ImageRecord]) -> Result<Vec<Label>, DatasetError> {
        records
            .iter()
            .map(|record| {
                let pid = self
                    .intern(&record.identity)
                    .ok_or_else(|| DatasetError::TooManyIdentities { path: record.path.display().to_string() })?;
                Ok(Label::new(pid, record.camera))
            })
            .collect()
    }

    /// Labels image paths as they appear in an inference JSON (`/data/market/query/0001_c1s1_001051_00.jpg`).
    ///
    /// Junk (pid -1, or a folder named `-1`) is dropped and counted. A path whose label cannot be read is an
    /// error naming it, or with `lenient` is skipped and listed. Both `/` and `\` separate folders.
    pub fn label_paths(
        &mut self,
        paths: &[impl AsRef<str>],
        source: LabelSource,
        lenient: bool,
    ) -> Result<Labelled, DatasetError> {
        let source = match source {
            LabelSource::Auto => detect_source(paths)?,
            explicit => explicit,
        };
        let mut out = Labelled::default();
        for (index, path) in paths.iter().enumerate() {
            let path = path.as_ref();
            let read = match source {
                LabelSource::Market => market_label(path),
                _ => folder_label(path),
            };
            match read {
                Ok((identity, _)) if identity.is_junk() => out.junk_dropped += 1,
                Ok((identity, camera)) => {
                    let pid = self
                        .intern(&identity)
                        .ok_or_else(|| DatasetError::TooManyIdentities { path: path.to_owned() })?;
                    out.labels.push(Label::new(pid, camera));
                    out.kept.push(index);
                }
                Err(reason) => {
                    let bad = BadFile::new(path, reason);
                    if !lenient {
                        return Err(DatasetError::BadFile(bad));
                    }
                    warn!("skipping {bad}");
                    out.skipped.push(bad);
                }
            }
        }
        Ok(out)
    }
}

/// Market-1501 when every file name parses, folders when none does, an error naming the first misfit if mixed.
fn detect_source(paths: &[impl AsRef<str>]) -> Result<LabelSource, DatasetError> {
    let mut first_market: Option<&str> = None;
    let mut first_other: Option<(&str, NameError)> = None;
    for path in paths {
        let path = path.as_ref();
        match parse_market_name(file_name(path)) {
            Ok(_) => first_market = first_market.or(Some(path)),
            Err(err) => {
                if first_other.is_none() {
                    first_other = Some((path, err));
                }
            }
        }
        if first_market.is_some() && first_other.is_some() {
            break;
        }
    }
    let source = match (first_market, first_other) {
        (Some(market), Some((path, err))) => {
            return Err(DatasetError::MixedLabels {
                path: path.to_owned(),
                reason: err.to_string(),
                market_example: market.to_owned(),
            });
        }
        (_, None) => LabelSource::Market,
        (None, Some(_)) => LabelSource::Folders,
    };
    info!(%source, paths = paths.len(), "detected label source");
    Ok(source)
}

/// The path's components, last first, without empty and `.` components.
fn components_rev(path: &str) -> impl Iterator<Item = &str> {
    path.rsplit(['/', '\\']).filter(|part| !part.is_empty() && *part != ".")
}

fn file_name(path: &str) -> &str {
    components_rev(path).next().unwrap_or("")
}

fn market_label(path: &str) -> Result<(Identity, Option<u32>), String> {
    parse_market_name(file_name(path))
        .map(|name| (Identity::Id(name.pid), Some(name.camera)))
        .map_err(|err| format!("bad Market-1501 file name: {err}"))
}

fn folder_label(path: &str) -> Result<(Identity, Option<u32>), String> {
    match components_rev(path).nth(1) {
        Some("..") | None => Err("no parent folder to take the identity from".to_owned()),
        Some(folder) => Ok((Identity::from_folder_name(folder), None)),
    }
}
