//! What a TensorRT engine depends on besides the model: the GPU model and the TensorRT version, found without
//! linking CUDA (driver files, the device tree on Jetson, and `getInferLibVersion` of `libnvinfer`).

use std::path::Path;

/// The GPU model: `/proc/driver/nvidia/gpus/*/information` (desktop and server GPUs; the `index`-th GPU in
/// bus order) or `/proc/device-tree/model` (Jetson modules). `None` when neither names one.
pub fn gpu_name(index: u32) -> Option<String> {
    gpu_name_from(Path::new("/proc/driver/nvidia/gpus"), Path::new("/proc/device-tree/model"), index)
}

/// [`gpu_name`] reading the given driver folder and device-tree file (testable).
pub fn gpu_name_from(driver_dir: &Path, device_tree_model: &Path, index: u32) -> Option<String> {
    if let Ok(entries) = std::fs::read_dir(driver_dir) {
        let mut buses: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        buses.sort();
        if let Some(bus) = buses.get(index as usize)
            && let Ok(text) = std::fs::read_to_string(bus.join("information"))
            && let Some(model) = text.lines().find_map(|l| l.strip_prefix("Model:"))
        {
            return Some(model.trim().to_owned());
        }
    }
    let model = std::fs::read(device_tree_model).ok()?;
    let model = String::from_utf8_lossy(&model).trim_end_matches('\0').trim().to_owned();
    (!model.is_empty()).then_some(model)
}

#[cfg(feature = "ort")]
/// The TensorRT version the dynamic loader finds (`libnvinfer.so.10`, `.so.8`, ...), as `major.minor.patch`.
pub fn tensorrt_version() -> Option<String> {
    for name in ["libnvinfer.so.10", "libnvinfer.so.8", "libnvinfer.so.9", "libnvinfer.so"] {
        // SAFETY: loading libnvinfer runs its initialisers; it is the library the TensorRT provider loads anyway.
        let Ok(lib) = (unsafe { libloading::Library::new(name) }) else { continue };
        // SAFETY: `getInferLibVersion` is `extern "C" int32_t getInferLibVersion() noexcept` (NvInferRuntime.h).
        let Ok(get) = (unsafe { lib.get::<unsafe extern "C" fn() -> i32>(b"getInferLibVersion") }) else { continue };
        // SAFETY: no arguments, returns an integer.
        let encoded = unsafe { get() };
        return Some(decode_tensorrt_version(encoded));
    }
    None
}

/// Decodes `getInferLibVersion`: `major*1000 + minor*100 + patch` up to TensorRT 9, `major*10000 + minor*100 +
/// patch` from TensorRT 10 on.
pub fn decode_tensorrt_version(encoded: i32) -> String {
    let v = encoded.max(0);
    if v >= 100_000 {
        format!("{}.{}.{}", v / 10_000, (v / 100) % 100, v % 100)
    } else {
        format!("{}.{}.{}", v / 1000, (v / 100) % 10, v % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensorrt_versions_decode_in_both_encodings() {
        assert_eq!(decode_tensorrt_version(8601), "8.6.1");
        assert_eq!(decode_tensorrt_version(8502), "8.5.2");
        assert_eq!(decode_tensorrt_version(100300), "10.3.0");
        assert_eq!(decode_tensorrt_version(101100), "10.11.0");
    }

    #[test]
    fn gpu_names_come_from_the_driver_then_the_device_tree() {
        let dir = tempfile::tempdir().unwrap();
        let driver = dir.path().join("gpus");
        for (bus, model) in [("0000:01:00.0", "NVIDIA A2"), ("0000:02:00.0", "NVIDIA L4")] {
            std::fs::create_dir_all(driver.join(bus)).unwrap();
            std::fs::write(driver.join(bus).join("information"), format!("Model: \t {model}\nIRQ: 1\n")).unwrap();
        }
        let tree = dir.path().join("model");
        std::fs::write(&tree, b"NVIDIA Jetson Orin Nano Developer Kit\0").unwrap();
        assert_eq!(gpu_name_from(&driver, &tree, 0).as_deref(), Some("NVIDIA A2"));
        assert_eq!(gpu_name_from(&driver, &tree, 1).as_deref(), Some("NVIDIA L4"));
        let none = dir.path().join("absent");
        assert_eq!(gpu_name_from(&none, &tree, 0).as_deref(), Some("NVIDIA Jetson Orin Nano Developer Kit"));
        assert_eq!(gpu_name_from(&none, &none, 0), None);
    }
}
