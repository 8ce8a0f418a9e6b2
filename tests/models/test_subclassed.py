"""Subclassed models: attribute tracking, build on first call, training flag."""

import numpy as np

import gkeras as keras
from gkeras import layers


class TwoLayer(keras.Model):
    def __init__(self):
        super().__init__()
        self.hidden = layers.Dense(8, activation="relu")
        self.blocks = [layers.Dense(8), layers.Dense(8)]
        self.heads = {"main": layers.Dense(2)}

    def call(self, inputs, training=None):
        x = self.hidden(inputs)
        for block in self.blocks:
            x = block(x)
        return self.heads["main"](x)


class NoArgsInit(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.out = layers.Dense(1)

    def call(self, inputs):
        return self.out(inputs)


def test_layers_in_attributes_lists_and_dicts_are_tracked(rng):
    model = TwoLayer()
    assert len(model.layers) == 4
    model(rng.standard_normal((3, 5)).astype("float32"))
    assert len(model.trainable_weights) == 8
    assert model.count_params() == 5 * 8 + 8 + 2 * (8 * 8 + 8) + 8 * 2 + 2


def test_super_init_with_and_without_arguments():
    model = NoArgsInit(name="custom")
    assert model.name == "custom"
    assert NoArgsInit().name.startswith("no_args_init")


def test_build_with_input_shape_creates_weights():
    model = TwoLayer()
    model.build((None, 6))
    assert model.built
    assert model.layers[0].kernel.shape == (6, 8)


def test_training_flag_reaches_call(rng):
    seen = []

    class Spy(keras.Model):
        def __init__(self):
            super().__init__()
            self.d = layers.Dense(1)

        def call(self, inputs, training=None):
            seen.append(training)
            return self.d(inputs)

    model = Spy()
    model.compile(optimizer="sgd", loss="mse")
    x = rng.standard_normal((4, 2)).astype("float32")
    y = rng.standard_normal((4, 1)).astype("float32")
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    model.predict(x, verbose=0)
    assert True in seen and seen[-1] is False


def test_build_on_an_unknown_batch_records_none_not_the_placeholder_size():
    class TwoDense(keras.Model):
        def __init__(self):
            super().__init__()
            self.first, self.second = layers.Dense(4), layers.Dense(1)

        def call(self, x):
            return self.second(self.first(x))

    model = TwoDense()
    model.build((None, 3))
    assert model.first._build_input_shape == (None, 3)
    assert model.second._build_input_shape == (None, 4)
    called = TwoDense()
    called(np.ones((2, 3), "float32"))
    assert called.first._build_input_shape == (2, 3)
