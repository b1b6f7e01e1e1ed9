//! DeepStream: its version (`$ROOT/version`, first line `Version: 7.1`; `$ROOT` is
//! `/opt/nvidia/deepstream/deepstream` or `$REID_DEEPSTREAM_ROOT`) and whether the three libraries `reidembed`
//! loads at run time for NvDs mode (`libnvds_meta.so`, `libnvdsgst_meta.so`, `libnvbufsurface.so`) load, by name
//! (the loader's path, where DeepStream's installer registers `$ROOT/lib`) or from `$ROOT/lib`. Without
//! DeepStream the element works on GstVideoRegionOfInterestMeta as before, so its absence is reported, not failed.

use super::host::Host;
use super::report::{Check, Status};
use std::path::{Path, PathBuf};

use reid_deepstream_abi::version::parse_version_file;
pub(super) use reid_deepstream_abi::version::{DEFAULT_ROOT, LIBRARIES};

/// Loads `name` by name, else from `root/lib`; the error names both attempts.
fn load(host: &dyn Host, root: &Path, name: &str) -> Result<(), String> {
    let by_name = match host.load_library(Path::new(name)) {
        Ok(()) => return Ok(()),
        Err(e) => e,
    };
    let file = root.join("lib").join(name);
    host.load_library(&file).map_err(|e| format!("{name}: by name: {by_name}; {}: {e}", file.display()))
}

pub(super) fn check_deepstream(host: &dyn Host) -> Check {
    let root = PathBuf::from(host.var("REID_DEEPSTREAM_ROOT").unwrap_or_else(|| DEFAULT_ROOT.to_owned()));
    let version_file = root.join("version");
    let version = host.read(&version_file);
    let loads: Vec<(&str, Result<(), String>)> = LIBRARIES.iter().map(|n| (*n, load(host, &root, n))).collect();
    let failed: Vec<String> = loads.iter().filter_map(|(_, r)| r.as_ref().err().cloned()).collect();
    let fix_path = format!(
        "add {}/lib to the loader's path (DeepStream's installer does: /etc/ld.so.conf.d, then ldconfig) or set \
         REID_DEEPSTREAM_ROOT to the DeepStream folder",
        root.display()
    );
    match (version, failed.is_empty()) {
        (None, false) if failed.len() == LIBRARIES.len() => Check::new(
            "deepstream",
            Status::Missing,
            format!(
                "not installed (no {}; none of {} loads): NvDs mode not available, reidembed reads \
                 GstVideoRegionOfInterestMeta (ROI mode)",
                version_file.display(),
                LIBRARIES.join(", ")
            ),
            Some(
                "only DeepStream pipelines need it: install DeepStream (JetPack: apt install deepstream-7.1), or set \
                 REID_DEEPSTREAM_ROOT to where it is"
                    .to_owned(),
            ),
        ),
        (None, _) => Check::new(
            "deepstream",
            Status::Warn,
            format!(
                "no {}: the version selects the structure layouts, so NvDs mode not available ({})",
                version_file.display(),
                if failed.is_empty() { "its libraries load".to_owned() } else { failed.join("; ") }
            ),
            Some("set REID_DEEPSTREAM_ROOT to the DeepStream folder holding `version`".to_owned()),
        ),
        (Some(text), ok) => {
            let Some(v) = parse_version_file(&text) else {
                let first = text.lines().next().unwrap_or("").trim().to_owned();
                return Check::new(
                    "deepstream",
                    Status::Warn,
                    format!(
                        "{} has no `Version: X.Y` line (first line `{first}`): NvDs mode not available",
                        version_file.display()
                    ),
                    Some("reinstall DeepStream, or point REID_DEEPSTREAM_ROOT at an intact installation".to_owned()),
                );
            };
            if let Err(refused) = v.layout() {
                return Check::new(
                    "deepstream",
                    Status::Warn,
                    format!("{refused} (version file {})", version_file.display()),
                    Some("use DeepStream 6.x-9.x for NvDs mode; ROI mode needs no DeepStream".to_owned()),
                );
            }
            if ok {
                Check::new(
                    "deepstream",
                    Status::Ok,
                    format!("DeepStream {v} at {}; {} load: NvDs mode available", root.display(), LIBRARIES.join(", ")),
                    None,
                )
            } else {
                Check::new(
                    "deepstream",
                    Status::Warn,
                    format!(
                        "DeepStream {v} at {}, but NvDs mode not available ({})",
                        root.display(),
                        failed.join("; ")
                    ),
                    Some(fix_path),
                )
            }
        }
    }
}
