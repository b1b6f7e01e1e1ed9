//! The `reid` GStreamer plugin: where `libgstreid.so` is and which elements gst-inspect-1.0 finds.

use super::gstreamer::TOOLS_FIX;
use super::host::Host;
use super::report::{Check, Status};
use std::path::{Path, PathBuf};

/// The plugin's elements; `reidpublish` needs the plugin's `publish` feature.
pub(super) const ELEMENTS: [&str; 3] = ["reidembed", "reidsynthsrc", "reidpublish"];

/// Where `libgstreid.so` may be: `$GST_PLUGIN_PATH`, the deploy kit, the system plugin folders.
pub(super) fn plugin_files(host: &dyn Host) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(p) = host.var("GST_PLUGIN_PATH") {
        dirs.extend(p.split(':').filter(|d| !d.is_empty()).map(PathBuf::from));
    }
    let triple = format!("{}-linux-gnu", std::env::consts::ARCH);
    dirs.push(PathBuf::from("/opt/reid/lib/gstreamer-1.0"));
    dirs.push(PathBuf::from(format!("/usr/lib/{triple}/gstreamer-1.0")));
    dirs.push(PathBuf::from("/usr/local/lib/gstreamer-1.0"));
    dirs.into_iter().map(|d| d.join("libgstreid.so")).filter(|f| host.path(f).is_file()).collect()
}

pub(super) fn check_plugin(host: &dyn Host, has_inspect: bool) -> Check {
    let files = plugin_files(host);
    let plugin_path = host.var("GST_PLUGIN_PATH");
    let build_fix = "cargo build -p gst-reid --release, then export GST_PLUGIN_PATH=$PWD/target/release (or \
deploy/install.sh: /opt/reid/lib/gstreamer-1.0)";
    if !has_inspect {
        return match files.first() {
            Some(f) => Check::new(
                "reid-plugin",
                Status::Warn,
                format!("{} exists but cannot be inspected without gst-inspect-1.0", f.display()),
                Some(TOOLS_FIX.to_owned()),
            ),
            None => Check::new(
                "reid-plugin",
                Status::Missing,
                "libgstreid.so not found ($GST_PLUGIN_PATH, /opt/reid/lib/gstreamer-1.0, system plugin folder)",
                Some(build_fix.to_owned()),
            ),
        };
    }
    let out = host.command("gst-inspect-1.0", &["reid"]).unwrap_or_default();
    let found: Vec<&str> = ELEMENTS.iter().copied().filter(|e| out.success && out.text.contains(e)).collect();
    let where_ = match &plugin_path {
        Some(p) => format!("GST_PLUGIN_PATH={p}"),
        None => "GST_PLUGIN_PATH unset".to_owned(),
    };
    if found.is_empty() {
        return match files.first() {
            Some(f)
                if plugin_path
                    .as_deref()
                    .is_some_and(|p| p.split(':').any(|d| Path::new(d) == f.parent().unwrap_or(Path::new("")))) =>
            {
                Check::new(
                    "reid-plugin",
                    Status::Missing,
                    format!("{} does not load (gst-inspect-1.0 reid finds no plugin)", f.display()),
                    Some(format!(
                        "GST_DEBUG=3 gst-inspect-1.0 {} says why (often a missing library or a stale \
~/.cache/gstreamer-1.0/registry.*.bin: delete it)",
                        f.display()
                    )),
                )
            }
            Some(f) => Check::new(
                "reid-plugin",
                Status::Missing,
                format!("gst-inspect-1.0 finds no plugin `reid` ({where_}); {} exists", f.display()),
                Some(format!("export GST_PLUGIN_PATH={}", f.parent().unwrap_or(Path::new("")).display())),
            ),
            None => Check::new(
                "reid-plugin",
                Status::Missing,
                format!("gst-inspect-1.0 finds no plugin `reid` ({where_})"),
                Some(build_fix.to_owned()),
            ),
        };
    }
    let missing: Vec<&str> = ELEMENTS.iter().copied().filter(|e| !found.contains(e)).collect();
    if missing.is_empty() {
        Check::new("reid-plugin", Status::Ok, format!("plugin `reid`: {} ({where_})", found.join(", ")), None)
    } else {
        Check::new(
            "reid-plugin",
            Status::Warn,
            format!("plugin `reid` has {} but not {} ({where_})", found.join(", "), missing.join(", ")),
            Some("rebuild with the publish feature: cargo build -p gst-reid --release --features publish".to_owned()),
        )
    }
}
