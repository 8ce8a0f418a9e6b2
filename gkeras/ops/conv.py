"""Convolution and pooling over NHWC images.

`conv2d` is kernel-backed: a coarse Function whose forward and backward call
`bk.conv2d` / `bk.conv2d_backward_input` / `bk.conv2d_backward_filter`. `conv2d_transpose`
uses the same three with the roles swapped (a transposed convolution is the input gradient of
a convolution). `depthwise_conv2d` is composed of ops (one strided slice times a per-channel
weight per kernel tap). Pooling is written here against `xp` (a strided window view, no
kernel).
"""

import numbers

import numpy as np

from gkeras.autodiff import Function, as_tensor
from gkeras.backend import backend_of
from gkeras.backend.numpy_backend import CONV_ACTIVATIONS
from gkeras.ops.manipulation import pad
from gkeras.ops.math import add, multiply
from gkeras.ops.shape import expand_dims, reshape


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
    """`act(conv2d(x, W) + b)` through the backend's conv2d kernels (bias and activation
    applied in the convolution's epilogue; all gradients from one backward pass)."""

    def __init__(self, strides, padding, dilation, activation="linear", alpha=0.0):
        self.strides, self.padding, self.dilation = strides, padding, dilation
        self.activation, self.alpha = activation, alpha

    def forward(self, x, W, b=None):
        self.y = backend_of(x).conv2d(x, W, b, self.strides, self.padding, self.dilation,
                                      self.activation, self.alpha)
        return self.y

    def backward(self, gy):
        x, W = self.inputs[0], self.inputs[1]
        return backend_of(gy).conv2d_backward(
            gy, x.data if W.requires_grad else x.shape, W.data, self.y,
            self.strides, self.padding, self.dilation, self.activation, self.alpha,
            has_bias=len(self.inputs) > 2, need_gx=x.requires_grad, need_gW=W.requires_grad,
        )[: len(self.inputs)]


def conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1,
           activation="linear", alpha=0.0):
    """2-D convolution (cross-correlation, as Keras) over NHWC inputs, with an optional
    fused bias and activation: `activation(conv(x, kernel) + bias)`.

    Args:
        x: (N, H, W, C) inputs.
        kernel: (KH, KW, C, F) filters.
        bias: optional (F,) bias.
        strides: int or pair.
        padding: `"valid"` or `"same"` (TF's rule: the extra padded row/column goes last).
        dilation_rate: int or pair.
        activation: one of `linear, relu, sigmoid, tanh, leaky_relu, elu`.
        alpha: the slope of leaky_relu or the alpha of elu.

    Returns:
        (N, OH, OW, F) outputs.
    """
    x, kernel = as_tensor(x), as_tensor(kernel)
    padding = _padding(padding, "conv2d")
    strides, dilation = _pair(strides, "strides"), _pair(dilation_rate, "dilation_rate")
    if activation not in CONV_ACTIVATIONS:
        raise ValueError(
            f"conv2d: unknown activation {activation!r}. Expected one of {list(CONV_ACTIVATIONS)}."
        )
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
    fn = Conv2DFunction(strides, padding, dilation, activation, alpha)
    if bias is None:
        return fn(x, kernel)
    bias = as_tensor(bias)
    if bias.shape != (kernel.shape[3],):
        raise ValueError(
            f"conv2d: bias must have shape ({kernel.shape[3]},) for a kernel of shape "
            f"{kernel.shape}, got {bias.shape}."
        )
    return fn(x, kernel, bias)


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
        overlap = sh < kh or sw < kw  # else every input cell is in one window at most
        # without overlap or padding and with no cell left over, the taps write every cell
        tiled = not overlap and not (pt or pb or pl or pr) and (oh * sh, ow * sw) == (h, w)
        gxp = (xp.empty if tiled else xp.zeros)(
            (n, h + pt + pb, w + pl + pr, c), dtype=gy.dtype)
        # each window's gradient goes to its first maximum only (taps in row-major order),
        # like TF's MaxPoolGrad: `free` marks the windows whose maximum is still unclaimed
        free = xp.ones(y.shape, dtype=bool)
        hit = xp.empty(y.shape, dtype=bool)
        share = None if not overlap else xp.empty_like(gy)
        last = (kh - 1, kw - 1)
        for i in range(kh):
            for j in range(kw):
                xp.equal(windows[:, :, :, i, j, :], y, out=hit)
                hit &= free
                if (i, j) != last:
                    free ^= hit
                cells = gxp[:, i : i + sh * (oh - 1) + 1 : sh, j : j + sw * (ow - 1) + 1 : sw, :]
                if overlap:
                    cells += xp.multiply(gy, hit, out=share)
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


# ------------------------------------------------------------------------ geometry
def conv_transpose_output_length(length, kernel, stride, dilation, padding, output_padding):
    """The output length of a transposed convolution along one axis, as Keras computes it.

    `None` stays `None`. Without `output_padding`, `"same"` gives `length * stride` and
    `"valid"` gives `(length - 1) * stride + max(kernel, stride)` (dilated kernel).
    """
    if length is None:
        return None
    effective = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(effective, stride) - effective if output_padding is None else output_padding
        return (length - 1) * stride + effective + extra
    if output_padding is None:
        return length * stride
    return (length - 1) * stride + effective % 2 + output_padding


def _transpose_offset(kernel, stride, dilation, padding, output_padding):
    """How many leading rows of the full scatter (`x[i] w[k]` lands on row `i * stride + k`)
    the output drops: the forward convolution's leading padding, as TF/Keras place it."""
    if padding == "valid":
        return 0
    effective = (kernel - 1) * dilation + 1
    if output_padding is None:
        return max(effective - stride, 0) // 2
    return max(effective - effective % 2 - output_padding, 0) // 2


def _same_padding(length, kernel, stride, dilation):
    """TF's 'same' padding of one axis: (before, after), the extra cell going last."""
    effective = (kernel - 1) * dilation + 1
    out = -(-length // stride)
    total = max((out - 1) * stride + effective - length, 0)
    return total // 2, total - total // 2


# ----------------------------------------------------------------- conv2d_transpose
class Conv2DTransposeFunction(Function):
    """Transposed convolution through the backend's conv2d kernels.

    The forward scatters into a "frame" of size `frame_hw` (the input shape of the convolution
    it transposes) and keeps rows `[offset, offset + out)` of it. When the layer's own padding
    reproduces the output exactly the frame is the output; otherwise the frame is a 'valid'
    scatter, cropped (or extended with zeros for `output_padding`).
    """

    def __init__(self, strides, dilation, padding, frame_hw, offsets, out_hw):
        self.strides, self.dilation, self.padding = strides, dilation, padding
        self.frame_hw, self.offsets, self.out_hw = frame_hw, offsets, out_hw
        self.cropped = tuple(frame_hw) != tuple(out_hw)

    def forward(self, x, W, b=None):
        bk = backend_of(x)
        frame_shape = (x.shape[0],) + self.frame_hw + (W.shape[2],)
        # y_frame = A^T x, A the convolution frame -> x
        y = bk.conv2d_backward_input(x, W, frame_shape, self.strides, self.padding,
                                     self.dilation)
        if self.cropped:
            (pt, pl), (oh, ow) = self.offsets, self.out_hw
            y = y[:, pt:pt + oh, pl:pl + ow, :]
        if b is not None:
            y = y + b
        return y

    def backward(self, gy):
        bk = backend_of(gy)
        x, W = self.inputs[0], self.inputs[1]
        if self.cropped:  # the gradient of the crop: gy placed back into a zero frame
            (pt, pl), (oh, ow) = self.offsets, self.out_hw
            frame = bk.xp.zeros((gy.shape[0],) + self.frame_hw + (gy.shape[3],), dtype=gy.dtype)
            frame[:, pt:pt + oh, pl:pl + ow, :] = gy
            g = frame
        else:
            g = bk.xp.ascontiguousarray(gy)
        geometry = (self.strides, self.padding, self.dilation)
        # L = <g, A^T x> = <A g, x>: gx = conv2d(g, W), gW = conv2d_backward_filter(g, x)
        gx = bk.conv2d(g, W.data, None, *geometry) if x.requires_grad else None
        gW = bk.conv2d_backward_filter(g, x.data, W.shape, *geometry) if W.requires_grad else None
        if len(self.inputs) > 2:
            return gx, gW, gy.sum(axis=(0, 1, 2))
        return gx, gW


def _transpose_plan(in_hw, kernel_hw, strides, dilation, padding, output_padding):
    """(frame padding, frame size, offsets, output size) of one transposed convolution."""
    ops_ = output_padding or (None, None)
    out = tuple(conv_transpose_output_length(in_hw[a], kernel_hw[a], strides[a], dilation[a],
                                             padding, ops_[a]) for a in range(2))
    offsets = tuple(_transpose_offset(kernel_hw[a], strides[a], dilation[a], padding, ops_[a])
                    for a in range(2))

    def reproduces(frame_padding, frame, dropped):
        # the convolution frame -> input must have the input's size and pad `dropped` rows
        for a in range(2):
            if frame_padding == "same":
                before = _same_padding(frame[a], kernel_hw[a], strides[a], dilation[a])[0]
            else:
                before = 0
            length = _conv_output_length(frame[a], kernel_hw[a], strides[a], dilation[a],
                                        frame_padding)
            if length != in_hw[a] or before != dropped[a]:
                return False
        return True

    if reproduces(padding, out, offsets):
        return padding, out, (0, 0), out
    full = tuple((in_hw[a] - 1) * strides[a] + (kernel_hw[a] - 1) * dilation[a] + 1
                 for a in range(2))
    frame = tuple(max(full[a], offsets[a] + out[a]) for a in range(2))
    if not reproduces("valid", frame, (0, 0)):  # cannot happen with output_padding < strides
        raise ValueError(
            f"conv2d_transpose: no convolution geometry gives output {out} from input "
            f"{in_hw} (kernel {kernel_hw}, strides {strides}, padding '{padding}', "
            f"output_padding {output_padding})."
        )
    return "valid", frame, offsets, out


def conv2d_transpose(x, kernel, bias=None, strides=1, padding="valid", output_padding=None,
                     dilation_rate=1):
    """2-D transposed convolution over NHWC inputs, with Keras's output geometry.

    Args:
        x: (N, H, W, C) inputs.
        kernel: (KH, KW, F, C) filters (Keras's `Conv2DTranspose` layout).
        bias: optional (F,) bias.
        strides: int or pair of positive ints.
        padding: `"valid"` or `"same"`.
        output_padding: `None`, or an int or pair of non-negative ints below `strides`.
        dilation_rate: int or pair of positive ints.

    Returns:
        (N, OH, OW, F) outputs, the input gradient of the matching convolution.
    """
    x, kernel = as_tensor(x), as_tensor(kernel)
    padding = _padding(padding, "conv2d_transpose")
    strides, dilation_rate = _pair(strides, "strides"), _pair(dilation_rate, "dilation_rate")
    if output_padding is not None:
        output_padding = tuple(int(p) for p in np.broadcast_to(output_padding, (2,)))
        if any(not 0 <= p < s for p, s in zip(output_padding, strides)):
            raise ValueError(f"conv2d_transpose: output_padding must be non-negative and "
                             f"below strides {strides}, got {output_padding}.")
    if x.ndim != 4 or kernel.ndim != 4 or x.shape[-1] != kernel.shape[3]:
        raise ValueError(
            "conv2d_transpose expects x (N, H, W, C) and kernel (KH, KW, F, C) with matching C; "
            f"got x {x.shape} and kernel {kernel.shape}."
        )
    frame_padding, frame, offsets, out = _transpose_plan(
        x.shape[1:3], kernel.shape[:2], strides, dilation_rate, padding, output_padding)
    if min(out) <= 0:
        raise ValueError(f"conv2d_transpose: the output would be empty ({out}) for input "
                         f"{x.shape} and kernel {kernel.shape}.")
    fn = Conv2DTransposeFunction(strides, dilation_rate, frame_padding, frame, offsets, out)
    if bias is None:
        return fn(x, kernel)
    return fn(x, kernel, as_tensor(bias))


# --------------------------------------------------------------- depthwise conv2d
def depthwise_conv2d(x, kernel, strides, padding, dilation_rate):
    """Depthwise convolution composed of ops: each channel convolved with its own filters.

    `kernel` is (KH, KW, C, M); output channel `c * M + m` is input channel `c` convolved
    with `kernel[..., c, m]`. One strided slice times a (C, M) weight per kernel tap: the work
    stays proportional to the output size whatever the number of channels.
    """
    n, h, w, c = x.shape
    kh, kw, _, m = kernel.shape
    (sh, sw), (dh, dw) = strides, dilation_rate
    oh = _conv_output_length(h, kh, sh, dh, padding)
    ow = _conv_output_length(w, kw, sw, dw, padding)
    if padding == "same":
        pads = (_same_padding(h, kh, sh, dh), _same_padding(w, kw, sw, dw))
        if any(p for pair in pads for p in pair):
            x = pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
    if m > 1:
        x = expand_dims(x, -1)  # (N, H, W, C, 1) times (C, M) taps
    y = None
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
            cols = slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)
            tap = kernel[i, j] if m > 1 else kernel[i, j, :, 0]
            term = multiply(x[:, rows, cols], tap)
            y = term if y is None else add(y, term)
    if m > 1:
        y = reshape(y, (-1, oh, ow, c * m))
    return y


def _conv_output_length(length, kernel, stride, dilation, padding):
    """The output length of a 'valid' / 'same' convolution along one axis (TF's rule)."""
    from gkeras.backend.numpy_backend import NumpyBackend

    return NumpyBackend.conv2d_geometry(length, kernel, stride, dilation, padding)[0]
