"""Loading checks the whole file first: on any error nothing is assigned."""

import os

import h5py
import numpy as np
import pytest
from saving_models import dense_model

import gkeras
from gkeras import layers
from gkeras.saving import load_model, load_weights, save_model, save_weights

SUFFIXES = [".weights.h5", ".h5"]


def _snapshot(model):
    return [w.copy() for w in model.get_weights()]


def _assert_unchanged(model, before):
    after = model.get_weights()
    assert len(after) == len(before)
    for a, b in zip(after, before):
        np.testing.assert_array_equal(a, b)


def _written(tmp_path, suffix, model=None):
    model = model or dense_model()
    path = str(tmp_path / f"w{suffix}")
    save_weights(model, path)
    return path


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_truncated_file_is_a_clear_error_and_changes_nothing(tmp_path, suffix):
    path = _written(tmp_path, suffix)
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.truncate(size // 2)
    model = dense_model()
    before = _snapshot(model)
    with pytest.raises(ValueError, match="not a valid HDF5 file|damaged") as info:
        load_weights(model, path)
    assert path in str(info.value)
    _assert_unchanged(model, before)


@pytest.mark.parametrize("content", [b"", b"this is not HDF5 at all\n" * 100],
                         ids=["empty", "text"])
def test_empty_or_foreign_file_is_a_clear_error(tmp_path, content):
    path = tmp_path / "w.h5"
    path.write_bytes(content)
    model = dense_model()
    before = _snapshot(model)
    with pytest.raises(ValueError, match="not a valid HDF5 file") as info:
        load_weights(model, path)
    assert str(path) in str(info.value)
    with pytest.raises(ValueError, match="not a valid HDF5 file"):
        load_model(path)
    _assert_unchanged(model, before)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.h5"):
        load_weights(dense_model(), tmp_path / "nope.h5")
    with pytest.raises(FileNotFoundError, match="nope.h5"):
        load_model(tmp_path / "nope.h5")


def test_hdf5_without_weights_is_rejected(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("data", data=np.arange(3))
    model = dense_model()
    before = _snapshot(model)
    with pytest.raises(ValueError, match="holds no Keras weights"):
        load_weights(model, path)
    _assert_unchanged(model, before)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_shape_mismatch_names_layer_and_both_shapes_and_assigns_nothing(tmp_path, suffix):
    # Same first layers, the last Dense is wider in the file: the mismatch is found after
    # the earlier layers were read; still none of them may be assigned.
    path = _written(tmp_path, suffix, dense_model((16, 8)))
    model = dense_model((16, 5))
    before = _snapshot(model)
    with pytest.raises(ValueError) as info:
        load_weights(model, path)
    message = str(info.value)
    last = model.layers[-1]
    assert f"Layer #2 (named '{last.name}'" in message
    assert "(16, 5)" in message and "(16, 8)" in message
    _assert_unchanged(model, before)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_skip_mismatch_loads_the_rest_with_a_warning(tmp_path, suffix):
    source = dense_model((16, 8))
    path = _written(tmp_path, suffix, source)
    model = dense_model((16, 5))
    with pytest.warns(UserWarning, match="Skipping"):
        load_weights(model, path, skip_mismatch=True)
    for got, want in zip(model.layers[:-1], source.layers[:-1]):
        for g, w in zip(got.get_weights(), want.get_weights()):
            np.testing.assert_array_equal(g, w)
    assert model.layers[-1].get_weights()[0].shape == (16, 5)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_layer_count_mismatch(tmp_path, suffix):
    def stack(n):  # same shapes everywhere: only the count differs
        return gkeras.Sequential([gkeras.Input((4,))] + [layers.Dense(4) for _ in range(n)])

    path = _written(tmp_path, suffix, stack(3))
    for model in (stack(2), stack(4)):
        before = _snapshot(model)
        with pytest.raises(ValueError, match="Layer count mismatch|no such group"):
            load_weights(model, path)
        _assert_unchanged(model, before)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_weight_count_mismatch_names_the_layer(tmp_path, suffix):
    def build(use_bias):
        return gkeras.Sequential([gkeras.Input((3,)), layers.Dense(4, name="a"),
                                  layers.Dense(2, use_bias=use_bias, name="b")])

    path = _written(tmp_path, suffix, build(True))
    model = build(False)
    before = _snapshot(model)
    with pytest.raises(ValueError, match=r"Layer #1 \(named 'b'.*1 weight|Layer #1 \(named 'b'.*1 "
                                         r"variable"):
        load_weights(model, path)
    _assert_unchanged(model, before)


def test_non_numeric_dataset_is_rejected(tmp_path):
    model = dense_model()
    path = _written(tmp_path, ".weights.h5", model)
    with h5py.File(path, "r+") as f:
        del f["layers/dense_1/vars/1"]
        f["layers/dense_1/vars/1"] = np.array([b"x"] * model.layers[-1].bias.shape[0])
    target = dense_model()
    before = _snapshot(target)
    with pytest.raises(ValueError, match="non-numeric"):
        load_weights(target, path)
    _assert_unchanged(target, before)


def test_by_name_matches_layers_by_name(tmp_path):
    def build(order):
        names = {"x": layers.Dense(4, name="x"), "y": layers.Dense(4, name="y")}
        return gkeras.Sequential([gkeras.Input((4,))] + [names[n] for n in order])

    source = build("xy")
    path = str(tmp_path / "w.h5")
    save_weights(source, path)
    target = build("yx")
    load_weights(target, path, by_name=True)
    for name in "xy":
        for g, w in zip(target.get_layer(name).get_weights(),
                        source.get_layer(name).get_weights()):
            np.testing.assert_array_equal(g, w)
    with pytest.raises(ValueError, match="by_name=True is only supported for legacy"):
        save_weights(source, tmp_path / "w.weights.h5")
        load_weights(target, tmp_path / "w.weights.h5", by_name=True)


def test_load_model_on_weights_file_explains(tmp_path):
    path = _written(tmp_path, ".h5")
    with pytest.raises(ValueError, match="holds weights only.*load_weights"):
        load_model(path)


def test_unbuilt_model_cannot_load_or_save(tmp_path):
    model = gkeras.Sequential([layers.Dense(2)])
    with pytest.raises(ValueError, match="not been built"):
        save_weights(model, tmp_path / "w.h5")
    with pytest.raises(ValueError, match="not been built"):
        load_weights(model, tmp_path / "w.h5")
    with pytest.raises(ValueError, match="not been built"):
        save_model(model, tmp_path / "m.h5")


def test_bad_suffixes_and_arguments(tmp_path):
    model = dense_model()
    with pytest.raises(ValueError, match=r"ending in '\.keras'.*'\.h5' / '\.hdf5'"):
        save_model(model, tmp_path / "m.ckpt")
    with pytest.raises(ValueError, match=r"'\.weights\.h5'"):
        save_weights(model, tmp_path / "w.ckpt")
    with pytest.raises(TypeError, match="path string"):
        save_model(model, 42)
    with pytest.raises(TypeError, match="unexpected keyword"):
        save_weights(model, tmp_path / "w.h5", compression=True)
    with pytest.raises(TypeError, match="custom_objects must be a dict"):
        load_model(tmp_path / "m.h5", custom_objects=["Foo"])
    assert os.listdir(tmp_path) == []


def test_overwrite_false_refuses_without_a_terminal(tmp_path, monkeypatch):
    model = dense_model()
    path = tmp_path / "m.h5"
    path.write_bytes(b"keep me")
    monkeypatch.setattr("sys.stdin", None)
    with pytest.raises(FileExistsError, match="overwrite=False"):
        save_model(model, path, overwrite=False)
    with pytest.raises(FileExistsError):
        save_weights(model, path, overwrite=False)
    assert path.read_bytes() == b"keep me"
    save_model(model, path, overwrite=True)
    assert h5py.is_hdf5(path)
