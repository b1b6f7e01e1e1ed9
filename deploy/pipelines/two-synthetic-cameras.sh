#!/usr/bin/env bash
# Two synthetic cameras (A and B: the same people under two cameras' light, background and viewpoints) embedded by
# `reidembed` and published by `reidpublish` to a gallery server (`reid gallery serve`, default endpoint
# tcp/127.0.0.1:7447). The gallery identifies every detection against its labelled entries and publishes the
# answers on reid/gallery/main/identified/{A,B}.
#
#   MODEL=results/quickstart/export/model.onnx deploy/pipelines/two-synthetic-cameras.sh
#
# Environment: MODEL (required), GALLERY (default tcp/127.0.0.1:7447), FRAMES (default 300 per camera, 0 = run
# until interrupted), SEED (default 1), PERSONS (default 6), GST_PLUGIN_PATH (default: the folder of a built
# libgstreid.so under ${CARGO_TARGET_DIR:-target}/debug). Start a gallery first, e.g.
#   reid gallery serve --db /tmp/demo.redb --dim 128
# Enrol people (`reid gallery enroll`) to get names back instead of `unknown`; scripts/demo.sh does it all.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${MODEL:?set MODEL to a ReID ONNX model (reid export output)}"
GALLERY=${GALLERY:-tcp/127.0.0.1:7447}
FRAMES=${FRAMES:-300}
SEED=${SEED:-1}
PERSONS=${PERSONS:-6}
export GST_PLUGIN_PATH=${GST_PLUGIN_PATH:-$(cd "${CARGO_TARGET_DIR:-target}/debug" && pwd)}
num_buffers=-1
if [ "$FRAMES" != 0 ]; then num_buffers=$FRAMES; fi

camera() {
  gst-launch-1.0 -q \
    reidsynthsrc camera="$1" seed="$SEED" persons="$PERSONS" num-buffers="$num_buffers" \
    ! reidembed model="$MODEL" \
    ! reidpublish camera="$1" connect="$GALLERY" skip-empty=true
}
camera A & a=$!
camera B & b=$!
trap 'kill $a $b 2>/dev/null || true' INT TERM
wait $a
wait $b
