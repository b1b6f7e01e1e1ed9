//! Which gallery items a query may match: a camera set, a time range, labelled items only.

use crate::record::TimeRange;
use serde::{Deserialize, Serialize};

/// Which rows a search may return.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    /// Only these cameras (None: every camera, including rows without one).
    pub cameras: Option<Vec<String>>,
    /// Only timestamps in this interval.
    pub time: TimeRange,
    /// Only rows with an identity label.
    pub identified_only: bool,
}

impl Filter {
    /// No restriction.
    pub fn all() -> Filter {
        Filter::default()
    }
}
