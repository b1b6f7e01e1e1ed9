//! A network's float parameters in its device's float type. Imports read weights as `f32`; on a device configured
//! to compute in float64 (`reid bench train --float f64`, the step-parity tests) the network must meet its inputs
//! in one type, so loaded parameters are cast to the device's type (nothing changes on an `f32` device).

use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::{Device, FloatDType, Tensor};
use reid_models::ReidModel;

/// Casts every float parameter and buffer to `to` (a no-op for those already of that type).
struct CastFloats {
    to: FloatDType,
}

impl ModuleMapper for CastFloats {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let to = self.to;
        param.map(|t| t.cast(to))
    }
}

/// `model` with every float parameter in `device`'s float type (its settings' `float_dtype`).
pub fn in_device_float(model: ReidModel, device: &Device) -> ReidModel {
    model.map(&mut CastFloats { to: device.settings().float_dtype })
}
