#!/usr/bin/env bash
# Idempotently creates .venv with the Python packages the test suite and the reference scripts need:
# numpy and eclipse-zenoh (the Python gallery client test) always; `--bench` adds onnxruntime and faiss-cpu
# (reid bench engine / gallery references); `--nvrtc` adds NVIDIA's NVRTC wheel (libnvrtc, so the gallery's CUDA
# kernels are compiled in the tests on machines without a CUDA toolkit); `--torch` adds torch, timm (with
# torchvision) and safetensors for the model fixture generators (tools/reference/gen_*_fixtures.py; a large
# download). Installs python3-venv with apt-get when venv is missing.
# Usage: scripts/pyenv.sh [--bench] [--nvrtc] [--torch]   (prints the interpreter path on its last line)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if ! "$PY" -c "import venv, ensurepip" >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  echo "pyenv: installing python3 and python3-venv" >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >&2
fi
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv >&2
fi
need() {  # need <import name> <pip requirement>
  if ! .venv/bin/python -c "import $1" 2>/dev/null; then
    .venv/bin/python -m pip install --quiet --disable-pip-version-check "$2" >&2
  fi
}
need numpy "numpy>=2,<3"
need zenoh "eclipse-zenoh==1.10.2"
for opt in "$@"; do
  case "$opt" in
    --bench)
      need onnxruntime "onnxruntime==1.32.0"
      need faiss "faiss-cpu"
      ;;
    --nvrtc) need nvidia.cuda_nvrtc "nvidia-cuda-nvrtc-cu12==12.9.86" ;;
    --torch)
      need torch "torch"
      need timm "timm==1.0.31"
      need safetensors "safetensors"
      ;;
    *) echo "pyenv: unknown option $opt (expected --bench, --nvrtc or --torch)" >&2; exit 2 ;;
  esac
done
echo "$PWD/.venv/bin/python"
