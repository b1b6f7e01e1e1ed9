// Selection kernels for the gallery's GPU path, compiled at run time by NVRTC (no nvcc at build time).
// The GEMMs run in cuBLAS; these kernels turn score/dot tiles into exact top-k lists.
//
// Both kernels keep, per thread, a sorted list of the KMAX best (key, tie) pairs seen in a strided scan, then
// merge the block's lists with k rounds of a block-wide argmin over the list heads. Order: smaller key first,
// equal keys by smaller tie, exactly as the CPU paths order (score descending then id; distance then index).

#define KMAX 64
#define THREADS 256

struct Cand {
    float key;
    unsigned long long tie;
};

__device__ __forceinline__ bool better(float ka, unsigned long long ta, float kb, unsigned long long tb) {
    return ka < kb || (ka == kb && ta < tb);
}

// Inserts (key, tie) into a thread's ascending list of length `len` (capacity k).
__device__ __forceinline__ void offer(float* keys, unsigned long long* ties, int* len, int k, float key,
                                      unsigned long long tie) {
    if (*len == k && !better(key, tie, keys[k - 1], ties[k - 1])) return;
    int pos = (*len < k) ? *len : k - 1;
    if (*len < k) *len += 1;
    while (pos > 0 && better(key, tie, keys[pos - 1], ties[pos - 1])) {
        keys[pos] = keys[pos - 1];
        ties[pos] = ties[pos - 1];
        pos--;
    }
    keys[pos] = key;
    ties[pos] = tie;
}

// Merges the block's per-thread lists into the block's best k (written by thread 0's loop, all threads help).
__device__ void block_merge(const float* keys, const unsigned long long* ties, int len, int k, float* out_key,
                            unsigned long long* out_tie) {
    __shared__ float s_key[THREADS];
    __shared__ unsigned long long s_tie[THREADS];
    __shared__ int s_from[THREADS];
    int head = 0;
    for (int r = 0; r < k; r++) {
        int t = threadIdx.x;
        if (head < len) {
            s_key[t] = keys[head];
            s_tie[t] = ties[head];
        } else {
            s_key[t] = __int_as_float(0x7f800000);  // +inf
            s_tie[t] = 0xffffffffffffffffULL;
        }
        s_from[t] = t;
        __syncthreads();
        for (int stride = blockDim.x / 2; stride > 0; stride >>= 1) {
            if (t < stride && better(s_key[t + stride], s_tie[t + stride], s_key[t], s_tie[t])) {
                s_key[t] = s_key[t + stride];
                s_tie[t] = s_tie[t + stride];
                s_from[t] = s_from[t + stride];
            }
            __syncthreads();
        }
        if (t == 0) {
            out_key[r] = s_key[0];
            out_tie[r] = s_tie[0];
        }
        if (s_from[0] == t && head < len) head++;
        __syncthreads();
    }
}

// Gallery search. `scores` is nq x cols (row-major) of query . gallery dots for gallery rows col0..col0+cols.
// Block (s, q) selects query q's best k among columns [s * seg, (s + 1) * seg) of this chunk, skipping rows whose
// `mask` byte is 0 (only when use_mask), and writes them to out_*[(q * segments_total + seg_base + s) * k ...].
// Keys are negated scores, ties are gallery ids; empty slots get key +inf and tie 2^64-1.
extern "C" __global__ void segment_topk(const float* scores, int cols, long long col0, int seg, int k,
                                        const unsigned long long* ids, const unsigned char* mask, int use_mask,
                                        int segments_total, int seg_base, float* out_key,
                                        unsigned long long* out_tie) {
    float keys[KMAX];
    unsigned long long ties[KMAX];
    int len = 0;
    int q = blockIdx.y;
    int s = blockIdx.x;
    int begin = s * seg;
    int end = min(begin + seg, cols);
    const float* row = scores + (long long)q * cols;
    for (int c = begin + threadIdx.x; c < end; c += blockDim.x) {
        long long g = col0 + c;
        if (use_mask && mask[g] == 0) continue;
        offer(keys, ties, &len, k, -row[c], ids[g]);
    }
    long long slot = ((long long)q * segments_total + seg_base + s) * k;
    block_merge(keys, ties, len, k, out_key + slot, out_tie + slot);
}

// Re-ranking's all-pairs pass, one block per row of a tile. `dots` is rows x n (row-major) of feats[row0 + r] .
// feats[j]; `norms` holds every item's squared norm. For row i = row0 + r: distances d = max(|x_i|^2 + |x_j|^2 -
// 2 x_i.x_j, 0) for every j, the row's largest distance, its k nearest (ties by index), and, for query rows
// (i < nq), the distances to gallery items j >= nq written to qg[i * (n - nq) + j - nq].
extern "C" __global__ void rows_nearest(const float* dots, const float* norms, int n, int row0, int nq, int k,
                                        float* out_dist, unsigned long long* out_idx, float* out_max, float* qg) {
    float keys[KMAX];
    unsigned long long ties[KMAX];
    __shared__ float s_max[THREADS];
    int len = 0;
    int r = blockIdx.x;
    int i = row0 + r;
    const float* row = dots + (long long)r * n;
    float ni = norms[i];
    float m = -__int_as_float(0x7f800000);
    int ng = n - nq;
    for (int j = threadIdx.x; j < n; j += blockDim.x) {
        float d = ni + norms[j] - 2.0f * row[j];
        d = d > 0.0f ? d : 0.0f;
        m = fmaxf(m, d);
        if (i < nq && j >= nq) qg[(long long)i * ng + (j - nq)] = d;
        offer(keys, ties, &len, k, d, (unsigned long long)j);
    }
    s_max[threadIdx.x] = m;
    __syncthreads();
    for (int stride = blockDim.x / 2; stride > 0; stride >>= 1) {
        if (threadIdx.x < stride) s_max[threadIdx.x] = fmaxf(s_max[threadIdx.x], s_max[threadIdx.x + stride]);
        __syncthreads();
    }
    if (threadIdx.x == 0) out_max[i] = s_max[0];
    block_merge(keys, ties, len, k, out_dist + (long long)i * k, out_idx + (long long)i * k);
}
