"""Array manipulation that copies or reorders entries: pad, tile, repeat, flip."""

import numbers

import numpy as np

from gkeras.autodiff import Function, Tensor, as_tensor
from gkeras.ops.math import xp_of
from gkeras.ops.shape import get_item, reshape, take

_PAD_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


class ConstantPad(Function):
    def __init__(self, widths, value):
        self.widths, self.value = widths, value

    def forward(self, x):
        return xp_of(x).pad(x, self.widths, mode="constant", constant_values=self.value)

    def backward(self, gy):
        # the padded border is constant: the gradient is the interior of gy
        return gy[tuple(slice(b, b + n) for (b, _), n in zip(self.widths, self.inputs[0].shape))]


def _pad_widths(pad_width, shape):
    """Keras's (and NumPy's) `pad_width` forms as one `(before, after)` pair per axis."""
    ndim = len(shape)
    expected = (
        f"an int, (pad,), ((before, after),) or {ndim} (before, after) pairs for a tensor of "
        f"shape {tuple(shape)}"
    )
    if _is_int(pad_width):
        pairs = [(pad_width, pad_width)] * ndim
    else:
        try:
            items = [tuple(p) if not _is_int(p) else p for p in pad_width]
        except TypeError:
            raise ValueError(
                f"pad: expected pad_width to be {expected}; got {pad_width!r}."
            ) from None
        if len(items) == 1 and _is_int(items[0]):  # (pad,)
            pairs = [(items[0], items[0])] * ndim
        elif len(items) == 2 and all(_is_int(p) for p in items):  # (before, after), as NumPy
            pairs = [tuple(items)] * ndim
        elif len(items) == 1 and len(items[0]) == 2:  # ((before, after),)
            pairs = [items[0]] * ndim
        elif len(items) == ndim and all(not _is_int(p) and len(p) == 2 for p in items):
            pairs = items
        else:
            raise ValueError(f"pad: expected pad_width to be {expected}; got {pad_width!r}.")
    for pair in pairs:
        if not all(_is_int(p) and p >= 0 for p in pair):
            raise ValueError(f"pad: pad widths must be non-negative ints, got {pad_width!r}.")
    return tuple((int(b), int(a)) for b, a in pairs)


def pad(x, pad_width, mode="constant", constant_values=None):
    """Pads a tensor.

    Args:
        x: a tensor or array-like.
        pad_width: the number of values added at the edges of each axis:
            `((before_1, after_1), ..., (before_N, after_N))` per axis, `((before, after),)`
            for every axis, or `(pad,)` / an int for `before = after = pad` everywhere.
        mode: one of `"constant"`, `"edge"`, `"reflect"`, `"symmetric"`, `"wrap"` (NumPy's
            meanings).
        constant_values: the fill value in `"constant"` mode (0 when `None`); it may only be
            given in that mode.

    Returns:
        The padded tensor. Gradients flow to every entry the padding copied from.
    """
    x = as_tensor(x)
    if mode not in _PAD_MODES:
        raise ValueError(f"pad: unknown mode {mode!r}. Expected one of {list(_PAD_MODES)}.")
    if constant_values is not None and mode != "constant":
        raise ValueError(
            f"pad: constant_values can only be given with mode='constant', got mode={mode!r}."
        )
    widths = _pad_widths(pad_width, x.shape)
    if mode == "constant":
        value = 0 if constant_values is None else constant_values
        if isinstance(value, Tensor):
            value = value.item()
        return ConstantPad(widths, value)(x)
    for (before, after), n in zip(widths, x.shape):
        if n == 0 and before + after > 0:
            raise ValueError(f"pad: cannot pad an empty axis in mode {mode!r} (shape {x.shape}).")
    # every other mode only copies entries: pad the flat index map once on the host, and
    # gather with it (take's backward scatter-adds into the copied-from entries)
    index = np.pad(np.arange(x.size).reshape(x.shape), widths, mode=mode)
    return take(reshape(x, (-1,)), Tensor(xp_of(x.data).asarray(index)))


class Tile(Function):
    def __init__(self, reps):
        self.reps = reps

    def forward(self, x):
        return xp_of(x).tile(x, self.reps)

    def backward(self, gy):
        shape = self.inputs[0].shape
        reps = self.reps
        rank = len(reps)
        padded = (1,) * (rank - len(shape)) + tuple(shape)
        # gy is laid out (r0, s0, r1, s1, ...): sum the copies on the r axes
        interleaved = [n for pair in zip(reps, padded) for n in pair]
        g = gy.reshape(interleaved).sum(axis=tuple(range(0, 2 * rank, 2)))
        return g.reshape(shape)


def tile(x, repeats):
    """Repeats `x` `repeats` times along each axis.

    Args:
        x: a tensor or array-like.
        repeats: an int or a sequence of ints, one per axis; a shorter sequence applies to
            the trailing axes, a longer one adds leading axes (as `numpy.tile`).

    Returns:
        The tiled tensor; the gradient sums over the copies.
    """
    x = as_tensor(x)
    reps = (repeats,) if _is_int(repeats) else tuple(repeats)
    if not all(_is_int(r) and r >= 0 for r in reps):
        raise ValueError(f"tile: repeats must be non-negative ints, got {repeats!r}.")
    reps = (1,) * (x.ndim - len(reps)) + tuple(int(r) for r in reps)
    return Tile(reps)(x)


def repeat(x, repeats, axis=None):
    """Repeats each entry of `x` along `axis`.

    Args:
        x: a tensor or array-like.
        repeats: an int, or one int per entry along `axis`.
        axis: the axis to repeat along; the flattened tensor when `None`.

    Returns:
        The tensor with repeated entries; the gradient sums over the copies.
    """
    x = as_tensor(x)
    if axis is None:
        x, axis = reshape(x, (-1,)), 0
    if not _is_int(axis) or not -x.ndim <= axis < x.ndim:
        raise ValueError(f"repeat: axis {axis!r} is out of bounds for a tensor of rank {x.ndim}.")
    n = x.shape[axis]
    counts = repeats.numpy() if isinstance(repeats, Tensor) else np.asarray(repeats)
    if counts.dtype.kind not in "iu" or counts.ndim > 1 or np.any(counts < 0):
        raise ValueError(f"repeat: repeats must be non-negative ints, got {repeats!r}.")
    if counts.ndim == 1 and counts.size not in (1, n):
        raise ValueError(
            f"repeat: expected 1 or {n} repeat counts for an axis of size {n}, got {counts.size}."
        )
    index = np.repeat(np.arange(n), counts)
    return take(x, Tensor(xp_of(x.data).asarray(index)), axis=axis)


def flip(x, axis=None):
    """Reverses the order of entries along `axis`.

    Args:
        x: a tensor or array-like.
        axis: an int, a tuple of ints, or `None` for every axis.

    Returns:
        A tensor of `x`'s shape.
    """
    x = as_tensor(x)
    axes = range(x.ndim) if axis is None else ((axis,) if _is_int(axis) else tuple(axis))
    index = [slice(None)] * x.ndim
    for a in axes:
        if not _is_int(a) or not -x.ndim <= a < x.ndim:
            raise ValueError(f"flip: axis {a!r} is out of bounds for a tensor of rank {x.ndim}.")
        index[a] = slice(None, None, -1)
    return get_item(x, tuple(index))
