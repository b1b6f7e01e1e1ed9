//! The ONNX Runtime library and its execution providers.

use super::host::OrtProbe;
use super::report::{Check, Status};

/// What the ONNX Runtime checks found, for the engine verdict.
#[derive(Default)]
pub(super) struct OrtFacts {
    pub(super) library: bool,
    pub(super) cpu: bool,
    pub(super) cuda: bool,
    pub(super) tensorrt: bool,
}

pub(super) const ORT_FIX: &str = "scripts/setup-ort.sh (CPU; --gpu for CUDA/TensorRT on x86_64), or point --ort-lib / \
ORT_DYLIB_PATH at a libonnxruntime.so >= 1.17 (Jetson: the onnxruntime-gpu wheel for your JetPack, deploy/jetson.md)";

pub(super) fn check_ort(probe: &OrtProbe) -> (Vec<Check>, OrtFacts) {
    let mut facts = OrtFacts::default();
    let checks = match probe {
        OrtProbe::NotBuilt => vec![Check::new(
            "onnxruntime",
            Status::Missing,
            "this reid was built without feature `ort` (no ONNX Runtime engines)",
            Some("rebuild with default features: cargo build -p reid-cli --release".to_owned()),
        )],
        OrtProbe::Missing(tried) => vec![Check::new(
            "onnxruntime",
            Status::Missing,
            format!("no usable libonnxruntime.so: {tried}"),
            Some(ORT_FIX.to_owned()),
        )],
        OrtProbe::Found { path, version, providers } => {
            facts.library = true;
            let lib =
                Check::new("onnxruntime", Status::Ok, format!("ONNX Runtime {version} at {}", path.display()), None);
            let providers = match providers {
                Err(e) => Check::new(
                    "ort-providers",
                    Status::Missing,
                    format!("the library loads but its providers cannot be listed: {e}"),
                    Some(ORT_FIX.to_owned()),
                ),
                Ok(list) => {
                    let has = |p: &str| list.iter().any(|l| l == p);
                    facts.cpu = has("CPUExecutionProvider");
                    facts.cuda = has("CUDAExecutionProvider");
                    facts.tensorrt = has("TensorrtExecutionProvider");
                    let finding =
                        format!("providers: {}", if list.is_empty() { "none".to_owned() } else { list.join(", ") });
                    if facts.cuda && facts.tensorrt {
                        Check::new("ort-providers", Status::Ok, finding, None)
                    } else {
                        let lacking: Vec<&str> =
                            [("CUDAExecutionProvider", facts.cuda), ("TensorrtExecutionProvider", facts.tensorrt)]
                                .iter()
                                .filter(|(_, has)| !has)
                                .map(|(n, _)| *n)
                                .collect();
                        Check::new(
                            "ort-providers",
                            Status::Warn,
                            format!("{finding} (no {}: CPU only)", lacking.join(", ")),
                            Some(
                                "for cuda/tensorrt use a GPU build: scripts/setup-ort.sh --gpu (x86_64) or the JetPack \
onnxruntime-gpu wheel's libonnxruntime.so via --ort-lib / ORT_DYLIB_PATH"
                                    .to_owned(),
                            ),
                        )
                    }
                }
            };
            vec![lib, providers]
        }
    };
    (checks, facts)
}
