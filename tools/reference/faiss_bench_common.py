"""Shared by the FAISS benchmark scripts (bench_faiss_topk.py, bench_faiss_hnsw.py): .npy reading in chunks,
timing at batch 1 and batched, resident memory, and the JSON answer on stdout. The Rust drivers
(cli/src/commands/bench/gallery/) write this file beside the script they run.
"""

import ast
import json
import sys
import time

import numpy as np


def npy_shape(f):
    """Reads a version 1.0/2.0 .npy header; returns (rows, cols), leaving `f` at the data."""
    magic = f.read(8)
    if magic[:6] != b"\x93NUMPY":
        sys.exit("not a .npy file")
    hlen = int.from_bytes(f.read(2 if magic[6] == 1 else 4), "little")
    header = ast.literal_eval(f.read(hlen).decode("latin1"))
    if header["descr"] != "<f4" or header["fortran_order"]:
        sys.exit(f"expected C-order <f4, got {header}")
    return header["shape"]


def npy_chunks(path, chunk):
    """Yields the rows of a float32 .npy file `chunk` rows at a time (plain reads, no memory map, so resident
    memory is only what the caller keeps)."""
    with open(path, "rb") as f:
        n, d = npy_shape(f)
        done = 0
        while done < n:
            take = min(chunk, n - done)
            yield np.fromfile(f, dtype="<f4", count=take * d).reshape(take, d)
            done += take


def rss_mib():
    """This process's resident memory now (VmRSS), MiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def time_single(index, xq, k, n, repeats):
    """Fastest of `repeats` passes over `n` single queries (seconds per pass), after two warm-up queries."""
    for i in range(2):
        index.search(xq[i : i + 1], k)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for i in range(n):
            index.search(xq[i : i + 1], k)
        best = min(best, time.perf_counter() - t0)
    return best


def time_batch(index, xq, k, batch, batches, repeats):
    """Fastest of `repeats` passes over `batches` calls of `batch` queries (seconds per pass), after a warm-up."""
    q = np.ascontiguousarray(xq[:batch])
    index.search(q, k)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(batches):
            index.search(q, k)
        best = min(best, time.perf_counter() - t0)
    return best


def single_ids(index, xq, k, check):
    """Top-k ids of the first `check` queries, each searched alone (for recall against exact)."""
    return [index.search(xq[i : i + 1], k)[1][0].tolist() for i in range(min(check, xq.shape[0]))]


def emit(answer):
    """The one JSON object the Rust driver reads from stdout."""
    json.dump(answer, sys.stdout)
    print()
