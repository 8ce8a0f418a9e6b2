"""`Embedding`: maps integer ids to dense vectors by table lookup."""

import warnings

import numpy as np

from gkeras import constraints, initializers, ops, regularizers
from gkeras.layers.layer import Layer


def _positive_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value > 0


class Embedding(Layer):
    """Turns non-negative integer ids into dense vectors of size `output_dim`.

    Example:

    >>> layer = Embedding(1000, 64)
    >>> layer(np.array([[4, 20], [7, 0]])).shape
    (2, 2, 64)

    Args:
        input_dim: positive int, the vocabulary size (largest id + 1).
        output_dim: positive int, the size of each vector.
        embeddings_initializer: initialiser of the table (`"uniform"`: uniform in ±0.05).
        embeddings_regularizer: optional penalty on the table.
        embeddings_constraint: optional constraint on the table.
        activity_regularizer: optional penalty on the output.
        mask_zero: whether id 0 is padding; `compute_mask` then marks it `False`.
        weights: optional initial table, an array of shape `(input_dim, output_dim)`
            (or a one-element list holding it).

    Input shape: `(batch, ...)` of integer ids. Output shape: `(batch, ..., output_dim)`.
    """

    _casts_integer_inputs = False  # ids stay integers (float32 holds ids only up to 2**24)

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None,
                 activity_regularizer=None, mask_zero=False, weights=None, **kwargs):
        if kwargs.pop("input_length", None) is not None:
            warnings.warn("Argument `input_length` is deprecated. Just remove it.",
                          UserWarning, stacklevel=2)
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if not (_positive_int(input_dim) and _positive_int(output_dim)):
            raise ValueError(
                f"Layer '{self.name}': both `input_dim` and `output_dim` should be positive "
                f"integers. Received input_dim={input_dim!r} and output_dim={output_dim!r}."
            )
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero
        if weights is not None:
            self.build()
            if not (isinstance(weights, list) and len(weights) == 1):
                weights = [weights]
            self.set_weights(weights)

    def build(self, input_shape=None):
        if self.built:
            return
        self.embeddings = self.add_weight(
            shape=(self.input_dim, self.output_dim), initializer=self.embeddings_initializer,
            regularizer=self.embeddings_regularizer, constraint=self.embeddings_constraint,
            name="embeddings")
        self.built = True

    _traceable_call = True  # see Layer._traceable_call

    def call(self, inputs):
        if inputs.dtype.kind not in "iu":
            inputs = ops.cast(inputs, "int32")
        y = ops.embedding(inputs, self.embeddings)
        return y

    def compute_mask(self, inputs, mask=None):
        """`inputs != 0` when `mask_zero`, else `None`."""
        if not self.mask_zero:
            return None
        return ops.not_equal(inputs, 0)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        config = super().get_config()
        config.update(
            input_dim=self.input_dim,
            output_dim=self.output_dim,
            embeddings_initializer=initializers.serialize(self.embeddings_initializer),
            embeddings_regularizer=regularizers.serialize(self.embeddings_regularizer),
            activity_regularizer=regularizers.serialize(self.activity_regularizer),
            embeddings_constraint=constraints.serialize(self.embeddings_constraint),
            mask_zero=self.mask_zero,
        )
        return config
