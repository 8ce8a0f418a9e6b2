"""Reductions (sum, mean, max, min with keepdims, var, std, logsumexp, argmax, argmin) and
the scans cumsum and cumprod."""

from gkeras.autodiff import Function, Tensor, as_tensor
from gkeras.ops.math import add, exp, log, sqrt, square, subtract, xp_of
from gkeras.ops.shape import cast, reshape


def _normalize_axis(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"axis {a} is out of bounds for a tensor of rank {ndim}.")
    return tuple(a % ndim for a in axes)


def _kept_shape(shape, axes):
    """`shape` with the reduced `axes` set to 1: what a keepdims reduction returns."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Sum(Function):
    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.axes = _normalize_axis(self.axis, x.ndim)
        self.in_shape = x.shape
        return x.sum(axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):
        # every reduced entry gets the gradient of its sum: broadcast gy back (into a fresh
        # array: the engine may hand a gradient to several consumers)
        g = xp_of(gy).empty(self.in_shape, dtype=gy.dtype)
        g[...] = gy.reshape(_kept_shape(self.in_shape, self.axes))
        return g


class Mean(Sum):
    def forward(self, x):
        y = super().forward(x)
        self.count = 1
        for ax in self.axes:
            self.count *= x.shape[ax]
        return y / self.count if self.count else y

    def backward(self, gy):
        return super().backward(gy / self.count)


class Max(Function):
    def __init__(self, axis=None, keepdims=False, use_min=False):
        self.axis, self.keepdims, self.use_min = axis, keepdims, use_min

    def forward(self, x):
        self.axes = _normalize_axis(self.axis, x.ndim)
        reduce = x.min if self.use_min else x.max
        self.y = reduce(axis=self.axes, keepdims=True)
        if self.keepdims:
            return self.y
        return self.y.reshape([n for i, n in enumerate(x.shape) if i not in self.axes])

    def backward(self, gy):
        x = self.inputs[0].data
        g = gy.reshape(self.y.shape)
        mask = x == self.y
        # ties share the gradient equally (as TF does), a valid subgradient of max
        count = mask.sum(axis=self.axes, keepdims=True).astype(gy.dtype)
        return mask * (g / count)


def sum(x, axis=None, keepdims=False):  # noqa: A001
    """Sum over `axis`.

    Args:
        x: a tensor or array-like.
        axis: an int, a tuple of ints, or `None` for every axis.
        keepdims: keep the reduced axes with size 1.

    Returns:
        The reduced tensor.
    """
    return Sum(axis, keepdims)(x)


def mean(x, axis=None, keepdims=False):
    """Mean over `axis`.

    Args:
        x: a tensor or array-like.
        axis: an int, a tuple of ints, or `None` for every axis.
        keepdims: keep the reduced axes with size 1.

    Returns:
        The reduced tensor.
    """
    return Mean(axis, keepdims)(x)


def max(x, axis=None, keepdims=False):  # noqa: A001
    """Maximum over `axis`; tied maxima share the gradient equally (as TF).

    Args:
        x: a tensor or array-like.
        axis: an int, a tuple of ints, or `None` for every axis.
        keepdims: keep the reduced axes with size 1.

    Returns:
        The reduced tensor.
    """
    return Max(axis, keepdims)(x)


def min(x, axis=None, keepdims=False):  # noqa: A001
    """Minimum over `axis`; tied minima share the gradient equally.

    Args:
        x: a tensor or array-like.
        axis: an int, a tuple of ints, or `None` for every axis.
        keepdims: keep the reduced axes with size 1.

    Returns:
        The reduced tensor.
    """
    return Max(axis, keepdims, use_min=True)(x)


def var(x, axis=None, keepdims=False):
    """Population variance over `axis` (divides by N, as `keras.ops.var`).

    Args:
        x: a tensor or array-like.
        axis: an int, a tuple of ints, or `None` for every axis.
        keepdims: keep the reduced axes with size 1.

    Returns:
        The reduced tensor.
    """
    x = as_tensor(x)
    centered = subtract(x, mean(x, axis=axis, keepdims=True))
    return mean(square(centered), axis=axis, keepdims=keepdims)


def std(x, axis=None, keepdims=False):
    """Population standard deviation over `axis`.

    Args:
        x: a tensor or array-like.
        axis: an int, a tuple of ints, or `None` for every axis.
        keepdims: keep the reduced axes with size 1.

    Returns:
        The reduced tensor.
    """
    return sqrt(var(x, axis=axis, keepdims=keepdims))


def logsumexp(x, axis=None, keepdims=False):
    """`log(sum(exp(x)))` over `axis`, computed without overflow.

    Args:
        x: a tensor or array-like.
        axis: an int, a tuple of ints, or `None` for every axis.
        keepdims: keep the reduced axes with size 1.

    Returns:
        The reduced tensor.
    """
    x = as_tensor(x)
    axes = _normalize_axis(axis, x.ndim)
    xp = xp_of(x.data)
    # the shift m is a constant for the gradient: d/dx [lse(x - m) + m] = softmax(x) for any m
    m = x.data.max(axis=axes, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0).astype(x.dtype, copy=False)
    out = log(sum(exp(subtract(x, Tensor(m))), axis=axes, keepdims=keepdims))
    return add(out, Tensor(m if keepdims else m.reshape(out.shape)))


def argmax(x, axis=None, keepdims=False):
    """Indices of the maxima along `axis` (no gradient).

    Args:
        x: a tensor or array-like.
        axis: an int, or `None` to index into the flattened tensor (Keras's default).
        keepdims: keep the reduced axis with size 1.

    Returns:
        An integer tensor.
    """
    x = as_tensor(x)
    return Tensor(x.data.argmax(axis=axis, keepdims=keepdims))


def argmin(x, axis=None, keepdims=False):
    """Indices of the minima along `axis` (no gradient).

    Args:
        x: a tensor or array-like.
        axis: an int, or `None` to index into the flattened tensor (Keras's default).
        keepdims: keep the reduced axis with size 1.

    Returns:
        An integer tensor.
    """
    x = as_tensor(x)
    return Tensor(x.data.argmin(axis=axis, keepdims=keepdims))


# --------------------------------------------------------------------------- scans
class CumSum(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        return xp_of(x).cumsum(x, axis=self.axis)

    def backward(self, gy):
        xp = xp_of(gy)
        # y_j = sum_{i<=j} x_i, so gx_i = sum_{j>=i} gy_j: a cumsum from the far end
        return xp.flip(xp.cumsum(xp.flip(gy, self.axis), axis=self.axis), self.axis)


class CumProd(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, x):
        self.y = xp_of(x).cumprod(x, axis=self.axis)
        return self.y

    def backward(self, gy):
        xp = xp_of(gy)
        # y_j = prod_{i<=j} x_i, so gx_i = sum_{j>=i} gy_j y_j / x_i (valid for x_i != 0)
        flipped = xp.flip(gy * self.y, self.axis)
        return xp.flip(xp.cumsum(flipped, axis=self.axis), self.axis) / self.inputs[0].data


def _scan(cls, name, x, axis, dtype):
    x = as_tensor(x)
    if dtype is not None:
        x = cast(x, dtype)
    if axis is None:  # NumPy's convention: scan the flattened tensor
        x, axis = reshape(x, (-1,)), 0
    elif isinstance(axis, bool) or not isinstance(axis, int) or not -x.ndim <= axis < x.ndim:
        raise ValueError(f"{name}: axis {axis!r} is out of bounds for a tensor of rank {x.ndim}.")
    return cls(axis % x.ndim)(x)


def cumsum(x, axis=None, dtype=None):
    """Cumulative sum along `axis`.

    Args:
        x: a tensor or array-like.
        axis: the axis to scan; the flattened tensor when `None`.
        dtype: an optional dtype to cast `x` to first.

    Returns:
        A tensor of `x`'s shape (1-D when `axis` is `None`).
    """
    return _scan(CumSum, "cumsum", x, axis, dtype)


def cumprod(x, axis=None, dtype=None):
    """Cumulative product along `axis`.

    The gradient divides by `x`, so it is not defined where `x` has zeros.

    Args:
        x: a tensor or array-like.
        axis: the axis to scan; the flattened tensor when `None`.
        dtype: an optional dtype to cast `x` to first.

    Returns:
        A tensor of `x`'s shape (1-D when `axis` is `None`).
    """
    return _scan(CumProd, "cumprod", x, axis, dtype)
