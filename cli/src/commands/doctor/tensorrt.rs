//! TensorRT (`libnvinfer`), from ONNX Runtime's probe or the library file name.

use super::host::Host;
use super::report::{Check, Status};

pub(super) fn check_tensorrt(host: &dyn Host) -> (Check, bool) {
    match host.tensorrt_version() {
        Some(v) => (Check::new("tensorrt", Status::Ok, format!("TensorRT {v} (libnvinfer)"), None), true),
        None => (
            Check::new(
                "tensorrt",
                Status::Missing,
                "no libnvinfer.so (TensorRT) on the library path",
                Some(
                    "only --engine tensorrt needs it: NVIDIA's apt repository (libnvinfer10 libnvinfer-plugin10), or \
JetPack (ships TensorRT 8.5/8.6/10)"
                        .to_owned(),
                ),
            ),
            false,
        ),
    }
}
