"""Convolution variants over NHWC images: `Conv2DTranspose`, `DepthwiseConv2D`,
`SeparableConv2D`.

The layers are built from `gkeras.ops.conv`: `conv2d_transpose` (the conv kernels with their
roles swapped) and `depthwise_conv2d` (composed of ops); SeparableConv2D adds a 1x1 `conv2d`.
"""

import numpy as np

from gkeras import activations, constraints, initializers, ops, regularizers
from gkeras.layers.convolutional import (
    conv_output_length,
    normalize_data_format,
    normalize_padding,
    normalize_tuple,
)
from gkeras.layers.layer import InputSpec, Layer
from gkeras.ops.conv import conv2d_transpose, conv_transpose_output_length, depthwise_conv2d


# ------------------------------------------------------------------------ helpers
def _positive_int(value, arg_name, layer_name):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
        raise ValueError(
            f"Invalid value for argument `{arg_name}` of layer '{layer_name}': expected a "
            f"strictly positive integer. Received: {arg_name}={value!r}."
        )
    return int(value)


def _known_channels(layer, input_shape):
    channels = input_shape[-1]
    if channels is None:
        raise ValueError(
            f"The channel dimension of the input to {type(layer).__name__} layer "
            f"'{layer.name}' must be known. Received input shape {tuple(input_shape)}."
        )
    return int(channels)


class _WindowedConv(Layer):
    """Shared arguments, size checks and output shape of the depthwise / separable layers."""

    def _init_window(self, kernel_size, strides, padding, data_format, dilation_rate,
                     depth_multiplier):
        self.kernel_size = normalize_tuple(kernel_size, 2, "kernel_size", self.name)
        self.strides = normalize_tuple(strides, 2, "strides", self.name)
        self.padding = normalize_padding(padding, self.name)
        self.data_format = normalize_data_format(data_format, self.name)
        self.dilation_rate = normalize_tuple(dilation_rate, 2, "dilation_rate", self.name)
        self.depth_multiplier = _positive_int(depth_multiplier, "depth_multiplier", self.name)
        self.input_spec = InputSpec(ndim=4)

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
                    f"{tuple(shape)}. Use padding='same' or a larger input."
                )

    def _output_shape(self, input_shape, channels):
        input_shape = tuple(input_shape)
        self._check_spatial_size(input_shape)
        spatial = tuple(
            conv_output_length(input_shape[1 + i], self.kernel_size[i], self.strides[i],
                               self.dilation_rate[i], self.padding)
            for i in range(2)
        )
        return (input_shape[0],) + spatial + (channels,)

    def _window_config(self):
        config = super().get_config()
        config.update(
            kernel_size=self.kernel_size,
            strides=self.strides,
            padding=self.padding,
            data_format=self.data_format,
            dilation_rate=self.dilation_rate,
            depth_multiplier=self.depth_multiplier,
        )
        return config

    def _add_bias(self, units):
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(units,), initializer=self.bias_initializer,
                regularizer=self.bias_regularizer, constraint=self.bias_constraint, name="bias")


# ------------------------------------------------------------------------- layers
class Conv2DTranspose(Layer):
    """2-D transposed convolution ("deconvolution") layer over NHWC images.

    It maps each input pixel to a `kernel_size` window of the output, `strides` apart: the
    gradient of a `Conv2D` with respect to its input, used to upsample.

    Args:
        filters: positive int, the number of output channels.
        kernel_size: int or pair of ints, the window's height and width.
        strides: int or pair of ints, the upsampling step (default `(1, 1)`).
        padding: `"valid"` or `"same"` (`"same"` gives `input * strides` without
            `output_padding`).
        output_padding: `None` or an int / pair of ints, the extra rows and columns added at
            the end of the output; each must be smaller than its stride. `None` lets the
            output size follow from `padding`.
        data_format: `"channels_last"` or `None` (NHWC is the only layout gkeras supports).
        dilation_rate: int or pair of ints, the spacing between kernel taps.
        activation: name or callable applied to the output (linear when `None`).
        use_bias: whether to add a bias per filter.
        kernel_initializer, bias_initializer: initialisers (`glorot_uniform`, `zeros`).
        kernel_regularizer, bias_regularizer, activity_regularizer: optional penalties.
        kernel_constraint, bias_constraint: optional constraints.

    Input shape: `(batch, height, width, channels)`.
    Output shape: `(batch, new_height, new_width, filters)`; the kernel has shape
    `kernel_size + (filters, channels)`, as in Keras.

    Example:

    >>> x = np.random.rand(4, 7, 7, 8).astype("float32")
    >>> Conv2DTranspose(3, 3, strides=2, padding="same")(x).shape
    (4, 14, 14, 3)
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid",
                 output_padding=None, data_format=None, dilation_rate=(1, 1), activation=None,
                 use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.filters = _positive_int(filters, "filters", self.name)
        self.kernel_size = normalize_tuple(kernel_size, 2, "kernel_size", self.name)
        self.strides = normalize_tuple(strides, 2, "strides", self.name)
        self.padding = normalize_padding(padding, self.name)
        self.data_format = normalize_data_format(data_format, self.name)
        self.dilation_rate = normalize_tuple(dilation_rate, 2, "dilation_rate", self.name)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                f"Layer '{self.name}': `strides > 1` is not supported together with "
                f"`dilation_rate > 1`. Received: strides={self.strides} and "
                f"dilation_rate={self.dilation_rate}."
            )
        if output_padding is None:
            self.output_padding = None
        else:
            self.output_padding = normalize_tuple(output_padding, 2, "output_padding",
                                                  self.name, allow_zero=True)
            for axis, (pad, stride) in enumerate(zip(self.output_padding, self.strides)):
                if pad >= stride:
                    raise ValueError(
                        f"Layer '{self.name}': `output_padding` must be strictly less than "
                        f"`strides` in every dimension; at dimension {axis} it is {pad} but the "
                        f"stride is {stride}. Received: output_padding={self.output_padding}, "
                        f"strides={self.strides}."
                    )
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(ndim=4)

    def build(self, input_shape):
        channels = _known_channels(self, input_shape)
        self.kernel = self.add_weight(
            shape=self.kernel_size + (self.filters, channels),
            initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint, name="kernel")
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(self.filters,), initializer=self.bias_initializer,
                regularizer=self.bias_regularizer, constraint=self.bias_constraint, name="bias")
        self.input_spec = InputSpec(ndim=4, axes={-1: channels})
        self.built = True

    def call(self, inputs):
        self.compute_output_shape(inputs.shape)  # clear error for an empty output
        y = conv2d_transpose(inputs, self.kernel, self.bias, self.strides, self.padding,
                             self.output_padding, self.dilation_rate)
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        pads = self.output_padding or (None, None)
        spatial = tuple(
            conv_transpose_output_length(input_shape[1 + i], self.kernel_size[i],
                                         self.strides[i], self.dilation_rate[i], self.padding,
                                         pads[i])
            for i in range(2)
        )
        if any(s is not None and s <= 0 for s in spatial):
            raise ValueError(
                f"Layer '{self.name}': the output would be empty for input shape {input_shape} "
                f"(kernel_size={self.kernel_size}, strides={self.strides}, padding="
                f"'{self.padding}', output_padding={self.output_padding})."
            )
        return (input_shape[0],) + spatial + (self.filters,)

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            kernel_size=self.kernel_size,
            strides=self.strides,
            padding=self.padding,
            output_padding=self.output_padding,
            data_format=self.data_format,
            dilation_rate=self.dilation_rate,
            activation=activations.serialize(self.activation),
            use_bias=self.use_bias,
            **self._weight_options_config("kernel", "bias"),
        )
        return config


class DepthwiseConv2D(_WindowedConv):
    """Depthwise 2-D convolution: each input channel convolved with its own filters.

    Every channel gets `depth_multiplier` filters of its own, so the output has
    `channels * depth_multiplier` channels (channel `c * depth_multiplier + m` comes from input
    channel `c`); channels do not mix.

    Args:
        kernel_size: int or pair of ints, the window's height and width.
        strides: int or pair of ints, the step of the window (default `(1, 1)`).
        padding: `"valid"` or `"same"`.
        depth_multiplier: positive int, the number of filters per input channel.
        data_format: `"channels_last"` or `None` (NHWC only).
        dilation_rate: int or pair of ints, the spacing between kernel taps.
        activation: name or callable applied to the output (linear when `None`).
        use_bias: whether to add a bias per output channel.
        depthwise_initializer, bias_initializer: initialisers (`glorot_uniform`, `zeros`).
        depthwise_regularizer, bias_regularizer, activity_regularizer: optional penalties.
        depthwise_constraint, bias_constraint: optional constraints.

    Input shape: `(batch, height, width, channels)`.
    Output shape: `(batch, new_height, new_width, channels * depth_multiplier)`; the weight
    `kernel` has shape `kernel_size + (channels, depth_multiplier)`, as in Keras.

    Example:

    >>> x = np.random.rand(4, 10, 10, 3).astype("float32")
    >>> DepthwiseConv2D(3, depth_multiplier=2)(x).shape
    (4, 8, 8, 6)
    """

    def __init__(self, kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=(1, 1), activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self._init_window(kernel_size, strides, padding, data_format, dilation_rate,
                          depth_multiplier)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def build(self, input_shape):
        channels = _known_channels(self, input_shape)
        # Keras 3 names this weight `kernel` (SeparableConv2D's is `depthwise_kernel`)
        self.kernel = self.add_weight(
            shape=self.kernel_size + (channels, self.depth_multiplier),
            initializer=self.depthwise_initializer, regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint, name="kernel")
        self._add_bias(channels * self.depth_multiplier)
        self.input_spec = InputSpec(ndim=4, axes={-1: channels})
        self.built = True

    def call(self, inputs):
        self._check_spatial_size(inputs.shape)
        y = depthwise_conv2d(inputs, self.kernel, self.strides, self.padding,
                             self.dilation_rate)
        if self.bias is not None:
            y = ops.add(y, self.bias)
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        channels = input_shape[-1]
        return self._output_shape(
            input_shape, None if channels is None else channels * self.depth_multiplier)

    def get_config(self):
        config = self._window_config()
        config.update(
            activation=activations.serialize(self.activation),
            use_bias=self.use_bias,
            depthwise_initializer=initializers.serialize(self.depthwise_initializer),
            bias_initializer=initializers.serialize(self.bias_initializer),
            depthwise_regularizer=regularizers.serialize(self.depthwise_regularizer),
            bias_regularizer=regularizers.serialize(self.bias_regularizer),
            activity_regularizer=regularizers.serialize(self.activity_regularizer),
            depthwise_constraint=constraints.serialize(self.depthwise_constraint),
            bias_constraint=constraints.serialize(self.bias_constraint),
        )
        return config


class SeparableConv2D(_WindowedConv):
    """Depthwise separable 2-D convolution: a depthwise convolution, then a 1x1 convolution.

    The depthwise step convolves each input channel with `depth_multiplier` filters of its
    own; the pointwise step mixes the `channels * depth_multiplier` results into `filters`
    outputs. Far fewer weights than a `Conv2D` with the same window.

    Args:
        filters: positive int, the number of output channels.
        kernel_size: int or pair of ints, the depthwise window's height and width.
        strides: int or pair of ints, the step of the window (default `(1, 1)`).
        padding: `"valid"` or `"same"`.
        data_format: `"channels_last"` or `None` (NHWC only).
        dilation_rate: int or pair of ints, the spacing between kernel taps.
        depth_multiplier: positive int, the number of depthwise filters per input channel.
        activation: name or callable applied to the output (linear when `None`).
        use_bias: whether to add a bias per filter.
        depthwise_initializer, pointwise_initializer, bias_initializer: initialisers
            (`glorot_uniform`, `glorot_uniform`, `zeros`).
        depthwise_regularizer, pointwise_regularizer, bias_regularizer,
            activity_regularizer: optional penalties.
        depthwise_constraint, pointwise_constraint, bias_constraint: optional constraints.

    Input shape: `(batch, height, width, channels)`.
    Output shape: `(batch, new_height, new_width, filters)`; the weights are
    `depthwise_kernel` `kernel_size + (channels, depth_multiplier)` and `pointwise_kernel`
    `(1, 1, channels * depth_multiplier, filters)`, as in Keras.

    Example:

    >>> x = np.random.rand(4, 10, 10, 3).astype("float32")
    >>> SeparableConv2D(8, 3, padding="same")(x).shape
    (4, 10, 10, 8)
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.filters = _positive_int(filters, "filters", self.name)
        self._init_window(kernel_size, strides, padding, data_format, dilation_rate,
                          depth_multiplier)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.pointwise_constraint = constraints.get(pointwise_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def build(self, input_shape):
        channels = _known_channels(self, input_shape)
        self.depthwise_kernel = self.add_weight(
            shape=self.kernel_size + (channels, self.depth_multiplier),
            initializer=self.depthwise_initializer, regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint, name="depthwise_kernel")
        self.pointwise_kernel = self.add_weight(
            shape=(1, 1, channels * self.depth_multiplier, self.filters),
            initializer=self.pointwise_initializer, regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint, name="pointwise_kernel")
        self._add_bias(self.filters)
        self.input_spec = InputSpec(ndim=4, axes={-1: channels})
        self.built = True

    def call(self, inputs):
        self._check_spatial_size(inputs.shape)
        y = depthwise_conv2d(inputs, self.depthwise_kernel, self.strides, self.padding,
                             self.dilation_rate)
        # the 1x1 step is a plain convolution (the kernels' pointwise GEMM path)
        y = ops.conv2d(y, self.pointwise_kernel, self.bias)
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        return self._output_shape(input_shape, self.filters)

    def get_config(self):
        config = self._window_config()
        config.update(
            filters=self.filters,
            activation=activations.serialize(self.activation),
            use_bias=self.use_bias,
            depthwise_initializer=initializers.serialize(self.depthwise_initializer),
            pointwise_initializer=initializers.serialize(self.pointwise_initializer),
            bias_initializer=initializers.serialize(self.bias_initializer),
            depthwise_regularizer=regularizers.serialize(self.depthwise_regularizer),
            pointwise_regularizer=regularizers.serialize(self.pointwise_regularizer),
            bias_regularizer=regularizers.serialize(self.bias_regularizer),
            activity_regularizer=regularizers.serialize(self.activity_regularizer),
            depthwise_constraint=constraints.serialize(self.depthwise_constraint),
            pointwise_constraint=constraints.serialize(self.pointwise_constraint),
            bias_constraint=constraints.serialize(self.bias_constraint),
        )
        return config


# Keras's long aliases
Convolution2DTranspose = Conv2DTranspose
SeparableConvolution2D = SeparableConv2D
