//! Loading one split folder (train, query or gallery) into image records.

use std::ffi::OsStr;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;
use tracing::{debug, info, warn};

use super::error::{BadFile, DatasetError};
use super::identity::Identity;
use super::name::{is_image_extension, parse_market_name};

/// How a dataset lays out its images.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// Market-1501: split folders of images named `PPPP_cC[sS_FFFFFF_NN].jpg`.
    Market,
    /// Camera-less: split folders holding one sub-folder per identity, named for the identity.
    Folders,
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layout::Market => "Market-1501",
            Layout::Folders => "folder per identity",
        })
    }
}

/// One usable image of a split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRecord {
    /// The image file.
    pub path: PathBuf,
    /// Who it shows.
    pub identity: Identity,
    /// The camera, when the layout has cameras (Market-1501); `None` in the folder-per-identity layout.
    pub camera: Option<u32>,
    /// The Market-1501 sequence number, when the name has one.
    pub sequence: Option<u32>,
    /// The frame number, when the name has one.
    pub frame: Option<u32>,
}

/// The images of one split folder, with what was dropped, skipped or ignored on the way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Split {
    /// The split folder.
    pub dir: PathBuf,
    /// The usable images (distractors included, junk excluded), sorted by path.
    pub records: Vec<ImageRecord>,
    /// Junk images (pid -1) found and dropped.
    pub junk_dropped: usize,
    /// Files that could not be used, skipped in lenient mode (strict mode stops at the first).
    pub skipped: Vec<BadFile>,
    /// Entries that are not images (e.g. `Thumbs.db`, hidden files, stray folders), ignored.
    pub ignored_files: usize,
}

/// Lists and labels the images of the split folder `dir` laid out as `layout`.
///
/// Non-image files and hidden entries (names starting with `.`, such as macOS `._*` files) are ignored and
/// counted; junk images are dropped and counted. A file that cannot be used (a name that does not parse, an
/// image outside an identity folder, a folder nested in an identity folder, a broken link) is an error
/// naming it, or with `lenient` is skipped and listed in [`Split::skipped`]. A split with no usable image
/// is an error naming the folder.
pub fn load_split(dir: &Path, layout: Layout, lenient: bool) -> Result<Split, DatasetError> {
    let mut loader = Loader {
        lenient,
        split: Split {
            dir: dir.to_owned(),
            records: Vec::new(),
            junk_dropped: 0,
            skipped: Vec::new(),
            ignored_files: 0,
        },
    };
    match layout {
        Layout::Market => loader.load_market(dir)?,
        Layout::Folders => loader.load_folders(dir)?,
    }
    let mut split = loader.split;
    if split.records.is_empty() {
        return Err(DatasetError::EmptySplit {
            dir: dir.to_owned(),
            junk_dropped: split.junk_dropped,
            skipped: split.skipped.len(),
            ignored_files: split.ignored_files,
        });
    }
    split.records.sort_by(|a, b| a.path.cmp(&b.path));
    info!(
        dir = %dir.display(),
        images = split.records.len(),
        junk = split.junk_dropped,
        skipped = split.skipped.len(),
        ignored = split.ignored_files,
        "loaded split"
    );
    Ok(split)
}

/// True when the path's extension is an image extension.
pub(crate) fn is_image_path(path: &Path) -> bool {
    path.extension().and_then(OsStr::to_str).is_some_and(is_image_extension)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum EntryKind {
    File,
    Folder,
    Other,
}

fn kind_of(file_type: &fs::FileType) -> EntryKind {
    if file_type.is_dir() {
        EntryKind::Folder
    } else if file_type.is_file() {
        EntryKind::File
    } else {
        EntryKind::Other
    }
}

struct Entry {
    path: PathBuf,
    kind: EntryKind,
}

impl Entry {
    fn is_hidden(&self) -> bool {
        self.path.file_name().is_some_and(|name| name.as_encoded_bytes().starts_with(b"."))
    }
}

struct Loader {
    lenient: bool,
    split: Split,
}

impl Loader {
    /// A split folder of Market-1501 image files.
    fn load_market(&mut self, dir: &Path) -> Result<(), DatasetError> {
        for entry in self.list(dir)? {
            match entry.kind {
                EntryKind::File if !entry.is_hidden() && is_image_path(&entry.path) => {
                    self.add_market_file(entry.path)?
                }
                EntryKind::Folder if !entry.is_hidden() => {
                    warn!(path = %entry.path.display(), "ignoring a folder inside a Market-1501 split");
                    self.ignore(&entry.path);
                }
                _ => self.ignore(&entry.path),
            }
        }
        Ok(())
    }

    fn add_market_file(&mut self, path: PathBuf) -> Result<(), DatasetError> {
        let Some(name) = path.file_name().and_then(OsStr::to_str) else {
            return self.bad(path, "file name is not valid UTF-8".to_owned());
        };
        match parse_market_name(name) {
            Ok(parsed) if parsed.is_junk() => self.split.junk_dropped += 1,
            Ok(parsed) => self.split.records.push(ImageRecord {
                path,
                identity: Identity::Id(parsed.pid),
                camera: Some(parsed.camera),
                sequence: parsed.sequence,
                frame: parsed.frame,
            }),
            Err(err) => return self.bad(path, format!("bad Market-1501 file name: {err}")),
        }
        Ok(())
    }

    /// A split folder with one sub-folder per identity.
    fn load_folders(&mut self, dir: &Path) -> Result<(), DatasetError> {
        for entry in self.list(dir)? {
            match entry.kind {
                EntryKind::Folder if !entry.is_hidden() => self.add_identity_folder(entry.path)?,
                EntryKind::File if !entry.is_hidden() && is_image_path(&entry.path) => {
                    self.bad(entry.path, "image is not inside an identity folder".to_owned())?;
                }
                _ => self.ignore(&entry.path),
            }
        }
        Ok(())
    }

    fn add_identity_folder(&mut self, folder: PathBuf) -> Result<(), DatasetError> {
        let Some(name) = folder.file_name().and_then(OsStr::to_str) else {
            return self.bad(folder, "identity folder name is not valid UTF-8".to_owned());
        };
        let identity = Identity::from_folder_name(name);
        for entry in self.list(&folder)? {
            match entry.kind {
                EntryKind::File if !entry.is_hidden() && is_image_path(&entry.path) => {
                    if identity.is_junk() {
                        self.split.junk_dropped += 1;
                    } else {
                        self.split.records.push(ImageRecord {
                            path: entry.path,
                            identity: identity.clone(),
                            camera: None,
                            sequence: None,
                            frame: None,
                        });
                    }
                }
                EntryKind::Folder if !entry.is_hidden() => {
                    let reason = format!(
                        "folder inside identity folder `{}`: images must sit directly in their identity folder",
                        folder.display()
                    );
                    self.bad(entry.path, reason)?;
                }
                _ => self.ignore(&entry.path),
            }
        }
        Ok(())
    }

    /// The entries of `dir`, sorted by path so that errors and records come in a stable order.
    fn list(&mut self, dir: &Path) -> Result<Vec<Entry>, DatasetError> {
        let read = fs::read_dir(dir).map_err(|err| DatasetError::io("list folder", dir, err))?;
        let mut found = Vec::new();
        for entry in read {
            let entry = entry.map_err(|err| DatasetError::io("list folder", dir, err))?;
            let path = entry.path();
            let file_type = entry.file_type().map_err(|err| DatasetError::io("read the type of", &path, err))?;
            let kind = if file_type.is_symlink() {
                fs::metadata(&path).map(|meta| kind_of(&meta.file_type())).map_err(|err| format!("broken link: {err}"))
            } else {
                Ok(kind_of(&file_type))
            };
            found.push((path, kind));
        }
        found.sort_by(|a, b| a.0.cmp(&b.0));
        let mut entries = Vec::with_capacity(found.len());
        for (path, kind) in found {
            match kind {
                Ok(kind) => entries.push(Entry { path, kind }),
                Err(reason) => self.bad(path, reason)?,
            }
        }
        Ok(entries)
    }

    fn ignore(&mut self, path: &Path) {
        debug!(path = %path.display(), "ignoring non-image entry");
        self.split.ignored_files += 1;
    }

    /// Records a file that cannot be used: an error in strict mode, a skipped file in lenient mode.
    fn bad(&mut self, path: PathBuf, reason: String) -> Result<(), DatasetError> {
        let bad = BadFile { path, reason };
        if self.lenient {
            warn!("skipping {bad}");
            self.split.skipped.push(bad);
            Ok(())
        } else {
            Err(DatasetError::BadFile(bad))
        }
    }
}
