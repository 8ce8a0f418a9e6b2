"""Neural-network ops: the kernel-backed dense and softmax-cross-entropy, dropout,
normalisation and embedding lookup. Convolution and pooling live in `gkeras.ops.conv`."""

import math

import numpy as np

from gkeras.autodiff import Function, Tensor, as_tensor, is_grad_enabled
from gkeras.backend import backend_of
from gkeras.backend.numpy_backend import DENSE_ACTIVATIONS
from gkeras.ops import math as m
from gkeras.ops.conv import (  # noqa: F401  (re-exported: they used to live here)
    AvgPool2D,
    Conv2DFunction,
    MaxPool2D,
    avg_pool2d,
    conv2d,
    max_pool2d,
)
from gkeras.ops.shape import cast, reshape, take


# -------------------------------------------------------------------------- dense
class DenseFunction(Function):
    """`act(x @ W + b)` through `bk.dense`: one fused epilogue on the GPU."""

    def __init__(self, activation="linear", alpha=0.0):
        self.activation, self.alpha = activation, alpha

    def forward(self, x, W, b=None):
        self.bk = bk = backend_of(x)  # kept: the backward runs on the same backend
        self.y, self.z = bk.dense(x, W, b, self.activation, self.alpha)
        return self.y

    def backward(self, gy):
        inputs = self.inputs
        x = inputs[0]
        has_bias = len(inputs) > 2
        gx, gW, gb = self.bk.dense_backward(
            gy, x.data, inputs[1].data, self.y, self.z, self.activation, self.alpha,
            has_bias=has_bias, need_gx=x.requires_grad,
        )
        return (gx, gW, gb) if has_bias else (gx, gW)


_DENSE_NAMES = frozenset(DENSE_ACTIVATIONS)


def dense(x, kernel, bias=None, activation="linear", alpha=0.0):
    """Fused dense layer math: `activation(x @ kernel + bias)` over the last axis of `x`.

    Args:
        x: (..., I) inputs.
        kernel: (I, U) weights.
        bias: optional (U,) bias.
        activation: one of `linear, relu, sigmoid, tanh, gelu, leaky_relu, elu` (gelu is
            the exact erf form, as `keras.activations.gelu`).
        alpha: the slope of leaky_relu or the alpha of elu.

    Returns:
        (..., U) outputs.
    """
    if activation not in _DENSE_NAMES:
        raise ValueError(
            f"dense: unknown activation {activation!r}. Expected one of {list(DENSE_ACTIVATIONS)}."
        )
    if not isinstance(x, Tensor):
        x = as_tensor(x)
    if not isinstance(kernel, Tensor):
        kernel = as_tensor(kernel)
    # shapes straight from the arrays: this runs for every layer call, so it stays lean
    x_shape, k_shape = x.data.shape, kernel.data.shape
    if len(k_shape) != 2 or not x_shape or x_shape[-1] != k_shape[0]:
        raise ValueError(
            f"dense: expected x (..., I) and kernel (I, U) with matching I; got x {x_shape} "
            f"and kernel {k_shape}."
        )
    if bias is not None:
        if not isinstance(bias, Tensor):
            bias = as_tensor(bias)
        if bias.data.shape != (k_shape[1],):
            raise ValueError(f"dense: bias must have shape ({k_shape[1]},), got {bias.shape}.")
    if len(x_shape) == 2:
        if not is_grad_enabled():  # inference: no graph node, straight to the backend
            b = None if bias is None else bias.data
            return Tensor(backend_of(x.data).dense(x.data, kernel.data, b, activation, alpha)[0])
        fn = DenseFunction(activation, alpha)
        return fn(x, kernel) if bias is None else fn(x, kernel, bias)
    fn = DenseFunction(activation, alpha)
    flat = reshape(x, (-1, x_shape[-1]))
    y = fn(flat, kernel) if bias is None else fn(flat, kernel, bias)
    return reshape(y, x_shape[:-1] + (k_shape[1],))


# ------------------------------------------------------------------ moving averages
class MovingAverageUpdate(Function):
    """Updates a non-trainable variable in place: `v = v * momentum + value * (1 - momentum)`.

    A Function rather than code in the layer so that a replayed training step
    (`gkeras.training.traced_step`) repeats the update. No gradient flows through it.
    """

    def __init__(self, variable, momentum):
        self.variable, self.momentum = variable, momentum

    def forward(self, value):
        data = self.variable.data
        data *= data.dtype.type(self.momentum)
        data += value.reshape(data.shape) * data.dtype.type(1.0 - self.momentum)
        return data

    def backward(self, gy):
        return None


def update_moving_average(variable, value, momentum):
    """`variable = variable * momentum + value * (1 - momentum)`, in place (BatchNormalization's
    moving statistics). `value` must hold as many entries as the variable."""
    value = as_tensor(value)
    if value.size != variable.size:
        raise ValueError(
            f"update_moving_average: a value of shape {value.shape} cannot update variable "
            f"'{variable.path}' of shape {variable.shape}."
        )
    MovingAverageUpdate(variable, momentum)(value)
    return variable


# ------------------------------------------------------------------------ dropout
class DropoutFunction(Function):
    """`x * mask / keep` with a fresh random mask drawn in `forward`, so that a replayed
    training step (`gkeras.training.traced_step`) draws a new one for every batch."""

    def __init__(self, keep, noise_shape, seed):
        self.keep, self.noise_shape, self.seed = keep, noise_shape, seed

    def forward(self, x):
        from gkeras import random as grandom

        shape = x.shape if self.noise_shape is None else tuple(
            d if d is not None else x.shape[i] for i, d in enumerate(self.noise_shape))
        uniform = grandom.uniform_array(shape, x.dtype, backend_of(x), self.seed)
        self.mask = (uniform < self.keep).astype(x.dtype) / x.dtype.type(self.keep)
        return x * self.mask

    def backward(self, gy):
        return gy * self.mask


def dropout(x, rate, noise_shape=None, seed=None):
    """Zeroes entries with probability `rate` and scales the rest by `1 / (1 - rate)`.

    Args:
        x: the inputs.
        rate: drop probability in `[0, 1)`.
        noise_shape: optional shape of the mask, broadcast against `x` (`None` entries take
            `x`'s size).
        seed: an int or a `gkeras.random.SeedGenerator`.

    Returns:
        A tensor of `x`'s shape and dtype (`x` itself when `rate` is 0).
    """
    if not 0 <= rate < 1:
        raise ValueError(f"dropout rate must be in [0, 1), got {rate}.")
    x = as_tensor(x)
    if rate == 0:
        return x
    noise_shape = None if noise_shape is None else tuple(noise_shape)
    return DropoutFunction(1.0 - rate, noise_shape, seed)(x)


# ------------------------------------------------------------------ normalisation
def _kept_shape(shape, axes):
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class BatchNormTrain(Function):
    """Batch normalisation with batch statistics; outputs `(y, batch_mean, batch_var)`.

    All three outputs are differentiable (the statistics usually only feed the moving
    averages, under `no_grad`, and then cost nothing in the backward).
    """

    accepts_none_grads = True

    def __init__(self, axes, epsilon):
        self.axes, self.epsilon = axes, epsilon

    def forward(self, x, gamma, beta):
        xp = backend_of(x).xp
        axes = self.axes
        self.kept = _kept_shape(x.shape, axes)
        self.count = x.size // max(1, gamma.size)
        mean = x.mean(axis=axes, keepdims=True)
        centered = x - mean
        var = (centered * centered).mean(axis=axes, keepdims=True)
        self.inv_std = 1 / xp.sqrt(var + x.dtype.type(self.epsilon))
        self.x_hat = centered * self.inv_std
        self.gamma = gamma.reshape(self.kept)
        y = self.x_hat * self.gamma + beta.reshape(self.kept)
        return y, mean.reshape(gamma.shape), var.reshape(gamma.shape)

    def backward(self, gy, gmean, gvar):
        x_hat, axes, inv_std = self.x_hat, self.axes, self.inv_std
        stats_shape = self.inputs[1].shape
        gx = ggamma = gbeta = None
        if gy is not None:
            ggamma = (gy * x_hat).sum(axis=axes).reshape(stats_shape)  # sum of gy x_hat
            gbeta = gy.sum(axis=axes).reshape(stats_shape)  # sum of gy
            # gx = inv_std * (g - mean(g) - x_hat * mean(g x_hat)), with g = gy * gamma
            g_hat = gy * self.gamma
            gx = inv_std * (
                g_hat
                - g_hat.mean(axis=axes, keepdims=True)
                - x_hat * (g_hat * x_hat).mean(axis=axes, keepdims=True)
            )
        if gmean is not None:  # d mean / dx = 1 / M
            term = backend_of(gmean).xp.broadcast_to(
                gmean.reshape(self.kept) / self.count, x_hat.shape
            )
            gx = term.copy() if gx is None else gx + term
        if gvar is not None:  # d var / dx = 2 (x - mean) / M = 2 x_hat / (inv_std M)
            term = (gvar.reshape(self.kept) * (2 / self.count)) * (x_hat / inv_std)
            gx = term if gx is None else gx + term
        return gx, ggamma, gbeta


def batch_norm(x, gamma, beta, axis=-1, epsilon=1e-3):
    """Normalises `x` with its own batch statistics over every axis but `axis`.

    Args:
        x: the inputs.
        gamma: the scale, shape `(x.shape[axis],)`, or `None` for ones.
        beta: the offset, same shape, or `None` for zeros.
        axis: the feature axis (kept; every other axis is reduced).
        epsilon: added to the variance.

    Returns:
        `(y, batch_mean, batch_variance)`; the statistics have `gamma`'s shape and the
        variance is the biased (population) one, as Keras uses.
    """
    x = as_tensor(x)
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"batch_norm: axis {axis} is out of bounds for input shape {x.shape}.")
    axis = axis % x.ndim
    channels = x.shape[axis]
    xp = backend_of(x.data).xp
    params = []
    for value, fill, name in ((gamma, 1, "gamma"), (beta, 0, "beta")):
        if value is None:
            value = Tensor(xp.full((channels,), fill, dtype=x.dtype))
        value = as_tensor(value)
        if value.size != channels:
            raise ValueError(
                f"batch_norm: {name} must have {channels} entries (x.shape[{axis}] of x "
                f"{x.shape}), got shape {value.shape}."
            )
        params.append(value)
    axes = tuple(i for i in range(x.ndim) if i != axis)
    return BatchNormTrain(axes, epsilon)(x, *params)


def _along_axis(param, x, axis):
    """Reshapes a 1-D per-feature `param` to broadcast along `axis` of `x`."""
    param = as_tensor(param)
    axis = axis % x.ndim
    if param.ndim == 1 and axis != x.ndim - 1 and param.shape[0] == x.shape[axis]:
        return reshape(param, [x.shape[axis] if i == axis else 1 for i in range(x.ndim)])
    return param


def batch_normalization(x, mean, variance, axis=-1, offset=None, scale=None, epsilon=1e-3):
    """Normalises `x` with given statistics: `(x - mean) / sqrt(variance + eps) * scale + offset`.

    Args:
        x: the inputs.
        mean, variance: per-feature statistics of length `x.shape[axis]`.
        axis: the feature axis.
        offset, scale: optional per-feature shift and scale.
        epsilon: added to the variance.

    Returns:
        The normalised tensor, shaped like `x`.
    """
    x = as_tensor(x)
    mean, variance = _along_axis(mean, x, axis), _along_axis(variance, x, axis)
    inv = m.divide(1.0, m.sqrt(m.add(variance, epsilon)))
    if scale is not None:
        inv = m.multiply(inv, _along_axis(scale, x, axis))
    y = m.multiply(m.subtract(x, mean), inv)
    return m.add(y, _along_axis(offset, x, axis)) if offset is not None else y


class LayerNormFunction(Function):
    """`(x - mean) / sqrt(var + eps) * gamma + beta` over `axes`, in one Function."""

    def __init__(self, axes, epsilon, has_gamma, has_beta):
        self.axes, self.epsilon = axes, epsilon
        self.has_gamma, self.has_beta = has_gamma, has_beta

    def forward(self, x, *params):
        xp = backend_of(x).xp
        mean = x.mean(axis=self.axes, keepdims=True)
        centered = x - mean
        var = (centered * centered).mean(axis=self.axes, keepdims=True)
        self.inv_std = 1 / xp.sqrt(var + x.dtype.type(self.epsilon))
        self.x_hat = y = centered * self.inv_std
        if self.has_gamma:
            y = y * params[0]
        if self.has_beta:
            y = y + params[-1]
        return y

    def backward(self, gy):
        axes, x_hat = self.axes, self.x_hat
        grads = []
        g_hat = gy
        if self.has_gamma:
            gamma = self.inputs[1]
            g_hat = gy * gamma.data
            grads.append(m.sum_to(gy * x_hat, gamma.shape))
        if self.has_beta:
            grads.append(m.sum_to(gy, self.inputs[-1].shape))
        # gx = inv_std * (g - mean(g) - x_hat * mean(g x_hat)), g = gy * gamma
        gx = self.inv_std * (
            g_hat
            - g_hat.mean(axis=axes, keepdims=True)
            - x_hat * (g_hat * x_hat).mean(axis=axes, keepdims=True)
        )
        return (gx, *grads)


def layer_norm(x, gamma=None, beta=None, axis=-1, epsilon=1e-3):
    """Normalises each sample over `axis` (int or tuple), then scales and shifts.

    Args:
        x: the inputs.
        gamma: optional scale, shaped like the normalised axes (or broadcastable to `x`).
        beta: optional offset, same rules.
        axis: the axis or axes to normalise over.
        epsilon: added to the variance.

    Returns:
        The normalised tensor, shaped like `x`.
    """
    x = as_tensor(x)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    for a in axes:
        if not -x.ndim <= a < x.ndim:
            raise ValueError(f"layer_norm: axis {a} is out of bounds for input shape {x.shape}.")
    axes = tuple(sorted(a % x.ndim for a in axes))
    norm_shape = tuple(x.shape[a] for a in axes)
    trailing = axes == tuple(range(x.ndim - len(axes), x.ndim))
    params = []
    for value in (gamma, beta):
        if value is None:
            continue
        value = as_tensor(value)
        if value.shape == norm_shape and not trailing:
            # a per-feature parameter over non-trailing axes must be laid out along them
            value = reshape(value, [x.shape[i] if i in axes else 1 for i in range(x.ndim)])
        params.append(value)
    return LayerNormFunction(axes, epsilon, gamma is not None, beta is not None)(x, *params)


def embedding(ids, table):
    """Looks up rows of an embedding table.

    Args:
        ids: integer ids of any shape (floats are truncated).
        table: the (V, D) table.

    Returns:
        A tensor of shape `ids.shape + (D,)`; repeated ids sum their gradients.
    """
    return take(table, ids, axis=0)


# ---------------------------------------------------------- softmax cross-entropy
class SoftmaxCrossEntropy(Function):
    def forward(self, logits, labels):
        if labels.ndim == 1:
            check_class_ids(labels, logits.shape[-1])
        self.loss, self.probs = backend_of(logits).softmax_crossentropy(logits, labels)
        return self.loss

    def backward(self, gloss):
        labels = self.inputs[1].data
        glogits = backend_of(gloss).softmax_crossentropy_backward(self.probs, labels, gloss)
        return glogits, None


def check_class_ids(labels, classes):
    """Out-of-range class ids raise, as in Keras (checked in the op's forward, so a replayed
    training step checks every batch too). On the CPU only: on a GPU the test would make
    every step wait for the device."""
    if not isinstance(labels, np.ndarray) or labels.size == 0:
        return
    low, high = labels.min(), labels.max()
    if labels.dtype.kind == "f":  # float ids count as their integer part, as a cast gives
        if not (np.isfinite(low) and np.isfinite(high)):
            low = high = low if not np.isfinite(low) else high
        else:
            low, high = math.trunc(float(low)), math.trunc(float(high))
    if not (0 <= low and high < classes):
        bad = low if not 0 <= low else high
        raise ValueError(
            f"sparse_categorical_crossentropy: received a label value of {bad} which is "
            f"outside the valid range of [0, {classes})."
        )


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
            f"softmax_cross_entropy: integer labels of shape {tuple(label_data.shape)} do not "
            f"match logits of shape {logits.shape}."
        )
    if not sparse and tuple(label_data.shape) != logits.shape:
        raise ValueError(
            f"softmax_cross_entropy: labels of shape {tuple(label_data.shape)} do not match "
            f"logits of shape {logits.shape}."
        )
    classes = logits.shape[-1]
    flat_logits = logits if logits.ndim == 2 else reshape(logits, (-1, classes))
    # reshaped and cast by ops, so a replayed training step redoes both for every batch
    labels = labels if isinstance(labels, Tensor) and labels.data is label_data else Tensor(
        label_data)
    if label_data.ndim != (1 if sparse else 2):
        labels = reshape(labels, (-1,) if sparse else (-1, classes))
    if not sparse and label_data.dtype != logits.dtype:
        labels = cast(labels, logits.dtype)
    loss = SoftmaxCrossEntropy()(flat_logits, labels)
    return loss if logits.ndim == 2 else reshape(loss, lead)


# ------------------------------------------------------------ binary cross-entropy
class BinaryCrossEntropy(Function):
    """Binary cross-entropy of `(output, target)`, optionally averaged over one axis.

    Probabilities are clipped to `[epsilon, 1 - epsilon]` (the gradient stops outside, as
    through `clip`); logits use `max(x, 0) - x t + log(1 + e^-|x|)`. One Function in place of
    the ten elementwise ops the formula takes, so a loss costs one graph node.
    """

    def __init__(self, from_logits, epsilon, axis=None):
        self.from_logits, self.epsilon, self.axis = from_logits, epsilon, axis

    def forward(self, output, target):
        xp = backend_of(output).xp
        if self.from_logits:
            # max(x, 0) - x t + log1p(e^-|x|): finite for every x
            self.e = xp.exp(-xp.abs(output))
            loss = xp.maximum(output, 0) - output * target
            loss += xp.log1p(self.e)
        else:
            eps = output.dtype.type(self.epsilon)
            p = xp.maximum(output, eps)  # clip(output, eps, 1 - eps) without np.clip's wrapper
            xp.minimum(p, 1 - eps, out=p)
            q = 1 - p
            log_q = xp.log(q)
            log_odds = xp.log(p)
            log_odds -= log_q
            self.p, self.q, self.log_odds = p, q, log_odds
            # -(t log p + (1 - t) log(1 - p)) = -(t (log p - log q) + log q)
            loss = target * log_odds
            loss += log_q
            xp.negative(loss, out=loss)
        axis = self.axis
        self.full = loss.shape
        if axis is None:
            return loss
        self.count = count = loss.shape[axis]
        self.kept = loss.shape[:axis] + (1,) + loss.shape[axis + 1:]
        if count == 1:
            return loss.reshape(loss.shape[:axis] + loss.shape[axis + 1:])
        total = loss.sum(axis=axis)
        total /= count  # the mean, as numpy computes it
        return total

    def backward(self, gy):
        x, t = self.inputs
        output, target = x.data, t.data
        xp = backend_of(gy).xp
        if self.axis is not None:
            gy = gy.reshape(self.kept)
            if self.count != 1:
                gy = gy / self.count
        go = gt = None
        if self.from_logits:
            if x.requires_grad:
                e = self.e
                r = 1 / (1 + e)
                go = xp.where(output >= 0, r, e * r) - target  # d/dx = sigmoid(x) - t
                go *= gy
            if t.requires_grad:
                gt = -output * gy  # d/dt = -x
        else:
            p = self.p
            if x.requires_grad:
                # d/dp = -t / p + (1 - t) / (1 - p) = (p - t) / (p (1 - p)), zero where clipped
                go = p - target
                go /= p * self.q
                go *= gy
                go *= p == output  # the clip passes the gradient only where it kept the value
            if t.requires_grad:
                gt = -self.log_odds * gy  # d/dt = -(log p - log(1 - p))
        return _fit_gradient(xp, go, output.shape, self.full), _fit_gradient(
            xp, gt, target.shape, self.full)


def _fit_gradient(xp, g, shape, full):
    """`g` summed down to an input's `shape` (broadcast to the op's `full` shape first when a
    reduced axis left it smaller)."""
    if g is None or g.shape == shape:
        return g
    if g.shape != full:
        g = xp.broadcast_to(g, full)
    return m.sum_to(g, shape)


def binary_crossentropy(target, output, from_logits=False, axis=None, epsilon=None):
    """Elementwise binary cross-entropy between `target` labels and `output`.

    Keras's `keras.ops.binary_crossentropy`, fused into one op; with `axis`, the mean over
    that axis is taken too (what `keras.losses.binary_crossentropy` returns).

    Args:
        target: labels in [0, 1], same shape as `output` (broadcastable).
        output: probabilities, or logits when `from_logits=True`.
        from_logits: whether `output` holds logits.
        axis: optional axis to average over.
        epsilon: the clipping bound for probabilities (`gkeras.config.epsilon()` by default).

    Returns:
        The per-entry losses, or their mean over `axis`.
    """
    output = as_tensor(output)
    if not isinstance(target, Tensor):
        target = Tensor(backend_of(output.data).asarray(target, dtype=output.dtype))
    shape = output.data.shape
    if target.data.shape != shape:
        try:
            shape = np.broadcast_shapes(tuple(target.shape), shape)
        except ValueError:
            raise ValueError(
                f"binary_crossentropy: target of shape {tuple(target.shape)} and output of "
                f"shape {output.shape} cannot be broadcast together."
            ) from None
    if axis is not None:
        if not -len(shape) <= axis < len(shape):
            raise ValueError(
                f"binary_crossentropy: axis {axis} is out of bounds for shape {shape}."
            )
        axis %= len(shape)
    if epsilon is None:
        from gkeras import config

        epsilon = config.epsilon()
    return BinaryCrossEntropy(bool(from_logits), float(epsilon), axis)(output, target)
