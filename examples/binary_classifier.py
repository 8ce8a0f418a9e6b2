"""A functional binary classifier: Input(20) → Dense 64 → Dense 64 → sigmoid, with a
classification report on the `predict` output (scikit-learn's when installed).

Run: python examples/binary_classifier.py [--quick]
"""

import argparse

import numpy as np

import gkeras as keras


def make_data(n, rng):
    x = rng.standard_normal((n, 20)).astype("float32")
    logits = x[:, :5] @ np.array([1.5, -2.0, 1.0, 0.5, -1.0]) + 0.5 * x[:, 5] * x[:, 6]
    y = (logits + 0.3 * rng.standard_normal(n) > 0).astype("int64")
    return x, y


def report(y_true, y_pred):
    try:
        from sklearn.metrics import classification_report
    except ImportError:
        lines = ["class  precision  recall  support"]
        for cls in (0, 1):
            predicted, actual = y_pred == cls, y_true == cls
            precision = (predicted & actual).sum() / max(predicted.sum(), 1)
            recall = (predicted & actual).sum() / max(actual.sum(), 1)
            lines.append(f"{cls:>5}  {precision:9.2f}  {recall:6.2f}  {actual.sum():7d}")
        return "\n".join(lines)
    return classification_report(y_true, y_pred)


def main(quick=False):
    keras.utils.set_random_seed(3)
    rng = np.random.default_rng(3)
    x_train, y_train = make_data(1000, rng)
    x_test, y_test = make_data(200, rng)

    inputs = keras.Input(shape=(20,))
    x = keras.layers.Dense(64, activation="relu")(inputs)
    x = keras.layers.Dense(64, activation="relu")(x)
    outputs = keras.layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=3 if quick else 10, batch_size=32)

    loss, accuracy = model.evaluate(x_test, y_test)
    print(f"Test loss: {loss:.4f}, test accuracy: {accuracy:.4f}")
    predicted = (model.predict(x_test) > 0.5).astype("int64").ravel()
    print(report(y_test, predicted))
    return accuracy


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="train briefly (for CI)")
    main(parser.parse_args().quick)
