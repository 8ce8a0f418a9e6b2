"""ModelCheckpoint: file name templates, save_best_only, modes, messages, batch frequency."""

import math
import os
import zipfile

import numpy as np
import pytest

import gkeras as keras
from gkeras.callbacks.model_checkpoint import FilepathFormatError

KINDS = ["sequential", "functional", "subclassed"]


def expected_best_messages(values, mode, path, monitor="val_loss", initial=None):
    """Keras's lines for save_best_only, computed from the monitored values."""
    best = initial if initial is not None else (math.inf if mode == "min" else -math.inf)
    lines, saved = [], []
    for epoch, value in enumerate(values):
        better = value < best if mode == "min" else value > best
        if better:
            lines.append(f"\nEpoch {epoch + 1}: {monitor} improved from {best:.5f} to "
                         f"{value:.5f}, saving model to {path}")
            best = value
            saved.append(epoch)
        else:
            lines.append(f"\nEpoch {epoch + 1}: {monitor} did not improve from {best:.5f}")
    return "".join(line + "\n" for line in lines), saved


def assert_same_weights(actual, expected):
    assert len(actual) == len(expected)
    for a, b in zip(actual, expected):
        np.testing.assert_array_equal(a, b)


def test_saves_every_epoch_with_epoch_and_log_fields(tmp_path, regression_data, make_model,
                                                     recorder, capsys, bk):
    x, y = regression_data
    model = make_model("sequential")
    model.compile(optimizer="sgd", loss="mse")
    template = str(tmp_path / "ckpt" / "model.{epoch:02d}-{val_loss:.3f}.weights.h5")
    checkpoint = keras.callbacks.ModelCheckpoint(template, save_weights_only=True, verbose=1)
    history = model.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0,
                        callbacks=[recorder, checkpoint])
    names = [f"model.{e + 1:02d}-{v:.3f}.weights.h5"
             for e, v in enumerate(history.history["val_loss"])]
    assert sorted(os.listdir(tmp_path / "ckpt")) == sorted(names)
    assert capsys.readouterr().out == "".join(
        f"\nEpoch {e + 1}: saving model to {tmp_path / 'ckpt' / n}\n" for e, n in enumerate(names))
    for epoch, name in enumerate(names):
        fresh = make_model("sequential")
        fresh.load_weights(str(tmp_path / "ckpt" / name))
        assert_same_weights(fresh.get_weights(), recorder.weights[epoch])


@pytest.mark.parametrize("kind", KINDS)
def test_save_best_only_keeps_the_best_model_and_prints_keras_messages(
        tmp_path, regression_data, make_model, recorder, capsys, kind):
    x, y = regression_data
    model = make_model(kind)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.2), loss="mse")
    path = str(tmp_path / "best_model.h5")
    # mode="max" on a (mostly falling) loss makes both "improved" and "did not improve" happen
    checkpoint = keras.callbacks.ModelCheckpoint(path, save_best_only=True, mode="max",
                                                 verbose=1)
    history = model.fit(x, y, epochs=4, batch_size=16, validation_split=0.25, verbose=0,
                        callbacks=[recorder, checkpoint])
    values = history.history["val_loss"]
    expected, saved = expected_best_messages(values, "max", path)
    assert capsys.readouterr().out == expected
    assert "did not improve" in expected and "improved from -inf to" in expected
    assert checkpoint.best == max(values)
    loaded = keras.models.load_model(path, compile=False) if kind != "subclassed" else None
    if loaded is not None:
        assert_same_weights(loaded.get_weights(), recorder.weights[saved[-1]])
    fresh = make_model(kind)
    fresh.load_weights(path)
    assert_same_weights(fresh.get_weights(), recorder.weights[saved[-1]])


def test_default_min_mode_message_for_val_loss(tmp_path, regression_data, make_model, capsys):
    x, y = regression_data
    model = make_model("functional")
    model.compile(optimizer="sgd", loss="mse")
    path = str(tmp_path / "best_model.h5")
    checkpoint = keras.callbacks.ModelCheckpoint(path, save_best_only=True, verbose=1)
    history = model.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0,
                        callbacks=[checkpoint])
    expected, _ = expected_best_messages(history.history["val_loss"], "min", path)
    out = capsys.readouterr().out
    assert out == expected
    assert out.startswith(f"\nEpoch 1: val_loss improved from inf to "
                          f"{history.history['val_loss'][0]:.5f}, saving model to {path}\n")
    assert checkpoint.resolved_mode == "min"


def test_auto_mode_maximises_accuracy(tmp_path, binary_data, make_model, capsys):
    x, y = binary_data
    model = make_model("functional", activation="sigmoid")
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    path = str(tmp_path / "best.weights.h5")
    checkpoint = keras.callbacks.ModelCheckpoint(path, monitor="val_accuracy", verbose=1,
                                                 save_best_only=True, save_weights_only=True)
    history = model.fit(x, y, epochs=4, batch_size=16, validation_split=0.25, verbose=0,
                        callbacks=[checkpoint])
    assert checkpoint.resolved_mode == "max"
    expected, _ = expected_best_messages(history.history["val_accuracy"], "max", path,
                                         monitor="val_accuracy")
    assert capsys.readouterr().out == expected


def test_initial_value_threshold(tmp_path, regression_data, make_model, capsys):
    x, y = regression_data
    model = make_model("sequential")
    model.compile(optimizer="sgd", loss="mse")
    path = tmp_path / "never.h5"
    checkpoint = keras.callbacks.ModelCheckpoint(path, save_best_only=True, verbose=1,
                                                 initial_value_threshold=1e-9)
    history = model.fit(x, y, epochs=2, batch_size=16, validation_split=0.25, verbose=0,
                        callbacks=[checkpoint])
    expected, saved = expected_best_messages(history.history["val_loss"], "min", str(path),
                                             initial=1e-9)
    assert saved == [] and not path.exists()
    assert capsys.readouterr().out == expected
    assert "did not improve from 0.00000" in expected


def test_missing_monitor_with_save_best_only_warns_and_does_not_save(tmp_path, regression_data,
                                                                     make_model):
    x, y = regression_data
    model = make_model("sequential")
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    path = tmp_path / "best.h5"
    checkpoint = keras.callbacks.ModelCheckpoint(path, monitor="val_loss", save_best_only=True)
    with pytest.warns(UserWarning, match=r"Can save best model only with val_loss available, "
                                         r"skipping\. Available keys: loss, mae"):
        model.fit(x, y, epochs=1, batch_size=16, verbose=0, callbacks=[checkpoint])
    assert not path.exists()


def test_unknown_template_field_names_it_and_the_available_keys(tmp_path, regression_data,
                                                                make_model):
    x, y = regression_data
    model = make_model("sequential")
    model.compile(optimizer="sgd", loss="mse")
    checkpoint = keras.callbacks.ModelCheckpoint(str(tmp_path / "m-{val_acc:.2f}.h5"))
    with pytest.raises(FilepathFormatError) as info:
        model.fit(x, y, epochs=1, batch_size=16, verbose=0, callbacks=[checkpoint])
    message = str(info.value)
    assert "'val_acc' is not a key of the logs" in message
    assert "Available keys: ['epoch', 'loss']" in message
    assert isinstance(info.value, KeyError) and isinstance(info.value, ValueError)
    assert os.listdir(tmp_path) == []


def test_integer_save_freq_counts_batches_across_epochs(tmp_path, regression_data, make_model,
                                                        capsys):
    x, y = regression_data  # 64 samples, batch 16: 4 batches an epoch
    model = make_model("functional")
    model.compile(optimizer="sgd", loss="mse")
    template = str(tmp_path / "m-{epoch}-{batch}-{loss:.4f}.weights.h5")
    checkpoint = keras.callbacks.ModelCheckpoint(template, save_freq=3, save_weights_only=True,
                                                 verbose=1)
    seen = []
    logger = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: seen.append(logs["loss"]))
    model.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0,
              callbacks=[logger, checkpoint])
    # batches 3, 6, 9, 12 of 12 (1-based, counted across epochs)
    expected = []
    for k in (3, 6, 9, 12):
        epoch, batch = (k - 1) // 4, (k - 1) % 4
        expected.append(f"m-{epoch + 1}-{batch + 1}-{seen[k - 1]:.4f}.weights.h5")
    assert sorted(os.listdir(tmp_path)) == sorted(expected)
    lines = capsys.readouterr().out.split("\n")
    assert [line for line in lines if line] == [
        f"Epoch {(k - 1) // 4 + 1}: saving model to {tmp_path / name}"
        for k, name in zip((3, 6, 9, 12), expected)]


def test_batch_logs_are_only_read_on_saving_batches():
    class StubModel:
        def __init__(self):
            self.saved = []

        def save(self, path, overwrite=True):
            self.saved.append(path)

    model = StubModel()
    checkpoint = keras.callbacks.ModelCheckpoint("m-{batch}.h5", save_freq=3)
    checkpoint.set_model(model)
    checkpoint.on_train_begin()
    checkpoint.on_epoch_begin(0)
    wants = []
    for batch in range(7):
        wants.append(checkpoint._wants_batch_logs("train", batch))
        checkpoint.on_train_batch_end(batch, {"loss": 1.0} if wants[-1] else None)
    assert wants == [False, False, True, False, False, True, False]
    assert model.saved == ["m-3.h5", "m-6.h5"]
    assert not keras.callbacks.ModelCheckpoint("m.h5")._wants_batch_logs("train", 0)


def test_existing_directory_as_path_is_an_error(tmp_path, regression_data, make_model):
    x, y = regression_data
    model = make_model("sequential")
    model.compile(optimizer="sgd", loss="mse")
    (tmp_path / "taken.h5").mkdir()
    checkpoint = keras.callbacks.ModelCheckpoint(tmp_path / "taken.h5")
    with pytest.raises(IsADirectoryError, match="non-directory filepath"):
        model.fit(x, y, epochs=1, batch_size=16, verbose=0, callbacks=[checkpoint])


@pytest.mark.parametrize("save_freq", ["batch", 0, -2, 1.5, True])
def test_bad_save_freq(save_freq):
    with pytest.raises(ValueError, match="Unrecognized save_freq"):
        keras.callbacks.ModelCheckpoint("m.h5", save_freq=save_freq)


def test_bad_filepath():
    with pytest.raises(ValueError, match="non-empty path"):
        keras.callbacks.ModelCheckpoint("")
    with pytest.raises(ValueError, match=r"must end in `\.keras`.*Received: filepath=model\.ckpt"):
        keras.callbacks.ModelCheckpoint("model.ckpt")
    with pytest.raises(ValueError, match="when save_weights_only=True"):
        keras.callbacks.ModelCheckpoint("weights.keras", save_weights_only=True)
    with pytest.raises(ValueError, match="not a valid format template"):
        keras.callbacks.ModelCheckpoint("m-{epoch.h5")


def test_checkpoint_in_the_keras_format(tmp_path):
    x = np.random.default_rng(0).standard_normal((32, 3)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    path = tmp_path / "best_model.keras"
    model.fit(x, y, epochs=2, validation_split=0.25, verbose=0,
              callbacks=[keras.callbacks.ModelCheckpoint(str(path))])
    assert zipfile.is_zipfile(path)  # Keras 3's zip archive, not HDF5
    restored = keras.models.load_model(path)
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))
