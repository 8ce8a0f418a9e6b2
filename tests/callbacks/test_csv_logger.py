"""CSVLogger: Keras's header and rows, separators, appending."""

import csv

import numpy as np
import pytest

import gkeras as keras


def read_rows(path, separator=","):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f, delimiter=separator))


def test_header_and_rows_match_the_history(tmp_path, binary_data, make_model):
    x, y = binary_data
    model = make_model("functional", activation="sigmoid")
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    path = tmp_path / "logs" / "training.csv"
    history = model.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0,
                        callbacks=[keras.callbacks.CSVLogger(path)])
    raw = path.read_bytes().decode()
    keys = ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert raw.startswith("epoch," + ",".join(keys) + "\r\n")  # the csv module's Excel dialect
    rows = read_rows(path)
    assert rows[0] == ["epoch"] + keys
    assert len(rows) == 4
    for epoch, row in enumerate(rows[1:]):
        assert int(row[0]) == epoch
        # written with repr: the values read back exactly
        assert [float(v) for v in row[1:]] == [history.history[k][epoch] for k in keys]


def test_separator_and_overwrite(tmp_path, regression_data, make_model):
    x, y = regression_data
    model = make_model("sequential")
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    path = tmp_path / "log.csv"
    path.write_text("old content\n")
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0,
                        callbacks=[keras.callbacks.CSVLogger(str(path), separator=";")])
    rows = read_rows(path, ";")
    assert rows == [["epoch", "loss", "mae"]] + [
        [str(e), repr(history.history["loss"][e]), repr(history.history["mae"][e])]
        for e in range(2)]


def test_append_continues_without_a_second_header(tmp_path, regression_data, make_model):
    x, y = regression_data
    model = make_model("sequential")
    model.compile(optimizer="sgd", loss="mse")
    path = tmp_path / "log.csv"
    first = model.fit(x, y, epochs=2, batch_size=16, verbose=0,
                      callbacks=[keras.callbacks.CSVLogger(path, append=True)])
    second = model.fit(x, y, epochs=4, initial_epoch=2, batch_size=16, verbose=0,
                       callbacks=[keras.callbacks.CSVLogger(path, append=True)])
    rows = read_rows(path)
    losses = first.history["loss"] + second.history["loss"]
    assert rows == [["epoch", "loss"]] + [[str(e), repr(losses[e])] for e in range(4)]


def test_array_values_and_missing_keys(tmp_path):
    logger = keras.callbacks.CSVLogger(tmp_path / "log.csv")
    logger.on_train_begin()
    logger.on_epoch_end(0, {"loss": 0.5, "per_class": np.array([1, 2]), "note": "ok"})
    logger.on_epoch_end(1, {"loss": np.float64(0.25), "note": "ok"})
    logger.on_train_end()
    assert read_rows(tmp_path / "log.csv") == [
        ["epoch", "loss", "note", "per_class"],
        ["0", "0.5", "ok", '"[1, 2]"'],
        ["1", "0.25", "ok", "NA"],
    ]
    assert logger.csv_file is None


def test_bad_arguments():
    with pytest.raises(ValueError, match="one-character string"):
        keras.callbacks.CSVLogger("log.csv", separator=";;")
    with pytest.raises(ValueError, match="non-empty path"):
        keras.callbacks.CSVLogger("")
