#!/usr/bin/env bash
# NOT RUN in this repository's CI or development machine (no Jetson, no DeepStream there; deploy tests only check
# its syntax and the launch line it builds, with a stand-in gst-launch-1.0): DeepStream on a Jetson detects and
# tracks people (PeopleNet `nvinfer` ! `nvtracker`), a second `nvinfer` runs the ReID model with TensorRT on each
# tracked person as a secondary GIE, and `reidembed engine=nvinfer` turns nvinfer's raw output into embeddings that
# `reidpublish` sends to the gallery. No converter, no ONNX Runtime, no copy out of NVMM memory.
#
# The SGIE config comes from `reid deepstream config` (nvinfer keys, the model's input size, colour order and
# normalisation; it prints what nvinfer's single normalisation scale costs in embedding cosine):
#   reid deepstream config -m /opt/reid/models/model.onnx -o /opt/reid/deepstream --operate-on-gie-id 1 \
#     --operate-on-class-ids 0
#
# `reidembed engine=nvinfer nvinfer-gie-id=<the SGIE's gie-unique-id>` reads each object's NvDsInferTensorMeta
# (attached by the SGIE with output-tensor-meta=1), L2-normalises it and attaches it as a REID.EMBEDDING user meta
# like its own embeddings; `reidpublish` publishes them; the camera of each frame comes from its source id
# (`cam<source_id>`, or the `cameras` property, given to both elements). DeepStream element names and properties as in DeepStream 6.x/7.x
# (nvv4l2decoder, nvstreammux, nvinfer, nvtracker). The first start builds the TensorRT engines of both nvinfers
# (minutes on a Jetson) and writes them next to the ONNX files; later starts load them.
#
#   SGIE_CONFIG=/opt/reid/deepstream/config_infer_secondary_reid.txt SOURCES=file:///data/gate.mp4 \
#     deploy/pipelines/deepstream-sgie.sh
#   SOURCES="rtsp://cam1.local/stream rtsp://cam2.local/stream" CAMERAS="0=gate,1=hall" ... (two cameras, batched)
#
# Environment: SGIE_CONFIG (required: the file `reid deepstream config` wrote), SOURCES (required: file:// or
# rtsp:// URIs, H.264, space-separated; nvstreammux batches them), PGIE_CONFIG (default: DeepStream's PeopleNet
# sample config, person = class 0), TRACKER_CONFIG (default: DeepStream's NvDCF performance config), CAMERAS
# (optional, passed to reidembed's `cameras`), GALLERY (default tcp/127.0.0.1:7447), WIDTH/HEIGHT (nvstreammux,
# default 1920x1080), DS (DeepStream root, default /opt/nvidia/deepstream/deepstream), GST_LAUNCH (default
# gst-launch-1.0).
set -euo pipefail
: "${SGIE_CONFIG:?set SGIE_CONFIG to the file reid deepstream config wrote}"
: "${SOURCES:?set SOURCES to one or more file:// or rtsp:// URIs}"
DS=${DS:-/opt/nvidia/deepstream/deepstream}
PGIE_CONFIG=${PGIE_CONFIG:-$DS/samples/configs/tao_pretrained_models/config_infer_primary_peoplenet.txt}
TRACKER_CONFIG=${TRACKER_CONFIG:-$DS/samples/configs/deepstream-app/config_tracker_NvDCF_perf.yml}
GALLERY=${GALLERY:-tcp/127.0.0.1:7447}
WIDTH=${WIDTH:-1920}
HEIGHT=${HEIGHT:-1080}
GST_LAUNCH=${GST_LAUNCH:-gst-launch-1.0}

if [ ! -f "$SGIE_CONFIG" ]; then
  echo "SGIE_CONFIG $SGIE_CONFIG: no such file (write it with: reid deepstream config -m MODEL -o DIR)" >&2
  exit 2
fi
for key in network-type=100 output-tensor-meta=1 process-mode=2; do
  if ! grep -qx "$key" "$SGIE_CONFIG"; then
    echo "SGIE_CONFIG $SGIE_CONFIG lacks $key: not an SGIE config from reid deepstream config" >&2
    exit 2
  fi
done
# Printed so the log says which nvinfer's tensor meta carries the embeddings.
sgie_id=$(sed -n 's/^gie-unique-id=//p' "$SGIE_CONFIG")

read -r -a uris <<< "$SOURCES"
args=(-e)
live=0
for i in "${!uris[@]}"; do
  uri=${uris[$i]}
  case "$uri" in
    rtsp://*) args+=(rtspsrc "location=$uri" latency=200 ! rtph264depay ! h264parse ! nvv4l2decoder); live=1 ;;
    file://*) args+=(filesrc "location=${uri#file://}" ! qtdemux ! h264parse ! nvv4l2decoder) ;;
    *) echo "SOURCES: $uri is not a file:// or rtsp:// URI (H.264)" >&2; exit 2 ;;
  esac
  args+=(! "m.sink_$i")
done
embed=(reidembed engine=nvinfer)
if [ -n "$sgie_id" ]; then embed+=("nvinfer-gie-id=$sgie_id"); fi
publish=(reidpublish "connect=$GALLERY" skip-empty=true)
if [ -n "${CAMERAS:-}" ]; then embed+=("cameras=$CAMERAS"); publish+=("cameras=$CAMERAS"); fi
args+=(
  nvstreammux name=m "batch-size=${#uris[@]}" "width=$WIDTH" "height=$HEIGHT" "live-source=$live"
  batched-push-timeout=40000
  ! nvinfer "config-file-path=$PGIE_CONFIG"
  ! nvtracker "ll-lib-file=$DS/lib/libnvds_nvmultiobjecttracker.so" "ll-config-file=$TRACKER_CONFIG"
  ! nvinfer "config-file-path=$SGIE_CONFIG"
  ! "${embed[@]}"
  ! "${publish[@]}"
)
echo "SGIE gie-unique-id ${sgie_id:-?}: $SGIE_CONFIG" >&2
exec "$GST_LAUNCH" "${args[@]}"
