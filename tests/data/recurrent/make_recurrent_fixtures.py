"""Records real-Keras outputs of SimpleRNN / LSTM / GRU for fixed weights.

Run with Keras 3 (the fixtures were written by Keras 3.15.1 on JAX, see README.md):

    KERAS_BACKEND=jax python tests/data/recurrent/make_recurrent_fixtures.py

Writes next to this script:

- `keras3_recurrent.npz`: for each case `<case>/spec` (JSON: class name, constructor
  arguments, masked, with initial states), `<case>/x`, `<case>/mask`, `<case>/w<i>` (the layer's
  weights in `get_weights()` order), `<case>/init<i>` (initial states, when used) and
  `<case>/out<i>` (the layer's output, then its states when `return_state`);
- `keras3_recurrent_model.weights.h5` and `keras3_recurrent_model_io.npz`: a Sequential
  `Embedding(mask_zero=True) -> LSTM(return_sequences) -> GRU -> Dense` with random weights,
  saved with `save_weights`, and its predictions on padded integer sequences.
"""

import json
import os

import keras
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
BATCH, STEPS, FEATURES, UNITS = 3, 6, 4, 5

# name -> (layer class name, constructor arguments, use a mask, use initial states)
CASES = {
    "lstm_last": ("LSTM", {}, False, False),
    "lstm_seq_state": ("LSTM", {"return_sequences": True, "return_state": True}, False, False),
    "lstm_backwards": ("LSTM", {"return_sequences": True, "go_backwards": True}, False, False),
    "lstm_masked": ("LSTM", {"return_sequences": True, "return_state": True}, True, False),
    "lstm_masked_last_backwards": ("LSTM", {"go_backwards": True}, True, False),
    "lstm_initial_state": ("LSTM", {"return_state": True}, False, True),
    "lstm_relu_hard_sigmoid": ("LSTM", {"activation": "relu",
                                         "recurrent_activation": "hard_sigmoid",
                                         "return_sequences": True}, False, False),
    "gru_last": ("GRU", {}, False, False),
    "gru_seq_state": ("GRU", {"return_sequences": True, "return_state": True}, False, False),
    "gru_reset_before": ("GRU", {"reset_after": False, "return_sequences": True}, False, False),
    "gru_backwards": ("GRU", {"return_sequences": True, "go_backwards": True}, False, False),
    "gru_masked": ("GRU", {"return_sequences": True}, True, False),
    "gru_no_bias": ("GRU", {"use_bias": False, "return_sequences": True}, False, False),
    "gru_initial_state": ("GRU", {"return_sequences": True}, False, True),
    "simple_rnn_seq": ("SimpleRNN", {"return_sequences": True}, False, False),
    "simple_rnn_masked_state": ("SimpleRNN", {"return_sequences": True, "return_state": True,
                                               "go_backwards": True}, True, False),
}


def make_mask(rng):
    mask = rng.random((BATCH, STEPS)) > 0.3
    mask[0] = True  # one full sequence
    mask[1, :2] = False  # leading padding
    mask[2, -2:] = False  # trailing padding
    return mask


def record_cases(rng):
    data = {}
    for case, (class_name, kwargs, masked, with_state) in CASES.items():
        layer = getattr(keras.layers, class_name)(UNITS, **kwargs)
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
            count = 2 if class_name == "LSTM" else 1
            states = [rng.standard_normal((BATCH, UNITS)).astype("float32")
                      for _ in range(count)]
            call_kwargs["initial_state"] = states
        out = layer(x, **call_kwargs)
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        data[f"{case}/spec"] = np.array(json.dumps([class_name, kwargs, masked, with_state]))
        data[f"{case}/x"] = x
        data[f"{case}/mask"] = mask
        for i, w in enumerate(weights):
            data[f"{case}/w{i}"] = w
        for i, s in enumerate(states):
            data[f"{case}/init{i}"] = s
        for i, o in enumerate(outs):
            data[f"{case}/out{i}"] = keras.ops.convert_to_numpy(o)
        print(f"{case}: {type(out).__name__}, shapes {[tuple(o.shape) for o in outs]}")
    np.savez(os.path.join(HERE, "keras3_recurrent.npz"), **data)


def record_model(rng):
    model = keras.Sequential([
        keras.Input((STEPS,), dtype="int32"),
        keras.layers.Embedding(10, FEATURES, mask_zero=True),
        keras.layers.LSTM(UNITS, return_sequences=True),
        keras.layers.GRU(UNITS),
        keras.layers.Dense(2),
    ])
    model.set_weights([(0.5 * rng.standard_normal(w.shape)).astype("float32")
                       for w in model.get_weights()])
    ids = rng.integers(1, 10, size=(4, STEPS)).astype("int32")
    ids[1, :3] = 0  # padding at the start
    ids[2, -2:] = 0  # and at the end
    model.save_weights(os.path.join(HERE, "keras3_recurrent_model.weights.h5"))
    np.savez(os.path.join(HERE, "keras3_recurrent_model_io.npz"), x=ids,
             y=keras.ops.convert_to_numpy(model(ids)))
    print("model:", [w.path for w in model.weights])


if __name__ == "__main__":
    print("keras", keras.__version__, "backend", keras.backend.backend())
    generator = np.random.default_rng(20240611)
    record_cases(generator)
    record_model(generator)
