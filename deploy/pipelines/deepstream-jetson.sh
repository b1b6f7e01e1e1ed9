#!/usr/bin/env bash
# NOT RUN in this repository's CI or development machine (no Jetson, no DeepStream there): a file or RTSP source
# decoded and detected by DeepStream on a Jetson, then embedded by `reidembed` and published to a gallery.
#
# READ THIS FIRST: DeepStream's detector (`nvinfer`) and tracker (`nvtracker`) write their results into
# DeepStream's own metadata (NvDsBatchMeta -> NvDsFrameMeta -> NvDsObjectMeta: rect_params, class_id, object_id),
# NOT into GstVideoRegionOfInterestMeta, which is what `reidembed` reads. Without a converter in between,
# `reidembed` sees no boxes and embeds nothing. This repository does not provide that converter. It is a small
# in-place element or pad probe that, for each NvDsObjectMeta of the person class, adds
#   gst_buffer_add_video_region_of_interest_meta (buf, "person", left, top, width, height)
# and a `tracking` parameter structure with `track-id` = object_id (see gst-plugin/README.md). Set CONVERTER to
# the launch-line fragment of yours (for example a custom element `nvdsmeta2roi class-id=0`); the script refuses
# to run without it.
#
# Written against DeepStream 6.x element names and properties (nvv4l2decoder, nvstreammux, nvinfer, nvtracker,
# nvvideoconvert). nvstreammux batches frames in NVMM memory: with one source and batch-size=1 the batch is one
# frame, so nvvideoconvert can copy it into system memory (video/x-raw without memory:NVMM) as RGBA or NV12,
# formats reidembed reads. The NvDsBatchMeta rides along on the buffer.
#
#   SOURCE=file:///data/gate.mp4 MODEL=/models/reid.onnx CONVERTER='nvdsmeta2roi class-id=0' \
#     deploy/pipelines/deepstream-jetson.sh
#   SOURCE=rtsp://camera.local/stream ...
#
# Environment: SOURCE (file:// or rtsp:// URI), MODEL, CONVERTER (required), CAMERA (default gate), GALLERY
# (default tcp/127.0.0.1:7447), PGIE_CONFIG (default: DeepStream's PeopleNet sample config; person is class 0
# there; with the default 4-class resnet10 sample, Person is class 2), ENGINE (reidembed engine, default
# tensorrt; ONNX Runtime with the TensorRT provider needs a gst-reid build with feature `ort`), WIDTH/HEIGHT
# (nvstreammux output, default 1920x1080).
set -euo pipefail
: "${SOURCE:?set SOURCE to a file:// or rtsp:// URI}"
: "${MODEL:?set MODEL to a ReID ONNX model}"
: "${CONVERTER:?set CONVERTER: DeepStream metadata is not GstVideoRegionOfInterestMeta (see the comment above)}"
DS=${DS:-/opt/nvidia/deepstream/deepstream}
PGIE_CONFIG=${PGIE_CONFIG:-$DS/samples/configs/tao_pretrained_models/config_infer_primary_peoplenet.txt}
CAMERA=${CAMERA:-gate}
GALLERY=${GALLERY:-tcp/127.0.0.1:7447}
ENGINE=${ENGINE:-tensorrt}
WIDTH=${WIDTH:-1920}
HEIGHT=${HEIGHT:-1080}

case "$SOURCE" in
  rtsp://*) decode="rtspsrc location=$SOURCE latency=200 ! rtph264depay ! h264parse ! nvv4l2decoder"; live=1 ;;
  file://*) decode="filesrc location=${SOURCE#file://} ! qtdemux ! h264parse ! nvv4l2decoder"; live=0 ;;
  *) echo "SOURCE must be a file:// or rtsp:// URI (H.264)" >&2; exit 2 ;;
esac

# shellcheck disable=SC2086 # the launch line is split into words on purpose
gst-launch-1.0 -e \
  $decode ! m.sink_0 \
  nvstreammux name=m batch-size=1 width="$WIDTH" height="$HEIGHT" live-source=$live batched-push-timeout=40000 \
  ! nvinfer config-file-path="$PGIE_CONFIG" \
  ! nvtracker ll-lib-file="$DS/lib/libnvds_nvmultiobjecttracker.so" \
  ! nvvideoconvert ! 'video/x-raw,format=RGBA' \
  ! $CONVERTER \
  ! reidembed model="$MODEL" engine="$ENGINE" interval=5 \
  ! reidpublish camera="$CAMERA" connect="$GALLERY" skip-empty=true
