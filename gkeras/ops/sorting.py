"""Sorting and selection: sort, argsort, top_k, take_along_axis."""

import numbers

import numpy as np

from gkeras.autodiff import Function, Tensor, as_tensor
from gkeras.ops.math import xp_of
from gkeras.ops.shape import reshape


def _argsort(xp, x, axis):
    # NumPy's default quicksort is not stable; CuPy's sort always is (and takes no kind)
    if xp is np:
        return np.argsort(x, axis=axis, kind="stable")
    return xp.argsort(x, axis=axis)


def _axis(axis, ndim, fn):
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral) or not -ndim <= axis < ndim:
        raise ValueError(f"{fn}: axis {axis!r} is out of bounds for a tensor of rank {ndim}.")
    return int(axis) % ndim


class TakeAlongAxis(Function):
    def __init__(self, indices, axis):
        self.indices, self.axis = indices, axis

    def forward(self, x):
        return xp_of(x).take_along_axis(x, self.indices, axis=self.axis)

    def backward(self, gy):
        xp = xp_of(gy)
        shape = self.inputs[0].shape
        axis = self.axis
        # index every gy entry's source: the gathered index on `axis`, open grids elsewhere
        # (all zeros where x broadcast a size-1 axis); add.at sums repeated picks
        index = []
        for d, n in enumerate(gy.shape):
            if d == axis:
                index.append(xp.broadcast_to(self.indices, gy.shape))
                continue
            grid_shape = [1] * gy.ndim
            grid_shape[d] = n
            grid = xp.arange(n) if shape[d] == n else xp.zeros(n, dtype=np.int64)
            index.append(grid.reshape(grid_shape))
        gx = xp.zeros(shape, dtype=gy.dtype)
        xp.add.at(gx, tuple(index), gy)
        return gx


def take_along_axis(x, indices, axis=None):
    """Picks entries of `x` at `indices` along `axis` (NumPy's `take_along_axis`).

    Args:
        x: a tensor or array-like.
        indices: integer indices with `x`'s rank, broadcastable to `x` outside `axis`.
        axis: the axis to index; `x` is flattened when `None` (then `indices` is 1-D).

    Returns:
        The picked entries; repeated picks sum their gradients.
    """
    x = as_tensor(x)
    xp = xp_of(x.data)
    idx = indices.data if isinstance(indices, Tensor) else xp.asarray(indices)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"take_along_axis: indices must be integers, got dtype {idx.dtype}.")
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    axis = _axis(axis, x.ndim, "take_along_axis")
    if idx.ndim != x.ndim:
        raise ValueError(
            f"take_along_axis: indices of shape {tuple(idx.shape)} must have the rank of x "
            f"{x.shape}."
        )
    return TakeAlongAxis(idx.astype(np.int64, copy=False), axis)(x)


def argsort(x, axis=-1):
    """Indices that sort `x` in ascending order along `axis` (stable: ties keep their order).

    Args:
        x: a tensor or array-like.
        axis: the axis to sort; the flattened tensor when `None`.

    Returns:
        An integer tensor (no gradient).
    """
    x = as_tensor(x)
    data = x.data
    if axis is None:
        data, axis = data.reshape(-1), 0
    return Tensor(_argsort(xp_of(data), data, _axis(axis, data.ndim, "argsort")))


def sort(x, axis=-1):
    """Sorts `x` in ascending order along `axis`.

    Args:
        x: a tensor or array-like.
        axis: the axis to sort; the flattened tensor when `None`.

    Returns:
        The sorted tensor; the gradient goes back to each value's original place.
    """
    x = as_tensor(x)
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    axis = _axis(axis, x.ndim, "sort")
    order = _argsort(xp_of(x.data), x.data, axis)
    return TakeAlongAxis(order, axis)(x)


def _descending_order(xp, x):
    """A stable descending order along the last axis (the lower index first among ties)."""
    if x.dtype.kind == "f":
        key = -x
    else:  # negating unsigned or bool values would wrap: widen first
        key = -(x.astype(np.int64))
    return _argsort(xp, key, -1)


def top_k(x, k, sorted=True):  # noqa: A002  (Keras's argument name)
    """The `k` largest entries along the last axis, and their indices.

    Args:
        x: a tensor or array-like of rank >= 1.
        k: how many entries to keep, at most the size of the last axis.
        sorted: return them in descending order (they are always returned sorted here,
            a valid answer for `sorted=False` too).

    Returns:
        A tuple `(values, indices)`, each of shape `x.shape[:-1] + (k,)`; gradients flow
        from `values` to the picked entries. Ties pick the lower index first.
    """
    x = as_tensor(x)
    if x.ndim == 0:
        raise ValueError("top_k: expected a tensor of rank >= 1, got a scalar.")
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 0:
        raise ValueError(f"top_k: k must be a non-negative int, got {k!r}.")
    n = x.shape[-1]
    if k > n:
        raise ValueError(f"top_k: k={k} is larger than the last axis of x {x.shape} ({n}).")
    order = _descending_order(xp_of(x.data), x.data)[..., :k]
    values = TakeAlongAxis(order, x.ndim - 1)(x)
    return values, Tensor(order.astype(np.int32))
