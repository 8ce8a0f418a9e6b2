"""`Variable`: a trainable (or not) leaf tensor owned by a layer or an optimizer."""

import numpy as np

from gkeras.autodiff.core import Tensor, to_array
from gkeras.backend import backend_of


class Variable(Tensor):
    """A named, mutable leaf tensor (a weight), like `keras.Variable`.

    Args:
        initializer: an array-like initial value (copied: the variable owns its memory).
        trainable: whether optimizers update it (and gradients are computed for it).
        name: the short name (e.g. `"kernel"`); `path` adds the owner's name.
        dtype: the dtype; defaults to the value's.
        constraint: an optional callable applied to the value after each optimizer update.
    """

    __slots__ = ("name", "path", "constraint", "regularizer", "_declared_trainable")

    def __init__(self, initializer, trainable=True, name="variable", dtype=None, constraint=None):
        source = initializer.data if isinstance(initializer, Tensor) else initializer
        value = to_array(initializer)
        if dtype is not None and value.dtype != np.dtype(dtype):
            value = value.astype(dtype)
        elif value is source:
            value = value.copy()  # in-place updates must not write into the caller's array
        super().__init__(value, requires_grad=bool(trainable))
        self.name = name
        self.path = name
        self.constraint = constraint
        self.regularizer = None
        self._declared_trainable = trainable

    # `trainable` is `requires_grad` under Keras's name: one flag, no __setattr__ hook on the
    # hot path (the engine writes `.grad` on every variable every step).
    @property
    def trainable(self):
        """Whether optimizers update this variable and gradients flow to it."""
        return self.requires_grad

    @trainable.setter
    def trainable(self, value):
        self.requires_grad = bool(value)

    @property
    def value(self):
        """The current value (the backend array)."""
        return self.data

    def assign(self, value):
        """Writes `value` (any array-like of the same shape) into this variable, in place.

        Returns:
            The variable itself.
        """
        new = to_array(value, backend_of(self.data))
        if tuple(new.shape) != self.shape:
            raise ValueError(
                f"Cannot assign a value of shape {tuple(new.shape)} to variable '{self.path}' "
                f"of shape {self.shape}."
            )
        self.data[...] = new
        return self

    def assign_add(self, delta):
        """Adds `delta` to this variable in place. Returns the variable."""
        return self.assign(self.data + to_array(delta, backend_of(self.data)))

    def assign_sub(self, delta):
        """Subtracts `delta` from this variable in place. Returns the variable."""
        return self.assign(self.data - to_array(delta, backend_of(self.data)))

    def __repr__(self):
        return (
            f"<Variable path={self.path}, shape={self.shape}, dtype={self.dtype}, "
            f"value={self.numpy()}>"  # the array as str(), as Keras prints it
        )
