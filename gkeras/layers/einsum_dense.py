"""`EinsumDense`: a dense layer whose contraction is an einsum equation."""

import math
import re

import numpy as np

from gkeras import activations, constraints, initializers, ops, regularizers
from gkeras.layers.layer import Layer

# The three equation forms Keras accepts: "ab,bc->ac", "...b,bc->...c" and "ab...,bc->ac...";
# the ellipsis (written `0` after substitution) stands for the axes the layer leaves alone.
_PLAIN = re.compile(r"^([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)$")
_LEFT_ELIDED = re.compile(r"^0([a-zA-Z]+),([a-zA-Z]+)->0([a-zA-Z]+)$")
_RIGHT_ELIDED = re.compile(r"^([a-zA-Z]{2,})0,([a-zA-Z]+)->([a-zA-Z]+)0$")


def _match_equation(equation, name):
    """The regex match of `equation` and whether its ellipsis is on the left."""
    substituted = equation.replace("...", "0")
    for pattern, left_elided in ((_PLAIN, False), (_LEFT_ELIDED, True), (_RIGHT_ELIDED, False)):
        match = pattern.match(substituted)
        if match:
            return match, left_elided
    raise ValueError(
        f"Layer '{name}': invalid einsum equation {equation!r}. Equations must be in the "
        "form [X],[Y]->[Z], ...[X],[Y]->...[Z] or [X]...,[Y]->[Z]...."
    )


def analyze_equation(equation, bias_axes, input_shape, output_shape, name="einsum_dense"):
    """The kernel shape, bias shape and full output shape of an `EinsumDense` equation.

    Args:
        equation: e.g. `"abc,cde->abde"`, `"...b,bc->...c"`.
        bias_axes: output labels that get a bias, or `None`.
        input_shape: the input's full shape, batch first.
        output_shape: the output's shape without the batch (an int for one axis); `None`
            marks sizes taken from the input.
        name: the layer's name, for error messages.

    Returns:
        `(kernel_shape, bias_shape or None, full_output_shape)`.

    Raises:
        ValueError: for a malformed equation or shapes that do not fit it.
    """
    match, left_elided = _match_equation(equation, name)
    input_spec, kernel_spec, output_spec = match.groups()
    input_shape = list(input_shape)
    elided = len(input_shape) - len(input_spec)
    if elided < 0:
        raise ValueError(
            f"Layer '{name}': the equation {equation!r} names {len(input_spec)} input axes, but "
            f"the input has shape {tuple(input_shape)}."
        )
    full = list(output_shape) if isinstance(output_shape, (list, tuple)) else [output_shape]
    full.insert(0, input_shape[0])  # the batch size is the input's
    if elided > 0 and left_elided:
        # the elided axes keep their order (Keras 3.15 reverses them in the reported shape)
        full[1:1] = input_shape[1:elided]
    elif elided > 0:
        full.extend(input_shape[len(input_shape) - elided:])
    if left_elided:  # labels count from the end: the elided axes come first
        in_axis = {c: i + elided - len(input_shape) for i, c in enumerate(input_spec)}
        out_axis = {c: i + elided - len(full) for i, c in enumerate(output_spec)}
    else:
        in_axis = {c: i for i, c in enumerate(input_spec)}
        out_axis = {c: i for i, c in enumerate(output_spec)}
    if len(output_spec) + elided != len(full):
        raise ValueError(
            f"Layer '{name}': `output_shape` {output_shape!r} does not fit the output labels "
            f"{output_spec!r} of equation {equation!r} (expected {len(output_spec) - 1} "
            "sizes after the batch)."
        )
    for c in input_spec:
        if c in out_axis:
            size_in, size_out = input_shape[in_axis[c]], full[out_axis[c]]
            if size_out is not None and size_in is not None and size_out != size_in:
                raise ValueError(
                    f"Layer '{name}': input shape and output shape do not match at shared "
                    f"dimension '{c}'. Input shape is {size_in}, and output shape is "
                    f"{size_out}."
                )
    for c in output_spec:
        # a size left open that the input fixes is known (Keras reports None there)
        if c in in_axis and full[out_axis[c]] is None:
            full[out_axis[c]] = input_shape[in_axis[c]]
        if c not in input_spec and c not in kernel_spec:
            raise ValueError(
                f"Layer '{name}': dimension '{c}' was specified in the output {output_spec!r} "
                f"but has no corresponding dim in the input spec {input_spec!r} or weight spec "
                f"{kernel_spec!r}."
            )
    kernel_shape = []
    for c in kernel_spec:
        if c in in_axis:
            size = input_shape[in_axis[c]]
        elif c in out_axis:
            size = full[out_axis[c]]
        else:
            raise ValueError(
                f"Layer '{name}': weight dimension '{c}' did not have a match in either the "
                f"input spec {input_spec!r} or the output spec {output_spec!r}. For this "
                "layer, the weight must be fully specified."
            )
        kernel_shape.append(size)
    bias_shape = None
    if bias_axes is not None:
        for c in bias_axes:
            if c not in output_spec:
                raise ValueError(
                    f"Layer '{name}': bias dimension '{c}' was requested, but is not part of "
                    f"the output spec {output_spec!r}."
                )
        # the bias broadcasts from the first biased output axis to the end
        first = min(output_spec.find(c) for c in bias_axes)
        bias_shape = [full[out_axis[c]] if c in bias_axes else 1 for c in output_spec[first:]]
        if not left_elided:
            bias_shape += [1] * elided
    return kernel_shape, bias_shape, full


def explicit_equation(equation, ndim):
    """`equation` with its `...` replaced by letters it does not use, for an input of `ndim`
    axes (`ops.einsum` takes explicit labels only)."""
    if "..." not in equation:
        return equation
    inputs, rest = equation.split(",", 1)
    free = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in equation]
    elided = "".join(free[:ndim - len(inputs.replace("...", ""))])
    return equation.replace("...", elided)


def _kernel_fan_axes(equation, kernel_ndim):
    """`(input_axes, output_axes)` of the kernel: Keras 3 counts the kernel axes that reach
    the output as fan-out and the contracted ones as fan-in."""
    match, _ = _match_equation(equation, "einsum_dense")
    _, kernel_spec, output_spec = match.groups()
    output_axes = [i for i, c in enumerate(kernel_spec) if c in output_spec]
    input_axes = [i for i in range(kernel_ndim) if i not in output_axes]
    return input_axes, output_axes


class _FanAxesInitializer:
    """A variance-scaling initializer drawing a kernel with Keras 3's einsum fans: it samples
    the 2-D `(fan_in, fan_out)` matrix (the values are i.i.d., so only the variance depends on
    the shape) and lays it out on the kernel's axes. The default conv-style fans of a 3-D
    kernel would give MultiHeadAttention projections a different scale than Keras's."""

    def __init__(self, base, input_axes, output_axes):
        self.base, self.input_axes, self.output_axes = base, input_axes, output_axes

    def __call__(self, shape, dtype=None):
        in_sizes = [shape[i] for i in self.input_axes]
        out_sizes = [shape[i] for i in self.output_axes]
        flat = np.asarray(self.base((math.prod(in_sizes), math.prod(out_sizes)), dtype=dtype))
        order = self.input_axes + self.output_axes
        return np.transpose(flat.reshape(in_sizes + out_sizes), np.argsort(order))


class EinsumDense(Layer):
    """A dense layer whose contraction is an arbitrary einsum equation.

    `output = activation(einsum(equation, inputs, kernel) + bias)`; the kernel's shape is
    read from the equation, the input's shape and `output_shape`.

    Args:
        equation: `"{input},{kernel}->{output}"` with one letter per axis, e.g.
            `"ab,bc->ac"` (a Dense layer) or `"abc,cde->abde"` (a projection to heads);
            `...` may stand for unchanged leading (`"...b,bc->...c"`) or trailing axes.
        output_shape: the output's shape without the batch axis (an int for one axis);
            `None` for sizes that come from the input (e.g. the sequence length).
        activation: name or callable (linear when `None`).
        bias_axes: the output labels that carry a bias (e.g. `"de"`); no bias when `None`.
        kernel_initializer, bias_initializer: initialisers (glorot_uniform, zeros).
        kernel_regularizer, bias_regularizer, activity_regularizer: optional penalties.
        kernel_constraint, bias_constraint: optional constraints.

    Example:

    >>> layer = EinsumDense("abc,cde->abde", output_shape=(None, 4, 8), bias_axes="de")
    >>> layer(np.zeros((2, 5, 16), "float32")).shape
    (2, 5, 4, 8)
    """

    def __init__(self, equation, output_shape, activation=None, bias_axes=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, lora_rank=None, lora_alpha=None,
                 quantization_config=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if not isinstance(equation, str):
            raise TypeError(
                f"Layer '{self.name}': `equation` must be a string such as 'ab,bc->ac', got "
                f"{equation!r}."
            )
        if lora_rank or quantization_config is not None:
            raise ValueError(
                f"Layer '{self.name}': LoRA and quantization are not supported by gkeras's "
                f"EinsumDense (received lora_rank={lora_rank!r}, "
                f"quantization_config={quantization_config!r})."
            )
        if bias_axes is not None and not isinstance(bias_axes, str):
            raise TypeError(
                f"Layer '{self.name}': `bias_axes` must be a string of output labels or None, "
                f"got {bias_axes!r}."
            )
        self.equation = equation
        if isinstance(output_shape, int):
            output_shape = (output_shape,)
        self.partial_output_shape = tuple(output_shape)
        self.bias_axes = bias_axes
        self.activation = activations.get(activation)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.full_output_shape = None
        _match_equation(equation, self.name)  # a malformed equation fails here, not at build

    def build(self, input_shape):
        kernel_shape, bias_shape, full = analyze_equation(
            self.equation, self.bias_axes, input_shape, self.partial_output_shape, self.name)
        if None in kernel_shape or (bias_shape is not None and None in bias_shape):
            raise ValueError(
                f"Layer '{self.name}': the weights of equation {self.equation!r} need known "
                f"sizes, but input shape {tuple(input_shape)} and output shape {tuple(full)} "
                f"leave kernel {tuple(kernel_shape)} / bias {bias_shape} open."
            )
        self.full_output_shape = tuple(full)
        kernel_initializer = self.kernel_initializer
        if isinstance(kernel_initializer, initializers.VarianceScaling):
            kernel_initializer = _FanAxesInitializer(
                kernel_initializer, *_kernel_fan_axes(self.equation, len(kernel_shape)))
        self.kernel = self.add_weight(
            shape=kernel_shape, initializer=kernel_initializer,
            regularizer=self.kernel_regularizer, constraint=self.kernel_constraint, name="kernel")
        self.bias = None
        if bias_shape is not None:
            self.bias = self.add_weight(
                shape=bias_shape, initializer=self.bias_initializer,
                regularizer=self.bias_regularizer, constraint=self.bias_constraint, name="bias")
        self.built = True

    _traceable_call = True  # see Layer._traceable_call

    def call(self, inputs):
        y = ops.einsum(explicit_equation(self.equation, inputs.ndim), inputs, self.kernel)
        if self.bias is not None:
            y = ops.add(y, self.bias)
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        # Keras reports the shape the equation implies: sizes given as None stay unknown
        return tuple(analyze_equation(self.equation, self.bias_axes, input_shape,
                                      self.partial_output_shape, self.name)[2])

    def get_config(self):
        config = super().get_config()
        config.update(
            output_shape=self.partial_output_shape,
            equation=self.equation,
            activation=activations.serialize(self.activation),
            bias_axes=self.bias_axes,
            **self._weight_options_config("kernel", "bias"),
        )
        return config
