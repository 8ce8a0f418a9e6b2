"""`Variable`: a trainable (or not) leaf tensor owned by a layer or an optimizer."""

import numpy as np

from gkeras.autodiff.core import Tensor, to_array
from gkeras.backend import backend_of


class Variable(Tensor):
    """A named, mutable leaf tensor (a weight), like `keras.Variable`.

    Args:
        initializer: an array-like initial value.
        trainable: whether optimizers update it (and gradients are computed for it).
        name: the short name (e.g. `"kernel"`); `path` adds the owner's name.
        dtype: the dtype; defaults to the value's.
        constraint: an optional callable applied to the value after each optimizer update.
    """

    __slots__ = ("name", "path", "trainable", "constraint", "regularizer", "_declared_trainable")

    def __init__(self, initializer, trainable=True, name="variable", dtype=None, constraint=None):
        value = to_array(initializer)
        if dtype is not None and value.dtype != np.dtype(dtype):
            value = value.astype(dtype)
        super().__init__(value, requires_grad=trainable)
        self.name = name
        self.path = name
        self.trainable = trainable
        self.constraint = constraint
        self.regularizer = None
        self._declared_trainable = trainable

    @property
    def value(self):
        return self.data

    def assign(self, value):
        """Writes `value` (any array-like of the same shape) into this variable, in place."""
        bk = backend_of(self.data)
        new = to_array(value, bk)
        if tuple(new.shape) != self.shape:
            raise ValueError(
                f"Cannot assign a value of shape {tuple(new.shape)} to variable '{self.path}' "
                f"of shape {self.shape}."
            )
        self.data[...] = new
        return self

    def __setattr__(self, key, value):
        if key == "trainable":
            object.__setattr__(self, "requires_grad", bool(value))
        object.__setattr__(self, key, value)

    def __repr__(self):
        return (
            f"<Variable path={self.path}, shape={self.shape}, dtype={self.dtype}, "
            f"value={self.numpy()!r}>"
        )
