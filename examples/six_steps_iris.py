"""The "six steps" Sequential classifier, on the real Iris dataset shipped with gkeras.

1. import  2. data  3. model  4. compile  5. fit  6. evaluate / predict

Run: python examples/six_steps_iris.py [--quick]
"""

import argparse

import numpy as np

import gkeras as keras
from gkeras.datasets import iris


def main(quick=False):
    keras.utils.set_random_seed(7)
    (x_train, y_train), (x_test, y_test) = iris.load_data()
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std

    model = keras.Sequential([
        keras.layers.Dense(8, input_shape=(4,), activation="relu"),
        keras.layers.Dense(3, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.005),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.summary()
    model.fit(x_train, y_train, epochs=5 if quick else 50, batch_size=5,
              validation_data=(x_test, y_test))
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    predictions = model.predict(x_test[:5], verbose=0)
    print("first predictions:", np.argmax(predictions, axis=1), "true:", y_test[:5])
    print(f"test loss: {loss:.4f} - test accuracy: {accuracy:.4f}")
    return accuracy


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="train briefly (for CI)")
    main(parser.parse_args().quick)
