//! Batch-hard triplet loss (Hermans, Beyer and Leibe 2017, "In Defense of the Triplet Loss for Person
//! Re-Identification"), as Luo et al. 2019's reid-strong-baseline (`layers/triplet_loss.py`) and TAO
//! ReIdentificationNet compute it: euclidean distances of the raw (not normalised) features, the hardest positive
//! and hardest negative of every anchor, then `MarginRankingLoss(margin)` or, without a margin, `SoftMarginLoss`.

use burn::tensor::activation::{relu, softplus};
use burn::tensor::{Bool, Int, Tensor};

/// What [`batch_hard_triplet`] returns: the loss and the mined distances (for logging).
#[derive(Debug, Clone)]
pub struct TripletOutput {
    /// The loss, a scalar `[1]`.
    pub loss: Tensor<1>,
    /// Distance of each anchor to its hardest (farthest) positive `[N]`.
    pub dist_ap: Tensor<1>,
    /// Distance of each anchor to its hardest (nearest) negative `[N]`; `f32::MAX` for an anchor with no negative.
    pub dist_an: Tensor<1>,
    /// Share of the anchors that have a negative whose `dist_an > dist_ap`, a scalar `[1]` without gradient
    /// (0 when no anchor has a negative).
    pub correct: Tensor<1>,
}

/// Pairwise euclidean distances `[N, N]` as the strong baseline computes them:
/// `sqrt(clamp(|a|^2 + |b|^2 - 2 a.b, min = 1e-12))`, so the self-distance is `1e-6`, not 0, and has no gradient.
pub fn euclidean_dist(features: Tensor<2>) -> Tensor<2> {
    let sq = features.clone().square().sum_dim(1); // [N, 1]
    let gram = features.clone().matmul(features.transpose());
    (sq.clone() + sq.transpose() - gram.mul_scalar(2.0)).clamp_min(1e-12).sqrt()
}

/// Batch-hard triplet loss of `features` `[N, D]` with identity `labels` `[N]`.
///
/// For each anchor, `d_ap` is the largest distance to a sample of its identity and `d_an` the smallest distance to
/// a sample of another identity. With `margin = Some(m)` the loss is `mean(relu(d_ap - d_an + m))`
/// (`MarginRankingLoss`); with `None` (the spec's `no_margin: True`) it is `mean(softplus(d_ap - d_an))`
/// (`SoftMarginLoss` with target 1).
///
/// Anchors without a positive or a negative (the strong baseline assumes P x K batches and fails on others):
/// - an anchor that is its identity's only sample in the batch has itself as its positive, as in the baseline
///   (the anchor is in its own positive mask): `d_ap = sqrt(1e-12) = 1e-6`, so it still pushes its negatives
///   beyond the margin;
/// - an anchor with no negative (the whole batch is one identity) is left out of the mean: the loss is the mean
///   over the anchors that have a negative, and 0 (with zero gradient) when none has.
///
/// On P x K batches (every anchor has both) this is exactly the baseline's value.
pub fn batch_hard_triplet(features: Tensor<2>, labels: Tensor<1, Int>, margin: Option<f32>) -> TripletOutput {
    let [n, _] = features.dims();
    assert_eq!(labels.dims(), [n], "batch_hard_triplet: {n} feature rows but {:?} labels", labels.dims());
    let dist = euclidean_dist(features);

    let column = labels.clone().reshape([n, 1]).expand([n, n]);
    let row = labels.reshape([1, n]).expand([n, n]);
    let is_pos: Tensor<2, Bool> = column.equal(row);
    let is_neg = is_pos.clone().bool_not();

    // Hardest positive: the largest distance among same-label samples (the anchor itself always qualifies).
    let dist_ap = dist.clone().mask_fill(is_neg.clone(), f32::MIN).max_dim(1); // [N, 1]
    // Hardest negative: the smallest distance among other-label samples (f32::MAX when there is none).
    let dist_an = dist.mask_fill(is_pos, f32::MAX).min_dim(1); // [N, 1]
    let has_neg: Tensor<2, Bool> = is_neg.any_dim(1); // [N, 1]
    let no_neg = has_neg.clone().bool_not();

    let diff = (dist_ap.clone() - dist_an.clone()).mask_fill(no_neg.clone(), 0.0);
    let per_anchor = match margin {
        Some(m) => relu(diff.clone().add_scalar(m)),
        // burn's softplus is `log1p(exp(x))`, and `x` itself above 20 (where they agree to 2e-9).
        None => softplus(diff.clone(), 1.0),
    }
    .mask_fill(no_neg, 0.0);
    let denominator = has_neg.float().sum().clamp_min(1.0);
    let loss = per_anchor.sum().div(denominator.clone());

    // `d_an > d_ap` <=> `diff < 0`; anchors without a negative have `diff = 0` and do not count.
    let correct = diff.detach().lower_elem(0.0).float().sum().div(denominator.detach());

    TripletOutput { loss, dist_ap: dist_ap.reshape([n]), dist_an: dist_an.reshape([n]), correct }
}
