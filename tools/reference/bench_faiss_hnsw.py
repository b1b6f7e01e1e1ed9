#!/usr/bin/env python3
"""FAISS HNSW reference for `reid bench gallery --index hnsw` (cli/src/commands/bench/gallery/hnsw.rs).

Reads the gallery the Rust side wrote as a float32 .npy (L2-normalised rows) in chunks (plain reads, not a memory
map, so the process's peak RSS is FAISS's own), builds `faiss.IndexHNSWFlat(d, M, METRIC_INNER_PRODUCT)` with the
given efConstruction (timed), then for every efSearch times top-k at batch 1 and at a larger batch and returns the
ids of the first --check queries (each searched alone) for recall. Runs in its own process so that its peak memory
(`ru_maxrss`) is separable from ours. Shares its plumbing with bench_faiss_topk.py (faiss_bench_common.py, which
must lie beside it). Prints one JSON object on stdout:

    {"build_s": .., "build_cpu_s": .., "peak_rss_mib": .., "info": "faiss 1.x, ...",
     "rows": [{"ef_search", "batch", "queries_per_s", "ms_per_call"}, ...],
     "ids": {"<ef_search>": [[top-k ids of query 0], ...]}}

Usage: bench_faiss_hnsw.py --data gallery.npy --queries queries.npy --m 32 --ef-construction 200
       --ef-search 64,128 [--k 10] [--threads 2] [--single 200] [--batch 64] [--batches 4] [--repeats 3]
       [--check 100]
Each timing is the fastest of --repeats passes.
"""

import argparse
import resource
import sys
import time

import numpy as np

try:
    import faiss
except ImportError:  # pragma: no cover - reported to the caller
    sys.exit("faiss is not installed in this interpreter: pip install faiss-cpu")

from faiss_bench_common import emit, npy_chunks, single_ids, time_batch, time_single  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--m", type=int, required=True)
    ap.add_argument("--ef-construction", type=int, required=True)
    ap.add_argument("--ef-search", required=True, help="comma-separated efSearch values")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--single", type=int, default=200)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--batches", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--check", type=int, default=100)
    ap.add_argument("--chunk", type=int, default=65536)
    a = ap.parse_args()

    faiss.omp_set_num_threads(a.threads)
    xq = np.ascontiguousarray(np.load(a.queries), dtype=np.float32)
    index = None
    t0, c0 = time.perf_counter(), time.process_time()
    for x in npy_chunks(a.data, a.chunk):
        if index is None:
            index = faiss.IndexHNSWFlat(x.shape[1], a.m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = a.ef_construction
        index.add(x)
        del x
    build_s = time.perf_counter() - t0
    build_cpu_s = time.process_time() - c0  # every thread of this process (OpenMP's included)

    rows, ids = [], {}
    check = min(a.check, xq.shape[0])
    for ef in (int(v) for v in a.ef_search.split(",")):
        index.hnsw.efSearch = ef
        s1 = time_single(index, xq, a.k, a.single, a.repeats)
        sb = time_batch(index, xq, a.k, a.batch, a.batches, a.repeats)
        rows.append({"ef_search": ef, "batch": 1, "queries_per_s": a.single / s1, "ms_per_call": s1 * 1e3 / a.single})
        rows.append(
            {
                "ef_search": ef,
                "batch": a.batch,
                "queries_per_s": a.batches * a.batch / sb,
                "ms_per_call": sb * 1e3 / a.batches,
            }
        )
        ids[str(ef)] = single_ids(index, xq, a.k, check)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux
    info = f"faiss {faiss.__version__} IndexHNSWFlat(M={a.m}, METRIC_INNER_PRODUCT), efConstruction={a.ef_construction}, {a.threads} OpenMP threads"
    emit({"build_s": build_s, "build_cpu_s": build_cpu_s, "peak_rss_mib": peak, "info": info, "rows": rows, "ids": ids})


if __name__ == "__main__":
    main()
