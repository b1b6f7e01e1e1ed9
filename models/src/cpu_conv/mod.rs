//! 2-D convolution on the CPU as whole-batch matrix products: forward, input gradient and weight gradient.
//!
//! burn's CPU backend runs a convolution image by image (one matrix product per image, with as many columns as
//! the image has output pixels: 8 at the quick-start ResNet's last stage), its input gradient as a per-image
//! transposed convolution, and its weight gradient as a convolution of the input with the output gradient as the
//! kernel; `reid bench conv` measured these at 2.1x, 3.0x and 1.2-3.4x PyTorch's CPU time. Here each op is one
//! product over a chunk of images (Chellapilla, Puri and Simard, "High Performance Convolutional Neural Networks
//! for Document Processing", IWFHR 2006: unfold the input, then multiply; the layout is Caffe's column buffer):
//!
//! - forward: `Y[co, (b, p)] = W[co, k] . col[k, (b, p)]`, `k` = (input channel, kernel row, kernel column),
//!   `p` = output pixel;
//! - input gradient: `dcol = W^T . dY`, then each column entry is added back to the input pixel it came from
//!   ([`col2im`](columns::col2im));
//! - weight gradient: `dW = dY . col^T`, accumulated over the chunks.
//!
//! Chunks hold as many images as keep the column buffer under [`COLUMN_LIMIT`] values (with at least
//! [`MIN_COLUMNS`] output pixels). The products run on the
//! `gemm` crate (the kernels burn-flex uses), over rayon's threads.

mod burn_op;
mod columns;
mod ops;
#[cfg(test)]
mod tests;

pub use burn_op::{BatchedConv, calls, conv2d, conv2d_module};
pub use ops::{Real, forward, input_grad, weight_grad};

/// Whether the ResNet's convolutions run through [`conv2d`] on the CPU: yes unless the environment variable
/// `REID_CPU_CONV` is `burn` (burn-flex's own kernels; read once per process).
pub fn enabled() -> bool {
    static ENABLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ENABLED.get_or_init(|| std::env::var("REID_CPU_CONV").map_or(true, |v| v != "burn"))
}

/// Largest column buffer, in values (4 MiB of f32: the chunk's columns stay in the last-level cache between being
/// written and being read by the product)...
pub const COLUMN_LIMIT: usize = 1 << 20;
/// ...unless a chunk would then have fewer output pixels than this (too narrow a product).
pub const MIN_COLUMNS: usize = 256;

/// The shape of one 2-D convolution (groups of one): NCHW input, `[cout, cin, kh, kw]` weight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dShape {
    /// Images.
    pub batch: usize,
    /// Input channels.
    pub cin: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Output channels.
    pub cout: usize,
    /// Kernel height and width.
    pub kernel: [usize; 2],
    /// Stride (rows, columns).
    pub stride: [usize; 2],
    /// Zero padding on each side (rows, columns).
    pub padding: [usize; 2],
    /// Dilation (rows, columns).
    pub dilation: [usize; 2],
}

impl Conv2dShape {
    /// Output size along one axis (`None` when the dilated kernel is larger than the padded input).
    fn out_len(input: usize, kernel: usize, stride: usize, padding: usize, dilation: usize) -> Option<usize> {
        let span = dilation.checked_mul(kernel.checked_sub(1)?)?.checked_add(1)?;
        let padded = input.checked_add(padding.checked_mul(2)?)?;
        Some(padded.checked_sub(span)? / stride + 1)
    }

    /// Output height and width; an error naming the field for an empty or impossible shape.
    pub fn out(&self) -> Result<[usize; 2], String> {
        for (name, v) in [
            ("batch", self.batch),
            ("cin", self.cin),
            ("cout", self.cout),
            ("kernel height", self.kernel[0]),
            ("kernel width", self.kernel[1]),
            ("stride rows", self.stride[0]),
            ("stride columns", self.stride[1]),
            ("dilation rows", self.dilation[0]),
            ("dilation columns", self.dilation[1]),
        ] {
            if v == 0 {
                return Err(format!("convolution {name} is 0"));
            }
        }
        let oh = Self::out_len(self.h, self.kernel[0], self.stride[0], self.padding[0], self.dilation[0]);
        let ow = Self::out_len(self.w, self.kernel[1], self.stride[1], self.padding[1], self.dilation[1]);
        match (oh, ow) {
            (Some(oh), Some(ow)) => Ok([oh, ow]),
            _ => Err(format!(
                "convolution kernel {:?} (dilation {:?}) is larger than the input {}x{} padded by {:?}",
                self.kernel, self.dilation, self.h, self.w, self.padding
            )),
        }
    }

    /// Rows of the column buffer: `cin * kh * kw`.
    fn k(&self) -> usize {
        self.cin * self.kernel[0] * self.kernel[1]
    }

    /// Images per chunk: as many as [`COLUMN_LIMIT`] allows, at least [`MIN_COLUMNS`] output pixels' worth, at least
    /// one, at most the batch.
    fn chunk(&self, pixels: usize) -> usize {
        let fit = COLUMN_LIMIT / (self.k() * pixels).max(1);
        fit.max(MIN_COLUMNS.div_ceil(pixels.max(1))).clamp(1, self.batch.max(1))
    }
}
