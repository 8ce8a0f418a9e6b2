"""Layer wrappers: `Bidirectional`, `TimeDistributed` and the generic `RNN(cell)` (Keras 3).

Weights keep Keras 3's paths and file layout: a wrapped layer's weights are prefixed with
the wrapper's name (`bidirectional/forward_lstm/lstm_cell/kernel`,
`time_distributed/dense/kernel`, `rnn/gru_cell/kernel`), and the sublayers sit on the
attributes Keras uses (`forward_layer` / `backward_layer`, `layer`, `cell`), which is what
names their groups in `.weights.h5` files.
"""

import copy

from gkeras import ops
from gkeras.autodiff import Tensor
from gkeras.layers.layer import InputSpec, Layer
from gkeras.layers.recurrent import _RNN, _RecurrentCell

_MERGE_MODES = ("concat", "sum", "mul", "ave", None)


def _serialize(layer):
    from gkeras.saving.serialization import serialize_keras_object

    return serialize_keras_object(layer)


def _deserialize(config, custom_objects):
    if isinstance(config, Layer):
        return config
    from gkeras.saving.serialization import deserialize_layer

    return deserialize_layer(config, custom_objects)


def _prefix_paths(layer, prefix):
    """Puts `prefix/` in front of the paths of `layer`'s weights (Keras 3 names the
    variables of a layer built inside a wrapper after the wrapper too)."""
    for w in layer.weights:
        w.path = f"{prefix}/{w.path}"


def _build_sublayer(owner, layer, input_shape):
    """Builds `layer` for `input_shape` unless it already is; a layer built here gets its
    weight paths under `owner`'s name (a layer built before keeps the paths it had)."""
    if layer.built:
        return
    layer.build(input_shape)
    layer.built = True
    layer._build_input_shape = input_shape
    _prefix_paths(layer, owner.name)


def _remove_prefix(text, prefix):
    return text[len(prefix):] if text.startswith(prefix) else text


def _as_list(value):
    return list(value) if isinstance(value, (list, tuple)) else [value]


# ------------------------------------------------------------------------------ Wrapper
class Wrapper(Layer):
    """Abstract base of layers that wrap one other layer (stored as `self.layer`).

    Args:
        layer: the `gkeras.layers.Layer` instance to wrap.
        **kwargs: the base `Layer` arguments (`name`, `trainable`, `dtype`, ...).
    """

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(
                f"{type(self).__name__} must wrap a `gkeras.layers.Layer` instance; received "
                f"{layer!r} (of type {type(layer).__name__})."
            )
        super().__init__(**kwargs)
        self.layer = layer

    def build(self, input_shape=None):
        _build_sublayer(self, self.layer, input_shape)
        self.built = True

    def get_config(self):
        config = super().get_config()
        config["layer"] = _serialize(self.layer)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        layer = _deserialize(config.pop("layer"), custom_objects)
        return cls(layer, **config)


# ---------------------------------------------------------------------- TimeDistributed
class TimeDistributed(Wrapper):
    """Applies a layer to every temporal slice of an input.

    Inputs of shape `(batch, time, ...)` are folded to `(batch * time, ...)`, passed through
    the wrapped layer once, and unfolded to `(batch, time, ...)`: every step shares the same
    weights. The input mask `(batch, time)` is kept for the output.

    Note that a layer whose training behaviour depends on the batch (BatchNormalization)
    sees all steps of the batch together, not one step at a time.

    Args:
        layer: the `gkeras.layers.Layer` instance to apply to each step.
        **kwargs: the base `Layer` arguments.

    Call arguments:
        inputs: a tensor of rank >= 3, `(batch, time, ...)`.
        training: passed to the wrapped layer when it takes it.
        mask: optional boolean mask `(batch, time, ...)`; passed (folded) to a wrapped layer
            that takes one when it has more than two dimensions.

    Example:

    ```python
    inputs = gkeras.Input((10, 8))
    outputs = gkeras.layers.TimeDistributed(gkeras.layers.Dense(4))(inputs)  # (None, 10, 4)
    ```
    """

    supports_masking = True

    def __init__(self, layer, **kwargs):
        super().__init__(layer, **kwargs)
        self.input_spec = InputSpec(min_ndim=3)

    def _child_shape(self, input_shape):
        if not isinstance(input_shape, (tuple, list)) or len(input_shape) < 3:
            raise ValueError(
                f"TimeDistributed layer '{self.name}' needs inputs of rank >= 3 "
                f"(batch, time, ...); received input shape {input_shape}."
            )
        return (input_shape[0],) + tuple(input_shape[2:])

    def build(self, input_shape):
        _build_sublayer(self, self.layer, self._child_shape(input_shape))
        self.built = True

    def compute_output_shape(self, input_shape):
        child = self.layer.compute_output_shape(self._child_shape(input_shape))
        return (input_shape[0], input_shape[1]) + tuple(child[1:])

    def call(self, inputs, training=False, mask=None):
        shape = tuple(inputs.shape)
        if len(shape) < 3:
            self._child_shape(shape)  # raises
        batch, steps = shape[0], shape[1]
        folded = ops.reshape(inputs, (batch * steps,) + shape[2:])
        kwargs = {}
        if self.layer._accepts_training:
            kwargs["training"] = training
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if mask is not None and self.layer._accepts_mask:
            mask = ops.convert_to_tensor(mask.data if isinstance(mask, Tensor) else mask)
            if tuple(mask.shape[:2]) != (batch, steps):
                raise ValueError(
                    f"TimeDistributed layer '{self.name}': the mask must start with the input's "
                    f"(batch, time) = {(batch, steps)}; received mask shape {tuple(mask.shape)}."
                )
            if mask.ndim > 2:  # a per-step mask over inner axes, e.g. of nested sequences
                kwargs["mask"] = ops.reshape(mask, (batch * steps,) + tuple(mask.shape[2:]))
        outputs = self.layer(folded, **kwargs)

        def unfold(y):
            return ops.reshape(y, (batch, steps) + tuple(y.shape[1:]))

        if isinstance(outputs, (list, tuple)):
            return type(outputs)(unfold(y) for y in outputs)
        return unfold(outputs)


# ------------------------------------------------------------------------ Bidirectional
class Bidirectional(Layer):
    """Bidirectional wrapper for RNNs: runs a copy of the layer forwards and one backwards.

    The forward copy (`forward_<name>`) and the backward one (`backward_<name>`, built from
    the layer's config with `go_backwards` flipped, unless `backward_layer` is given) have
    their own weights; `get_weights()` lists the forward layer's, then the backward one's.
    With `return_sequences` the backward outputs are put back in time order before merging,
    and (as in Keras) masked steps output zeros in both directions.

    Args:
        layer: a recurrent layer instance (`LSTM`, `GRU`, `SimpleRNN`, `RNN`), or any layer
            with `go_backwards`, `return_sequences` and `return_state` attributes and a
            config. The instance itself is not used, only its config.
        merge_mode: how the two outputs are combined: `"concat"` (default), `"sum"`,
            `"mul"`, `"ave"`, or `None` to return both as a tuple `(forward, backward)`.
        weights: optional list of initial weight arrays, forward half then backward half,
            set when the layer is built.
        backward_layer: optional layer instance for the backward direction; it must have
            `go_backwards` opposite to `layer`'s and the same `return_sequences`,
            `return_state` and `stateful`.
        **kwargs: the base `Layer` arguments.

    Call arguments:
        sequences: `(batch, timesteps, features)` tensor.
        initial_state: optional list of initial states, forward ones then backward ones.
        mask: optional boolean `(batch, timesteps)`, passed to both directions.
        training: passed to both directions.

    Returns:
        The merged output; with `return_state`, a tuple `(output, *forward_states,
        *backward_states)` (with `merge_mode=None` the two outputs come first).

    Example:

    ```python
    inputs = gkeras.Input((12, 8))
    x = gkeras.layers.Bidirectional(gkeras.layers.LSTM(16))(inputs)  # (None, 32)
    ```
    """

    supports_masking = True

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None,
                 **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(
                "Bidirectional must wrap a `gkeras.layers.Layer` instance (such as an LSTM or "
                f"GRU); received {layer!r} (of type {type(layer).__name__})."
            )
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError(
                "`backward_layer` of Bidirectional must be a `gkeras.layers.Layer` instance; "
                f"received {backward_layer!r} (of type {type(backward_layer).__name__})."
            )
        if merge_mode not in _MERGE_MODES:
            raise ValueError(
                f"Invalid merge_mode for Bidirectional: {merge_mode!r}. Expected one of "
                '{"sum", "mul", "ave", "concat", None}.'
            )
        super().__init__(**kwargs)
        for candidate in (layer, backward_layer):
            if candidate is not None:
                self._check_sequence_layer(candidate)
        self.forward_layer = self._copy(
            layer, f"forward_{_remove_prefix(layer.name, 'forward_')}", None)
        if backward_layer is None:
            backward_layer = self._copy(
                layer, f"backward_{_remove_prefix(layer.name, 'backward_')}",
                not layer.go_backwards)
        self.backward_layer = backward_layer
        self._check_directions()
        for direction in (self.forward_layer, self.backward_layer):
            if hasattr(direction, "zero_output_for_mask"):
                # Keras zeroes masked steps of both sequences, so the merged steps line up
                direction.zero_output_for_mask = direction.return_sequences
        self.merge_mode = merge_mode
        self._initial_weights = None if weights is None else list(weights)
        self.return_sequences = self.forward_layer.return_sequences
        self.return_state = self.forward_layer.return_state
        self.stateful = getattr(self.forward_layer, "stateful", False)
        self.input_spec = layer.input_spec

    def _check_sequence_layer(self, layer):
        missing = [a for a in ("go_backwards", "return_sequences", "return_state")
                   if not hasattr(layer, a)]
        if missing:
            raise ValueError(
                f"Bidirectional layer '{self.name}' needs a sequence layer with "
                "`go_backwards`, `return_sequences` and `return_state` attributes (an RNN "
                f"such as LSTM or GRU); {type(layer).__name__} '{layer.name}' lacks {missing}."
            )

    @staticmethod
    def _copy(layer, name, go_backwards):
        config = copy.deepcopy(layer.get_config())
        config["name"] = name
        if go_backwards is not None:
            config["go_backwards"] = go_backwards
        return type(layer).from_config(config)

    def _check_directions(self):
        forward, backward = self.forward_layer, self.backward_layer
        if forward.go_backwards == backward.go_backwards:
            raise ValueError(
                f"Bidirectional layer '{self.name}': the forward and backward layers must have "
                f"different `go_backwards`; received forward go_backwards="
                f"{forward.go_backwards}, backward go_backwards={backward.go_backwards}."
            )
        for attr in ("stateful", "return_sequences", "return_state"):
            ours, theirs = getattr(forward, attr, False), getattr(backward, attr, False)
            if ours != theirs:
                raise ValueError(
                    f"Bidirectional layer '{self.name}': the forward and backward layers must "
                    f"have the same `{attr}`; received {ours} for the forward layer and "
                    f"{theirs} for the backward layer."
                )

    def _states_per_direction(self):
        size = getattr(self.forward_layer, "state_size", None)
        if size is None:
            return 0
        return len(size) if isinstance(size, (list, tuple)) else 1

    def build(self, sequences_shape, initial_state_shape=None):
        _build_sublayer(self, self.forward_layer, sequences_shape)
        _build_sublayer(self, self.backward_layer, sequences_shape)
        if self._initial_weights is not None:
            half = len(self._initial_weights) // 2
            self.forward_layer.set_weights(self._initial_weights[:half])
            self.backward_layer.set_weights(self._initial_weights[half:])
            self._initial_weights = None
        self.input_spec = self.forward_layer.input_spec
        self.built = True

    def call(self, sequences, initial_state=None, mask=None, training=False):
        kwargs = {}
        if self.forward_layer._accepts_training:
            kwargs["training"] = training
        if self.forward_layer._accepts_mask and mask is not None:
            kwargs["mask"] = mask
        forward_kwargs, backward_kwargs = dict(kwargs), dict(kwargs)
        if initial_state is not None:
            states = _as_list(initial_state)
            if len(states) % 2:
                raise ValueError(
                    f"Bidirectional layer '{self.name}' expects an even number of initial "
                    "states (the forward ones, then the backward ones); received "
                    f"{len(states)}."
                )
            half = len(states) // 2
            forward_kwargs["initial_state"] = states[:half]
            backward_kwargs["initial_state"] = states[half:]
        y = self.forward_layer(sequences, **forward_kwargs)
        y_rev = self.backward_layer(sequences, **backward_kwargs)
        states = ()
        if self.return_state:
            states = tuple(y[1:]) + tuple(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if y.dtype != self.dtype:
            y, y_rev = ops.cast(y, self.dtype), ops.cast(y_rev, self.dtype)
        if self.return_sequences:
            y_rev = ops.flip(y_rev, axis=1)  # back in time order, step by step with `y`
        if self.merge_mode == "concat":
            output = (ops.concatenate([y, y_rev], axis=-1),)
        elif self.merge_mode == "sum":
            output = (ops.add(y, y_rev),)
        elif self.merge_mode == "ave":
            output = (ops.multiply(ops.add(y, y_rev), 0.5),)
        elif self.merge_mode == "mul":
            output = (ops.multiply(y, y_rev),)
        else:
            output = (y, y_rev)
        if self.return_state or self.merge_mode is None:
            return output + states
        return output[0]

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        shape = self.forward_layer.compute_output_shape(sequences_shape)
        states = ()
        if self.return_state:
            shape, states = tuple(shape[0]), tuple(tuple(s) for s in shape[1:])
        shape = tuple(shape)
        if self.merge_mode == "concat":
            outputs = (shape[:-1] + (shape[-1] * 2,),)
        elif self.merge_mode is None:
            outputs = (shape, shape)
        else:
            outputs = (shape,)
        if self.return_state or self.merge_mode is None:
            return outputs + states + states
        return outputs[0]

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        masks = [output_mask] if self.merge_mode else [output_mask, output_mask]
        if self.return_state:
            # Keras leaves the states unmasked
            return masks + [None] * (2 * self._states_per_direction())
        return masks[0] if self.merge_mode else masks

    def get_config(self):
        config = super().get_config()
        config["merge_mode"] = self.merge_mode
        config["layer"] = _serialize(self.forward_layer)
        config["backward_layer"] = _serialize(self.backward_layer)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["layer"] = _deserialize(config["layer"], custom_objects)
        backward = config.pop("backward_layer", None)
        if backward is not None:
            config["backward_layer"] = _deserialize(backward, custom_objects)
        return cls(**config)


# ----------------------------------------------------------------------------------- RNN
class RNN(_RNN):
    """Base class for recurrent layers: runs a cell over the time axis.

    Supports gkeras's cells (`SimpleRNNCell`, `LSTMCell`, `GRUCell`), run like the matching
    layer, and custom cells: layers with a `state_size` (int or list of ints) whose
    `call(inputs, states)` returns `(output, new_states)` for one step.

    Args:
        cell: the cell instance (a list of cells is not supported).
        return_sequences: return every step's output `(batch, timesteps, units)` rather than
            the last one.
        return_state: also return the final state(s): `(output, *states)`.
        go_backwards: process the sequence in reverse (the returned sequence too).
        stateful: only `False` is supported.
        unroll: accepted for compatibility; ignored.
        zero_output_for_mask: output zeros at masked steps (else the previous output).
        **kwargs: the base `Layer` arguments.

    Call arguments:
        sequences: `(batch, timesteps, features)` tensor.
        initial_state: optional list of initial state tensors (zeros by default).
        mask: optional boolean `(batch, timesteps)`; masked steps keep the previous states.
        training: whether the cell's dropout is applied.

    Example:

    ```python
    layer = gkeras.layers.RNN(gkeras.layers.LSTMCell(8), return_sequences=True)
    ```
    """

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, zero_output_for_mask=False, **kwargs):
        # `_RNN.__init__` creates its own cell from arguments; here the cell is given, so
        # the same attributes are set up directly.
        if isinstance(cell, (list, tuple)):
            raise NotImplementedError(
                "RNN: a list of cells (stacked cells) is not supported by gkeras; stack RNN "
                "layers with return_sequences=True instead."
            )
        if not isinstance(cell, Layer) or not hasattr(cell, "state_size"):
            raise ValueError(
                "RNN expects a cell: a `gkeras.layers.Layer` with a `state_size` attribute "
                "and a `call(inputs, states)` method (such as LSTMCell); received "
                f"{cell!r} (of type {type(cell).__name__})."
            )
        Layer.__init__(self, **kwargs)
        if stateful:
            raise NotImplementedError(
                f"RNN '{self.name}': `stateful=True` is not supported by gkeras; use "
                "stateful=False (pass the previous states as `initial_state`)."
            )
        self.cell = cell
        if not self.trainable:
            self.trainable = False  # reaches the cell's weights too
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = False
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.input_spec = InputSpec(ndim=3)

    def build(self, sequences_shape, initial_state_shape=None):
        super().build(sequences_shape, initial_state_shape)
        self.cell.built = True  # a custom cell's `build` need not say so itself

    def _state_sizes(self):
        size = self.cell.state_size
        return list(size) if isinstance(size, (list, tuple)) else [size]

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        batch, steps = sequences_shape[0], sequences_shape[1]
        units = getattr(self.cell, "output_size", None) or self._state_sizes()[0]
        out = (batch, steps, units) if self.return_sequences else (batch, units)
        if self.return_state:
            return (out, *[(batch, size) for size in self._state_sizes()])
        return out

    def call(self, sequences, initial_state=None, mask=None, training=False):
        if isinstance(self.cell, _RecurrentCell):
            return super().call(sequences, initial_state=initial_state, mask=mask,
                                training=training)
        return self._generic_call(sequences, initial_state, mask, training)

    def _generic_call(self, sequences, initial_state, mask, training):
        """The time loop for a custom cell: one `cell(x_t, states)` call per step."""
        cell = self.cell
        batch, steps = sequences.shape[0], sequences.shape[1]
        states = self._initial_states(initial_state, batch, sequences.dtype)
        step_mask = self._time_major_mask(mask, steps)
        kwargs = {"training": training} if cell._accepts_training else {}
        order = range(steps - 1, -1, -1) if self.go_backwards else range(steps)
        outputs, output = [], None
        for t in order:
            output, new_states = cell(sequences[:, t], states, **kwargs)
            new_states = _as_list(new_states)
            if step_mask is not None:
                keep = step_mask[t]
                new_states = [ops.where(keep, new, old) for new, old in zip(new_states, states)]
                if self.zero_output_for_mask:
                    output = ops.where(keep, output, ops.zeros_like(output))
                else:  # the previous output, zeros before the first valid step
                    previous = outputs[-1] if outputs else ops.zeros_like(output)
                    output = ops.where(keep, output, previous)
            states = new_states
            outputs.append(output)
        if self.return_sequences:
            output = ops.stack(outputs, axis=1)
        if self.return_state:
            return (output, *states)
        return output

    def get_config(self):
        config = super().get_config()
        config["cell"] = _serialize(self.cell)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        cell = _deserialize(config.pop("cell"), custom_objects)
        return cls(cell, **config)
