"""Models and helpers shared by the saving tests (importable by subprocesses too)."""

import importlib.util
import os

import numpy as np

import gkeras
from gkeras import layers

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data")


def fixture_module():
    """tests/data/make_keras_fixtures.py: the fixture architectures, written once for Keras
    and gkeras alike (each builder takes the framework module)."""
    spec = importlib.util.spec_from_file_location(
        "make_keras_fixtures", os.path.join(DATA, "make_keras_fixtures.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fixture_builders():
    """The functional / Sequential fixture models by name."""
    return fixture_module().MODELS


def dense_model(units=(16, 8), name=None):
    """A small compiled Sequential model with batch normalisation."""
    model = gkeras.Sequential([gkeras.Input((6,))] + [
        layers.Dense(u, activation="relu") for u in units[:-1]] + [
        layers.BatchNormalization(), layers.Dense(units[-1], activation="softmax")], name=name)
    model.compile(optimizer=gkeras.optimizers.Adam(0.01),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def functional_model():
    """Two inputs, a shared layer, a nested Sequential, BN: the graph features that matter."""
    a = gkeras.Input((4,), name="a")
    b = gkeras.Input((4,), name="b")
    shared = layers.Dense(5, activation="relu", name="shared")
    inner = gkeras.Sequential([layers.Dense(6, activation="tanh", name="inner_dense"),
                               layers.BatchNormalization(name="inner_bn")], name="inner")
    joined = layers.Concatenate(name="concat")([shared(a), shared(b)])
    out = layers.Dense(3, name="head")(inner(joined))
    model = gkeras.Model([a, b], out, name="two_inputs")
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    return model


def data(seed=0, n=32):
    rng = np.random.default_rng(seed)
    return rng.random((n, 6), dtype=np.float32), rng.integers(0, 8, n)


def functional_data(seed=0, n=32):
    rng = np.random.default_rng(seed)
    x = [rng.random((n, 4), dtype=np.float32), rng.random((n, 4), dtype=np.float32)]
    return x, rng.random((n, 3)).astype("float32")


def version_weights(model, version):
    """Deterministic weights that identify `version` (used by the crash tests)."""
    rng = np.random.default_rng(version)
    return [rng.standard_normal(w.shape).astype(w.dtype) + version for w in model.weights]


def which_version(model, candidates):
    """The version among `candidates` whose weights `model` holds exactly, else `None`."""
    current = model.get_weights()
    for version in candidates:
        expected = version_weights(model, version)
        if all(np.array_equal(c, e) for c, e in zip(current, expected)):
            return version
    return None


class ConvNet(gkeras.Model):
    """A subclassed model whose `__init__` needs no arguments (importable: module-level)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.conv = layers.Conv2D(3, (3, 3), activation="relu")
        self.flatten = layers.Flatten()
        self.hidden = layers.Dense(8, activation="relu")
        self.logits = layers.Dense(4)

    def call(self, inputs, training=None):
        return self.logits(self.hidden(self.flatten(self.conv(inputs))))


class WidthNet(gkeras.Model):
    """A subclassed model with a required argument, recreated through `get_config`."""

    def __init__(self, width, **kwargs):
        super().__init__(**kwargs)
        self.width = width
        self.hidden = layers.Dense(width, activation="relu")
        self.out = layers.Dense(2)

    def call(self, inputs):
        return self.out(self.hidden(inputs))

    def get_config(self):
        return {"width": self.width, "name": self.name}


class NoConfigNet(gkeras.Model):
    """Needs an argument and has no `get_config`: only its weights can be reloaded."""

    def __init__(self, width):
        super().__init__()
        self.hidden = layers.Dense(width)

    def call(self, inputs):
        return self.hidden(inputs)
