"""Spatial reshaping layers: zero padding, up-sampling and cropping of sequences and images.

The 2-D layers work on NHWC images `(batch, height, width, channels)`, the 1-D layers on
sequences `(batch, steps, features)`. None of them has weights; unknown (`None`) sizes stay
unknown in `compute_output_shape`.
"""

import numbers

import numpy as np

from gkeras import ops
from gkeras.layers.convolutional import normalize_data_format, normalize_tuple
from gkeras.layers.layer import InputSpec, Layer


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def normalize_pairs(value, n, arg_name, layer_name):
    """Keras's padding / cropping forms as `n` `(before, after)` pairs of non-negative ints.

    Accepted: an int (the same on both sides of every axis), a tuple of `n` ints (symmetric
    per axis), or a tuple of `n` pairs. For `n == 1` a single `(before, after)` pair is the
    per-side form, as in `ZeroPadding1D(padding=(1, 2))`.

    Raises:
        ValueError: naming the layer, the argument and the forms accepted.
    """
    def fail():
        forms = ("an int or a tuple of 2 ints (before, after)" if n == 1 else
                 f"an int, a tuple of {n} ints, or a tuple of {n} tuples of 2 ints "
                 "((before, after) per axis)")
        raise ValueError(
            f"Layer '{layer_name}': the `{arg_name}` argument must be {forms} with "
            f"non-negative values. Received: {arg_name}={value!r}."
        )

    if _is_int(value):
        pairs = [(value, value)] * n
    else:
        try:
            items = list(value)
        except TypeError:
            fail()
        if n == 1 and len(items) == 2 and all(_is_int(v) for v in items):
            pairs = [tuple(items)]
        elif len(items) == n and all(_is_int(v) for v in items):
            pairs = [(v, v) for v in items]
        elif len(items) == n:
            pairs = []
            for item in items:
                try:
                    pair = tuple(item)
                except TypeError:
                    fail()
                if len(pair) != 2 or not all(_is_int(v) for v in pair):
                    fail()
                pairs.append(pair)
        else:
            fail()
    if any(v < 0 for pair in pairs for v in pair):
        fail()
    return tuple((int(a), int(b)) for a, b in pairs)


def _padded(size, pair):
    return None if size is None else size + pair[0] + pair[1]


def _scaled(size, factor):
    return None if size is None else size * factor


# ------------------------------------------------------------------------ padding
class ZeroPadding2D(Layer):
    """Adds rows and columns of zeros around NHWC images.

    Args:
        padding: an int (the same on every side), a tuple of 2 ints `(rows, cols)` (symmetric
            height and width padding), or `((top, bottom), (left, right))`.
        data_format: `"channels_last"` or `None` (NHWC is the only layout gkeras supports).

    Input shape: `(batch, height, width, channels)`.
    Output shape: `(batch, height + top + bottom, width + left + right, channels)`.

    Example:

    >>> ZeroPadding2D(((1, 0), (2, 1)))(np.ones((1, 2, 2, 1), "float32")).shape
    (1, 3, 5, 1)
    """

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = normalize_pairs(padding, 2, "padding", self.name)
        self.data_format = normalize_data_format(data_format, self.name)
        self.input_spec = InputSpec(ndim=4)

    _traceable_call = True  # see Layer._traceable_call

    def call(self, inputs):
        return ops.pad(inputs, ((0, 0),) + self.padding + ((0, 0),))

    def compute_output_shape(self, input_shape):
        n, h, w, c = tuple(input_shape)
        return (n, _padded(h, self.padding[0]), _padded(w, self.padding[1]), c)

    def get_config(self):
        config = super().get_config()
        config.update(padding=self.padding, data_format=self.data_format)
        return config


class ZeroPadding1D(Layer):
    """Adds zero steps at the start and end of sequences.

    Args:
        padding: an int (the same at both ends) or a tuple `(left, right)`.
        data_format: `"channels_last"` or `None`.

    Input shape: `(batch, steps, features)`.
    Output shape: `(batch, left + steps + right, features)`.
    """

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.padding = normalize_pairs(padding, 1, "padding", self.name)[0]
        self.data_format = normalize_data_format(data_format, self.name)
        self.input_spec = InputSpec(ndim=3)

    _traceable_call = True  # see Layer._traceable_call

    def call(self, inputs):
        return ops.pad(inputs, ((0, 0), self.padding, (0, 0)))

    def compute_output_shape(self, input_shape):
        n, t, c = tuple(input_shape)
        return (n, _padded(t, self.padding), c)

    def get_config(self):
        config = super().get_config()
        config.update(padding=self.padding, data_format=self.data_format)
        return config


# --------------------------------------------------------------------- up-sampling
_INTERPOLATIONS = ("nearest", "bilinear")


def bilinear_matrix(size, factor, dtype):
    """The `(size * factor, size)` matrix of 1-D linear up-sampling with half-pixel centres.

    Output sample `o` reads the input at `(o + 0.5) / factor - 0.5`, clamped to the edges:
    the rule of TF's and JAX's `resize(..., "bilinear")` for an integer up-scale.
    """
    out = np.arange(size * factor)
    src = np.clip((out + 0.5) / factor - 0.5, 0, size - 1)
    low = np.floor(src).astype(np.int64)
    high = np.minimum(low + 1, size - 1)
    frac = src - low
    matrix = np.zeros((size * factor, size))
    np.add.at(matrix, (out, low), 1 - frac)
    np.add.at(matrix, (out, high), frac)
    return matrix.astype(dtype)


class UpSampling2D(Layer):
    """Repeats (or interpolates) the rows and columns of NHWC images.

    Args:
        size: an int or a pair of ints `(rows, cols)`, the up-sampling factors.
        data_format: `"channels_last"` or `None`.
        interpolation: `"nearest"` (each pixel repeated) or `"bilinear"` (linear in both
            directions with half-pixel centres, as Keras's image resizing).

    Input shape: `(batch, height, width, channels)`.
    Output shape: `(batch, height * rows, width * cols, channels)`.
    """

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        self.size = normalize_tuple(size, 2, "size", self.name)
        self.data_format = normalize_data_format(data_format, self.name)
        if interpolation not in _INTERPOLATIONS:
            raise ValueError(
                f"Layer '{self.name}': invalid `interpolation` {interpolation!r}. gkeras "
                f"supports one of {list(_INTERPOLATIONS)}."
            )
        self.interpolation = interpolation
        self.input_spec = InputSpec(ndim=4)

    _traceable_call = True  # see Layer._traceable_call

    def call(self, inputs):
        (sh, sw), (_, h, w, _) = self.size, inputs.shape
        if self.interpolation == "nearest":
            return ops.repeat(ops.repeat(inputs, sh, axis=1), sw, axis=2)
        # separable: one (new, old) interpolation matrix per spatial axis
        dtype = inputs.dtype
        rows = ops.convert_to_tensor(bilinear_matrix(h, sh, dtype))
        cols = ops.convert_to_tensor(bilinear_matrix(w, sw, dtype))
        return ops.einsum("Hh,nhwc,Ww->nHWc", rows, inputs, cols)

    def compute_output_shape(self, input_shape):
        n, h, w, c = tuple(input_shape)
        return (n, _scaled(h, self.size[0]), _scaled(w, self.size[1]), c)

    def get_config(self):
        config = super().get_config()
        config.update(size=self.size, data_format=self.data_format,
                      interpolation=self.interpolation)
        return config


class UpSampling1D(Layer):
    """Repeats each step of a sequence `size` times.

    Args:
        size: a positive int, the up-sampling factor.

    Input shape: `(batch, steps, features)`. Output shape: `(batch, steps * size, features)`.
    """

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        self.size = normalize_tuple(size, 1, "size", self.name)[0]
        self.input_spec = InputSpec(ndim=3)

    _traceable_call = True  # see Layer._traceable_call

    def call(self, inputs):
        return ops.repeat(inputs, self.size, axis=1)

    def compute_output_shape(self, input_shape):
        n, t, c = tuple(input_shape)
        return (n, _scaled(t, self.size), c)

    def get_config(self):
        config = super().get_config()
        config["size"] = self.size
        return config


# ------------------------------------------------------------------------ cropping
def _cropped(size, pair, axis_label, layer, input_shape, cropping):
    if size is None:
        return None
    if pair[0] + pair[1] >= size:
        raise ValueError(
            f"Layer '{layer.name}': the `cropping` values {pair} along the {axis_label} axis "
            f"must sum to less than its size {size}. Received: input_shape="
            f"{tuple(input_shape)}, cropping={cropping}."
        )
    return size - pair[0] - pair[1]


class Cropping2D(Layer):
    """Removes rows and columns at the borders of NHWC images.

    Args:
        cropping: an int (the same on every side), a tuple of 2 ints `(rows, cols)`
            (symmetric), or `((top, bottom), (left, right))`.
        data_format: `"channels_last"` or `None`.

    Input shape: `(batch, height, width, channels)`.
    Output shape: `(batch, height - top - bottom, width - left - right, channels)`.
    """

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.cropping = normalize_pairs(cropping, 2, "cropping", self.name)
        self.data_format = normalize_data_format(data_format, self.name)
        self.input_spec = InputSpec(ndim=4)

    _traceable_call = True  # see Layer._traceable_call

    def call(self, inputs):
        n, h, w, c = self.compute_output_shape(inputs.shape)
        (top, _), (left, _) = self.cropping
        return ops.get_item(inputs, (slice(None), slice(top, top + h), slice(left, left + w)))

    def compute_output_shape(self, input_shape):
        n, h, w, c = tuple(input_shape)
        (ch, cw), crop = self.cropping, self.cropping
        return (n, _cropped(h, ch, "height", self, input_shape, crop),
                _cropped(w, cw, "width", self, input_shape, crop), c)

    def get_config(self):
        config = super().get_config()
        config.update(cropping=self.cropping, data_format=self.data_format)
        return config


class Cropping1D(Layer):
    """Removes steps at the start and end of sequences.

    Args:
        cropping: an int (the same at both ends) or a tuple `(start, end)`.

    Input shape: `(batch, steps, features)`.
    Output shape: `(batch, steps - start - end, features)`.
    """

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(**kwargs)
        self.cropping = normalize_pairs(cropping, 1, "cropping", self.name)[0]
        self.input_spec = InputSpec(ndim=3)

    _traceable_call = True  # see Layer._traceable_call

    def call(self, inputs):
        t = self.compute_output_shape(inputs.shape)[1]
        start = self.cropping[0]
        return ops.get_item(inputs, (slice(None), slice(start, start + t)))

    def compute_output_shape(self, input_shape):
        n, t, c = tuple(input_shape)
        return (n, _cropped(t, self.cropping, "steps", self, input_shape, self.cropping), c)

    def get_config(self):
        config = super().get_config()
        config["cropping"] = self.cropping
        return config
