//! Identity and camera labels as the evaluation protocol sees them.

use serde::{Deserialize, Serialize};

/// The label of one query or gallery item: a dense identity id and, when known, the camera.
///
/// Identity ids are only compared for equality. `camera: None` means "unknown camera": such an item is
/// never removed by the same-identity-same-camera rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Label {
    /// Identity id (equal ids are the same person).
    pub pid: u32,
    /// Camera id, if the dataset has cameras.
    pub camera: Option<u32>,
}

impl Label {
    /// A label with identity and camera.
    pub fn new(pid: u32, camera: Option<u32>) -> Self {
        Self { pid, camera }
    }

    /// True when `other` must be removed from this query's gallery: same identity seen by the same camera.
    pub fn same_view(&self, other: &Label) -> bool {
        self.pid == other.pid && self.camera.is_some() && self.camera == other.camera
    }
}
