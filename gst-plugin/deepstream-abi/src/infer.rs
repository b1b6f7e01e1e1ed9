//! nvinfer's raw output on an object (`gstnvdsinfer.h`, `nvdsinfer.h`; the same members in the same order in the
//! SDK API reference for 6.2, 7.x, 8.0 and 9.0): with `output-tensor-meta=1`, nvinfer attaches an
//! `NvDsInferTensorMeta` as an `NvDsUserMeta` of type [`NVDSINFER_TENSOR_OUTPUT_META`] to each object it inferred
//! on (secondary mode), its host buffers holding that object's output layers.
//!
//! Only the leading members `reidembed engine=nvinfer` reads are declared for `NvDsInferTensorMeta` (the
//! structure is only ever read through a pointer nvinfer owns, never allocated or copied here, so its trailing
//! members — `network_info`, `maintain_aspect_ratio`, ... — need no declaration).

use std::ffi::{c_char, c_int, c_uint, c_void};

/// `NVDSINFER_TENSOR_OUTPUT_META` (`NvDsMetaType`, `nvdsmeta.h`): the 13th member, after `NVDS_INVALID_META = -1`,
/// `NVDS_BATCH_META = 1` ... `NVDS_LATENCY_MEASUREMENT_META = 11`.
pub const NVDSINFER_TENSOR_OUTPUT_META: i32 = 12;
/// `NVDSINFER_MAX_DIMS` (`nvdsinfer.h`).
pub const NVDSINFER_MAX_DIMS: usize = 8;
/// `FLOAT` of `NvDsInferDataType` (`nvdsinfer.h`): 32-bit float.
pub const NVDSINFER_DATA_FLOAT: c_int = 0;
/// `HALF` of `NvDsInferDataType`: 16-bit float.
pub const NVDSINFER_DATA_HALF: c_int = 1;

/// `NvDsInferDims` (`nvdsinfer.h`): a layer's dimensions.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct NvDsInferDims {
    /// Number of dimensions.
    pub num_dims: c_uint,
    /// Size of each dimension.
    pub d: [c_uint; NVDSINFER_MAX_DIMS],
    /// Number of elements of all dimensions.
    pub num_elements: c_uint,
}

/// `NvDsInferLayerInfo` (`nvdsinfer.h`): one layer of the network (`inferDims` is the only member of its
/// anonymous union since 5.0).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct NvDsInferLayerInfo {
    /// `NvDsInferDataType`.
    pub data_type: c_int,
    /// Dimensions (per object, without the batch dimension).
    pub infer_dims: NvDsInferDims,
    /// TensorRT binding index.
    pub binding_index: c_int,
    /// Layer name (NUL-terminated).
    pub layer_name: *const c_char,
    /// The layer's buffer (not valid inside `NvDsInferTensorMeta`, whose host buffers are `out_buf_ptrs_host`).
    pub buffer: *mut c_void,
    /// Non-zero for an input layer.
    pub is_input: c_int,
}

/// `NvDsInferTensorMeta` (`gstnvdsinfer.h`), leading members (see the module documentation).
#[repr(C)]
#[derive(Debug)]
pub struct NvDsInferTensorMeta {
    /// `gie-unique-id` of the nvinfer instance that attached it.
    pub unique_id: c_uint,
    /// Number of output layers.
    pub num_output_layers: c_uint,
    /// `num_output_layers` layer descriptions.
    pub output_layers_info: *mut NvDsInferLayerInfo,
    /// `num_output_layers` host buffers of this object's outputs.
    pub out_buf_ptrs_host: *mut *mut c_void,
    /// The same on the device.
    pub out_buf_ptrs_dev: *mut *mut c_void,
    /// GPU of the device buffers.
    pub gpu_id: c_int,
    /// nvinfer's private data.
    pub priv_data: *mut c_void,
}
