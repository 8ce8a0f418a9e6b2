"""Utility layers: `Lambda` (wraps a function), `Permute`, `Rescaling` and `Identity`."""

import inspect
import numbers
import sys

import numpy as np

from gkeras import ops
from gkeras.layers.layer import InputSpec, Layer


# ------------------------------------------------------------------------ Lambda
def serialize_function(function, layer_name, what="function"):
    """A named function as Keras's `{"class_name": "function", "config": name}` entry.

    Keras saves lambdas as Python bytecode, which is unsafe to load and tied to one Python
    version; gkeras stores functions by name only, so a lambda cannot be saved.

    Raises:
        ValueError: for a lambda or a callable without a name.
    """
    from gkeras.saving.serialization import get_registered_name

    name = getattr(function, "__name__", None)
    if not inspect.isfunction(function) and not inspect.isbuiltin(function):
        name = None  # callable objects and partials have no importable name
    if not name or name == "<lambda>":
        raise ValueError(
            f"Layer '{layer_name}': cannot serialize the {what} {function!r}. gkeras stores "
            "Lambda functions by name and does not save Python bytecode, so a lambda (or an "
            "unnamed callable) cannot be saved. Define it with `def`, give it to the layer, "
            "and pass it through `custom_objects={'name': function}` (or register it with "
            "@gkeras.saving.register_keras_serializable()) when loading."
        )
    return {"module": getattr(function, "__module__", None), "class_name": "function",
            "config": get_registered_name(function), "registered_name": "function"}


def deserialize_function(config, layer_name, custom_objects=None, what="function"):
    """The function a `serialize_function` entry (or a bare name) refers to.

    The name is looked up in `custom_objects`, the active `custom_object_scope`, the global
    registry, and finally in its module when that module is already imported (nothing is
    imported on the way: loading a file never runs code it names).

    Raises:
        ValueError: for Keras's bytecode lambdas and for names that resolve to nothing.
    """
    from gkeras.saving.serialization import get_registered_object

    if callable(config):
        return config
    if isinstance(config, dict) and config.get("class_name") == "__lambda__":
        raise ValueError(
            f"Layer '{layer_name}': the {what} was saved as Python bytecode (a Keras lambda). "
            "gkeras does not load bytecode; re-create the layer with a named function, or "
            "replace the entry with the function's name and pass the function through "
            "`custom_objects`."
        )
    if isinstance(config, dict) and isinstance(config.get("config"), str):
        name, module = config["config"], config.get("module")
    elif isinstance(config, str):
        name, module = config, None
    else:
        raise ValueError(
            f"Layer '{layer_name}': expected the {what} as a name or a "
            f"{{'class_name': 'function', 'config': name}} dict. Received: {config!r}."
        )
    found = get_registered_object(name, custom_objects)
    if found is None and ">" in name:
        found = get_registered_object(name.split(">", 1)[1], custom_objects)
    if found is None and module in sys.modules:
        found = getattr(sys.modules[module], name.split(">")[-1], None)
    if not callable(found):
        raise ValueError(
            f"Layer '{layer_name}': cannot find the {what} '{name}' named in its config. Pass "
            f"it through `custom_objects={{'{name}': {name.split('>')[-1]}}}` or register it "
            "with @gkeras.saving.register_keras_serializable()."
        )
    return found


def _accepts(function, argument):
    try:
        return argument in inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False


class Lambda(Layer):
    """Wraps a function of tensors as a layer: `Lambda(function)(x) == function(x)`.

    The function must be built from `gkeras.ops` so that gradients flow through it. It
    receives `mask=` and `training=` when its signature names them.

    Saving: the function is stored by name (never as bytecode, unlike Keras): a function
    defined with `def` can be saved and is found again through `custom_objects` or the
    serialization registry; `get_config` raises a `ValueError` for a lambda.

    Args:
        function: the callable applied to the inputs.
        output_shape: the output shape without the batch axis (a tuple), or a function of
            the full input shape giving the full output shape; inferred by running the
            function on placeholder data when `None`.
        mask: `None` (the output carries no mask), a function `mask(inputs, previous_mask)`,
            or a constant mask for every output.
        arguments: optional dict of keyword arguments passed to the function.

    Example:

    >>> def double(x):
    ...     return x * 2
    >>> Lambda(double)(np.ones((2, 3), "float32")).numpy()[0]
    array([2., 2., 2.], dtype=float32)
    """

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise TypeError(
                f"Layer '{self.name}': `function` must be callable. Received: "
                f"{type(function).__name__} {function!r}."
            )
        if output_shape is not None and not callable(output_shape):
            try:
                output_shape = tuple(output_shape)
            except TypeError:
                output_shape = None
                bad = True
            else:
                bad = not all(d is None or (isinstance(d, numbers.Integral)
                                            and not isinstance(d, bool)) for d in output_shape)
            if bad:
                raise TypeError(
                    f"Layer '{self.name}': `output_shape` must be a tuple (the shape without "
                    f"the batch axis) or a function. Received: {output_shape!r}."
                )
            output_shape = tuple(None if d is None else int(d) for d in output_shape)
        if arguments is not None and not isinstance(arguments, dict):
            raise TypeError(
                f"Layer '{self.name}': `arguments` must be a dict of keyword arguments. "
                f"Received: {type(arguments).__name__}."
            )
        self.function = function
        self.arguments = dict(arguments or {})
        self.mask = mask
        self.supports_masking = mask is not None
        self._output_shape = output_shape
        self._passes_mask = _accepts(function, "mask")
        self._passes_training = _accepts(function, "training")

    def call(self, inputs, mask=None, training=None):
        kwargs = dict(self.arguments)
        if self._passes_mask:
            kwargs["mask"] = mask
        if self._passes_training:
            kwargs["training"] = training
        return self.function(inputs, **kwargs)

    def _has_own_output_shape(self):
        # without a declared shape the base class infers shape and dtype by a trial run
        return self._output_shape is not None

    def compute_output_shape(self, input_shape):
        if self._output_shape is None:
            return super().compute_output_shape(input_shape)
        if callable(self._output_shape):
            return self._output_shape(input_shape)
        first = input_shape
        while isinstance(first, (list, tuple)) and first and isinstance(first[0], (list, tuple)):
            first = first[0]
        batch = first[0] if first else None
        return (batch,) + self._output_shape

    def compute_mask(self, inputs, previous_mask=None):
        if callable(self.mask):
            return self.mask(inputs, previous_mask)
        return self.mask

    def get_config(self):
        config = super().get_config()
        config["function"] = serialize_function(self.function, self.name)
        if self._output_shape is not None:
            config["output_shape"] = (
                serialize_function(self._output_shape, self.name, "output_shape function")
                if callable(self._output_shape) else self._output_shape)
        if self.mask is not None:
            if not callable(self.mask):
                raise ValueError(
                    f"Layer '{self.name}': a constant `mask` cannot be serialized; pass a "
                    "named mask function instead."
                )
            config["mask"] = serialize_function(self.mask, self.name, "mask function")
        config["arguments"] = dict(self.arguments)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        name = config.get("name", "lambda")
        config["function"] = deserialize_function(config["function"], name, custom_objects)
        if isinstance(config.get("output_shape"), (dict, str)):
            config["output_shape"] = deserialize_function(
                config["output_shape"], name, custom_objects, "output_shape function")
        if config.get("mask") is not None:
            config["mask"] = deserialize_function(config["mask"], name, custom_objects,
                                                  "mask function")
        return cls(**config)


# ----------------------------------------------------------------------- Permute
class Permute(Layer):
    """Reorders the non-batch axes of the input.

    Args:
        dims: a permutation of `(1, ..., rank - 1)`: output axis `i + 1` is input axis
            `dims[i]` (the batch axis 0 never moves).

    Input shape: `(batch, d1, ..., dn)`. Output shape: the input's axes in `dims` order.

    Example:

    >>> Permute((2, 1))(np.zeros((4, 10, 64), "float32")).shape
    (4, 64, 10)
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        try:
            dims = tuple(dims)
        except TypeError:
            dims = (dims,)
        if (not dims or not all(isinstance(d, numbers.Integral) and not isinstance(d, bool)
                                for d in dims)
                or sorted(int(d) for d in dims) != list(range(1, len(dims) + 1))):
            raise ValueError(
                f"Layer '{self.name}': invalid permutation argument `dims`. The indices in "
                "`dims` must be consecutive and start from 1, e.g. (2, 1) for a rank-3 input. "
                f"Received: dims={dims!r}."
            )
        self.dims = tuple(int(d) for d in dims)
        self.input_spec = InputSpec(ndim=len(self.dims) + 1)

    _traceable_call = True  # see Layer._traceable_call

    def call(self, inputs):
        return ops.transpose(inputs, (0,) + self.dims)

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def get_config(self):
        config = super().get_config()
        config["dims"] = self.dims
        return config


# --------------------------------------------------------------------- Rescaling
def _scalar_or_list(value, arg_name, layer_name):
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        array = None
    if array is None or not np.all(np.isfinite(array)):
        raise ValueError(
            f"Layer '{layer_name}': `{arg_name}` must be a finite number or a list of finite "
            f"numbers (one per channel). Received: {arg_name}={value!r}."
        )
    return float(array) if array.ndim == 0 else array.tolist()


class Rescaling(Layer):
    """Rescales inputs: `inputs * scale + offset` (for example images from [0, 255] to [0, 1]).

    Integer inputs (such as `uint8` images) are cast to the layer's float dtype first.

    Args:
        scale: the scale, a float or one float per channel (broadcast on the last axes).
        offset: the offset, a float or one float per channel (default 0).

    Input shape: any. Output shape: the input shape.

    Example:

    >>> Rescaling(1 / 127.5, offset=-1)(np.array([[0, 255]], "uint8")).numpy()
    array([[-1.,  1.]], dtype=float32)
    """

    supports_masking = True

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = _scalar_or_list(scale, "scale", self.name)
        self.offset = _scalar_or_list(offset, "offset", self.name)

    _traceable_call = True  # see Layer._traceable_call

    def call(self, inputs):
        dtype = self.dtype
        scale = ops.convert_to_tensor(np.asarray(self.scale, dtype=dtype))
        offset = ops.convert_to_tensor(np.asarray(self.offset, dtype=dtype))
        return ops.add(ops.multiply(ops.cast(inputs, dtype), scale), offset)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(scale=self.scale, offset=self.offset)
        return config


# ---------------------------------------------------------------------- Identity
class Identity(Layer):
    """Returns its input unchanged (and keeps its mask): a placeholder layer.

    Input shape: any. Output shape: the input shape.
    """

    supports_masking = True

    _traceable_call = True  # see Layer._traceable_call

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape
