// softmax_crossentropy.cu: fused, numerically stable softmax cross-entropy, forward and backward.
//
// Layout: logits, probs, dense labels and glogits are (rows, classes) row-major; sparse labels
// (int32 or int64 class ids), loss and g are (rows,).
// Launch: block (TPR, RPB): TPR threads (a multiple of 32) share one row and RPB rows share a
// block; rows are grid-strided by gridDim.x * RPB, so any grid size and any row width (1 to far
// beyond 32k classes) work. Row reductions use warp shuffles, then, when TPR > 32, one exchange of
// per-warp partials through dynamic shared memory (RPB * TPR / 32 values of T).
//
// softmax_ce_fwd_sparse<T, L>, softmax_ce_fwd_dense<T>: one launch, three sweeps over each row:
//   m = max(x); s = sum(exp(x - m)) (dense labels also sum(t) and sum(t (x - m)));
//   probs = exp(x - m) / s. loss = log(s) - (x[label] - m), or log(s) sum(t) - sum(t (x - m)).
//   A label outside [0, classes) gives a NaN loss.
// softmax_ce_bwd_sparse<T, L>, softmax_ce_bwd_dense<T>: one sweep (dense: two, for sum(t)) writing
//   glogits = (probs * sum(t) - t) * g, with sum(t) = 1 for class ids; NaN rows for bad labels.

#define GK_WARP 32
#define GK_FULL_MASK 0xffffffffu

// The one place dynamic shared memory is declared (the CPU emulator in tests/ redefines it).
#ifndef GK_DYNAMIC_SHARED
#define GK_DYNAMIC_SHARED(T, name)                 \
  extern __shared__ double gk_dynamic_shared_[];  \
  T* name = reinterpret_cast<T*>(gk_dynamic_shared_)
#endif

__device__ __forceinline__ float gk_exp(float v) { return expf(v); }
__device__ __forceinline__ double gk_exp(double v) { return exp(v); }
__device__ __forceinline__ float gk_log(float v) { return logf(v); }
__device__ __forceinline__ double gk_log(double v) { return log(v); }

template <typename T> __device__ __forceinline__ T gk_neg_inf();
template <> __device__ __forceinline__ float gk_neg_inf<float>() {
  return __int_as_float((int)0xff800000u);
}
template <> __device__ __forceinline__ double gk_neg_inf<double>() {
  return __longlong_as_double((long long)0xfff0000000000000ull);
}
template <typename T> __device__ __forceinline__ T gk_nan();
template <> __device__ __forceinline__ float gk_nan<float>() {
  return __int_as_float(0x7fc00000);
}
template <> __device__ __forceinline__ double gk_nan<double>() {
  return __longlong_as_double(0x7ff8000000000000ll);
}

struct GkSum {
  template <typename T> __device__ __forceinline__ T operator()(T a, T b) const { return a + b; }
};
struct GkMax {
  // NaN wins, as in numpy.max.
  template <typename T> __device__ __forceinline__ T operator()(T a, T b) const {
    return (b > a || b != b) ? b : a;
  }
};

// Reduces v over the TPR threads of this row; every one of them gets the same result.
// All threads of the block must call it (it may hold a barrier).
template <typename T, typename Op>
__device__ __forceinline__ T gk_row_reduce(T v, T* scratch, Op op) {
  for (int offset = GK_WARP / 2; offset > 0; offset >>= 1) {
    v = op(v, __shfl_xor_sync(GK_FULL_MASK, v, offset));
  }
  const int warps = blockDim.x / GK_WARP;
  if (warps == 1) return v;
  T* mine = scratch + threadIdx.y * warps;
  if ((threadIdx.x & (GK_WARP - 1)) == 0) mine[threadIdx.x / GK_WARP] = v;
  __syncthreads();
  v = mine[0];
  for (int w = 1; w < warps; ++w) v = op(v, mine[w]);  // same order in every thread
  __syncthreads();  // the next reduction overwrites scratch
  return v;
}

// Sweeps 1 and 3 shared by both label kinds: returns (through m, s) the row max and sum of exps
// and writes the probabilities. Rows past the end (active == false) still join the reductions.
template <typename T>
__device__ __forceinline__ void gk_softmax_row(const T* x, T* p, int classes, bool active,
                                               T* scratch, T& m, T& s) {
  m = gk_neg_inf<T>();
  if (active) {
    for (int j = threadIdx.x; j < classes; j += blockDim.x) m = GkMax()(m, x[j]);
  }
  m = gk_row_reduce(m, scratch, GkMax());
  s = T(0);
  if (active) {
    for (int j = threadIdx.x; j < classes; j += blockDim.x) s += gk_exp(x[j] - m);
  }
  s = gk_row_reduce(s, scratch, GkSum());
  if (active) {
    for (int j = threadIdx.x; j < classes; j += blockDim.x) p[j] = gk_exp(x[j] - m) / s;
  }
}

template <typename T, typename L>
__global__ void softmax_ce_fwd_sparse(const T* logits, const L* labels, T* loss, T* probs,
                                      int rows, int classes) {
  GK_DYNAMIC_SHARED(T, scratch);
  for (int first = blockIdx.x * blockDim.y; first < rows; first += gridDim.x * blockDim.y) {
    const int row = first + threadIdx.y;
    const bool active = row < rows;
    const long long offset = (long long)(active ? row : 0) * classes;
    T m, s;
    gk_softmax_row(logits + offset, probs + offset, classes, active, scratch, m, s);
    if (active && threadIdx.x == 0) {
      const L label = labels[row];
      const bool valid = label >= 0 && label < classes;
      loss[row] = valid ? gk_log(s) - (logits[offset + label] - m) : gk_nan<T>();
    }
  }
}

template <typename T>
__global__ void softmax_ce_fwd_dense(const T* logits, const T* labels, T* loss, T* probs,
                                     int rows, int classes) {
  GK_DYNAMIC_SHARED(T, scratch);
  for (int first = blockIdx.x * blockDim.y; first < rows; first += gridDim.x * blockDim.y) {
    const int row = first + threadIdx.y;
    const bool active = row < rows;
    const long long offset = (long long)(active ? row : 0) * classes;
    const T* x = logits + offset;
    const T* t = labels + offset;
    // Sweep 1: the max. Sweep 2: sum(exp(x - m)), sum(t), sum(t (x - m)). Sweep 3: probs.
    T m = gk_neg_inf<T>();
    if (active) {
      for (int j = threadIdx.x; j < classes; j += blockDim.x) m = GkMax()(m, x[j]);
    }
    m = gk_row_reduce(m, scratch, GkMax());
    T s = T(0), st = T(0), stx = T(0);
    if (active) {
      for (int j = threadIdx.x; j < classes; j += blockDim.x) {
        const T shifted = x[j] - m;
        s += gk_exp(shifted);
        st += t[j];
        stx += t[j] * shifted;
      }
    }
    s = gk_row_reduce(s, scratch, GkSum());
    st = gk_row_reduce(st, scratch, GkSum());
    stx = gk_row_reduce(stx, scratch, GkSum());
    if (active) {
      T* p = probs + offset;
      for (int j = threadIdx.x; j < classes; j += blockDim.x) p[j] = gk_exp(x[j] - m) / s;
      // sum_j t_j (log s - (x_j - m))
      if (threadIdx.x == 0) loss[row] = gk_log(s) * st - stx;
    }
  }
}

template <typename T, typename L>
__global__ void softmax_ce_bwd_sparse(const T* probs, const L* labels, const T* g, T* glogits,
                                      int rows, int classes) {
  for (int first = blockIdx.x * blockDim.y; first < rows; first += gridDim.x * blockDim.y) {
    const int row = first + threadIdx.y;
    if (row >= rows) continue;  // no barriers in this kernel
    const long long offset = (long long)row * classes;
    const L label = labels[row];
    const bool valid = label >= 0 && label < classes;
    const T gr = g[row];
    for (int j = threadIdx.x; j < classes; j += blockDim.x) {
      const T value = probs[offset + j] * gr - (j == label ? gr : T(0));
      glogits[offset + j] = valid ? value : gk_nan<T>();
    }
  }
}

template <typename T>
__global__ void softmax_ce_bwd_dense(const T* probs, const T* labels, const T* g, T* glogits,
                                     int rows, int classes) {
  GK_DYNAMIC_SHARED(T, scratch);
  for (int first = blockIdx.x * blockDim.y; first < rows; first += gridDim.x * blockDim.y) {
    const int row = first + threadIdx.y;
    const bool active = row < rows;
    const long long offset = (long long)(active ? row : 0) * classes;
    const T* t = labels + offset;
    T st = T(0);
    if (active) {
      for (int j = threadIdx.x; j < classes; j += blockDim.x) st += t[j];
    }
    st = gk_row_reduce(st, scratch, GkSum());
    if (active) {
      const T gr = g[row];
      for (int j = threadIdx.x; j < classes; j += blockDim.x) {
        glogits[offset + j] = (probs[offset + j] * st - t[j]) * gr;
      }
    }
  }
}
