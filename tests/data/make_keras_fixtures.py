"""Writes the real-Keras fixture files in tests/data/ (run by hand; the tests only read them).

Run it under Keras 3 and under tf.keras 2 (see README.md in this folder):

    KERAS_BACKEND=jax /tmp/kenv/bin/python tests/data/make_keras_fixtures.py   # keras3_*
    /tmp/tfenv/bin/python tests/data/make_keras_fixtures.py                    # tfkeras2_*

For each model below it trains two short epochs on seeded random data (so batch-norm
statistics and optimizer state are not at their initial values), then writes:

- `<prefix>_<model>.h5`            `model.save(...)`: legacy HDF5 model file (not for
                                   the subclassed model)
- `<prefix>_<model>.weights.h5`    `model.save_weights(...)` in the `.weights.h5` layout
- `<prefix>_<model>_legacy.h5`     tf.keras 2 only: `save_weights` in the legacy layout
- `<prefix>_<model>_io.npz`        inputs `x0[, x1]` and the model's own predictions `y`

The gkeras tests rebuild the same architectures and compare predictions with `y`.
"""

import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def _keras():
    try:
        import tensorflow as tf  # tf.keras 2 when TensorFlow 2.x is installed

        if tf.__version__.startswith("2.") and not tf.keras.__name__.startswith("keras.src"):
            return tf.keras, "tfkeras2", tf.__version__
    except ImportError:
        pass
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import keras

    return keras, "keras3", keras.__version__


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
    model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(2)
    return model, [rng.random((16, 8, 8, 2), dtype=np.float32)], rng.integers(0, 3, 16)


def embedding(keras):
    layers = keras.layers
    tokens = keras.Input((5,), dtype="int32", name="tokens")
    x = layers.Embedding(20, 4, name="embed")(tokens)
    x = layers.Flatten(name="flat")(x)
    out = layers.Dense(2, name="out")(x)
    model = keras.Model(tokens, out, name="embedding")
    model.compile(optimizer="rmsprop", loss="mse")
    rng = np.random.default_rng(3)
    return model, [rng.integers(0, 20, (16, 5)).astype("int32")], rng.random((16, 2))


def shared_functional(keras):
    layers = keras.layers
    a = keras.Input((4,), name="a")
    b = keras.Input((4,), name="b")
    shared = layers.Dense(5, activation="relu", name="shared")
    added = layers.Add(name="add")([shared(a), shared(b)])
    joined = layers.Concatenate(name="concat")([added, a])
    out = layers.Dense(2, name="head")(joined)
    model = keras.Model([a, b], out, name="shared_functional")
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    rng = np.random.default_rng(4)
    x = [rng.random((16, 4), dtype=np.float32), rng.random((16, 4), dtype=np.float32)]
    return model, x, rng.random((16, 2))


def subclassed(keras):
    """A subclassed model: Keras names its `.weights.h5` groups after the attributes."""
    layers = keras.layers

    class Blocks(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.zeta = layers.Dense(6, activation="relu")
            self.blocks = [layers.Dense(5, activation="tanh"), layers.BatchNormalization()]
            self.alpha = layers.Dense(2)

        def call(self, inputs, training=None):
            x = self.zeta(inputs)
            x = self.blocks[1](self.blocks[0](x), training=training)
            return self.alpha(x)

    model = Blocks(name="blocks")
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(6)
    return model, [rng.random((16, 4), dtype=np.float32)], rng.random((16, 2))


MODELS = {"dense_bn": dense_bn, "conv_bn": conv_bn, "embedding": embedding,
          "shared_functional": shared_functional}
# weights only: HDF5 model files cannot hold subclassed models in Keras
WEIGHTS_ONLY = {"subclassed": subclassed}


def main(out_dir=HERE):
    keras, prefix, version = _keras()
    keras.utils.set_random_seed(0)
    for name, make in {**MODELS, **WEIGHTS_ONLY}.items():
        model, x, y = make(keras)
        model.fit(x if len(x) > 1 else x[0], y, epochs=2, batch_size=8, verbose=0)
        base = os.path.join(out_dir, f"{prefix}_{name}")
        if name in MODELS:
            model.save(base + ".h5")
        model.save_weights(base + ".weights.h5")
        if prefix == "tfkeras2":
            model.save_weights(base + "_legacy.h5")
        pred = model.predict(x if len(x) > 1 else x[0], verbose=0)
        np.savez(base + "_io.npz", y=pred, **{f"x{i}": xi for i, xi in enumerate(x)})
        print("wrote", base + "*")
    print(prefix, "made with version", version, file=sys.stderr)


if __name__ == "__main__":
    main(*sys.argv[1:])
