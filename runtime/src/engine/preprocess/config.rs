//! What a model expects of its input: size, channel order, scale and per-channel mean/std.

/// Channel order a model expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ColorOrder {
    /// Red, green, blue (the models this stack exports).
    #[default]
    Rgb,
    /// Blue, green, red (some third-party models).
    Bgr,
}

impl ColorOrder {
    /// The RGB channel each model channel reads, in the model's order.
    pub fn source_channels(self) -> [usize; 3] {
        match self {
            ColorOrder::Rgb => [0, 1, 2],
            ColorOrder::Bgr => [2, 1, 0],
        }
    }
}

/// Everything needed to turn an image into a model input.
#[derive(Clone, Debug, PartialEq)]
pub struct PreprocessConfig {
    /// Input height in pixels.
    pub height: u32,
    /// Input width in pixels.
    pub width: u32,
    /// Per-channel mean of scaled pixels, in the model's channel order.
    pub mean: [f32; 3],
    /// Per-channel standard deviation, in the model's channel order.
    pub std: [f32; 3],
    /// Factor applied to 8-bit values before mean/std (1/255).
    pub scale: f64,
    /// Channel order of the input.
    pub color: ColorOrder,
}

/// ImageNet per-channel mean (RGB), the usual `pixel_mean`.
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
/// ImageNet per-channel standard deviation (RGB), the usual `pixel_std`.
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

impl PreprocessConfig {
    /// `height x width`, ImageNet mean/std, `1/255`, RGB.
    pub fn imagenet(height: u32, width: u32) -> Self {
        Self { height, width, mean: IMAGENET_MEAN, std: IMAGENET_STD, scale: 1.0 / 255.0, color: ColorOrder::Rgb }
    }

    /// Values per preprocessed image (`3 x height x width`).
    pub fn plane_len(&self) -> usize {
        3 * self.height as usize * self.width as usize
    }
}
