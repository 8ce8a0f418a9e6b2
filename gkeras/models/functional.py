"""`Functional`: a model defined by a graph of layer calls on `Input` tensors."""

import numpy as np

from gkeras import ops
from gkeras.autodiff import Tensor, to_array
from gkeras.layers.core import InputLayer
from gkeras.layers.layer import unique_name
from gkeras.layers.node import KerasTensor, flatten, map_structure, rank_adjusted_shape
from gkeras.models.model import Model


class Functional(Model):
    """A model built from symbolic inputs and outputs: `Model(inputs, outputs, name=None)`.

    Args:
        inputs: a `KerasTensor` from `gkeras.Input`, or a list / dict of them.
        outputs: the tensors computed from `inputs`: one, or a list / dict of them.
        name: the model's name (`functional`, `functional_1`, ... by default).
    """

    def __init__(self, inputs, outputs, name=None, trainable=True, **kwargs):
        Model.__init__(self, name=name or unique_name("functional"), trainable=trainable,
                       **kwargs)
        for what, structure in (("inputs", inputs), ("outputs", outputs)):
            for leaf in flatten(structure):
                if not isinstance(leaf, KerasTensor):
                    raise ValueError(
                        f"All `{what}` of a functional model must be symbolic tensors created "
                        f"with gkeras.Input() and layer calls; got {leaf!r}."
                    )
        self._inputs_struct = inputs
        self._outputs_struct = outputs
        self.inputs = flatten(inputs)
        self.outputs = flatten(outputs)
        self._nodes = self._collect_nodes()
        self._layers_in_order = self._collect_layers()
        for layer in self._layers_in_order:
            if all(layer is not t for t in self._tracked_layers):
                self._tracked_layers.append(layer)
        self.built = True
        self._build_input_shape = map_structure(lambda t: t.shape, inputs)

    # ---------------------------------------------------------------- the graph
    def _collect_nodes(self):
        """Every node between the inputs and the outputs, in an order that runs parents first."""
        ordered, state = [], {}
        input_ids = {id(t) for t in self.inputs}

        def visit(tensor, path):
            history = tensor._keras_history
            if history is None:
                raise ValueError(f"Tensor {tensor!r} was not produced by a layer call.")
            node = history[1]
            if state.get(id(node)) == "done":
                return
            if id(tensor) in input_ids and isinstance(history[0], InputLayer):
                state[id(node)] = "done"
                ordered.append(node)
                return
            if isinstance(history[0], InputLayer):
                raise ValueError(
                    f"Graph disconnected: cannot obtain a value for tensor {tensor!r} (input "
                    f"'{history[0].name}'), which is not among the model's inputs "
                    f"{[t.name for t in self.inputs]}."
                )
            if id(node) in path:
                raise ValueError("The functional graph has a cycle.")
            for parent in node.inputs:
                visit(parent, path | {id(node)})
            state[id(node)] = "done"
            ordered.append(node)

        for tensor in self.inputs:
            visit(tensor, frozenset())
        for tensor in self.outputs:
            visit(tensor, frozenset())
        return ordered

    def _collect_layers(self):
        layers = []
        for node in self._nodes:
            if all(node.layer is not lay for lay in layers):
                layers.append(node.layer)
        return layers

    @property
    def layers(self):
        """The model's layers, input layers included, in graph order."""
        return list(self._layers_in_order)

    @property
    def input_names(self):
        return [t._keras_history[0].name for t in self.inputs]

    @property
    def output_names(self):
        if isinstance(self._outputs_struct, dict):
            return list(self._outputs_struct)
        return [t._keras_history[0].name for t in self.outputs]

    @property
    def input(self):
        return self._inputs_struct

    @property
    def output(self):
        return self._outputs_struct

    # -------------------------------------------------------------------- call
    def _assign_inputs(self, inputs):
        """Maps call arguments onto the model's input tensors (by position or by name)."""
        if isinstance(inputs, dict):
            if isinstance(self._inputs_struct, dict):
                keys = list(self._inputs_struct)
                missing = [k for k in keys if k not in inputs]
                if missing:
                    raise ValueError(
                        f"Missing data for input(s) {missing} of model '{self.name}'. Expected "
                        f"keys: {keys}; got: {list(inputs)}."
                    )
                return [inputs[k] for k in keys]
            names = self.input_names
            unknown = [k for k in inputs if k not in names]
            if unknown:
                raise ValueError(
                    f"Keys {unknown} match no input of model '{self.name}'. Valid input names: "
                    f"{names}."
                )
            return [inputs[n] for n in names]
        values = flatten(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        if len(values) != len(self.inputs):
            raise ValueError(
                f"Model '{self.name}' expects {len(self.inputs)} input(s), but it received "
                f"{len(values)} input tensors."
            )
        return values

    def _autocast(self, value):
        return value  # `call` converts each input to its Input's dtype instead

    _traceable_call = True  # see Layer._traceable_call

    def call(self, inputs, training=None):
        values = {}
        for tensor, value in zip(self.inputs, self._assign_inputs(inputs)):
            value = _adjust_rank(value, tensor.shape)
            self._check_input_shape(tensor, value)
            values[id(tensor)] = _as_input_dtype(value, tensor.dtype)
        for node in self._nodes:
            if isinstance(node.layer, InputLayer):
                continue
            result = node.run(values, training=training)
            for tensor, value in zip(node.flat_outputs, flatten(result)):
                values[id(tensor)] = value
        outputs = map_structure(lambda t: values[id(t)], self._outputs_struct)
        if isinstance(outputs, (list, tuple)) and len(outputs) == 1:
            return outputs[0]  # Keras unpacks a one-element output list
        return outputs

    def _check_input_shape(self, tensor, value):
        shape = getattr(value, "shape", None)
        if shape is None:
            return
        expected = tensor.shape
        if len(shape) != len(expected) or any(
                e is not None and e != s for e, s in zip(expected, shape)):
            raise ValueError(
                f"Input '{tensor._keras_history[0].name}' of model '{self.name}' is incompatible: "
                f"expected shape {expected}, but received input with shape {tuple(shape)}."
            )

    def _maybe_build(self, args):
        self.built = True

    def compute_output_shape(self, input_shape):
        return map_structure(lambda t: t.shape, self._outputs_struct)

    # ------------------------------------------------------------------ config
    def get_config(self):
        """The graph as Keras's functional config: layers with inbound nodes, inputs, outputs."""
        from gkeras.models.graph_config import functional_config

        return functional_config(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from gkeras.models.graph_config import functional_from_config

        return functional_from_config(config, custom_objects)


def _as_input_dtype(value, dtype):
    """`value` converted to the dtype its `Input` declares, as Keras converts model inputs
    (a float64 or integer array fed to a float32 Input becomes float32); the mask is kept."""
    if not isinstance(value, Tensor):
        value = Tensor(to_array(value)) if hasattr(value, "shape") else value
    if not isinstance(value, Tensor) or dtype is None or value.data.dtype == np.dtype(dtype):
        return value
    cast = ops.cast(value, dtype)
    cast._keras_mask = value._keras_mask
    return cast


def _adjust_rank(value, expected):
    """`value` reshaped by Keras's one-axis leeway for model inputs (`rank_adjusted_shape`)."""
    shape = getattr(value, "shape", None)
    if shape is None:
        return value
    adjusted = rank_adjusted_shape(shape, expected)
    return value if adjusted == tuple(shape) else value.reshape(adjusted)
