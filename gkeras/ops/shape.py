"""Shape and indexing ops: reshape, transpose, concatenate, slicing, gather, casts."""

from gkeras.autodiff import Function, Tensor, as_tensor
from gkeras.ops.math import xp_of


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
        from gkeras.ops.math import sum_to

        return sum_to(gy, self.inputs[0].shape)


class Concatenate(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, *xs):
        return xp_of(xs[0]).concatenate(xs, axis=self.axis)

    def backward(self, gy):
        xp = xp_of(gy)
        bounds = xp.cumsum([t.shape[self.axis] for t in self.inputs])[:-1]
        return tuple(xp.split(gy, [int(b) for b in bounds], axis=self.axis))


class GetItem(Function):
    def __init__(self, index):
        self.index = index

    def forward(self, x):
        return x[self.index]

    def backward(self, gy):
        x = self.inputs[0]
        xp = xp_of(gy)
        gx = xp.zeros(x.shape, dtype=gy.dtype)
        # add.at accumulates repeated indices (a gather that picks one row twice)
        xp.add.at(gx, self.index, gy)
        return gx


class Take(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, x, indices):
        return xp_of(x).take(x, indices.astype("int64", copy=False), axis=self.axis)

    def backward(self, gy):
        x, indices = self.inputs
        xp = xp_of(gy)
        idx = indices.data.astype("int64", copy=False)
        axis = 0 if self.axis is None else self.axis % x.ndim
        if self.axis is None:
            gx = xp.zeros(x.size, dtype=gy.dtype)
            xp.add.at(gx, idx.ravel(), gy.ravel())
            return gx.reshape(x.shape), None
        gx = xp.zeros(x.shape, dtype=gy.dtype)
        moved_g = xp.moveaxis(gy.reshape(x.shape[:axis] + (idx.size,) + x.shape[axis + 1:]), axis, 0)
        moved_x = xp.moveaxis(gx, axis, 0)  # a view: writes land in gx
        xp.add.at(moved_x, idx.ravel(), moved_g)
        return gx, None


class Cast(Function):
    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, x):
        return x.astype(self.dtype)

    def backward(self, gy):
        return gy.astype(self.inputs[0].dtype)


def reshape(x, new_shape):
    """Reshapes `x`; one dimension may be `-1`."""
    return Reshape(new_shape)(x)


def transpose(x, axes=None):
    """Permutes the axes of `x` (reverses them when `axes` is `None`)."""
    return Transpose(axes)(x)


def broadcast_to(x, shape):
    """Broadcasts `x` to `shape`."""
    return BroadcastTo(shape)(x)


def expand_dims(x, axis):
    """Inserts a size-1 axis at `axis`."""
    x = as_tensor(x)
    ndim = x.ndim + 1
    axis = axis % ndim
    return reshape(x, x.shape[:axis] + (1,) + x.shape[axis:])


def squeeze(x, axis=None):
    """Removes size-1 axes (all of them, or those in `axis`)."""
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


def concatenate(xs, axis=-1):
    """Joins tensors along an existing axis."""
    return Concatenate(axis)(*xs)


def stack(xs, axis=0):
    """Joins tensors along a new axis."""
    return concatenate([expand_dims(x, axis) for x in xs], axis=axis)


def split(x, indices_or_sections, axis=0):
    """Splits `x` into a list of tensors (NumPy's `split` semantics)."""
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
    """`x[index]` with gradient (slices, integer and boolean arrays)."""
    if isinstance(index, Tensor):
        index = index.data
    elif isinstance(index, tuple):
        index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return GetItem(index)(x)


def take(x, indices, axis=None):
    """Gathers entries of `x` at integer `indices` along `axis` (flattened when `None`)."""
    x = as_tensor(x)
    indices = indices if isinstance(indices, Tensor) else Tensor(xp_of(x.data).asarray(indices))
    return Take(axis)(x, indices)


def cast(x, dtype):
    """Casts `x` to `dtype`; gradients are cast back."""
    x = as_tensor(x)
    if x.dtype == dtype:
        return x
    return Cast(dtype)(x)


def convert_to_tensor(x, dtype=None):
    """Returns `x` as a Tensor on the active backend (optionally cast)."""
    t = as_tensor(x)
    return cast(t, dtype) if dtype is not None else t


def convert_to_numpy(x):
    """Returns `x` as a NumPy array."""
    return as_tensor(x).numpy()


def shape(x):
    """The shape of `x` as a tuple."""
    return as_tensor(x).shape
