//! The Market-1501 file-name grammar: `PPPP_cC[sS_FFFFFF_NN].ext`.
//!
//! Accepted forms (the extension is one of [`IMAGE_EXTENSIONS`], any case):
//!
//! - `0002_c1s1_000451_03.jpg`: pid 2, camera 1, sequence 1, frame 451, bounding box 3 (Market-1501);
//! - `0001_c2.jpg`: pid and camera only;
//! - `0001_c2_f0046182.jpg`: pid and camera followed by a free suffix after `_` (DukeMTMC-reID, MSMT17
//!   and CUHK03 conversions); the suffix is not interpreted.
//!
//! The pid is a (usually zero-padded) decimal integer; `-1` marks junk and `0` a distractor. Any other
//! negative pid is an error. Numbers are ASCII decimal digits only.

use thiserror::Error;

/// Image file extensions recognised everywhere in the dataset code (compared case-insensitively).
pub const IMAGE_EXTENSIONS: [&str; 4] = ["jpg", "jpeg", "png", "bmp"];

/// The pid that marks a junk image (ignored by the evaluation protocol).
pub const JUNK_PID: i32 = -1;

/// The pid that marks a distractor image (kept in the gallery, never a true match of a real query).
pub const DISTRACTOR_PID: i32 = 0;

/// The fields of a parsed Market-1501 file name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MarketName {
    /// Person id: `-1` junk, `0` distractor, positive for a real identity.
    pub pid: i32,
    /// Camera id (the number after `c`).
    pub camera: u32,
    /// Sequence number (the number after `s`), when the name has the Market-1501 sequence part.
    pub sequence: Option<u32>,
    /// Frame number within the sequence, when present.
    pub frame: Option<u32>,
    /// Index of the bounding box within the frame, when present.
    pub bbox: Option<u32>,
}

impl MarketName {
    /// True for a junk image (pid -1).
    pub fn is_junk(&self) -> bool {
        self.pid == JUNK_PID
    }

    /// True for a distractor image (pid 0).
    pub fn is_distractor(&self) -> bool {
        self.pid == DISTRACTOR_PID
    }

    /// The 0-based camera id a side information embedding (SIE) takes: the name's camera minus one, as
    /// TransReID's dataset code (`camid -= 1`); `c1` is id 0 and `c0` gives -1 (outside every table).
    pub fn sie_camera(&self) -> i64 {
        i64::from(self.camera) - 1
    }
}

/// Why a file name is not a Market-1501 image name.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum NameError {
    /// The name has no `.` extension.
    #[error("no file extension: expected .jpg, .jpeg, .png or .bmp")]
    NoExtension,
    /// The extension is not an image extension.
    #[error("extension `.{ext}` is not an image extension (jpg, jpeg, png, bmp)")]
    NotImage {
        /// The extension as written.
        ext: String,
    },
    /// Nothing precedes the extension.
    #[error("nothing before the extension")]
    EmptyStem,
    /// The name starts with `_`: there is no pid.
    #[error("pid part is empty (the name starts with `_`)")]
    EmptyPid,
    /// The pid part is not a decimal integer.
    #[error("pid part `{part}` is not an integer")]
    PidNotInteger {
        /// The pid part as written.
        part: String,
    },
    /// The pid is negative but not the junk marker -1.
    #[error("pid {part} is negative: only -1 (junk) is allowed")]
    NegativePid {
        /// The pid part as written.
        part: String,
    },
    /// A number does not fit in 32 bits.
    #[error("{what} `{part}` is out of range")]
    OutOfRange {
        /// Which field (pid, camera, sequence, frame, bbox).
        what: &'static str,
        /// The digits as written.
        part: String,
    },
    /// The pid is not followed by `_c<camera>`.
    #[error("missing `_c<camera>` after the pid{}", found_note(.found))]
    MissingCamera {
        /// What follows the pid instead (empty when nothing does).
        found: String,
    },
    /// `c` is not followed by a camera number.
    #[error("camera part `{part}` has no number after `c`")]
    CameraNotInteger {
        /// The text after the pid's underscore.
        part: String,
    },
    /// The camera number is followed by something that is neither a sequence part nor `_<suffix>`.
    #[error(
        "unexpected `{rest}` after camera `c{camera}`: expected `s<seq>_<frame>_<bbox>`, `_<suffix>` or the extension"
    )]
    UnexpectedAfterCamera {
        /// The camera digits as written.
        camera: String,
        /// The unexpected text.
        rest: String,
    },
    /// The Market-1501 sequence part is malformed.
    #[error("sequence part `{part}` is not `s<seq>_<frame>_<bbox>` in decimal digits (e.g. `s1_000451_03`)")]
    BadSequence {
        /// The sequence part as written.
        part: String,
    },
    /// The name ends with `_` after the camera: the free suffix is empty.
    #[error("empty suffix after `_c{camera}_`")]
    EmptySuffix {
        /// The camera digits as written.
        camera: String,
    },
}

fn found_note(found: &str) -> String {
    if found.is_empty() { String::new() } else { format!(" (found `{found}`)") }
}

/// True when `ext` (without the dot) is one of [`IMAGE_EXTENSIONS`], ignoring case.
pub fn is_image_extension(ext: &str) -> bool {
    IMAGE_EXTENSIONS.iter().any(|known| known.eq_ignore_ascii_case(ext))
}

/// Parses a Market-1501 style file name (no folders) such as `0002_c1s1_000451_03.jpg`.
///
/// Never panics; every malformed name gets a [`NameError`] saying what is wrong.
pub fn parse_market_name(file_name: &str) -> Result<MarketName, NameError> {
    let (stem, ext) = file_name.rsplit_once('.').ok_or(NameError::NoExtension)?;
    if !is_image_extension(ext) {
        return Err(NameError::NotImage { ext: ext.to_owned() });
    }
    if stem.is_empty() {
        return Err(NameError::EmptyStem);
    }
    let (pid_part, after_pid) = match stem.split_once('_') {
        Some((pid, rest)) => (pid, Some(rest)),
        None => (stem, None),
    };
    let pid = parse_pid(pid_part)?;
    let after_pid = after_pid.ok_or_else(|| NameError::MissingCamera { found: String::new() })?;
    let Some(camera_and_rest) = after_pid.strip_prefix('c') else {
        return Err(NameError::MissingCamera { found: format!("_{after_pid}") });
    };
    let (camera_digits, rest) = split_digits(camera_and_rest);
    if camera_digits.is_empty() {
        return Err(NameError::CameraNotInteger { part: after_pid.to_owned() });
    }
    let camera = parse_u32("camera", camera_digits)?;
    let mut name = MarketName { pid, camera, sequence: None, frame: None, bbox: None };
    if rest.is_empty() {
        return Ok(name);
    }
    if let Some(suffix) = rest.strip_prefix('_') {
        if suffix.is_empty() {
            return Err(NameError::EmptySuffix { camera: camera_digits.to_owned() });
        }
        return Ok(name);
    }
    if rest.starts_with('s') {
        let (sequence, frame, bbox) = parse_sequence(rest)?;
        name.sequence = Some(sequence);
        name.frame = Some(frame);
        name.bbox = Some(bbox);
        return Ok(name);
    }
    Err(NameError::UnexpectedAfterCamera { camera: camera_digits.to_owned(), rest: rest.to_owned() })
}

/// Parses the pid part: ASCII digits, or `-` and digits for the junk marker.
fn parse_pid(part: &str) -> Result<i32, NameError> {
    if part.is_empty() {
        return Err(NameError::EmptyPid);
    }
    let (negative, digits) = match part.strip_prefix('-') {
        Some(digits) => (true, digits),
        None => (false, part),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NameError::PidNotInteger { part: part.to_owned() });
    }
    let value: i32 = part.parse().map_err(|_| NameError::OutOfRange { what: "pid", part: part.to_owned() })?;
    if negative && value != JUNK_PID {
        return Err(NameError::NegativePid { part: part.to_owned() });
    }
    Ok(value)
}

/// Parses `s<seq>_<frame>_<bbox>` into its three numbers.
fn parse_sequence(part: &str) -> Result<(u32, u32, u32), NameError> {
    let bad = || NameError::BadSequence { part: part.to_owned() };
    let mut pieces = part.split('_');
    let (Some(seq), Some(frame), Some(bbox), None) = (pieces.next(), pieces.next(), pieces.next(), pieces.next())
    else {
        return Err(bad());
    };
    let seq = seq.strip_prefix('s').ok_or_else(bad)?;
    if [seq, frame, bbox].iter().any(|digits| !is_digits(digits)) {
        return Err(bad());
    }
    Ok((parse_u32("sequence", seq)?, parse_u32("frame", frame)?, parse_u32("bbox", bbox)?))
}

fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// Splits `text` into its leading ASCII digits and the rest.
fn split_digits(text: &str) -> (&str, &str) {
    let end = text.bytes().position(|b| !b.is_ascii_digit()).unwrap_or(text.len());
    // ASCII digits are one byte each, so `end` is a char boundary.
    text.split_at(end)
}

fn parse_u32(what: &'static str, digits: &str) -> Result<u32, NameError> {
    digits.parse().map_err(|_| NameError::OutOfRange { what, part: digits.to_owned() })
}
