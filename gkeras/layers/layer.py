"""`Layer`: the base of every layer and model — weights, build, call, config."""

import inspect
import itertools
import re
from collections import defaultdict

import numpy as np

from gkeras import backend as backend_module
from gkeras import constraints as constraints_module
from gkeras import initializers as initializers_module
from gkeras import regularizers as regularizers_module
from gkeras.autodiff import Tensor, Variable, no_grad, to_array
from gkeras.layers.node import KerasTensor, Node, flatten, is_symbolic, map_structure

_name_counters = defaultdict(itertools.count)


def unique_name(base):
    """`dense`, then `dense_1`, `dense_2`, ... per base name, like Keras."""
    n = next(_name_counters[base])
    return base if n == 0 else f"{base}_{n}"


def snake_case(name):
    """Keras's layer naming: `Conv2D` → `conv2d`, `BatchNormalization` → `batch_normalization`."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)  # a capitalised word starts a part
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


class _CallContext:
    training = None  # the training flag of the outermost call in progress
    placeholder_batch = False  # a shape-inference run: batch size 1 stands for None


class InputSpec:
    """What a layer accepts: exact `ndim`, `min_ndim`, and fixed sizes of some `axes`."""

    def __init__(self, ndim=None, min_ndim=None, axes=None, dtype=None):
        self.ndim, self.min_ndim, self.axes, self.dtype = ndim, min_ndim, axes or {}, dtype


class Layer:
    """Base class of layers: a stateful callable built from `gkeras.ops`.

    Subclasses set up configuration in `__init__`, create weights in `build(input_shape)` with
    `add_weight`, and compute in `call(inputs, ...)`. Calling a layer on `KerasTensor`s records
    a functional-graph node; calling it on arrays or tensors computes eagerly.

    Args:
        trainable: whether the layer's weights are updated by training.
        name: unique name; derived from the class name when omitted.
        dtype: the float type of the weights and computation (`floatx()` by default).
    """

    _accepts_training = False
    _accepts_mask = False
    _computes_mask = False
    # Whether the layer keeps the mask of its input for its output (a mask marks the valid
    # time steps of padded sequences, see `compute_mask`).
    supports_masking = False
    # Integer and boolean inputs are cast to the compute dtype, the result Keras's backends
    # give when such inputs meet float weights; layers that consume ids (Embedding) and
    # models (their Input layers carry the dtype) keep them.
    _casts_integer_inputs = True
    # Set by a class whose `call` does nothing but run ops on its inputs and weights: no
    # randomness, no state updates, nothing computed outside the ops. A training step made of
    # such layers may be recorded once and replayed (`gkeras.training.traced_step`). Only the
    # class that defines `call` can promise it; a subclass overriding `call` must say it again.
    _traceable_call = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        try:
            params = inspect.signature(cls.call).parameters
        except (TypeError, ValueError):
            params = {}
        cls._accepts_training = "training" in params
        cls._accepts_mask = "mask" in params
        cls._computes_mask = cls.compute_mask is not Layer.compute_mask

    def __init__(self, trainable=True, name=None, dtype=None, **kwargs):
        input_shape = kwargs.pop("input_shape", None)
        input_dim = kwargs.pop("input_dim", None)
        batch_input_shape = kwargs.pop("batch_input_shape", None)
        batch_size = kwargs.pop("batch_size", None)
        autocast = kwargs.pop("autocast", True)
        activity_regularizer = kwargs.pop("activity_regularizer", None)
        if kwargs:
            raise TypeError(
                f"{type(self).__name__}.__init__ got unexpected keyword argument(s) "
                f"{sorted(kwargs)}."
            )
        object.__setattr__(self, "_tracked_layers", [])
        self._weights_list = []
        self.activity_regularizer = regularizers_module.get(activity_regularizer)
        self.name = name or unique_name(snake_case(type(self).__name__))
        self._trainable = bool(trainable)
        self.dtype = np.dtype(_dtype_name(dtype) or backend_module.floatx()).name
        self._compute_np_dtype = np.dtype(self.dtype)
        self.autocast = bool(autocast)
        self.built = False
        self.input_spec = None
        self._inbound_nodes = []
        self._added_losses = []
        self._build_input_shape = None
        self._checked_shape = None
        if batch_input_shape is not None:
            self._batch_input_shape = tuple(batch_input_shape)
        elif input_shape is not None:
            self._batch_input_shape = (batch_size,) + tuple(input_shape)
        elif input_dim is not None:
            self._batch_input_shape = (batch_size, input_dim)
        else:
            self._batch_input_shape = None

    # ------------------------------------------------------------ attribute tracking
    def __setattr__(self, name, value):
        if "_tracked_layers" in self.__dict__ and name not in ("_tracked_layers",):
            for leaf in _layers_in(value):
                if leaf is not self and all(leaf is not t for t in self._tracked_layers):
                    self._tracked_layers.append(leaf)
        object.__setattr__(self, name, value)

    @property
    def layers(self):
        """The sublayers assigned as attributes, in assignment order."""
        return list(self._tracked_layers)

    # --------------------------------------------------------------------- weights
    def add_weight(self, shape=None, initializer=None, dtype=None, trainable=True,
                   regularizer=None, constraint=None, name=None):
        """Creates a weight of this layer.

        Args:
            shape: the weight's shape (scalar when `None`).
            initializer: name, Initializer or callable; `glorot_uniform` for floats by default.
            dtype: the weight's dtype (the layer's by default).
            trainable: whether optimizers update it.
            regularizer: penalty added to the model's loss.
            constraint: projection applied after each optimizer update.
            name: the weight's name (`kernel`, `bias`, ...).

        Returns:
            The new `Variable`.
        """
        shape = () if shape is None else tuple(int(d) for d in shape)
        dtype = _dtype_name(dtype) or self.dtype
        init = initializers_module.get(initializer if initializer is not None else (
            "glorot_uniform" if np.dtype(dtype).kind == "f" else "zeros"))
        value = np.asarray(init(shape, dtype=dtype), dtype=dtype)
        variable = Variable(
            backend_module.get_backend().asarray(value), trainable=trainable and self._trainable,
            name=name or f"variable_{len(self._weights_list)}", dtype=dtype,
            constraint=constraints_module.get(constraint),
        )
        variable._declared_trainable = trainable
        variable.path = f"{self.name}/{variable.name}"
        variable.regularizer = regularizers_module.get(regularizer)
        self._weights_list.append(variable)
        return variable

    def _all_layers(self):
        """This layer and every sublayer below it, each once (depth first, in order)."""
        seen, out, stack = set(), [], [self]
        while stack:  # an explicit stack: a nested recursive closure would be a reference cycle
            layer = stack.pop()
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            out.append(layer)
            stack.extend(reversed(layer._tracked_layers))
        return out

    @property
    def weights(self):
        """All weights, layer by layer: each layer's trainable ones, then its non-trainable ones.

        This is Keras's order, so `get_weights()` lists line up with Keras models.
        """
        out = []
        for layer in self._all_layers():
            own = layer._weights_list
            out += [w for w in own if w._declared_trainable]
            out += [w for w in own if not w._declared_trainable]
        return _unique(out)

    @property
    def trainable_weights(self):
        return [w for w in self.weights if w.trainable]

    @property
    def non_trainable_weights(self):
        return [w for w in self.weights if not w.trainable]

    trainable_variables = trainable_weights
    non_trainable_variables = non_trainable_weights
    variables = weights

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        value = bool(value)
        for layer in self._all_layers():
            layer._trainable = value
            for w in layer._weights_list:
                w.trainable = value and getattr(w, "_declared_trainable", True)

    def get_weights(self):
        """The weights as a list of NumPy arrays, in `weights` order."""
        return [np.array(w.numpy(), copy=True) for w in self.weights]

    def set_weights(self, weights):
        """Sets the weights from NumPy arrays, in `weights` order.

        Everything is checked before anything is written, so on error the layer is unchanged.

        Raises:
            ValueError: on a wrong number of arrays or a shape mismatch.
        """
        params = self.weights
        weights = list(weights)
        if len(weights) != len(params):
            raise ValueError(
                f"Layer '{self.name}' expects {len(params)} weight arrays, but "
                f"{len(weights)} were given."
            )
        arrays = []
        for index, (param, value) in enumerate(zip(params, weights)):
            value = np.asarray(value)
            if value.shape != param.shape:
                raise ValueError(
                    f"Layer '{self.name}': weight {index} ('{param.path}') has shape "
                    f"{param.shape}, but the given array has shape {value.shape}."
                )
            arrays.append(value)
        for param, value in zip(params, arrays):
            param.assign(value.astype(param.dtype, copy=False))

    def count_params(self):
        """Total number of scalars in all weights."""
        if not self.built:
            raise ValueError(
                f"Layer '{self.name}' is not built yet, so its weights do not exist; call it on "
                "data or build it first."
            )
        return int(sum(int(np.prod(w.shape)) for w in self.weights))

    # ----------------------------------------------------------------------- losses
    def add_loss(self, loss):
        """Adds a loss term (a scalar Tensor) collected by the model for this forward pass."""
        self._added_losses.append(loss)

    @property
    def losses(self):
        """Regularisation penalties of every weight, plus losses added with `add_loss`."""
        out = []
        for layer in self._all_layers():
            out.extend(layer._added_losses)
            for w in layer._weights_list:
                if w.regularizer is not None and w.trainable:
                    out.append(w.regularizer(w))
        return out

    def _clear_added_losses(self):
        for layer in self._all_layers():
            if layer._added_losses:  # an assignment runs the tracking __setattr__: skip no-ops
                layer._added_losses = []

    # ------------------------------------------------------------------ build, call
    def build(self, input_shape):
        """Creates the weights for inputs of `input_shape`. The default creates none."""
        self.built = True

    def call(self, inputs, *args, **kwargs):
        raise NotImplementedError(f"Layer {type(self).__name__} does not implement call().")

    def compute_output_shape(self, input_shape):
        """The output shape for `input_shape`, found by running `call` on placeholder data."""
        specs = self._output_specs((_placeholder_spec(input_shape),), {})
        return map_structure(lambda s: s.shape, specs)

    def _maybe_build(self, args):
        if self.built:
            return
        first = args[0] if args else None
        shapes = map_structure(lambda t: tuple(t.shape) if hasattr(t, "shape") else None, first)
        if isinstance(first, (Tensor, KerasTensor, np.ndarray)) or hasattr(first, "shape"):
            shapes = tuple(first.shape)
        self._check_input_spec(first)
        if _CallContext.placeholder_batch and isinstance(shapes, tuple) and shapes:
            shapes = (None,) + shapes[1:]  # built on placeholders: the batch is unknown
        self.build(shapes)
        self.built = True
        self._build_input_shape = shapes

    def _check_input_spec(self, inputs):
        spec = self.input_spec
        if spec is None or inputs is None or not hasattr(inputs, "shape"):
            return
        shape = tuple(inputs.shape)
        if spec.ndim is not None and len(shape) != spec.ndim:
            raise ValueError(
                f"Input 0 of layer '{self.name}' is incompatible with the layer: expected "
                f"ndim={spec.ndim}, found ndim={len(shape)}. Full shape received: {shape}."
            )
        if spec.min_ndim is not None and len(shape) < spec.min_ndim:
            raise ValueError(
                f"Input 0 of layer '{self.name}' is incompatible with the layer: expected "
                f"min_ndim={spec.min_ndim}, found ndim={len(shape)}. Full shape received: {shape}."
            )
        for axis, size in spec.axes.items():
            actual = shape[axis] if -len(shape) <= axis < len(shape) else None
            if size is not None and actual is not None and actual != size:
                raise ValueError(
                    f"Input 0 of layer '{self.name}' is incompatible with the layer: expected "
                    f"axis {axis} of the input shape to have value {size}, but received input "
                    f"with shape {shape}."
                )

    def __call__(self, *args, **kwargs):
        if (self.built and len(args) == 1 and isinstance(args[0], Tensor)
                and (not kwargs or (len(kwargs) == 1 and "training" in kwargs))):
            return self._eager_call(args[0], kwargs.get("training"))
        if is_symbolic((args, kwargs)):
            return self._symbolic_call(args, kwargs)
        return self._general_call(args, kwargs)

    def _general_call(self, args, kwargs):
        """An eager call with everything: array conversion, build, casts, masks, options."""
        args = map_structure(_to_tensor_if_array, args)
        self._maybe_build(args)
        masks = None
        if args:
            inputs = map_structure(self._autocast, args[0])
            args = (inputs,) + args[1:]
            self._check_input_spec(inputs)
            masks = _masks_of(inputs)
            if masks is not None and self._accepts_mask and kwargs.get("mask") is None:
                kwargs["mask"] = masks
        previous = _CallContext.training
        training = kwargs.pop("training", None)
        if training is None:
            training = previous
        if self._accepts_training:
            kwargs["training"] = bool(training)
        _CallContext.training = training
        try:
            outputs = self._penalize_activity(self.call(*args, **kwargs))
        finally:
            _CallContext.training = previous
        if args and (masks is not None or self._computes_mask):
            _attach_masks(outputs, self.compute_mask(args[0], masks), args[0])
        return outputs

    def _weight_options_config(self, *weights):
        """Config entries of the named weights' options (`"kernel"`, `"bias"`, ...): their
        initializers, regularizers, the `activity_regularizer`, then their constraints, in
        Keras's order. Each option is read from the attribute `<weight>_<option>`."""
        config = {f"{w}_initializer": initializers_module.serialize(
            getattr(self, f"{w}_initializer")) for w in weights}
        config.update({f"{w}_regularizer": regularizers_module.serialize(
            getattr(self, f"{w}_regularizer")) for w in weights})
        config["activity_regularizer"] = regularizers_module.serialize(self.activity_regularizer)
        config.update({f"{w}_constraint": constraints_module.serialize(
            getattr(self, f"{w}_constraint")) for w in weights})
        return config

    def compute_mask(self, inputs, previous_mask=None):
        """The mask of this layer's output for `inputs` and their mask `previous_mask`.

        A mask is a boolean array over the leading (batch, time) dimensions marking the valid
        entries of padded sequences; losses and metrics skip the rest. By default a layer
        that `supports_masking` passes its input's mask on, and any other layer drops it.
        """
        return previous_mask if self.supports_masking else None

    def _autocast(self, value):
        """`value` cast to the compute dtype as Keras casts layer inputs: other float dtypes
        when `autocast` is on, integers and booleans unless the layer consumes them."""
        if not isinstance(value, Tensor):
            return value
        dtype = value.data.dtype
        if dtype is self._compute_np_dtype or dtype == self._compute_np_dtype:
            return value
        kind = dtype.kind
        if (kind == "f" and self.autocast) or (kind in "iub" and self._casts_integer_inputs):
            from gkeras import ops

            cast = ops.cast(value, self._compute_np_dtype)
            cast._keras_mask = value._keras_mask
            return cast
        return value

    def _eager_call(self, x, training):
        """The common case — one tensor in, layer built — without the general call's bookkeeping."""
        if (x._keras_mask is not None or self._computes_mask
                or x.data.dtype is not self._compute_np_dtype):
            # a mask to carry, or an input to cast: the general call (dtypes compared exactly
            # there; `is not` only decides which path runs)
            return self._general_call((x,), {} if training is None else {"training": training})
        shape = x.data.shape
        if shape != self._checked_shape:  # the input spec only needs checking on a new shape
            self._check_input_spec(x)
            self._checked_shape = shape
        previous = _CallContext.training
        if training is None:
            training = previous
        # the flag reaches nested layers through the context even when `call` takes no `training`
        _CallContext.training = training
        try:
            if self._accepts_training:
                return self._penalize_activity(self.call(x, training=bool(training)))
            return self._penalize_activity(self.call(x))
        finally:
            _CallContext.training = previous

    def _penalize_activity(self, outputs):
        """Adds `activity_regularizer(y) / batch size` to this pass's losses (Keras 2 scale)."""
        if self.activity_regularizer is not None and isinstance(outputs, Tensor):
            self.add_loss(self.activity_regularizer(outputs) / outputs.shape[0])
        return outputs

    # ------------------------------------------------------------- symbolic calls
    def _symbolic_call(self, args, kwargs):
        if args:
            self._check_input_spec(args[0])
        if self._has_own_output_shape() and len(args) == 1 and not kwargs:
            # the layer knows its output shape: no trial run, and unknown dims stay unknown
            self._maybe_build(args)
            shape = self.compute_output_shape(map_structure(lambda t: tuple(t.shape), args[0]))
            specs = map_structure(lambda s: _PlaceholderSpec(s.shape, self.dtype),
                                  _shape_leaves(shape))
        else:
            specs = self._output_specs(args, kwargs)
        outputs = map_structure(
            lambda s: KerasTensor(s.shape, s.dtype), specs
        )
        node = Node(self, args, kwargs, outputs)
        self._inbound_nodes.append(node)
        return outputs

    def _has_own_output_shape(self):
        return type(self).compute_output_shape is not Layer.compute_output_shape

    def _output_specs(self, args, kwargs):
        """A `_PlaceholderSpec` (shape, dtype) per output, from running `call` on placeholders.

        Placeholders stand for unknown (`None`) dimensions with size 1, and the batch axis of
        the outputs is reported as `None` again. When an input has other unknown dimensions
        (a variable sequence length), a second run with size 2 finds the output dimensions
        that follow them, and those are reported as `None` too.
        """
        leaves = [t for t in flatten((args, kwargs)) if isinstance(t, (KerasTensor,
                                                                        _PlaceholderSpec))]
        unknown_batch = any(t.shape and t.shape[0] is None for t in leaves)
        unknown_inner = any(d is None for t in leaves for d in tuple(t.shape)[1:])
        result = self._run_on_placeholders(args, kwargs, 1, unknown_batch)
        varying = None
        if unknown_inner:
            try:
                second = self._run_on_placeholders(args, kwargs, 2, unknown_batch)
            except Exception:  # noqa: BLE001  (the size-1 run worked: keep its answer)
                second = result
            firsts, seconds = flatten(result), flatten(second)
            varying = [tuple(x != y for x, y in zip(a.shape, b.shape)) if len(a.shape) ==
                       len(b.shape) else (False,) * len(a.shape)
                       for a, b in zip(firsts, seconds)]
        position = iter(range(len(flatten(result))))

        def spec(t):
            shape = tuple(t.shape)
            if unknown_batch and shape:
                shape = (None,) + shape[1:]
            if varying is not None:
                flags = varying[next(position)]
                shape = tuple(None if f else d for d, f in zip(shape, flags))
            return _PlaceholderSpec(shape, str(t.dtype))

        return map_structure(spec, result)

    def _run_on_placeholders(self, args, kwargs, size, unknown_batch):
        """Runs `call` once with unknown dimensions set to `size` (no graph, no losses)."""
        concrete = map_structure(lambda t: _placeholder_value(t, size), (args, kwargs))
        cargs, ckwargs = concrete
        if self._accepts_training:
            ckwargs = dict(ckwargs, training=False)
        previous = _CallContext.placeholder_batch
        _CallContext.placeholder_batch = unknown_batch
        try:
            with no_grad():
                result = Layer.__call__(self, *cargs, **ckwargs)
        finally:
            _CallContext.placeholder_batch = previous
        self._clear_added_losses()
        return result

    # ----------------------------------------------------------------------- config
    def get_config(self):
        """The constructor arguments that recreate this layer (without weights)."""
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = self._batch_input_shape
        return config

    @classmethod
    def from_config(cls, config):
        """Creates a layer from the output of `get_config`."""
        return cls(**config)

    def get_build_config(self):
        return {"input_shape": self._build_input_shape} if self._build_input_shape else None

    def build_from_config(self, config):
        if config and config.get("input_shape") is not None and not self.built:
            self._maybe_build((_placeholder_spec(config["input_shape"]),))

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"

    # ---------------------------------------------------------- functional helpers
    @property
    def input(self):
        return self._node_attr("inputs", "input")

    @property
    def output(self):
        return self._node_attr("outputs", "output")

    def _node_attr(self, attr, what):
        if not self._inbound_nodes:
            raise AttributeError(
                f"Layer '{self.name}' has never been called on a symbolic tensor, so it has no "
                f"{what}."
            )
        value = getattr(self._inbound_nodes[0], attr)
        if attr == "inputs" and len(value) == 1:
            return value[0]
        return value

    @property
    def compute_dtype(self):
        """The dtype the layer computes in (its inputs are cast to it)."""
        return self.dtype

    @property
    def variable_dtype(self):
        """The dtype of the layer's weights."""
        return self.dtype

    @property
    def input_shape(self):
        t = self.input
        return map_structure(lambda x: x.shape, t)

    @property
    def output_shape(self):
        return map_structure(lambda x: x.shape, self.output)


# --------------------------------------------------------------------------- helpers
class _PlaceholderSpec:
    def __init__(self, shape, dtype=None):
        self.shape, self.dtype = tuple(shape), dtype or backend_module.floatx()


def _placeholder_spec(shape):
    if isinstance(shape, list) and shape and isinstance(shape[0], (tuple, list)):
        return [_PlaceholderSpec(s) for s in shape]
    return _PlaceholderSpec(shape)


def _placeholder_value(t, size=1):
    if isinstance(t, (KerasTensor, _PlaceholderSpec)):
        shape = tuple(size if d is None else d for d in t.shape)
        dtype = np.dtype(t.dtype)
        if dtype.kind in "iu":
            value = np.zeros(shape, dtype)
        else:
            # small positive values keep log/sqrt-based layers finite during shape inference
            value = np.full(shape, 0.5, dtype)
        return Tensor(backend_module.get_backend().asarray(value))
    return t


def _masks_of(inputs):
    """The input mask of a call: one Tensor's mask, a list of masks for a list of inputs, or
    `None` when no input carries one."""
    if isinstance(inputs, Tensor):
        return inputs._keras_mask
    if isinstance(inputs, (list, tuple)):
        masks = [t._keras_mask if isinstance(t, Tensor) else None for t in inputs]
        if any(m is not None for m in masks):
            return masks
    return None


def _attach_masks(outputs, mask, inputs):
    """Sets `_keras_mask` on the output Tensor(s); a mask computed as a Tensor is stored as
    its raw boolean array. An input Tensor returned as output keeps its own mask."""
    if isinstance(mask, Tensor):
        mask = mask.data
    passed_through = {id(t) for t in flatten(inputs) if isinstance(t, Tensor)}
    if isinstance(outputs, Tensor):
        if mask is not None or id(outputs) not in passed_through:
            outputs._keras_mask = mask if not isinstance(mask, list) else None
        return
    if isinstance(outputs, (list, tuple)):
        masks = mask if isinstance(mask, (list, tuple)) else [mask] * len(outputs)
        for out, m in zip(outputs, masks):
            if isinstance(out, Tensor) and (m is not None or id(out) not in passed_through):
                out._keras_mask = m.data if isinstance(m, Tensor) else m


def _to_tensor_if_array(value):
    if isinstance(value, np.ndarray) or hasattr(value, "__cuda_array_interface__"):
        return Tensor(to_array(value))
    return value


def _shape_leaves(shape):
    """Marks each shape in a (possibly nested) output-shape structure as one leaf."""
    if isinstance(shape, tuple) and all(d is None or isinstance(d, int) for d in shape):
        return _ShapeLeaf(shape)
    if isinstance(shape, (list, tuple)):
        return type(shape)(_shape_leaves(s) for s in shape)
    if isinstance(shape, dict):
        return {k: _shape_leaves(v) for k, v in shape.items()}
    return _ShapeLeaf(tuple(shape))


class _ShapeLeaf:
    def __init__(self, shape):
        self.shape = shape


def _layers_in(value):
    if isinstance(value, Layer):
        return [value]
    if isinstance(value, (list, tuple)):
        return [leaf for item in value for leaf in _layers_in(item)]
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _layers_in(item)]
    return []


def _unique(items):
    seen, out = set(), []
    for item in items:
        if id(item) not in seen:
            seen.add(id(item))
            out.append(item)
    return out


def _dtype_name(dtype):
    if dtype is None:
        return None
    if isinstance(dtype, dict):  # a Keras 3 DTypePolicy config
        return dtype.get("config", {}).get("name")
    if hasattr(dtype, "name") and not isinstance(dtype, (str, np.dtype)):
        return dtype.name
    return np.dtype(dtype).name
