"""Recurrent layers: `SimpleRNN`, `LSTM`, `GRU` and their cells (Keras 3 semantics).

As in Keras 3, each layer holds its weights in a cell sublayer stored as the attribute
`cell` and named `simple_rnn_cell`, `lstm_cell` or `gru_cell`: weight paths read
`lstm/lstm_cell/kernel`, and `.weights.h5` files keep them under `layers/lstm/cell/vars`,
so weights files line up with Keras's.

The layer runs the time loop in Python. The input projection `x @ kernel (+ bias)` of every
step is one matmul up front; each step then only adds the recurrent matmul and the gate
arithmetic, all built from `gkeras.ops` so autodiff gives the backward pass.
"""

import numbers

import numpy as np

from gkeras import activations, constraints, initializers, ops, regularizers
from gkeras import random as grandom
from gkeras.autodiff import Tensor
from gkeras.layers.layer import InputSpec, Layer, snake_case

_LEAF_STEPS = 4  # sequences this short are cut into steps directly


def _unstack_time(x):
    """The steps of a time-major tensor `(T, ...)` as a list of `T` tensors `(...)`.

    Cutting by halves rather than one step at a time keeps the backward pass linear-log in
    `T`: every slice's backward writes a zero array of its parent's shape, so `T` slices of
    the whole sequence would cost `T` full-size arrays (quadratic), halves cost `log T`.
    """
    steps = x.shape[0]
    if steps <= _LEAF_STEPS:
        return [x[t] for t in range(steps)]
    middle = steps // 2
    return _unstack_time(x[:middle]) + _unstack_time(x[middle:])


def _gate_matmul(x, kernel, gate_masks=None):
    """`x @ kernel`; with one mask per gate, the columns of gate `g` see `x * gate_masks[g]`
    (the gates are equal column blocks of `kernel`)."""
    if gate_masks is None:
        return ops.matmul(x, kernel)
    if not isinstance(gate_masks, (list, tuple)):  # one mask for every gate (SimpleRNN)
        return ops.matmul(ops.multiply(x, gate_masks), kernel)
    width = kernel.shape[-1] // len(gate_masks)
    blocks = [ops.matmul(ops.multiply(x, mask), kernel[:, g * width:(g + 1) * width])
              for g, mask in enumerate(gate_masks)]
    return ops.concatenate(blocks, axis=-1)


def _check_rate(value, name, owner):
    if (not isinstance(value, numbers.Real) or isinstance(value, bool)
            or not 0 <= value < 1):
        raise ValueError(
            f"Invalid value for argument `{name}` of {owner}: expected a float in [0, 1), "
            f"got {value!r}."
        )
    return float(value)


# ------------------------------------------------------------------------------ cells
class _RecurrentCell(Layer):
    """Shared configuration and weights of the cells; `_gates` blocks of `units` columns."""

    _gates = 1

    def __init__(self, units, activation="tanh", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None,
                 **kwargs):
        kwargs.pop("implementation", None)  # Keras's kernel layout switch: one layout here
        super().__init__(**kwargs)
        if (not isinstance(units, numbers.Integral) or isinstance(units, bool)
                or units <= 0):
            raise ValueError(
                f"Received an invalid value for argument `units` of {type(self).__name__} "
                f"'{self.name}': expected a positive integer, got {units!r}."
            )
        owner = f"{type(self).__name__} '{self.name}'"
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = _check_rate(dropout, "dropout", owner)
        self.recurrent_dropout = _check_rate(recurrent_dropout, "recurrent_dropout", owner)
        self.seed = seed
        self.seed_generator = grandom.SeedGenerator(seed)

    @property
    def state_size(self):
        return self.units

    @property
    def output_size(self):
        return self.units

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(
                f"The last dimension of the input to {type(self).__name__} '{self.name}' must "
                f"be known, got input shape {tuple(input_shape)}."
            )
        width = self._gates * self.units
        self.kernel = self.add_weight(
            shape=(input_dim, width), initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer, constraint=self.kernel_constraint,
            name="kernel")
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, width), initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer, constraint=self.recurrent_constraint,
            name="recurrent_kernel")
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=self._bias_shape(), initializer=self._bias_init(),
                regularizer=self.bias_regularizer, constraint=self.bias_constraint,
                name="bias")
        self.built = True

    def _bias_shape(self):
        return (self._gates * self.units,)

    def _bias_init(self):
        return self.bias_initializer

    def _project(self, inputs, gate_masks=None):
        """`inputs @ kernel` plus the input bias, for any leading dimensions. With
        `gate_masks` (one dropout mask per gate), gate `g` sees `inputs * gate_masks[g]`."""
        z = _gate_matmul(inputs, self.kernel, gate_masks)
        return z if self.bias is None else ops.add(z, self.bias)

    def _step(self, projected, states, recurrent_mask=None):
        """One step from the projected input: `(output, new_states)`."""
        raise NotImplementedError

    def call(self, inputs, states, training=False):
        """One time step: `inputs (batch, input_dim)` and the list of `states` give
        `(output, new_states)`. Dropout is not applied here (the RNN layer applies it)."""
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        return self._step(self._project(inputs), states)

    def get_initial_state(self, batch_size=None):
        """Zero states, one `(batch_size, units)` tensor per state."""
        sizes = self.state_size if isinstance(self.state_size, list) else [self.state_size]
        return [ops.zeros((batch_size, size), dtype=self.dtype) for size in sizes]

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units,
            activation=activations.serialize(self.activation),
            use_bias=self.use_bias,
            kernel_initializer=initializers.serialize(self.kernel_initializer),
            recurrent_initializer=initializers.serialize(self.recurrent_initializer),
            bias_initializer=initializers.serialize(self.bias_initializer),
            kernel_regularizer=regularizers.serialize(self.kernel_regularizer),
            recurrent_regularizer=regularizers.serialize(self.recurrent_regularizer),
            bias_regularizer=regularizers.serialize(self.bias_regularizer),
            kernel_constraint=constraints.serialize(self.kernel_constraint),
            recurrent_constraint=constraints.serialize(self.recurrent_constraint),
            bias_constraint=constraints.serialize(self.bias_constraint),
            dropout=self.dropout,
            recurrent_dropout=self.recurrent_dropout,
            seed=self.seed,
        )
        return config


class SimpleRNNCell(_RecurrentCell):
    """The step of `SimpleRNN`: `h = activation(x @ kernel + h_prev @ recurrent_kernel + bias)`.

    Args: as `SimpleRNN`, without the sequence options.
    """

    _gates = 1

    def _step(self, projected, states, recurrent_mask=None):
        h_prev = states[0]
        if recurrent_mask is not None:
            h_prev = ops.multiply(h_prev, recurrent_mask)
        h = self.activation(ops.add(projected, ops.matmul(h_prev, self.recurrent_kernel)))
        return h, [h]


class LSTMCell(_RecurrentCell):
    """The step of `LSTM`, gates in Keras's column order i, f, c, o.

    ```
    i, f, g, o = split(x @ kernel + h_prev @ recurrent_kernel + bias, 4)
    c = sigma(f) * c_prev + sigma(i) * activation(g)
    h = sigma(o) * activation(c)          # sigma = recurrent_activation
    ```

    Args: as `LSTM`, without the sequence options.
    """

    _gates = 4

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 unit_forget_bias=True, **kwargs):
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.unit_forget_bias = bool(unit_forget_bias)

    @property
    def state_size(self):
        return [self.units, self.units]

    def _bias_init(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        base, units = self.bias_initializer, self.units

        def forget_bias_one(shape, dtype=None):
            # Keras's choice: the forget gate starts open (bias 1), the others as configured
            return np.concatenate([
                np.asarray(base((units,), dtype=dtype)),
                np.ones((units,), dtype=dtype),
                np.asarray(base((2 * units,), dtype=dtype)),
            ])

        return forget_bias_one

    def _step(self, projected, states, recurrent_mask=None):
        h_prev, c_prev = states
        z = ops.add(projected, _gate_matmul(h_prev, self.recurrent_kernel, recurrent_mask))
        i, f, g, o = ops.split(z, 4, axis=-1)
        sigma = self.recurrent_activation
        c = ops.add(ops.multiply(sigma(f), c_prev), ops.multiply(sigma(i), self.activation(g)))
        h = ops.multiply(sigma(o), self.activation(c))
        return h, [h, c]

    def get_config(self):
        config = super().get_config()
        config.update(
            recurrent_activation=activations.serialize(self.recurrent_activation),
            unit_forget_bias=self.unit_forget_bias,
        )
        return config


class GRUCell(_RecurrentCell):
    """The step of `GRU`, gates in Keras's column order z (update), r (reset), h.

    With `reset_after` (Keras 3's default) the bias has shape `(2, 3 * units)`: row 0 is
    added to the input projection, row 1 to the recurrent one, and the reset gate scales the
    recurrent candidate after its matmul:

    ```
    z = sigma(x_z + h_prev @ U_z + b1_z);  r = sigma(x_r + h_prev @ U_r + b1_r)
    hh = activation(x_h + r * (h_prev @ U_h + b1_h))     # reset_after
    hh = activation(x_h + (r * h_prev) @ U_h)            # reset_after=False
    h = z * h_prev + (1 - z) * hh
    ```

    Args: as `GRU`, without the sequence options.
    """

    _gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid",
                 reset_after=True, **kwargs):
        super().__init__(units, activation=activation, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.reset_after = bool(reset_after)

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _project(self, inputs, gate_masks=None):
        z = _gate_matmul(inputs, self.kernel, gate_masks)
        if self.bias is None:
            return z
        return ops.add(z, self.bias[0] if self.reset_after else self.bias)

    def _step(self, projected, states, recurrent_mask=None):
        h_prev = states[0]
        units, sigma = self.units, self.recurrent_activation
        x_z, x_r, x_h = ops.split(projected, 3, axis=-1)
        masks = recurrent_mask  # None, or one dropout mask of h_prev per gate (z, r, h)
        if self.reset_after:
            inner = _gate_matmul(h_prev, self.recurrent_kernel, masks)
            if self.bias is not None:
                inner = ops.add(inner, self.bias[1])
            r_z, r_r, r_h = ops.split(inner, 3, axis=-1)
            z = sigma(ops.add(x_z, r_z))
            r = sigma(ops.add(x_r, r_r))
            candidate = ops.add(x_h, ops.multiply(r, r_h))
        else:
            inner = _gate_matmul(h_prev, self.recurrent_kernel[:, : 2 * units],
                                 None if masks is None else masks[:2])
            r_z, r_r = ops.split(inner, 2, axis=-1)
            z = sigma(ops.add(x_z, r_z))
            r = sigma(ops.add(x_r, r_r))
            h_for_candidate = h_prev if masks is None else ops.multiply(h_prev, masks[2])
            candidate = ops.add(x_h, ops.matmul(ops.multiply(r, h_for_candidate),
                                                self.recurrent_kernel[:, 2 * units:]))
        hh = self.activation(candidate)
        # h = z * h_prev + (1 - z) * hh, written as hh + z * (h_prev - hh)
        h = ops.add(hh, ops.multiply(z, ops.subtract(h_prev, hh)))
        return h, [h]

    def get_config(self):
        config = super().get_config()
        config.update(
            recurrent_activation=activations.serialize(self.recurrent_activation),
            reset_after=self.reset_after,
        )
        return config


# ----------------------------------------------------------------------------- layers
class _RNN(Layer):
    """Runs a cell over the time axis of `(batch, timesteps, features)` inputs."""

    supports_masking = True
    _cell_class = None
    # the cell's constructor arguments, taken through **kwargs and listed in the config (the
    # saving code reads this to know them)
    _kwargs_arguments = ()

    def __init__(self, cell_kwargs, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, zero_output_for_mask=False,
                 use_cudnn="auto", **kwargs):
        if use_cudnn not in ("auto", True, False):
            raise ValueError(
                "Invalid value received for argument `use_cudnn`: expected one of "
                f"{{'auto', True, False}}, got {use_cudnn!r}."
            )
        cell_kwargs = dict(cell_kwargs, dtype=kwargs.get("dtype"),
                           trainable=kwargs.get("trainable", True),
                           implementation=kwargs.pop("implementation", None))
        super().__init__(**kwargs)
        if stateful:
            raise NotImplementedError(
                f"{type(self).__name__} '{self.name}': `stateful=True` is not supported by "
                "gkeras; use stateful=False (pass the previous states as `initial_state`)."
            )
        self.cell = self._cell_class(name=self._cell_class_name(), **cell_kwargs)
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = False
        self.unroll = bool(unroll)  # accepted for Keras compatibility; the loop is the same
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.use_cudnn = use_cudnn
        self.input_spec = InputSpec(ndim=3)

    @classmethod
    def _cell_class_name(cls):
        return snake_case(cls._cell_class.__name__)

    @property
    def state_size(self):
        return self.cell.state_size

    @property
    def output_size(self):
        return self.cell.output_size

    def build(self, sequences_shape, initial_state_shape=None):
        step_shape = (sequences_shape[0],) + tuple(sequences_shape[2:])
        if not self.cell.built:
            self.cell.build(step_shape)
            self.cell.built = True  # a custom cell's build may not say so itself
        for w in self.cell.weights:
            w.path = f"{self.name}/{self.cell.name}/{w.name}"  # Keras 3's variable paths
        self.input_spec = InputSpec(ndim=3, axes={-1: sequences_shape[-1]})
        self.built = True

    def _state_sizes(self):
        size = self.cell.state_size
        return list(size) if isinstance(size, list) else [size]

    def _initial_states(self, initial_state, batch, dtype):
        sizes = self._state_sizes()
        if initial_state is None:
            return [ops.zeros((batch, size), dtype=dtype) for size in sizes]
        if not isinstance(initial_state, (list, tuple)):
            initial_state = [initial_state]
        states = [ops.cast(ops.convert_to_tensor(s), dtype) for s in initial_state]
        expected = [(batch, size) for size in sizes]
        got = [tuple(s.shape) for s in states]
        if got != expected:
            raise ValueError(
                f"Layer '{self.name}' expects {len(sizes)} initial state tensor(s) of shapes "
                f"{expected}, but received shapes {got}."
            )
        return states

    def _time_major_mask(self, mask, steps):
        """The mask as a raw boolean array `(timesteps, batch, 1)`, or `None`."""
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if mask is None:
            return None
        mask = ops.convert_to_tensor(mask.data if isinstance(mask, Tensor) else mask)
        if mask.ndim != 2 or mask.shape[1] != steps:
            raise ValueError(
                f"Layer '{self.name}': the mask must have shape (batch, {steps}), got "
                f"{tuple(mask.shape)}."
            )
        return ops.expand_dims(ops.transpose(ops.cast(mask, "bool")), -1).data

    def call(self, sequences, initial_state=None, mask=None, training=False):
        cell = self.cell
        batch, steps = sequences.shape[0], sequences.shape[1]
        states = self._initial_states(initial_state, batch, sequences.dtype)
        step_mask = self._time_major_mask(mask, steps)
        recurrent_mask = input_masks = None
        # Keras 3: with recurrent dropout, a gated cell (LSTM, GRU) draws one mask per gate,
        # for the inputs and for the recurrent state alike; otherwise one input mask. Each
        # mask holds for the whole sequence.
        per_gate = training and cell.recurrent_dropout > 0 and cell._gates > 1
        if training and cell.dropout > 0:
            if per_gate:
                ones = ops.ones((batch, sequences.shape[-1]), dtype=sequences.dtype)
                input_masks = [ops.dropout(ones, cell.dropout, seed=cell.seed_generator).data
                               for _ in range(cell._gates)]
            else:
                sequences = ops.dropout(sequences, cell.dropout, noise_shape=(None, 1, None),
                                        seed=cell.seed_generator)
        if training and cell.recurrent_dropout > 0:
            ones = ops.ones((batch, cell.units), dtype=sequences.dtype)
            recurrent_mask = [ops.dropout(ones, cell.recurrent_dropout,
                                          seed=cell.seed_generator).data
                              for _ in range(cell._gates if per_gate else 1)]
            recurrent_mask = recurrent_mask if per_gate else recurrent_mask[0]
        # (T, B, gates*units)
        projected = cell._project(ops.transpose(sequences, (1, 0, 2)), input_masks)
        order = range(steps - 1, -1, -1) if self.go_backwards else range(steps)
        pieces = _unstack_time(projected)
        outputs = []
        output = None
        for t in order:
            output, new_states = cell._step(pieces[t], states, recurrent_mask)
            if step_mask is not None:
                keep = step_mask[t]  # masked steps carry the states forward unchanged
                new_states = [ops.where(keep, new, old) for new, old in zip(new_states, states)]
                if self.zero_output_for_mask:
                    output = ops.where(keep, output, ops.zeros_like(output))
                else:
                    output = new_states[0]  # the previous output on masked steps
            states = new_states
            if self.return_sequences:
                outputs.append(output)
        if self.return_sequences:
            output = ops.stack(outputs, axis=1)
        if self.return_state:
            return (output, *states)  # a tuple, as Keras 3 returns
        return output

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        batch, steps = sequences_shape[0], sequences_shape[1]
        units = self.cell.output_size
        out = (batch, steps, units) if self.return_sequences else (batch, units)
        if self.return_state:
            return (out, *[(batch, size) for size in self._state_sizes()])
        return out

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * len(self._state_sizes())
        return output_mask

    def get_config(self):
        config = super().get_config()
        config.update(
            return_sequences=self.return_sequences,
            return_state=self.return_state,
            go_backwards=self.go_backwards,
            stateful=self.stateful,
            unroll=self.unroll,
            zero_output_for_mask=self.zero_output_for_mask,
        )
        cell_config = self.cell.get_config()
        for key in self._kwargs_arguments:
            config[key] = cell_config[key]
        config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        return config


_COMMON_ARGS = (
    "units", "activation", "use_bias", "kernel_initializer", "recurrent_initializer",
    "bias_initializer", "kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
    "kernel_constraint", "recurrent_constraint", "bias_constraint", "dropout",
    "recurrent_dropout", "seed",
)

_SEQUENCE_ARGS_DOC = """
        return_sequences: return the output of every step `(batch, timesteps, units)`
            rather than the last one `(batch, units)`.
        return_state: also return the final state(s): `(output, *states)`.
        go_backwards: process the sequence in reverse (the returned sequence is then in
            the reversed order too, as in Keras).
        stateful: only `False` is supported (`NotImplementedError` otherwise).
        unroll: accepted for compatibility; ignored.

    Call arguments:
        sequences: `(batch, timesteps, features)` tensor.
        initial_state: optional list of initial state tensors (zeros by default).
        mask: optional boolean `(batch, timesteps)`; masked steps keep the previous state
            and output (set automatically after `Embedding(mask_zero=True)` or `Masking`).
        training: whether dropout is applied.
"""


def _split_kwargs(names, kwargs):
    return {k: kwargs.pop(k) for k in list(kwargs) if k in names}


class SimpleRNN(_RNN):
    """Fully connected RNN: `h_t = activation(x_t @ kernel + h_{t-1} @ recurrent_kernel + b)`.

    Args:
        units: positive int, the size of the output and state.
        activation: `"tanh"` by default.
        use_bias, kernel_initializer ("glorot_uniform"), recurrent_initializer
            ("orthogonal"), bias_initializer ("zeros"), the `*_regularizer`s and
            `*_constraint`s: as in Keras.
        dropout: fraction of the inputs dropped in training (one mask per sequence).
        recurrent_dropout: fraction of the recurrent state dropped in training.
        seed: seed of the dropout masks.
    """ + _SEQUENCE_ARGS_DOC

    _cell_class = SimpleRNNCell
    _kwargs_arguments = _COMMON_ARGS

    def __init__(self, units, activation="tanh", **kwargs):
        cell_kwargs = _split_kwargs(self._kwargs_arguments, kwargs)
        super().__init__(dict(cell_kwargs, units=units, activation=activation), **kwargs)


class LSTM(_RNN):
    """Long Short-Term Memory layer (Hochreiter & Schmidhuber, 1997), Keras 3's LSTM.

    Weights (on `layer.cell`, named as in Keras): `kernel (input_dim, 4 * units)`,
    `recurrent_kernel (units, 4 * units)`, `bias (4 * units,)`, gates in the order i, f, c, o.

    Args:
        units: positive int, the size of the output and states.
        activation: `"tanh"` by default.
        recurrent_activation: the gates' activation, `"sigmoid"` by default.
        use_bias, kernel_initializer ("glorot_uniform"), recurrent_initializer
            ("orthogonal"), bias_initializer ("zeros"), the `*_regularizer`s and
            `*_constraint`s: as in Keras.
        unit_forget_bias: start the forget-gate bias at 1 (Keras's default `True`).
        dropout: fraction of the inputs dropped in training (one mask per sequence).
        recurrent_dropout: fraction of the recurrent state dropped in training (one
            mask per gate, as Keras 3; the input `dropout` then also draws one per gate).
        seed: seed of the dropout masks.
    """ + _SEQUENCE_ARGS_DOC

    _cell_class = LSTMCell
    _kwargs_arguments = _COMMON_ARGS + ("recurrent_activation", "unit_forget_bias")

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", **kwargs):
        cell_kwargs = _split_kwargs(self._kwargs_arguments, kwargs)
        super().__init__(dict(cell_kwargs, units=units, activation=activation,
                              recurrent_activation=recurrent_activation), **kwargs)


class GRU(_RNN):
    """Gated Recurrent Unit (Cho et al., 2014), Keras 3's GRU.

    Weights (on `layer.cell`, named as in Keras): `kernel (input_dim, 3 * units)`,
    `recurrent_kernel (units, 3 * units)`, `bias (2, 3 * units)` with `reset_after`
    (`(3 * units,)` without), gates in the order z, r, h.

    Args:
        units: positive int, the size of the output and state.
        activation: `"tanh"` by default.
        recurrent_activation: the gates' activation, `"sigmoid"` by default.
        use_bias, kernel_initializer ("glorot_uniform"), recurrent_initializer
            ("orthogonal"), bias_initializer ("zeros"), the `*_regularizer`s and
            `*_constraint`s: as in Keras.
        reset_after: apply the reset gate after the recurrent matmul (Keras 3's default
            `True`, the cuDNN-compatible form).
        dropout: fraction of the inputs dropped in training (one mask per sequence).
        recurrent_dropout: fraction of the recurrent state dropped in training (one
            mask per gate, as Keras 3; the input `dropout` then also draws one per gate).
        seed: seed of the dropout masks.
    """ + _SEQUENCE_ARGS_DOC

    _cell_class = GRUCell
    _kwargs_arguments = _COMMON_ARGS + ("recurrent_activation", "reset_after")

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", **kwargs):
        cell_kwargs = _split_kwargs(self._kwargs_arguments, kwargs)
        super().__init__(dict(cell_kwargs, units=units, activation=activation,
                              recurrent_activation=recurrent_activation), **kwargs)


def _forward_cell_config(layer_cls):
    """Gives `layer_cls` read-only properties for its cell's configuration (`lstm.units`)."""
    for name in layer_cls._kwargs_arguments:
        if name not in vars(layer_cls):
            setattr(layer_cls, name, property(lambda self, key=name: getattr(self.cell, key)))


for _cls in (SimpleRNN, LSTM, GRU):
    _forward_cell_config(_cls)
