//! Center loss (Wen et al. 2016, "A Discriminative Feature Learning Approach for Deep Face Recognition"), as
//! Luo et al. 2019's reid-strong-baseline (`layers/center_loss.py`) and TAO ReIdentificationNet use it: one
//! learned center per identity, `loss = sum_i clamp(|x_i - c_{y_i}|^2, 1e-12, 1e12) / batch_size`.
//!
//! # Training the centers (what the trainer has to do)
//!
//! The baseline adds `center_loss_weight * center_loss` to the total loss, back-propagates once, steps the network
//! optimiser, then multiplies the centers' gradient by `1 / center_loss_weight` and steps a separate plain SGD
//! (no momentum, no weight decay) over the centers at `center_lr`. So the centers move by
//! `-center_lr * d(center_loss)/dc`, independent of the weight. In burn:
//!
//! ```ignore
//! let total = combined.total;            // includes center_loss_weight * center loss
//! let grads = total.backward();
//! // ... step the network with GradientsParams::from_module(&mut grads, &model) ...
//! center_loss = center_loss.sgd_step(&grads, center_loss_weight, center_lr);
//! ```
//!
//! [`CenterLoss::sgd_step`] does the rescaling and the step; [`CenterLoss::center_gradient`] returns the rescaled
//! gradient for a trainer that prefers its own optimiser (then: SGD, momentum 0, dampening 0, weight decay 0, at
//! `center_lr`; equivalently that optimiser at `center_lr / center_loss_weight` on the unscaled gradient).
//! The centers are a separate module so that the network optimiser never sees them.

use burn::module::{Module, Param};
use burn::tensor::{Device, Distribution, Gradients, Int, Tensor};

/// Learned class centers for the center loss: a module with one parameter, `centers` `[num_classes, feat_dim]`.
#[derive(Module, Debug)]
pub struct CenterLoss {
    /// One center per class `[num_classes, feat_dim]`.
    pub centers: Param<Tensor<2>>,
}

impl CenterLoss {
    /// Centers drawn from the standard normal distribution, as the baseline (`torch.randn`).
    pub fn new(num_classes: usize, feat_dim: usize, device: &Device) -> Self {
        Self::from_centers(Tensor::random([num_classes, feat_dim], Distribution::Normal(0.0, 1.0), device))
    }

    /// Given centers `[num_classes, feat_dim]` (e.g. restored from a checkpoint, or for tests).
    pub fn from_centers(centers: Tensor<2>) -> Self {
        CenterLoss { centers: Param::from_tensor(centers) }
    }

    /// The number of classes.
    pub fn num_classes(&self) -> usize {
        self.centers.dims()[0]
    }

    /// The feature dimension.
    pub fn feat_dim(&self) -> usize {
        self.centers.dims()[1]
    }

    /// `sum_i clamp(|x_i - c_{y_i}|^2, 1e-12, 1e12) / N` for `features` `[N, feat_dim]` and `labels` `[N]`, a
    /// scalar `[1]` (unweighted: the trainer multiplies by `center_loss_weight`).
    ///
    /// The baseline computes the squared distance as `|x|^2 + |c|^2 - 2 x.c` over all classes and clamps the
    /// masked-out zeros too, which adds `(num_classes - 1) * 1e-12` to the loss; here the distance is taken
    /// directly, so the value differs from the baseline's by at most that (below 1e-9 for 1,000 classes).
    ///
    /// # Panics
    /// If the shapes disagree.
    pub fn forward(&self, features: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1> {
        let [n, d] = features.dims();
        assert_eq!(labels.dims(), [n], "center loss: {n} feature rows but {:?} labels", labels.dims());
        assert_eq!(d, self.feat_dim(), "center loss: features have {d} dims, centers {}", self.feat_dim());
        let centers = self.centers.val().select(0, labels);
        (features - centers).square().sum_dim(1).clamp(1e-12, 1e12).sum().div_scalar(n as f32)
    }

    /// The centers' gradient in `grads` (from the backward pass of a total loss that contains
    /// `center_loss_weight * center_loss`), divided by `center_loss_weight`: the gradient of the unweighted center
    /// loss, which the baseline's center optimiser steps on. `None` when the centers got no gradient.
    pub fn center_gradient(&self, grads: &Gradients, center_loss_weight: f64) -> Option<Tensor<2>> {
        assert!(center_loss_weight > 0.0, "center_loss_weight must be > 0, got {center_loss_weight}");
        self.centers.val().grad(grads).map(|g| g.div_scalar(center_loss_weight))
    }

    /// The baseline's center update: `c <- c - center_lr * grad(c) / center_loss_weight` (plain SGD), with the
    /// gradient taken from `grads`. Unchanged when the centers got no gradient.
    pub fn sgd_step(self, grads: &Gradients, center_loss_weight: f64, center_lr: f64) -> Self {
        let Some(grad) = self.center_gradient(grads, center_loss_weight) else {
            return self;
        };
        let centers = self.centers.map(|c| {
            let require_grad = c.is_require_grad();
            let updated = Tensor::from_inner(c.inner() - grad.mul_scalar(center_lr));
            if require_grad { updated.require_grad() } else { updated }
        });
        CenterLoss { centers }
    }
}
