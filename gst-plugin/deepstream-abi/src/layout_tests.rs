//! Layout tests: every offset and size `gst-reid` relies on, asserted against tables computed by hand from the
//! published headers (LP64: pointers and `gint64` 8 bytes and 8-aligned, `double` 8-aligned, C enums and
//! `gboolean` 4 bytes, `bool` 1 byte). A field that moves in a declaration fails here.
//!
//! Per version: 6.x and 7.x (`LAYOUT_6_7`), 8.x and 9.x (`LAYOUT_8_9`) share every metadata table; the
//! `NvBufSurface` table differs (`isImportedBuf`, DeepStream 8.0).

use crate::embedding::ReidEmbeddingMeta;
use crate::infer::*;
use crate::meta::*;
use crate::osd::*;
use crate::surface::*;
use crate::{LAYOUT_6_7, LAYOUT_8_9, layout_for};
use std::mem::{offset_of, size_of};

/// `(what, ours, header's)`.
type Row = (&'static str, usize, usize);

fn check(rows: &[Row]) {
    let wrong: Vec<String> = rows
        .iter()
        .filter(|(_, ours, theirs)| ours != theirs)
        .map(|(what, ours, theirs)| format!("{what}: declared {ours}, header {theirs}"))
        .collect();
    assert!(wrong.is_empty(), "layout differs from the headers:\n{}", wrong.join("\n"));
}

/// The metadata tables, the same for 6.x, 7.x, 8.x and 9.x (nvdsmeta.h, gstnvdsmeta.h, nvll_osd_struct.h).
fn metadata_rows() -> Vec<Row> {
    vec![
        // NvDsBaseMeta: batch_meta ptr 0, meta_type enum 8, (pad 4) uContext 16, copy_func 24, release_func 32.
        ("NvDsBaseMeta.batch_meta", offset_of!(NvDsBaseMeta, batch_meta), 0),
        ("NvDsBaseMeta.meta_type", offset_of!(NvDsBaseMeta, meta_type), 8),
        ("NvDsBaseMeta.uContext", offset_of!(NvDsBaseMeta, u_context), 16),
        ("NvDsBaseMeta.copy_func", offset_of!(NvDsBaseMeta, copy_func), 24),
        ("NvDsBaseMeta.release_func", offset_of!(NvDsBaseMeta, release_func), 32),
        ("sizeof(NvDsBaseMeta)", size_of::<NvDsBaseMeta>(), 40),
        // NvDsBatchMeta: base 40, two guint, six pool pointers 48..96, two lists, GRecMutex 16, two gint64[4].
        ("NvDsBatchMeta.max_frames_in_batch", offset_of!(NvDsBatchMeta, max_frames_in_batch), 40),
        ("NvDsBatchMeta.num_frames_in_batch", offset_of!(NvDsBatchMeta, num_frames_in_batch), 44),
        ("NvDsBatchMeta.frame_meta_list", offset_of!(NvDsBatchMeta, frame_meta_list), 96),
        ("NvDsBatchMeta.batch_user_meta_list", offset_of!(NvDsBatchMeta, batch_user_meta_list), 104),
        ("NvDsBatchMeta.meta_mutex", offset_of!(NvDsBatchMeta, meta_mutex), 112),
        ("NvDsBatchMeta.misc_batch_info", offset_of!(NvDsBatchMeta, misc_batch_info), 128),
        ("sizeof(NvDsBatchMeta)", size_of::<NvDsBatchMeta>(), 192),
        // NvDsFrameMeta: base 40; pad_index 40, batch_id 44, frame_num 48, (pad) buf_pts 56, ntp 64,
        // source_id 72, num_surfaces 76, src w 80, h 84, surface_type 88, surface_index 92, num_obj 96,
        // bInferDone 100, lists 104..136, misc[4] 136..168, pipeline w/h 168/172, reserved[4] 176..208.
        ("NvDsFrameMeta.pad_index", offset_of!(NvDsFrameMeta, pad_index), 40),
        ("NvDsFrameMeta.batch_id", offset_of!(NvDsFrameMeta, batch_id), 44),
        ("NvDsFrameMeta.frame_num", offset_of!(NvDsFrameMeta, frame_num), 48),
        ("NvDsFrameMeta.buf_pts", offset_of!(NvDsFrameMeta, buf_pts), 56),
        ("NvDsFrameMeta.source_id", offset_of!(NvDsFrameMeta, source_id), 72),
        ("NvDsFrameMeta.source_frame_width", offset_of!(NvDsFrameMeta, source_frame_width), 80),
        ("NvDsFrameMeta.num_obj_meta", offset_of!(NvDsFrameMeta, num_obj_meta), 96),
        ("NvDsFrameMeta.obj_meta_list", offset_of!(NvDsFrameMeta, obj_meta_list), 104),
        ("NvDsFrameMeta.frame_user_meta_list", offset_of!(NvDsFrameMeta, frame_user_meta_list), 128),
        ("NvDsFrameMeta.misc_frame_info", offset_of!(NvDsFrameMeta, misc_frame_info), 136),
        ("NvDsFrameMeta.pipeline_width", offset_of!(NvDsFrameMeta, pipeline_width), 168),
        ("sizeof(NvDsFrameMeta)", size_of::<NvDsFrameMeta>(), 208),
        // NvOSD_RectParams: 4 floats 0..16, border_width 16, (pad 4) border_color 24..56, has_bg_color 56,
        // reserved 60, bg_color 64..96, has_color_info 96, color_id 100.
        ("NvOSD_RectParams.left", offset_of!(NvOSD_RectParams, left), 0),
        ("NvOSD_RectParams.top", offset_of!(NvOSD_RectParams, top), 4),
        ("NvOSD_RectParams.width", offset_of!(NvOSD_RectParams, width), 8),
        ("NvOSD_RectParams.height", offset_of!(NvOSD_RectParams, height), 12),
        ("NvOSD_RectParams.border_color", offset_of!(NvOSD_RectParams, border_color), 24),
        ("NvOSD_RectParams.bg_color", offset_of!(NvOSD_RectParams, bg_color), 64),
        ("sizeof(NvOSD_RectParams)", size_of::<NvOSD_RectParams>(), 104),
        ("sizeof(NvOSD_MaskParams)", size_of::<NvOSD_MaskParams>(), 24),
        // NvOSD_TextParams: text ptr 0, x 8, y 12, font_params {ptr 16, size 24, colour 32..64}, set_bg_clr 64,
        // text_bg_clr 72..104.
        ("NvOSD_TextParams.font_params", offset_of!(NvOSD_TextParams, font_params), 16),
        ("NvOSD_TextParams.text_bg_clr", offset_of!(NvOSD_TextParams, text_bg_clr), 72),
        ("sizeof(NvOSD_TextParams)", size_of::<NvOSD_TextParams>(), 104),
        // NvDsObjectMeta: base 40; parent 40, unique_component_id 48, class_id 52, object_id 56, detector bbox
        // 64..80, tracker bbox 80..96, confidence 96, tracker_confidence 100, rect_params 104..208,
        // mask_params 208..232, text_params 232..336, obj_label[128] 336..464, classifier list 464,
        // user list 472, misc[4] 480..512, reserved[4] 512..544.
        ("NvDsObjectMeta.parent", offset_of!(NvDsObjectMeta, parent), 40),
        ("NvDsObjectMeta.unique_component_id", offset_of!(NvDsObjectMeta, unique_component_id), 48),
        ("NvDsObjectMeta.class_id", offset_of!(NvDsObjectMeta, class_id), 52),
        ("NvDsObjectMeta.object_id", offset_of!(NvDsObjectMeta, object_id), 56),
        ("NvDsObjectMeta.detector_bbox_info", offset_of!(NvDsObjectMeta, detector_bbox_info), 64),
        ("NvDsObjectMeta.tracker_bbox_info", offset_of!(NvDsObjectMeta, tracker_bbox_info), 80),
        ("NvDsObjectMeta.confidence", offset_of!(NvDsObjectMeta, confidence), 96),
        ("NvDsObjectMeta.rect_params", offset_of!(NvDsObjectMeta, rect_params), 104),
        ("NvDsObjectMeta.mask_params", offset_of!(NvDsObjectMeta, mask_params), 208),
        ("NvDsObjectMeta.text_params", offset_of!(NvDsObjectMeta, text_params), 232),
        ("NvDsObjectMeta.obj_label", offset_of!(NvDsObjectMeta, obj_label), 336),
        ("NvDsObjectMeta.classifier_meta_list", offset_of!(NvDsObjectMeta, classifier_meta_list), 464),
        ("NvDsObjectMeta.obj_user_meta_list", offset_of!(NvDsObjectMeta, obj_user_meta_list), 472),
        ("sizeof(NvDsObjectMeta)", size_of::<NvDsObjectMeta>(), 544),
        // NvDsUserMeta: base 40, user_meta_data 40.
        ("NvDsUserMeta.user_meta_data", offset_of!(NvDsUserMeta, user_meta_data), 40),
        ("sizeof(NvDsUserMeta)", size_of::<NvDsUserMeta>(), 48),
        // GList: data, next, prev.
        ("GList.next", offset_of!(GList, next), 8),
        ("sizeof(GList)", size_of::<GList>(), 24),
        // NvDsMeta: GstMeta {flags 0, info 8} 16, meta_data 16, user_data 24, meta_type 32, copyfunc 40,
        // freefunc 48, four transform/release pointers 56..88.
        ("NvDsMeta.meta_data", offset_of!(NvDsMeta, meta_data), 16),
        ("NvDsMeta.meta_type", offset_of!(NvDsMeta, meta_type), 32),
        ("NvDsMeta.copyfunc", offset_of!(NvDsMeta, copyfunc), 40),
        ("NvDsMeta.freefunc", offset_of!(NvDsMeta, freefunc), 48),
        ("sizeof(NvDsMeta)", size_of::<NvDsMeta>(), 88),
        // NvBufSurfacePlaneParams: num_planes 0, six uint32[4] arrays 4..100, (pad 4) reserved[16] 104..232.
        ("PlaneParams.width", offset_of!(NvBufSurfacePlaneParams, width), 4),
        ("PlaneParams.height", offset_of!(NvBufSurfacePlaneParams, height), 20),
        ("PlaneParams.pitch", offset_of!(NvBufSurfacePlaneParams, pitch), 36),
        ("PlaneParams.offset", offset_of!(NvBufSurfacePlaneParams, offset), 52),
        ("sizeof(NvBufSurfacePlaneParams)", size_of::<NvBufSurfacePlaneParams>(), 232),
        // NvBufSurfaceMappedAddr: addr[4] 0..32, eglImage 32, reserved[4] 40..72.
        ("sizeof(NvBufSurfaceMappedAddr)", size_of::<NvBufSurfaceMappedAddr>(), 72),
        // NvBufSurfaceParams: width 0, height 4, pitch 8, colorFormat 12, layout 16, (pad) bufferDesc 24,
        // dataSize 32, (pad) dataPtr 40, planeParams 48..280, mappedAddr 280..352, paramex 352, reserved[3]
        // 360..384.
        ("NvBufSurfaceParams.width", offset_of!(NvBufSurfaceParams, width), 0),
        ("NvBufSurfaceParams.height", offset_of!(NvBufSurfaceParams, height), 4),
        ("NvBufSurfaceParams.colorFormat", offset_of!(NvBufSurfaceParams, color_format), 12),
        ("NvBufSurfaceParams.dataPtr", offset_of!(NvBufSurfaceParams, data_ptr), 40),
        ("NvBufSurfaceParams.planeParams", offset_of!(NvBufSurfaceParams, plane_params), 48),
        ("NvBufSurfaceParams.mappedAddr", offset_of!(NvBufSurfaceParams, mapped_addr), 280),
        ("NvBufSurfaceParams.paramex", offset_of!(NvBufSurfaceParams, paramex), 352),
        ("sizeof(NvBufSurfaceParams)", size_of::<NvBufSurfaceParams>(), 384),
        // The head the element reads: gpuId 0, batchSize 4, numFilled 8, isContiguous 12, memType 16,
        // surfaceList 24.
        ("NvBufSurface.batchSize", offset_of!(NvBufSurfaceHead, batch_size), 4),
        ("NvBufSurface.numFilled", offset_of!(NvBufSurfaceHead, num_filled), 8),
        ("NvBufSurface.memType", offset_of!(NvBufSurfaceHead, mem_type), 16),
        ("NvBufSurface.surfaceList", offset_of!(NvBufSurfaceHead, surface_list), 24),
        // ReidEmbeddingMeta (ours, documented in C): dim 0, age 4, values 8, normalized 16, reserved 20,
        // model[64] 24..88, camera[64] 88..152.
        ("ReidEmbeddingMeta.values", offset_of!(ReidEmbeddingMeta, values), 8),
        ("ReidEmbeddingMeta.normalized", offset_of!(ReidEmbeddingMeta, normalized), 16),
        ("ReidEmbeddingMeta.model", offset_of!(ReidEmbeddingMeta, model), 24),
        ("ReidEmbeddingMeta.camera", offset_of!(ReidEmbeddingMeta, camera), 88),
        ("sizeof(ReidEmbeddingMeta)", size_of::<ReidEmbeddingMeta>(), 152),
        // NvDsInferDims (nvdsinfer.h): numDims 0, d[8] 4..36, numElements 36; 40 bytes.
        ("NvDsInferDims.d", offset_of!(NvDsInferDims, d), 4),
        ("NvDsInferDims.numElements", offset_of!(NvDsInferDims, num_elements), 36),
        ("sizeof(NvDsInferDims)", size_of::<NvDsInferDims>(), 40),
        // NvDsInferLayerInfo: dataType enum 0, inferDims 4..44, bindingIndex 44, layerName 48, buffer 56,
        // isInput 64, (pad) 72 bytes.
        ("NvDsInferLayerInfo.inferDims", offset_of!(NvDsInferLayerInfo, infer_dims), 4),
        ("NvDsInferLayerInfo.bindingIndex", offset_of!(NvDsInferLayerInfo, binding_index), 44),
        ("NvDsInferLayerInfo.layerName", offset_of!(NvDsInferLayerInfo, layer_name), 48),
        ("NvDsInferLayerInfo.buffer", offset_of!(NvDsInferLayerInfo, buffer), 56),
        ("NvDsInferLayerInfo.isInput", offset_of!(NvDsInferLayerInfo, is_input), 64),
        ("sizeof(NvDsInferLayerInfo)", size_of::<NvDsInferLayerInfo>(), 72),
        // NvDsInferTensorMeta (gstnvdsinfer.h), the members read: unique_id 0, num_output_layers 4,
        // output_layers_info 8, out_buf_ptrs_host 16, out_buf_ptrs_dev 24, gpu_id 32, (pad) priv_data 40.
        ("NvDsInferTensorMeta.num_output_layers", offset_of!(NvDsInferTensorMeta, num_output_layers), 4),
        ("NvDsInferTensorMeta.output_layers_info", offset_of!(NvDsInferTensorMeta, output_layers_info), 8),
        ("NvDsInferTensorMeta.out_buf_ptrs_host", offset_of!(NvDsInferTensorMeta, out_buf_ptrs_host), 16),
        ("NvDsInferTensorMeta.gpu_id", offset_of!(NvDsInferTensorMeta, gpu_id), 32),
        ("NvDsInferTensorMeta.priv_data", offset_of!(NvDsInferTensorMeta, priv_data), 40),
    ]
}

#[test]
fn deepstream_6_and_7_layout_matches_the_headers() {
    for major in [6, 7] {
        assert_eq!(layout_for(major), Some(LAYOUT_6_7));
    }
    let mut rows = metadata_rows();
    // nvbufsurface.h 6.0.1-7.1: gpuId, batchSize, numFilled, isContiguous, memType, surfaceList 24,
    // _reserved[4] 32..64.
    rows.extend([
        ("6.x NvBufSurface.batchSize", offset_of!(NvBufSurfaceV6, batch_size), 4),
        ("6.x NvBufSurface.numFilled", offset_of!(NvBufSurfaceV6, num_filled), 8),
        ("6.x NvBufSurface.surfaceList", offset_of!(NvBufSurfaceV6, surface_list), 24),
        ("6.x NvBufSurface._reserved", offset_of!(NvBufSurfaceV6, reserved), 32),
        ("6.x sizeof(NvBufSurface)", LAYOUT_6_7.surface_size, 64),
    ]);
    check(&rows);
}

#[test]
fn deepstream_8_and_9_layout_matches_the_headers() {
    for major in [8, 9] {
        assert_eq!(layout_for(major), Some(LAYOUT_8_9));
    }
    let mut rows = metadata_rows();
    // nvbufsurface.h 8.0: ... surfaceList 24, bool isImportedBuf 32, (pad) _reserved[4] 40..72.
    rows.extend([
        ("8.x NvBufSurface.batchSize", offset_of!(NvBufSurfaceV8, batch_size), 4),
        ("8.x NvBufSurface.numFilled", offset_of!(NvBufSurfaceV8, num_filled), 8),
        ("8.x NvBufSurface.surfaceList", offset_of!(NvBufSurfaceV8, surface_list), 24),
        ("8.x NvBufSurface.isImportedBuf", offset_of!(NvBufSurfaceV8, is_imported_buf), 32),
        ("8.x NvBufSurface._reserved", offset_of!(NvBufSurfaceV8, reserved), 40),
        ("8.x sizeof(NvBufSurface)", LAYOUT_8_9.surface_size, 72),
    ]);
    check(&rows);
}

#[test]
fn other_versions_have_no_layout() {
    for major in [0, 4, 5, 10, 99] {
        assert_eq!(layout_for(major), None, "DeepStream {major}");
    }
}

#[test]
fn a_moved_field_fails_the_check() {
    // The checker itself: one wrong row is reported.
    let result = std::panic::catch_unwind(|| check(&[("x", 8, 16)]));
    assert!(result.is_err());
}
