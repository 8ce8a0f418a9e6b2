"""Activation layers with their own arguments: `ReLU`, `LeakyReLU`, `ELU`, `Softmax`."""

import numbers

from gkeras import ops
from gkeras.layers.layer import Layer


def _check_non_negative(value, arg, layer_name, allow_none=False):
    if value is None and allow_none:
        return None
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or value < 0:
        raise ValueError(
            f"Layer '{layer_name}': {arg} of a ReLU layer cannot be None or a negative value. "
            f"Expected a non-negative float. Received: {arg}={value!r}."
        )
    return float(value)


class _ElementwiseActivation(Layer):
    supports_masking = True  # works per time step: the input's mask still holds

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


class ReLU(_ElementwiseActivation):
    """Rectified linear unit with optional cap, leak and threshold.

    `f(x) = max_value` for `x >= max_value`, `x` for `threshold < x < max_value`, and
    `negative_slope * (x - threshold)` otherwise.

    Args:
        max_value: non-negative float cap on the output, or `None` for no cap.
        negative_slope: non-negative float, the slope below the threshold (default 0).
        threshold: non-negative float, the value below which the output leaks (default 0).
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        self.max_value = _check_non_negative(max_value, "max_value", self.name, allow_none=True)
        self.negative_slope = _check_non_negative(negative_slope, "negative_slope", self.name)
        self.threshold = _check_non_negative(threshold, "threshold", self.name)

    _traceable_call = True  # see Layer._traceable_call

    def call(self, inputs):
        if self.max_value is None and self.threshold == 0:
            if self.negative_slope == 0:
                return ops.relu(inputs)
            return ops.leaky_relu(inputs, self.negative_slope)
        # `above` is a constant 0/1 mask: the gradient flows through the two linear pieces
        above = ops.cast(ops.greater(inputs, self.threshold), inputs.dtype)
        y = ops.multiply(inputs, above)
        if self.max_value is not None:
            y = ops.minimum(y, self.max_value)
        if self.negative_slope:
            below = ops.subtract(1.0, above)
            leak = ops.multiply(ops.subtract(inputs, self.threshold), self.negative_slope)
            y = ops.add(y, ops.multiply(leak, below))
        return y

    def get_config(self):
        config = super().get_config()
        config.update(max_value=self.max_value, negative_slope=self.negative_slope,
                      threshold=self.threshold)
        return config


class LeakyReLU(_ElementwiseActivation):
    """Leaky rectified linear unit: `x` if `x >= 0`, else `negative_slope * x`.

    Args:
        negative_slope: non-negative float, the slope for negative inputs (Keras default 0.3).
            The Keras 2 name `alpha` is accepted too.
    """

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
        super().__init__(**kwargs)
        if (negative_slope is None or not isinstance(negative_slope, numbers.Real)
                or isinstance(negative_slope, bool) or negative_slope < 0):
            raise ValueError(
                f"Layer '{self.name}': the negative_slope value of a LeakyReLU layer cannot be "
                f"None or a negative value. Expected a float. Received: "
                f"negative_slope={negative_slope!r}."
            )
        self.negative_slope = float(negative_slope)

    _traceable_call = True  # see Layer._traceable_call

    def call(self, inputs):
        return ops.leaky_relu(inputs, self.negative_slope)

    def get_config(self):
        config = super().get_config()
        config["negative_slope"] = self.negative_slope
        return config


class ELU(_ElementwiseActivation):
    """Exponential linear unit: `x` if `x > 0`, else `alpha * (exp(x) - 1)`.

    Args:
        alpha: float, the saturation value for negative inputs (default 1.0).
    """

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(alpha, numbers.Real) or isinstance(alpha, bool):
            raise ValueError(
                f"Layer '{self.name}': `alpha` must be a float. Received: alpha={alpha!r}."
            )
        self.alpha = float(alpha)

    _traceable_call = True  # see Layer._traceable_call

    def call(self, inputs):
        return ops.elu(inputs, self.alpha)

    def get_config(self):
        config = super().get_config()
        config["alpha"] = self.alpha
        return config


class Softmax(_ElementwiseActivation):
    """Softmax over `axis`: `exp(x) / sum(exp(x), axis)`.

    Args:
        axis: int or tuple of ints, the axis (or axes) normalised over (default `-1`).

    Call arguments:
        inputs: input tensor.
        mask: optional boolean tensor broadcastable to the inputs; `False` entries get
            (almost) zero probability.
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, list):
            axis = tuple(axis)
        ok = isinstance(axis, int) or (isinstance(axis, tuple) and axis and all(
            isinstance(a, int) for a in axis))
        if not ok or isinstance(axis, bool):
            raise ValueError(
                f"Layer '{self.name}': `axis` must be an int or a tuple of ints. Received: "
                f"axis={axis!r}."
            )
        self.axis = axis

    _traceable_call = True  # see Layer._traceable_call

    def call(self, inputs, mask=None):
        if mask is None:
            return ops.softmax(inputs, axis=self.axis)
        # masked entries get a large negative logit, so exp() sends them to ~0; then they are
        # zeroed outright, so a row with every entry masked gives zeros (as Keras 3)
        keep = ops.cast(ops.convert_to_tensor(mask), inputs.dtype)
        large = -1e9 if inputs.dtype.itemsize >= 4 else -3e4
        inputs = ops.add(inputs, ops.multiply(ops.subtract(1.0, keep), large))
        return ops.multiply(ops.softmax(inputs, axis=self.axis), keep)

    def get_config(self):
        config = super().get_config()
        config["axis"] = list(self.axis) if isinstance(self.axis, tuple) else self.axis
        return config
