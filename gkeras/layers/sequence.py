"""Layers over sequences `(batch, steps, features)`: 1-D convolution, pooling, RepeatVector.

The 1-D convolution and pooling layers view a sequence as an image one pixel high,
`(batch, 1, steps, features)`, and run the 2-D ops: `Conv1D` therefore uses the same conv2d
kernels (CUDA on the GPU) as `Conv2D`.
"""

import numbers

from gkeras import ops
from gkeras.layers.convolutional import (
    _Conv,
    conv_output_length,
    normalize_data_format,
    normalize_padding,
    normalize_tuple,
)
from gkeras.layers.layer import InputSpec, Layer


def _as_image(x):
    """`(batch, steps, features)` → `(batch, 1, steps, features)`."""
    return ops.expand_dims(x, 1)


def _as_sequence(y):
    return ops.squeeze(y, axis=1)


def _check_steps(layer, shape, window, what):
    """With 'valid' padding the (dilated) window must fit in the sequence."""
    if shape[1] is not None and shape[1] < window:
        raise ValueError(
            f"Layer '{layer.name}': the {what} {window} is larger than the input length "
            f"{shape[1]} with padding='valid'. Input shape: {tuple(shape)}. Use "
            "padding='same' or a longer input."
        )


# ------------------------------------------------------------------------ Conv1D
class Conv1D(_Conv):
    """1-D convolution over sequences: `activation(conv1d(inputs, kernel) + bias)`.

    Args:
        filters: positive int, the number of output channels.
        kernel_size: int (or tuple of 1 int), the length of the window.
        strides: int (or tuple of 1 int), the step of the window.
        padding: `"valid"` (no padding), `"same"` (output length `ceil(steps / strides)`) or
            `"causal"` (zeros added at the start only, so output step `t` never sees input
            steps after `t`).
        data_format: `"channels_last"` or `None` (the only layout gkeras supports).
        dilation_rate: int (or tuple of 1 int), the spacing between kernel taps.
        groups: positive int; input channels and filters are split into this many groups
            that are convolved separately.
        activation: name or callable applied to the output (linear when `None`).
        use_bias: whether to add a bias per filter.
        kernel_initializer, bias_initializer: initialisers (`glorot_uniform`, `zeros`).
        kernel_regularizer, bias_regularizer, activity_regularizer: optional penalties.
        kernel_constraint, bias_constraint: optional constraints.

    Input shape: `(batch, steps, channels)`.
    Output shape: `(batch, new_steps, filters)`; the kernel has shape
    `(kernel_size, channels // groups, filters)`, as in Keras.

    Example:

    >>> Conv1D(4, 3, padding="causal")(np.zeros((2, 10, 3), "float32")).shape
    (2, 10, 4)
    """

    rank = 1
    _paddings = ("valid", "same", "causal")

    def _reach(self):
        """The number of input steps one output step sees (the dilated kernel length)."""
        return (self.kernel_size[0] - 1) * self.dilation_rate[0] + 1

    _traceable_call = True  # see Layer._traceable_call

    def call(self, inputs):
        if self.padding == "valid":
            _check_steps(self, inputs.shape, self._reach(), "dilated kernel length")
        x = inputs
        padding = self.padding
        if padding == "causal":
            # causal = zeros before the first step, then a plain 'valid' convolution
            x = ops.pad(x, ((0, 0), (self._reach() - 1, 0), (0, 0)))
            padding = "valid"
        x = _as_image(x)
        kernel = ops.expand_dims(self.kernel, 0)  # (1, K, C, F): a one-row 2-D kernel
        y, activated = self._convolve(x, kernel, strides=(1, self.strides[0]), padding=padding,
                                      dilation_rate=(1, self.dilation_rate[0]))
        y = _as_sequence(y)
        return y if activated else self.activation(y)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        rule = "same" if self.padding == "causal" else self.padding  # both give ceil(T / s)
        steps = conv_output_length(input_shape[1], self.kernel_size[0], self.strides[0],
                                   self.dilation_rate[0], rule)
        if steps is not None and steps <= 0:
            raise ValueError(
                f"Layer '{self.name}': the output would be empty for input shape {input_shape} "
                f"(kernel_size={self.kernel_size}, dilation_rate={self.dilation_rate}, "
                f"padding='{self.padding}')."
            )
        return (input_shape[0], steps, self.filters)


# ----------------------------------------------------------------------- pooling
class _Pooling1D(Layer):
    """Shared arguments and shape logic of `MaxPooling1D` and `AveragePooling1D`."""

    _op = None  # the 2-D pooling op, set by subclasses

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, name=None,
                 **kwargs):
        super().__init__(name=name, **kwargs)
        self.pool_size = normalize_tuple(pool_size, 1, "pool_size", self.name)
        self.strides = (self.pool_size if strides is None
                        else normalize_tuple(strides, 1, "strides", self.name))
        self.padding = normalize_padding(padding, self.name)
        self.data_format = normalize_data_format(data_format, self.name)
        self.input_spec = InputSpec(ndim=3)

    _traceable_call = True  # see Layer._traceable_call

    def call(self, inputs):
        if self.padding == "valid":
            _check_steps(self, inputs.shape, self.pool_size[0], "pool size")
        y = self._op(_as_image(inputs), (1, self.pool_size[0]), (1, self.strides[0]),
                     self.padding)
        return _as_sequence(y)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        steps = conv_output_length(input_shape[1], self.pool_size[0], self.strides[0], 1,
                                   self.padding)
        return (input_shape[0], steps, input_shape[2])

    def get_config(self):
        config = super().get_config()
        config.update(pool_size=self.pool_size, padding=self.padding, strides=self.strides,
                      data_format=self.data_format)
        return config


class MaxPooling1D(_Pooling1D):
    """Max pooling over windows of steps.

    Args:
        pool_size: int, the window length (default 2).
        strides: int or `None` (defaults to `pool_size`).
        padding: `"valid"` or `"same"` (padded steps never win).
        data_format: `"channels_last"` or `None`.

    Input shape: `(batch, steps, features)`. Output shape: `(batch, pooled_steps, features)`.
    """

    _op = staticmethod(ops.max_pool2d)

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None,
                 name=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, name=name, **kwargs)


class AveragePooling1D(_Pooling1D):
    """Average pooling over windows of steps.

    With `padding="same"` the padded steps are left out of each average, as in Keras.

    Args:
        pool_size: int, the window length.
        strides: int or `None` (defaults to `pool_size`).
        padding: `"valid"` or `"same"`.
        data_format: `"channels_last"` or `None`.

    Input shape: `(batch, steps, features)`. Output shape: `(batch, pooled_steps, features)`.
    """

    _op = staticmethod(ops.avg_pool2d)


class _GlobalPooling1D(Layer):
    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = normalize_data_format(data_format, self.name)
        self.keepdims = bool(keepdims)
        self.input_spec = InputSpec(ndim=3)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if self.keepdims:
            return (input_shape[0], 1, input_shape[2])
        return (input_shape[0], input_shape[2])

    def get_config(self):
        config = super().get_config()
        config.update(data_format=self.data_format, keepdims=self.keepdims)
        return config


class GlobalAveragePooling1D(_GlobalPooling1D):
    """Averages each feature over the steps of a sequence.

    A mask (from `Embedding(mask_zero=True)` or `Masking`) leaves the masked steps out: the
    result is the mean over the valid steps (a sample with no valid step gives NaN, as in
    Keras). The output carries no mask.

    Args:
        data_format: `"channels_last"` or `None`.
        keepdims: keep the steps axis (as size 1): output `(batch, 1, features)`.

    Input shape: `(batch, steps, features)`. Output shape: `(batch, features)`.
    """

    supports_masking = True

    _traceable_call = True  # see Layer._traceable_call

    def call(self, inputs, mask=None):
        if mask is None:
            return ops.mean(inputs, axis=1, keepdims=self.keepdims)
        weights = ops.expand_dims(ops.cast(ops.convert_to_tensor(mask), inputs.dtype), 2)
        # where(), not a product: a masked step holding inf or NaN must not leak into the sum
        kept = ops.where(ops.greater(weights, 0), inputs, ops.zeros_like(inputs))
        total = ops.sum(kept, axis=1, keepdims=self.keepdims)
        return ops.divide(total, ops.sum(weights, axis=1, keepdims=self.keepdims))

    def compute_mask(self, inputs, previous_mask=None):
        return None


class GlobalMaxPooling1D(_GlobalPooling1D):
    """Takes the maximum of each feature over the steps of a sequence.

    Args:
        data_format: `"channels_last"` or `None`.
        keepdims: keep the steps axis (as size 1): output `(batch, 1, features)`.

    Input shape: `(batch, steps, features)`. Output shape: `(batch, features)`.
    """

    _traceable_call = True  # see Layer._traceable_call

    def call(self, inputs):
        return ops.max(inputs, axis=1, keepdims=self.keepdims)


# ------------------------------------------------------------------- RepeatVector
class RepeatVector(Layer):
    """Repeats each input vector `n` times: `(batch, features)` → `(batch, n, features)`.

    Args:
        n: positive int, the number of repetitions.
    """

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(n, numbers.Integral) or isinstance(n, bool):
            raise TypeError(
                f"Layer '{self.name}': expected an integer value for `n`, got "
                f"{type(n).__name__} ({n!r})."
            )
        if n <= 0:
            raise ValueError(
                f"Layer '{self.name}': `n` must be a positive integer. Received: n={n}."
            )
        self.n = int(n)
        self.input_spec = InputSpec(ndim=2)

    _traceable_call = True  # see Layer._traceable_call

    def call(self, inputs):
        return ops.repeat(ops.expand_dims(inputs, 1), self.n, axis=1)

    def compute_output_shape(self, input_shape):
        batch, features = tuple(input_shape)
        return (batch, self.n, features)

    def get_config(self):
        config = super().get_config()
        config["n"] = self.n
        return config


# Keras's short aliases
MaxPool1D = MaxPooling1D
AvgPool1D = AveragePooling1D
GlobalAvgPool1D = GlobalAveragePooling1D
GlobalMaxPool1D = GlobalMaxPooling1D
Convolution1D = Conv1D
