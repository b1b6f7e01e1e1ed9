#!/usr/bin/env bash
# NOT RUN in this repository's CI or development machine (no Jetson, no DeepStream there; the elements' NvDs mode
# and NVMM input are tested against a fake DeepStream library built from the published structure layouts, see
# gst-plugin/README.md, "DeepStream"): one or more file or RTSP sources decoded, batched, detected (PeopleNet)
# and tracked by DeepStream on a Jetson, then embedded by `reidembed` straight from NVMM memory and published to a
# gallery. No converter and no nvvideoconvert copy: `reidembed` reads the NvDsObjectMeta boxes (class 0, person
# in PeopleNet) and the tracker's object ids, and writes each embedding back as a REID.EMBEDDING user meta;
# `reidpublish` publishes one message per frame to <prefix>/embeddings/<camera of the source id>.
#
# Written against DeepStream 6.x-7.x element names and properties (nvv4l2decoder, nvstreammux, nvinfer,
# nvtracker). Needs a gst-reid built on the Jetson (`cargo build --release -p gst-reid`) and DeepStream 6.x-9.x
# (`gst-inspect-1.0 reidembed` shows the found version in the `deepstream` property's value at run time; the sink
# template lists video/x-raw(memory:NVMM) only when DeepStream's libraries load).
#
#   SOURCES="file:///data/gate.mp4 rtsp://camera.local/stream" CAMERAS=0=gate,1=lobby MODEL=/models/reid.onnx \
#     deploy/pipelines/deepstream-jetson.sh
#
# Environment: SOURCES (space-separated file:// or rtsp:// H.264 URIs; source id = position), MODEL, CAMERAS
# (source ids to names, default cam<id>), GALLERY (default tcp/127.0.0.1:7447), PGIE_CONFIG (default:
# DeepStream's PeopleNet sample config; person is class 0 there), CLASS_IDS (default 0), ENGINE (reidembed
# engine, default tensorrt: ONNX Runtime with the TensorRT provider, a gst-reid build with feature `ort`),
# FORMAT (NVMM format handed to reidembed, RGBA or NV12, default NV12: nvstreammux's own), WIDTH/HEIGHT
# (nvstreammux output, default 1920x1080), INTERVAL (re-embed a tracked person every N frames, default 5).
set -euo pipefail
: "${SOURCES:?set SOURCES to one or more file:// or rtsp:// URIs}"
: "${MODEL:?set MODEL to a ReID ONNX model}"
DS=${DS:-/opt/nvidia/deepstream/deepstream}
PGIE_CONFIG=${PGIE_CONFIG:-$DS/samples/configs/tao_pretrained_models/config_infer_primary_peoplenet.txt}
CAMERAS=${CAMERAS:-}
CLASS_IDS=${CLASS_IDS:-0}
GALLERY=${GALLERY:-tcp/127.0.0.1:7447}
ENGINE=${ENGINE:-tensorrt}
FORMAT=${FORMAT:-NV12}
WIDTH=${WIDTH:-1920}
HEIGHT=${HEIGHT:-1080}
INTERVAL=${INTERVAL:-5}

branches=""
live=0
i=0
for source in $SOURCES; do
  case "$source" in
    rtsp://*) branches+=" rtspsrc location=$source latency=200 ! rtph264depay ! h264parse ! nvv4l2decoder ! m.sink_$i"; live=1 ;;
    file://*) branches+=" filesrc location=${source#file://} ! qtdemux ! h264parse ! nvv4l2decoder ! m.sink_$i" ;;
    *) echo "each of SOURCES must be a file:// or rtsp:// URI (H.264): $source" >&2; exit 2 ;;
  esac
  i=$((i + 1))
done

# NVMM caps straight into reidembed (no nvvideoconvert to system memory); for RGBA surfaces put
# `nvvideoconvert ! 'video/x-raw(memory:NVMM),format=RGBA'` before it (a GPU conversion, no CPU copy).
convert=""
if [ "$FORMAT" = RGBA ]; then
  convert="nvvideoconvert ! video/x-raw(memory:NVMM),format=RGBA !"
fi

# shellcheck disable=SC2086 # the launch line is split into words on purpose
gst-launch-1.0 -e \
  nvstreammux name=m batch-size="$i" width="$WIDTH" height="$HEIGHT" live-source=$live batched-push-timeout=40000 \
  ! nvinfer config-file-path="$PGIE_CONFIG" batch-size="$i" \
  ! nvtracker ll-lib-file="$DS/lib/libnvds_nvmultiobjecttracker.so" \
  ! $convert "video/x-raw(memory:NVMM),format=$FORMAT" \
  ! reidembed model="$MODEL" engine="$ENGINE" interval="$INTERVAL" class-ids="$CLASS_IDS" cameras="$CAMERAS" \
  ! reidpublish cameras="$CAMERAS" connect="$GALLERY" skip-empty=true \
  $branches
