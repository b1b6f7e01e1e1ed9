//! Weights: reading PyTorch/timm/SOLIDER checkpoints into a [`crate::ReidModel`] (with every name checked) and
//! saving trained networks as safetensors whose keys PyTorch users can read.

mod apply;
pub(crate) use apply::{apply_tensors, missing_error, missing_parameters};
mod checkpoint;
mod layout;
mod save;
pub mod transreid;

pub use apply::ImportReport;
pub use checkpoint::Checkpoint;
pub use layout::{Canonical, Layout, canonicalize};

/// PyTorch's name for a module path: torchvision calls the shortcut projection `downsample.0` / `downsample.1`.
pub fn module_to_torch(path: &str) -> String {
    path.replace(".downsample.conv.", ".downsample.0.").replace(".downsample.bn.", ".downsample.1.")
}

/// The module path for a PyTorch name (inverse of [`module_to_torch`]).
pub fn torch_to_module(name: &str) -> String {
    name.replace(".downsample.0.", ".downsample.conv.").replace(".downsample.1.", ".downsample.bn.")
}
