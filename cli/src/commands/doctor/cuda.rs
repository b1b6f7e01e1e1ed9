//! The NVIDIA driver: its kernel module (or L4T release on a Jetson) and `libcuda.so.1`.

use super::host::{Host, find_library};
use super::report::{Check, Status};
use std::path::{Path, PathBuf};

/// The driver version in `/proc/driver/nvidia/version` (`... Kernel Module  535.104.05  ...`).
pub(super) fn parse_nvidia_version(text: &str) -> Option<String> {
    let line = text.lines().find(|l| l.contains("Kernel Module"))?;
    let rest = line.split("Kernel Module").nth(1)?;
    rest.split_whitespace().find(|t| t.starts_with(|c: char| c.is_ascii_digit()) && t.contains('.')).map(str::to_owned)
}

/// The L4T release in `/etc/nv_tegra_release` (`# R35 (release), REVISION: 3.1, ...` -> `R35.3.1`).
pub(super) fn parse_tegra_release(text: &str) -> Option<String> {
    let line = text.lines().next()?;
    let major = line.trim_start_matches('#').split_whitespace().next()?.to_owned();
    let revision = line.split("REVISION:").nth(1)?.split(',').next()?.trim().to_owned();
    Some(format!("{major}.{revision}"))
}

pub(super) fn check_cuda(host: &dyn Host, dirs: &[PathBuf]) -> (Check, bool) {
    let lib = find_library(host, dirs, &["libcuda.so.1"]);
    let kernel = host.read(Path::new("/proc/driver/nvidia/version")).and_then(|t| parse_nvidia_version(&t));
    let tegra = host.read(Path::new("/etc/nv_tegra_release")).and_then(|t| parse_tegra_release(&t));
    let driver = kernel.map(|v| format!("driver {v}")).or(tegra.map(|r| format!("L4T {r}")));
    let docker_fix = "install the NVIDIA driver (Debian/Ubuntu: nvidia-driver; Jetson: JetPack); in a container run \
with --gpus all / --runtime nvidia (NVIDIA Container Toolkit); CPU engines need none";
    match (lib, driver) {
        (Some(lib), Some(driver)) => {
            (Check::new("cuda-driver", Status::Ok, format!("{driver}, {}", lib.display()), None), true)
        }
        (Some(lib), None) => (
            Check::new(
                "cuda-driver",
                Status::Missing,
                format!("{} found but no NVIDIA kernel driver is loaded (/proc/driver/nvidia/version)", lib.display()),
                Some(docker_fix.to_owned()),
            ),
            false,
        ),
        (None, Some(driver)) => (
            Check::new(
                "cuda-driver",
                Status::Missing,
                format!("{driver} loaded but libcuda.so.1 is not on the library path"),
                Some(format!(
                    "install the driver's user-space libraries (libcuda1 / libnvidia-compute) or add their folder to LD_LIBRARY_PATH; {docker_fix}"
                )),
            ),
            false,
        ),
        (None, None) => (
            Check::new(
                "cuda-driver",
                Status::Missing,
                "no NVIDIA driver (no libcuda.so.1, no /proc/driver/nvidia/version)",
                Some(docker_fix.to_owned()),
            ),
            false,
        ),
    }
}
