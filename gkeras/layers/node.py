"""Symbolic tensors and the nodes that link them: the functional graph's raw material.

Calling a layer on `KerasTensor`s records a `Node` (one layer call: its arguments and the
output tensors) instead of computing anything. `gkeras.models.Functional` walks these nodes.
"""

import itertools

import numpy as np

_tensor_counter = itertools.count()


def _next_tensor_name():
    n = next(_tensor_counter)
    return "keras_tensor" if n == 0 else f"keras_tensor_{n}"


class KerasTensor:
    """A placeholder for a tensor in a functional model: shape and dtype, no value.

    Attributes:
        shape: tuple, `None` for unknown dimensions (the batch).
        dtype: dtype name, e.g. `"float32"`.
        name: unique name (`keras_tensor`, `keras_tensor_1`, ... unless given).
    """

    def __init__(self, shape, dtype="float32", sparse=False, name=None):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = np.dtype(dtype).name
        self.sparse = sparse
        self.name = name or _next_tensor_name()
        self._keras_history = None  # (layer, node, index in the node's outputs)

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return (
            f"<KerasTensor shape={self.shape}, dtype={self.dtype}, sparse={self.sparse}, "
            f"name={self.name}>"
        )

    def __len__(self):
        raise TypeError(f"A symbolic tensor has no length: shape {self.shape}.")

    def __array__(self, *args, **kwargs):
        raise TypeError(
            f"{self!r} is a symbolic placeholder used to build a functional model; it has no "
            "value. Call the model on data instead."
        )


def flatten(structure):
    """Leaves of nested lists / tuples / dicts, in order (dicts by key insertion)."""
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in flatten(item)]
    if isinstance(structure, dict):
        return [leaf for item in structure.values() for leaf in flatten(item)]
    return [structure]


def map_structure(fn, structure):
    """Applies `fn` to every leaf, keeping the nesting."""
    if isinstance(structure, list):
        return [map_structure(fn, s) for s in structure]
    if isinstance(structure, tuple):
        return tuple(map_structure(fn, s) for s in structure)
    if isinstance(structure, dict):
        return {k: map_structure(fn, v) for k, v in structure.items()}
    return fn(structure)


def is_symbolic(structure):
    return any(isinstance(leaf, KerasTensor) for leaf in flatten(structure))


class Node:
    """One call of `layer` on symbolic arguments, producing `outputs`.

    Attributes:
        layer: the layer called.
        args, kwargs: the call's arguments, with KerasTensors where tensors go.
        inputs: the KerasTensors among the arguments, in order.
        outputs: the structure of KerasTensors the call returned.
    """

    def __init__(self, layer, args, kwargs, outputs):
        self.layer = layer
        self.args, self.kwargs = args, kwargs
        self.inputs = [t for t in flatten((args, kwargs)) if isinstance(t, KerasTensor)]
        self.outputs = outputs
        self.flat_outputs = flatten(outputs)
        single = len(args) == 1 and not kwargs and isinstance(args[0], KerasTensor)
        self._single_input = args[0] if single else None
        for index, tensor in enumerate(self.flat_outputs):
            tensor._keras_history = (layer, self, index)

    @property
    def parent_nodes(self):
        return [t._keras_history[1] for t in self.inputs if t._keras_history is not None]

    def run(self, values, training=None):
        """Calls the layer with each KerasTensor replaced by `values[id(tensor)]`."""
        if self._single_input is not None:  # the usual node: one tensor in, no options
            if training is not None and self.layer._accepts_training:
                return self.layer(values[id(self._single_input)], training=training)
            return self.layer(values[id(self._single_input)])
        args = map_structure(lambda t: values[id(t)] if isinstance(t, KerasTensor) else t,
                             self.args)
        kwargs = map_structure(lambda t: values[id(t)] if isinstance(t, KerasTensor) else t,
                               self.kwargs)
        if training is not None and self.layer._accepts_training and "training" not in kwargs:
            kwargs["training"] = training
        return self.layer(*args, **kwargs)


def rank_adjusted_shape(shape, expected):
    """`shape` as a model with an input of shape `expected` takes it: Keras's one-axis leeway
    squeezes a trailing size-1 axis too many and adds one too few (`(N, 4, 1)` feeds
    `Input((4,))`, `(N,)` feeds `Input((1,))`). Other shapes come back unchanged."""
    shape, expected = tuple(shape), tuple(expected)
    if len(shape) == len(expected) + 1 and shape[-1:] == (1,):
        return shape[:-1]
    if len(shape) == len(expected) - 1 and expected[-1:] == (1,):
        return shape + (1,)
    return shape
