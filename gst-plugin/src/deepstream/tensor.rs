//! nvinfer's output tensor on an object, for `reidembed engine=nvinfer`: nvinfer (a secondary GIE configured by
//! `reid deepstream config`, `output-tensor-meta=1`) has already run the ReID model inside TensorRT and attached
//! each object's output as an `NvDsInferTensorMeta` user meta; this reads it back as a vector. Everything read is
//! checked first (layer count, element count, data type, null pointers), so a malformed meta is an error naming
//! what was wrong, never a read out of bounds.

use super::batch::ObjectRef;
use reid_deepstream_abi::infer::{
    NVDSINFER_DATA_FLOAT, NVDSINFER_DATA_HALF, NVDSINFER_TENSOR_OUTPUT_META, NvDsInferLayerInfo, NvDsInferTensorMeta,
};

/// The most output layers a tensor meta may claim.
pub const MAX_LAYERS: u32 = 64;
/// The most values an embedding layer may claim.
pub const MAX_ELEMENTS: u32 = 1 << 16;

/// The embedding nvinfer attached to `object`: the first output layer of the first tensor meta from the nvinfer
/// instance with `gie-unique-id` `gie_id` (0: from any instance). `Ok(None)` when the object carries no such meta
/// (nvinfer skipped it: too small, `secondary-reinfer-interval`, another class).
pub fn object_embedding(object: &ObjectRef, gie_id: u32) -> Result<Option<Vec<f32>>, String> {
    for user in object.user_metas() {
        let user = user.0;
        if user.is_null() {
            continue;
        }
        // SAFETY: a user meta of the object's list, valid while the buffer is held (see `Batch`).
        let user = unsafe { &*user };
        if user.base_meta.meta_type != NVDSINFER_TENSOR_OUTPUT_META || user.user_meta_data.is_null() {
            continue;
        }
        // SAFETY: nvinfer stores an `NvDsInferTensorMeta` under this meta type (gstnvdsinfer.h).
        let meta = unsafe { &*user.user_meta_data.cast::<NvDsInferTensorMeta>() };
        if gie_id != 0 && meta.unique_id != gie_id {
            continue;
        }
        return read_first_output(meta).map(Some);
    }
    Ok(None)
}

/// The values of the first output layer of `meta`, as f32.
pub fn read_first_output(meta: &NvDsInferTensorMeta) -> Result<Vec<f32>, String> {
    let gie = meta.unique_id;
    if meta.num_output_layers == 0 || meta.num_output_layers > MAX_LAYERS {
        return Err(format!("tensor meta of gie {gie} claims {} output layers", meta.num_output_layers));
    }
    if meta.output_layers_info.is_null() || meta.out_buf_ptrs_host.is_null() {
        return Err(format!("tensor meta of gie {gie} has no layer table or no host buffers"));
    }
    // SAFETY: non-null, and nvinfer allocates `num_output_layers` entries (checked to be 1..=MAX_LAYERS).
    let layer: &NvDsInferLayerInfo = unsafe { &*meta.output_layers_info };
    // SAFETY: as above, `out_buf_ptrs_host` has `num_output_layers` entries.
    let host = unsafe { *meta.out_buf_ptrs_host };
    let n = layer.infer_dims.num_elements;
    if n == 0 || n > MAX_ELEMENTS {
        return Err(format!("output layer 0 of gie {gie} claims {n} elements"));
    }
    if host.is_null() {
        return Err(format!(
            "output layer 0 of gie {gie} has no host buffer (nvinfer copies outputs to the host only with output-tensor-meta=1)"
        ));
    }
    let n = n as usize;
    match layer.data_type {
        NVDSINFER_DATA_FLOAT => {
            // SAFETY: nvinfer's host buffer holds `num_elements` values of the layer's data type.
            Ok(unsafe { std::slice::from_raw_parts(host.cast::<f32>(), n) }.to_vec())
        }
        NVDSINFER_DATA_HALF => {
            // SAFETY: as above, for 16-bit values.
            let bits = unsafe { std::slice::from_raw_parts(host.cast::<u16>(), n) };
            Ok(bits.iter().map(|&b| half::f16::from_bits(b).to_f32()).collect())
        }
        other => Err(format!(
            "output layer 0 of gie {gie} has data type {other} (NvDsInferDataType); an embedding must be FLOAT (0) or HALF (1)"
        )),
    }
}
