//! GStreamer itself: its version (gst-inspect-1.0 or pkg-config) and its command-line tools.

use super::host::{Host, find_library};
use super::report::{Check, Status};
use std::path::PathBuf;

/// The oldest GStreamer the plugin supports.
pub(super) const MIN_GSTREAMER: (u32, u32) = (1, 14);

/// The fix when GStreamer is there but its command-line tools are not.
pub(super) const TOOLS_FIX: &str = "sudo apt-get install gstreamer1.0-tools";

/// How to install GStreamer.
pub(super) const GST_FIX: &str = "sudo apt-get install gstreamer1.0-tools gstreamer1.0-plugins-base (scripts/setup-gst.sh; \
JetPack images ship it)";

/// `major.minor` of a version string.
pub(super) fn major_minor(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.trim().split('.');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// The GStreamer version in `gst-inspect-1.0 --version` output (`GStreamer 1.22.0`).
pub(super) fn parse_gst_version(text: &str) -> Option<String> {
    text.lines().find_map(|l| l.trim().strip_prefix("GStreamer ")).map(|v| v.trim().to_owned())
}

pub(super) fn check_gstreamer(host: &dyn Host, dirs: &[PathBuf]) -> (Check, bool) {
    let inspect = host.command("gst-inspect-1.0", &["--version"]);
    let (version, source) = match &inspect {
        Some(out) if out.success => (parse_gst_version(&out.text), "gst-inspect-1.0"),
        _ => match host.command("pkg-config", &["--modversion", "gstreamer-1.0"]) {
            Some(out) if out.success => (Some(out.text.trim().to_owned()), "pkg-config"),
            _ => (None, ""),
        },
    };
    let has_inspect = inspect.is_some_and(|o| o.success);
    let check = match version {
        Some(v) => {
            let old = major_minor(&v).is_some_and(|mm| mm < MIN_GSTREAMER);
            if old {
                Check::new(
                    "gstreamer",
                    Status::Warn,
                    format!("GStreamer {v} ({source}) is older than {}.{}", MIN_GSTREAMER.0, MIN_GSTREAMER.1),
                    Some("upgrade the OS image (Ubuntu 20.04 / JetPack 5 ship 1.16)".to_owned()),
                )
            } else if !has_inspect {
                Check::new(
                    "gstreamer",
                    Status::Warn,
                    format!("GStreamer {v} (pkg-config) but no gst-inspect-1.0 / gst-launch-1.0"),
                    Some(TOOLS_FIX.to_owned()),
                )
            } else {
                Check::new("gstreamer", Status::Ok, format!("GStreamer {v} ({source})"), None)
            }
        }
        None => match find_library(host, dirs, &["libgstreamer-1.0.so.0"]) {
            Some(lib) => Check::new(
                "gstreamer",
                Status::Warn,
                format!("{} found, but no gst-inspect-1.0 to run pipelines with", lib.display()),
                Some(TOOLS_FIX.to_owned()),
            ),
            None => Check::new(
                "gstreamer",
                Status::Missing,
                "no GStreamer (no gst-inspect-1.0, pkg-config gstreamer-1.0 or libgstreamer-1.0.so.0)",
                Some(GST_FIX.to_owned()),
            ),
        },
    };
    (check, has_inspect)
}
