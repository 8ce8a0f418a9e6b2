"""`Sequential`: a plain stack of layers, each with one input and one output."""

from gkeras.autodiff import Tensor
from gkeras.layers.core import Input, InputLayer
from gkeras.layers.layer import Layer, unique_name
from gkeras.layers.node import KerasTensor
from gkeras.models.functional import _as_input_dtype
from gkeras.models.model import Model


class Sequential(Model):
    """A linear stack of layers.

    Args:
        layers: optional list of layers (an `Input` / `InputLayer` may come first).
        name: the model's name (`sequential`, `sequential_1`, ... by default).

    Example:

    ```python
    model = gkeras.Sequential([
        gkeras.layers.Dense(8, input_shape=(4,), activation="relu"),
        gkeras.layers.Dense(3, activation="softmax"),
    ])
    ```

    The model is built as soon as the input shape is known: from an `Input` first, an
    `input_shape=` on the first layer, or the first batch of data.
    """

    def __init__(self, layers=None, trainable=True, name=None, **kwargs):
        Model.__init__(self, name=name or unique_name("sequential"), trainable=trainable,
                       **kwargs)
        self._stack = []
        self._input_layer = None
        self._graph_output = None
        for layer in layers or []:
            self.add(layer, rebuild=False)
        self._maybe_build_graph()

    def add(self, layer, rebuild=True):
        """Appends a layer (or an `Input` tensor, which sets the input shape)."""
        if isinstance(layer, KerasTensor) and isinstance(layer._keras_history[0], InputLayer):
            layer = layer._keras_history[0]
        if not isinstance(layer, Layer):
            raise ValueError(
                f"Only instances of gkeras.layers.Layer can be added to a Sequential model; "
                f"received {layer!r} (of type {type(layer).__name__})."
            )
        if isinstance(layer, InputLayer):
            if self._stack or self._input_layer is not None:
                raise ValueError(
                    "An InputLayer can only be the first layer of a Sequential model; model "
                    f"'{self.name}' already has layers."
                )
            self._input_layer = layer
        else:
            if any(existing.name == layer.name for existing in self._stack):
                raise ValueError(
                    f"All layers added to a Sequential model should have unique names. Name "
                    f"'{layer.name}' is already the name of a layer in this model."
                )
            self._stack.append(layer)
            self._tracked_layers.append(layer)
            self._step_cache = None  # a fit in progress trains the new stack from now on
        if rebuild:
            self._maybe_build_graph()

    def pop(self, rebuild=True):
        """Removes the last layer."""
        if not self._stack:
            raise TypeError("There are no layers in the model.")
        layer = self._stack.pop()
        self._tracked_layers.remove(layer)
        self._step_cache = None
        self.built = False
        self._graph_output = None
        if rebuild:
            self._maybe_build_graph()
        return layer

    @property
    def layers(self):
        """The layers, without the input layer (as Keras 3 lists them)."""
        return list(self._stack)

    def _input_batch_shape(self):
        if self._input_layer is not None:
            return self._input_layer.batch_shape
        if self._stack and self._stack[0]._batch_input_shape is not None:
            return self._stack[0]._batch_input_shape
        return None

    def _maybe_build_graph(self):
        shape = self._input_batch_shape()
        if shape is not None and self._stack:
            self.build(shape)

    def build(self, input_shape=None):
        """Builds every layer by tracing a symbolic input of `input_shape` through the stack."""
        input_shape = tuple(input_shape) if input_shape is not None else self._input_batch_shape()
        if input_shape is None:
            raise ValueError(
                f"Sequential model '{self.name}' cannot be built: its input shape is unknown. "
                "Add an Input, pass input_shape= to the first layer, or call it on data."
            )
        if self._input_layer is None or self._input_layer.batch_shape != input_shape:
            dtype = self._stack[0].dtype if self._stack else None
            self._input_layer = Input(batch_shape=input_shape, dtype=dtype)._keras_history[0]
        x = self._input_layer.output_tensor
        for layer in self._stack:
            x = layer(x)
        self._graph_output = x
        self.built = True
        self._build_input_shape = input_shape

    def _maybe_build(self, args):
        if not self.built and args:
            first = args[0]
            shape = tuple(first.shape)
            self.build((None,) + shape[1:])

    def _autocast(self, value):
        # the stack's Input (when there is one) fixes the input dtype, as in a functional model;
        # otherwise the first layer casts what it receives
        if self._input_layer is None or not isinstance(value, Tensor):
            return value
        return _as_input_dtype(value, self._input_layer.dtype)

    _traceable_call = True  # see Layer._traceable_call

    def call(self, inputs, training=None):
        x = inputs
        for layer in self._stack:
            if layer.built and isinstance(x, Tensor):  # what Layer.__call__ would pick anyway
                x = layer._eager_call(x, training if layer._accepts_training else None)
            else:
                x = layer(x, training=training) if layer._accepts_training else layer(x)
        return x

    @property
    def inputs(self):
        return [self._input_layer.output_tensor] if self._input_layer is not None else []

    @property
    def outputs(self):
        return [self._graph_output] if self._graph_output is not None else []

    @property
    def input_names(self):
        return [self._input_layer.name] if self._input_layer is not None else []

    @property
    def output_names(self):
        return [self._stack[-1].name] if self._stack else []

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        for layer in self._stack:
            shape = layer.compute_output_shape(shape)
        return shape

    def get_config(self):
        from gkeras.models.graph_config import sequential_config

        return sequential_config(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from gkeras.models.graph_config import sequential_from_config

        return sequential_from_config(config, custom_objects)
