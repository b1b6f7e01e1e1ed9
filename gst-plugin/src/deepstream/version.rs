//! The DeepStream version, read at run time: `nvds_version(guint *major, guint *minor)` when a loaded library
//! exports it, else the SDK's `version` file (`Version: X.Y`); the version selects the structure layout
//! ([`reid_deepstream_abi::layout_for`]).

use reid_deepstream_abi::{Layout, SUPPORTED_MAJORS, layout_for};
use std::fmt;
use std::path::Path;

/// A DeepStream version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Version {
    /// Major.
    pub major: u32,
    /// Minor.
    pub minor: u32,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl Version {
    /// The layout of this version, or the message refusing it.
    pub fn layout(self) -> Result<Layout, String> {
        layout_for(self.major).ok_or_else(|| {
            let supported: Vec<String> = SUPPORTED_MAJORS.iter().map(|m| format!("{m}.x")).collect();
            format!(
                "DeepStream {self} is not supported (structure layouts are declared for {}); NvDs mode is off, \
                 ROI metas still work",
                supported.join(", ")
            )
        })
    }
}

/// Reads `Version: X.Y[.Z]` from the text of DeepStream's `version` file.
pub fn parse_version_file(text: &str) -> Option<Version> {
    let line = text.lines().find_map(|l| l.trim().strip_prefix("Version:"))?;
    let mut parts = line.trim().split('.');
    let major = parts.next()?.trim().parse().ok()?;
    let minor = parts.next().and_then(|m| m.trim().parse().ok()).unwrap_or(0);
    Some(Version { major, minor })
}

/// The version in the file at `path`, or why not.
pub(super) fn version_from_file(path: &Path) -> Result<Version, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_version_file(&text).ok_or_else(|| format!("{}: no `Version: X.Y` line", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_file_lines() {
        assert_eq!(parse_version_file("Version: 7.1\n"), Some(Version { major: 7, minor: 1 }));
        assert_eq!(parse_version_file("foo\nVersion: 6.0.1\n"), Some(Version { major: 6, minor: 0 }));
        assert_eq!(parse_version_file("Version: 8\n"), Some(Version { major: 8, minor: 0 }));
        assert_eq!(parse_version_file("Ver 7.1"), None);
        assert_eq!(parse_version_file("Version: x.1"), None);
    }

    #[test]
    fn version_files_are_read_or_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("version");
        std::fs::write(&path, "Version: 8.0\nGitCommit: abc\n").unwrap();
        assert_eq!(version_from_file(&path), Ok(Version { major: 8, minor: 0 }));
        std::fs::write(&path, "garbage").unwrap();
        assert!(version_from_file(&path).unwrap_err().contains("no `Version: X.Y` line"));
        let missing = dir.path().join("nope");
        assert!(version_from_file(&missing).unwrap_err().contains("nope"));
    }

    #[test]
    fn unknown_versions_are_refused_by_name() {
        assert!(Version { major: 7, minor: 1 }.layout().is_ok());
        let e = Version { major: 99, minor: 0 }.layout().unwrap_err();
        assert!(e.contains("DeepStream 99.0 is not supported"), "{e}");
        assert!(Version { major: 5, minor: 1 }.layout().unwrap_err().contains("5.1"));
    }
}
