"""Runners for the Keras-API frameworks: gkeras itself and Keras 3 (on JAX).

Both build the very same model with the very same code, as a Keras user writes it
(`Sequential` / functional API, `compile`, `fit`, `predict`), so any difference in the table
is the framework's.
"""

from workloads import HEADS


def build_model(keras, workload):
    """The workload's model, compiled with Adam(1e-3) and accuracy."""
    layers = keras.layers
    kind = workload.kind
    adam = keras.optimizers.Adam(learning_rate=1e-3)
    if kind == "multi_output":
        inputs = keras.Input((32,))
        h = layers.Dense(64, activation="relu")(inputs)
        h = layers.Dense(64, activation="relu")(h)
        outputs = {name: layers.Dense(1, activation="sigmoid", name=name)(h) for name in HEADS}
        model = keras.Model(inputs, outputs)
        model.compile(optimizer=adam,
                      loss={name: "binary_crossentropy" for name in HEADS},
                      metrics={name: ["accuracy"] for name in HEADS})
        return model
    if kind == "mlp_binary":
        stack = [keras.Input((20,)), layers.Dense(64, activation="relu"),
                 layers.Dense(64, activation="relu"), layers.Dense(1, activation="sigmoid")]
        loss = "binary_crossentropy"
    elif kind == "mlp_softmax":
        stack = [keras.Input((784,)), layers.Dense(512, activation="relu"),
                 layers.Dense(512, activation="relu"), layers.Dense(10, activation="softmax")]
        loss = "sparse_categorical_crossentropy"
    elif kind == "conv_small":
        stack = [keras.Input((28, 28, 1)), layers.Conv2D(32, 3, activation="relu"),
                 layers.Flatten(), layers.Dense(128, activation="relu"), layers.Dense(10)]
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    elif kind == "conv_mnist":
        stack = [keras.Input((28, 28, 1)), layers.Conv2D(32, 3, activation="relu"),
                 layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
                 layers.Flatten(), layers.Dense(128, activation="relu"),
                 layers.Dense(10, activation="softmax")]
        loss = "sparse_categorical_crossentropy"
    else:
        raise ValueError(f"Unknown workload kind {kind!r}.")
    model = keras.Sequential(stack)
    model.compile(optimizer=adam, loss=loss, metrics=["accuracy"])
    return model


class Runner:
    """The runner interface of `child.py` for a Keras-API module (`gkeras` or `keras`)."""

    def __init__(self, keras, workload, seed=0):
        self.keras = keras
        self.workload = workload
        keras.utils.set_random_seed(seed)
        self.model = build_model(keras, workload)

    def fit(self, x, y, epochs, on_epoch_end=None):
        callbacks = []
        if on_epoch_end is not None:
            base = self.keras.callbacks.Callback

            class EpochEnd(base):
                def on_epoch_end(self, epoch, logs=None):
                    on_epoch_end(epoch)

            callbacks.append(EpochEnd())
        history = self.model.fit(x, y, batch_size=self.workload.batch_size, epochs=epochs,
                                 verbose=0, shuffle=True, callbacks=callbacks)
        return float(history.history["loss"][-1])

    def predict(self, x):
        return self.model.predict(x, batch_size=self.workload.batch_size, verbose=0)


def gkeras_runner(workload, seed=0):
    import gkeras

    runner = Runner(gkeras, workload, seed)
    runner.name = "gkeras"
    return runner


def keras_runner(workload, seed=0):
    import keras

    runner = Runner(keras, workload, seed)
    runner.name = f"keras-{keras.backend.backend()}"
    return runner
