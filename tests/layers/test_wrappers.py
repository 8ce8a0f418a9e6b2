"""Bidirectional, TimeDistributed and RNN(cell): float64 NumPy references, real-Keras fixtures,
gradients, masking, configs, weights files and training."""

import json
import os
import re

import numpy as np
import pytest
from helpers import check_gradients

import gkeras
from gkeras import layers
from gkeras.layers.recurrent import GRU, LSTM, GRUCell, LSTMCell, SimpleRNN, SimpleRNNCell
from gkeras.layers.wrappers import RNN, Bidirectional, TimeDistributed

from . import harness
from .test_recurrent import np_rnn

DATA = os.path.join(os.path.dirname(__file__), "..", "data", "wrappers")
# the wrappers may not be exported from gkeras.layers yet: name them for loading
CUSTOM = {"Bidirectional": Bidirectional, "TimeDistributed": TimeDistributed, "RNN": RNN}
KINDS = {"lstm": LSTM, "gru": GRU, "simple_rnn": SimpleRNN}


def _padding_mask(batch, steps):
    mask = np.ones((batch, steps), bool)
    mask[0, :2] = False  # leading padding
    mask[1, -1] = False  # trailing padding
    if batch > 2:
        mask[2, 1:3] = False  # a hole in the middle
    return mask


def _set_random_weights(rng, layer, scale=0.5):
    weights = [scale * rng.standard_normal(w.shape) for w in layer.weights]
    layer.set_weights(weights)
    return weights


def _np_bidirectional(kind, x, weights, units, merge_mode, return_sequences, mask=None):
    """`(output(s), forward states, backward states)` from two explicit NumPy loops."""
    half = len(weights) // 2
    y, fwd_states = np_rnn(kind, x, weights[:half], units, mask=mask)
    y_rev, bwd_states = np_rnn(kind, x, weights[half:], units, mask=mask, go_backwards=True)
    if return_sequences:
        y_rev = y_rev[:, ::-1]  # processing order -> time order
        if mask is not None:  # Keras zeroes the masked steps of both directions
            y, y_rev = y * mask[..., None], y_rev * mask[..., None]
    else:
        y, y_rev = y[:, -1], y_rev[:, -1]
    merged = {
        "concat": lambda: np.concatenate([y, y_rev], axis=-1),
        "sum": lambda: y + y_rev,
        "ave": lambda: (y + y_rev) / 2,
        "mul": lambda: y * y_rev,
        None: lambda: (y, y_rev),
    }[merge_mode]()
    return merged, fwd_states, bwd_states


# ----------------------------------------------------------- Bidirectional values
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_bidirectional_matches_numpy(bk, rng, kind, merge_mode, return_sequences, masked):
    layer = Bidirectional(KINDS[kind](3, return_sequences=return_sequences,
                                      return_state=True, dtype="float64"),
                          merge_mode=merge_mode, dtype="float64")
    layer.build((None, 5, 4))
    weights = _set_random_weights(rng, layer)
    x = rng.standard_normal((3, 5, 4))
    mask = _padding_mask(3, 5) if masked else None
    out = layer(x, mask=mask)
    expected, fwd_states, bwd_states = _np_bidirectional(kind, x, weights, 3, merge_mode,
                                                         return_sequences, mask)
    expected = list(expected) if merge_mode is None else [expected]
    expected += fwd_states + bwd_states
    assert isinstance(out, tuple) and len(out) == len(expected)
    for got, want in zip(out, expected):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-12)
    # the output shapes agree with compute_output_shape, states last
    assert layer.compute_output_shape((3, 5, 4)) == tuple(t.shape for t in out)


def test_bidirectional_equals_two_gkeras_lstms(bk, rng):
    # an independent composition from gkeras's own layers: forward LSTM, backward LSTM,
    # reversed back in time and concatenated
    layer = Bidirectional(LSTM(4, return_sequences=True, dtype="float64"), dtype="float64")
    forward = LSTM(4, return_sequences=True, dtype="float64")
    backward = LSTM(4, return_sequences=True, go_backwards=True, dtype="float64")
    x = rng.standard_normal((2, 6, 3))
    for piece in (layer, forward, backward):
        piece.build((None, 6, 3))
    weights = _set_random_weights(rng, layer)
    forward.set_weights(weights[:3])
    backward.set_weights(weights[3:])
    expected = np.concatenate([forward(x).numpy(), backward(x).numpy()[:, ::-1]], axis=-1)
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-12, atol=1e-14)
    assert layer.get_weights()[0] is not weights[0]
    for got, want in zip(layer.get_weights(), forward.get_weights() + backward.get_weights()):
        np.testing.assert_array_equal(got, want)


def test_bidirectional_return_state_only_last_output(bk, rng):
    layer = Bidirectional(GRU(2, return_state=True, dtype="float64"), dtype="float64")
    layer.build((None, 4, 3))
    weights = _set_random_weights(rng, layer)
    x = rng.standard_normal((2, 4, 3))
    out, h_fwd, h_bwd = layer(x)
    _, (ref_fwd,) = np_rnn("gru", x, weights[:3], 2)
    _, (ref_bwd,) = np_rnn("gru", x, weights[3:], 2, go_backwards=True)
    np.testing.assert_allclose(out.numpy(), np.concatenate([ref_fwd, ref_bwd], -1), rtol=1e-10)
    np.testing.assert_allclose(h_fwd.numpy(), ref_fwd, rtol=1e-10)
    np.testing.assert_allclose(h_bwd.numpy(), ref_bwd, rtol=1e-10)


def test_bidirectional_initial_state_and_weights_argument(bk, rng):
    probe = Bidirectional(LSTM(2, dtype="float64"), dtype="float64")
    probe.build((None, 4, 3))
    weights = [0.5 * rng.standard_normal(w.shape) for w in probe.weights]
    layer = Bidirectional(LSTM(2, return_sequences=True, dtype="float64"), weights=weights,
                          dtype="float64")
    x = rng.standard_normal((2, 4, 3))
    states = [rng.standard_normal((2, 2)) for _ in range(4)]
    out = layer(x, initial_state=states).numpy()
    for got, want in zip(layer.get_weights(), weights):
        np.testing.assert_array_equal(got, want)
    y, _ = np_rnn("lstm", x, weights[:3], 2, initial=states[:2])
    y_rev, _ = np_rnn("lstm", x, weights[3:], 2, initial=states[2:], go_backwards=True)
    np.testing.assert_allclose(out, np.concatenate([y, y_rev[:, ::-1]], -1), rtol=1e-10)
    with pytest.raises(ValueError, match="even number of initial states"):
        layer(x, initial_state=states[:3])


def test_bidirectional_of_rnn_cell_layer(bk, rng):
    # the backward copy of a generic RNN comes from its config, cell included
    layer = Bidirectional(RNN(SimpleRNNCell(2, dtype="float64"), return_sequences=True,
                              dtype="float64"), merge_mode="sum", dtype="float64")
    layer.build((None, 4, 3))
    assert layer.backward_layer.cell is not layer.forward_layer.cell
    assert layer.backward_layer.go_backwards and not layer.forward_layer.go_backwards
    weights = _set_random_weights(rng, layer)
    x = rng.standard_normal((2, 4, 3))
    expected, _, _ = _np_bidirectional("simple_rnn", x, weights, 2, "sum", True)
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-10)


def test_backward_copy_flips_go_backwards(bk, rng):
    # a layer that already runs backwards gets a forward-running twin (tf.keras's rule;
    # Keras 3 refuses such a layer)
    layer = Bidirectional(GRU(2, go_backwards=True, return_sequences=True, dtype="float64"),
                          dtype="float64")
    layer.build((None, 4, 3))
    assert layer.forward_layer.go_backwards and not layer.backward_layer.go_backwards
    weights = _set_random_weights(rng, layer)
    x = rng.standard_normal((2, 4, 3))
    y, _ = np_rnn("gru", x, weights[:3], 2, go_backwards=True)
    y_rev, _ = np_rnn("gru", x, weights[3:], 2)
    np.testing.assert_allclose(layer(x).numpy(), np.concatenate([y, y_rev[:, ::-1]], -1),
                               rtol=1e-10)


# ---------------------------------------------------------------- real Keras 3
def _keras_cases():
    with np.load(os.path.join(DATA, "keras3_wrappers.npz")) as data:
        return sorted({key.split("/")[0] for key in data.files})


def _strip_numbers(path):
    # Keras and gkeras number repeated layer names differently (lstm_3 / lstm_1)
    return "/".join(re.sub(r"_\d+$", "", part) for part in path.split("/"))


def _gkeras_layer(wrapper, inner, inner_kwargs, wrapper_kwargs, units):
    if wrapper == "RNN":
        cell = {"LSTMCell": LSTMCell, "GRUCell": GRUCell, "SimpleRNNCell": SimpleRNNCell}[inner]
        return RNN(cell(units, **inner_kwargs), **wrapper_kwargs)
    if wrapper == "TimeDistributed":
        return TimeDistributed(layers.Dense(**inner_kwargs))
    return Bidirectional({"LSTM": LSTM, "GRU": GRU, "SimpleRNN": SimpleRNN}[inner](
        units, **inner_kwargs), **wrapper_kwargs)


@pytest.mark.parametrize("case", _keras_cases())
def test_matches_recorded_keras3(bk, case):
    with np.load(os.path.join(DATA, "keras3_wrappers.npz")) as data:
        entries = {key.split("/", 1)[1]: data[key] for key in data.files
                   if key.startswith(case + "/")}
    wrapper, inner, inner_kwargs, wrapper_kwargs, masked, with_state = json.loads(
        str(entries["spec"]))
    x = entries["x"]
    layer = _gkeras_layer(wrapper, inner, inner_kwargs, wrapper_kwargs, units=3)
    layer.build(x.shape)
    n_weights = len([k for k in entries if re.fullmatch(r"w\d+", k)])
    assert len(layer.weights) == n_weights
    layer.set_weights([entries[f"w{i}"] for i in range(n_weights)])
    keras_paths = json.loads(str(entries["paths"]))
    assert [_strip_numbers(w.path) for w in layer.weights] == [
        _strip_numbers(p) for p in keras_paths]
    call_kwargs = {}
    if masked:
        call_kwargs["mask"] = entries["mask"]
    if with_state:
        call_kwargs["initial_state"] = [entries[f"init{i}"] for i in range(4)
                                        if f"init{i}" in entries]
    result = layer(x, **call_kwargs)
    results = list(result) if isinstance(result, tuple) else [result]
    assert len(results) == len([k for k in entries if k.startswith("out")])
    for i, got in enumerate(results):
        np.testing.assert_allclose(got.numpy(), entries[f"out{i}"], rtol=1e-5, atol=2e-6)


def _recorded_model():
    ids = gkeras.Input((5,), dtype="int32")
    x = layers.Embedding(10, 4, mask_zero=True)(ids)
    x = Bidirectional(LSTM(3, return_sequences=True))(x)
    x = TimeDistributed(layers.Dense(4))(x)
    x = Bidirectional(GRU(3), merge_mode="sum")(x)
    return gkeras.Model(ids, layers.Dense(2)(x))


def test_loads_keras3_files(bk, tmp_path):
    with np.load(os.path.join(DATA, "keras3_bidirectional_model_io.npz")) as io:
        ids, expected = io["x"], io["y"]
    model = _recorded_model()
    model.load_weights(os.path.join(DATA, "keras3_bidirectional_model.weights.h5"))
    np.testing.assert_allclose(model.predict(ids, verbose=0), expected, rtol=1e-5, atol=1e-6)
    # the weights of Keras's whole-model HDF5 file (legacy layout: `weight_names` by path)
    legacy = _recorded_model()
    legacy.load_weights(os.path.join(DATA, "keras3_bidirectional_model.h5"))
    np.testing.assert_allclose(legacy.predict(ids, verbose=0), expected, rtol=1e-5, atol=1e-6)
    for name in ("again.weights.h5", "legacy.h5"):
        path = str(tmp_path / name)
        model.save_weights(path)
        fresh = _recorded_model()
        fresh.load_weights(path)
        np.testing.assert_allclose(fresh.predict(ids, verbose=0), expected, rtol=1e-5,
                                   atol=1e-6)


# ------------------------------------------------------------------- masking
def test_masks_on_outputs(bk, rng):
    ids = np.array([[0, 0, 3, 4], [1, 2, 3, 0]])
    embed = layers.Embedding(10, 3, mask_zero=True)
    seq = Bidirectional(LSTM(2, return_sequences=True))(embed(ids))
    np.testing.assert_array_equal(seq._keras_mask, ids != 0)
    assert Bidirectional(LSTM(2))(embed(ids))._keras_mask is None
    pair = Bidirectional(LSTM(2, return_sequences=True), merge_mode=None)(embed(ids))
    for t in pair:
        np.testing.assert_array_equal(t._keras_mask, ids != 0)
    out, *states = Bidirectional(GRU(2, return_sequences=True, return_state=True))(embed(ids))
    np.testing.assert_array_equal(out._keras_mask, ids != 0)
    assert len(states) == 2 and all(s._keras_mask is None for s in states)
    # the mask from the embedding reaches both directions: masked steps output zeros
    np.testing.assert_array_equal(seq.numpy()[ids == 0], 0.0)


def test_compute_mask(bk):
    mask = np.array([[True, False, True]])
    x = np.zeros((1, 3, 2), "float32")
    assert Bidirectional(LSTM(2, return_sequences=True)).compute_mask(x, mask) is mask
    assert Bidirectional(LSTM(2)).compute_mask(x, mask) is None
    assert Bidirectional(LSTM(2), merge_mode=None).compute_mask(x, mask) == [None, None]
    both = Bidirectional(GRU(2, return_sequences=True), merge_mode=None).compute_mask(x, mask)
    assert both[0] is mask and both[1] is mask
    with_states = Bidirectional(LSTM(2, return_sequences=True, return_state=True))
    assert with_states.compute_mask(x, mask) == [mask, None, None, None, None]
    assert TimeDistributed(layers.Dense(2)).compute_mask(x, mask) is mask


def test_zero_output_for_mask_follows_return_sequences(bk):
    seq = Bidirectional(LSTM(2, return_sequences=True, zero_output_for_mask=False))
    last = Bidirectional(GRU(2, zero_output_for_mask=True))
    assert seq.forward_layer.zero_output_for_mask and seq.backward_layer.zero_output_for_mask
    assert not last.forward_layer.zero_output_for_mask
    assert seq.get_config()["layer"]["config"]["zero_output_for_mask"] is True


# ------------------------------------------------------------------ gradients
@pytest.mark.parametrize("kind, merge_mode", [("lstm", "concat"), ("gru", "mul"),
                                              ("simple_rnn", "ave")])
def test_bidirectional_gradients(bk, rng, kind, merge_mode):
    layer = Bidirectional(KINDS[kind](2, return_sequences=True, return_state=True,
                                      dtype="float64"), merge_mode=merge_mode, dtype="float64")
    layer.build((None, 4, 3))
    weights = _set_random_weights(rng, layer, scale=0.7)
    mask = _padding_mask(2, 4)
    cells = (layer.forward_layer.cell, layer.backward_layer.cell)

    def fn(inputs, *ws):
        # the checked Variables stand in for both directions' weights
        for cell, (kernel, recurrent, bias) in zip(cells, (ws[:3], ws[3:])):
            cell.kernel, cell.recurrent_kernel, cell.bias = kernel, recurrent, bias
        out = layer(inputs, mask=mask)
        flat = [gkeras.ops.reshape(t, (2, -1)) for t in out]  # every output and state
        return gkeras.ops.concatenate(flat, axis=1)

    check_gradients(fn, rng.standard_normal((2, 4, 3)), *weights, bk=bk, elementwise_limit=24)


def test_time_distributed_and_rnn_gradients(bk, rng):
    dense = layers.Dense(3, activation="tanh", dtype="float64")
    wrapped = TimeDistributed(dense, dtype="float64")
    wrapped.build((None, 4, 2))
    rnn = RNN(LSTMCell(2, dtype="float64"), return_sequences=True, go_backwards=True,
              dtype="float64")
    rnn.build((None, 4, 3))
    rnn_weights = _set_random_weights(rng, rnn)
    mask = _padding_mask(2, 4)

    def fn(inputs, kernel, bias, *cell_weights):
        dense.kernel, dense.bias = kernel, bias
        rnn.cell.kernel, rnn.cell.recurrent_kernel, rnn.cell.bias = cell_weights
        return rnn(wrapped(inputs), mask=mask)

    check_gradients(fn, rng.standard_normal((2, 4, 2)), rng.standard_normal((2, 3)),
                    rng.standard_normal(3), *rnn_weights, bk=bk)


# -------------------------------------------------------- generic layer checks
@pytest.mark.parametrize("layer_fn, input_shape, output_shape, n_weights, n_losses", [
    (lambda: Bidirectional(LSTM(3, return_sequences=True)), (2, 5, 4), (2, 5, 6), 6, 0),
    (lambda: Bidirectional(GRU(2, kernel_regularizer="l2"), merge_mode="sum"), (2, 5, 4),
     (2, 2), 6, 2),
    (lambda: TimeDistributed(layers.Dense(3, activation="relu")), (2, 4, 5), (2, 4, 3), 2, 0),
    (lambda: TimeDistributed(layers.Conv1D(2, 2)), (2, 3, 5, 4), (2, 3, 4, 2), 2, 0),
    (lambda: RNN(GRUCell(3), return_sequences=True), (2, 5, 4), (2, 5, 3), 3, 0),
    (lambda: RNN(SimpleRNNCell(2)), (2, 5, 4), (2, 2), 3, 0),
])
def test_generic_layer_checks(bk, layer_fn, input_shape, output_shape, n_weights, n_losses):
    def make(**_):  # the harness builds fresh layers (in float64 too) and clones by config
        return layer_fn()

    make.from_config = type(layer_fn()).from_config
    harness.run_layer_test(
        make, input_shape=input_shape, expected_output_shape=output_shape,
        expected_num_trainable_weights=n_weights, expected_num_losses=n_losses)


def test_weight_paths_and_order(bk):
    layer = Bidirectional(LSTM(4, name="enc"), name="bi")
    layer.build((None, 7, 3))
    assert [w.path for w in layer.weights] == [
        f"bi/{d}_enc/lstm_cell/{n}" for d in ("forward", "backward")
        for n in ("kernel", "recurrent_kernel", "bias")]
    assert layer.forward_layer.name == "forward_enc" and layer.backward_layer.go_backwards
    assert [a.shape for a in layer.get_weights()] == [(3, 16), (4, 16), (16,)] * 2
    td = TimeDistributed(layers.Dense(2, name="d"), name="td")
    td.build((None, 3, 5))
    assert [w.path for w in td.weights] == ["td/d/kernel", "td/d/bias"]
    rnn = RNN(GRUCell(2, name="c"), name="r")
    rnn.build((None, 3, 5))
    assert [w.path for w in rnn.weights] == ["r/c/kernel", "r/c/recurrent_kernel", "r/c/bias"]


# -------------------------------------------------------------- TimeDistributed
def test_time_distributed_dense_equals_per_step(bk, rng):
    dense = layers.Dense(3, activation="tanh", dtype="float64")
    layer = TimeDistributed(dense, dtype="float64")
    x = rng.standard_normal((2, 4, 5))
    out = layer(x).numpy()
    kernel, bias = dense.get_weights()
    for t in range(4):
        np.testing.assert_allclose(out[:, t], np.tanh(x[:, t] @ kernel + bias), rtol=1e-12)
    # rank 4: the same Dense applied to each (batch, time) slice of (batch, time, a, f)
    x4 = rng.standard_normal((2, 3, 2, 5))
    np.testing.assert_allclose(layer(x4).numpy(), np.tanh(x4 @ kernel + bias), rtol=1e-12)


def test_time_distributed_keeps_mask_and_symbolic_use(bk, rng):
    ids = np.array([[1, 2, 0], [0, 4, 5]])
    vectors = layers.Embedding(10, 4, mask_zero=True)(ids)
    out = TimeDistributed(layers.Dense(2))(vectors)
    np.testing.assert_array_equal(out._keras_mask, ids != 0)
    inputs = gkeras.Input((None, 6))  # unknown time steps too
    symbolic = TimeDistributed(layers.Dense(3))(inputs)
    assert symbolic.shape == (None, None, 3)


def test_time_distributed_nested_sequences(bk, rng):
    # an LSTM over the inner sequences of (batch, outer, inner, features), with the mask
    # of the inner steps folded along
    ids = rng.integers(1, 10, size=(2, 3, 4))
    ids[0, 1, :2] = 0
    embed = layers.Embedding(10, 3, mask_zero=True, dtype="float64")
    vectors = embed(ids)
    lstm = LSTM(2, dtype="float64")
    out = TimeDistributed(lstm, dtype="float64")(vectors, mask=ids != 0).numpy()
    flat_out, _ = np_rnn("lstm", vectors.numpy().reshape(6, 4, 3), lstm.get_weights(), 2,
                         mask=(ids != 0).reshape(6, 4))
    np.testing.assert_allclose(out, flat_out[:, -1].reshape(2, 3, 2), rtol=1e-10)


# ------------------------------------------------------------------------ RNN
@pytest.mark.parametrize("cell_cls, layer_cls", [(LSTMCell, LSTM), (GRUCell, GRU),
                                                 (SimpleRNNCell, SimpleRNN)])
def test_rnn_of_cell_equals_layer(bk, rng, cell_cls, layer_cls):
    rnn = RNN(cell_cls(3, dtype="float64"), return_sequences=True, return_state=True,
              dtype="float64")
    ref = layer_cls(3, return_sequences=True, return_state=True, dtype="float64")
    x = rng.standard_normal((2, 5, 4))
    mask = _padding_mask(2, 5)
    rnn.build(x.shape)
    ref.build(x.shape)
    ref.set_weights(_set_random_weights(rng, rnn))
    for got, want in zip(rnn(x, mask=mask), ref(x, mask=mask)):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12)


class MinimalCell(layers.Layer):
    """A custom cell: `h = tanh(x @ w + h_prev @ u)`."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), name="w")
        self.u = self.add_weight(shape=(self.units, self.units), name="u")

    def call(self, inputs, states):
        h = gkeras.ops.tanh(gkeras.ops.add(gkeras.ops.matmul(inputs, self.w),
                                           gkeras.ops.matmul(states[0], self.u)))
        return h, [h]

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def test_rnn_of_custom_cell(bk, rng, tmp_path):
    layer = RNN(MinimalCell(2, dtype="float64"), return_sequences=True, dtype="float64")
    x = rng.standard_normal((3, 5, 4))
    mask = _padding_mask(3, 5)
    out = layer(x, mask=mask).numpy()
    w, u = layer.get_weights()
    # the generic loop: masked steps keep the state and repeat the previous output
    h, prev_out, expected = np.zeros((3, 2)), np.zeros((3, 2)), []
    for t in range(5):
        new = np.tanh(x[:, t] @ w + h @ u)
        keep = mask[:, t][:, None]
        h = np.where(keep, new, h)
        prev_out = np.where(keep, new, prev_out)
        expected.append(prev_out)
    np.testing.assert_allclose(out, np.stack(expected, 1), rtol=1e-12)
    clone = RNN.from_config(json.loads(json.dumps(layer.get_config())),
                            custom_objects={"MinimalCell": MinimalCell})
    clone.build(x.shape)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(clone(x, mask=mask).numpy(), out, rtol=1e-12)


# -------------------------------------------------------------------- configs
def test_bidirectional_config_round_trip(bk):
    layer = Bidirectional(LSTM(3, return_sequences=True, dropout=0.25), merge_mode="ave",
                          name="bi")
    config = json.loads(json.dumps(layer.get_config()))
    assert config["merge_mode"] == "ave"
    assert config["layer"]["class_name"] == "LSTM"
    assert config["layer"]["config"]["name"] == "forward_lstm" or config["layer"]["config"][
        "name"].startswith("forward_")
    assert config["backward_layer"]["config"]["go_backwards"] is True
    clone = Bidirectional.from_config(config)
    assert json.loads(json.dumps(clone.get_config())) == config
    assert clone.forward_layer.name == layer.forward_layer.name
    assert clone.backward_layer.name == layer.backward_layer.name
    assert clone.forward_layer.dropout == 0.25


def test_custom_backward_layer(bk, rng):
    backward = GRU(2, go_backwards=True, activation="relu", return_sequences=True,
                   dtype="float64")
    layer = Bidirectional(GRU(2, return_sequences=True, dtype="float64"),
                          backward_layer=backward, dtype="float64")
    assert layer.backward_layer is backward
    x = rng.standard_normal((2, 4, 3))
    out = layer(x).numpy()
    np.testing.assert_allclose(out[..., 2:], backward(x).numpy()[:, ::-1], rtol=1e-12)
    clone = Bidirectional.from_config(json.loads(json.dumps(layer.get_config())))
    assert clone.backward_layer.get_config()["activation"] == "relu"


def test_time_distributed_and_rnn_config_round_trip(bk):
    td = TimeDistributed(layers.Dense(3, activation="relu", name="inner"), name="td")
    config = json.loads(json.dumps(td.get_config()))
    assert config["layer"]["class_name"] == "Dense" and config["name"] == "td"
    clone = TimeDistributed.from_config(config)
    assert clone.layer.name == "inner" and clone.get_config() == config
    rnn = RNN(LSTMCell(4, unit_forget_bias=False), go_backwards=True, zero_output_for_mask=True)
    config = json.loads(json.dumps(rnn.get_config()))
    assert config["cell"]["class_name"] == "LSTMCell"
    assert config["go_backwards"] is True and config["zero_output_for_mask"] is True
    clone = RNN.from_config(config)
    assert isinstance(clone.cell, LSTMCell) and clone.cell.unit_forget_bias is False
    assert json.loads(json.dumps(clone.get_config())) == config


# ------------------------------------------------------------------- training
def _model():
    return gkeras.Sequential([
        gkeras.Input((8,), dtype="int32"),
        layers.Embedding(20, 8, mask_zero=True),
        Bidirectional(LSTM(6)),
        layers.Dense(2, activation="softmax"),
    ])


def test_embedding_bidirectional_lstm_dense_fits_and_saves(bk, tmp_path):
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 20, size=(64, 8))
    ids[::3, :3] = 0  # some padded sequences
    labels = (ids[:, -1] > 10).astype("int32")
    model = _model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    history = model.fit(ids, labels, epochs=2, batch_size=16, verbose=0)
    losses = history.history["loss"]
    assert len(losses) == 2 and losses[1] < losses[0]
    expected = model.predict(ids, verbose=0)
    path = str(tmp_path / "m.h5")
    model.save(path)
    loaded = gkeras.models.load_model(path, custom_objects=CUSTOM)
    np.testing.assert_array_equal(loaded.predict(ids, verbose=0), expected)
    assert [w.path for w in loaded.weights] == [w.path for w in model.weights]
    weights_path = str(tmp_path / "m.weights.h5")
    model.save_weights(weights_path)
    fresh = _model()
    fresh.load_weights(weights_path)
    np.testing.assert_array_equal(fresh.predict(ids, verbose=0), expected)


# ------------------------------------------------------------------ bad input
def test_bad_arguments_raise_clearly(bk):
    with pytest.raises(ValueError, match=r'one of \{"sum", "mul", "ave", "concat", None\}'):
        Bidirectional(LSTM(2), merge_mode="max")
    with pytest.raises(ValueError, match="Layer` instance.*str"):
        Bidirectional("lstm")
    with pytest.raises(ValueError, match="backward_layer"):
        Bidirectional(LSTM(2), backward_layer=3)
    with pytest.raises(ValueError, match="Dense 'dense_x' lacks"):
        Bidirectional(layers.Dense(2, name="dense_x"))
    with pytest.raises(ValueError, match="different `go_backwards`"):
        Bidirectional(LSTM(2), backward_layer=LSTM(2))
    with pytest.raises(ValueError, match="same `return_sequences`"):
        Bidirectional(LSTM(2), backward_layer=LSTM(2, go_backwards=True,
                                                   return_sequences=True))
    with pytest.raises(ValueError, match="TimeDistributed must wrap"):
        TimeDistributed(np.zeros(3))
    with pytest.raises(ValueError, match="layer 'td'.*min_ndim=3, found ndim=2"):
        TimeDistributed(layers.Dense(2), name="td")(np.zeros((4, 3), "float32"))
    with pytest.raises(ValueError, match="rank >= 3"):
        TimeDistributed(layers.Dense(2)).compute_output_shape((None, 3))
    with pytest.raises(ValueError, match="RNN expects a cell"):
        RNN(layers.Dense(2))
    with pytest.raises(NotImplementedError, match="list of cells"):
        RNN([LSTMCell(2), LSTMCell(2)])
    with pytest.raises(NotImplementedError, match="stateful"):
        RNN(GRUCell(2), stateful=True)
    with pytest.raises(ValueError, match="expected ndim=3"):
        Bidirectional(LSTM(2))(np.zeros((4, 3), "float32"))
