"""Files written by real Keras (tests/data, see its README) load into gkeras and predict the
same; gkeras writes the same layouts Keras writes."""

import glob
import json
import os

import h5py
import numpy as np
import pytest
from saving_models import DATA, fixture_module

import gkeras
from gkeras.models.graph_config import functional_config
from gkeras.saving import load_model, load_weights, save_model, save_weights

FIXTURES = fixture_module()
BUILDERS = FIXTURES.MODELS
PREFIXES = ["keras3", "tfkeras2"]
CASES = [(prefix, name) for prefix in PREFIXES for name in BUILDERS]
ATOL = 2e-6  # float32 rounding of a few dot products


def _path(prefix, name, suffix):
    return os.path.join(DATA, f"{prefix}_{name}{suffix}")


def _io(prefix, name):
    io = np.load(_path(prefix, name, "_io.npz"))
    x = [io[k] for k in sorted(io.files) if k.startswith("x")]
    return (x if len(x) > 1 else x[0]), io["y"]


def test_fixtures_are_present():
    found = sorted(os.path.basename(p) for p in glob.glob(os.path.join(DATA, "*.h5")))
    for prefix, name in CASES:
        assert f"{prefix}_{name}.h5" in found and f"{prefix}_{name}.weights.h5" in found
    for prefix in PREFIXES:
        assert f"{prefix}_subclassed.weights.h5" in found


@pytest.mark.parametrize("prefix, name", CASES)
def test_load_keras_model_file(prefix, name):
    x, y = _io(prefix, name)
    path = _path(prefix, name, ".h5")
    with h5py.File(path) as f:
        saved = json.loads(f.attrs["model_config"])
        iterations = int(np.asarray(f["optimizer_weights"][
            f["optimizer_weights"].attrs["weight_names"][0]]))
    model = load_model(path, compile=False)
    assert not model.compiled
    assert type(model).__name__ == saved["class_name"]
    saved_layers = [entry["config"]["name"] for entry in saved["config"]["layers"]]
    ours = [lay.name for lay in model.layers]
    assert ours == [n for n in saved_layers if n in ours] and set(saved_layers) >= set(ours)
    np.testing.assert_allclose(model.predict(x, verbose=0), y, rtol=0, atol=ATOL)

    compiled = load_model(path)  # compile=True: training config and optimizer state
    assert compiled.compiled
    assert compiled.optimizer.iterations == iterations > 0
    np.testing.assert_allclose(compiled.predict(x, verbose=0), y, rtol=0, atol=ATOL)


@pytest.mark.parametrize("prefix, name", CASES)
def test_load_keras_weights_into_gkeras_model(prefix, name):
    x, y = _io(prefix, name)
    suffixes = [".weights.h5"] + (["_legacy.h5"] if prefix == "tfkeras2" else [])
    for suffix in suffixes:
        model, _, _ = BUILDERS[name](gkeras)  # the same code that built the Keras model
        before = model.predict(x, verbose=0)
        assert np.abs(before - y).max() > 1e-3  # fresh weights really differ
        if suffix == ".weights.h5":
            # Keras's optimizer state there has no names to check its slot order by
            with pytest.warns(UserWarning, match="Not restoring the optimizer state"):
                load_weights(model, _path(prefix, name, suffix))
        else:
            load_weights(model, _path(prefix, name, suffix))
        np.testing.assert_allclose(model.predict(x, verbose=0), y, rtol=0, atol=ATOL,
                                   err_msg=suffix)
    # the full model file also serves as a (legacy) weights file, by order and by name
    for by_name in (False, True):
        model, _, _ = BUILDERS[name](gkeras)
        load_weights(model, _path(prefix, name, ".h5"), by_name=by_name)
        np.testing.assert_allclose(model.predict(x, verbose=0), y, rtol=0, atol=ATOL)


def _structure(path):
    """`{dataset path: shape}` of a `.weights.h5` file, optimizer state left out."""
    out = {}
    with h5py.File(path) as f:
        f.visititems(lambda key, obj: out.__setitem__(key, obj.shape)
                     if isinstance(obj, h5py.Dataset) and not key.startswith("optimizer")
                     else None)
    return out


@pytest.mark.parametrize("name", list(BUILDERS))
def test_gkeras_weights_file_has_keras3_structure(tmp_path, name):
    model, _, _ = BUILDERS[name](gkeras)
    save_weights(model, tmp_path / "w.weights.h5")
    assert _structure(tmp_path / "w.weights.h5") == _structure(
        _path("keras3", name, ".weights.h5"))


@pytest.mark.parametrize("name", list(BUILDERS))
def test_gkeras_legacy_file_has_keras_structure(tmp_path, name):
    model, _, _ = BUILDERS[name](gkeras)
    save_model(model, tmp_path / "m.h5")

    def layers_and_shapes(path):
        with h5py.File(path) as f:
            group = f["model_weights"]
            names = [n.decode() if isinstance(n, bytes) else n for n in group.attrs["layer_names"]]
            return [(n, [group[n][w].shape for w in group[n].attrs["weight_names"]])
                    for n in names]

    assert layers_and_shapes(tmp_path / "m.h5") == layers_and_shapes(
        _path("keras3", name, ".h5"))


@pytest.mark.parametrize("name", ["embedding", "shared_functional"])
def test_functional_config_matches_keras3(name):
    """Our functional config has Keras 3's graph: same layers, nodes and tensor references."""
    model, _, _ = BUILDERS[name](gkeras)
    ours = json.loads(json.dumps(functional_config(model)))
    with h5py.File(_path("keras3", name, ".h5")) as f:
        theirs = json.loads(f.attrs["model_config"])["config"]
    for key in ("input_layers", "output_layers"):
        assert ours[key] == theirs[key]
    assert [e["name"] for e in ours["layers"]] == [e["name"] for e in theirs["layers"]]
    assert [e["class_name"] for e in ours["layers"]] == [e["class_name"] for e in theirs["layers"]]
    for mine, keras in zip(ours["layers"], theirs["layers"]):
        assert mine["inbound_nodes"] == keras["inbound_nodes"], mine["name"]


@pytest.mark.parametrize("prefix, suffix", [("keras3", ".weights.h5"),
                                            ("tfkeras2", ".weights.h5"),
                                            ("tfkeras2", "_legacy.h5")])
def test_load_keras_weights_into_subclassed_model(prefix, suffix):
    # Keras 3 and tf.keras 2 walk a subclassed model's attributes in different orders
    x, y = _io(prefix, "subclassed")
    model, _, _ = FIXTURES.subclassed(gkeras)
    model(x[:1])
    assert np.abs(model.predict(x, verbose=0) - y).max() > 1e-3
    if suffix == ".weights.h5":
        with pytest.warns(UserWarning, match="Not restoring the optimizer state"):
            load_weights(model, _path(prefix, "subclassed", suffix))
    else:
        load_weights(model, _path(prefix, "subclassed", suffix))
    np.testing.assert_allclose(model.predict(x, verbose=0), y, rtol=0, atol=ATOL)


def test_gkeras_subclassed_weights_file_has_keras3_structure(tmp_path):
    model, x, _ = FIXTURES.subclassed(gkeras)
    model(x[0][:1])
    save_weights(model, tmp_path / "w.weights.h5")
    assert _structure(tmp_path / "w.weights.h5") == _structure(
        _path("keras3", "subclassed", ".weights.h5"))
