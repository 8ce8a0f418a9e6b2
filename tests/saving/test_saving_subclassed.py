"""Subclassed models: saved by class reference + config, rebuilt, built and weighted."""

import json

import h5py
import numpy as np
import pytest
from saving_models import ConvNet, NoConfigNet, WidthNet

import gkeras
from gkeras import layers
from gkeras.saving import load_model, register_keras_serializable, save_model


def _images(n=8, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 6, 6, 1), dtype=np.float32), rng.integers(0, 4, n)


def _trained_convnet():
    gkeras.utils.set_random_seed(3)
    model = ConvNet()
    model.compile(optimizer="adam",
                  loss=gkeras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    x, y = _images()
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    return model, x, y


@pytest.mark.parametrize("custom_objects", [None, {"ConvNet": ConvNet}],
                         ids=["importable", "custom_objects"])
def test_best_model_round_trip(tmp_path, custom_objects):
    model, x, y = _trained_convnet()
    path = tmp_path / "best_model.h5"
    save_model(model, path)
    with h5py.File(path) as f:
        config = json.loads(f.attrs["model_config"])
    assert config["class_name"] == "ConvNet"
    assert config["module"] == ConvNet.__module__ and config["qualname"] == "ConvNet"
    assert config["build_config"]["input_shape"] == [4, 6, 6, 1]
    restored = load_model(path, custom_objects=custom_objects)
    assert type(restored) is ConvNet and restored.name == model.name
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))
    for m in (model, restored):
        m.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), restored.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_class_with_get_config_and_required_arguments(tmp_path):
    model = WidthNet(7, name="wide")
    x = np.random.default_rng(1).random((3, 5), dtype=np.float32)
    model(x)
    save_model(model, tmp_path / "w.h5")
    restored = load_model(tmp_path / "w.h5")
    assert restored.width == 7 and restored.name == "wide"
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))


def test_class_needing_arguments_without_get_config_explains_how_to_load(tmp_path):
    model = NoConfigNet(3)
    x = np.ones((2, 4), "float32")
    model(x)
    path = tmp_path / "n.h5"
    save_model(model, path)
    with pytest.raises(ValueError, match=r"requires argument\(s\) \['width'\].*load_weights"):
        load_model(path)
    fresh = NoConfigNet(3)
    fresh(x)
    fresh.load_weights(path)  # the documented way out works on the same file
    np.testing.assert_array_equal(fresh.predict(x, verbose=0), model.predict(x, verbose=0))


def test_unimportable_class_needs_custom_objects(tmp_path):
    class LocalNet(gkeras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = layers.Dense(2)

        def call(self, inputs):
            return self.dense(inputs)

    model = LocalNet()
    x = np.ones((2, 3), "float32")
    model(x)
    save_model(model, tmp_path / "local.h5")
    with pytest.raises(ValueError, match=r"custom_objects=\{'LocalNet': LocalNet\}"):
        load_model(tmp_path / "local.h5")
    restored = load_model(tmp_path / "local.h5", custom_objects={"LocalNet": LocalNet})
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))


def test_registered_class_loads_without_custom_objects(tmp_path):
    @register_keras_serializable(package="saving_tests")
    class RegisteredNet(gkeras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = layers.Dense(3)

        def call(self, inputs):
            return self.dense(inputs)

    model = RegisteredNet()
    x = np.ones((2, 4), "float32")
    model(x)
    save_model(model, tmp_path / "r.h5")
    with h5py.File(tmp_path / "r.h5") as f:
        assert json.loads(f.attrs["model_config"])["class_name"] == "saving_tests>RegisteredNet"
    restored = load_model(tmp_path / "r.h5")
    assert type(restored) is RegisteredNet
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))
