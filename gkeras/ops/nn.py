"""Neural-network ops: the kernel-backed dense / conv2d / softmax-cross-entropy, pooling,
dropout, normalisation and embedding lookup."""

from gkeras.autodiff import Function, Tensor, as_tensor
from gkeras.backend import backend_of
from gkeras.backend.numpy_backend import DENSE_ACTIVATIONS
from gkeras.ops import math as m
from gkeras.ops.shape import reshape, take


def _pair(value, name):
    if isinstance(value, int):
        return (value, value)
    value = tuple(value)
    if len(value) != 2 or not all(isinstance(v, int) for v in value):
        raise ValueError(f"`{name}` must be an int or a pair of ints, got {value!r}.")
    return value


# -------------------------------------------------------------------------- dense
class DenseFunction(Function):
    """`act(x @ W + b)` through `bk.dense`: one fused epilogue on the GPU."""

    def __init__(self, activation="linear", alpha=0.0):
        self.activation, self.alpha = activation, alpha

    def forward(self, x, W, b=None):
        self.y, self.z = backend_of(x).dense(x, W, b, self.activation, self.alpha)
        return self.y

    def backward(self, gy):
        x, W = self.inputs[0], self.inputs[1]
        has_bias = len(self.inputs) > 2
        gx, gW, gb = backend_of(gy).dense_backward(
            gy, x.data, W.data, self.y, self.z, self.activation, self.alpha,
            has_bias=has_bias, need_gx=x.requires_grad,
        )
        return (gx, gW, gb) if has_bias else (gx, gW)


def dense(x, kernel, bias=None, activation="linear", alpha=0.0):
    """Fused dense layer math: `activation(x @ kernel + bias)` over the last axis of `x`.

    Args:
        x: (..., I) inputs.
        kernel: (I, U) weights.
        bias: optional (U,) bias.
        activation: one of `linear, relu, sigmoid, tanh, gelu, leaky_relu, elu`.
        alpha: the slope of leaky_relu or the alpha of elu.
    """
    if activation not in DENSE_ACTIVATIONS:
        raise ValueError(
            f"dense: unknown activation {activation!r}. Expected one of {list(DENSE_ACTIVATIONS)}."
        )
    x = as_tensor(x)
    lead = x.shape[:-1]
    flat = x if x.ndim == 2 else reshape(x, (-1, x.shape[-1]))
    args = (flat, kernel) if bias is None else (flat, kernel, bias)
    y = DenseFunction(activation, alpha)(*args)
    return y if x.ndim == 2 else reshape(y, lead + (y.shape[-1],))


# ------------------------------------------------------------------------- conv2d
class Conv2DFunction(Function):
    def __init__(self, strides, padding, dilation):
        self.strides, self.padding, self.dilation = strides, padding, dilation

    def forward(self, x, W, b=None):
        return backend_of(x).conv2d(x, W, b, self.strides, self.padding, self.dilation)

    def backward(self, gy):
        bk = backend_of(gy)
        x, W = self.inputs[0], self.inputs[1]
        geometry = (self.strides, self.padding, self.dilation)
        gx = bk.conv2d_backward_input(gy, W.data, x.shape, *geometry) if x.requires_grad else None
        gW = bk.conv2d_backward_filter(x.data, gy, W.shape, *geometry)
        if len(self.inputs) > 2:
            return gx, gW, gy.sum(axis=(0, 1, 2))  # gb = sum of gy over N, H, W
        return gx, gW


def conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1):
    """2-D convolution over NHWC inputs.

    Args:
        x: (N, H, W, C) inputs.
        kernel: (KH, KW, C, F) filters.
        bias: optional (F,) bias.
        strides: int or pair.
        padding: `"valid"` or `"same"`.
        dilation_rate: int or pair.

    Returns:
        (N, OH, OW, F) outputs.
    """
    x, kernel = as_tensor(x), as_tensor(kernel)
    padding = str(padding).lower()
    if padding not in ("valid", "same"):
        raise ValueError(f"conv2d: unknown padding {padding!r}. Expected one of ['valid', 'same'].")
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
        for axis, name in ((1, "height"), (2, "width")):
            effective = (kernel.shape[axis - 1] - 1) * dilation[axis - 1] + 1
            if x.shape[axis] < effective:
                raise ValueError(
                    f"conv2d: kernel {name} {effective} (dilated) is larger than the input "
                    f"{name} {x.shape[axis]} with 'valid' padding (x {x.shape}, kernel "
                    f"{kernel.shape})."
                )
    args = (x, kernel) if bias is None else (x, kernel, bias)
    return Conv2DFunction(strides, padding, dilation)(*args)


# ------------------------------------------------------------------------ pooling
class _Pool2D(Function):
    """Shared window bookkeeping of max and average pooling (NHWC)."""

    def __init__(self, pool_size, strides, padding):
        self.pool, self.strides, self.padding = pool_size, strides, padding

    def _windows(self, x, fill):
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
        x = self.inputs[0]
        xp = backend_of(per_tap).xp
        n, h, w, c = x.shape
        (kh, kw), (sh, sw) = self.pool, self.strides
        oh, ow, pt, pb, pl, pr = self.geometry
        gxp = xp.zeros((n, h + pt + pb, w + pl + pr, c), dtype=per_tap.dtype)
        for i in range(kh):
            for j in range(kw):
                gxp[:, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw, :] += (
                    per_tap[:, :, :, i, j, :]
                )
        return gxp[:, pt:pt + h, pl:pl + w, :]


class MaxPool2D(_Pool2D):
    def forward(self, x):
        windows = self._windows(x, fill=-backend_of(x).xp.inf)
        n, oh, ow, kh, kw, c = windows.shape
        flat = windows.reshape(n, oh, ow, kh * kw, c)
        self.argmax = flat.argmax(axis=3)
        return flat.max(axis=3)

    def backward(self, gy):
        xp = backend_of(gy).xp
        kh, kw = self.pool
        taps = xp.arange(kh * kw).reshape(1, 1, 1, kh * kw, 1)
        # the gradient goes to the first maximum of each window, like the argmax picked
        per_tap = (taps == self.argmax[:, :, :, None, :]) * gy[:, :, :, None, :]
        n, oh, ow, _, c = per_tap.shape
        return self._scatter(per_tap.reshape(n, oh, ow, kh, kw, c))


class AvgPool2D(_Pool2D):
    def forward(self, x):
        xp = backend_of(x).xp
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
        per_tap = xp.broadcast_to(share[:, :, :, None, None, :], share.shape[:3] + (kh, kw) +
                                  share.shape[3:])
        return self._scatter(per_tap)


def _pool_args(x, pool_size, strides, padding, op_name):
    pool = _pair(pool_size, "pool_size")
    strides = pool if strides is None else _pair(strides, "strides")
    padding = str(padding).lower()
    if padding not in ("valid", "same"):
        raise ValueError(f"{op_name}: unknown padding {padding!r}. Expected 'valid' or 'same'.")
    x = as_tensor(x)
    if x.ndim != 4:
        raise ValueError(f"{op_name} expects a rank-4 NHWC input, got shape {x.shape}.")
    return x, pool, strides, padding


def max_pool2d(x, pool_size=2, strides=None, padding="valid"):
    """Max pooling over NHWC inputs (`strides` defaults to `pool_size`)."""
    x, pool, strides, padding = _pool_args(x, pool_size, strides, padding, "max_pool2d")
    return MaxPool2D(pool, strides, padding)(x)


def avg_pool2d(x, pool_size=2, strides=None, padding="valid"):
    """Average pooling over NHWC inputs; 'same' padding excludes the padded pixels."""
    x, pool, strides, padding = _pool_args(x, pool_size, strides, padding, "avg_pool2d")
    return AvgPool2D(pool, strides, padding)(x)


# ------------------------------------------------------------------------ dropout
class DropoutFunction(Function):
    def __init__(self, mask):
        self.mask = mask

    def forward(self, x):
        return x * self.mask

    def backward(self, gy):
        return gy * self.mask


def dropout(x, rate, noise_shape=None, seed=None):
    """Zeroes entries with probability `rate` and scales the rest by `1 / (1 - rate)`.

    Args:
        rate: drop probability in `[0, 1)`.
        noise_shape: optional shape of the mask, broadcast against `x`.
        seed: an int or a `gkeras.random.SeedGenerator`-like object with `next_generator()`.
    """
    if not 0 <= rate < 1:
        raise ValueError(f"dropout rate must be in [0, 1), got {rate}.")
    x = as_tensor(x)
    if rate == 0:
        return x
    from gkeras import random as grandom

    keep = 1.0 - rate
    shape = x.shape if noise_shape is None else tuple(
        d if d is not None else x.shape[i] for i, d in enumerate(noise_shape)
    )
    uniform = grandom.uniform_array(shape, x.dtype, backend_of(x.data), seed)
    mask = (uniform < keep).astype(x.dtype) / x.dtype.type(keep)
    return DropoutFunction(mask)(x)


# ------------------------------------------------------------------ normalisation
class BatchNormTrain(Function):
    """Batch normalisation with batch statistics; outputs `(y, batch_mean, batch_var)`."""

    def __init__(self, axes, epsilon):
        self.axes, self.epsilon = axes, epsilon

    def forward(self, x, gamma, beta):
        xp = backend_of(x).xp
        mean = x.mean(axis=self.axes, keepdims=True)
        centered = x - mean
        var = (centered * centered).mean(axis=self.axes, keepdims=True)
        self.inv_std = 1.0 / xp.sqrt(var + x.dtype.type(self.epsilon))
        self.x_hat = centered * self.inv_std
        y = self.x_hat * gamma + beta
        return y, mean.reshape(gamma.shape), var.reshape(gamma.shape)

    def backward(self, gy, _gmean, _gvar):
        gamma = self.inputs[1].data
        x_hat, axes = self.x_hat, self.axes
        ggamma = (gy * x_hat).sum(axis=axes).reshape(gamma.shape)
        gbeta = gy.sum(axis=axes).reshape(gamma.shape)
        # gx = gamma * inv_std * (gy - mean(gy) - x_hat * mean(gy * x_hat))
        g_hat = gy * gamma
        gx = self.inv_std * (
            g_hat - g_hat.mean(axis=axes, keepdims=True)
            - x_hat * (g_hat * x_hat).mean(axis=axes, keepdims=True)
        )
        return gx, ggamma, gbeta


def batch_norm(x, gamma, beta, axis=-1, epsilon=1e-3):
    """Normalises `x` with its own batch statistics over every axis but `axis`.

    Returns:
        `(y, batch_mean, batch_variance)`; the statistics have `gamma`'s shape.
    """
    x = as_tensor(x)
    axis = axis % x.ndim
    axes = tuple(i for i in range(x.ndim) if i != axis)
    return BatchNormTrain(axes, epsilon)(x, gamma, beta)


def batch_normalization(x, mean, variance, axis=-1, offset=None, scale=None, epsilon=1e-3):
    """Normalises `x` with given statistics: `(x - mean) / sqrt(variance + eps) * scale + offset`."""
    inv = m.divide(1.0, m.sqrt(m.add(variance, epsilon)))
    if scale is not None:
        inv = m.multiply(inv, scale)
    y = m.multiply(m.subtract(x, mean), inv)
    return m.add(y, offset) if offset is not None else y


def layer_norm(x, gamma=None, beta=None, axis=-1, epsilon=1e-3):
    """Normalises each sample over `axis` (int or tuple), then scales and shifts."""
    mean = m.mean(x, axis=axis, keepdims=True)
    centered = m.subtract(x, mean)
    var = m.mean(m.square(centered), axis=axis, keepdims=True)
    y = m.divide(centered, m.sqrt(m.add(var, epsilon)))
    if gamma is not None:
        y = m.multiply(y, gamma)
    if beta is not None:
        y = m.add(y, beta)
    return y


def embedding(ids, table):
    """Looks up rows of `table` (V, D) at integer `ids` of any shape → `ids.shape + (D,)`."""
    return take(table, ids, axis=0)


# ---------------------------------------------------------- softmax cross-entropy
class SoftmaxCrossEntropy(Function):
    def forward(self, logits, labels):
        self.loss, self.probs = backend_of(logits).softmax_crossentropy(logits, labels)
        return self.loss

    def backward(self, gloss):
        labels = self.inputs[1].data
        glogits = backend_of(gloss).softmax_crossentropy_backward(self.probs, labels, gloss)
        return glogits, None


def softmax_cross_entropy(logits, labels, axis=-1):
    """Per-sample cross-entropy of `softmax(logits)` against labels, in one fused pass.

    Args:
        logits: (..., C) unnormalised scores.
        labels: integer class ids of shape (...), or probabilities / one-hot of shape (..., C).

    Returns:
        Per-sample losses of shape (...). Stable for logits as large as ±1e4.
    """
    logits = as_tensor(logits)
    if axis not in (-1, logits.ndim - 1):
        raise ValueError("softmax_cross_entropy supports the last axis only.")
    bk = backend_of(logits.data)
    label_data = labels.data if isinstance(labels, Tensor) else bk.asarray(labels)
    if not bk.owns(label_data):
        label_data = bk.asarray(backend_of(label_data).to_numpy(label_data))
    lead = logits.shape[:-1]
    sparse = label_data.ndim == logits.ndim - 1
    if sparse and tuple(label_data.shape) != lead:
        raise ValueError(
            f"softmax_cross_entropy: integer labels of shape {tuple(label_data.shape)} do not match "
            f"logits of shape {logits.shape}."
        )
    if not sparse and tuple(label_data.shape) != logits.shape:
        raise ValueError(
            f"softmax_cross_entropy: labels of shape {tuple(label_data.shape)} do not match "
            f"logits of shape {logits.shape}."
        )
    classes = logits.shape[-1]
    flat_logits = logits if logits.ndim == 2 else reshape(logits, (-1, classes))
    flat_labels = label_data.reshape(-1) if sparse else label_data.reshape(-1, classes)
    if not sparse:
        flat_labels = flat_labels.astype(logits.dtype, copy=False)
    loss = SoftmaxCrossEntropy()(flat_logits, Tensor(flat_labels))
    return loss if logits.ndim == 2 else reshape(loss, lead)
