//! An NVIDIA GPU, from the driver's `/proc` entries or a Jetson's device tree.

use super::host::Host;
use super::report::{Check, Status};
use reid_runtime::engine::ort::hardware::gpu_name_from;
use std::path::Path;

pub(super) fn check_gpu(host: &dyn Host) -> (Check, Option<String>) {
    let none = Path::new("/nonexistent-reid-doctor");
    let driver = gpu_name_from(&host.path(Path::new("/proc/driver/nvidia/gpus")), &host.path(none), 0);
    let tree = || {
        gpu_name_from(&host.path(none), &host.path(Path::new("/proc/device-tree/model")), 0)
            .filter(|m| m.to_ascii_lowercase().contains("nvidia") || m.to_ascii_lowercase().contains("jetson"))
    };
    match driver.or_else(tree) {
        Some(name) => (Check::new("gpu", Status::Ok, name.clone(), None), Some(name)),
        None => (
            Check::new(
                "gpu",
                Status::Missing,
                "no NVIDIA GPU (/proc/driver/nvidia/gpus is empty, no Jetson device tree)",
                Some("tract and ort-cpu need none; cuda/tensorrt need an NVIDIA GPU with its driver loaded".to_owned()),
            ),
            None,
        ),
    }
}
