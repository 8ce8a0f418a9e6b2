// conv2d.cu: im2col / col2im for NHWC 2-D convolution; the GEMMs stay on cuBLAS.
// Fused into the gathers: zero padding, strides and dilation (no padded copy of x is made), and
// on the way back the sum over overlapping taps (no zero-filled padded gradient, no atomics).
//
// Layout: x and gx (N, H, W, C) row-major; filters (KH, KW, C, F); the column matrix "cols" is
// (rows, K) with rows = N * OH * OW in (n, oh, ow) order and K = KH * KW * C in (i, j, c) order,
// so cols @ W.reshape(K, F) is the convolution. Input pixel of output (oh, ow) and tap (i, j):
//   (oh * sh - pad_top + i * dh, ow * sw - pad_left + j * dw); outside the image it reads 0.
// The launcher works in chunks to bound the cols workspace, so every index a thread forms inside
// one chunk fits an int; offsets into whole tensors are 64-bit.
//
// conv2d_im2col<T>: cols[r, k] for the chunk of output rows [row0, row0 + nrows).
//   Launch: 2-D grid-stride, x over K (adjacent threads read adjacent channels), y over rows;
//   any grid and block shape.
// conv2d_col2im<T>: gx for the images [n0, n0 + nimg) from their gcols = gy W^T (the chunk's
//   rows only). A gather: one thread per gx element sums the taps that read it, in (i, j) order,
//   so there are no atomics and the result is deterministic. Launch: 1-D grid-stride.

template <typename T>
__global__ void conv2d_im2col(const T* x, T* cols, int height, int width, int channels,
                              int kernel_w, int stride_h, int stride_w, int dilation_h,
                              int dilation_w, int pad_top, int pad_left, int out_h, int out_w,
                              int row0, int nrows, int patch) {
  const int k_step = gridDim.x * blockDim.x;
  const int r_step = gridDim.y * blockDim.y;
  for (int k = blockIdx.x * blockDim.x + threadIdx.x; k < patch; k += k_step) {
    const int c = k % channels;
    const int tap = k / channels;
    const int di = (tap / kernel_w) * dilation_h - pad_top;
    const int dj = (tap % kernel_w) * dilation_w - pad_left;
    for (int r = blockIdx.y * blockDim.y + threadIdx.y; r < nrows; r += r_step) {
      const int out_row = row0 + r;
      const int ow = out_row % out_w;
      const int t = out_row / out_w;
      const int oh = t % out_h;
      const int n = t / out_h;
      const int ih = oh * stride_h + di;
      const int iw = ow * stride_w + dj;
      T value = T(0);
      if (ih >= 0 && ih < height && iw >= 0 && iw < width) {
        value = x[(((long long)n * height + ih) * width + iw) * channels + c];
      }
      cols[(long long)r * patch + k] = value;
    }
  }
}

template <typename T>
__global__ void conv2d_col2im(const T* gcols, T* gx, int height, int width, int channels,
                              int kernel_h, int kernel_w, int stride_h, int stride_w,
                              int dilation_h, int dilation_w, int pad_top, int pad_left,
                              int out_h, int out_w, int n0, int nimg) {
  const int total = nimg * height * width * channels;
  const int patch = kernel_h * kernel_w * channels;
  for (int e = blockIdx.x * blockDim.x + threadIdx.x; e < total; e += gridDim.x * blockDim.x) {
    const int c = e % channels;
    int t = e / channels;
    const int w = t % width;
    t /= width;
    const int h = t % height;
    const int n = t / height;  // within the chunk
    T sum = T(0);
    for (int i = 0; i < kernel_h; ++i) {
      const int hp = h + pad_top - i * dilation_h;  // = oh * stride_h when tap i reads row h
      if (hp < 0) break;  // grows more negative with i
      if (hp % stride_h != 0) continue;
      const int oh = hp / stride_h;
      if (oh >= out_h) continue;
      for (int j = 0; j < kernel_w; ++j) {
        const int wp = w + pad_left - j * dilation_w;
        if (wp < 0) break;
        if (wp % stride_w != 0) continue;
        const int ow = wp / stride_w;
        if (ow >= out_w) continue;
        const long long r = ((long long)n * out_h + oh) * out_w + ow;
        sum += gcols[r * patch + (i * kernel_w + j) * channels + c];
      }
    }
    gx[(long long)n0 * height * width * channels + e] = sum;
  }
}
