"""Logical ops and predicates: boolean results, no gradient."""

from gkeras.autodiff import Tensor, as_tensor, as_tensors
from gkeras.ops.math import xp_of
from gkeras.ops.reduction import _normalize_axis


def _binary(name, x1, x2):
    a, b = as_tensors((x1, x2))
    try:
        return Tensor(getattr(xp_of(a.data), name)(a.data, b.data))
    except ValueError:
        raise ValueError(
            f"{name}: shapes {a.shape} and {b.shape} cannot be broadcast together."
        ) from None


def _unary(name, x):
    x = as_tensor(x)
    return Tensor(getattr(xp_of(x.data), name)(x.data))


def logical_and(x1, x2):
    """Elementwise truth of `x1 and x2` (nonzero counts as true).

    Args:
        x1: a tensor or array-like.
        x2: a tensor or array-like; the two broadcast against each other.

    Returns:
        A boolean tensor of the broadcast shape.
    """
    return _binary("logical_and", x1, x2)


def logical_or(x1, x2):
    """Elementwise truth of `x1 or x2` (nonzero counts as true).

    Args:
        x1: a tensor or array-like.
        x2: a tensor or array-like; the two broadcast against each other.

    Returns:
        A boolean tensor of the broadcast shape.
    """
    return _binary("logical_or", x1, x2)


def logical_xor(x1, x2):
    """Elementwise truth of `x1 xor x2` (nonzero counts as true).

    Args:
        x1: a tensor or array-like.
        x2: a tensor or array-like; the two broadcast against each other.

    Returns:
        A boolean tensor of the broadcast shape.
    """
    return _binary("logical_xor", x1, x2)


def logical_not(x):
    """Elementwise `not x` (nonzero counts as true).

    Args:
        x: a tensor or array-like.

    Returns:
        A boolean tensor of `x`'s shape.
    """
    return _unary("logical_not", x)


def isnan(x):
    """Elementwise test for NaN.

    Args:
        x: a tensor or array-like.

    Returns:
        A boolean tensor of `x`'s shape.
    """
    return _unary("isnan", x)


def isinf(x):
    """Elementwise test for positive or negative infinity.

    Args:
        x: a tensor or array-like.

    Returns:
        A boolean tensor of `x`'s shape.
    """
    return _unary("isinf", x)


def isfinite(x):
    """Elementwise test for finite values (neither infinite nor NaN).

    Args:
        x: a tensor or array-like.

    Returns:
        A boolean tensor of `x`'s shape.
    """
    return _unary("isfinite", x)


def all(x, axis=None, keepdims=False):  # noqa: A001  (Keras's name)
    """Whether every element along `axis` is true (nonzero).

    Args:
        x: a tensor or array-like.
        axis: an int, a tuple of ints, or `None` for every axis.
        keepdims: keep the reduced axes with size 1.

    Returns:
        A boolean tensor.
    """
    x = as_tensor(x)
    axes = _normalize_axis(axis, x.ndim)
    return Tensor(xp_of(x.data).asarray(x.data.all(axis=axes, keepdims=keepdims)))


def any(x, axis=None, keepdims=False):  # noqa: A001  (Keras's name)
    """Whether some element along `axis` is true (nonzero).

    Args:
        x: a tensor or array-like.
        axis: an int, a tuple of ints, or `None` for every axis.
        keepdims: keep the reduced axes with size 1.

    Returns:
        A boolean tensor.
    """
    x = as_tensor(x)
    axes = _normalize_axis(axis, x.ndim)
    return Tensor(xp_of(x.data).asarray(x.data.any(axis=axes, keepdims=keepdims)))
