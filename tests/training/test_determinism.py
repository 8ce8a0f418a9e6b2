"""set_random_seed makes runs bit-identical on the NumPy backend."""

import numpy as np

import gkeras as keras
from gkeras import layers


def run_once():
    keras.utils.set_random_seed(42)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 5)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    model = keras.Sequential([layers.Dense(8, input_shape=(5,), activation="relu"),
                              layers.Dropout(0.3) if hasattr(layers, "Dropout")
                              else layers.Activation("linear"),
                              layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    return model.get_weights(), history.history


def test_two_seeded_runs_are_bit_identical():
    w1, h1 = run_once()
    w2, h2 = run_once()
    for a, b in zip(w1, w2):
        np.testing.assert_array_equal(a, b)
    assert h1 == h2
