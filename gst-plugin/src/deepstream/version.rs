//! The DeepStream version, read at run time: `nvds_version(guint *major, guint *minor)` when a loaded library
//! exports it, else the SDK's `version` file (`Version: X.Y`); the version selects the structure layout
//! ([`reid_deepstream_abi::layout_for`]).

pub use reid_deepstream_abi::version::{Version, parse_version_file};
use std::path::Path;

/// The version in the file at `path`, or why not.
pub(super) fn version_from_file(path: &Path) -> Result<Version, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_version_file(&text).ok_or_else(|| format!("{}: no `Version: X.Y` line", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
