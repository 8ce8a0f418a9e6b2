"""Regularisation layers: `Dropout`."""

import numbers

from gkeras import ops
from gkeras import random as grandom
from gkeras.layers.layer import Layer


class Dropout(Layer):
    """Randomly zeroes inputs with probability `rate` during training.

    The kept inputs are scaled by `1 / (1 - rate)` so the expected sum is unchanged. At
    inference (`training=False`, the default outside `fit`) the layer is the identity.

    Args:
        rate: float in `[0, 1]`, the fraction of the inputs to drop.
        noise_shape: optional shape of the binary mask, broadcast against the input; use
            `None` for an axis to take the input's size, e.g. `(None, 1, features)` drops the
            same features at every timestep.
        seed: optional int, makes the masks reproducible.

    Call arguments:
        inputs: input tensor of any rank.
        training: whether to drop (training) or pass inputs through (inference).
    """

    supports_masking = True  # works per time step: the input's mask still holds

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if (not isinstance(rate, numbers.Real) or isinstance(rate, bool)
                or not 0 <= rate <= 1):
            raise ValueError(
                f"Invalid value received for argument `rate` of layer '{self.name}'. Expected "
                f"a float value between 0 and 1. Received: rate={rate!r}."
            )
        self.rate = float(rate)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed
        self.seed_generator = grandom.SeedGenerator(seed)

    _traceable_call = True  # the mask is drawn in the op's forward (see Layer._traceable_call)

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        if self.rate == 1:
            return ops.multiply(inputs, 0.0)
        noise_shape = self.noise_shape
        if noise_shape is not None and len(noise_shape) != inputs.ndim:
            raise ValueError(
                f"Layer '{self.name}': noise_shape {noise_shape} must have the input's rank "
                f"{inputs.ndim} (input shape {tuple(inputs.shape)})."
            )
        return ops.dropout(inputs, self.rate, noise_shape=noise_shape, seed=self.seed_generator)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(rate=self.rate, noise_shape=self.noise_shape, seed=self.seed)
        return config
