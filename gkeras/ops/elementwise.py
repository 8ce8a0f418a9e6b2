"""More elementwise math: trigonometry, rounding, and `stop_gradient`."""

import numbers

from gkeras.autodiff import Function, Tensor, as_tensor
from gkeras.ops.math import xp_of


class Sin(Function):
    def forward(self, x):
        return xp_of(x).sin(x)

    def backward(self, gy):
        return gy * xp_of(gy).cos(self.inputs[0].data)  # sin' = cos


class Cos(Function):
    def forward(self, x):
        return xp_of(x).cos(x)

    def backward(self, gy):
        return -gy * xp_of(gy).sin(self.inputs[0].data)  # cos' = -sin


class Tan(Function):
    def forward(self, x):
        self.y = xp_of(x).tan(x)
        return self.y

    def backward(self, gy):
        return gy * (1 + self.y * self.y)  # tan' = 1 + tan^2


def sin(x):
    """Elementwise sine.

    Args:
        x: a tensor or array-like (radians).

    Returns:
        A tensor of `x`'s shape and dtype.
    """
    return Sin()(x)


def cos(x):
    """Elementwise cosine.

    Args:
        x: a tensor or array-like (radians).

    Returns:
        A tensor of `x`'s shape and dtype.
    """
    return Cos()(x)


def tan(x):
    """Elementwise tangent.

    Args:
        x: a tensor or array-like (radians).

    Returns:
        A tensor of `x`'s shape and dtype.
    """
    return Tan()(x)


# Rounding is piecewise constant: like TF (and `sign` here) it has no gradient, so the result
# is a constant Tensor and nothing flows back to `x`.
def floor(x):
    """Elementwise floor (no gradient).

    Args:
        x: a tensor or array-like.

    Returns:
        A tensor of `x`'s shape and dtype.
    """
    x = as_tensor(x)
    return Tensor(xp_of(x.data).floor(x.data))


def ceil(x):
    """Elementwise ceiling (no gradient).

    Args:
        x: a tensor or array-like.

    Returns:
        A tensor of `x`'s shape and dtype.
    """
    x = as_tensor(x)
    return Tensor(xp_of(x.data).ceil(x.data))


def round(x, decimals=0):  # noqa: A001  (Keras's name)
    """Rounds to `decimals` places, halves to even as NumPy does (no gradient).

    Args:
        x: a tensor or array-like.
        decimals: the number of decimal places; negative values round to tens, hundreds...

    Returns:
        A tensor of `x`'s shape and dtype.
    """
    if isinstance(decimals, bool) or not isinstance(decimals, numbers.Integral):
        raise TypeError(f"round: expected an int number of decimals, got {decimals!r}.")
    x = as_tensor(x)
    return Tensor(xp_of(x.data).round(x.data, int(decimals)))


def stop_gradient(variable):
    """Returns `variable`'s value as a constant: no gradient flows back through it.

    Args:
        variable: a tensor or array-like.

    Returns:
        A Tensor sharing `variable`'s data, outside the autodiff graph.
    """
    return Tensor(as_tensor(variable).data)
