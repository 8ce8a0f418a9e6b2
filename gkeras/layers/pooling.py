"""Pooling layers over NHWC images: max / average windows and their global forms."""

from gkeras import ops
from gkeras.layers.convolutional import (
    conv_output_length,
    normalize_data_format,
    normalize_padding,
    normalize_tuple,
)
from gkeras.layers.layer import InputSpec, Layer


class _Pooling2D(Layer):
    """Shared arguments and shape logic of `MaxPooling2D` and `AveragePooling2D`."""

    _op = None  # the pooling op, set by subclasses

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.pool_size = normalize_tuple(pool_size, 2, "pool_size", self.name)
        self.strides = (self.pool_size if strides is None
                        else normalize_tuple(strides, 2, "strides", self.name))
        self.padding = normalize_padding(padding, self.name)
        self.data_format = normalize_data_format(data_format, self.name)
        self.input_spec = InputSpec(ndim=4)

    _traceable_call = True  # see Layer._traceable_call

    def call(self, inputs):
        if self.padding == "valid":
            for axis, label in ((1, "height"), (2, "width")):
                if inputs.shape[axis] < self.pool_size[axis - 1]:
                    raise ValueError(
                        f"Layer '{self.name}': the pool {label} {self.pool_size[axis - 1]} "
                        f"(pool_size={self.pool_size}) is larger than the input {label} "
                        f"{inputs.shape[axis]} with padding='valid'. Input shape: "
                        f"{tuple(inputs.shape)}."
                    )
        return self._op(inputs, self.pool_size, self.strides, self.padding)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        spatial = tuple(
            conv_output_length(input_shape[1 + i], self.pool_size[i], self.strides[i], 1,
                               self.padding)
            for i in range(2)
        )
        return (input_shape[0],) + spatial + (input_shape[3],)

    def get_config(self):
        config = super().get_config()
        config.update(pool_size=self.pool_size, padding=self.padding, strides=self.strides,
                      data_format=self.data_format)
        return config


class MaxPooling2D(_Pooling2D):
    """Max pooling over spatial windows of NHWC images.

    Args:
        pool_size: int or pair of ints, the window size (default `(2, 2)`).
        strides: int, pair of ints or `None` (defaults to `pool_size`).
        padding: `"valid"` or `"same"`.
        data_format: `"channels_last"` or `None`.

    Input shape: `(batch, height, width, channels)`.
    Output shape: `(batch, pooled_height, pooled_width, channels)`.
    """

    _op = staticmethod(ops.max_pool2d)


class AveragePooling2D(_Pooling2D):
    """Average pooling over spatial windows of NHWC images.

    With `padding="same"` the padded pixels are left out of each average, as in Keras.

    Args:
        pool_size: int or pair of ints, the window size (default `(2, 2)`).
        strides: int, pair of ints or `None` (defaults to `pool_size`).
        padding: `"valid"` or `"same"`.
        data_format: `"channels_last"` or `None`.

    Input shape: `(batch, height, width, channels)`.
    Output shape: `(batch, pooled_height, pooled_width, channels)`.
    """

    _op = staticmethod(ops.avg_pool2d)


class _GlobalPooling2D(Layer):
    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = normalize_data_format(data_format, self.name)
        self.keepdims = bool(keepdims)
        self.input_spec = InputSpec(ndim=4)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if self.keepdims:
            return (input_shape[0], 1, 1, input_shape[3])
        return (input_shape[0], input_shape[3])

    def get_config(self):
        config = super().get_config()
        config.update(data_format=self.data_format, keepdims=self.keepdims)
        return config


class GlobalAveragePooling2D(_GlobalPooling2D):
    """Averages each channel over all spatial positions.

    Args:
        data_format: `"channels_last"` or `None`.
        keepdims: keep the spatial axes (as size 1): output `(batch, 1, 1, channels)`.

    Input shape: `(batch, height, width, channels)`. Output shape: `(batch, channels)`.
    """

    _traceable_call = True  # see Layer._traceable_call

    def call(self, inputs):
        return ops.mean(inputs, axis=(1, 2), keepdims=self.keepdims)


class GlobalMaxPooling2D(_GlobalPooling2D):
    """Takes the maximum of each channel over all spatial positions.

    Args:
        data_format: `"channels_last"` or `None`.
        keepdims: keep the spatial axes (as size 1): output `(batch, 1, 1, channels)`.

    Input shape: `(batch, height, width, channels)`. Output shape: `(batch, channels)`.
    """

    _traceable_call = True  # see Layer._traceable_call

    def call(self, inputs):
        return ops.max(inputs, axis=(1, 2), keepdims=self.keepdims)


# Keras's short aliases
MaxPool2D = MaxPooling2D
AvgPool2D = AveragePooling2D
GlobalAvgPool2D = GlobalAveragePooling2D
GlobalMaxPool2D = GlobalMaxPooling2D
