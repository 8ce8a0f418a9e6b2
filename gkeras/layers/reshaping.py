"""Reshaping layers: `Flatten` and `Reshape` (the batch axis is never touched)."""

import math

import numpy as np

from gkeras import ops
from gkeras.layers.convolutional import normalize_data_format
from gkeras.layers.layer import Layer


class Flatten(Layer):
    """Flattens each sample to one axis: `(batch, d1, ..., dn)` → `(batch, d1 * ... * dn)`.

    A rank-1 input `(batch,)` becomes `(batch, 1)`, as in Keras.

    Args:
        data_format: `"channels_last"` or `None` (kept for Keras compatibility).
    """

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = normalize_data_format(data_format, self.name)

    _traceable_call = True  # see Layer._traceable_call

    def call(self, inputs):
        shape = tuple(inputs.shape)
        if not shape:
            raise ValueError(
                f"Layer '{self.name}' expects an input with a batch axis, got a scalar."
            )
        return ops.reshape(inputs, (shape[0], math.prod(shape[1:])))

    def compute_output_shape(self, input_shape):
        rest = tuple(input_shape)[1:]
        size = None if any(d is None for d in rest) else math.prod(rest)
        return (tuple(input_shape)[0], size)

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format
        return config


class Reshape(Layer):
    """Reshapes each sample to `target_shape` (the batch axis is kept).

    Args:
        target_shape: tuple of ints, the new shape of one sample; at most one entry may be
            `-1`, inferred from the others.

    Input shape: `(batch, ...)`. Output shape: `(batch,) + target_shape`.

    Example:

    >>> Reshape((3, 4))(np.zeros((2, 12), "float32")).shape
    (2, 3, 4)
    """

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        if isinstance(target_shape, (int, np.integer)):
            target_shape = (target_shape,)
        try:
            target = tuple(target_shape)
        except TypeError:
            target = None
        if target is None or not all(
                isinstance(d, (int, np.integer)) and not isinstance(d, bool) for d in target):
            raise ValueError(
                f"Layer '{self.name}': `target_shape` must be a tuple of ints. Received: "
                f"target_shape={target_shape!r}."
            )
        target = tuple(int(d) for d in target)
        if sum(d == -1 for d in target) > 1 or any(d < -1 or d == 0 for d in target):
            raise ValueError(
                f"Layer '{self.name}': `target_shape` must contain positive sizes and at most "
                f"one -1 (an inferred size). Received: target_shape={target}."
            )
        self.target_shape = target

    def _resolve(self, input_shape):
        """The target shape with `-1` filled in for one sample of `input_shape`."""
        rest = tuple(input_shape)[1:]
        if any(d is None for d in rest):
            return tuple(None if d == -1 else d for d in self.target_shape)
        size = math.prod(rest)
        known = math.prod(d for d in self.target_shape if d != -1)
        if -1 in self.target_shape:
            if size % known:
                self._size_error(input_shape)
            return tuple(size // known if d == -1 else d for d in self.target_shape)
        if known != size:
            self._size_error(input_shape)
        return self.target_shape

    def _size_error(self, input_shape):
        raise ValueError(
            f"Layer '{self.name}': cannot reshape an input of shape {tuple(input_shape)} "
            f"({math.prod(tuple(input_shape)[1:])} values per sample) to target_shape "
            f"{self.target_shape}: the total size of each sample must be unchanged."
        )

    _traceable_call = True  # see Layer._traceable_call

    def call(self, inputs):
        shape = tuple(inputs.shape)
        return ops.reshape(inputs, (shape[0],) + self._resolve(shape))

    def compute_output_shape(self, input_shape):
        return (tuple(input_shape)[0],) + self._resolve(input_shape)

    def get_config(self):
        config = super().get_config()
        config["target_shape"] = self.target_shape
        return config
