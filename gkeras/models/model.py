"""`Model`: a Layer that trains. Subclass it (define `call`) or build it functionally."""

from gkeras.layers.layer import Layer, _PlaceholderSpec
from gkeras.saving.model_methods import SavingMixin
from gkeras.training.generator_methods import GeneratorMethods
from gkeras.training.trainer import Trainer


class Model(Trainer, GeneratorMethods, SavingMixin, Layer):
    """A model: groups layers, and trains with `compile` / `fit` / `evaluate` / `predict`.

    Two ways to create one:

    - Functional: `Model(inputs, outputs, name=None)` from `gkeras.Input` tensors.
    - Subclassing: define layers in `__init__` (tracked automatically, also inside lists
      and dicts) and the forward pass in `call(self, inputs, training=None)`.

    Example:

    ```python
    inputs = gkeras.Input(shape=(20,))
    x = gkeras.layers.Dense(64, activation="relu")(inputs)
    outputs = gkeras.layers.Dense(1, activation="sigmoid")(x)
    model = gkeras.Model(inputs, outputs)
    ```
    """

    _casts_integer_inputs = False  # each layer (or Input) decides for the data it receives

    def __new__(cls, *args, **kwargs):
        if cls is Model and (args or "inputs" in kwargs or "outputs" in kwargs):
            from gkeras.models.functional import Functional

            return Functional.__new__(Functional)
        return super().__new__(cls)

    def __init__(self, *args, **kwargs):
        if args:
            raise TypeError(
                f"{type(self).__name__}.__init__ takes keyword arguments only (name, trainable, "
                f"dtype); got positional arguments {args!r}. To build a functional model, call "
                "Model(inputs, outputs)."
            )
        Trainer.__init__(self)
        Layer.__init__(self, **kwargs)

    def build(self, input_shape):
        """Creates the weights of a subclassed model by running `call` on placeholder data."""
        if type(self).call is Model.call:
            raise NotImplementedError(
                f"Model '{self.name}' has no `call` method: subclass Model and define "
                "call(self, inputs, training=None), or use Model(inputs, outputs)."
            )
        self.built = True  # before the trial call, which would otherwise build again
        spec = _PlaceholderSpec(input_shape) if not isinstance(input_shape, (list, dict)) else (
            [_PlaceholderSpec(s) for s in input_shape] if isinstance(input_shape, list) else
            {k: _PlaceholderSpec(s) for k, s in input_shape.items()})
        self._output_specs((spec,), {})

    def call(self, inputs, training=None):
        raise NotImplementedError(
            f"Model '{self.name}' has no `call` method: subclass Model and define "
            "call(self, inputs, training=None), or use Model(inputs, outputs)."
        )

    @property
    def input_shape(self):
        """The shape of the model's input (a list of shapes for several inputs)."""
        inputs = self._graph_tensors("inputs")
        if inputs is None:
            return Layer.input_shape.fget(self)
        shapes = [tuple(t.shape) for t in inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        """The shape of the model's output (a list of shapes for several outputs)."""
        outputs = self._graph_tensors("outputs")
        if outputs is None:
            return Layer.output_shape.fget(self)
        shapes = [tuple(t.shape) for t in outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    def _graph_tensors(self, which):
        # functional and Sequential models know their Input / output tensors
        tensors = getattr(type(self), which, None)
        if not isinstance(tensors, property):
            return None
        tensors = getattr(self, which)
        return list(tensors) if tensors else None

    @property
    def run_eagerly(self):
        """Always true in effect: gkeras runs every step eagerly (settable for Keras code)."""
        return getattr(self, "_run_eagerly", False)

    @run_eagerly.setter
    def run_eagerly(self, value):
        self._run_eagerly = bool(value)

    def to_json(self, **kwargs):
        """The model's architecture as a JSON string (`keras.models.model_from_json` reads it).

        Args:
            **kwargs: passed to `json.dumps` (e.g. `indent=2`).
        """
        import json

        from gkeras import __version__
        from gkeras.saving.subclassed import model_config_of

        config = dict(model_config_of(self), keras_version=__version__, backend="numpy")
        return json.dumps(config, default=_json_default, **kwargs)

    def get_layer(self, name=None, index=None):
        """Returns a layer by `name` or by `index` (in `model.layers` order).

        Raises:
            ValueError: when the name or index matches no layer, or neither/both are given.
        """
        layers = self.layers
        if index is not None and name is not None:
            raise ValueError("Provide only a layer name or a layer index, not both.")
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(
                    f"Was asked to retrieve layer at index {index} but model '{self.name}' only "
                    f"has {len(layers)} layers."
                )
            return layers[index]
        if name is not None:
            for layer in layers:
                if layer.name == name:
                    return layer
            raise ValueError(
                f"No such layer: {name}. Existing layers are: {[lay.name for lay in layers]}."
            )
        raise ValueError("Provide either a layer name or a layer index to get_layer().")

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None):
        """Prints a table of the layers, their output shapes and parameter counts."""
        from gkeras.models.summary import print_summary

        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn,
                      expand_nested=expand_nested, show_trainable=show_trainable,
                      layer_range=layer_range)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Creates a model from its config: a functional graph config builds a `Functional`."""
        if cls is Model or {"layers", "input_layers", "output_layers"} <= set(config):
            from gkeras.models.graph_config import functional_from_config

            return functional_from_config(config, custom_objects)
        return cls(**config)

    def get_config(self):
        # A subclassed model is recreated by calling its class with no arguments unless it
        # overrides get_config; the name is kept so saved weights line up.
        return {"name": self.name, "trainable": self.trainable}


def _json_default(value):
    """Makes NumPy scalars and arrays in configs JSON-serialisable."""
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
