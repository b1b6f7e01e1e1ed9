"""Times ONNX Runtime's own Python API (CPU provider) on an ONNX ReID model; prints one JSON object.
Used by `reid bench engine`, which runs the runtime's engines on the same file, batch and threads.

    python bench_ort_forward.py --model m.onnx --batch 1 --height 256 --width 128 --iters 10 --threads 2
"""

import argparse
import json
import time

import numpy as np
import onnxruntime as ort


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--height", type=int, default=256)
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--iters", type=int, default=10)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = a.threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(a.model, opts, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((a.batch, 3, a.height, a.width)).astype(np.float32)
    name = sess.get_inputs()[0].name
    sess.run(None, {name: x})  # warm-up
    t = time.perf_counter()
    for _ in range(a.iters):
        sess.run(None, {name: x})
    dt = time.perf_counter() - t
    print(json.dumps({"onnxruntime": ort.__version__, "threads": a.threads,
                      "images_per_second": a.batch * a.iters / dt}))


if __name__ == "__main__":
    main()
