"""Core layers: `Input` / `InputLayer`, `Dense`, `Activation`."""

import numpy as np

from gkeras import activations, constraints, initializers, ops, regularizers
from gkeras.layers.layer import InputSpec, Layer
from gkeras.layers.node import KerasTensor, Node


class InputLayer(Layer):
    """The entry point of a functional model; holds one `KerasTensor`.

    Args:
        shape: the shape of one sample (no batch dimension).
        batch_size: optional fixed batch size.
        dtype: the input dtype (`floatx()` by default).
        name: the layer's (and tensor's) name.
    """

    def __init__(self, shape=None, batch_size=None, dtype=None, sparse=False, name=None,
                 batch_shape=None, input_tensor=None, **kwargs):
        if "input_shape" in kwargs and shape is None:
            shape = kwargs.pop("input_shape")
        if "batch_input_shape" in kwargs and batch_shape is None:
            batch_shape = kwargs.pop("batch_input_shape")
        super().__init__(name=name, dtype=dtype, **kwargs)
        if batch_shape is None:
            if shape is None:
                raise ValueError("InputLayer needs `shape` (one sample's shape) or `batch_shape`.")
            if isinstance(shape, int):
                shape = (shape,)
            batch_shape = (batch_size,) + tuple(shape)
        self.batch_shape = tuple(None if d is None else int(d) for d in batch_shape)
        self.sparse = sparse
        self.built = True
        if input_tensor is None:
            input_tensor = KerasTensor(self.batch_shape, dtype=self.dtype, sparse=sparse,
                                       name=name)
        self._inbound_nodes.append(Node(self, (), {}, input_tensor))
        self.output_tensor = input_tensor

    _traceable_call = True  # see Layer._traceable_call

    def call(self, inputs):
        return inputs

    def get_config(self):
        return {"batch_shape": self.batch_shape, "dtype": self.dtype, "sparse": self.sparse,
                "name": self.name}


def Input(shape=None, batch_size=None, dtype=None, sparse=None, batch_shape=None, name=None,
          tensor=None):
    """Creates a symbolic input tensor for a functional model.

    Args:
        shape: one sample's shape, e.g. `(20,)` (no batch dimension).
        batch_size: optional fixed batch size.
        dtype: the expected dtype (`floatx()` by default).
        name: an optional name for the input (and its `InputLayer`).

    Returns:
        A `KerasTensor`, e.g. `<KerasTensor shape=(None, 20), dtype=float32, sparse=False,
        name=keras_tensor>`.
    """
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, sparse=bool(sparse),
                       batch_shape=batch_shape, name=name, input_tensor=tensor)
    return layer.output_tensor


class Dense(Layer):
    """Densely connected layer: `activation(dot(inputs, kernel) + bias)`.

    Args:
        units: positive int, the output size.
        activation: name or callable (linear when `None`).
        use_bias: whether to add a bias.
        kernel_initializer, bias_initializer: initialisers (glorot_uniform, zeros).
        kernel_regularizer, bias_regularizer, activity_regularizer: optional penalties.
        kernel_constraint, bias_constraint: optional constraints.

    Input shape: `(batch, ..., input_dim)`. Output shape: `(batch, ..., units)`.
    """

    supports_masking = True  # works per time step: the input's mask still holds

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if not isinstance(units, (int, np.integer)) or isinstance(units, bool) or units <= 0:
            raise ValueError(
                f"Received an invalid value for `units` of layer '{self.name}': expected a "
                f"positive integer, got {units!r}."
            )
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(min_ndim=2)
        self._fused = activations.fused_form(self.activation)

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(
                f"The last dimension of the input to Dense layer '{self.name}' must be known, "
                f"got input shape {input_shape}."
            )
        self.kernel = self.add_weight(
            shape=(input_dim, self.units), initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer, constraint=self.kernel_constraint, name="kernel")
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=(self.units,), initializer=self.bias_initializer,
                regularizer=self.bias_regularizer, constraint=self.bias_constraint, name="bias")
        self.input_spec = InputSpec(min_ndim=2, axes={-1: input_dim})
        self.built = True

    _traceable_call = True  # see Layer._traceable_call

    def call(self, inputs):
        if self._fused is not None:
            y = ops.dense(inputs, self.kernel, self.bias, *self._fused)
        else:
            y = self.activation(ops.dense(inputs, self.kernel, self.bias))
        return y

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units,
            activation=activations.serialize(self.activation),
            use_bias=self.use_bias,
            **self._weight_options_config("kernel", "bias"),
        )
        return config


class Activation(Layer):
    """Applies an activation function.

    Args:
        activation: name (e.g. `"relu"`) or callable.
    """

    supports_masking = True  # works per time step: the input's mask still holds

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    _traceable_call = True  # see Layer._traceable_call

    def call(self, inputs):
        return self.activation(inputs)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["activation"] = activations.serialize(self.activation)
        return config
