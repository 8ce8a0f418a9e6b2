"""Keras 3's `.keras` zip archive: gkeras round trips, files written by real Keras 3.15.1
(tests/data/keras_archive), atomic writes and validated loads."""

import datetime
import io
import json
import os
import sys
import zipfile

import h5py
import numpy as np
import pytest
from saving_models import ConvNet, data, dense_model, functional_data, functional_model

import gkeras
from gkeras import layers
from gkeras.saving import keras_archive, load_model, save_model, save_weights

HERE = os.path.dirname(os.path.abspath(__file__))
ARCHIVES = os.path.join(os.path.dirname(HERE), "data", "keras_archive")
ATOL = 2e-6  # float32 rounding of a few dot products (Keras on JAX vs NumPy)


@gkeras.saving.register_keras_serializable(package="archive_tests", name="Blocks")
class Blocks(gkeras.Model):
    """The registered subclassed model of make_keras_archive_fixtures.py, in gkeras."""

    def __init__(self, width=5, **kwargs):
        super().__init__(**kwargs)
        self.width = width
        self.hidden = layers.Dense(width, activation="tanh")
        self.norm = layers.BatchNormalization()
        self.head = layers.Dense(2)

    def call(self, inputs, training=None):
        return self.head(self.norm(self.hidden(inputs), training=training))

    def get_config(self):
        return {**super().get_config(), "width": self.width}


def _blocks():
    model = Blocks(width=5, name="blocks")
    model.compile(optimizer=gkeras.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    rng = np.random.default_rng(6)
    return model, rng.random((16, 4), dtype=np.float32), rng.random((16, 2)).astype("float32")


def _convnet():
    model = ConvNet(name="convnet")
    model.compile(optimizer=gkeras.optimizers.SGD(0.05, momentum=0.9),
                  loss=gkeras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    rng = np.random.default_rng(7)
    return model, rng.random((16, 6, 6, 2), dtype=np.float32), rng.integers(0, 4, 16)


def _sequential():
    return (dense_model(),) + data()


def _functional():
    return (functional_model(),) + functional_data()


MAKERS = {"sequential": _sequential, "functional": _functional, "subclassed": _blocks,
          "subclassed_no_config": _convnet}


def _trained(name):
    model, x, y = MAKERS[name]()
    model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    return model, x, y


def _same_weights(a, b):
    wa, wb = a.get_weights(), b.get_weights()
    return len(wa) == len(wb) and all(np.array_equal(u, v) for u, v in zip(wa, wb))


# ------------------------------------------------------------------ gkeras round trips
@pytest.mark.parametrize("name", sorted(MAKERS))
def test_round_trip_predicts_and_trains_on_identically(tmp_path, name):
    model, x, y = _trained(name)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = gkeras.models.load_model(path)

    assert type(loaded) is type(model)
    if name in ("sequential", "functional"):  # sublayers of a subclass get fresh names
        assert [w.path for w in loaded.weights] == [w.path for w in model.weights]
    assert _same_weights(loaded, model)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    # compile state: optimizer class, config and state; loss and metrics
    assert loaded.compiled
    assert type(loaded.optimizer) is type(model.optimizer)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert int(loaded.optimizer.iterations) == int(model.optimizer.iterations) > 0
    saved_state = model.optimizer.get_weights()
    assert len(loaded.optimizer.get_weights()) == len(saved_state) > 1
    for a, b in zip(loaded.optimizer.get_weights(), saved_state):
        np.testing.assert_array_equal(a, b)
    assert loaded.evaluate(x, y, verbose=0, return_dict=True) == model.evaluate(
        x, y, verbose=0, return_dict=True)
    # continued training lands on exactly the same weights
    for m in (model, loaded):
        m.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    assert _same_weights(loaded, model)


def test_archive_layout_matches_keras(tmp_path):
    model, x, y = _trained("sequential")
    path = tmp_path / "m.keras"
    save_model(model, str(path))
    with zipfile.ZipFile(path) as zf:
        infos = {i.filename: i for i in zf.infolist()}
        metadata = json.loads(zf.read("metadata.json"))
        config = json.loads(zf.read("config.json"))
        weights = zf.read("model.weights.h5")
    assert set(infos) == {"metadata.json", "config.json", "model.weights.h5"}
    assert all(i.compress_type == zipfile.ZIP_STORED for i in infos.values())
    assert metadata["keras_version"] == gkeras.__version__
    assert metadata["gkeras_version"] == gkeras.__version__
    saved = datetime.datetime.strptime(metadata["date_saved"], "%Y-%m-%d@%H:%M:%S")
    assert abs((datetime.datetime.now() - saved).total_seconds()) < 120
    assert (config["module"], config["class_name"]) == ("keras", "Sequential")
    assert config["build_config"] == {"input_shape": [None, 6]}
    compiled = config["compile_config"]
    assert compiled["optimizer"]["class_name"] == "Adam"
    assert compiled["optimizer"]["config"]["learning_rate"] == pytest.approx(0.01)
    assert compiled["loss"] == "sparse_categorical_crossentropy"
    assert compiled["metrics"] == ["accuracy"]
    # the weights member is exactly what save_weights writes in Keras 3's layout
    save_weights(model, tmp_path / "w.weights.h5")
    with h5py.File(io.BytesIO(weights)) as a, h5py.File(tmp_path / "w.weights.h5") as b:
        def datasets(f):
            found = {}
            f.visititems(lambda n, o: found.__setitem__(n, np.asarray(o))
                         if isinstance(o, h5py.Dataset) else None)
            return found

        da, db = datasets(a), datasets(b)
        assert sorted(da) == sorted(db)
        assert any(n.startswith("optimizer/vars/") for n in da)
        for key in da:
            np.testing.assert_array_equal(da[key], db[key])


def test_include_optimizer_false_and_compile_false(tmp_path):
    model, x, y = _trained("sequential")
    path = tmp_path / "m.keras"
    save_model(model, path, include_optimizer=False)
    with zipfile.ZipFile(path) as zf, h5py.File(io.BytesIO(zf.read("model.weights.h5"))) as f:
        assert "optimizer" not in f
    loaded = load_model(path)  # compiled, with a fresh optimizer (as Keras)
    assert loaded.compiled and int(loaded.optimizer.iterations) == 0
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))

    model.save(path)
    plain = load_model(path, compile=False)
    assert not plain.compiled and plain.optimizer is None
    np.testing.assert_array_equal(plain.predict(x, verbose=0), model.predict(x, verbose=0))


def test_uncompiled_model_round_trip(tmp_path):
    model = gkeras.Sequential([gkeras.Input((3,)), layers.Dense(2)])
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as zf:
        assert json.loads(zf.read("config.json"))["compile_config"] is None
    loaded = load_model(tmp_path / "m.keras")
    assert not loaded.compiled and _same_weights(loaded, model)


def test_save_arguments(tmp_path, monkeypatch):
    model = dense_model()
    with pytest.raises(ValueError, match="not been built"):
        save_model(gkeras.Sequential([layers.Dense(2)]), tmp_path / "u.keras")
    with pytest.raises(ValueError, match="save_format='h5' does not match"):
        save_model(model, tmp_path / "m.keras", save_format="h5")
    assert os.listdir(tmp_path) == []
    save_model(model, tmp_path / "m.keras", save_format="keras")
    before = (tmp_path / "m.keras").read_bytes()
    monkeypatch.setattr(sys, "stdin", None)
    with pytest.raises(FileExistsError, match="overwrite=False"):
        save_model(dense_model(), tmp_path / "m.keras", overwrite=False)
    assert (tmp_path / "m.keras").read_bytes() == before


# ------------------------------------------------------------ files written by Keras
KERAS_CASES = ["dense_bn", "functional", "conv_bn", "embed_lstm", "subclassed"]


def _keras_io(name):
    io_ = np.load(os.path.join(ARCHIVES, f"keras3_{name}_io.npz"))
    x = [io_[k] for k in sorted(io_.files) if k.startswith("x") and not k.startswith("xt")]
    xt = [io_[k] for k in sorted(io_.files) if k.startswith("xt")]
    return _one(x), io_["y"], _one(xt), io_["yt"], io_["y_next"]


def _one(arrays):
    return arrays if len(arrays) > 1 else arrays[0]


@pytest.mark.parametrize("name", KERAS_CASES)
def test_load_keras_written_archive(name):
    path = os.path.join(ARCHIVES, f"keras3_{name}.keras")
    x, y, xt, yt, y_next = _keras_io(name)
    with zipfile.ZipFile(path) as zf:
        metadata = json.loads(zf.read("metadata.json"))
        config = json.loads(zf.read("config.json"))
    assert metadata["keras_version"] == "3.15.1" and "gkeras_version" not in metadata

    plain = load_model(path, compile=False)
    assert not plain.compiled
    assert type(plain).__name__ == config["class_name"]
    np.testing.assert_allclose(plain.predict(x, verbose=0), y, rtol=0, atol=ATOL)

    model = load_model(path)
    assert model.compiled
    assert type(model.optimizer).__name__ == config["compile_config"]["optimizer"]["class_name"]
    assert int(model.optimizer.iterations) > 0  # Keras's optimizer state came back
    np.testing.assert_allclose(model.predict(x, verbose=0), y, rtol=0, atol=ATOL)
    # one more step from the restored state matches the step Keras took
    model.train_on_batch(xt, yt)
    np.testing.assert_allclose(model.predict(x, verbose=0), y_next, rtol=0, atol=2e-5)


def test_keras_optimizer_state_matters_for_the_next_step():
    """The step check above can fail: with a fresh optimizer the next step differs."""
    path = os.path.join(ARCHIVES, "keras3_dense_bn.keras")
    x, y, xt, yt, y_next = _keras_io("dense_bn")
    model = load_model(path, compile=False)
    model.compile(optimizer=gkeras.optimizers.Adam(0.01),
                  loss="sparse_categorical_crossentropy")
    model.train_on_batch(xt, yt)
    assert np.abs(model.predict(x, verbose=0) - y_next).max() > 1e-3


def test_unregistered_keras_subclass_is_a_clear_error():
    path = os.path.join(ARCHIVES, "keras3_subclassed.keras")
    registered = gkeras.saving.get_custom_objects().pop("archive_tests>Blocks")
    try:
        with pytest.raises(ValueError, match=r"class 'Blocks'.*custom_objects"):
            load_model(path)
        model = load_model(path, custom_objects={"archive_tests>Blocks": Blocks})
        assert isinstance(model, Blocks) and model.width == 5
    finally:
        gkeras.saving.get_custom_objects()["archive_tests>Blocks"] = registered


# ----------------------------------------------------------------------- atomicity
def _break_weights_member(monkeypatch):
    real = zipfile.ZipFile.writestr

    def writestr(self, name, data, *args, **kwargs):
        if name == "model.weights.h5":
            real(self, name, data[: len(data) // 2])  # half of it reached the disk
            raise OSError("No space left on device")
        return real(self, name, data, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", writestr)


def test_interrupted_save_keeps_previous_file(tmp_path, monkeypatch):
    old, x, _ = _trained("sequential")
    path = tmp_path / "m.keras"
    old.save(path)
    before = path.read_bytes()
    new = dense_model()
    with monkeypatch.context() as patch:
        _break_weights_member(patch)
        with pytest.raises(OSError, match="No space left"):
            new.save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.keras"]  # the temporary is gone
    np.testing.assert_array_equal(load_model(path).predict(x, verbose=0),
                                  old.predict(x, verbose=0))


def test_failure_while_building_members_writes_nothing(tmp_path, monkeypatch):
    model = dense_model()
    path = tmp_path / "m.keras"

    def fail(*args, **kwargs):
        raise RuntimeError("weights could not be gathered")

    monkeypatch.setattr(keras_archive.weights_h5, "write", fail)
    with pytest.raises(RuntimeError, match="could not be gathered"):
        model.save(path)
    assert os.listdir(tmp_path) == []


# ------------------------------------------------------------- bad and damaged files
def _members(path):
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _write_zip(path, members):
    with zipfile.ZipFile(path, "w") as zf:
        for name, value in members.items():
            zf.writestr(name, value)


@pytest.fixture
def saved(tmp_path):
    model, x, _ = _trained("sequential")
    path = tmp_path / "good.keras"
    model.save(path)
    return path


def test_missing_file_directory_and_non_zip(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.keras"):
        load_model(tmp_path / "nothing.keras")
    (tmp_path / "d.keras").mkdir()
    with pytest.raises(ValueError, match="d.keras is a directory"):
        load_model(tmp_path / "d.keras")
    for content in (b"", b"not a zip archive at all"):
        (tmp_path / "x.keras").write_bytes(content)
        with pytest.raises(ValueError, match=r"x\.keras.*not a \.keras zip archive"):
            load_model(tmp_path / "x.keras")


def test_truncated_archive(tmp_path, saved):
    data_ = saved.read_bytes()
    for cut in (len(data_) // 2, len(data_) - 30):
        bad = tmp_path / f"cut{cut}.keras"
        bad.write_bytes(data_[:cut])
        with pytest.raises(ValueError, match=f"cut{cut}.keras"):
            load_model(bad)


def test_corrupted_member_bytes(tmp_path, saved):
    data_ = bytearray(saved.read_bytes())
    # flip bytes inside the (stored, uncompressed) weights member: its CRC no longer fits
    start = bytes(data_).index(b"\x89HDF\r\n") + 4000
    data_[start:start + 8] = bytes(255 - b for b in data_[start:start + 8])
    bad = tmp_path / "flipped.keras"
    bad.write_bytes(bytes(data_))
    with pytest.raises(ValueError, match=r"flipped\.keras.*damaged"):
        load_model(bad)


@pytest.mark.parametrize("change, message", [
    (lambda m: m.pop("model.weights.h5"), r"\['model\.weights\.h5'\] missing"),
    (lambda m: m.pop("config.json"), r"\['config\.json'\] missing"),
    (lambda m: m.update({"config.json": b"{not json"}), "config.json is not valid JSON"),
    (lambda m: m.update({"config.json": b"[1, 2]"}), "holds no model config"),
    (lambda m: m.update({"metadata.json": b"\xff\xfe"}), "metadata.json is not valid JSON"),
    (lambda m: m.update({"model.weights.h5": b"garbage"}), "not a valid HDF5 file"),
])
def test_bad_members(tmp_path, saved, change, message):
    members = _members(saved)
    change(members)
    bad = tmp_path / "bad.keras"
    _write_zip(bad, members)
    with pytest.raises(ValueError, match=message) as info:
        load_model(bad)
    assert "bad.keras" in str(info.value)


def test_weights_that_do_not_fit_the_config(tmp_path, saved):
    other = tmp_path / "other.keras"
    dense_model(units=(16, 5)).save(other)  # a different last layer
    members = _members(saved)
    members["model.weights.h5"] = _members(other)["model.weights.h5"]
    bad = tmp_path / "mixed.keras"
    _write_zip(bad, members)
    with pytest.raises(ValueError, match=r"shape \(16, 8\).*\(16, 5\)"):
        load_model(bad)


def test_failed_load_leaves_no_custom_scope_behind(tmp_path, saved):
    members = _members(saved)
    members["model.weights.h5"] = b"garbage"
    _write_zip(tmp_path / "bad.keras", members)
    marker = object()
    with pytest.raises(ValueError):
        load_model(tmp_path / "bad.keras", custom_objects={"Marker": marker})
    assert gkeras.saving.get_registered_object("Marker") is None


def test_safe_mode_refuses_lambda_bytecode(tmp_path):
    model = gkeras.Sequential([gkeras.Input((3,)), layers.Dense(2)])
    model.save(tmp_path / "m.keras")
    members = _members(tmp_path / "m.keras")
    config = json.loads(members["config.json"])
    # what Keras writes for Lambda(lambda x: x): the function as marshalled bytecode
    config["config"]["layers"].append({
        "module": "keras.layers", "class_name": "Lambda", "registered_name": None,
        "config": {"name": "lam", "function": {"class_name": "__lambda__",
                                               "config": {"value": ["4wEAAAAAAAAA", None,
                                                                    None]}}}})
    members["config.json"] = json.dumps(config).encode()
    _write_zip(tmp_path / "lam.keras", members)
    with pytest.raises(ValueError, match=r"lam\.keras.*lambda.*safe_mode=True"):
        load_model(tmp_path / "lam.keras")
    with pytest.raises(ValueError, match="never executes bytecode"):
        load_model(tmp_path / "lam.keras", safe_mode=False)
    assert keras_archive.find_lambdas(config) == [
        "config.config.layers[2].config.function"]


def test_round_trip_on_each_backend(tmp_path, bk):
    model = gkeras.Sequential([gkeras.Input((4,)), layers.Dense(3, activation="relu"),
                               layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    x = np.random.default_rng(0).random((8, 4), dtype=np.float32)
    model.fit(x, x[:, :2], epochs=1, verbose=0, shuffle=False)
    model.save(tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_get_compile_config_round_trips_through_compile_from_config():
    model = dense_model()
    model.compile(optimizer=gkeras.optimizers.SGD(0.05, momentum=0.5), loss="mse",
                  metrics=["mae"], loss_weights=[2.0], jit_compile=False)
    config = model.get_compile_config()
    assert set(config) == {"optimizer", "loss", "loss_weights", "metrics", "weighted_metrics",
                           "run_eagerly", "steps_per_execution", "jit_compile"}
    assert config["jit_compile"] is False and config["loss"] in ("mse", "mean_squared_error")
    assert json.loads(json.dumps(config)) == config  # plain JSON, as Keras writes it
    fresh = dense_model()
    fresh.compile_from_config(config)
    assert fresh.get_compile_config() == config
    assert fresh.optimizer is not model.optimizer and fresh._traced_steps is None
    assert dense_model().get_compile_config()["jit_compile"] == "auto"
    assert gkeras.Sequential([gkeras.Input((2,)), layers.Dense(1)]).get_compile_config() is None
    with pytest.raises(ValueError, match="compile_config is malformed"):
        fresh.compile_from_config({"loss": "mse"})
