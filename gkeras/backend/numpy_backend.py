"""The NumPy backend: the reference implementation of every kernel-backed op pair.

Everything here is written against `self.xp`, so the CuPy backend inherits it unchanged
and overrides only the methods that have a raw CUDA kernel (see `cupy_backend.py`).
These functions work on raw arrays; autodiff lives above, in `gkeras.ops`.
"""

import math

import numpy as np

# Activations the fused dense epilogue understands (kernels/dense.cu has the same list).
DENSE_ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh", "gelu", "leaky_relu", "elu")
# Those the fused conv2d applies: each one's gradient follows from its output alone (gelu's
# needs the pre-activation, which the convolution does not keep).
CONV_ACTIVATIONS = tuple(name for name in DENSE_ACTIVATIONS if name != "gelu")


def sigmoid(xp, x):
    """The logistic function, accurate to the last bit in both tails and free of overflow.

    `1 / (1 + e^-|x|)` is computed once; for negative `x` the result is `e^x / (1 + e^x)`,
    which keeps full relative precision where `0.5 * (1 + tanh(x / 2))` would round to 0.
    """
    e = xp.exp(-xp.abs(x))
    r = 1 / (1 + e)
    return xp.where(x >= 0, r, e * r)


class NumpyBackend:
    """Backend on the host CPU through NumPy."""

    name = "numpy"
    # im2col bytes per batch chunk of the convolutions: a block that stays in a core's L2
    conv_chunk_bytes = 2 << 20

    def __init__(self):
        self.xp = np

    # ------------------------------------------------------------------ arrays
    def asarray(self, value, dtype=None):
        """Puts `value` on this backend's device as an array (no copy when possible)."""
        return self.xp.asarray(value, dtype=dtype)

    def to_numpy(self, array):
        """Returns a NumPy array with the contents of `array`."""
        return np.asarray(array)

    def owns(self, array):
        """True when `array` is an array of this backend's library."""
        return isinstance(array, np.ndarray)

    def device_name(self):
        import platform

        return platform.processor() or platform.machine() or "cpu"

    def synchronize(self):
        """Waits for queued device work; nothing is queued on the CPU."""

    def erf(self, x):
        try:
            from scipy.special import erf
        except ImportError:
            return np.vectorize(math.erf, otypes=[x.dtype])(x)
        return erf(x).astype(x.dtype, copy=False)

    # ------------------------------------------------------------------- dense
    def activation_forward(self, z, activation, alpha=0.0):
        """Applies one of `DENSE_ACTIVATIONS` to the pre-activation `z` (in place when possible)."""
        xp = self.xp
        if activation == "linear":
            return z
        if activation == "relu":
            return xp.maximum(z, 0, out=z)
        if activation == "sigmoid":
            return sigmoid(xp, z)
        if activation == "tanh":
            return xp.tanh(z)
        if activation == "gelu":
            return 0.5 * z * (1.0 + self.erf(z / math.sqrt(2.0)))
        if activation == "leaky_relu":
            return xp.where(z > 0, z, z * z.dtype.type(alpha))
        if activation == "elu":
            return xp.where(z > 0, z, z.dtype.type(alpha) * xp.expm1(xp.minimum(z, 0)))
        raise ValueError(
            f"Unknown dense activation {activation!r}. Expected one of {list(DENSE_ACTIVATIONS)}."
        )

    def activation_backward(self, gy, y, z, activation, alpha=0.0):
        """Returns dL/dz from dL/dy. `y` is the output, `z` the pre-activation (gelu only)."""
        xp = self.xp
        if activation == "linear":
            return gy
        if activation == "relu":
            return gy * (y > 0)
        if activation == "sigmoid":
            return gy * y * (1 - y)  # s' = s (1 - s)
        if activation == "tanh":
            return gy * (1 - y * y)  # tanh' = 1 - tanh^2
        if activation == "gelu":
            # d/dz [z Phi(z)] = Phi(z) + z phi(z)
            cdf = 0.5 * (1.0 + self.erf(z / math.sqrt(2.0)))
            pdf = xp.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
            return gy * (cdf + z * pdf)
        if activation == "leaky_relu":
            return gy * xp.where(y > 0, 1, y.dtype.type(alpha)).astype(y.dtype, copy=False)
        if activation == "elu":
            # for z <= 0: y = a (e^z - 1), so dy/dz = a e^z = y + a
            return gy * xp.where(y > 0, 1, y + y.dtype.type(alpha))
        raise ValueError(
            f"Unknown dense activation {activation!r}. Expected one of {list(DENSE_ACTIVATIONS)}."
        )

    def dense(self, x, W, b=None, activation="linear", alpha=0.0):
        """Fused `act(x @ W + b)` for 2-D `x` (N, I) and `W` (I, U).

        Returns:
            `(y, z)`: the output, and the pre-activation when the backward needs it
            (gelu) or `None`.
        """
        z = x @ W
        if b is not None:
            z += b
        keep_z = activation == "gelu"
        y = self.activation_forward(z.copy() if keep_z else z, activation, alpha)
        return y, (z if keep_z else None)

    def dense_backward(
        self, gy, x, W, y, z=None, activation="linear", alpha=0.0, has_bias=True, need_gx=True
    ):
        """Gradients of `dense`. Returns `(gx, gW, gb)`; `gx`/`gb` are `None` when not needed."""
        gz = self.activation_backward(gy, y, z, activation, alpha)
        gW = x.T @ gz  # gW = x^T gz
        gb = gz.sum(axis=0) if has_bias else None  # gb = column sums of gz
        gx = gz @ W.T if need_gx else None  # gx = gz W^T
        return gx, gW, gb

    # ------------------------------------------------------------------ conv2d
    @staticmethod
    def conv2d_geometry(in_size, kernel, stride, dilation, padding):
        """Output size and (before, after) padding along one spatial axis, as Keras computes it."""
        effective = (kernel - 1) * dilation + 1
        if padding == "valid":
            if in_size < effective:
                return 0, (0, 0)
            return (in_size - effective) // stride + 1, (0, 0)
        if padding == "same":
            out = -(-in_size // stride)
            total = max((out - 1) * stride + effective - in_size, 0)
            return out, (total // 2, total - total // 2)
        raise ValueError(f"Unknown padding {padding!r}. Expected one of ['valid', 'same'].")

    def _padded_windows(self, x, kernel_hw, strides, padding, dilation):
        """A strided view (N, OH, OW, KH, KW, C) of the padded input: im2col without copying."""
        xp = self.xp
        n, h, w, c = x.shape
        kh, kw = kernel_hw
        oh, (pt, pb) = self.conv2d_geometry(h, kh, strides[0], dilation[0], padding)
        ow, (pl, pr) = self.conv2d_geometry(w, kw, strides[1], dilation[1], padding)
        if pt or pb or pl or pr:
            x = xp.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
        x = xp.ascontiguousarray(x)
        sn, sh, sw, sc = x.strides
        shape = (n, oh, ow, kh, kw, c)
        strides_ = (sn, sh * strides[0], sw * strides[1], sh * dilation[0], sw * dilation[1], sc)
        return xp.lib.stride_tricks.as_strided(x, shape=shape, strides=strides_)

    def _batch_chunks(self, n, bytes_per_sample):
        """`(start, stop)` ranges over the batch with about `conv_chunk_bytes` of im2col each.

        Working through the batch a few images at a time keeps the im2col block in cache and
        reuses one buffer, instead of writing (and page-faulting in) a matrix KH*KW times the
        input's size, then reading it back from memory.
        """
        step = max(1, self.conv_chunk_bytes // max(1, bytes_per_sample))
        return [(s, min(n, s + step)) for s in range(0, n, step)]

    def conv2d(self, x, W, b=None, strides=(1, 1), padding="valid", dilation=(1, 1),
               activation="linear", alpha=0.0):
        """NHWC convolution `act(conv(x, W) + b)`: `x` (N, H, W, C), `W` (KH, KW, C, F)
        → (N, OH, OW, F); `activation` is one of `CONV_ACTIVATIONS`.

        im2col then one GEMM per chunk of the batch: the columns of a chunk are copied from a
        strided view of the input into a reused buffer and multiplied by the kernel matrix;
        the bias and the activation are applied to the chunk's output while it is in cache.
        """
        xp = self.xp
        kh, kw, c, f = W.shape
        windows = self._padded_windows(x, (kh, kw), strides, padding, dilation)
        n, oh, ow = windows.shape[:3]
        y = xp.empty((n * oh * ow, f), dtype=xp.result_type(x, W))
        kernel = W.reshape(-1, f)
        for rows, cols in self._column_chunks(windows):
            part = y[rows]
            xp.matmul(cols, kernel, out=part)
            if b is not None:
                part += b
            if activation != "linear":
                out = self.activation_forward(part, activation, alpha)
                if out is not part:
                    part[...] = out
        return y.reshape(n, oh, ow, f)

    def _column_chunks(self, windows):
        """Yields `(row slice, im2col block)` for each batch chunk of a window view
        (N, OH, OW, KH, KW, C); the blocks share one buffer, valid until the next one."""
        n, oh, ow, kh, kw, c = windows.shape
        per_sample = oh * ow
        buffer = None
        for start, stop in self._batch_chunks(n, per_sample * kh * kw * c * windows.itemsize):
            if buffer is None:
                buffer = self.xp.empty(((stop - start) * per_sample, kh * kw * c), windows.dtype)
            yield (slice(start * per_sample, stop * per_sample),
                   self._im2col_block(windows, start, stop, buffer))

    @staticmethod
    def _im2col_block(windows, start, stop, buffer):
        """The im2col rows of images `start:stop` of a window view, copied into `buffer`."""
        cols = buffer[: (stop - start) * windows.shape[1] * windows.shape[2]]
        cols.reshape(windows[start:stop].shape)[...] = windows[start:stop]
        return cols

    def conv2d_backward_filter(
        self, x, gy, kernel_shape, strides=(1, 1), padding="valid", dilation=(1, 1)
    ):
        """dL/dW for a plain `conv2d` (no bias or activation): `gW = cols^T gy`."""
        geometry = (strides, padding, dilation)
        return self.conv2d_backward(gy, x, tuple(kernel_shape), None, *geometry,
                                    has_bias=False, need_gx=False)[1]

    def conv2d_backward_input(
        self, gy, W, input_shape, strides=(1, 1), padding="valid", dilation=(1, 1)
    ):
        """dL/dx for a plain `conv2d` (no bias or activation): col2im of `gcols = gy W^T`."""
        geometry = (strides, padding, dilation)
        return self.conv2d_backward(gy, tuple(input_shape), W, None, *geometry,
                                    has_bias=False, need_gW=False)[0]

    def conv2d_backward(
        self, gy, x, W, y, strides=(1, 1), padding="valid", dilation=(1, 1),
        activation="linear", alpha=0.0, has_bias=True, need_gx=True, need_gW=True,
    ):
        """All gradients of `conv2d` with its bias and activation: `(gx, gW, gb)`, each `None`
        when not needed. `y` is the forward's output (unused when `activation` is linear);
        `x` may be just the input's shape when `need_gW` is false, `W` just the kernel's
        shape when `need_gx` is false.

        One pass over batch chunks: a chunk's pre-activation gradient `gz` is formed from `gy`
        and `y`, then summed into the bias gradient, multiplied by the chunk's rebuilt im2col
        block for the filter gradient and spread over the input positions tap by tap, all while
        it is in cache; no full-size `gz` or column matrix is ever written.
        """
        xp = self.xp
        n, h, w, c = x if isinstance(x, tuple) else x.shape
        kh, kw, _, f = W if isinstance(W, tuple) else W.shape
        sh, sw = strides
        dh, dw = dilation
        oh, (pt, pb) = self.conv2d_geometry(h, kh, sh, dh, padding)
        ow, (pl, pr) = self.conv2d_geometry(w, kw, sw, dw, padding)
        per_sample, patch = oh * ow, kh * kw * c
        gy2 = gy.reshape(-1, f)
        y2 = None if activation == "linear" else y.reshape(-1, f)
        gb = xp.zeros(f, dtype=gy.dtype) if has_bias else None
        gW = gx = None
        if need_gW:
            windows = self._padded_windows(x, (kh, kw), strides, padding, dilation)
            gW = xp.zeros((patch, f), dtype=gy.dtype)
            part = xp.empty_like(gW)
        if need_gx:
            gxp = xp.empty((n, h + pt + pb, w + pl + pr, c), dtype=gy.dtype)
            taps = [(slice(i * dh, i * dh + sh * (oh - 1) + 1, sh),
                     slice(j * dw, j * dw + sw * (ow - 1) + 1, sw), W[i, j].T)
                    for i in range(kh) for j in range(kw)]
        buffers = None
        for start, stop in self._batch_chunks(n, per_sample * patch * gy.itemsize):
            rows = slice(start * per_sample, stop * per_sample)
            count = rows.stop - rows.start
            if buffers is None:  # sized by the first (largest) chunk, shared by the rest
                buffers = (xp.empty((count, patch), gy.dtype), xp.empty((count, c), gy.dtype))
            gz = gy2[rows] if y2 is None else self.activation_backward(
                gy2[rows], y2[rows], None, activation, alpha)
            if has_bias:
                gb += gz.sum(axis=0)
            if need_gW:
                cols = self._im2col_block(windows, start, stop, buffers[0])
                xp.matmul(cols.T, gz, out=part)
                gW += part
            if need_gx:
                tap = buffers[1][:count]
                chunk = gxp[start:stop]
                chunk[...] = 0
                for rows_, cols_, w_tap in taps:
                    xp.matmul(gz, w_tap, out=tap)  # the tap's block of gcols = gz W^T
                    chunk[:, rows_, cols_, :] += tap.reshape(stop - start, oh, ow, c)
        if need_gW:
            gW = gW.reshape(kh, kw, c, f)
        if need_gx:
            gx = gxp[:, pt : pt + h, pl : pl + w, :] if pt or pb or pl or pr else gxp
        return gx, gW, gb

    # ---------------------------------------------------- softmax cross-entropy
    def softmax_crossentropy(self, logits, labels):
        """Per-sample `-sum(t * log_softmax(logits))` over the last axis of 2-D `logits`.

        Args:
            logits: (N, C) floats.
            labels: (N,) integer class ids, or (N, C) probabilities / one-hot rows.

        Returns:
            `(loss, probs)`: per-sample losses (N,) and the softmax (N, C) the backward needs.
        """
        xp = self.xp
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = xp.exp(shifted)
        sum_exp = exp.sum(axis=1, keepdims=True)
        log_sum = xp.log(sum_exp)
        if labels.ndim == 1:
            picked = shifted[xp.arange(shifted.shape[0]), labels.astype(xp.intp, copy=False)]
            loss = log_sum[:, 0] - picked
        else:
            loss = (labels * (log_sum - shifted)).sum(axis=1)
        exp /= sum_exp
        return loss, exp

    def softmax_crossentropy_backward(self, probs, labels, gloss):
        """dL/dlogits: `(softmax * sum(t) - t) * gloss` per row (`gloss` (N,), e.g. w / N)."""
        xp = self.xp
        g = gloss.reshape(-1, 1).astype(probs.dtype, copy=False)
        if labels.ndim == 1:
            glogits = probs * g
            rows = xp.arange(probs.shape[0])
            glogits[rows, labels.astype(xp.intp, copy=False)] -= g[:, 0]
            return glogits
        t = labels.astype(probs.dtype, copy=False)
        return (probs * t.sum(axis=1, keepdims=True) - t) * g
