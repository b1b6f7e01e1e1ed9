//! Gradient clipping by the global norm of all gradients, as PyTorch's `clip_grad_norm_` (burn's own clipping
//! works per parameter tensor).

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;

struct SquaredNorm<'a> {
    grads: &'a GradientsParams,
    sum: f64,
}

impl ModuleVisitor for SquaredNorm<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.get::<D>(param.id) {
            self.sum += f64::from(g.clone().mul(g).sum().into_scalar::<f32>());
        }
    }
}

struct Scale<'a> {
    grads: &'a mut GradientsParams,
    factor: f32,
}

impl ModuleVisitor for Scale<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.remove::<D>(param.id) {
            self.grads.register(param.id, g.mul_scalar(self.factor));
        }
    }
}

/// The global L2 norm of `module`'s gradients; when it exceeds `max_norm` (> 0) every gradient is scaled by
/// `max_norm / (norm + 1e-6)`. Returns the norm before clipping.
pub fn clip_global_norm<M: Module>(module: &M, grads: &mut GradientsParams, max_norm: f64) -> f64 {
    let mut norm = SquaredNorm { grads, sum: 0.0 };
    module.visit(&mut norm);
    let total = norm.sum.sqrt();
    if max_norm > 0.0 && total > max_norm {
        let factor = (max_norm / (total + 1e-6)) as f32;
        module.visit(&mut Scale { grads, factor });
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::LinearConfig;
    use burn::tensor::Device;

    #[test]
    fn clips_by_the_norm_of_all_gradients_together() {
        let device = Device::flex().autodiff();
        let layer = LinearConfig::new(3, 1).init(&device);
        // d/dw sum(2w) = 2 for 3 weights, d/db = 2: global norm = sqrt(4 * 4) = 4.
        let loss = layer.weight.val().sum().mul_scalar(2.0) + layer.bias.as_ref().unwrap().val().sum().mul_scalar(2.0);
        let mut grads = GradientsParams::from_grads(loss.backward(), &layer);
        let norm = clip_global_norm(&layer, &mut grads, 1.0);
        assert!((norm - 4.0).abs() < 1e-6);
        let g = grads.get::<2>(layer.weight.id).unwrap().into_data().try_to_vec::<f32>().unwrap();
        assert!(g.iter().all(|v| (v - 0.5).abs() < 1e-5), "{g:?}");
        assert!((clip_global_norm(&layer, &mut grads, 10.0) - 1.0).abs() < 1e-5, "already clipped");
    }
}
