#!/usr/bin/env bash
# End to end on the embedded defaults, CPU only, nothing downloaded:
#   1. synthesise a Market-1501-format dataset of synthetic persons (results/quickstart/data)
#   2. train a small ReID network (ResNet-18, 64x32) on it with the TAO recipe (trainer/specs/quickstart.yaml)
#   3. evaluate the trained checkpoint (mAP, CMC, plots) against the untrained network's score
#   4. export it to ONNX, verified against the checkpoint, and evaluate the ONNX file the same way
# Takes a few minutes on 2 cores after the build. Builds only what it runs (`reid` with the `train` feature: no
# Zenoh gallery, no ONNX Runtime engine, no benchmarks), in the dev profile, which compiles everything fully
# optimised (see Cargo.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-results/quickstart}
SPEC=trainer/specs/quickstart.yaml
cargo build --locked -p reid-cli --no-default-features --features train
REID=${CARGO_TARGET_DIR:-target}/debug/reid
mkdir -p "$OUT"
ABS=$(cd "$OUT" && pwd)

echo "== 1/5 synthetic dataset"
"$REID" dataset synth --out "$ABS/data" --force
echo
echo "== 2/5 train ($SPEC)"
rm -rf "$ABS/train"
"$REID" train -e "$SPEC" results_dir="$ABS"
echo
echo "== 3/5 evaluate the trained checkpoint"
"$REID" evaluate -e "$SPEC" results_dir="$ABS" evaluate.checkpoint="$ABS/train/model_last.safetensors"
echo
echo "== 4/5 export to ONNX (checked against the checkpoint)"
"$REID" export -e "$SPEC" results_dir="$ABS" export.checkpoint="$ABS/train/model_last.safetensors" \
  export.onnx_file="$ABS/export/model.onnx"
echo
echo "== 5/5 evaluate the ONNX model on the same folders (tract: this build has no ONNX Runtime engine)"
"$REID" evaluate -e "$SPEC" results_dir="$ABS" evaluate.checkpoint="$ABS/export/model.onnx" \
  evaluate.results_dir="$ABS/evaluate_onnx"
echo
echo "done. Everything is under $ABS:"
echo "  data/                         synthetic Market-1501 dataset (preview.png shows its persons)"
echo "  train/summary.json            untrained vs trained validation mAP, images/s"
echo "  train/training_curves.png     loss, accuracy, mAP and learning rate per epoch"
echo "  train/model_last.safetensors  the trained network (PyTorch names); checkpoints/ for resuming"
echo "  evaluate/                     evaluation.json, cmc_curve.png, sampled_matches.png"
echo "  export/model.onnx             the exported model; evaluate_onnx/ its evaluation"
