//! Identities as datasets name them: Market-1501 pids or folder names.

use std::fmt;

use super::name::{DISTRACTOR_PID, JUNK_PID};

/// The identity of an image as the dataset names it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Identity {
    /// A numeric id: a Market-1501 pid or a folder named by a (possibly zero-padded) integer.
    Id(i32),
    /// A folder name that is not an integer (e.g. `alice`).
    Named(String),
}

impl Identity {
    /// The identity a folder name stands for: `0042` is `Id(42)`, `-1` is junk, anything else is `Named`.
    pub fn from_folder_name(name: &str) -> Self {
        let digits = name.strip_prefix('-').unwrap_or(name);
        let numeric = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
        match name.parse::<i32>() {
            Ok(id) if numeric && (id >= 0 || id == JUNK_PID) => Identity::Id(id),
            _ => Identity::Named(name.to_owned()),
        }
    }

    /// True for the junk marker (pid -1).
    pub fn is_junk(&self) -> bool {
        *self == Identity::Id(JUNK_PID)
    }

    /// True for a distractor (pid 0).
    pub fn is_distractor(&self) -> bool {
        *self == Identity::Id(DISTRACTOR_PID)
    }
}

impl fmt::Display for Identity {
    /// Numeric ids are zero-padded to four digits as Market-1501 writes them; names are shown as they are.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Identity::Id(id) if *id >= 0 => write!(f, "{id:04}"),
            Identity::Id(id) => write!(f, "{id}"),
            Identity::Named(name) => f.write_str(name),
        }
    }
}
