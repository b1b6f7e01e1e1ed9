//! The on-screen-display structures of `nvll_osd_struct.h` that `NvDsObjectMeta` embeds (DeepStream 6.x-9.x).
#![allow(non_camel_case_types)]

use std::ffi::c_char;

/// `NvOSD_ColorParams`: four `double`s.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct NvOSD_ColorParams {
    /// Red.
    pub red: f64,
    /// Green.
    pub green: f64,
    /// Blue.
    pub blue: f64,
    /// Alpha.
    pub alpha: f64,
}

/// `NvOSD_RectParams`: the object's box in pixels of the muxer's output, as floats.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct NvOSD_RectParams {
    /// Left.
    pub left: f32,
    /// Top.
    pub top: f32,
    /// Width.
    pub width: f32,
    /// Height.
    pub height: f32,
    /// Border width.
    pub border_width: u32,
    /// Border colour.
    pub border_color: NvOSD_ColorParams,
    /// Whether `bg_color` applies.
    pub has_bg_color: u32,
    /// Reserved.
    pub reserved: u32,
    /// Background colour.
    pub bg_color: NvOSD_ColorParams,
    /// Whether `color_id` applies.
    pub has_color_info: i32,
    /// Colour id.
    pub color_id: i32,
}

/// `NvOSD_MaskParams`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct NvOSD_MaskParams {
    /// Mask values.
    pub data: *mut f32,
    /// Bytes of `data`.
    pub size: u32,
    /// Threshold.
    pub threshold: f32,
    /// Mask width.
    pub width: u32,
    /// Mask height.
    pub height: u32,
}

/// `NvOSD_FontParams`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct NvOSD_FontParams {
    /// Font name.
    pub font_name: *mut c_char,
    /// Font size.
    pub font_size: u32,
    /// Font colour.
    pub font_color: NvOSD_ColorParams,
}

/// `NvOSD_TextParams`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct NvOSD_TextParams {
    /// Text.
    pub display_text: *mut c_char,
    /// X offset.
    pub x_offset: u32,
    /// Y offset.
    pub y_offset: u32,
    /// Font.
    pub font_params: NvOSD_FontParams,
    /// Whether `text_bg_clr` applies.
    pub set_bg_clr: i32,
    /// Background colour.
    pub text_bg_clr: NvOSD_ColorParams,
}
