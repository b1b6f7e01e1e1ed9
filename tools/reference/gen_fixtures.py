"""Writes the parity fixtures that the Rust tests read (eval/tests/fixtures, cli/tests/fixtures).

    scripts/pyenv.sh                      # once: a venv with numpy
    .venv/bin/python tools/reference/gen_fixtures.py

Every case is small, seeded and checked for near-ties: a random set whose sorted distances come closer than
the float32 noise between two implementations is rejected and the seed bumped, so parity failures always mean
a real difference. Exact ties are produced on purpose in the `ties` cases, with values every implementation
computes exactly.
"""

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import reid_reference as ref  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EVAL_FIX = os.path.join(ROOT, "eval", "tests", "fixtures")
CLI_FIX = os.path.join(ROOT, "cli", "tests", "fixtures")


def dump(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":"))
    print(f"wrote {os.path.relpath(path, ROOT)} ({os.path.getsize(path) / 1024:.0f} KiB)")


def f32list(a):
    return np.asarray(a, dtype=np.float32).astype(np.float64).tolist()


def unit_gaussian(rng, n, d):
    return ref.l2_normalize(rng.standard_normal((n, d)).astype(np.float32))


def match_gap(dist, q_pids, g_pids):
    """Smallest distance gap between a true match and any other gallery item of the same query row: the only
    near-ties that can move AP or CMC."""
    gap = np.inf
    for i in range(dist.shape[0]):
        m = g_pids == q_pids[i]
        if m.any():
            diffs = np.abs(dist[i][m][:, None] - dist[i][None, :])
            diffs[:, np.where(m)[0]] = np.where(diffs[:, np.where(m)[0]] == 0, np.inf, diffs[:, np.where(m)[0]])
            gap = min(gap, float(diffs.min()))
    return gap


def min_gap(rows, upto):
    """Smallest gap between consecutive sorted values among each row's first `upto` + 1 entries."""
    s = np.sort(rows, axis=1)[:, : upto + 2]
    return float(np.diff(s, axis=1).min())


# ---------------------------------------------------------------- evaluation on given distance matrices
def eval_case(name, rng, nq, ng, nids, cams, quantum=None, unknown_cams=False):
    q_pids = rng.integers(1, nids + 1, nq)
    g_pids = rng.integers(0, nids + 1, ng)  # 0 = distractor
    q_cams = rng.integers(1, cams + 1, nq)
    g_cams = rng.integers(1, cams + 1, ng)
    # Query 0: its identity appears in the gallery only under its own camera -> skipped (unless cameras unknown).
    q_pids[0], q_cams[0] = nids + 1, 1
    g_pids[:2], g_cams[:2] = nids + 1, 1
    # Query 1: its identity is absent from the gallery -> skipped.
    q_pids[1] = nids + 2
    if unknown_cams:
        q_cams[:] = -1
        g_cams[:] = -1
    dist = rng.random((nq, ng)).astype(np.float32)
    if quantum:
        dist = (np.round(dist / quantum) * quantum).astype(np.float32)
    res = ref.evaluate(dist, q_pids, g_pids, q_cams, g_cams)
    loop = ref.evaluate_loop(dist, q_pids, g_pids, q_cams, g_cams)
    assert abs(res["mAP"] - loop["mAP"]) < 1e-12 and np.allclose(res["cmc"], loop["cmc"], atol=1e-12)
    assert abs(res["mINP"] - loop["mINP"]) < 1e-12
    dump(os.path.join(EVAL_FIX, f"eval_{name}.json"), {
        "dist": [f32list(r) for r in dist],
        "q_pids": q_pids.tolist(), "g_pids": g_pids.tolist(),
        "q_cams": q_cams.tolist(), "g_cams": g_cams.tolist(),
        "expected": res,
    })


# ---------------------------------------------------------------- re-ranking on embeddings
def rerank_case(name, feats_q, feats_g, k1, k2, lam, check_gaps=True):
    feats = np.concatenate([feats_q, feats_g])
    if check_gaps:
        d = ref.sq_euclidean(feats, feats)
        d = d / d.max(axis=1, keepdims=True)
        gap = min_gap(d, max(k1 + 1, k2) + 1)
        if gap < 2e-6:
            return False
    final = ref.rerank_dense(feats_q, feats_g, k1, k2, lam)
    dump(os.path.join(EVAL_FIX, f"rerank_{name}.json"), {
        "query": [f32list(r) for r in feats_q], "gallery": [f32list(r) for r in feats_g],
        "k1": k1, "k2": k2, "lambda": lam,
        "expected": [f32list(r) for r in final],
    })
    return True


def random_rerank_case(name, seed, nq, ng, dim, k1, k2, lam, clusters=None):
    while True:
        rng = np.random.default_rng(seed)
        if clusters:
            centres = rng.standard_normal((clusters, dim)).astype(np.float32)
            pick = rng.integers(0, clusters, nq + ng)
            raw = centres[pick] + 0.6 * rng.standard_normal((nq + ng, dim)).astype(np.float32)
            f = ref.l2_normalize(raw)
        else:
            f = unit_gaussian(rng, nq + ng, dim)
        if rerank_case(name, f[:nq], f[nq:], k1, k2, lam):
            print(f"  {name}: seed {seed}")
            return
        seed += 1000


def dyadic_ties_case():
    """Entries +-0.25 in 16 dims: unit vectors whose distances are exact multiples of 1/4, with duplicates."""
    rng = np.random.default_rng(5)
    base = rng.choice([-0.25, 0.25], size=(40, 16)).astype(np.float32)
    feats = np.concatenate([base, base[:10]])  # exact duplicates
    feats = feats[rng.permutation(len(feats))]
    rerank_case("ties", feats[:12], feats[12:], k1=6, k2=3, lam=0.3, check_gaps=False)


# ---------------------------------------------------------------- distances
def distance_case():
    rng = np.random.default_rng(11)
    a = rng.standard_normal((9, 33)).astype(np.float32)
    b = rng.standard_normal((70, 33)).astype(np.float32)
    b[3] = 0.0
    dump(os.path.join(EVAL_FIX, "distances.json"), {
        "a": [f32list(r) for r in a], "b": [f32list(r) for r in b],
        "sq_euclidean": [f32list(r) for r in ref.sq_euclidean(a, b)],
        "cosine": [f32list(r) for r in ref.cosine_distance(a, b)],
    })


# ---------------------------------------------------------------- end to end: TAO JSON through `reid evaluate`
def e2e_case(seed=3):
    """Query/gallery TAO JSON with Market names (junk -1 and distractors 0 included) and the expected reports."""
    while True:
        rng = np.random.default_rng(seed)
        nids, dim, cams = 12, 24, 4
        centres = rng.standard_normal((nids + 1, dim)).astype(np.float32)

        def sample(pid, n):
            c = centres[pid] if pid > 0 else rng.standard_normal(dim).astype(np.float32)
            return c + 0.9 * rng.standard_normal((n, dim)).astype(np.float32)

        def items(folder, n, pids):
            out = []
            for k in range(n):
                pid = int(pids[k])
                cam = int(rng.integers(1, cams + 1))
                name = f"-1_c{cam}s1_{k:06d}_00.jpg" if pid < 0 else f"{pid:04d}_c{cam}s1_{k:06d}_00.jpg"
                # Embeddings deliberately not normalised: `reid evaluate` must L2-normalise them.
                emb = sample(max(pid, 0), 1)[0] * float(rng.uniform(0.5, 3.0))
                out.append((f"/data/market/{folder}/{name}", pid, cam, emb))
            return out

        q = items("query", 30, rng.integers(1, nids + 1, 30))
        gp = np.concatenate([rng.integers(1, nids + 1, 90), np.zeros(12, int), -np.ones(8, int)])
        g = items("bounding_box_test", len(gp), rng.permutation(gp))
        qk = [x for x in q if x[1] >= 0]
        gk = [x for x in g if x[1] >= 0]  # junk dropped
        qf = ref.l2_normalize(np.stack([x[3] for x in qk]))
        gf = ref.l2_normalize(np.stack([x[3] for x in gk]))
        labels = (np.array([x[1] for x in qk]), np.array([x[1] for x in gk]),
                  np.array([x[2] for x in qk]), np.array([x[2] for x in gk]))
        ok = True
        expected = {}
        for key, dist in [
            ("euclidean", ref.sq_euclidean(qf, gf)),
            ("cosine", ref.cosine_distance(qf, gf)),
            ("euclidean_rerank", ref.rerank_dense(qf, gf, 20, 6, 0.3)),
        ]:
            if match_gap(dist, labels[0], labels[1]) < 1e-5:
                ok = False
            expected[key] = ref.evaluate(dist, *labels)
        feats = np.concatenate([qf, gf])
        dd = ref.sq_euclidean(feats, feats)
        if min_gap(dd / dd.max(axis=1, keepdims=True), 22) < 2e-6:
            ok = False
        if ok:
            break
        seed += 1000
    print(f"  e2e: seed {seed}")

    def tao(rows):
        return [{"img_path": p, "embedding": f32list(e)} for p, _, _, e in rows]

    dump(os.path.join(CLI_FIX, "e2e", "query.json"), tao(q))
    dump(os.path.join(CLI_FIX, "e2e", "gallery.json"), tao(g))
    dump(os.path.join(CLI_FIX, "e2e", "expected.json"), expected)


def main():
    print(f"numpy {np.__version__}")
    rng = np.random.default_rng(2024)
    eval_case("random", rng, nq=40, ng=300, nids=25, cams=6)
    eval_case("ties", rng, nq=30, ng=200, nids=15, cams=3, quantum=0.125)
    eval_case("unknown_cameras", rng, nq=25, ng=150, nids=10, cams=2, unknown_cams=True)
    random_rerank_case("random", seed=1, nq=30, ng=170, dim=16, k1=20, k2=6, lam=0.3)
    random_rerank_case("clustered", seed=2, nq=40, ng=260, dim=32, k1=20, k2=6, lam=0.3, clusters=30)
    random_rerank_case("small_k", seed=3, nq=20, ng=90, dim=12, k1=5, k2=1, lam=0.5)
    random_rerank_case("odd_k", seed=4, nq=15, ng=60, dim=10, k1=7, k2=4, lam=0.0)
    random_rerank_case("tiny", seed=5, nq=4, ng=9, dim=6, k1=20, k2=6, lam=0.3)
    dyadic_ties_case()
    distance_case()
    e2e_case()


if __name__ == "__main__":
    main()
