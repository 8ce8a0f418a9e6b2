"""Shape and indexing ops: reshape, transpose, concatenate, slicing, gather, casts."""

import itertools
import numbers

import numpy as np

from gkeras.autodiff import Function, Tensor, as_tensor, as_tensors
from gkeras.ops.math import sum_to, xp_of


class Reshape(Function):
    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        return x.reshape(self.shape)

    def backward(self, gy):
        return gy.reshape(self.inputs[0].shape)


class Transpose(Function):
    def __init__(self, axes=None):
        self.axes = axes

    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, gy):
        if self.axes is None:
            return gy.transpose()
        inverse = [0] * len(self.axes)
        for i, ax in enumerate(self.axes):
            inverse[ax % len(self.axes)] = i
        return gy.transpose(inverse)


class BroadcastTo(Function):
    def __init__(self, shape):
        self.shape = tuple(shape)

    def forward(self, x):
        return xp_of(x).broadcast_to(x, self.shape).copy()

    def backward(self, gy):
        return sum_to(gy, self.inputs[0].shape)


class Concatenate(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, *xs):
        self.sizes = [x.shape[self.axis] for x in xs]
        return xp_of(xs[0]).concatenate(xs, axis=self.axis)

    def backward(self, gy):
        bounds = list(itertools.accumulate(self.sizes))[:-1]
        return tuple(xp_of(gy).split(gy, bounds, axis=self.axis))


class GetItem(Function):
    def __init__(self, index):
        self.index = index

    def forward(self, x):
        self.in_shape = x.shape
        return x[self.index]

    def backward(self, gy):
        xp = xp_of(gy)
        gx = xp.zeros(self.in_shape, dtype=gy.dtype)
        if _is_basic_index(self.index):
            gx[self.index] = gy  # slices and ints never pick an element twice
        else:
            # add.at accumulates repeated indices (a gather that picks one row twice)
            xp.add.at(gx, self.index, gy)
        return gx


def _is_basic_index(index):
    items = index if isinstance(index, tuple) else (index,)
    for item in items:
        if item is None or item is Ellipsis or isinstance(item, slice):
            continue
        if isinstance(item, numbers.Integral) and not isinstance(item, bool):
            continue
        return False
    return True


class Take(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, x, indices):
        self.idx = indices.astype("int64", copy=False).ravel()
        self.in_shape = x.shape
        return xp_of(x).take(x, indices.astype("int64", copy=False), axis=self.axis)

    def backward(self, gy):
        xp = xp_of(gy)
        shape, idx = self.in_shape, self.idx
        if self.axis is None:  # indices into the flattened input
            gx = xp.zeros(int(_prod(shape)), dtype=gy.dtype)
            xp.add.at(gx, idx, gy.ravel())
            return gx.reshape(shape), None
        axis = self.axis % len(shape)
        gx = xp.zeros(shape, dtype=gy.dtype)
        # gy has the index dimensions where x had `axis`: flatten them to one, move it first,
        # and scatter-add rows (add.at sums the rows of repeated indices)
        flat_g = gy.reshape(shape[:axis] + (idx.size,) + shape[axis + 1 :])
        xp.add.at(xp.moveaxis(gx, axis, 0), idx, xp.moveaxis(flat_g, axis, 0))
        return gx, None


def _prod(shape):
    n = 1
    for d in shape:
        n *= d
    return n


class Cast(Function):
    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, x):
        return x.astype(self.dtype)

    def backward(self, gy):
        return gy.astype(self.inputs[0].dtype)


def reshape(x, new_shape):
    """Reshapes `x` without changing its data.

    Args:
        x: a tensor or array-like.
        new_shape: the new shape; one dimension may be `-1`.

    Returns:
        A tensor of `new_shape`.
    """
    return Reshape(new_shape)(x)


def transpose(x, axes=None):
    """Permutes the axes of `x`.

    Args:
        x: a tensor or array-like.
        axes: a permutation of the axes; reversed order when `None`.

    Returns:
        The transposed tensor.
    """
    return Transpose(axes)(x)


def broadcast_to(x, shape):
    """Broadcasts `x` to `shape` (a copy, so it can be written).

    Args:
        x: a tensor or array-like.
        shape: a shape `x` broadcasts to.

    Returns:
        A tensor of `shape`.
    """
    return BroadcastTo(shape)(x)


def expand_dims(x, axis):
    """Inserts a size-1 axis at `axis`.

    Args:
        x: a tensor or array-like.
        axis: where the new axis goes, in the result's numbering.

    Returns:
        A tensor of rank `x.ndim + 1`.
    """
    x = as_tensor(x)
    ndim = x.ndim + 1
    if not -ndim <= axis < ndim:
        raise ValueError(f"expand_dims: axis {axis} is out of bounds for a result of rank {ndim}.")
    axis = axis % ndim
    return reshape(x, x.shape[:axis] + (1,) + x.shape[axis:])


def squeeze(x, axis=None):
    """Removes size-1 axes.

    Args:
        x: a tensor or array-like.
        axis: an int or tuple of axes to remove (each must have size 1), or `None` for all.

    Returns:
        The squeezed tensor.
    """
    x = as_tensor(x)
    if axis is None:
        axes = [i for i, n in enumerate(x.shape) if n == 1]
    else:
        axes = [a % x.ndim for a in ((axis,) if isinstance(axis, int) else axis)]
        for a in axes:
            if x.shape[a] != 1:
                raise ValueError(
                    f"Cannot squeeze axis {a} of a tensor of shape {x.shape}: its size is not 1."
                )
    return reshape(x, [n for i, n in enumerate(x.shape) if i not in axes])


def concatenate(xs, axis=0):
    """Joins tensors along an existing axis (the first by default, as `keras.ops.concatenate`).

    Args:
        xs: a list of tensors with equal shapes outside `axis`.
        axis: the axis to join along.

    Returns:
        The joined tensor.
    """
    xs = as_tensors(list(xs))
    if not xs:
        raise ValueError("concatenate needs at least one tensor, got an empty list.")
    rank = xs[0].ndim
    if not -rank <= axis < rank:
        raise ValueError(f"concatenate: axis {axis} is out of bounds for tensors of rank {rank}.")
    for t in xs[1:]:
        if t.ndim != rank or any(
            a != b for i, (a, b) in enumerate(zip(t.shape, xs[0].shape)) if i != axis % rank
        ):
            raise ValueError(
                f"concatenate: shapes {[t.shape for t in xs]} differ outside axis {axis}."
            )
    return Concatenate(axis)(*xs)


def stack(xs, axis=0):
    """Joins tensors of one shape along a new axis.

    Args:
        xs: a list of tensors of one shape.
        axis: where the new axis goes.

    Returns:
        A tensor of rank `xs[0].ndim + 1`.
    """
    xs = as_tensors(list(xs))
    if not xs:
        raise ValueError("stack needs at least one tensor, got an empty list.")
    if len({t.shape for t in xs}) > 1:
        raise ValueError(f"stack: all tensors must have one shape, got {[t.shape for t in xs]}.")
    return concatenate([expand_dims(x, axis) for x in xs], axis=axis)


def split(x, indices_or_sections, axis=0):
    """Splits `x` into a list of tensors (NumPy's `split` semantics).

    Args:
        x: a tensor or array-like.
        indices_or_sections: a number of equal sections, or the split points.
        axis: the axis to split.

    Returns:
        A list of tensors.
    """
    x = as_tensor(x)
    axis = axis % x.ndim
    size = x.shape[axis]
    if isinstance(indices_or_sections, int):
        if size % indices_or_sections:
            raise ValueError(
                f"Cannot split an axis of size {size} into {indices_or_sections} equal sections."
            )
        step = size // indices_or_sections
        bounds = list(range(step, size, step))
    else:
        bounds = list(indices_or_sections)
    starts, ends = [0] + bounds, bounds + [size]
    index = [slice(None)] * x.ndim
    out = []
    for start, end in zip(starts, ends):
        index[axis] = slice(start, end)
        out.append(get_item(x, tuple(index)))
    return out


def get_item(x, index):
    """`x[index]`, differentiable (slices, ints, `None`, `...`, integer and boolean arrays).

    Args:
        x: a tensor or array-like.
        index: anything NumPy indexing accepts; Tensors are used by value.

    Returns:
        The selected tensor; repeated integer indices sum their gradients.
    """
    if isinstance(index, Tensor):
        index = index.data
    elif isinstance(index, tuple):
        index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return GetItem(index)(x)


def take(x, indices, axis=None):
    """Gathers entries of `x` at integer `indices` along `axis`.

    Args:
        x: a tensor or array-like.
        indices: integer ids (floats are truncated), of any shape.
        axis: the axis to gather along; `x` is flattened when `None`.

    Returns:
        A tensor with `indices.shape` in place of `axis`.
    """
    x = as_tensor(x)
    indices = indices if isinstance(indices, Tensor) else Tensor(xp_of(x.data).asarray(indices))
    return Take(axis)(x, indices)


def cast(x, dtype):
    """Casts `x` to `dtype`.

    Args:
        x: a tensor or array-like.
        dtype: the target dtype. Float targets pass gradients (cast back); integer or
            boolean ones do not.

    Returns:
        The cast tensor (`x` itself when the dtype already matches).
    """
    x = as_tensor(x)
    if x.dtype == dtype:
        return x
    target = np.dtype(dtype)
    if target.kind not in "fc":
        return Tensor(x.data.astype(target))  # integer/bool results carry no gradient
    return Cast(target)(x)


def convert_to_tensor(x, dtype=None):
    """Returns `x` as a Tensor on the active backend.

    Args:
        x: a Tensor, array, scalar or (nested) list; Python floats become `floatx()`.
        dtype: an optional dtype to cast to.

    Returns:
        A Tensor.
    """
    t = as_tensor(x)
    return cast(t, dtype) if dtype is not None else t


def convert_to_numpy(x):
    """Returns `x` as a NumPy array (copied from the GPU when needed).

    Args:
        x: a tensor or array-like.

    Returns:
        A `numpy.ndarray`.
    """
    return as_tensor(x).numpy()


def shape(x):
    """The shape of `x`.

    Args:
        x: a tensor or array-like.

    Returns:
        A tuple of ints.
    """
    return as_tensor(x).shape
