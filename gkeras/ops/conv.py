"""Convolution and pooling over NHWC images.

`conv2d` is kernel-backed: a coarse Function whose forward and backward call
`bk.conv2d` / `bk.conv2d_backward_input` / `bk.conv2d_backward_filter`. Pooling is written
here against `xp` (a strided window view, no kernel).
"""

import numbers

from gkeras.autodiff import Function, as_tensor
from gkeras.backend import backend_of


def _pair(value, name):
    """`value` as a pair of positive ints (an int means the same on both axes)."""
    if isinstance(value, numbers.Integral):
        pair = (value, value)
    elif isinstance(value, (tuple, list)):
        pair = tuple(value)
    else:
        pair = ()
    if len(pair) != 2 or not all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0 for v in pair
    ):
        raise ValueError(
            f"`{name}` must be a positive int or a pair of positive ints, got {value!r}."
        )
    return int(pair[0]), int(pair[1])


def _padding(padding, op_name):
    padding = str(padding).lower()
    if padding not in ("valid", "same"):
        raise ValueError(
            f"{op_name}: unknown padding {padding!r}. Expected one of ['valid', 'same']."
        )
    return padding


def _check_data_format(data_format, op_name):
    if data_format not in (None, "channels_last"):
        raise ValueError(
            f"{op_name}: data_format {data_format!r} is not supported; gkeras works in "
            "'channels_last' (NHWC)."
        )


def _check_window_fits(x_shape, window, dilation, op_name, what):
    """With 'valid' padding the (dilated) window must fit inside the input."""
    for axis, name in ((1, "height"), (2, "width")):
        effective = (window[axis - 1] - 1) * dilation[axis - 1] + 1
        if x_shape[axis] < effective:
            raise ValueError(
                f"{op_name}: {what} {name} {effective} is larger than the input {name} "
                f"{x_shape[axis]} with 'valid' padding (input shape {x_shape})."
            )


# ------------------------------------------------------------------------- conv2d
class Conv2DFunction(Function):
    """Convolution through the backend's conv2d kernels."""

    def __init__(self, strides, padding, dilation):
        self.strides, self.padding, self.dilation = strides, padding, dilation

    def forward(self, x, W, b=None):
        return backend_of(x).conv2d(x, W, b, self.strides, self.padding, self.dilation)

    def backward(self, gy):
        bk = backend_of(gy)
        x, W = self.inputs[0], self.inputs[1]
        geometry = (self.strides, self.padding, self.dilation)
        gx = bk.conv2d_backward_input(gy, W.data, x.shape, *geometry) if x.requires_grad else None
        gW = bk.conv2d_backward_filter(x.data, gy, W.shape, *geometry) if W.requires_grad else None
        if len(self.inputs) > 2:
            return gx, gW, gy.sum(axis=(0, 1, 2))  # gb = sum of gy over N, H, W
        return gx, gW


def conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1):
    """2-D convolution (cross-correlation, as Keras) over NHWC inputs.

    Args:
        x: (N, H, W, C) inputs.
        kernel: (KH, KW, C, F) filters.
        bias: optional (F,) bias.
        strides: int or pair.
        padding: `"valid"` or `"same"` (TF's rule: the extra padded row/column goes last).
        dilation_rate: int or pair.

    Returns:
        (N, OH, OW, F) outputs.
    """
    x, kernel = as_tensor(x), as_tensor(kernel)
    padding = _padding(padding, "conv2d")
    strides, dilation = _pair(strides, "strides"), _pair(dilation_rate, "dilation_rate")
    if x.ndim != 4 or kernel.ndim != 4:
        raise ValueError(
            f"conv2d expects x of rank 4 (N, H, W, C) and kernel of rank 4 (KH, KW, C, F); "
            f"got x {x.shape} and kernel {kernel.shape}."
        )
    if x.shape[-1] != kernel.shape[2]:
        raise ValueError(
            f"conv2d: input has {x.shape[-1]} channels but the kernel expects {kernel.shape[2]} "
            f"(x {x.shape}, kernel {kernel.shape})."
        )
    if padding == "valid":
        _check_window_fits(x.shape, kernel.shape[:2], dilation, "conv2d", "kernel (dilated)")
    if bias is None:
        return Conv2DFunction(strides, padding, dilation)(x, kernel)
    bias = as_tensor(bias)
    if bias.shape != (kernel.shape[3],):
        raise ValueError(
            f"conv2d: bias must have shape ({kernel.shape[3]},) for a kernel of shape "
            f"{kernel.shape}, got {bias.shape}."
        )
    return Conv2DFunction(strides, padding, dilation)(x, kernel, bias)


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """`keras.ops.conv` for 2-D NHWC inputs: `conv2d` without a bias, in Keras's signature."""
    _check_data_format(data_format, "conv")
    return conv2d(inputs, kernel, None, strides, padding, dilation_rate)


# ------------------------------------------------------------------------ pooling
class _Pool2D(Function):
    """Shared window bookkeeping of max and average pooling (NHWC)."""

    def __init__(self, pool_size, strides, padding):
        self.pool, self.strides, self.padding = pool_size, strides, padding

    def _windows(self, x, fill):
        """A strided view (N, OH, OW, KH, KW, C) of `x`, padded with `fill` for 'same'."""
        bk = backend_of(x)
        xp = bk.xp
        n, h, w, c = x.shape
        (kh, kw), (sh, sw) = self.pool, self.strides
        oh, (pt, pb) = bk.conv2d_geometry(h, kh, sh, 1, self.padding)
        ow, (pl, pr) = bk.conv2d_geometry(w, kw, sw, 1, self.padding)
        self.geometry = (oh, ow, pt, pb, pl, pr)
        if pt or pb or pl or pr:
            x = xp.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=fill)
        x = xp.ascontiguousarray(x)
        s = x.strides
        return xp.lib.stride_tricks.as_strided(
            x, (n, oh, ow, kh, kw, c), (s[0], s[1] * sh, s[2] * sw, s[1], s[2], s[3])
        )

    def _scatter(self, per_tap):
        """Adds per-tap gradients (N, OH, OW, KH, KW, C) back onto the input grid."""
        xp = backend_of(per_tap).xp
        n, h, w, c = self.in_shape
        (kh, kw), (sh, sw) = self.pool, self.strides
        oh, ow, pt, pb, pl, pr = self.geometry
        gxp = xp.zeros((n, h + pt + pb, w + pl + pr, c), dtype=per_tap.dtype)
        for i in range(kh):
            for j in range(kw):
                gxp[:, i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw, :] += (
                    per_tap[:, :, :, i, j, :]
                )
        return xp.ascontiguousarray(gxp[:, pt : pt + h, pl : pl + w, :])


class MaxPool2D(_Pool2D):
    def forward(self, x):
        xp = backend_of(x).xp
        self.in_shape = x.shape
        # padded cells hold -inf so they never win (TF's 'same' max pooling ignores them)
        self.windows = windows = self._windows(x, fill=-xp.inf)
        kh, kw = self.pool
        # one elementwise maximum per window tap, on strided views: no copy of the windows
        y = windows[:, :, :, 0, 0, :].copy()
        for i in range(kh):
            for j in range(kw):
                if i or j:
                    xp.maximum(y, windows[:, :, :, i, j, :], out=y)
        self.y = y
        return y

    def backward(self, gy):
        xp = backend_of(gy).xp
        kh, kw = self.pool
        windows, y = self.windows, self.y
        n, h, w, c = self.in_shape
        (sh, sw) = self.strides
        oh, ow, pt, pb, pl, pr = self.geometry
        gxp = xp.zeros((n, h + pt + pb, w + pl + pr, c), dtype=gy.dtype)
        overlap = sh < kh or sw < kw  # else every input cell is in one window at most
        # each window's gradient goes to its first maximum only (taps in row-major order),
        # like TF's MaxPoolGrad: `free` marks the windows whose maximum is still unclaimed
        free = xp.ones(y.shape, dtype=bool)
        last = (kh - 1, kw - 1)
        for i in range(kh):
            for j in range(kw):
                hit = windows[:, :, :, i, j, :] == y
                hit &= free
                if (i, j) != last:
                    free ^= hit
                cells = gxp[:, i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw, :]
                if overlap:
                    cells += gy * hit
                else:
                    xp.multiply(gy, hit, out=cells)
        if pt or pb or pl or pr:
            return xp.ascontiguousarray(gxp[:, pt : pt + h, pl : pl + w, :])
        return gxp


class AvgPool2D(_Pool2D):
    def forward(self, x):
        xp = backend_of(x).xp
        self.in_shape = x.shape
        windows = self._windows(x, fill=0)
        total = windows.sum(axis=(3, 4))
        # 'same' padding averages over the real (unpadded) pixels only, as Keras does
        ones = xp.ones((1,) + x.shape[1:3] + (1,), dtype=x.dtype)
        self.count = self._windows(ones, fill=0).sum(axis=(3, 4))
        return total / self.count

    def backward(self, gy):
        xp = backend_of(gy).xp
        kh, kw = self.pool
        share = gy / self.count
        per_tap = xp.broadcast_to(
            share[:, :, :, None, None, :], share.shape[:3] + (kh, kw) + share.shape[3:]
        )
        return self._scatter(per_tap)


def _pool_args(x, pool_size, strides, padding, op_name):
    pool = _pair(pool_size, "pool_size")
    strides = pool if strides is None else _pair(strides, "strides")
    padding = _padding(padding, op_name)
    x = as_tensor(x)
    if x.ndim != 4:
        raise ValueError(f"{op_name} expects a rank-4 NHWC input, got shape {x.shape}.")
    if padding == "valid":
        _check_window_fits(x.shape, pool, (1, 1), op_name, "pool")
    return x, pool, strides, padding


def max_pool2d(x, pool_size=2, strides=None, padding="valid"):
    """Max pooling over NHWC inputs.

    Args:
        x: (N, H, W, C) inputs.
        pool_size: int or pair, the window size.
        strides: int or pair; `pool_size` when `None`.
        padding: `"valid"` or `"same"` (padded cells never win).

    Returns:
        (N, OH, OW, C) window maxima.
    """
    x, pool, strides, padding = _pool_args(x, pool_size, strides, padding, "max_pool2d")
    return MaxPool2D(pool, strides, padding)(x)


def avg_pool2d(x, pool_size=2, strides=None, padding="valid"):
    """Average pooling over NHWC inputs.

    Args:
        x: (N, H, W, C) inputs.
        pool_size: int or pair, the window size.
        strides: int or pair; `pool_size` when `None`.
        padding: `"valid"` or `"same"` ('same' averages over the real pixels only).

    Returns:
        (N, OH, OW, C) window means.
    """
    x, pool, strides, padding = _pool_args(x, pool_size, strides, padding, "avg_pool2d")
    return AvgPool2D(pool, strides, padding)(x)


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """`keras.ops.max_pool` for 2-D NHWC inputs."""
    _check_data_format(data_format, "max_pool")
    return max_pool2d(inputs, pool_size, strides, padding)


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """`keras.ops.average_pool` for 2-D NHWC inputs."""
    _check_data_format(data_format, "average_pool")
    return avg_pool2d(inputs, pool_size, strides, padding)
