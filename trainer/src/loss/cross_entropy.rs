//! The ID loss: cross-entropy over the identity logits, optionally with label smoothing (Szegedy et al. 2016,
//! "Rethinking the Inception Architecture"; used as `CrossEntropyLabelSmooth` by Luo et al. 2019's
//! reid-strong-baseline and by TAO ReIdentificationNet).

use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor};

/// The smoothing `label_smooth: True` selects in the strong baseline (`epsilon = 0.1`).
pub const LABEL_SMOOTH_EPSILON: f32 = 0.1;

/// The mean cross-entropy of `logits` `[N, C]` against class indices `targets` `[N]`, a scalar `[1]`.
///
/// With `label_smoothing = Some(eps)` the target distribution is `(1 - eps) * onehot + eps / C` (the strong
/// baseline's `CrossEntropyLabelSmooth`, i.e. `(-q * log_softmax(logits)).mean(0).sum()`); `None` (or
/// `Some(0.0)`) is PyTorch's `F.cross_entropy` with mean reduction. The log-softmax subtracts the row maximum
/// (log-sum-exp), so large logits do not overflow.
///
/// # Panics
/// If `eps` is outside `[0, 1]`, or the shapes disagree.
pub fn cross_entropy(logits: Tensor<2>, targets: Tensor<1, Int>, label_smoothing: Option<f32>) -> Tensor<1> {
    let [n, classes] = logits.dims();
    assert_eq!(targets.dims(), [n], "cross_entropy: {n} logit rows but {:?} targets", targets.dims());
    let eps = label_smoothing.unwrap_or(0.0);
    assert!((0.0..=1.0).contains(&eps), "cross_entropy: label smoothing {eps} is outside [0, 1]");
    let log_probs = log_softmax(logits, 1);
    let onehot: Tensor<2> = targets.one_hot::<2>(classes).float();
    let q = if eps > 0.0 { onehot.mul_scalar(1.0 - eps).add_scalar(eps / classes as f32) } else { onehot };
    (q * log_probs).sum_dim(1).mean().neg()
}
