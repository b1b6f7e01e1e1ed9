"""Reference implementations, in numpy, of what the Rust runtime computes.

Written from the published algorithms, deliberately plain and dense, as ground truth for parity tests and as
the baseline of `reid bench eval`:

- `sq_euclidean`: all-pairs squared euclidean distances, |a|^2 + |b|^2 - 2 a.b, clamped at 0.
- `evaluate`: the ReID protocol (Market-1501 / DukeMTMC / MSMT17 evaluators): per query, gallery items with the
  same identity and the same camera are removed; queries with no remaining true match are skipped; AP is the
  mean precision at each true match; CMC at k is the share of queries whose first true match ranks within k;
  INP = (true matches) / (rank of the last one) (Ye et al., 2021). Ties are broken by gallery order
  (stable sort). Camera -1 means unknown: nothing is removed for it.
- `rerank_dense`: k-reciprocal re-ranking (Zhong, Zheng, Cao, Li, CVPR 2017) in the dense form of the
  authors' code as the common toolboxes use it: squared euclidean distances of all N = Q + G items, each row
  divided by its maximum, full argsort (stable here), k-reciprocal sets with the 2/3 expansion rule, Gaussian
  weights, local query expansion over k2 neighbours, Jaccard distance through an inverted index, and
  final = (1 - lambda) * jaccard + lambda * distance. It holds several N x N matrices; that is the point.
"""

import time

import numpy as np


def sq_euclidean(a, b):
    """All-pairs squared euclidean distances (float32)."""
    a = np.ascontiguousarray(a, dtype=np.float32)
    b = np.ascontiguousarray(b, dtype=np.float32)
    na = np.einsum("ij,ij->i", a, a)
    nb = np.einsum("ij,ij->i", b, b)
    d = na[:, None] + nb[None, :] - np.float32(2.0) * (a @ b.T)
    return np.maximum(d, np.float32(0.0))


def cosine_distance(a, b):
    """1 - cosine similarity (float32); zero vectors have similarity 0."""
    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    an = np.linalg.norm(a, axis=1, keepdims=True)
    bn = np.linalg.norm(b, axis=1, keepdims=True)
    a = np.where(an > 0, a / np.where(an > 0, an, 1), 0).astype(np.float32)
    b = np.where(bn > 0, b / np.where(bn > 0, bn, 1), 0).astype(np.float32)
    return (np.float32(1.0) - a @ b.T).astype(np.float32)


def l2_normalize(x):
    """Rows scaled to unit norm (zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float32)
    n = np.sqrt(np.einsum("ij,ij->i", x, x))[:, None]
    return np.where(n > 0, x / np.where(n > 0, n, 1), 0).astype(np.float32)


def evaluate(distmat, q_pids, g_pids, q_cams, g_cams, block=256, sort_kind="stable"):
    """Vectorised evaluation, in blocks of queries. Returns mAP, mINP, the whole CMC curve and per-query AP
    (None when skipped). `sort_kind="quicksort"` (numpy's default, what fast-reid calls) is faster but breaks
    ties arbitrarily; the fixtures use the stable sort that defines the protocol's tie order."""
    distmat = np.asarray(distmat)
    q_pids = np.asarray(q_pids, dtype=np.int32)
    g_pids = np.asarray(g_pids, dtype=np.int32)
    q_cams = np.asarray(q_cams, dtype=np.int32)
    g_cams = np.asarray(g_cams, dtype=np.int32)
    nq, ng = distmat.shape
    ap = np.zeros(nq)
    inp = np.zeros(nq)
    first_rank = np.zeros(nq, dtype=np.int64)
    valid = np.zeros(nq, dtype=bool)
    for s in range(0, nq, block):
        e = min(s + block, nq)
        order = np.argsort(distmat[s:e], axis=1, kind=sort_kind)
        same = g_pids[order] == q_pids[s:e, None]
        known = (q_cams[s:e, None] >= 0)
        keep = ~(same & (g_cams[order] == q_cams[s:e, None]) & known)
        match = same & keep
        num_rel = match.sum(axis=1)
        ok = num_rel > 0
        rank = np.cumsum(keep, axis=1, dtype=np.int32) - 1  # rank among kept items at each sorted position
        hits = np.cumsum(match, axis=1, dtype=np.int32)
        rows, cols = np.nonzero(match)  # row-major: matches of each query in rank order
        prec = hits[rows, cols] / (rank[rows, cols] + 1.0)
        ap[s:e] = np.bincount(rows, weights=prec, minlength=e - s) / np.maximum(num_rel, 1)
        r = np.arange(e - s)
        first_rank[s:e] = rank[r, np.argmax(match, axis=1)]
        last = rank[r, ng - 1 - np.argmax(match[:, ::-1], axis=1)]
        inp[s:e] = num_rel / (last + 1.0)
        valid[s:e] = ok
    if not valid.any():
        raise ValueError("no query has a true match")
    nvalid = int(valid.sum())
    hist = np.bincount(first_rank[valid], minlength=ng)
    cmc = np.cumsum(hist) / nvalid
    return {
        "mAP": float(ap[valid].mean()),
        "mINP": float(inp[valid].mean()),
        "cmc": cmc.tolist(),
        "ap": [float(a) if v else None for a, v in zip(ap, valid)],
        "num_valid_queries": nvalid,
    }


def evaluate_loop(distmat, q_pids, g_pids, q_cams, g_cams):
    """The same protocol written as a plain per-query loop, to cross-check `evaluate`."""
    nq, ng = distmat.shape
    aps, inps, firsts, ap_all = [], [], [], []
    for i in range(nq):
        order = np.argsort(distmat[i], kind="stable")
        kept = [j for j in order if not (g_pids[j] == q_pids[i] and q_cams[i] >= 0 and g_cams[j] == q_cams[i])]
        ranks = [r for r, j in enumerate(kept) if g_pids[j] == q_pids[i]]
        if not ranks:
            ap_all.append(None)
            continue
        ap = sum((t + 1) / (r + 1) for t, r in enumerate(ranks)) / len(ranks)
        aps.append(ap)
        ap_all.append(ap)
        inps.append(len(ranks) / (ranks[-1] + 1))
        firsts.append(ranks[0])
    cmc = [sum(1 for f in firsts if f <= k) / len(firsts) for k in range(ng)]
    return {"mAP": float(np.mean(aps)), "mINP": float(np.mean(inps)), "cmc": cmc, "ap": ap_all,
            "num_valid_queries": len(aps)}


def rerank_dense(qf, gf, k1=20, k2=6, lambda_value=0.3, timings=None, sort_kind="stable", form="rows"):
    """Dense k-reciprocal re-ranking of query x gallery distances. `timings` (a dict) receives stage seconds.
    `sort_kind` as in `evaluate`. `form="rows"` divides each row by its maximum in place (contiguous rows);
    `form="toolbox"` writes it as the authors' code and the toolboxes do,
    `np.transpose(dist / np.max(dist, axis=0))`, which leaves the array transposed so that every later row
    operation, the argsort above all, walks memory with a stride (same values: the matrix is symmetric)."""
    timings = {} if timings is None else timings
    lambda_value = float(lambda_value)  # a Python float stays weak against float32 arrays (NEP 50)
    t0 = time.perf_counter()
    feats = np.concatenate([qf, gf]).astype(np.float32)
    nq = len(qf)
    n = len(feats)
    dist = sq_euclidean(feats, feats)
    timings["gemm"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    if form == "toolbox":
        dist = np.transpose(dist / np.max(dist, axis=0))
    else:
        row_max = dist.max(axis=1, keepdims=True)
        dist = np.where(row_max > 0, dist / np.where(row_max > 0, row_max, 1), np.float32(0)).astype(np.float32)
    initial_rank = np.argsort(dist, axis=1, kind=sort_kind).astype(np.int32)
    timings["sort"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    v = np.zeros((n, n), dtype=np.float32)
    half = int(np.around(k1 / 2.0))
    for i in range(n):
        fwd = initial_rank[i, : k1 + 1]
        bwd = initial_rank[fwd, : k1 + 1]
        recip = fwd[np.where(bwd == i)[0]]
        expansion = recip
        for c in recip:
            cf = initial_rank[c, : half + 1]
            cb = initial_rank[cf, : half + 1]
            c_recip = cf[np.where(cb == c)[0]]
            if len(np.intersect1d(c_recip, recip)) > 2.0 / 3.0 * len(c_recip):
                expansion = np.append(expansion, c_recip)
        expansion = np.unique(expansion)
        weight = np.exp(-dist[i, expansion])
        v[i, expansion] = weight / np.sum(weight)
    timings["k_reciprocal"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    if k2 != 1:
        v_qe = np.zeros_like(v)
        for i in range(n):
            v_qe[i, :] = np.mean(v[initial_rank[i, :k2], :], axis=0)
        v = v_qe
        del v_qe
    del initial_rank
    timings["query_expansion"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    inv_index = [np.where(v[:, c] != 0)[0] for c in range(n)]
    jaccard = np.zeros((nq, n), dtype=np.float32)
    for i in range(nq):
        temp_min = np.zeros(n, dtype=np.float32)
        nonzero = np.where(v[i, :] != 0)[0]
        for c in nonzero:
            rows = inv_index[c]
            temp_min[rows] = temp_min[rows] + np.minimum(v[i, c], v[rows, c])
        jaccard[i] = 1 - temp_min / (2.0 - temp_min)
    final = jaccard * (1 - lambda_value) + dist[:nq] * lambda_value
    timings["jaccard"] = time.perf_counter() - t0
    return final[:, nq:]
