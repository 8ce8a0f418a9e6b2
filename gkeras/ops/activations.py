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
