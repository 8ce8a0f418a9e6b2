"""A tour of the Keras 2 `Model` API: attributes, batch methods and generator methods.

Run: python examples/model_api_tour.py [--quick]
"""

import argparse

import numpy as np

import gkeras as keras
from gkeras import layers


def batches(x, y, batch_size):
    """An endless generator of (x, y) batches, as Keras 2 programs wrote them."""
    while True:
        for start in range(0, len(x), batch_size):
            yield x[start:start + batch_size], y[start:start + batch_size]


def main(quick=False):
    keras.utils.set_random_seed(5)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((256, 10)).astype("float32")
    y = (x[:, :2].sum(axis=1, keepdims=True) > 0).astype("float32")

    inputs = keras.Input(shape=(10,), name="features")
    hidden = layers.Dense(16, activation="relu", name="hidden")(inputs)
    outputs = layers.Dense(1, activation="sigmoid", name="score")(hidden)
    model = keras.Model(inputs, outputs, name="tour")
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])

    print("layers:", [layer.name for layer in model.layers])
    print("inputs:", model.inputs)
    print("outputs:", model.outputs)
    print("hidden layer units:", model.get_layer("hidden").units)

    for _ in range(5 if quick else 50):
        loss, accuracy = model.train_on_batch(x[:64], y[:64])
    print(f"train_on_batch: loss={loss:.4f} accuracy={accuracy:.4f}")
    print("test_on_batch:", model.test_on_batch(x[64:128], y[64:128]))
    print("predict_on_batch shape:", model.predict_on_batch(x[:8]).shape)

    steps = len(x) // 32
    model.fit_generator(batches(x, y, 32), steps_per_epoch=steps, epochs=2 if quick else 5,
                        verbose=2)
    print("evaluate_generator:", model.evaluate_generator(batches(x, y, 32), steps=steps))
    predictions = model.predict_generator(batches(x, y, 32), steps=2)
    print("predict_generator shape:", predictions.shape)
    return predictions


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="run briefly (for CI)")
    main(parser.parse_args().quick)
