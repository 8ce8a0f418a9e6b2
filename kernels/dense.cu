// dense.cu: the fused epilogues around the cuBLAS GEMMs of a Dense layer.
//
// Layout: row-major (C-contiguous) matrices; z, y, gy, gz are (rows, units), bias and gb (units,).
// The GEMMs (z = x W, gW = x^T gz, gx = gz W^T) stay on cuBLAS (cupy.matmul); these kernels fuse
// everything around them so each element is read and written once:
//
// dense_bias_act_fwd<T>: y = act(z + b). Works in place (y == z) unless keep_z, which writes
//   z + b back to z for the backward of gelu. Launch: 1-D grid-stride loop over rows * units,
//   any grid and block size.
// dense_act_bwd<T>: gz = act'(z) * gy and gb = column sums of gz, in one read of gy.
//   Launch: block (32, BY), BY * 32 <= 1024; threadIdx.x walks 32 adjacent columns (coalesced),
//   threadIdx.y and blockIdx.y stride over rows, blockIdx.x over 32-column tiles (grid-stride in
//   both directions, so any grid size works). Each block adds its BY partial sums per column
//   through dynamic shared memory (BY * 32 values of T), then one atomicAdd per column into gb,
//   which the launcher zeroes first.
//
// Activation codes follow DENSE_ACTIVATIONS in gkeras/backend/numpy_backend.py.

#define GK_WARP 32

// The one place dynamic shared memory is declared (the CPU emulator in tests/ redefines it).
#ifndef GK_DYNAMIC_SHARED
#define GK_DYNAMIC_SHARED(T, name)                 \
  extern __shared__ double gk_dynamic_shared_[];  \
  T* name = reinterpret_cast<T*>(gk_dynamic_shared_)
#endif

enum GkActivation {
  GK_LINEAR = 0,
  GK_RELU = 1,
  GK_SIGMOID = 2,
  GK_TANH = 3,
  GK_GELU = 4,
  GK_LEAKY_RELU = 5,
  GK_ELU = 6
};

__device__ __forceinline__ float gk_tanh(float v) { return tanhf(v); }
__device__ __forceinline__ double gk_tanh(double v) { return tanh(v); }
__device__ __forceinline__ float gk_erf(float v) { return erff(v); }
__device__ __forceinline__ double gk_erf(double v) { return erf(v); }
__device__ __forceinline__ float gk_exp(float v) { return expf(v); }
__device__ __forceinline__ double gk_exp(double v) { return exp(v); }
__device__ __forceinline__ float gk_expm1(float v) { return expm1f(v); }
__device__ __forceinline__ double gk_expm1(double v) { return expm1(v); }

template <typename T>
__device__ __forceinline__ T gk_activate(T v, int act, T alpha) {
  switch (act) {
    case GK_RELU:
      return v < T(0) ? T(0) : v;  // keeps NaN, as numpy.maximum does
    case GK_SIGMOID: {
      // 1 / (1 + e^-|v|), and e^v / (1 + e^v) for v < 0: no overflow, full precision in tails
      const T e = gk_exp(v < T(0) ? v : -v);
      const T r = T(1) / (T(1) + e);
      return v >= T(0) ? r : e * r;
    }
    case GK_TANH:
      return gk_tanh(v);
    case GK_GELU:
      return T(0.5) * v * (T(1) + gk_erf(v * T(0.70710678118654752440)));
    case GK_LEAKY_RELU:
      return v > T(0) ? v : alpha * v;
    case GK_ELU:
      return v > T(0) ? v : alpha * gk_expm1(v);
    default:
      return v;
  }
}

// dL/dz from dL/dy; y is the output, z the pre-activation (read for gelu only).
template <typename T>
__device__ __forceinline__ T gk_activation_grad(T g, T y, T z, int act, T alpha) {
  switch (act) {
    case GK_RELU:
      return g * (y > T(0) ? T(1) : T(0));  // a product, so NaN in g stays NaN
    case GK_SIGMOID:
      return g * y * (T(1) - y);  // s' = s (1 - s)
    case GK_TANH:
      return g * (T(1) - y * y);  // tanh' = 1 - tanh^2
    case GK_GELU: {
      // d/dz [z Phi(z)] = Phi(z) + z phi(z)
      const T cdf = T(0.5) * (T(1) + gk_erf(z * T(0.70710678118654752440)));
      const T pdf = gk_exp(T(-0.5) * z * z) * T(0.39894228040143267794);
      return g * (cdf + z * pdf);
    }
    case GK_LEAKY_RELU:
      return g * (y > T(0) ? T(1) : alpha);
    case GK_ELU:
      return g * (y > T(0) ? T(1) : y + alpha);  // z <= 0: y = a (e^z - 1), dy/dz = y + a
    default:
      return g;
  }
}

template <typename T>
__global__ void dense_bias_act_fwd(T* z, const T* bias, T* y, long long total, int units,
                                   int has_bias, int keep_z, int act, T alpha) {
  const long long stride = (long long)gridDim.x * blockDim.x;
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  // The column advances by a fixed step per iteration: no 64-bit modulo inside the loop.
  int col = (int)(i % units);
  const int col_step = (int)(stride % units);
  for (; i < total; i += stride) {
    T v = z[i];
    if (has_bias) v += bias[col];
    if (keep_z) z[i] = v;
    y[i] = gk_activate(v, act, alpha);
    col += col_step;
    if (col >= units) col -= units;
  }
}

template <typename T>
__global__ void dense_act_bwd(const T* gy, const T* y, const T* z, T* gz, T* gb, int rows,
                              int units, int act, T alpha, int write_gz, int has_bias) {
  GK_DYNAMIC_SHARED(T, partial);  // [blockDim.y][32]
  const int lane = threadIdx.x;   // blockDim.x == 32
  const int row_step = gridDim.y * blockDim.y;
  // The tile loop bound depends on blockIdx only, so every thread of a block runs the same
  // number of iterations and reaches the same barriers.
  for (int tile = blockIdx.x * GK_WARP; tile < units; tile += gridDim.x * GK_WARP) {
    const int col = tile + lane;
    T acc = T(0);
    if (col < units) {
      for (int row = blockIdx.y * blockDim.y + threadIdx.y; row < rows; row += row_step) {
        const long long i = (long long)row * units + col;
        const T g = gk_activation_grad(gy[i], y[i], act == GK_GELU ? z[i] : T(0), act, alpha);
        if (write_gz) gz[i] = g;
        acc += g;
      }
    }
    if (has_bias) {
      partial[threadIdx.y * GK_WARP + lane] = acc;
      __syncthreads();
      if (threadIdx.y == 0 && col < units) {
        T sum = partial[lane];
        for (int k = 1; k < (int)blockDim.y; ++k) sum += partial[k * GK_WARP + lane];
        atomicAdd(gb + col, sum);
      }
      __syncthreads();  // the next tile overwrites partial
    }
  }
}
