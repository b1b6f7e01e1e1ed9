"""Times ONNX Runtime's own Python API (CPU provider) on an ONNX ReID model; prints one JSON object.
Used by `reid bench engine`, which runs the runtime's engines on the same file, batch and threads. A model with
a camera input (TransReID SIE, metadata `reid.camera_input`) is fed camera `i % cameras` for image `i`, as the
Rust side does.

    python bench_ort_forward.py --model m.onnx --batch 1 --height 256 --width 128 --iters 10 --threads 2 [--cameras 6]
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
    p.add_argument("--cameras", type=int, default=0)
    a = p.parse_args()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = a.threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(a.model, opts, providers=["CPUExecutionProvider"])
    # The input `reid bench engine` feeds the Rust engines: (i % 97) / 48 - 1 over the flat index.
    n = a.batch * 3 * a.height * a.width
    x = ((np.arange(n) % 97) / 48.0 - 1.0).astype(np.float32).reshape(a.batch, 3, a.height, a.width)
    meta = sess.get_modelmeta().custom_metadata_map
    camera = meta.get("reid.camera_input")
    image = [i.name for i in sess.get_inputs() if i.name != camera][0]
    feed = {image: x}
    if camera is not None:
        count = int(meta["reid.sie_cameras"])
        if a.cameras not in (0, count):
            raise SystemExit(f"--cameras {a.cameras} but the model has {count}")
        feed[camera] = (np.arange(a.batch) % count).astype(np.int64)
    sess.run(None, feed)  # warm-up
    t = time.perf_counter()
    for _ in range(a.iters):
        sess.run(None, feed)
    dt = time.perf_counter() - t
    print(json.dumps({"onnxruntime": ort.__version__, "threads": a.threads, "camera_input": camera,
                      "images_per_second": a.batch * a.iters / dt}))


if __name__ == "__main__":
    main()
