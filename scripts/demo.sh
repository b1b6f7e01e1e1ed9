#!/usr/bin/env bash
# End-to-end re-identification demo, one command:
#   two synthetic cameras A and B (reidsynthsrc, same seed: the same people under two cameras)
#   -> reidembed (the quick-start model) -> a `reid gallery serve` enrolled with camera A's GROUND TRUTH
#   (every camera-A detection's embedding under its true identity) -> camera B published by reidpublish,
#   identified by the gallery -> the share of camera-B tracks identified correctly (majority vote per track).
#
#   scripts/demo.sh                       # defaults: 6 people, 450 frames per camera
#   scripts/demo.sh --frames 900 --persons 8 --threshold 0.4
#
# Runs scripts/quickstart.sh first when the model is missing (a few minutes on 2 cores after the build).
# Environment: MODEL (default results/quickstart/export/model.onnx), REID (a built `reid` CLI; default: built
# here with cargo), CARGO_TARGET_DIR. Options after the script name go to the driver
# (gst-plugin/examples/two_cameras.rs; --help lists them).
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${MODEL:-results/quickstart/export/model.onnx}
if [ ! -f "$MODEL" ]; then
  echo "== $MODEL is missing: running scripts/quickstart.sh first (synthesise, train, export: a few minutes)"
  scripts/quickstart.sh
fi
if [ -z "${REID:-}" ]; then
  cargo build --locked -p reid-cli
  REID=${CARGO_TARGET_DIR:-target}/debug/reid
fi
echo "== two cameras -> reidembed -> gallery ($REID gallery serve) -> camera-B tracks identified"
exec cargo run --locked -p gst-reid --example two_cameras -- --model "$MODEL" --reid "$REID" "$@"
