"""Times the numpy reference on data written by `reid bench eval`; prints one JSON object on stdout.

    python bench_reference.py --task eval|rerank --dir DIR [--repeat N] [--sort quicksort|stable] [--form rows|toolbox]

numpy gets its fastest sort (the default quicksort, vectorised on AVX-512) unless --sort stable; on this
continuous data ties do not occur, so both give the same results.
"""

import argparse
import json
import os
import resource
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reid_reference as ref  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--task", choices=["eval", "rerank"], required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--sort", default="quicksort", help="numpy sort kind: quicksort (fastest, default) or stable")
    ap.add_argument("--form", default="rows", choices=["rows", "toolbox"], help="re-ranking layout (see rerank_dense)")
    args = ap.parse_args()
    with open(os.path.join(args.dir, "meta.json")) as f:
        meta = json.load(f)
    nq, ng, dim = meta["num_query"], meta["num_gallery"], meta["dim"]
    labels = (np.array(meta["q_pids"]), np.array(meta["g_pids"]), np.array(meta["q_cams"]), np.array(meta["g_cams"]))
    out = {"numpy": np.__version__}
    if args.task == "eval":
        dist = np.fromfile(os.path.join(args.dir, "dist.f32"), dtype="<f4").reshape(nq, ng)
        best = float("inf")
        for _ in range(args.repeat):
            t = time.perf_counter()
            res = ref.evaluate(dist, *labels, sort_kind=args.sort)
            best = min(best, time.perf_counter() - t)
        out["seconds"] = best
    else:
        qf = np.fromfile(os.path.join(args.dir, "query.f32"), dtype="<f4").reshape(nq, dim)
        gf = np.fromfile(os.path.join(args.dir, "gallery.f32"), dtype="<f4").reshape(ng, dim)
        stages = {}
        t = time.perf_counter()
        final = ref.rerank_dense(qf, gf, meta["k1"], meta["k2"], meta["lambda"], stages, sort_kind=args.sort, form=args.form)
        out["seconds"] = time.perf_counter() - t
        out["stages"] = stages
        res = ref.evaluate(final, *labels)
    out["mAP"] = res["mAP"]
    out["rank1"] = res["cmc"][0]
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps(out))


if __name__ == "__main__":
    main()
