#!/usr/bin/env python3
"""FAISS reference for the gallery top-k benchmark (`reid bench gallery`, cli/src/commands/bench/gallery/faiss.rs).

Reads the gallery vectors the Rust side wrote as .npy (float32, L2-normalised) in chunks, builds a faiss-cpu
IndexFlatIP (exact inner product), and times top-k at batch 1 and at a larger batch, with FAISS's default
settings and with `faiss.cvar.distance_compute_blas_threshold = 20` (batches of 20+ queries go through BLAS
GEMM instead of the per-query SIMD scan); then the same for IndexScalarQuantizer QT_8bit, inner product
(per-dimension min/max trained on the whole gallery, inner product on the decoded values, no re-scoring). Each
index's resident memory is this process's VmRSS after building it minus before (the data is read in chunks and
dropped, so it is what the index holds). Shares its plumbing with bench_faiss_hnsw.py (faiss_bench_common.py, which
must lie beside it). Prints one JSON object on stdout:

    {"rows": [{"engine", "setting", "batch", "queries_per_s", "ms_per_call", "rss_mib"}, ...],
     "ids": {"<engine>": [[top-k ids of query 0], ...]},   # first --check queries, each searched alone
     "info": "faiss 1.x, default distance_compute_blas_threshold=..."}

Usage: bench_faiss_topk.py --data gallery.npy --queries queries.npy [--k 10] [--threads 2]
       [--single 20] [--batch 64] [--batches 2] [--repeats 3] [--check 8]
Each figure is the fastest of --repeats passes (robust to other work on the machine).
"""

import argparse
import sys

import numpy as np

try:
    import faiss
except ImportError:  # pragma: no cover - reported to the caller
    sys.exit("faiss is not installed in this interpreter: pip install faiss-cpu")

from faiss_bench_common import emit, npy_chunks, rss_mib, single_ids, time_batch, time_single  # noqa: E402

CHUNK = 65536


FLAT = "faiss IndexFlatIP"
SQ8 = "faiss IndexScalarQuantizer"


def row(setting, batch, calls, secs, engine=FLAT, rss=None):
    return {
        "engine": engine,
        "setting": setting,
        "batch": batch,
        "queries_per_s": calls * batch / secs,
        "ms_per_call": secs * 1e3 / calls,
        "rss_mib": rss,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--queries", required=True)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--single", type=int, default=20)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--batches", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--check", type=int, default=8)
    a = ap.parse_args()

    faiss.omp_set_num_threads(a.threads)
    xq = np.ascontiguousarray(np.load(a.queries), dtype=np.float32)
    if xq.shape[0] < max(a.single, a.batch, 2):
        sys.exit(f"{a.queries}: {xq.shape[0]} queries, need {max(a.single, a.batch, 2)}")
    d = xq.shape[1]

    before = rss_mib()
    index = faiss.IndexFlatIP(d)
    for x in npy_chunks(a.data, CHUNK):
        index.add(x)
    flat_rss = rss_mib() - before
    default_threshold = faiss.cvar.distance_compute_blas_threshold
    rows = [
        row("default", 1, a.single, time_single(index, xq, a.k, a.single, a.repeats), rss=flat_rss),
        row("default", a.batch, a.batches, time_batch(index, xq, a.k, a.batch, a.batches, a.repeats)),
    ]
    faiss.cvar.distance_compute_blas_threshold = 20
    rows.append(
        row("blas_threshold=20", a.batch, a.batches, time_batch(index, xq, a.k, a.batch, a.batches, a.repeats))
    )
    faiss.cvar.distance_compute_blas_threshold = default_threshold
    ids = {FLAT: single_ids(index, xq, a.k, a.check)}
    del index

    # Trained on the whole gallery (as before), then added in chunks; the training copy is dropped before the
    # index's memory is read.
    before = rss_mib()
    sq8 = faiss.IndexScalarQuantizer(d, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
    xb = np.concatenate(list(npy_chunks(a.data, CHUNK)))
    sq8.train(xb)
    del xb
    for x in npy_chunks(a.data, CHUNK):
        sq8.add(x)
    sq8_rss = rss_mib() - before
    rows += [
        row("QT_8bit", 1, a.single, time_single(sq8, xq, a.k, a.single, a.repeats), SQ8, rss=sq8_rss),
        row("QT_8bit", a.batch, a.batches, time_batch(sq8, xq, a.k, a.batch, a.batches, a.repeats), SQ8),
    ]
    ids[SQ8] = single_ids(sq8, xq, a.k, a.check)
    info = (
        f"faiss {faiss.__version__}, default distance_compute_blas_threshold={default_threshold}, "
        f"{a.threads} OpenMP threads"
    )
    emit({"rows": rows, "ids": ids, "info": info})


if __name__ == "__main__":
    main()
