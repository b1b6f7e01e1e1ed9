//! Batch normalisation with PyTorch's training semantics (Ioffe and Szegedy 2015, as `torch.nn.BatchNorm1d/2d`
//! define it): a training step normalises with the batch's biased variance and moves `running_var` towards the
//! batch's UNBIASED variance (`var * n / (n - 1)`, `n` the values per channel). burn's `BatchNorm` moves it
//! towards the biased one, so a network trained in burn had running variances `(n - 1) / n` times PyTorch's
//! (3 % smaller for a BNNeck over a batch of 32) and evaluated differently. Every BatchNorm of the ReID networks
//! (the ResNet's and the BNNecks) runs through [`batch_norm`].

use burn::nn::BatchNorm;
use burn::tensor::Tensor;
use burn::tensor::module::batch_norm_train;

/// `bn` applied to `x` `[N, C, ...]`: in training (an autodiff device and the layer's training flag on, the
/// condition burn's own `BatchNorm::forward` uses) with the batch statistics, updating the running mean with the
/// batch mean and the running variance with the unbiased batch variance (momentum `bn.momentum`); otherwise
/// burn's inference forward with the running statistics.
pub fn batch_norm<const D: usize>(bn: &BatchNorm, x: Tensor<D>) -> Tensor<D> {
    if !(x.device().is_autodiff() && bn.training.is_enabled()) {
        return bn.forward(x);
    }
    let device = x.device();
    let dims = x.dims();
    let per_channel = dims.iter().product::<usize>() / dims[1].max(1);
    let out = batch_norm_train(x, bn.gamma.val(), bn.beta.val(), bn.epsilon);
    // PyTorch refuses a training batch with one value per channel; here the biased variance (0) stands in.
    let correction = if per_channel > 1 { per_channel as f64 / (per_channel - 1) as f64 } else { 1.0 };
    let m = bn.momentum;
    let mean = bn.running_mean.value_sync().to_device(&device);
    let var = bn.running_var.value_sync().to_device(&device);
    let mean = mean.mul_scalar(1.0 - m).add(out.mean.detach().mul_scalar(m));
    let var = var.mul_scalar(1.0 - m).add(out.variance.detach().mul_scalar(m * correction));
    bn.running_mean.update(mean.detach());
    bn.running_var.update(var.detach());
    out.output
}
