//! `reid bench conv`: where a ResNet training step spends its convolution time. Every convolution of a
//! torchvision-layout ResNet at the given input and batch is timed in burn (the CPU backend the trainer uses:
//! forward, the input gradient and the weight gradient, through the same ops burn's autodiff calls) and in PyTorch
//! (`tools/reference/conv_torch_reference.py`: `F.conv2d`, `torch.nn.grad.conv2d_input` / `conv2d_weight`), same
//! shapes and threads, in one run; and in this project's whole-batch products (`reid_models::cpu_conv`).

use anyhow::{Context, Result, bail};
use burn::tensor::module::{conv_transpose2d, conv2d, conv2d_weight_backward};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use burn::tensor::{Device, Distribution, Tensor};
use clap::Args;
use serde::{Deserialize, Serialize};
use std::process::Command;
use std::time::Instant;

const SCRIPT: &str = include_str!("../../../../tools/reference/conv_torch_reference.py");

/// Arguments of `reid bench conv`.
#[derive(Args)]
pub struct ConvBenchArgs {
    /// `resnet_18`, `resnet_34` (basic blocks) or `resnet_50`, `resnet_101` (bottlenecks).
    #[arg(long, default_value = "resnet_18")]
    pub backbone: String,
    /// Images per batch.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Input height.
    #[arg(long, default_value_t = 64)]
    pub height: usize,
    /// Input width.
    #[arg(long, default_value_t = 32)]
    pub width: usize,
    /// Stride of layer4's first block (the recipe's `model.last_stride`).
    #[arg(long, default_value_t = 1)]
    pub last_stride: usize,
    /// Timed repetitions of each op (after one warm-up); the fastest is kept (robust to a shared machine's
    /// preemptions, which only ever add time).
    #[arg(long, default_value_t = 7)]
    pub iters: usize,
    /// `wall`: elapsed time; `cpu`: the process's CPU time (all threads), which a shared machine's other
    /// processes do not inflate (use it with one thread: with more, waiting threads' spinning counts too).
    #[arg(long, default_value = "wall")]
    pub clock: String,
    /// Python interpreter with torch.
    #[arg(long, default_value = "python3")]
    pub python: String,
    /// Only time burn.
    #[arg(long)]
    pub skip_reference: bool,
}

/// One convolution shape of the network and how often it occurs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct ConvShape {
    cin: usize,
    cout: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    h: usize,
    w: usize,
    count: usize,
    /// Whether training needs this layer's input gradient (not for the first convolution: the images).
    input_grad: bool,
}

impl ConvShape {
    fn out(&self) -> (usize, usize) {
        let o = |x: usize| (x + 2 * self.padding - self.kernel) / self.stride + 1;
        (o(self.h), o(self.w))
    }
}

/// The convolutions of a torchvision ResNet (v1.5 bottlenecks: stride on the 3x3) at `h x w`, merged by shape.
fn resnet_convs(backbone: &str, h: usize, w: usize, last_stride: usize) -> Result<Vec<ConvShape>> {
    let (bottleneck, layers) = match backbone {
        "resnet_18" => (false, [2, 2, 2, 2]),
        "resnet_34" => (false, [3, 4, 6, 3]),
        "resnet_50" => (true, [3, 4, 6, 3]),
        "resnet_101" => (true, [3, 4, 23, 3]),
        other => bail!("--backbone: `{other}` is not a ResNet (resnet_18, resnet_34, resnet_50, resnet_101)"),
    };
    let mut list: Vec<ConvShape> = Vec::new();
    let mut add = |cin, cout, kernel, stride, (h, w): (usize, usize), input_grad| {
        let s = ConvShape { cin, cout, kernel, stride, padding: kernel / 2, h, w, count: 1, input_grad };
        let out = s.out();
        match list.iter_mut().find(|x| ConvShape { count: x.count, ..s.clone() } == **x) {
            Some(x) => x.count += 1,
            None => list.push(s),
        }
        out
    };
    let stem = add(3, 64, 7, 2, (h, w), false);
    // Max pooling 3x3, stride 2, padding 1.
    let mut size = (stem.0.div_ceil(2), stem.1.div_ceil(2));
    let mut inplanes = 64;
    let expansion = if bottleneck { 4 } else { 1 };
    for (i, (&blocks, planes)) in layers.iter().zip([64, 128, 256, 512]).enumerate() {
        let stride = if i == 0 {
            1
        } else if i == 3 {
            last_stride
        } else {
            2
        };
        for b in 0..blocks {
            let s = if b == 0 { stride } else { 1 };
            let input = size;
            let out = if bottleneck {
                let a = add(inplanes, planes, 1, 1, input, true);
                let m = add(planes, planes, 3, s, a, true);
                add(planes, planes * 4, 1, 1, m, true)
            } else {
                let a = add(inplanes, planes, 3, s, input, true);
                add(planes, planes, 3, 1, a, true)
            };
            if b == 0 && (s != 1 || inplanes != planes * expansion) {
                add(inplanes, planes * expansion, 1, s, input, true);
            }
            inplanes = planes * expansion;
            size = out;
        }
    }
    Ok(list)
}

/// Fewest seconds (wall, or with `cpu` the process's CPU time) of `iters` runs of `f` after one warm-up.
fn time(iters: usize, cpu: bool, mut f: impl FnMut()) -> f64 {
    f();
    (0..iters)
        .map(|_| {
            let (start, c0) = (Instant::now(), if cpu { super::process_cpu_seconds() } else { 0.0 });
            f();
            if cpu { super::process_cpu_seconds() - c0 } else { start.elapsed().as_secs_f64() }
        })
        .fold(f64::INFINITY, f64::min)
}

/// Seconds of forward, input gradient and weight gradient of one convolution in burn.
fn burn_times(s: &ConvShape, batch: usize, iters: usize, cpu: bool, device: &Device) -> [f64; 3] {
    let (ho, wo) = s.out();
    let x = Tensor::<4>::random([batch, s.cin, s.h, s.w], Distribution::Default, device);
    let weight = Tensor::<4>::random([s.cout, s.cin, s.kernel, s.kernel], Distribution::Default, device);
    let dy = Tensor::<4>::random([batch, s.cout, ho, wo], Distribution::Default, device);
    let opts = ConvOptions::new([s.stride; 2], [s.padding; 2], [1, 1], 1);
    let fwd = time(iters, cpu, || {
        let _ = conv2d(x.clone(), weight.clone(), None, opts.clone());
    });
    // burn-backend's conv2d_x_backward: a transposed convolution with the output padding that restores the size.
    let pad_out = |input: usize, out: usize| input + 2 * s.padding - ((out - 1) * s.stride + s.kernel);
    let topts =
        ConvTransposeOptions::new([s.stride; 2], [s.padding; 2], [pad_out(s.h, ho), pad_out(s.w, wo)], [1, 1], 1);
    let xgrad = if s.input_grad {
        time(iters, cpu, || {
            let _ = conv_transpose2d(dy.clone(), weight.clone(), None, topts.clone());
        })
    } else {
        0.0
    };
    let wgrad = time(iters, cpu, || {
        let _ = conv2d_weight_backward(x.clone(), weight.clone(), dy.clone(), opts.clone());
    });
    [fwd, xgrad, wgrad]
}

/// Seconds of the same three ops in `reid_models::cpu_conv` (whole-batch products), on f32 slices.
fn ours_times(s: &ConvShape, batch: usize, iters: usize, cpu: bool) -> Result<[f64; 3]> {
    use reid_models::cpu_conv::{Conv2dShape, forward, input_grad, weight_grad};
    let shape = Conv2dShape {
        batch,
        cin: s.cin,
        h: s.h,
        w: s.w,
        cout: s.cout,
        kernel: [s.kernel; 2],
        stride: [s.stride; 2],
        padding: [s.padding; 2],
        dilation: [1, 1],
    };
    let (ho, wo) = s.out();
    let fill =
        |n: usize, seed: usize| (0..n).map(|i| ((i * 7919 + seed) % 1000) as f32 / 500.0 - 1.0).collect::<Vec<f32>>();
    let x = fill(batch * s.cin * s.h * s.w, 1);
    let weight = fill(s.cout * s.cin * s.kernel * s.kernel, 2);
    let dy = fill(batch * s.cout * ho * wo, 3);
    let mut failed = None;
    let mut keep = |r: Result<Vec<f32>, String>| {
        if let Err(e) = r {
            failed = Some(e);
        }
    };
    let fwd = time(iters, cpu, || keep(forward(&shape, &x, &weight, None)));
    let xgrad = if s.input_grad { time(iters, cpu, || keep(input_grad(&shape, &weight, &dy))) } else { 0.0 };
    let wgrad = time(iters, cpu, || keep(weight_grad(&shape, &x, &dy)));
    match failed {
        Some(e) => bail!("{e}"),
        None => Ok([fwd, xgrad, wgrad]),
    }
}

#[derive(Deserialize)]
struct TorchTimes {
    torch: String,
    threads: usize,
    /// Per shape: forward, input gradient, weight gradient (seconds).
    times: Vec<[f64; 3]>,
}

/// Runs `reid bench conv`.
pub fn run(args: &ConvBenchArgs) -> Result<()> {
    if args.batch == 0 || args.iters == 0 {
        bail!("--batch and --iters must be at least 1");
    }
    let cpu = match args.clock.as_str() {
        "wall" => false,
        "cpu" => true,
        other => bail!("--clock: `{other}` is neither `wall` nor `cpu`"),
    };
    let shapes = resnet_convs(&args.backbone, args.height, args.width, args.last_stride)?;
    let threads = rayon::current_num_threads();
    let device = Device::flex();
    let burn: Vec<[f64; 3]> = shapes.iter().map(|s| burn_times(s, args.batch, args.iters, cpu, &device)).collect();
    let ours: Vec<[f64; 3]> =
        shapes.iter().map(|s| ours_times(s, args.batch, args.iters, cpu)).collect::<Result<_>>()?;
    let torch = if args.skip_reference {
        None
    } else {
        let dir = tempfile::tempdir()?;
        let script = dir.path().join("conv_torch_reference.py");
        std::fs::write(&script, SCRIPT)?;
        let spec = dir.path().join("shapes.json");
        std::fs::write(&spec, serde_json::to_vec(&shapes)?)?;
        let out = Command::new(&args.python)
            .arg(&script)
            .args(["--shapes".as_ref(), spec.as_os_str()])
            .args(["--batch", &args.batch.to_string(), "--iters", &args.iters.to_string()])
            .args(["--threads", &threads.to_string(), "--clock", &args.clock])
            .output()
            .with_context(|| format!("starting {}", args.python))?;
        if !out.status.success() {
            bail!("the PyTorch reference failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        let t: TorchTimes = serde_json::from_slice(&out.stdout).context("reading the PyTorch reference's output")?;
        if t.times.len() != shapes.len() {
            bail!("the PyTorch reference timed {} shapes, not {}", t.times.len(), shapes.len());
        }
        Some(t)
    };
    println!(
        "{} convolutions at {}x{}, batch {}, {threads} threads; {} milliseconds per op (best of {}), x count in \
         the network",
        args.backbone, args.height, args.width, args.batch, args.clock, args.iters
    );
    println!(
        "  {:<34}{:>6}{:>10}{:>10}{:>10}{:>10}{:>10}{:>10}{:>10}{:>10}{:>10}",
        "conv (cin>cout kxk /s @ hxw)",
        "count",
        "burn fwd",
        "x-grad",
        "w-grad",
        "ours fwd",
        "x-grad",
        "w-grad",
        "torch fwd",
        "x-grad",
        "w-grad"
    );
    let mut totals = [[0.0f64; 3]; 3];
    for (i, s) in shapes.iter().enumerate() {
        let t = torch.as_ref().map_or([f64::NAN; 3], |t| t.times[i]);
        let rows = [burn[i], ours[i], t];
        for (total, row) in totals.iter_mut().zip(&rows) {
            for k in 0..3 {
                total[k] += row[k] * s.count as f64;
            }
        }
        let name = format!("{}>{} {}x{} /{} @ {}x{}", s.cin, s.cout, s.kernel, s.kernel, s.stride, s.h, s.w);
        let cells: String = rows.iter().flatten().map(|v| format!("{:>10.2}", 1e3 * v)).collect();
        println!("  {name:<34}{:>6}{cells}", s.count);
    }
    let [b, o, t] = totals;
    let ms = |v: &[f64; 3]| {
        format!(
            "fwd {:.1}, x-grad {:.1}, w-grad {:.1} = {:.1}",
            1e3 * v[0],
            1e3 * v[1],
            1e3 * v[2],
            1e3 * v.iter().sum::<f64>()
        )
    };
    let ratio = |a: &[f64; 3], r: &[f64; 3]| {
        let all = a.iter().sum::<f64>() / r.iter().sum::<f64>();
        format!("fwd {:.2}, x-grad {:.2}, w-grad {:.2}, all {all:.2}", a[0] / r[0], a[1] / r[1], a[2] / r[2])
    };
    println!("  whole network, ms per batch: burn {}", ms(&b));
    println!(
        "  whole network, ms per batch: ours (whole-batch products) {}; ours / burn time {}",
        ms(&o),
        ratio(&o, &b)
    );
    if let Some(tt) = &torch {
        println!("  whole network, ms per batch: PyTorch {} ({} threads) {}", tt.torch, tt.threads, ms(&t));
        println!("  burn / PyTorch time: {}", ratio(&b, &t));
        println!("  ours / PyTorch time: {}", ratio(&o, &t));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resnet18_quickstart_shapes() {
        let s = resnet_convs("resnet_18", 64, 32, 1).unwrap();
        let total: usize = s.iter().map(|x| x.count).sum();
        // Stem + 16 block convolutions + 3 downsamples (layer2..layer4; layer4 changes width at stride 1).
        assert_eq!(total, 20);
        assert_eq!((s[0].h, s[0].w, s[0].out()), (64, 32, (32, 16)));
        let layer1 = s.iter().find(|x| x.cin == 64 && x.cout == 64 && x.kernel == 3).unwrap();
        assert_eq!((layer1.h, layer1.w, layer1.count), (16, 8, 4));
        let layer4 = s.iter().find(|x| x.cin == 512 && x.kernel == 3).unwrap();
        assert_eq!((layer4.h, layer4.w, layer4.count), (4, 2, 3));
        assert!(resnet_convs("vgg", 64, 32, 1).is_err());
    }

    #[test]
    fn resnet50_has_53_convolutions() {
        let s = resnet_convs("resnet_50", 256, 128, 1).unwrap();
        assert_eq!(s.iter().map(|x| x.count).sum::<usize>(), 53);
    }
}
