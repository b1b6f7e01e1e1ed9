"""PyTorch side of `reid bench conv`: times each convolution shape's forward, input gradient and weight gradient.

Reads a JSON list of shapes ({cin, cout, kernel, stride, padding, h, w, input_grad, ...}) and prints
{"torch", "threads", "times": [[forward, input_grad, weight_grad] seconds per shape]} on stdout: `F.conv2d`,
`torch.nn.grad.conv2d_input` and `torch.nn.grad.conv2d_weight` (the ops autograd runs for a convolution's backward),
the fastest of --iters runs after one warm-up, float32 on the CPU with --threads threads.

    .venv/bin/python tools/reference/conv_torch_reference.py --shapes shapes.json --batch 32 --threads 2
"""

import argparse
import json
import time

import torch
import torch.nn.functional as F


CLOCK = time.perf_counter


def best_seconds(iters, fn):
    fn()
    best = float("inf")
    for _ in range(iters):
        t0 = CLOCK()
        fn()
        best = min(best, CLOCK() - t0)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shapes", required=True)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--iters", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                    help="wall: elapsed time; cpu: the process's CPU time (time.process_time)")
    a = ap.parse_args()
    global CLOCK
    CLOCK = time.process_time if a.clock == "cpu" else time.perf_counter
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    with open(a.shapes) as f:
        shapes = json.load(f)
    out = []
    with torch.no_grad():
        for s in shapes:
            k, st, p = s["kernel"], s["stride"], s["padding"]
            x = torch.randn(a.batch, s["cin"], s["h"], s["w"])
            w = torch.randn(s["cout"], s["cin"], k, k)
            y = F.conv2d(x, w, stride=st, padding=p)
            dy = torch.randn_like(y)
            fwd = best_seconds(a.iters, lambda: F.conv2d(x, w, stride=st, padding=p))
            xg = best_seconds(a.iters, lambda: torch.nn.grad.conv2d_input(x.shape, w, dy, stride=st, padding=p)) \
                if s["input_grad"] else 0.0
            wg = best_seconds(a.iters, lambda: torch.nn.grad.conv2d_weight(x, w.shape, dy, stride=st, padding=p))
            out.append([fwd, xg, wg])
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "times": out}))


if __name__ == "__main__":
    main()
