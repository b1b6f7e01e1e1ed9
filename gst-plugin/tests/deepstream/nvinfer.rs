//! `reidembed engine=nvinfer`: no model of its own; the embedding of each chosen object is the output tensor
//! DeepStream's nvinfer attached to it (`output-tensor-meta=1`: an `NvDsInferTensorMeta` user meta of type
//! `NVDSINFER_TENSOR_OUTPUT_META`), read from the instance `nvinfer-gie-id` names, float or half, L2-normalised,
//! written back as `REID.EMBEDDING`. Objects without a tensor, with another instance's tensor or with a
//! malformed one are not embedded, and counted.

use super::fake::*;
use crate::common::*;
use gst::prelude::*;
use gst_check::Harness;
use gstreid::deepstream::abi::infer::*;
use std::ffi::c_void;

/// An `NvDsInferTensorMeta` with one output layer, kept alive by the test (the user meta has no release
/// function).
struct Tensor {
    _values: Vec<u8>,
    _layers: Box<[NvDsInferLayerInfo]>,
    _ptrs: Box<[*mut c_void]>,
    meta: Box<NvDsInferTensorMeta>,
}

fn tensor(gie: u32, data_type: i32, mut values: Vec<u8>, num_elements: u32) -> Tensor {
    let dims = NvDsInferDims { num_dims: 1, d: [num_elements, 0, 0, 0, 0, 0, 0, 0], num_elements };
    let mut layers = vec![NvDsInferLayerInfo {
        data_type,
        infer_dims: dims,
        binding_index: 1,
        layer_name: c"embedding".as_ptr(),
        buffer: std::ptr::null_mut(),
        is_input: 0,
    }]
    .into_boxed_slice();
    let mut ptrs = vec![values.as_mut_ptr().cast::<c_void>()].into_boxed_slice();
    let meta = Box::new(NvDsInferTensorMeta {
        unique_id: gie,
        num_output_layers: 1,
        output_layers_info: layers.as_mut_ptr(),
        out_buf_ptrs_host: ptrs.as_mut_ptr(),
        out_buf_ptrs_dev: std::ptr::null_mut(),
        gpu_id: 0,
        priv_data: std::ptr::null_mut(),
    });
    Tensor { _values: values, _layers: layers, _ptrs: ptrs, meta }
}

fn float_tensor(gie: u32, values: &[f32]) -> Tensor {
    tensor(gie, NVDSINFER_DATA_FLOAT, values.iter().flat_map(|v| v.to_ne_bytes()).collect(), values.len() as u32)
}

fn add_tensor(buffer: &gst::BufferRef, object: *mut gstreid::deepstream::abi::meta::NvDsObjectMeta, t: &mut Tensor) {
    let data = std::ptr::from_mut::<NvDsInferTensorMeta>(&mut t.meta).cast::<c_void>();
    add_user_meta(buffer, object, NVDSINFER_TENSOR_OUTPUT_META, data);
}

fn close(got: &[f32], want: &[f32]) -> bool {
    got.len() == want.len() && got.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-6)
}

#[test]
fn nvinfer_tensors_become_embeddings_without_a_model() {
    init();
    let _serial = super::serial();
    let objs = vec![
        person(Some(1), (0.0, 0.0, 20.0, 40.0)),   // float tensor of gie 2
        person(Some(2), (20.0, 0.0, 20.0, 40.0)),  // half tensor of gie 2
        person(Some(3), (40.0, 0.0, 20.0, 40.0)),  // no tensor: nvinfer skipped it
        person(Some(4), (60.0, 0.0, 20.0, 40.0)),  // a tensor of another nvinfer (gie 5) only
        person(Some(5), (0.0, 20.0, 20.0, 40.0)),  // zero elements
        person(Some(6), (20.0, 20.0, 20.0, 40.0)), // INT8 output
        Obj { class_id: 2, track: Some(7), rect: (40.0, 20.0, 20.0, 40.0), confidence: 0.9 }, // not a person
    ];
    let mut buffer = rgb_buffer(&rgb_picture(90, 60, 2));
    attach_batch(buffer.get_mut().unwrap(), 1, &[FrameSpec { source_id: 0, batch_id: 0, frame_num: 1, objects: objs }]);
    let ptrs = objects(&buffer)[0].1.clone();
    let mut tensors = [
        float_tensor(2, &[3.0, 4.0, 0.0, 0.0]),
        // 1.0, 0.0, 0.0, -1.0 in IEEE half precision.
        tensor(2, NVDSINFER_DATA_HALF, [0x3C00u16, 0, 0, 0xBC00].iter().flat_map(|v| v.to_ne_bytes()).collect(), 4),
        float_tensor(5, &[1.0, 1.0, 1.0, 1.0]),
        tensor(2, NVDSINFER_DATA_FLOAT, vec![0; 16], 0),
        tensor(2, 2, vec![1; 4], 4),
        float_tensor(2, &[1.0, 0.0, 0.0, 0.0]),
    ];
    for (object, t) in [(0, 0), (1, 1), (3, 2), (4, 3), (5, 4), (6, 5)] {
        add_tensor(&buffer, ptrs[object], &mut tensors[t]);
    }
    let mut h = Harness::new_parse("reidembed engine=nvinfer nvinfer-gie-id=2 model-id=osnet cameras=0=gate");
    h.set_src_caps_str(&caps("RGB", 90, 60));
    let element = h.find_element("reidembed").unwrap();
    let out = h.push_and_pull(buffer).unwrap();
    let description = element.property::<Option<String>>("engine-description").unwrap();
    assert!(description.contains("nvinfer") && description.contains("gie-unique-id 2"), "{description}");

    let got: Vec<Vec<ReadBack>> = objects(&out)[0].1.iter().map(|o| embeddings_of(*o)).collect();
    let h2 = std::f32::consts::FRAC_1_SQRT_2;
    for (i, want) in [(0, vec![0.6, 0.8, 0.0, 0.0]), (1, vec![h2, 0.0, 0.0, -h2])] {
        assert_eq!(got[i].len(), 1, "object {i}");
        let e = &got[i][0];
        assert!(close(&e.values, &want), "object {i}: {:?} vs {want:?}", e.values);
        assert_eq!((e.age, e.normalized, e.model.as_str(), e.camera.as_str()), (0, true, "osnet", "gate"));
    }
    for (i, e) in got.iter().enumerate().skip(2) {
        assert!(e.is_empty(), "object {i} must not be embedded: {e:?}");
    }
    assert_eq!(element.property::<u64>("nvds-objects"), 6, "six persons");
    assert_eq!(element.property::<u64>("nvds-missing-tensors"), 2, "no tensor; another gie's only");
    assert_eq!(element.property::<u64>("nvds-bad-tensors"), 2, "zero elements; INT8");
    drop(out);
    drop(tensors);
}

#[test]
fn nvinfer_tensors_unnormalised_from_any_instance_and_rois_without_batch_meta() {
    init();
    let _serial = super::serial();
    let mut buffer = rgb_buffer(&rgb_picture(40, 40, 3));
    let objs = vec![person(None, (0.0, 0.0, 20.0, 40.0))];
    attach_batch(buffer.get_mut().unwrap(), 1, &[FrameSpec { source_id: 4, batch_id: 0, frame_num: 9, objects: objs }]);
    let object = objects(&buffer)[0].1[0];
    let mut t = float_tensor(9, &[3.0, 4.0]);
    add_tensor(&buffer, object, &mut t);
    let mut h = Harness::new_parse("reidembed engine=nvinfer normalize=false");
    h.set_src_caps_str(&caps("RGB", 40, 40));
    let element = h.find_element("reidembed").unwrap();
    let out = h.push_and_pull(buffer).unwrap();
    let e = embeddings_of(objects(&out)[0].1[0]);
    assert_eq!(e.len(), 1);
    assert_eq!((e[0].values.as_slice(), e[0].normalized), (&[3.0f32, 4.0][..], false));
    assert_eq!((e[0].model.as_str(), e[0].camera.as_str()), ("nvinfer", "cam4"));
    drop(out);
    drop(t);

    // A buffer with ROI metas and no batch meta: nothing to read, nothing embedded, counted.
    let mut buffer = rgb_buffer(&rgb_picture(40, 40, 3));
    add_roi(&mut buffer, "person", (0, 0, 20, 40));
    let out = h.push_and_pull(buffer).unwrap();
    assert!(embeddings(&out)[0].is_none());
    assert_eq!(element.property::<u64>("nvds-missing-tensors"), 1);
}
