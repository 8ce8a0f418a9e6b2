"""Quality bars on real MNIST (slow): the numbers Keras users expect from these models."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

import gkeras as keras
from gkeras import layers

pytestmark = pytest.mark.slow


def mnist():
    root = os.environ.get("GKERAS_DATASETS", "")
    if not os.path.isdir(os.path.join(root, "mnist")):
        pytest.skip(f"MNIST files not found under GKERAS_DATASETS={root!r}")
    return keras.datasets.mnist.load_data()


KERAS_MLP = Path(__file__).parents[1] / "data" / "keras_mnist_mlp_accuracy.json"
MLP_SEEDS = (0, 1, 2)


def mnist_mlp_accuracy(data, seed):
    """Test accuracy of 784-512-512-10 (relu, softmax), Adam, batch 128, after 2 epochs."""
    (x_train, y_train), (x_test, y_test) = data
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        layers.Dense(512, activation="relu", input_shape=(784,)),
        layers.Dense(512, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=128, epochs=2, verbose=0)
    return model.evaluate(x_test, y_test, verbose=0)[1]


def test_mnist_mlp_is_as_accurate_as_keras_after_two_epochs():
    """The issue's 97.5 % after 2 epochs sits at the median of Keras's own results.

    Real Keras 3.15.1 (JAX backend) on this exact protocol, seeds 0-5, scored between 0.9695
    and 0.9762 (`tests/data/keras_mnist_mlp_accuracy.json`, recorded by
    `benchmarks/keras_parity/mnist_mlp_seeds.py`), so a single run is a draw from that spread.
    The test holds gkeras to Keras on the same seeds: the mean over them at least Keras's
    mean, and no run below Keras's worst.
    """
    (x_train, y_train), (x_test, y_test) = mnist()
    data = ((x_train.reshape(-1, 784).astype("float32") / 255.0, y_train),
            (x_test.reshape(-1, 784).astype("float32") / 255.0, y_test))
    reference = json.loads(KERAS_MLP.read_text())["test_accuracy_by_seed"]
    keras_runs = [reference[str(seed)] for seed in MLP_SEEDS]
    ours = [mnist_mlp_accuracy(data, seed) for seed in MLP_SEEDS]
    assert min(ours) >= min(reference.values()), (ours, reference)
    assert np.mean(ours) >= np.mean(keras_runs), (ours, keras_runs)


class ConvNet(keras.Model):
    def __init__(self):
        super().__init__()
        self.conv = layers.Conv2D(32, (3, 3), activation="relu")
        self.flatten = layers.Flatten()
        self.hidden = layers.Dense(128, activation="relu")
        self.logits = layers.Dense(10)

    def call(self, inputs, training=None):
        return self.logits(self.hidden(self.flatten(self.conv(inputs))))


def test_subclassed_convnet_reaches_98_percent_in_one_epoch():
    (x_train, y_train), (x_test, y_test) = mnist()
    keras.utils.set_random_seed(0)
    x_train = x_train[..., None].astype("float32") / 255.0
    x_test = x_test[..., None].astype("float32") / 255.0
    model = ConvNet()
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=1, batch_size=32, verbose=0)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert accuracy >= 0.98
