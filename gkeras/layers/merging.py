"""Merge layers: combine a list of tensors elementwise (`Add`, ...) or by `Concatenate`."""

import functools

from gkeras import ops
from gkeras.layers.layer import Layer


def _shape_list(input_shape, layer):
    """The list of input shapes, or a ValueError saying a list of inputs was expected."""
    if not isinstance(input_shape, (list, tuple)) or not input_shape or not all(
            isinstance(s, (list, tuple)) for s in input_shape):
        raise ValueError(
            f"A merge layer ('{layer.name}') should be called on a list of inputs. "
            f"Received: input_shape={input_shape!r} (not a list of shapes)."
        )
    return [tuple(s) for s in input_shape]


def _shape_of(x):
    return tuple(x.shape)


class _Merge(Layer):
    """Merge of a list of tensors: elementwise, with broadcasting of size-1 axes.

    Inputs of lower rank get size-1 axes inserted after the batch axis (Keras's rule), so
    `(batch, 3)` merges with `(batch, 4, 3)`. Subclasses give `_merge_function`; a subclass
    with another shape rule (`Concatenate`) overrides `_check_shapes`, which validates the
    input shapes and returns the output shape.
    """

    _min_inputs = 1
    _described_as = "A merge layer"  # how errors name the layer

    def compute_mask(self, inputs, previous_mask=None):
        """A step is valid where it is valid in every masked input (Keras's rule); the
        masks of inputs of other ranks cannot be combined and give no mask."""
        masks = [m for m in (previous_mask or []) if m is not None]
        if not masks or any(m.shape != masks[0].shape for m in masks):
            return None
        combined = masks[0]
        for m in masks[1:]:
            combined = combined & m
        return combined

    def _check_shapes(self, shapes):
        if len(shapes) < self._min_inputs:
            raise ValueError(
                f"A merge layer ('{self.name}') should be called on a list of at least "
                f"{self._min_inputs} input(s). Received {len(shapes)} inputs: {shapes}."
            )
        batch_sizes = {s[0] for s in shapes if s} - {None}
        if len(batch_sizes) > 1:
            raise ValueError(
                f"Layer '{self.name}' cannot merge tensors with different batch sizes. "
                f"Received tensors with shapes {shapes}."
            )
        out = shapes[0][1:]
        for shape in shapes[1:]:
            out = self._broadcast(out, shape[1:], shapes)
        return (batch_sizes.pop() if batch_sizes else None,) + out

    def _broadcast(self, a, b, shapes):
        if len(a) < len(b):
            a, b = b, a
        if not b:
            return a
        out = list(a[:len(a) - len(b)])
        for i, j in zip(a[len(a) - len(b):], b):
            if i is None or j is None:
                out.append(None)
            elif i == 1 or j == 1 or i == j:
                out.append(j if i == 1 else i)
            else:
                raise ValueError(
                    f"Layer '{self.name}': inputs have incompatible shapes. Received shapes "
                    f"{shapes}."
                )
        return tuple(out)

    def build(self, input_shape):
        self._check_shapes(_shape_list(input_shape, self))
        self.built = True

    _traceable_call = True  # see Layer._traceable_call

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(
                f"{self._described_as} ('{self.name}') should be called on a list of inputs. "
                f"Received: inputs with shape {_shape_of(inputs)} (not a list of tensors)."
            )
        inputs = list(inputs)
        self._check_shapes([_shape_of(x) for x in inputs])
        max_ndim = max(x.ndim for x in inputs)
        aligned = []
        for x in inputs:
            while x.ndim < max_ndim:
                x = ops.expand_dims(x, 1)
            aligned.append(x)
        return self._merge_function(aligned)

    def _merge_function(self, inputs):
        raise NotImplementedError

    def compute_output_shape(self, input_shape):
        return self._check_shapes(_shape_list(input_shape, self))


class Add(_Merge):
    """Adds a list of inputs elementwise (same shapes, or broadcastable size-1 axes).

    Example:

    >>> Add()([np.ones((2, 3)), np.ones((2, 3))]).shape
    (2, 3)
    """

    def _merge_function(self, inputs):
        return functools.reduce(ops.add, inputs)


class Subtract(_Merge):
    """Subtracts two inputs: `inputs[0] - inputs[1]` (exactly two inputs)."""

    _min_inputs = 2

    def _check_shapes(self, shapes):
        if len(shapes) != 2:
            raise ValueError(
                f"A `Subtract` layer ('{self.name}') should be called on exactly 2 inputs. "
                f"Received: input_shape={shapes}."
            )
        return super()._check_shapes(shapes)

    def _merge_function(self, inputs):
        return ops.subtract(inputs[0], inputs[1])


class Multiply(_Merge):
    """Multiplies a list of inputs elementwise."""

    def _merge_function(self, inputs):
        return functools.reduce(ops.multiply, inputs)


class Average(_Merge):
    """Averages a list of inputs elementwise."""

    def _merge_function(self, inputs):
        return ops.divide(functools.reduce(ops.add, inputs), float(len(inputs)))


class Maximum(_Merge):
    """Elementwise maximum of a list of inputs."""

    def _merge_function(self, inputs):
        return functools.reduce(ops.maximum, inputs)


class Minimum(_Merge):
    """Elementwise minimum of a list of inputs."""

    def _merge_function(self, inputs):
        return functools.reduce(ops.minimum, inputs)


class Concatenate(_Merge):
    """Concatenates a list of inputs along `axis`.

    All inputs must have the same rank and the same sizes on every axis but `axis`.

    Args:
        axis: the concatenation axis (default `-1`).

    Example:

    >>> Concatenate()([np.zeros((2, 3)), np.zeros((2, 5))]).shape
    (2, 8)
    """

    _described_as = "A `Concatenate` layer"

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axis, int) or isinstance(axis, bool):
            raise ValueError(
                f"Layer '{self.name}': `axis` must be an int. Received: axis={axis!r}."
            )
        self.axis = axis

    def _check_shapes(self, shapes):
        if len(shapes) < 1:
            raise ValueError(
                f"A `Concatenate` layer ('{self.name}') should be called on a list of at least "
                f"1 input. Received: input_shape={shapes}."
            )
        error = (
            f"A `Concatenate` layer ('{self.name}') requires inputs with matching shapes "
            f"except for the concatenation axis {self.axis}. Received: input_shape={shapes}."
        )
        ranks = {len(s) for s in shapes}
        if len(ranks) != 1:
            raise ValueError(error)
        (rank,) = ranks
        if not -rank <= self.axis < rank:
            raise ValueError(
                f"Layer '{self.name}': invalid concatenation axis {self.axis} for inputs of rank "
                f"{rank}. Received: input_shape={shapes}."
            )
        axis = self.axis % rank
        out = []
        for i in range(rank):
            sizes = [s[i] for s in shapes]
            if i == axis:
                out.append(None if None in sizes else sum(sizes))
                continue
            known = {d for d in sizes if d is not None}
            if len(known) > 1:
                raise ValueError(error)
            out.append(known.pop() if known else None)
        return tuple(out)

    def _merge_function(self, inputs):
        # `_check_shapes` has made sure every input has the same rank
        return ops.concatenate(inputs, axis=self.axis)

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config


def _functional(layer_cls, doc):
    def merge(inputs, **kwargs):
        return layer_cls(**kwargs)(inputs)

    merge.__name__ = layer_cls.__name__.lower()
    merge.__doc__ = doc
    return merge


add = _functional(Add, "Functional form of `Add`: `add([x1, x2, ...])`.")
subtract = _functional(Subtract, "Functional form of `Subtract`: `subtract([x1, x2])`.")
multiply = _functional(Multiply, "Functional form of `Multiply`: `multiply([x1, x2, ...])`.")
average = _functional(Average, "Functional form of `Average`: `average([x1, x2, ...])`.")
maximum = _functional(Maximum, "Functional form of `Maximum`: `maximum([x1, x2, ...])`.")
minimum = _functional(Minimum, "Functional form of `Minimum`: `minimum([x1, x2, ...])`.")


def concatenate(inputs, axis=-1, **kwargs):
    """Functional form of `Concatenate`: `concatenate([x1, x2, ...], axis=-1)`."""
    return Concatenate(axis=axis, **kwargs)(inputs)
