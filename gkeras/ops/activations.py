"""Activation functions as differentiable ops (Keras's `keras.ops` names and defaults)."""

import math

from gkeras.autodiff import Function
from gkeras.backend import backend_of
from gkeras.backend.numpy_backend import sigmoid as _sigmoid
from gkeras.ops.math import xp_of


class _Elementwise(Function):
    """An activation whose gradient is computed from its input `x` and output `y`."""

    def forward(self, x):
        self.y = self.f(xp_of(x), x)
        return self.y

    def backward(self, gy):
        return gy * self.df(xp_of(gy), self.inputs[0].data, self.y)


class ReLU(_Elementwise):
    def f(self, xp, x):
        return xp.maximum(x, 0)

    def df(self, xp, x, y):
        return x > 0


class LeakyReLU(_Elementwise):
    def __init__(self, negative_slope):
        self.slope = negative_slope

    def f(self, xp, x):
        return xp.where(x > 0, x, x * x.dtype.type(self.slope))

    def df(self, xp, x, y):
        return xp.where(x > 0, 1, x.dtype.type(self.slope)).astype(x.dtype, copy=False)


class ELU(_Elementwise):
    def __init__(self, alpha=1.0, scale=1.0):
        self.alpha, self.scale = alpha, scale

    def f(self, xp, x):
        neg = self.alpha * xp.expm1(xp.minimum(x, 0))
        return (self.scale * xp.where(x > 0, x, neg)).astype(x.dtype, copy=False)

    def df(self, xp, x, y):
        # for x < 0: y = s a (e^x - 1), so dy/dx = s a e^x = y + s a; at 0 the slope is s (TF)
        return xp.where(x < 0, y + self.scale * self.alpha, self.scale).astype(x.dtype, copy=False)


class Sigmoid(_Elementwise):
    def f(self, xp, x):
        return _sigmoid(xp, x)

    def df(self, xp, x, y):
        return y * (1 - y)


class Tanh(_Elementwise):
    def f(self, xp, x):
        return xp.tanh(x)

    def df(self, xp, x, y):
        return 1 - y * y


class Softplus(_Elementwise):
    def f(self, xp, x):
        # log(1 + e^x) = max(x, 0) + log1p(e^-|x|): no overflow for large |x|
        return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))

    def df(self, xp, x, y):
        return _sigmoid(xp, x)  # softplus' = sigmoid


class SiLU(_Elementwise):
    def f(self, xp, x):
        self.s = _sigmoid(xp, x)
        return x * self.s

    def df(self, xp, x, y):
        s = self.s
        return s * (1 + x * (1 - s))  # d/dx x s(x) = s + x s (1 - s)


class GELU(_Elementwise):
    def __init__(self, approximate):
        self.approximate = approximate

    def f(self, xp, x):
        if self.approximate:
            inner = math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)
            return 0.5 * x * (1 + xp.tanh(inner))
        return 0.5 * x * (1 + backend_of(x).erf(x / math.sqrt(2)))

    def df(self, xp, x, y):
        if self.approximate:
            c = math.sqrt(2 / math.pi)
            t = xp.tanh(c * (x + 0.044715 * x**3))
            return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x)
        cdf = 0.5 * (1 + backend_of(x).erf(x / math.sqrt(2)))
        return cdf + x * xp.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


class Softmax(Function):
    def __init__(self, axis=-1):
        self.axis = axis

    def forward(self, x):
        xp = xp_of(x)
        e = xp.exp(x - x.max(axis=self.axis, keepdims=True))
        self.y = e / e.sum(axis=self.axis, keepdims=True)
        return self.y

    def backward(self, gy):
        y = self.y
        # gx = y * (gy - sum(gy * y))
        return y * (gy - (gy * y).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    def __init__(self, axis=-1):
        self.axis = axis

    def forward(self, x):
        xp = xp_of(x)
        shifted = x - x.max(axis=self.axis, keepdims=True)
        self.y = shifted - xp.log(xp.exp(shifted).sum(axis=self.axis, keepdims=True))
        return self.y

    def backward(self, gy):
        xp = xp_of(gy)
        # gx = gy - softmax * sum(gy)
        return gy - xp.exp(self.y) * gy.sum(axis=self.axis, keepdims=True)


class ReLU6(_Elementwise):
    def f(self, xp, x):
        return xp.clip(x, 0, 6)

    def df(self, xp, x, y):
        return (x > 0) & (x < 6)  # 0 at both kinks, as TF's relu6


class GeneralReLU(_Elementwise):
    """Keras's `activations.relu` with a slope below `threshold` and an optional cap.

    y = x where x > threshold (else 0), clipped to [0, max_value] when capped, then
    `negative_slope * (x - threshold)` added where x < threshold.
    """

    def __init__(self, negative_slope, max_value, threshold):
        self.slope, self.max_value, self.threshold = negative_slope, max_value, threshold

    def f(self, xp, x):
        t = x.dtype.type(self.threshold)
        y = xp.where(x > t, x, 0).astype(x.dtype, copy=False)
        if self.max_value is not None:
            y = xp.clip(y, 0, x.dtype.type(self.max_value))
        if self.slope:
            y = y - x.dtype.type(self.slope) * xp.maximum(t - x, 0)
        return y

    def df(self, xp, x, y):
        t = x.dtype.type(self.threshold)
        passed = x > t
        if self.max_value is not None:
            passed &= (x >= 0) & (x <= x.dtype.type(self.max_value))  # clip's gradient
        g = passed.astype(x.dtype)
        if self.slope:
            g += x.dtype.type(self.slope) * (x < t)
        return g


class HardSigmoid(_Elementwise):
    def f(self, xp, x):
        return xp.clip(x / x.dtype.type(6) + x.dtype.type(0.5), 0, 1)

    def df(self, xp, x, y):
        return ((x > -3) & (x < 3)) * x.dtype.type(1 / 6)


class HardSiLU(_Elementwise):
    def f(self, xp, x):
        return x * xp.clip(x / x.dtype.type(6) + x.dtype.type(0.5), 0, 1)

    def df(self, xp, x, y):
        # x (x + 3) / 6 on (-3, 3): slope (2x + 3) / 6; 0 below, 1 above
        inside = (x > -3) & (x < 3)
        return xp.where(inside, (2 * x + 3) / x.dtype.type(6), x >= 3).astype(x.dtype, copy=False)


class Softsign(_Elementwise):
    def f(self, xp, x):
        return x / (1 + xp.abs(x))

    def df(self, xp, x, y):
        d = 1 + xp.abs(x)
        return 1 / (d * d)


class LogSigmoid(_Elementwise):
    def f(self, xp, x):
        # -softplus(-x) = min(x, 0) - log1p(e^-|x|): finite for every x
        return xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x)))

    def df(self, xp, x, y):
        return _sigmoid(xp, -x)  # d/dx log sigmoid(x) = 1 - sigmoid(x)


class CELU(_Elementwise):
    def __init__(self, alpha):
        self.alpha = alpha

    def f(self, xp, x):
        a = x.dtype.type(self.alpha)
        return xp.maximum(x, 0) + a * xp.expm1(xp.minimum(x, 0) / a)

    def df(self, xp, x, y):
        a = x.dtype.type(self.alpha)
        return xp.where(x > 0, 1, xp.exp(xp.minimum(x, 0) / a)).astype(x.dtype, copy=False)


class HardTanh(_Elementwise):
    def f(self, xp, x):
        return xp.clip(x, -1, 1)

    def df(self, xp, x, y):
        return (x > -1) & (x < 1)


class Mish(_Elementwise):
    def f(self, xp, x):
        softplus = xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))
        self.t = xp.tanh(softplus)
        return x * self.t

    def df(self, xp, x, y):
        t = self.t
        return t + x * (1 - t * t) * _sigmoid(xp, x)  # tanh(sp)' = (1 - tanh^2) sigmoid


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def relu(x):
    """Rectified linear unit: `max(x, 0)` (gradient 0 at 0).

    Args:
        x: a tensor or array-like.

    Returns:
        A tensor of `x`'s shape and dtype.
    """
    return ReLU()(x)


def leaky_relu(x, negative_slope=0.2):
    """Leaky ReLU: `x` for positive inputs, `negative_slope * x` otherwise.

    Args:
        x: a tensor or array-like.
        negative_slope: the slope for negative inputs (Keras's default 0.2).

    Returns:
        A tensor of `x`'s shape and dtype.
    """
    return LeakyReLU(negative_slope)(x)


def elu(x, alpha=1.0):
    """Exponential linear unit: `x` if positive, `alpha * (exp(x) - 1)` otherwise.

    Args:
        x: a tensor or array-like.
        alpha: the scale of the negative part.

    Returns:
        A tensor of `x`'s shape and dtype.
    """
    return ELU(alpha)(x)


def selu(x):
    """Scaled ELU with the self-normalising constants (alpha 1.67326, scale 1.05070).

    Args:
        x: a tensor or array-like.

    Returns:
        A tensor of `x`'s shape and dtype.
    """
    return ELU(_SELU_ALPHA, _SELU_SCALE)(x)


def gelu(x, approximate=True):
    """Gaussian error linear unit `x * Phi(x)`.

    Args:
        x: a tensor or array-like.
        approximate: use the tanh approximation (the default of `keras.ops.gelu`)
            instead of the exact erf form.

    Returns:
        A tensor of `x`'s shape and dtype.
    """
    return GELU(approximate)(x)


def silu(x):
    """Sigmoid linear unit `x * sigmoid(x)` (also called swish).

    Args:
        x: a tensor or array-like.

    Returns:
        A tensor of `x`'s shape and dtype.
    """
    return SiLU()(x)


swish = silu


def sigmoid(x):
    """Logistic function `1 / (1 + exp(-x))`, accurate in both tails.

    Args:
        x: a tensor or array-like.

    Returns:
        A tensor of `x`'s shape and dtype.
    """
    return Sigmoid()(x)


def tanh(x):
    """Hyperbolic tangent.

    Args:
        x: a tensor or array-like.

    Returns:
        A tensor of `x`'s shape and dtype.
    """
    return Tanh()(x)


def softplus(x):
    """Softplus `log(1 + exp(x))`, stable for large `|x|`.

    Args:
        x: a tensor or array-like.

    Returns:
        A tensor of `x`'s shape and dtype.
    """
    return Softplus()(x)


def softmax(x, axis=-1):
    """Softmax over `axis`: `exp(x) / sum(exp(x))`, shifted by the max for stability.

    Args:
        x: a tensor or array-like.
        axis: the axis (or axes) to normalise over.

    Returns:
        A tensor of `x`'s shape and dtype.
    """
    return Softmax(axis)(x)


def log_softmax(x, axis=-1):
    """Log of the softmax over `axis`: `x - logsumexp(x)`, stable for huge logits.

    Args:
        x: a tensor or array-like.
        axis: the axis (or axes) to normalise over.

    Returns:
        A tensor of `x`'s shape and dtype.
    """
    return LogSoftmax(axis)(x)


def relu6(x):
    """ReLU capped at 6: `min(max(x, 0), 6)`.

    Args:
        x: a tensor or array-like.

    Returns:
        A tensor of `x`'s shape and dtype.
    """
    return ReLU6()(x)


def general_relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """ReLU with Keras's `activations.relu` arguments.

    Args:
        x: a tensor or array-like.
        negative_slope: the slope below `threshold`.
        max_value: the cap of the output, or `None` for no cap.
        threshold: inputs at or below it give 0 (plus the slope part).

    Returns:
        A tensor of `x`'s shape and dtype.
    """
    return GeneralReLU(negative_slope, max_value, threshold)(x)


def hard_sigmoid(x):
    """Piecewise linear sigmoid: `clip(x / 6 + 0.5, 0, 1)` (Keras 3's definition).

    Args:
        x: a tensor or array-like.

    Returns:
        A tensor of `x`'s shape and dtype.
    """
    return HardSigmoid()(x)


def hard_silu(x):
    """Hard SiLU (hard swish): `x * hard_sigmoid(x)`.

    Args:
        x: a tensor or array-like.

    Returns:
        A tensor of `x`'s shape and dtype.
    """
    return HardSiLU()(x)


hard_swish = hard_silu


def softsign(x):
    """Softsign `x / (|x| + 1)`.

    Args:
        x: a tensor or array-like.

    Returns:
        A tensor of `x`'s shape and dtype.
    """
    return Softsign()(x)


def log_sigmoid(x):
    """Logarithm of the sigmoid, `-softplus(-x)`, stable in both tails.

    Args:
        x: a tensor or array-like.

    Returns:
        A tensor of `x`'s shape and dtype.
    """
    return LogSigmoid()(x)


def celu(x, alpha=1.0):
    """Continuously differentiable ELU: `max(x, 0) + alpha * min(0, exp(x / alpha) - 1)`.

    Args:
        x: a tensor or array-like.
        alpha: the scale of the negative part; must not be 0.

    Returns:
        A tensor of `x`'s shape and dtype.
    """
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0 (it divides x).")
    return CELU(alpha)(x)


def hard_tanh(x):
    """Hard tanh: `clip(x, -1, 1)`.

    Args:
        x: a tensor or array-like.

    Returns:
        A tensor of `x`'s shape and dtype.
    """
    return HardTanh()(x)


def mish(x):
    """Mish: `x * tanh(softplus(x))`.

    Args:
        x: a tensor or array-like.

    Returns:
        A tensor of `x`'s shape and dtype.
    """
    return Mish()(x)
