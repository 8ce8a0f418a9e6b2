"""Writes the real-Keras `.keras` fixtures in this folder (run by hand; tests only read them).

    KERAS_BACKEND=jax /tmp/peers/bin/python tests/data/keras_archive/make_keras_archive_fixtures.py

For each model below it trains two short epochs on seeded random data (so batch-norm
statistics and optimizer state are not at their initial values), then writes:

- `keras3_<model>.keras`   `model.save(...)`: Keras 3's zip archive
- `keras3_<model>_io.npz`  inputs `x0[, x1]`, the model's predictions `y`, one more training
                           batch (`xt0[, xt1]`, `yt`) and the predictions `y_next` after one
                           `train_on_batch` on it (checks that the optimizer state came back)

The builders take the framework module, so the gkeras tests build the same architectures.
"""

import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def dense_bn(keras):
    layers = keras.layers
    model = keras.Sequential([
        keras.Input((6,)),
        layers.Dense(8, activation="relu", name="hidden"),
        layers.BatchNormalization(name="bn"),
        layers.Dense(3, activation="softmax", name="probs"),
    ], name="dense_bn")
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    rng = np.random.default_rng(1)
    return model, [rng.random((32, 6), dtype=np.float32)], rng.integers(0, 3, 32)


def functional(keras):
    layers = keras.layers
    a = keras.Input((4,), name="a")
    b = keras.Input((4,), name="b")
    shared = layers.Dense(5, activation="relu", name="shared")
    added = layers.Add(name="add")([shared(a), shared(b)])
    joined = layers.Concatenate(name="concat")([added, a])
    out = layers.Dense(2, name="head")(joined)
    model = keras.Model([a, b], out, name="functional")
    model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9), loss="mse",
                  metrics=["mae"])
    rng = np.random.default_rng(4)
    x = [rng.random((16, 4), dtype=np.float32), rng.random((16, 4), dtype=np.float32)]
    return model, x, rng.random((16, 2)).astype("float32")


def conv_bn(keras):
    layers = keras.layers
    model = keras.Sequential([
        keras.Input((8, 8, 2)),
        layers.Conv2D(4, 3, padding="same", activation="relu", name="conv"),
        layers.BatchNormalization(name="bn"),
        layers.MaxPooling2D(name="pool"),
        layers.Flatten(name="flat"),
        layers.Dense(3, name="logits"),
    ], name="conv_bn")
    model.compile(optimizer=keras.optimizers.RMSprop(0.01),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(2)
    return model, [rng.random((16, 8, 8, 2), dtype=np.float32)], rng.integers(0, 3, 16)


def embed_lstm(keras):
    layers = keras.layers
    tokens = keras.Input((5,), dtype="int32", name="tokens")
    x = layers.Embedding(20, 4, name="embed")(tokens)
    x = layers.LSTM(6, name="lstm")(x)
    out = layers.Dense(2, name="out")(x)
    model = keras.Model(tokens, out, name="embed_lstm")
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    rng = np.random.default_rng(3)
    return model, [rng.integers(0, 20, (16, 5)).astype("int32")], rng.random((16, 2))


def blocks_class(keras):
    """A registered subclassed model; gkeras's test registers a class under the same name."""

    @keras.saving.register_keras_serializable(package="archive_tests", name="Blocks")
    class Blocks(keras.Model):
        def __init__(self, width=5, **kwargs):
            super().__init__(**kwargs)
            self.width = width
            self.hidden = keras.layers.Dense(width, activation="tanh")
            self.norm = keras.layers.BatchNormalization()
            self.head = keras.layers.Dense(2)

        def call(self, inputs, training=None):
            return self.head(self.norm(self.hidden(inputs), training=training))

        def get_config(self):
            return {**super().get_config(), "width": self.width}

    return Blocks


def subclassed(keras):
    model = blocks_class(keras)(width=5, name="blocks")
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    rng = np.random.default_rng(6)
    return model, [rng.random((16, 4), dtype=np.float32)], rng.random((16, 2))


MODELS = {"dense_bn": dense_bn, "functional": functional, "conv_bn": conv_bn,
          "embed_lstm": embed_lstm, "subclassed": subclassed}


def _one(x):
    return x if len(x) > 1 else x[0]


def main(out_dir=HERE):
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras

    keras.utils.set_random_seed(0)
    for name, make in MODELS.items():
        model, x, y = make(keras)
        model.fit(_one(x), y, epochs=2, batch_size=8, verbose=0)
        base = os.path.join(out_dir, f"keras3_{name}")
        model.save(base + ".keras")
        pred = model.predict(_one(x), verbose=0)
        # one more step from the saved state: a loader that restores the optimizer state
        # reaches the same weights
        xt, yt = [xi[:8] for xi in x], y[8:16]
        model.train_on_batch(_one(xt), yt)
        y_next = model.predict(_one(x), verbose=0)
        np.savez(base + "_io.npz", y=pred, y_next=y_next, yt=yt,
                 **{f"x{i}": xi for i, xi in enumerate(x)},
                 **{f"xt{i}": xi for i, xi in enumerate(xt)})
        print("wrote", base + "*")
    print("made with Keras", keras.__version__, "backend", keras.backend.backend(),
          file=sys.stderr)


if __name__ == "__main__":
    main(*sys.argv[1:])
