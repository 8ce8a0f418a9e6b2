"""A functional model with two named sigmoid heads, dict losses and `metrics=['accuracy']`.

Both targets depend on the inputs (a learnable signal), so accuracy climbs well above chance.

Run: python examples/multi_output_functional.py [--quick]
"""

import argparse

import numpy as np

import gkeras as keras
from gkeras import layers


def make_data(n, rng):
    x = rng.standard_normal((n, 32)).astype("float32")
    y1 = (x[:, :8].sum(axis=1) > 0).astype("float32")
    y2 = (x[:, 8:16].sum(axis=1) - 0.5 * x[:, 0] > 0).astype("float32")
    return x, y1, y2


def main(quick=False):
    keras.utils.set_random_seed(1)
    rng = np.random.default_rng(1)
    x, y1, y2 = make_data(2048 if quick else 8192, rng)

    inputs = keras.Input(shape=(32,))
    hidden = layers.Dense(64, activation="relu")(inputs)
    hidden = layers.Dense(64, activation="relu")(hidden)
    output_1 = layers.Dense(1, activation="sigmoid", name="output_1")(hidden)
    output_2 = layers.Dense(1, activation="sigmoid", name="output_2")(hidden)
    model = keras.Model(inputs=inputs, outputs=[output_1, output_2])

    model.compile(optimizer="adam",
                  loss={"output_1": "binary_crossentropy", "output_2": "binary_crossentropy"},
                  metrics=["accuracy"])
    model.summary()
    history = model.fit(x, {"output_1": y1, "output_2": y2}, epochs=3 if quick else 10,
                        batch_size=32, validation_split=0.2)
    print("history keys:", sorted(history.history))
    results = model.evaluate(x, [y1, y2], verbose=0)
    for name, value in zip(model.metrics_names, results):
        print(f"{name}: {value:.4f}")
    return dict(zip(model.metrics_names, results))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="train briefly (for CI)")
    main(parser.parse_args().quick)
