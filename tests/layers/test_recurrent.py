"""SimpleRNN, LSTM, GRU: float64 NumPy references, real-Keras fixtures, gradients, masking,
configs, weights files and training."""

import json
import os

import numpy as np
import pytest
from helpers import check_gradients

import gkeras
from gkeras import layers
from gkeras.layers.recurrent import GRU, LSTM, SimpleRNN, _unstack_time

from . import harness

DATA = os.path.join(os.path.dirname(__file__), "..", "data", "recurrent")


# ---------------------------------------------------------------- NumPy references
def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _np_cell(kind, units, weights, reset_after=True):
    """The step function `(x_t, states) -> (output, states)` of one cell, in float64."""
    kernel, recurrent = weights[0], weights[1]
    bias = weights[2] if len(weights) > 2 else None

    def simple(x, states):
        h = np.tanh(x @ kernel + states[0] @ recurrent + (0 if bias is None else bias))
        return h, [h]

    def lstm(x, states):
        h, c = states
        z = x @ kernel + h @ recurrent + (0 if bias is None else bias)
        i, f, g, o = (z[:, k * units:(k + 1) * units] for k in range(4))
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        h = _sigmoid(o) * np.tanh(c)
        return h, [h, c]

    def gru(x, states):
        h = states[0]
        b_in = np.zeros(3 * units) if bias is None else (bias[0] if reset_after else bias)
        xz, xr, xh = np.split(x @ kernel + b_in, 3, axis=-1)
        uz, ur, uh = np.split(recurrent, 3, axis=-1)
        if reset_after:
            b_rec = np.zeros(3 * units) if bias is None else bias[1]
            bz, br, bh = np.split(b_rec, 3)
            z = _sigmoid(xz + h @ uz + bz)
            r = _sigmoid(xr + h @ ur + br)
            hh = np.tanh(xh + r * (h @ uh + bh))
        else:
            z = _sigmoid(xz + h @ uz)
            r = _sigmoid(xr + h @ ur)
            hh = np.tanh(xh + (r * h) @ uh)
        h = z * h + (1 - z) * hh
        return h, [h]

    return {"simple_rnn": simple, "lstm": lstm, "gru": gru}[kind]


def np_rnn(kind, x, weights, units, mask=None, go_backwards=False, initial=None,
           reset_after=True):
    """`(outputs (B, T, U) in processing order, final states)` by an explicit loop."""
    step = _np_cell(kind, units, weights, reset_after)
    batch, steps = x.shape[:2]
    n_states = 2 if kind == "lstm" else 1
    states = [np.zeros((batch, units))] * n_states if initial is None else list(initial)
    order = range(steps - 1, -1, -1) if go_backwards else range(steps)
    outputs = []
    for t in order:
        out, new = step(x[:, t], states)
        if mask is not None:
            keep = mask[:, t][:, None]
            new = [np.where(keep, n, s) for n, s in zip(new, states)]
            out = new[0]
        states = new
        outputs.append(out)
    return np.stack(outputs, axis=1), states


LAYERS = {"simple_rnn": (SimpleRNN, 1), "lstm": (LSTM, 4), "gru": (GRU, 3)}


def _random_weights(rng, layer, scale=0.5):
    return [scale * rng.standard_normal(w.shape) for w in layer.weights]


def _make(kind, units=3, features=4, steps=5, dtype="float64", **kwargs):
    cls, _ = LAYERS[kind]
    layer = cls(units, dtype=dtype, **kwargs)
    layer.build((None, steps, features))
    return layer


def _padding_mask(batch, steps):
    mask = np.ones((batch, steps), bool)
    mask[0, :2] = False  # leading padding
    mask[1, -1] = False  # trailing padding
    if batch > 2:
        mask[2, 1:3] = False  # a hole in the middle
    return mask


# --------------------------------------------------------------- forward vs NumPy
@pytest.mark.parametrize("kind", list(LAYERS))
@pytest.mark.parametrize("options", [
    {}, {"return_sequences": True}, {"return_state": True},
    {"return_sequences": True, "return_state": True, "go_backwards": True},
    {"go_backwards": True},
])
@pytest.mark.parametrize("masked", [False, True])
def test_forward_matches_numpy(bk, rng, kind, options, masked):
    layer = _make(kind, **options)
    weights = _random_weights(rng, layer)
    layer.set_weights(weights)
    x = rng.standard_normal((3, 5, 4))
    mask = _padding_mask(3, 5) if masked else None
    result = layer(x, mask=mask) if masked else layer(x)
    outs, states = np_rnn(kind, x, weights, 3, mask=mask,
                          go_backwards=options.get("go_backwards", False))
    expected = outs if options.get("return_sequences") else outs[:, -1]
    if options.get("return_state"):
        assert isinstance(result, tuple) and len(result) == 1 + len(states)
        for got, want in zip(result[1:], states):
            np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-12)
        result = result[0]
    assert result.dtype == np.float64
    np.testing.assert_allclose(result.numpy(), expected, rtol=1e-10, atol=1e-12)


def test_gru_reset_before_and_no_bias_match_numpy(bk, rng):
    x = rng.standard_normal((2, 5, 4))
    for kwargs in ({"reset_after": False}, {"use_bias": False}):
        layer = _make("gru", return_sequences=True, **kwargs)
        weights = _random_weights(rng, layer)
        layer.set_weights(weights)
        outs, _ = np_rnn("gru", x, weights, 3, reset_after=kwargs.get("reset_after", True))
        np.testing.assert_allclose(layer(x).numpy(), outs, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", list(LAYERS))
def test_initial_state_matches_numpy(bk, rng, kind):
    layer = _make(kind, return_sequences=True)
    weights = _random_weights(rng, layer)
    layer.set_weights(weights)
    x = rng.standard_normal((2, 5, 4))
    initial = [rng.standard_normal((2, 3)) for _ in range(2 if kind == "lstm" else 1)]
    outs, _ = np_rnn(kind, x, weights, 3, initial=initial)
    np.testing.assert_allclose(layer(x, initial_state=initial).numpy(), outs, rtol=1e-10)


def test_unstack_time_keeps_order(bk, rng):
    for steps in (1, 4, 5, 13):
        x = rng.standard_normal((steps, 2, 3))
        pieces = _unstack_time(gkeras.ops.convert_to_tensor(x))
        assert len(pieces) == steps
        for t, piece in enumerate(pieces):
            np.testing.assert_array_equal(piece.numpy(), x[t])


# ---------------------------------------------------------------- real Keras 3
def _keras_cases():
    with np.load(os.path.join(DATA, "keras3_recurrent.npz")) as data:
        return sorted({key.split("/")[0] for key in data.files})


@pytest.mark.parametrize("case", _keras_cases())
def test_matches_recorded_keras3(bk, case):
    with np.load(os.path.join(DATA, "keras3_recurrent.npz")) as data:
        entries = {key.split("/", 1)[1]: data[key] for key in data.files
                   if key.startswith(case + "/")}
    class_name, kwargs, masked, with_state = json.loads(str(entries["spec"]))
    cls = {"LSTM": LSTM, "GRU": GRU, "SimpleRNN": SimpleRNN}[class_name]
    x = entries["x"]
    layer = cls(entries["out0"].shape[-1], **kwargs)
    layer.build(x.shape)
    layer.set_weights([entries[f"w{i}"] for i in range(len(layer.weights))])
    call_kwargs = {}
    if masked:
        call_kwargs["mask"] = entries["mask"]
    if with_state:
        call_kwargs["initial_state"] = [entries[k] for k in sorted(entries) if k.startswith("init")]
    result = layer(x, **call_kwargs)
    results = list(result) if isinstance(result, tuple) else [result]
    assert len(results) == len([k for k in entries if k.startswith("out")])
    for i, got in enumerate(results):
        np.testing.assert_allclose(got.numpy(), entries[f"out{i}"], rtol=1e-5, atol=2e-6)


def _recorded_model():
    return gkeras.Sequential([
        gkeras.Input((6,), dtype="int32"),
        layers.Embedding(10, 4, mask_zero=True),
        LSTM(5, return_sequences=True),
        GRU(5),
        layers.Dense(2),
    ])


def test_loads_keras3_weights_file_and_round_trips(bk, tmp_path):
    with np.load(os.path.join(DATA, "keras3_recurrent_model_io.npz")) as io:
        ids, expected = io["x"], io["y"]
    model = _recorded_model()
    model.load_weights(os.path.join(DATA, "keras3_recurrent_model.weights.h5"))
    np.testing.assert_allclose(model.predict(ids, verbose=0), expected, rtol=1e-5, atol=1e-6)
    for name in ("again.weights.h5", "legacy.h5"):
        path = str(tmp_path / name)
        model.save_weights(path)
        fresh = _recorded_model()
        fresh.load_weights(path)
        np.testing.assert_allclose(fresh.predict(ids, verbose=0), expected, rtol=1e-5,
                                   atol=1e-6)


# ------------------------------------------------------------------- gradients
@pytest.mark.parametrize("kind", list(LAYERS))
@pytest.mark.parametrize("options", [
    {"return_sequences": True},
    {"go_backwards": True, "return_state": True},
])
def test_gradients_match_finite_differences(bk, rng, kind, options):
    layer = _make(kind, units=2, features=3, steps=4, **options)
    cell = layer.cell
    mask = _padding_mask(2, 4)
    x = rng.standard_normal((2, 4, 3))
    weights = _random_weights(rng, layer, scale=0.7)

    def fn(inputs, kernel, recurrent, bias):
        # the checked Variables stand in for the cell's weights
        cell.kernel, cell.recurrent_kernel, cell.bias = kernel, recurrent, bias
        out = layer(inputs, mask=mask)
        if isinstance(out, tuple):  # every output and state counts
            out = gkeras.ops.concatenate([out[0]] + list(out[1:]), axis=-1)
        return out

    check_gradients(fn, x, *weights, bk=bk)


def test_gradients_long_sequence(bk, rng):
    # 11 steps: the time axis is cut by halves, past the direct-slicing length
    layer = _make("lstm", units=2, features=2, steps=11, return_sequences=True)
    cell = layer.cell
    weights = _random_weights(rng, layer, scale=0.5)

    def fn(inputs, kernel, recurrent, bias):
        cell.kernel, cell.recurrent_kernel, cell.bias = kernel, recurrent, bias
        return layer(inputs)

    check_gradients(fn, rng.standard_normal((2, 11, 2)), *weights, bk=bk, elementwise_limit=0,
                    directions=3)


# --------------------------------------------------------- generic layer checks
def _generic_checks(layer_cls, kwargs, data, expected_shape, n_weights, n_losses=0):
    """The shared harness's checks, less its `path == layer/weight` rule: as in Keras 3, the
    weights live on the `cell` sublayer (`lstm/lstm_cell/kernel`)."""
    layer = layer_cls(**kwargs)
    output = layer(data, training=False)
    assert output.shape == expected_shape and output.dtype == np.float32
    assert len(layer.trainable_weights) == n_weights and not layer.non_trainable_weights
    cell = layer.cell.name
    assert [w.path for w in layer.weights] == [
        f"{layer.name}/{cell}/{name}" for name in ("kernel", "recurrent_kernel", "bias")
    ][:n_weights]
    assert len(layer.losses) == n_losses
    assert tuple(layer.compute_output_shape(data.shape)) == expected_shape
    layer._clear_added_losses()
    host = output.numpy()
    harness._check_symbolic_call(layer_cls, kwargs, data, {}, expected_shape, np.float32,
                                 (n_weights, 0))
    config = harness._check_config_round_trip(layer, layer_cls, data, {}, host)
    harness._check_hdf5_round_trip(layer, layer_cls, config, data, {}, host)
    harness._check_training_step(layer, data, {}, np.random.default_rng(0))
    harness._check_freezing(layer, data, {})
    return layer


@pytest.mark.parametrize("layer_cls, kwargs, n_weights, n_losses", [
    (LSTM, {"units": 3}, 3, 0),
    (LSTM, {"units": 2, "return_sequences": True, "kernel_regularizer": "l2",
            "recurrent_regularizer": "l1", "bias_constraint": "non_neg"}, 3, 2),
    (GRU, {"units": 3, "return_sequences": True}, 3, 0),
    (GRU, {"units": 2, "reset_after": False, "use_bias": False,
           "activity_regularizer": "l2"}, 2, 1),
    (SimpleRNN, {"units": 4, "activation": "relu", "go_backwards": True}, 3, 0),
])
def test_generic_layer_checks(bk, rng, layer_cls, kwargs, n_weights, n_losses):
    data = rng.standard_normal((2, 5, 3)).astype("float32")
    units = kwargs["units"]
    shape = (2, 5, units) if kwargs.get("return_sequences") else (2, units)
    _generic_checks(layer_cls, kwargs, data, shape, n_weights, n_losses)


def test_weights_as_keras_names_them(bk):
    lstm, gru, rnn = LSTM(4, name="l"), GRU(4, name="g"), SimpleRNN(4, name="s")
    for layer in (lstm, gru, rnn):
        layer.build((None, 7, 3))
    assert [(w.name, w.shape) for w in lstm.weights] == [
        ("kernel", (3, 16)), ("recurrent_kernel", (4, 16)), ("bias", (16,))]
    assert [w.path for w in lstm.weights][0] == "l/lstm_cell/kernel"
    assert [w.shape for w in gru.weights] == [(3, 12), (4, 12), (2, 12)]
    assert GRU(4, reset_after=False).cell._bias_shape() == (12,)
    assert [w.path for w in rnn.weights] == [
        "s/simple_rnn_cell/kernel", "s/simple_rnn_cell/recurrent_kernel", "s/simple_rnn_cell/bias"]
    # unit_forget_bias: the forget block (the second of i, f, c, o) starts at one
    np.testing.assert_array_equal(lstm.cell.bias.numpy(), np.repeat([0.0, 1.0, 0.0, 0.0], 4))
    plain = LSTM(2, unit_forget_bias=False)
    plain.build((None, 3, 3))
    np.testing.assert_array_equal(plain.cell.bias.numpy(), np.zeros(8))
    # the recurrent kernel is orthogonal by default: orthonormal rows of (4, 16)
    q = lstm.cell.recurrent_kernel.numpy()
    np.testing.assert_allclose(q @ q.T, np.eye(4), atol=1e-5)


def test_config_round_trip_and_properties(bk):
    layer = LSTM(6, activation="relu", recurrent_activation="hard_sigmoid", dropout=0.25,
                 return_sequences=True, go_backwards=True, unroll=True, seed=3,
                 kernel_regularizer="l2", unit_forget_bias=False, name="probe")
    config = layer.get_config()
    assert config["units"] == 6 and config["activation"] == "relu"
    assert config["recurrent_activation"] == "hard_sigmoid" and config["dropout"] == 0.25
    assert config["unit_forget_bias"] is False and config["stateful"] is False
    assert config["unroll"] is True and config["seed"] == 3
    assert layer.units == 6 and layer.dropout == 0.25
    clone = LSTM.from_config(json.loads(json.dumps(config)))
    assert clone.get_config() == json.loads(json.dumps(config))
    gru_config = GRU(2, reset_after=False).get_config()
    assert gru_config["reset_after"] is False
    assert GRU.from_config(gru_config).cell.reset_after is False


# -------------------------------------------------------------------- masking
def test_masking_from_embedding(bk, rng):
    ids = np.array([[0, 0, 3, 4, 5], [1, 2, 3, 0, 0], [6, 0, 7, 0, 8]])
    embed = layers.Embedding(10, 4, mask_zero=True, dtype="float64")
    lstm = LSTM(3, return_sequences=True, dtype="float64")
    out = lstm(embed(ids))
    np.testing.assert_array_equal(out._keras_mask, ids != 0)
    vectors = embed(ids).numpy()
    outs, _ = np_rnn("lstm", vectors, lstm.get_weights(), 3, mask=ids != 0)
    np.testing.assert_allclose(out.numpy(), outs, rtol=1e-10, atol=1e-12)
    # a masked step repeats the previous output; leading padding gives zeros
    np.testing.assert_array_equal(out.numpy()[0, :2], 0.0)
    np.testing.assert_array_equal(out.numpy()[1, 3], out.numpy()[1, 2])
    last = LSTM(3, return_state=True)(embed(ids))
    assert last[0]._keras_mask is None and last[1]._keras_mask is None


def test_zero_output_for_mask(bk, rng):
    layer = _make("gru", return_sequences=True, zero_output_for_mask=True)
    x = rng.standard_normal((3, 5, 4))
    mask = _padding_mask(3, 5)
    out = layer(x, mask=mask).numpy()
    reference = _make("gru", return_sequences=True)
    reference.set_weights(layer.get_weights())
    carried = reference(x, mask=mask).numpy()
    np.testing.assert_array_equal(out[~mask], 0.0)
    np.testing.assert_allclose(out[mask], carried[mask], rtol=1e-12)


def test_compute_mask(bk):
    mask = np.array([[True, False, True]])
    x = np.zeros((1, 3, 2), "float32")
    assert LSTM(2, return_sequences=True).compute_mask(x, mask) is mask
    assert LSTM(2).compute_mask(x, mask) is None
    assert GRU(2, return_sequences=True, return_state=True).compute_mask(x, mask) == [mask, None]


# -------------------------------------------------------------------- dropout
def test_input_dropout_uses_one_mask_per_sequence(bk, rng, monkeypatch):
    layer = _make("lstm", dropout=0.5, return_sequences=True)
    x = rng.standard_normal((2, 5, 4))
    keep = (rng.random((2, 1, 4)) > 0.5) / 0.5
    seen = {}

    def fake_dropout(inputs, rate, noise_shape=None, seed=None):
        seen.update(rate=rate, noise_shape=noise_shape)
        return gkeras.ops.multiply(inputs, keep)

    monkeypatch.setattr(gkeras.ops, "dropout", fake_dropout)
    out = layer(x, training=True).numpy()
    assert seen == {"rate": 0.5, "noise_shape": (None, 1, None)}
    outs, _ = np_rnn("lstm", x * keep, layer.get_weights(), 3)
    np.testing.assert_allclose(out, outs, rtol=1e-10)
    plain, _ = np_rnn("lstm", x, layer.get_weights(), 3)
    np.testing.assert_allclose(layer(x, training=False).numpy(), plain, rtol=1e-10)


def test_dropout_in_training_only(bk, rng):
    layer = _make("simple_rnn", dropout=0.5, recurrent_dropout=0.5, seed=1)
    x = rng.standard_normal((4, 5, 4))
    np.testing.assert_array_equal(layer(x).numpy(), layer(x, training=False).numpy())
    assert not np.allclose(layer(x, training=True).numpy(), layer(x).numpy())


# -------------------------------------------------------------------- training
def test_embedding_lstm_dense_fits(bk):
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 20, size=(64, 8))
    ids[::3, :3] = 0  # some padded sequences
    labels = (ids[:, -1] > 10).astype("int32")
    model = gkeras.Sequential([
        gkeras.Input((8,), dtype="int32"),
        layers.Embedding(20, 8, mask_zero=True),
        LSTM(8),
        layers.Dense(2, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    history = model.fit(ids, labels, epochs=2, batch_size=16, verbose=0)
    losses = history.history["loss"]
    assert len(losses) == 2 and losses[1] < losses[0]


# ------------------------------------------------------------------ bad input
def test_bad_input_raises_clearly(bk):
    with pytest.raises(ValueError, match="expected ndim=3, found ndim=2"):
        LSTM(2)(np.zeros((4, 3), "float32"))
    with pytest.raises(NotImplementedError, match="stateful=True"):
        LSTM(2, stateful=True)
    with pytest.raises(ValueError, match="units"):
        SimpleRNN(0)
    with pytest.raises(ValueError, match="dropout"):
        LSTM(2, dropout=1.5)
    with pytest.raises(ValueError, match="use_cudnn"):
        GRU(2, use_cudnn="sometimes")
    layer = LSTM(2)
    with pytest.raises(ValueError, match=r"2 initial state tensor\(s\)"):
        layer(np.zeros((1, 3, 2), "float32"), initial_state=[np.zeros((1, 2), "float32")])
    with pytest.raises(ValueError, match="axis -1"):
        layer(np.zeros((1, 3, 5), "float32"))


@pytest.mark.parametrize("kind, reset_after", [("lstm", True), ("gru", True), ("gru", False)])
def test_recurrent_dropout_draws_one_mask_per_gate_as_keras(bk, rng, monkeypatch, kind,
                                                            reset_after):
    """Keras 3 (implementation 1): with recurrent_dropout, gate g sees x * m_g and
    h_prev * r_g, each mask fixed over the sequence. Known masks are substituted and the
    result compared with a float64 loop over the gates."""
    units, features, gates = 3, 4, LAYERS[kind][1]
    extra = {} if kind == "lstm" else {"reset_after": reset_after}
    layer = _make(kind, dropout=0.5, recurrent_dropout=0.5, return_sequences=True, **extra)
    weights = layer.get_weights()
    x = rng.standard_normal((2, 5, features))
    masks = iter([(rng.random((2, features)) > 0.5) * 2.0 for _ in range(gates)]
                 + [(rng.random((2, units)) > 0.5) * 2.0 for _ in range(gates)])
    drawn = []

    def fake_dropout(inputs, rate, noise_shape=None, seed=None):
        mask = next(masks)
        drawn.append(mask)
        return gkeras.ops.multiply(inputs, mask)

    monkeypatch.setattr(gkeras.ops, "dropout", fake_dropout)
    out = layer(x, training=True).numpy()
    in_masks, rec_masks = drawn[:gates], drawn[gates:]
    kernel, recurrent, bias = weights
    h, c = np.zeros((2, units)), np.zeros((2, units))
    expected = []
    for t in range(5):
        cols = [slice(g * units, (g + 1) * units) for g in range(gates)]
        if kind == "lstm":
            z = np.concatenate([(x[:, t] * in_masks[g]) @ kernel[:, cols[g]]
                                + (h * rec_masks[g]) @ recurrent[:, cols[g]]
                                for g in range(4)], axis=-1) + bias
            i, f, g_, o = np.split(z, 4, axis=-1)
            c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g_)
            h = _sigmoid(o) * np.tanh(c)
        else:
            b_in = bias[0] if reset_after else bias
            xs = [(x[:, t] * in_masks[g]) @ kernel[:, cols[g]] + b_in[cols[g]] for g in range(3)]
            if reset_after:
                rs = [(h * rec_masks[g]) @ recurrent[:, cols[g]] + bias[1][cols[g]]
                      for g in range(3)]
                zg, rg = _sigmoid(xs[0] + rs[0]), _sigmoid(xs[1] + rs[1])
                hh = np.tanh(xs[2] + rg * rs[2])
            else:
                zg = _sigmoid(xs[0] + (h * rec_masks[0]) @ recurrent[:, cols[0]])
                rg = _sigmoid(xs[1] + (h * rec_masks[1]) @ recurrent[:, cols[1]])
                hh = np.tanh(xs[2] + (rg * (h * rec_masks[2])) @ recurrent[:, cols[2]])
            h = zg * h + (1 - zg) * hh
        expected.append(h)
    np.testing.assert_allclose(out, np.stack(expected, axis=1), rtol=1e-10)
    # no masks outside training
    plain, _ = np_rnn(kind, x, weights, units, reset_after=reset_after)
    np.testing.assert_allclose(layer(x, training=False).numpy(), plain, rtol=1e-10)


def test_lstm_with_recurrent_dropout_trains(bk):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((32, 6, 3)).astype("float32")
    y = (x[:, :, 0].sum(axis=1) > 0).astype("float32")
    model = gkeras.Sequential([gkeras.Input((6, 3)),
                               LSTM(8, dropout=0.2, recurrent_dropout=0.2),
                               layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    losses = model.fit(x, y, epochs=3, batch_size=8, verbose=0).history["loss"]
    assert losses[-1] < losses[0]
