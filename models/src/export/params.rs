//! Reading parameter values out of burn modules for the graph writer.

use burn::module::Param;
use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, LayerNorm, Linear, PaddingConfig2d};
use burn::tensor::Tensor;

/// A tensor's shape and `f32` values.
pub type Values = (Vec<usize>, Vec<f32>);

/// Shape and `f32` values of a tensor.
pub fn tensor<const D: usize>(t: Tensor<D>) -> Values {
    let data = t.into_data().convert::<f32>();
    (data.shape().to_vec(), data.try_to_vec::<f32>().expect("f32 after conversion"))
}

/// Shape and values of a parameter.
pub fn param<const D: usize>(p: &Param<Tensor<D>>) -> Values {
    tensor(p.val())
}

/// The four values of a batch norm: scale, shift, running mean, running variance.
pub fn batch_norm(bn: &BatchNorm) -> [Vec<f32>; 4] {
    [param(&bn.gamma).1, param(&bn.beta).1, tensor(bn.running_mean.value()).1, tensor(bn.running_var.value()).1]
}

/// Scale and shift of a layer norm (a missing shift is zero).
pub fn layer_norm(ln: &LayerNorm) -> (Vec<f32>, Vec<f32>) {
    let g = param(&ln.gamma).1;
    let b = ln.beta.as_ref().map_or_else(|| vec![0.0; g.len()], |b| param(b).1);
    (g, b)
}

/// Weight `[in, out]` and optional bias of a linear layer.
pub fn linear(l: &Linear) -> (Values, Option<Vec<f32>>) {
    (param(&l.weight), l.bias.as_ref().map(|b| param(b).1))
}

/// ONNX `pads` (`[top, left, bottom, right]`) of a convolution.
pub fn conv_pads(c: &Conv2d) -> [i64; 4] {
    match c.padding {
        PaddingConfig2d::Explicit(t, l, b, r) => [t as i64, l as i64, b as i64, r as i64],
        _ => [0, 0, 0, 0],
    }
}
