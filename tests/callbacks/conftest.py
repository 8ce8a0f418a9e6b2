"""Small models and data for the callback tests: every fit takes a fraction of a second."""

import numpy as np
import pytest

import gkeras as keras
from gkeras import layers


class SubclassedNet(keras.Model):
    """Two Dense layers in a subclassed model."""

    def __init__(self, units=1, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.hidden = layers.Dense(8, activation="tanh")
        self.out = layers.Dense(units, activation=activation)

    def call(self, inputs, training=None):
        return self.out(self.hidden(inputs))

    def get_config(self):
        return {"name": self.name}


def build_model(kind, input_dim=3, units=1, activation=None):
    """A small model of the given kind ('sequential', 'functional' or 'subclassed'), built."""
    if kind == "sequential":
        return keras.Sequential([layers.Dense(8, activation="tanh", input_shape=(input_dim,)),
                                 layers.Dense(units, activation=activation)])
    if kind == "functional":
        inputs = keras.Input(shape=(input_dim,))
        hidden = layers.Dense(8, activation="tanh")(inputs)
        return keras.Model(inputs, layers.Dense(units, activation=activation)(hidden))
    model = SubclassedNet(units=units, activation=activation)
    model(np.zeros((1, input_dim), "float32"))
    return model


@pytest.fixture
def regression_data(rng):
    x = rng.standard_normal((64, 3)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5]], "float32") + 0.3).astype("float32")
    return x, y


@pytest.fixture
def binary_data(rng):
    x = rng.standard_normal((96, 3)).astype("float32")
    y = (x[:, :1] + 0.5 * x[:, 1:2] > 0).astype("float32")
    return x, y


class WeightRecorder(keras.callbacks.Callback):
    """Keeps a copy of the model's weights at the end of every epoch."""

    def __init__(self):
        super().__init__()
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append([w.copy() for w in self.model.get_weights()])


@pytest.fixture
def recorder():
    return WeightRecorder()


@pytest.fixture
def make_model():
    return build_model
