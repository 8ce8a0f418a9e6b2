"""Records real-Keras outputs of Bidirectional / TimeDistributed / RNN(cell) for fixed weights.

Run with Keras 3 (the fixtures were written by Keras 3.15.1 on JAX, see README.md):

    KERAS_BACKEND=jax python tests/data/wrappers/make_wrappers_fixtures.py

Writes next to this script:

- `keras3_wrappers.npz`: for each case `<case>/spec` (JSON: wrapper class, inner class,
  inner constructor arguments, wrapper arguments, masked, with initial states), `<case>/x`,
  `<case>/mask`, `<case>/w<i>` (the wrapper's weights in `get_weights()` order),
  `<case>/init<i>` (initial states, when used), `<case>/out<i>` (the outputs, in order) and
  `<case>/paths` (JSON: the weights' paths);
- `keras3_bidirectional_model.weights.h5`, `keras3_bidirectional_model.h5` and
  `keras3_bidirectional_model_io.npz`: a functional `Embedding(mask_zero=True) ->
  Bidirectional(LSTM, return_sequences) -> TimeDistributed(Dense) -> Bidirectional(GRU,
  sum) -> Dense` with random weights, saved with `save_weights` and `save` (legacy HDF5),
  and its predictions on padded integer sequences.
"""

import json
import os

import keras
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
BATCH, STEPS, FEATURES, UNITS = 3, 5, 4, 3

# name -> (wrapper, inner class, inner kwargs, wrapper kwargs, masked, with initial states)
CASES = {
    "bi_lstm_concat_seq": ("Bidirectional", "LSTM", {"return_sequences": True}, {}, False,
                           False),
    "bi_lstm_concat_seq_masked": ("Bidirectional", "LSTM", {"return_sequences": True}, {},
                                  True, False),
    "bi_lstm_last_masked": ("Bidirectional", "LSTM", {}, {"merge_mode": "mul"}, True, False),
    "bi_lstm_none_state": ("Bidirectional", "LSTM", {"return_state": True},
                           {"merge_mode": None}, False, False),
    "bi_lstm_initial_state": ("Bidirectional", "LSTM",
                              {"return_sequences": True, "return_state": True}, {}, False,
                              True),
    "bi_gru_sum_seq_state": ("Bidirectional", "GRU",
                             {"return_sequences": True, "return_state": True},
                             {"merge_mode": "sum"}, False, False),
    "bi_gru_ave_masked": ("Bidirectional", "GRU", {"return_sequences": True},
                          {"merge_mode": "ave"}, True, False),
    "bi_simple_rnn_mul_seq": ("Bidirectional", "SimpleRNN", {"return_sequences": True},
                              {"merge_mode": "mul"}, False, False),
    "td_dense": ("TimeDistributed", "Dense", {"units": 2, "activation": "tanh"}, {}, False,
                 False),
    "td_dense_masked": ("TimeDistributed", "Dense", {"units": 2}, {}, True, False),
    "rnn_lstm_cell_seq_state": ("RNN", "LSTMCell", {},
                                {"return_sequences": True, "return_state": True}, False,
                                False),
    "rnn_gru_cell_backwards_masked": ("RNN", "GRUCell", {},
                                      {"return_sequences": True, "go_backwards": True}, True,
                                      False),
    "rnn_simple_cell_last": ("RNN", "SimpleRNNCell", {}, {}, False, False),
}


def make_mask(rng):
    mask = rng.random((BATCH, STEPS)) > 0.3
    mask[0] = True  # one full sequence
    mask[1, :2] = False  # leading padding
    mask[2, -2:] = False  # trailing padding
    return mask


def make_layer(wrapper, inner, inner_kwargs, wrapper_kwargs):
    if wrapper == "RNN":
        return keras.layers.RNN(getattr(keras.layers, inner)(UNITS, **inner_kwargs),
                                **wrapper_kwargs)
    if inner == "Dense":
        return keras.layers.TimeDistributed(keras.layers.Dense(**inner_kwargs))
    layer = getattr(keras.layers, inner)(UNITS, **inner_kwargs)
    return getattr(keras.layers, wrapper)(layer, **wrapper_kwargs)


def record_cases(rng):
    data = {}
    for case, (wrapper, inner, inner_kwargs, wrapper_kwargs, masked, with_state) in (
            CASES.items()):
        layer = make_layer(wrapper, inner, inner_kwargs, wrapper_kwargs)
        x = rng.standard_normal((BATCH, STEPS, FEATURES)).astype("float32")
        layer.build((BATCH, STEPS, FEATURES))
        weights = [(0.6 * rng.standard_normal(w.shape)).astype("float32")
                   for w in layer.get_weights()]
        layer.set_weights(weights)
        call_kwargs = {}
        mask = make_mask(rng) if masked else np.ones((BATCH, STEPS), bool)
        if masked:
            call_kwargs["mask"] = mask
        states = []
        if with_state:
            count = 4 if inner == "LSTM" else 2
            states = [rng.standard_normal((BATCH, UNITS)).astype("float32")
                      for _ in range(count)]
            call_kwargs["initial_state"] = states
        out = layer(x, **call_kwargs)
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        spec = [wrapper, inner, inner_kwargs, wrapper_kwargs, masked, with_state]
        data[f"{case}/spec"] = np.array(json.dumps(spec))
        data[f"{case}/paths"] = np.array(json.dumps([w.path for w in layer.weights]))
        data[f"{case}/x"] = x
        data[f"{case}/mask"] = mask
        for i, w in enumerate(weights):
            data[f"{case}/w{i}"] = w
        for i, s in enumerate(states):
            data[f"{case}/init{i}"] = s
        for i, o in enumerate(outs):
            data[f"{case}/out{i}"] = keras.ops.convert_to_numpy(o)
        print(f"{case}: {type(out).__name__}, shapes {[tuple(o.shape) for o in outs]}")
    np.savez(os.path.join(HERE, "keras3_wrappers.npz"), **data)


def record_model(rng):
    ids_in = keras.Input((STEPS,), dtype="int32")
    x = keras.layers.Embedding(10, FEATURES, mask_zero=True)(ids_in)
    x = keras.layers.Bidirectional(keras.layers.LSTM(UNITS, return_sequences=True))(x)
    x = keras.layers.TimeDistributed(keras.layers.Dense(4))(x)
    x = keras.layers.Bidirectional(keras.layers.GRU(UNITS), merge_mode="sum")(x)
    model = keras.Model(ids_in, keras.layers.Dense(2)(x))
    model.set_weights([(0.5 * rng.standard_normal(w.shape)).astype("float32")
                       for w in model.get_weights()])
    ids = rng.integers(1, 10, size=(4, STEPS)).astype("int32")
    ids[1, :2] = 0  # padding at the start
    ids[2, -2:] = 0  # and at the end
    model.save_weights(os.path.join(HERE, "keras3_bidirectional_model.weights.h5"))
    model.save(os.path.join(HERE, "keras3_bidirectional_model.h5"))
    np.savez(os.path.join(HERE, "keras3_bidirectional_model_io.npz"), x=ids,
             y=keras.ops.convert_to_numpy(model(ids)))
    print("model:", [w.path for w in model.weights])


if __name__ == "__main__":
    print("keras", keras.__version__, "backend", keras.backend.backend())
    generator = np.random.default_rng(20240612)
    record_cases(generator)
    record_model(generator)
