"""Whole-model and weights round trips: same predictions, same training afterwards."""

import json

import h5py
import numpy as np
import pytest
from saving_models import data, dense_model, functional_data, functional_model

import gkeras
from gkeras.models import Functional
from gkeras.saving import SavingMixin, load_model, load_weights, save_model, save_weights


def _same_weights(a, b):
    wa, wb = a.get_weights(), b.get_weights()
    return len(wa) == len(wb) and all(np.array_equal(x, y) for x, y in zip(wa, wb))


def _trained(make, xy, epochs=1):
    gkeras.utils.set_random_seed(7)
    model = make()
    model.fit(*xy, batch_size=8, epochs=epochs, shuffle=False, verbose=0)
    return model


@pytest.mark.parametrize("make, make_data", [(dense_model, data),
                                             (functional_model, functional_data)],
                         ids=["sequential", "functional"])
def test_load_model_predicts_and_trains_on_identically(tmp_path, make, make_data):
    x, y = make_data()
    original = _trained(make, (x, y))
    path = tmp_path / "model.h5"
    save_model(original, path)
    restored = load_model(path)
    assert type(restored) is type(original)
    assert [lay.name for lay in restored.layers] == [lay.name for lay in original.layers]
    assert json.dumps(restored.get_config()) == json.dumps(original.get_config())
    np.testing.assert_array_equal(restored.predict(x, verbose=0), original.predict(x, verbose=0))
    assert restored.optimizer.iterations == original.optimizer.iterations > 0
    # N more steps from the same state give bit-identical weights (NumPy is deterministic)
    for model in (original, restored):
        model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    assert _same_weights(original, restored)


@pytest.mark.parametrize("suffix", [".weights.h5", ".h5"])
def test_weights_and_optimizer_state_resume_identically(tmp_path, suffix):
    x, y = data()
    original = _trained(dense_model, (x, y))
    path = tmp_path / f"ckpt{suffix}"
    save_weights(original, path)
    resumed = dense_model()
    load_weights(resumed, path)
    assert _same_weights(original, resumed)
    if suffix == ".weights.h5":  # Keras 3's layout carries the optimizer state too
        for model in (original, resumed):
            model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
        assert _same_weights(original, resumed)


def test_without_optimizer_or_compile(tmp_path):
    x, y = data()
    original = _trained(dense_model, (x, y))
    save_model(original, tmp_path / "bare.h5", include_optimizer=False)
    with h5py.File(tmp_path / "bare.h5") as f:
        assert "training_config" not in f.attrs and "optimizer_weights" not in f
    bare = load_model(tmp_path / "bare.h5")
    assert not bare.compiled
    save_model(original, tmp_path / "full.h5")
    uncompiled = load_model(tmp_path / "full.h5", compile=False)
    assert not uncompiled.compiled
    np.testing.assert_array_equal(uncompiled.predict(x, verbose=0),
                                  original.predict(x, verbose=0))


def test_legacy_model_file_layout(tmp_path):
    x, y = data()
    model = _trained(dense_model, (x, y))
    save_model(model, tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5") as f:
        assert set(f.attrs) >= {"model_config", "training_config", "keras_version", "backend"}
        config = json.loads(f.attrs["model_config"])
        assert config["class_name"] == "Sequential"
        assert [entry["class_name"] for entry in config["config"]["layers"]] == [
            "InputLayer", "Dense", "BatchNormalization", "Dense"]
        training = json.loads(f.attrs["training_config"])
        assert training["loss"] == "sparse_categorical_crossentropy"
        assert training["metrics"] == ["accuracy"]
        assert training["optimizer_config"]["class_name"] == "Adam"
        assert training["optimizer_config"]["config"]["learning_rate"] == pytest.approx(0.01)
        group = f["model_weights"]
        names = [n.decode() for n in group.attrs["layer_names"]]
        assert names == [lay.name for lay in model.layers]
        for layer in model.layers:
            weight_names = [n.decode() for n in group[layer.name].attrs["weight_names"]]
            stored = [group[layer.name][n][()] for n in weight_names]
            expected = layer.trainable_weights + layer.non_trainable_weights
            assert len(stored) == len(expected)
            for array, weight in zip(stored, expected):
                np.testing.assert_array_equal(array, weight.numpy())
        optimizer_names = [n.decode() for n in f["optimizer_weights"].attrs["weight_names"]]
        stored = [f["optimizer_weights"][n][()] for n in optimizer_names]
        # Keras 3's order: iteration, learning rate, then the slots
        assert optimizer_names[:2] == ["adam/iteration", "adam/learning_rate"]
        assert int(stored[0]) == model.optimizer.iterations == 4
        assert float(stored[1]) == pytest.approx(0.01)
        state = model.optimizer.get_weights()
        assert len(stored) == len(state) + 1
        for array, value in zip(stored[2:], state[1:]):
            np.testing.assert_array_equal(array, value)


def test_keras3_weights_layout(tmp_path):
    model = functional_model()
    save_weights(model, tmp_path / "w.weights.h5")
    with h5py.File(tmp_path / "w.weights.h5") as f:
        assert f["vars"].attrs["name"] == "two_inputs"
        # keys come from the class names, numbered per class, in model.layers order
        expected = {"layers/input_layer": "a", "layers/input_layer_1": "b",
                    "layers/dense": "shared", "layers/concatenate": "concat",
                    "layers/sequential": "inner", "layers/dense_1": "head",
                    "layers/sequential/layers/dense": "inner_dense",
                    "layers/sequential/layers/batch_normalization": "inner_bn"}
        for path, name in expected.items():
            assert f[path + "/vars"].attrs["name"] == name
        inner_bn = model.get_layer("inner").layers[1]
        stored = f["layers/sequential/layers/batch_normalization/vars"]
        assert sorted(stored) == ["0", "1", "2", "3"]
        for key, weight in zip("0123", inner_bn.weights):  # gamma, beta, mean, variance
            np.testing.assert_array_equal(stored[key][()], weight.numpy())
        # compiled but never trained: the optimizer's group exists (as in Keras), empty
        assert f["optimizer/vars"].attrs["name"] == "adam" and len(f["optimizer/vars"]) == 0


def test_model_methods(tmp_path):
    assert issubclass(gkeras.Model, SavingMixin)
    x, y = data()
    model = _trained(dense_model, (x, y))
    model.save(tmp_path / "best_model.h5")
    model.save_weights(tmp_path / "w.weights.h5")
    model.save_weights(tmp_path / "w.h5")
    restored = gkeras.models.load_model(tmp_path / "best_model.h5")
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))
    for name in ("w.weights.h5", "w.h5"):
        fresh = dense_model()
        fresh.load_weights(tmp_path / name)
        assert _same_weights(model, fresh)


def test_nested_functional_model_round_trip(tmp_path):
    inner_in = gkeras.Input((3,), name="inner_in")
    inner = gkeras.Model(inner_in, gkeras.layers.Dense(4, name="inner_d")(inner_in), name="sub")
    outer_in = gkeras.Input((3,), name="outer_in")
    twice = inner(outer_in)
    out = gkeras.layers.Dense(1, name="top")(gkeras.layers.Concatenate()([twice, outer_in]))
    model = gkeras.Model(outer_in, out)
    config = model.get_config()
    sub_entry = next(e for e in config["layers"] if e["name"] == "sub")
    assert sub_entry["class_name"] == "Functional"
    # Keras numbers a nested functional model's first call as node 1
    top_entry = next(e for e in config["layers"] if e["class_name"] == "Concatenate")
    refs = [arg["config"]["keras_history"] for arg in top_entry["inbound_nodes"][0]["args"][0]]
    assert refs == [["sub", 1, 0], ["outer_in", 0, 0]]
    save_model(model, tmp_path / "nested.h5")
    restored = load_model(tmp_path / "nested.h5")
    assert isinstance(restored, Functional)
    x = np.random.default_rng(0).random((4, 3), dtype=np.float32)
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))


def test_round_trip_on_each_backend(tmp_path, bk):
    from gkeras.backend import backend_of

    x, y = functional_data()
    model = functional_model()
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    expected = model.predict(x, verbose=0)
    save_model(model, tmp_path / "m.h5")
    save_weights(model, tmp_path / "w.weights.h5")
    save_weights(model, tmp_path / "w.h5")
    restored = load_model(tmp_path / "m.h5")
    assert all(backend_of(w.data).name == bk.name for w in restored.weights)
    np.testing.assert_array_equal(restored.predict(x, verbose=0), expected)
    for name in ("w.weights.h5", "w.h5"):
        fresh = functional_model()
        load_weights(fresh, tmp_path / name)
        assert _same_weights(fresh, model)
