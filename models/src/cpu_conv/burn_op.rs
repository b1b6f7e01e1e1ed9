//! [`conv2d`]: the whole-batch products as a burn operation. A backend extension (burn 0.22's
//! `#[backend_extension]`) runs them on the CPU backend (Flex) in f32 and f64, and its autodiff implementation
//! registers the input and weight gradients from the same products; other float types fall back to burn's own
//! convolution ops. Devices other than the CPU never reach it ([`conv2d`] calls burn's `conv2d` there).

use super::{Conv2dShape, Real, forward, input_grad, weight_grad};
use burn::backend::flex::{FlexTensor, Layout};
use burn::backend::ops::ModuleOps;
use burn::backend::{Backend, Flex, TensorMetadata, backend_extension, tensor::FloatTensor};
use burn::tensor::ops::ConvOptions;
use burn::tensor::{DType, Tensor};

/// The convolution and its two gradients on one backend.
#[backend_extension(Flex, Autodiff: cfg(feature = "autodiff"))]
pub trait BatchedConv: Backend {
    /// `x` (NCHW) convolved with `weight` (`[cout, cin, kh, kw]`), no bias.
    fn batched_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        stride: [usize; 2],
        padding: [usize; 2],
        dilation: [usize; 2],
    ) -> FloatTensor<Self>;
    /// The input gradient given the output gradient `dy`; `x` supplies the input's shape.
    fn batched_conv2d_x_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        dy: FloatTensor<Self>,
        stride: [usize; 2],
        padding: [usize; 2],
        dilation: [usize; 2],
    ) -> FloatTensor<Self>;
    /// The weight gradient given the output gradient `dy`.
    fn batched_conv2d_weight_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        dy: FloatTensor<Self>,
        stride: [usize; 2],
        padding: [usize; 2],
        dilation: [usize; 2],
    ) -> FloatTensor<Self>;
}

/// The shape of the convolution of `x` by `weight` and its output size, or None where burn's own op must decide
/// (not 4-d, the weight's input channels differ from the input's, or no output fits): burn then reports it as it
/// would without this extension.
fn shape_of(
    x: &FlexTensor,
    weight: &FlexTensor,
    stride: [usize; 2],
    padding: [usize; 2],
    dilation: [usize; 2],
) -> Option<(Conv2dShape, [usize; 2])> {
    let (xs, ws) = (x.shape(), weight.shape());
    if xs.num_dims() != 4 || ws.num_dims() != 4 || xs[1] != ws[1] {
        return None;
    }
    let s = Conv2dShape {
        batch: xs[0],
        cin: xs[1],
        h: xs[2],
        w: xs[3],
        cout: ws[0],
        kernel: [ws[2], ws[3]],
        stride,
        padding,
        dilation,
    };
    let out = s.out().ok()?;
    Some((s, out))
}

/// Op `op` (0 forward, 1 input gradient, 2 weight gradient: see [`calls`]): `f` over the contiguous values of the
/// inputs, as a new tensor of `dims` in float type `T`.
fn run<T: Real + burn::tensor::Element + bytemuck::Pod>(
    op: usize,
    inputs: &[&FlexTensor],
    dims: Vec<usize>,
    f: impl FnOnce(&[&[T]]) -> Result<Vec<T>, String>,
) -> FlexTensor {
    CALLS[op].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let owned: Vec<FlexTensor> = inputs.iter().map(|t| t.to_contiguous()).collect();
    let slices: Vec<&[T]> = owned.iter().map(|t| t.storage::<T>()).collect();
    // `shape_of` accepted the shapes of burn's own tensors, so every length matches.
    let values = f(&slices).unwrap_or_else(|e| panic!("batched_conv2d: {e}"));
    FlexTensor::new(burn::tensor::Bytes::from_elems(values), Layout::contiguous(dims.into()), T::dtype())
}

/// burn's options for the same convolution (the fallback).
fn options(stride: [usize; 2], padding: [usize; 2], dilation: [usize; 2]) -> ConvOptions<2> {
    ConvOptions::new(stride, padding, dilation, 1)
}

/// Calls of the products per op (forward, input gradient, weight gradient); fallbacks to burn's ops not counted.
static CALLS: [std::sync::atomic::AtomicUsize; 3] = [const { std::sync::atomic::AtomicUsize::new(0) }; 3];

/// How many times this process ran the products (forward, input gradient, weight gradient) through the backend
/// extension: tests use it to prove a network's convolutions did not silently fall back to burn's.
pub fn calls() -> [usize; 3] {
    CALLS.each_ref().map(|c| c.load(std::sync::atomic::Ordering::Relaxed))
}

impl BatchedConv for Flex {
    fn batched_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        stride: [usize; 2],
        padding: [usize; 2],
        dilation: [usize; 2],
    ) -> FloatTensor<Self> {
        match (shape_of(&x, &weight, stride, padding, dilation), x.dtype()) {
            (Some((s, [oh, ow])), DType::F32) => {
                run::<f32>(0, &[&x, &weight], vec![s.batch, s.cout, oh, ow], |v| forward(&s, v[0], v[1], None))
            }
            (Some((s, [oh, ow])), DType::F64) => {
                run::<f64>(0, &[&x, &weight], vec![s.batch, s.cout, oh, ow], |v| forward(&s, v[0], v[1], None))
            }
            _ => Flex::conv2d(x, weight, None, options(stride, padding, dilation)),
        }
    }

    fn batched_conv2d_x_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        dy: FloatTensor<Self>,
        stride: [usize; 2],
        padding: [usize; 2],
        dilation: [usize; 2],
    ) -> FloatTensor<Self> {
        match (shape_of(&x, &weight, stride, padding, dilation), x.dtype()) {
            (Some((s, _)), DType::F32) => {
                run::<f32>(1, &[&weight, &dy], vec![s.batch, s.cin, s.h, s.w], |v| input_grad(&s, v[0], v[1]))
            }
            (Some((s, _)), DType::F64) => {
                run::<f64>(1, &[&weight, &dy], vec![s.batch, s.cin, s.h, s.w], |v| input_grad(&s, v[0], v[1]))
            }
            _ => Flex::conv2d_x_backward(x, weight, dy, options(stride, padding, dilation)),
        }
    }

    fn batched_conv2d_weight_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        dy: FloatTensor<Self>,
        stride: [usize; 2],
        padding: [usize; 2],
        dilation: [usize; 2],
    ) -> FloatTensor<Self> {
        let dims = |s: &Conv2dShape| vec![s.cout, s.cin, s.kernel[0], s.kernel[1]];
        match (shape_of(&x, &weight, stride, padding, dilation), x.dtype()) {
            (Some((s, _)), DType::F32) => run::<f32>(2, &[&x, &dy], dims(&s), |v| weight_grad(&s, v[0], v[1])),
            (Some((s, _)), DType::F64) => run::<f64>(2, &[&x, &dy], dims(&s), |v| weight_grad(&s, v[0], v[1])),
            _ => Flex::conv2d_weight_backward(x, weight, dy, options(stride, padding, dilation)),
        }
    }
}

#[cfg(feature = "autodiff")]
mod autodiff {
    use super::BatchedConv;
    use burn::backend::autodiff::checkpoint::base::Checkpointer;
    use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
    use burn::backend::autodiff::grads::Gradients;
    use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
    use burn::backend::autodiff::{Autodiff, NodeId};
    use burn::backend::tensor::FloatTensor;

    /// The backward step: both gradients from the inner backend's products.
    #[derive(Debug)]
    struct BatchedConvBackward;

    type Geometry = ([usize; 2], [usize; 2], [usize; 2]);

    impl<B: BatchedConv> Backward<B, 2> for BatchedConvBackward {
        type State = (NodeId, NodeId, Geometry);

        fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, checkpointer: &mut Checkpointer) {
            let [node_x, node_weight] = ops.parents;
            let dy = grads.consume::<B>(&ops.node);
            let (x_state, weight_state, (stride, padding, dilation)) = ops.state;
            let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(x_state);
            let weight = checkpointer.retrieve_node_output::<FloatTensor<B>>(weight_state);
            if let Some(node) = node_x {
                let dx = B::batched_conv2d_x_backward(x.clone(), weight.clone(), dy.clone(), stride, padding, dilation);
                grads.register::<B>(node.id, dx);
            }
            if let Some(node) = node_weight {
                let dw = B::batched_conv2d_weight_backward(x, weight, dy, stride, padding, dilation);
                grads.register::<B>(node.id, dw);
            }
        }
    }

    impl<B: BatchedConv, C: CheckpointStrategy> BatchedConv for Autodiff<B, C> {
        fn batched_conv2d(
            x: FloatTensor<Self>,
            weight: FloatTensor<Self>,
            stride: [usize; 2],
            padding: [usize; 2],
            dilation: [usize; 2],
        ) -> FloatTensor<Self> {
            match BatchedConvBackward.prepare::<C>([x.node(), weight.node()]).compute_bound().stateful() {
                OpsKind::Tracked(mut prep) => {
                    let (xs, ws) = (prep.checkpoint(&x), prep.checkpoint(&weight));
                    let out = B::batched_conv2d(x.into_primitive(), weight.into_primitive(), stride, padding, dilation);
                    prep.finish((xs, ws, (stride, padding, dilation)), out)
                }
                OpsKind::UnTracked(prep) => prep.finish(B::batched_conv2d(
                    x.into_primitive(),
                    weight.into_primitive(),
                    stride,
                    padding,
                    dilation,
                )),
            }
        }

        fn batched_conv2d_x_backward(
            x: FloatTensor<Self>,
            weight: FloatTensor<Self>,
            dy: FloatTensor<Self>,
            stride: [usize; 2],
            padding: [usize; 2],
            dilation: [usize; 2],
        ) -> FloatTensor<Self> {
            // Only reached outside a backward pass (a second-order use): no gradient of its own.
            FloatTensor::<Self>::new(B::batched_conv2d_x_backward(
                x.into_primitive(),
                weight.into_primitive(),
                dy.into_primitive(),
                stride,
                padding,
                dilation,
            ))
        }

        fn batched_conv2d_weight_backward(
            x: FloatTensor<Self>,
            weight: FloatTensor<Self>,
            dy: FloatTensor<Self>,
            stride: [usize; 2],
            padding: [usize; 2],
            dilation: [usize; 2],
        ) -> FloatTensor<Self> {
            FloatTensor::<Self>::new(B::batched_conv2d_weight_backward(
                x.into_primitive(),
                weight.into_primitive(),
                dy.into_primitive(),
                stride,
                padding,
                dilation,
            ))
        }
    }
}

/// `x` (NCHW) convolved with `weight` (no bias): through the whole-batch products on the CPU backend (with their own
/// backward on an autodiff device), through burn's `conv2d` on any other device, for groups, uneven padding or
/// channels that do not match.
pub fn conv2d(x: Tensor<4>, weight: Tensor<4>, options: ConvOptions<2>) -> Tensor<4> {
    let device = x.device();
    let on_cpu = matches!(device.clone().without_autodiff().as_dispatch(), burn::backend::DispatchDevice::Flex(_));
    let [(top, bottom), (left, right)] = options.padding;
    // Without this crate's `autodiff` feature the extension has no autodiff route: burn's op keeps the gradients.
    let routed = !device.is_autodiff() || cfg!(feature = "autodiff");
    // Shapes burn would refuse go to burn's op too, so the error is burn's own shape check.
    let fits = x.dims()[1] == weight.dims()[1];
    if options.groups != 1 || !on_cpu || !routed || top != bottom || left != right || !fits {
        return burn::tensor::module::conv2d(x, weight, None, options);
    }
    let out = <burn::backend::Dispatch as BatchedConv>::batched_conv2d(
        x.into_dispatch(),
        weight.into_dispatch(),
        options.stride,
        [top, left],
        options.dilation,
    );
    Tensor::from_dispatch(out)
}

/// `c.forward(x)` through [`conv2d`] for valid or explicit padding, then the bias (if any) added to the output;
/// `Same` padding (size-dependent) takes the module's own forward.
pub fn conv2d_module(c: &burn::nn::conv::Conv2d, x: Tensor<4>) -> Tensor<4> {
    let padding = match c.padding {
        burn::nn::PaddingConfig2d::Valid => [(0, 0), (0, 0)],
        burn::nn::PaddingConfig2d::Explicit(top, left, bottom, right) => [(top, bottom), (left, right)],
        burn::nn::PaddingConfig2d::Same => return c.forward(x),
    };
    let options = ConvOptions::new_with_padding(c.stride, padding, c.dilation, c.groups);
    let y = conv2d(x, c.weight.val(), options);
    match &c.bias {
        Some(bias) => {
            let b = bias.val();
            let cout = b.dims()[0];
            y + b.reshape([1, cout, 1, 1])
        }
        None => y,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, Distribution};

    /// Largest difference over the largest magnitude of `want`.
    fn relative(got: Tensor<4>, want: Tensor<4>) -> f32 {
        let (got, want) = (got.into_data().try_to_vec::<f32>().unwrap(), want.into_data().try_to_vec::<f32>().unwrap());
        assert_eq!(got.len(), want.len());
        let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-30);
        got.iter().zip(&want).fold(0.0f32, |m, (a, b)| m.max((a - b).abs())) / scale
    }

    #[cfg(feature = "autodiff")]
    #[test]
    fn forward_and_both_gradients_equal_burns_convolution() {
        let device = Device::flex().autodiff();
        let before = calls();
        // The stem (7x7 /2 pad 3, per image), a basic block's 3x3 on a small map (interleaved), a strided 1x1
        // (batched planar) and a pointwise 1x1 on a large map (per image, no unfolding).
        for (x_dims, w_dims, stride, pad) in [
            ([3, 3, 40, 24], [8, 3, 7, 7], 2, 3),
            ([4, 16, 6, 4], [12, 16, 3, 3], 1, 1),
            ([4, 8, 8, 6], [16, 8, 1, 1], 2, 0),
            ([2, 8, 20, 16], [4, 8, 1, 1], 1, 0),
        ] {
            let x = Tensor::<4>::random(x_dims, Distribution::Default, &device);
            let w = Tensor::<4>::random(w_dims, Distribution::Default, &device);
            let opts = ConvOptions::new([stride; 2], [pad; 2], [1, 1], 1);
            let (xa, wa) = (x.clone().require_grad(), w.clone().require_grad());
            let (xb, wb) = (x.require_grad(), w.require_grad());
            let ours = conv2d(xa.clone(), wa.clone(), opts.clone());
            let theirs = burn::tensor::module::conv2d(xb.clone(), wb.clone(), None, opts);
            assert_eq!(ours.dims(), theirs.dims());
            let dy = Tensor::<4>::random(theirs.dims(), Distribution::Default, &device);
            let at = format!("x {x_dims:?} w {w_dims:?} /{stride} pad {pad}");
            assert!(relative(ours.clone(), theirs.clone()) < 1e-5, "{at}: forward");
            let g_ours = ours.mul(dy.clone()).sum().backward();
            let g_theirs = theirs.mul(dy).sum().backward();
            let dx = relative(xa.grad(&g_ours).unwrap(), xb.grad(&g_theirs).unwrap());
            let dw = relative(wa.grad(&g_ours).unwrap(), wb.grad(&g_theirs).unwrap());
            assert!(dx < 1e-5 && dw < 1e-5, "{at}: input gradient off by {dx}, weight gradient by {dw}");
        }
        // Four convolutions, each with both gradients, went through the products (other tests may add calls).
        let after = calls();
        assert!((0..3).all(|i| after[i] >= before[i] + 4), "calls {before:?} -> {after:?}");
    }

    /// Error of `got` against `want`: (largest |difference|, root-mean-square difference), each over the same
    /// statistic of `want`.
    fn errors(got: &[f32], want: &[f64]) -> [f64; 2] {
        let max_w = want.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let rms_w = (want.iter().map(|v| v * v).sum::<f64>() / want.len() as f64).sqrt();
        let d: Vec<f64> = got.iter().zip(want).map(|(&g, &w)| g as f64 - w).collect();
        let max_d = d.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let rms_d = (d.iter().map(|v| v * v).sum::<f64>() / d.len() as f64).sqrt();
        [max_d / max_w, rms_d / rms_w]
    }

    /// In float32, on the quick-start network's own shapes (ResNet-18 at 64x32, batch 32: every distinct
    /// convolution), the products are as close to the exact (float64) result as burn-flex's own convolution: the
    /// root-mean-square error of each op, relative to the result's, is under 2x burn-flex's or under 4e-7 (about
    /// three float32 epsilons: burn-flex's pointwise weight gradient is unusually exact, 9e-8 against our 2.8e-7).
    #[cfg(feature = "autodiff")]
    #[test]
    fn in_float32_the_products_are_as_accurate_as_burns_convolution() {
        use burn::tensor::TensorData;
        let device = Device::flex().autodiff();
        let value = |n: usize, seed: u64, positive: bool| -> Vec<f32> {
            let mut z = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            (0..n)
                .map(|_| {
                    z ^= z << 13;
                    z ^= z >> 7;
                    z ^= z << 17;
                    let u = (z >> 40) as f32 / (1u64 << 24) as f32;
                    if positive { u } else { 2.0 * u - 1.0 }
                })
                .collect()
        };
        // (cin, cout, kernel, stride, input h, w): the stem, then layer1-4 (last stride 1) with their downsamples.
        let shapes = [
            (3, 64, 7, 2, 64, 32),
            (64, 64, 3, 1, 16, 8),
            (64, 128, 3, 2, 16, 8),
            (128, 128, 3, 1, 8, 4),
            (64, 128, 1, 2, 16, 8),
            (128, 256, 3, 2, 8, 4),
            (256, 256, 3, 1, 4, 2),
            (128, 256, 1, 2, 8, 4),
            (256, 512, 3, 1, 4, 2),
            (512, 512, 3, 1, 4, 2),
            (256, 512, 1, 1, 4, 2),
        ];
        let batch = 32;
        for (i, (cin, cout, k, stride, h, w)) in shapes.into_iter().enumerate() {
            let s = Conv2dShape {
                batch,
                cin,
                h,
                w,
                cout,
                kernel: [k, k],
                stride: [stride; 2],
                padding: [k / 2; 2],
                dilation: [1, 1],
            };
            let [oh, ow] = s.out().unwrap();
            let x = value(batch * cin * h * w, 3 * i as u64 + 1, true);
            let wt = value(cout * cin * k * k, 3 * i as u64 + 2, false);
            let dy = value(batch * cout * oh * ow, 3 * i as u64 + 3, false);
            let wide = |v: &[f32]| v.iter().map(|&a| a as f64).collect::<Vec<f64>>();
            let exact = [
                super::super::forward(&s, &wide(&x), &wide(&wt), None).unwrap(),
                super::super::input_grad(&s, &wide(&wt), &wide(&dy)).unwrap(),
                super::super::weight_grad(&s, &wide(&x), &wide(&dy)).unwrap(),
            ];
            let t = |v: &[f32], dims: [usize; 4]| Tensor::<4>::from_data(TensorData::new(v.to_vec(), dims), &device);
            let opts = ConvOptions::new([stride; 2], [k / 2; 2], [1, 1], 1);
            let run = |ours: bool| -> [Vec<f32>; 3] {
                let xt = t(&x, [batch, cin, h, w]).require_grad();
                let wtt = t(&wt, [cout, cin, k, k]).require_grad();
                let y = if ours {
                    conv2d(xt.clone(), wtt.clone(), opts.clone())
                } else {
                    burn::tensor::module::conv2d(xt.clone(), wtt.clone(), None, opts.clone())
                };
                let g = y.clone().mul(t(&dy, [batch, cout, oh, ow])).sum().backward();
                let v = |t: Tensor<4>| t.into_data().try_to_vec::<f32>().unwrap();
                [v(y), v(xt.grad(&g).unwrap()), v(wtt.grad(&g).unwrap())]
            };
            let (ours, theirs) = (run(true), run(false));
            for (op, name) in ["forward", "input gradient", "weight gradient"].iter().enumerate() {
                let (e_ours, e_theirs) = (errors(&ours[op], &exact[op]), errors(&theirs[op], &exact[op]));
                println!(
                    "{cin}>{cout} {k}x{k} /{stride} @{h}x{w} {name}: rms error ours {:.2e} burn {:.2e}, max ours {:.2e} burn {:.2e}",
                    e_ours[1], e_theirs[1], e_ours[0], e_theirs[0]
                );
                assert!(
                    e_ours[1] < (2.0 * e_theirs[1]).max(4e-7),
                    "{cin}>{cout} {k}x{k} /{stride} {name}: rms error {:.2e} vs burn-flex {:.2e}",
                    e_ours[1],
                    e_theirs[1]
                );
            }
        }
    }

    #[test]
    fn channels_that_do_not_match_get_burns_own_error() {
        let device = Device::flex();
        let message = |f: &dyn Fn() -> Tensor<4>| {
            let e = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).expect_err("a shape error");
            e.downcast_ref::<String>().cloned().or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string())).unwrap()
        };
        let x = Tensor::<4>::random([2, 4, 9, 7], Distribution::Default, &device);
        let w = Tensor::<4>::random([6, 3, 3, 3], Distribution::Default, &device);
        let opts = ConvOptions::new([1, 1], [1, 1], [1, 1], 1);
        let theirs = message(&|| burn::tensor::module::conv2d(x.clone(), w.clone(), None, opts.clone()));
        let ours = message(&|| conv2d(x.clone(), w.clone(), opts.clone()));
        assert_eq!(ours, theirs);
        assert!(ours.contains("channel"), "{ours}");
    }

    #[test]
    fn without_autodiff_it_is_the_plain_forward() {
        let device = Device::flex();
        let x = Tensor::<4>::random([2, 5, 9, 7], Distribution::Default, &device);
        let w = Tensor::<4>::random([6, 5, 3, 3], Distribution::Default, &device);
        let opts = ConvOptions::new([2, 1], [1, 0], [1, 2], 1);
        let want = burn::tensor::module::conv2d(x.clone(), w.clone(), None, opts.clone());
        assert!(relative(conv2d(x.clone(), w, opts), want) < 1e-5);
        // A module with a bias and explicit padding: what its own forward gives.
        let c = burn::nn::conv::Conv2dConfig::new([5, 4], [3, 3])
            .with_stride([2, 1])
            .with_padding(burn::nn::PaddingConfig2d::Explicit(1, 2, 1, 2))
            .init(&device);
        assert!(relative(conv2d_module(&c, x.clone()), c.forward(x)) < 1e-5);
    }
}
