//! DeepStream versions as the SDK's `version` file states them (`Version: X.Y[.Z]`), and whether a structure
//! layout is declared for one. Shared by the plugin (which reads the version at run time) and `reid doctor`
//! (which reports it), so both accept and refuse the same versions.

use crate::{Layout, SUPPORTED_MAJORS, layout_for};
use std::fmt;

/// The libraries NvDs mode loads, in this order.
pub const LIBRARIES: [&str; 3] = ["libnvds_meta.so", "libnvdsgst_meta.so", "libnvbufsurface.so"];
/// DeepStream's default install folder (a symlink to the versioned one).
pub const DEFAULT_ROOT: &str = "/opt/nvidia/deepstream/deepstream";

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_file_lines() {
        assert_eq!(parse_version_file("Version: 7.1\n"), Some(Version { major: 7, minor: 1 }));
        assert_eq!(parse_version_file("foo\nVersion: 6.0.1\n"), Some(Version { major: 6, minor: 0 }));
        assert_eq!(parse_version_file("Version: 8\n"), Some(Version { major: 8, minor: 0 }));
        assert_eq!(parse_version_file("  Version:   8.0  \n"), Some(Version { major: 8, minor: 0 }));
        assert_eq!(parse_version_file("Ver 7.1"), None);
        assert_eq!(parse_version_file("Version: x.1"), None);
        assert_eq!(parse_version_file("Version:\n"), None);
        assert_eq!(parse_version_file(""), None);
    }

    #[test]
    fn unknown_versions_are_refused_by_name() {
        assert!(Version { major: 7, minor: 1 }.layout().is_ok());
        let e = Version { major: 99, minor: 0 }.layout().unwrap_err();
        assert!(e.contains("DeepStream 99.0 is not supported"), "{e}");
        assert!(Version { major: 5, minor: 1 }.layout().unwrap_err().contains("5.1"));
    }
}
