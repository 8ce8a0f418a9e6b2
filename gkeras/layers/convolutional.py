"""Convolution layers: `Conv2D` (NHWC), plus the argument helpers shared with pooling."""

import numpy as np

from gkeras import activations, constraints, initializers, ops, regularizers
from gkeras.layers.layer import InputSpec, Layer
from gkeras.ops.conv import CONV_ACTIVATIONS


def normalize_tuple(value, n, arg_name, layer_name, allow_zero=False):
    """Turns an int or a sequence of `n` ints into a tuple of `n` positive ints.

    Raises:
        ValueError: naming the layer and the argument when `value` does not fit.
    """
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        values = (int(value),) * n
    else:
        try:
            values = tuple(value)
        except TypeError:
            values = None
        if (values is None or len(values) != n or any(
                isinstance(v, bool) or not isinstance(v, (int, np.integer)) for v in values)):
            raise ValueError(
                f"Layer '{layer_name}': the `{arg_name}` argument must be an int or a tuple of "
                f"{n} ints. Received: {arg_name}={value!r}."
            )
        values = tuple(int(v) for v in values)
    lowest = 0 if allow_zero else 1
    if any(v < lowest for v in values):
        kind = "non-negative" if allow_zero else "strictly positive"
        raise ValueError(
            f"Layer '{layer_name}': the `{arg_name}` argument must contain {kind} values. "
            f"Received: {arg_name}={value!r}."
        )
    return values


def normalize_padding(value, layer_name, choices=("valid", "same")):
    padding = str(value).lower()
    if padding not in choices:
        raise ValueError(
            f"Layer '{layer_name}': invalid `padding` {value!r}. Expected one of "
            f"{list(choices)}."
        )
    return padding


def normalize_data_format(value, layer_name):
    """gkeras works in NHWC; `None` means `image_data_format()`."""
    if value is None:
        from gkeras import config

        value = config.image_data_format()
    value = str(value).lower()
    if value != "channels_last":
        raise ValueError(
            f"Layer '{layer_name}': data_format={value!r} is not supported; gkeras supports "
            "'channels_last' (NHWC) only."
        )
    return value


def conv_output_length(length, kernel, stride, dilation, padding):
    """The output length along one spatial axis (`None` stays `None`), as Keras computes it."""
    if length is None:
        return None
    if padding == "same":
        return -(-length // stride)
    effective = (kernel - 1) * dilation + 1
    return (length - effective) // stride + 1


class _Conv(Layer):
    """What `Conv1D` and `Conv2D` share: argument checks, weights and config.

    Subclasses set `rank` (the number of spatial axes) and `_paddings` (the valid padding
    modes), and write `call` and `compute_output_shape`.
    """

    rank = 2
    _paddings = ("valid", "same")

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if (not isinstance(filters, (int, np.integer)) or isinstance(filters, bool)
                or filters <= 0):
            raise ValueError(
                f"Invalid value for argument `filters` of layer '{self.name}': expected a "
                f"strictly positive integer. Received: filters={filters!r}."
            )
        self.filters = int(filters)
        rank = self.rank
        self.kernel_size = normalize_tuple(kernel_size, rank, "kernel_size", self.name)
        self.strides = normalize_tuple(strides, rank, "strides", self.name)
        self.padding = normalize_padding(padding, self.name, self._paddings)
        self.data_format = normalize_data_format(data_format, self.name)
        self.dilation_rate = normalize_tuple(dilation_rate, rank, "dilation_rate", self.name)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                f"Layer '{self.name}': `strides > 1` is not supported together with "
                f"`dilation_rate > 1`. Received: strides={self.strides} and "
                f"dilation_rate={self.dilation_rate}."
            )
        if (not isinstance(groups, (int, np.integer)) or isinstance(groups, bool)
                or groups <= 0):
            raise ValueError(
                f"Layer '{self.name}': `groups` must be a positive integer. Received: "
                f"groups={groups!r}."
            )
        self.groups = int(groups)
        if self.filters % self.groups:
            raise ValueError(
                f"Layer '{self.name}': the number of filters must be evenly divisible by the "
                f"number of groups. Received: groups={self.groups}, filters={self.filters}."
            )
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(ndim=rank + 2)

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(
                f"The channel dimension of the input to {type(self).__name__} layer "
                f"'{self.name}' must be known. Received input shape {tuple(input_shape)}."
            )
        if channels % self.groups:
            raise ValueError(
                f"Layer '{self.name}': the number of input channels must be evenly divisible "
                f"by the number of groups. Received groups={self.groups}, but the input has "
                f"{channels} channels (full input shape {tuple(input_shape)})."
            )
        kernel_shape = self.kernel_size + (channels // self.groups, self.filters)
        self.kernel = self.add_weight(
            shape=kernel_shape, initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer, constraint=self.kernel_constraint, name="kernel")
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(self.filters,), initializer=self.bias_initializer,
                regularizer=self.bias_regularizer, constraint=self.bias_constraint, name="bias")
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={-1: channels})
        self.built = True

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            kernel_size=self.kernel_size,
            strides=self.strides,
            padding=self.padding,
            data_format=self.data_format,
            dilation_rate=self.dilation_rate,
            groups=self.groups,
            activation=activations.serialize(self.activation),
            use_bias=self.use_bias,
            **self._weight_options_config("kernel", "bias"),
        )
        return config

    def _convolve(self, images, kernel, **geometry):
        """`conv2d(images, kernel) + bias` (NHWC), grouped as `groups` says, with the
        activation fused in when the convolution can apply it.

        Returns:
            `(y, activated)`: `activated` says the activation was applied; otherwise the
            caller applies it (after reshaping `y` to the layer's output form).
        """
        fused = activations.fused_form(self.activation, CONV_ACTIVATIONS)
        if self.groups == 1 and fused is not None:
            return ops.conv2d(images, kernel, self.bias, **geometry, activation=fused[0],
                              alpha=fused[1]), True
        if self.groups == 1:
            return ops.conv2d(images, kernel, self.bias, **geometry), False
        # each group sees its slice of the channels and owns its slice of the filters
        xs = ops.split(images, self.groups, axis=-1)
        ks = ops.split(kernel, self.groups, axis=-1)
        y = ops.concatenate([ops.conv2d(x, k, **geometry) for x, k in zip(xs, ks)], axis=-1)
        return (y if self.bias is None else ops.add(y, self.bias)), False


class Conv2D(_Conv):
    """2-D convolution layer over NHWC images: `activation(conv2d(inputs, kernel) + bias)`.

    Args:
        filters: positive int, the number of output channels.
        kernel_size: int or pair of ints, the window's height and width.
        strides: int or pair of ints, the step of the window (default `(1, 1)`).
        padding: `"valid"` (no padding) or `"same"` (output size `ceil(input / strides)`).
        data_format: `"channels_last"` or `None` (NHWC is the only layout gkeras supports).
        dilation_rate: int or pair of ints, the spacing between kernel taps.
        groups: positive int; input channels and filters are split into this many groups that
            are convolved separately (grouped / depthwise-style convolution).
        activation: name or callable applied to the output (linear when `None`).
        use_bias: whether to add a bias per filter.
        kernel_initializer, bias_initializer: initialisers (`glorot_uniform`, `zeros`).
        kernel_regularizer, bias_regularizer, activity_regularizer: optional penalties.
        kernel_constraint, bias_constraint: optional constraints.

    Input shape: `(batch, height, width, channels)`.
    Output shape: `(batch, new_height, new_width, filters)`.

    Example:

    >>> x = np.random.rand(4, 10, 10, 3).astype("float32")
    >>> Conv2D(8, 3, activation="relu")(x).shape
    (4, 8, 8, 8)
    """

    def _check_spatial_size(self, shape):
        if self.padding != "valid":
            return
        for axis, label in ((1, "height"), (2, "width")):
            k, d = self.kernel_size[axis - 1], self.dilation_rate[axis - 1]
            effective = (k - 1) * d + 1
            if shape[axis] is not None and shape[axis] < effective:
                raise ValueError(
                    f"Layer '{self.name}': the kernel {label} {effective} (kernel_size="
                    f"{self.kernel_size}, dilation_rate={self.dilation_rate}) is larger than the "
                    f"input {label} {shape[axis]} with padding='valid'. Input shape: "
                    f"{tuple(shape)}, kernel shape: {tuple(self.kernel.shape)}. Use "
                    "padding='same' or a larger input."
                )

    _traceable_call = True  # see Layer._traceable_call

    def call(self, inputs):
        self._check_spatial_size(inputs.shape)
        y, activated = self._convolve(inputs, self.kernel, strides=self.strides,
                                      padding=self.padding, dilation_rate=self.dilation_rate)
        return y if activated else self.activation(y)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        spatial = tuple(
            conv_output_length(input_shape[1 + i], self.kernel_size[i], self.strides[i],
                               self.dilation_rate[i], self.padding)
            for i in range(2)
        )
        if any(s is not None and s <= 0 for s in spatial):
            raise ValueError(
                f"Layer '{self.name}': the output would be empty for input shape {input_shape} "
                f"(kernel_size={self.kernel_size}, dilation_rate={self.dilation_rate}, "
                f"padding='{self.padding}')."
            )
        return (input_shape[0],) + spatial + (self.filters,)


Convolution2D = Conv2D  # Keras's long alias
