#!/usr/bin/env bash
# NOT RUN here (the detector elements below are not installed on the development machine): any decoder and any
# detector that attaches GstVideoRegionOfInterestMeta, embedded by `reidembed`, published by `reidpublish`.
#
#   SOURCE=/data/gate.mp4 MODEL=/models/reid.onnx DETECTOR='onnxobjectdetector model-file=ssd.onnx label-file=labels.txt' \
#     ROI_TYPE=onnx-object_detector deploy/pipelines/roi-detector.sh
#
# What attaches ROI metas (see README.md in this folder): gst-plugins-bad's `onnxobjectdetector` (GStreamer
# 1.20-1.22; ROI type `onnx-object_detector` for every class, so use a person-only model or expect every class to
# be embedded), Intel DL Streamer's `gvadetect` (ROI type = the model's label, e.g. `person`). OpenCV's
# `facedetect` attaches `face` ROIs: faces, not people, so it is no person detector for re-identification.
#
# Environment: SOURCE (a file or URI, decoded by decodebin/uridecodebin), MODEL, DETECTOR (launch-line fragment,
# required), ROI_TYPE (default person), CAMERA (default cam1), GALLERY (default tcp/127.0.0.1:7447),
# GST_PLUGIN_PATH (default: ${CARGO_TARGET_DIR:-target}/debug).
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${SOURCE:?set SOURCE to a video file or URI}"
: "${MODEL:?set MODEL to a ReID ONNX model}"
: "${DETECTOR:?set DETECTOR to a launch-line fragment of a detector that attaches GstVideoRegionOfInterestMeta}"
ROI_TYPE=${ROI_TYPE:-person}
CAMERA=${CAMERA:-cam1}
GALLERY=${GALLERY:-tcp/127.0.0.1:7447}
export GST_PLUGIN_PATH=${GST_PLUGIN_PATH:-$(cd "${CARGO_TARGET_DIR:-target}/debug" && pwd)}
case "$SOURCE" in
  *://*) src="uridecodebin uri=$SOURCE" ;;
  *) src="filesrc location=$SOURCE ! decodebin" ;;
esac
# reidembed reads NV12, I420, RGB, RGBA and BGRx; videoconvert picks one of them when the decoder gives another.
# shellcheck disable=SC2086
gst-launch-1.0 -e \
  $src ! videoconvert ! $DETECTOR ! videoconvert \
  ! reidembed model="$MODEL" roi-type="$ROI_TYPE" \
  ! reidpublish camera="$CAMERA" connect="$GALLERY" skip-empty=true
