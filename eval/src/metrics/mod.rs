//! The field's ReID evaluation protocol: mAP, CMC at every rank and mINP over a query x gallery distance matrix.
//!
//! For each query, gallery items of the same identity seen by the same camera are removed; a query with no
//! remaining true match is skipped; AP is the mean precision at each true match; CMC at k is the share of
//! queries whose first true match ranks within k; INP is (number of true matches) / (rank of the last one)
//! (Ye et al., "Deep Learning for Person Re-identification: A Survey and Outlook", 2021). Ties in distance
//! are broken by gallery order, as a stable sort would.

mod evaluate;
mod label;

pub use evaluate::{EvalError, EvalResult, evaluate, evaluate_with_progress};
pub use label::Label;
