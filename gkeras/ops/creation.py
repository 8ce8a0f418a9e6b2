"""Array creation: ones, zeros, full, their `_like` forms, arange, eye, identity.

New arrays carry no gradient. They are placed on the active backend (placement follows the
configuration); the `_like` forms go where their template lives (dispatch follows the data).
"""

import numbers

import numpy as np

from gkeras import backend as backend_module
from gkeras.autodiff import Tensor, as_tensor, to_array
from gkeras.backend import backend_of


def _dtype(dtype, default, fn):
    """`dtype` as a NumPy dtype (`default` when `None`), or a TypeError naming `fn`."""
    if dtype is None:
        dtype = default
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(
            f"{fn}: expected a dtype such as 'float32' or 'int32', got {dtype!r}."
        ) from None


def _shape(shape, fn):
    """`shape` as a tuple of non-negative ints (an int is a 1-D shape), or a ValueError."""
    dims = (shape,) if isinstance(shape, numbers.Integral) else shape
    try:
        dims = tuple(dims)
    except TypeError:
        raise TypeError(
            f"{fn}: expected a shape (an int or a tuple of ints), got {shape!r}."
        ) from None
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, numbers.Integral) or d < 0:
            raise ValueError(f"{fn}: expected a shape of non-negative ints, got {shape!r}.")
    return tuple(int(d) for d in dims)


def _xp():
    return backend_module.get_backend().xp


def _like(x):
    """`x` as a raw array, and the array module that owns it."""
    data = as_tensor(x).data
    return data, backend_of(data).xp


def ones(shape, dtype=None):
    """Returns a new tensor of `shape` filled with ones.

    Args:
        shape: an int or a tuple of ints.
        dtype: the dtype; `floatx()` when `None`.

    Returns:
        A tensor on the active backend.
    """
    return Tensor(_xp().ones(_shape(shape, "ones"), _dtype(dtype, backend_module.floatx(), "ones")))


def zeros(shape, dtype=None):
    """Returns a new tensor of `shape` filled with zeros.

    Args:
        shape: an int or a tuple of ints.
        dtype: the dtype; `floatx()` when `None`.

    Returns:
        A tensor on the active backend.
    """
    dtype = _dtype(dtype, backend_module.floatx(), "zeros")
    return Tensor(_xp().zeros(_shape(shape, "zeros"), dtype))


def full(shape, fill_value, dtype=None):
    """Returns a new tensor of `shape` filled with `fill_value`.

    Args:
        shape: an int or a tuple of ints.
        fill_value: a scalar, or an array broadcastable to `shape`.
        dtype: the dtype; `floatx()` when `None` (as `keras.ops.full`).

    Returns:
        A tensor on the active backend.
    """
    shape = _shape(shape, "full")
    dtype = _dtype(dtype, backend_module.floatx(), "full")
    return Tensor(_filled(backend_module.get_backend(), shape, fill_value, dtype, "full"))


def _filled(bk, shape, fill_value, dtype, fn):
    """A new array of `bk` filled with a scalar or a broadcastable array."""
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.data
    if isinstance(fill_value, numbers.Number):
        return bk.xp.full(shape, fill_value, dtype=dtype)
    fill = to_array(fill_value, bk)
    try:
        np.broadcast_shapes(tuple(fill.shape), shape)
    except ValueError:
        raise ValueError(
            f"{fn}: fill_value of shape {tuple(fill.shape)} does not broadcast to {shape}."
        ) from None
    out = bk.xp.empty(shape, dtype=dtype)
    out[...] = fill  # an array fill through assignment: works the same on NumPy and CuPy
    return out


def ones_like(x, dtype=None):
    """Returns a tensor of ones with the shape of `x`.

    Args:
        x: a tensor or array-like.
        dtype: the dtype; `x`'s dtype when `None`.

    Returns:
        A tensor on `x`'s backend.
    """
    data, xp = _like(x)
    return Tensor(xp.ones(data.shape, _dtype(dtype, data.dtype, "ones_like")))


def zeros_like(x, dtype=None):
    """Returns a tensor of zeros with the shape of `x`.

    Args:
        x: a tensor or array-like.
        dtype: the dtype; `x`'s dtype when `None`.

    Returns:
        A tensor on `x`'s backend.
    """
    data, xp = _like(x)
    return Tensor(xp.zeros(data.shape, _dtype(dtype, data.dtype, "zeros_like")))


def full_like(x, fill_value, dtype=None):
    """Returns a tensor with the shape of `x` filled with `fill_value`.

    Args:
        x: a tensor or array-like.
        fill_value: a scalar, or an array broadcastable to `x`'s shape.
        dtype: the dtype; `x`'s dtype when `None`.

    Returns:
        A tensor on `x`'s backend.
    """
    data, _ = _like(x)
    dtype = _dtype(dtype, data.dtype, "full_like")
    return Tensor(_filled(backend_of(data), data.shape, fill_value, dtype, "full_like"))


def _scalar_dtype(values):
    """Keras's inference for `arange`: int32 for Python ints, `floatx()` once a float appears."""
    dtypes = []
    for v in values:
        if isinstance(v, Tensor) or hasattr(v, "dtype"):
            dtypes.append(np.dtype(v.dtype))
        elif isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise TypeError(f"arange: expected int or float bounds, got {v!r}.")
        elif isinstance(v, numbers.Integral):
            dtypes.append(np.dtype("int32"))
        else:
            dtypes.append(np.dtype(backend_module.floatx()))
    if any(d.kind == "f" for d in dtypes):
        floats = [d for d in dtypes if d.kind == "f"]
        return np.result_type(*floats)
    return np.result_type(*dtypes)


def arange(start, stop=None, step=1, dtype=None):
    """Evenly spaced values in the half-open interval `[start, stop)`.

    `arange(stop)` counts from 0, as in NumPy.

    Args:
        start: the first value (or the stop, when `stop` is `None`).
        stop: the end, excluded.
        step: the spacing; must not be 0.
        dtype: the dtype; inferred when `None`: `int32` for int bounds, `floatx()` when
            any bound is a float (as `keras.ops.arange`).

    Returns:
        A 1-D tensor on the active backend.
    """
    if step is None:
        step = 1
    bounds = [start, step] + ([] if stop is None else [stop])
    bounds = [b.item() if isinstance(b, Tensor) and b.ndim == 0 else b for b in bounds]
    dtype = _scalar_dtype(bounds) if dtype is None else _dtype(dtype, None, "arange")
    start, step = bounds[0], bounds[1]
    stop = bounds[2] if len(bounds) > 2 else None
    if step == 0:
        raise ValueError("arange: step must not be 0.")
    if stop is None:
        start, stop = 0, start
    return Tensor(_xp().arange(start, stop, step, dtype=dtype))


def eye(N, M=None, k=0, dtype=None):  # noqa: N803  (Keras's argument names)
    """A 2-D tensor with ones on the `k`-th diagonal and zeros elsewhere.

    Args:
        N: the number of rows.
        M: the number of columns; `N` when `None`.
        k: the diagonal: 0 the main one, positive above it, negative below.
        dtype: the dtype; `floatx()` when `None`.

    Returns:
        An (N, M) tensor on the active backend.
    """
    rows, cols = _shape((N, N if M is None else M), "eye")
    if isinstance(k, bool) or not isinstance(k, numbers.Integral):
        raise TypeError(f"eye: expected an int diagonal offset k, got {k!r}.")
    dtype = _dtype(dtype, backend_module.floatx(), "eye")
    return Tensor(_xp().eye(rows, cols, int(k), dtype=dtype))


def identity(n, dtype=None):
    """The (n, n) identity matrix.

    Args:
        n: the number of rows and columns.
        dtype: the dtype; `floatx()` when `None`.

    Returns:
        An (n, n) tensor on the active backend.
    """
    (n,) = _shape((n,), "identity")
    return Tensor(_xp().eye(n, dtype=_dtype(dtype, backend_module.floatx(), "identity")))
