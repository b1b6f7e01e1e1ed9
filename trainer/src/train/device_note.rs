//! What a build does with the spec's GPU keys: a build without the `cuda` feature trains on the CPU, and the
//! `evaluate`/`inference`/`export` tasks never take a GPU id. [`gpu_note`] says so once, instead of the keys being
//! ignored in silence; the defaults (`train.gpu_ids: [0]`, `gpu_id: 0`) say nothing.

use crate::spec::Spec;

/// How to get a build that trains on NVIDIA GPUs.
pub const CUDA_BUILD: &str = "cargo build --release -p reid-cli --features cuda";

/// The note for this build (see [`gpu_note_for`]).
pub fn gpu_note(spec: &Spec) -> Option<String> {
    gpu_note_for(spec, cfg!(feature = "cuda"))
}

/// A message naming the GPU keys set away from their defaults that the build (`cuda_build`: compiled with the
/// `cuda` feature) does not use; `None` when every such key is used or at its default.
pub fn gpu_note_for(spec: &Spec, cuda_build: bool) -> Option<String> {
    let mut parts = Vec::new();
    if !cuda_build && spec.train.gpu_ids != [0] {
        let ids: Vec<String> = spec.train.gpu_ids.iter().map(ToString::to_string).collect();
        parts.push(format!(
            "train.gpu_ids = [{}] is not used: this build has no CUDA support and trains on the CPU (for NVIDIA \
             GPUs build with `{CUDA_BUILD}`)",
            ids.join(", ")
        ));
    }
    let tasks: Vec<String> = [
        ("evaluate.gpu_id", spec.evaluate.gpu_id),
        ("inference.gpu_id", spec.inference.gpu_id),
        ("export.gpu_id", spec.export.gpu_id),
    ]
    .into_iter()
    .filter(|(_, id)| *id != 0)
    .map(|(key, id)| format!("{key} = {id}"))
    .collect();
    if !tasks.is_empty() {
        let why = if cuda_build {
            "evaluate, inference and export run burn checkpoints on the CPU and ONNX files on the engine chosen"
        } else {
            "this build has no CUDA support and runs on the CPU"
        };
        let hint = if cuda_build { String::new() } else { format!(" (for NVIDIA GPUs build with `{CUDA_BUILD}`)") };
        let verb = if tasks.len() > 1 { "are" } else { "is" };
        parts.push(format!("{} {verb} not used: {why}{hint}", tasks.join(", ")));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(overrides: &[&str]) -> Spec {
        let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        Spec::parse("", "spec.yaml", &overrides).unwrap()
    }

    #[test]
    fn defaults_say_nothing() {
        assert_eq!(gpu_note_for(&spec(&[]), false), None);
        assert_eq!(gpu_note_for(&spec(&["train.gpu_ids=[0]", "evaluate.gpu_id=0"]), false), None);
        assert_eq!(gpu_note_for(&spec(&["train.gpu_ids=[0,1]"]), true), None, "a CUDA build uses gpu_ids");
    }

    #[test]
    fn a_cpu_build_names_the_gpu_keys_and_the_cuda_build() {
        let note = gpu_note_for(&spec(&["train.gpu_ids=[1,2]"]), false).unwrap();
        assert!(note.starts_with("train.gpu_ids = [1, 2] is not used: this build has no CUDA support"), "{note}");
        assert!(note.contains("--features cuda"), "{note}");
        let note = gpu_note_for(&spec(&["evaluate.gpu_id=1", "inference.gpu_id=2"]), false).unwrap();
        assert!(note.starts_with("evaluate.gpu_id = 1, inference.gpu_id = 2 are not used: this build"), "{note}");
        assert!(note.contains(CUDA_BUILD), "{note}");
    }

    #[test]
    fn a_cuda_build_names_task_gpu_ids_it_does_not_use() {
        let note = gpu_note_for(&spec(&["export.gpu_id=3"]), true).unwrap();
        assert!(note.starts_with("export.gpu_id = 3 is not used: evaluate, inference and export run"), "{note}");
        assert!(!note.contains("--features cuda"), "{note}");
    }
}
