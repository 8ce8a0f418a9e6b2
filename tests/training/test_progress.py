"""Progress display: Keras 3's bar for verbose=1, one line per epoch for verbose=2."""

import io
import re

import numpy as np
import pytest

import gkeras as keras
from gkeras import layers
from gkeras.utils.progbar import Progbar


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def fitted_output(capsys, verbose, epochs=2):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 3)).astype("float32")
    y = (x[:, :1] > 0).astype("float32")
    model = keras.Sequential([layers.Dense(1, input_shape=(3,), activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    capsys.readouterr()
    model.fit(x, y, epochs=epochs, batch_size=10, verbose=verbose)
    return capsys.readouterr().out


def test_verbose_2_prints_one_line_per_epoch(capsys):
    out = fitted_output(capsys, verbose=2)
    lines = out.strip().splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2"
    pattern = r"4/4 - \d+s - \d+(ms|us|s)/step - accuracy: \d\.\d{4} - loss: \d\.\d{4}"
    assert re.fullmatch(pattern, lines[1]), lines[1]
    assert re.fullmatch(pattern, lines[3]), lines[3]
    assert "\r" not in out and "━" not in out


def test_verbose_auto_is_2_without_a_terminal(capsys):
    out = fitted_output(capsys, verbose="auto", epochs=1)
    assert "━" not in out and re.search(r"4/4 - \d+s - ", out)


def test_verbose_auto_draws_the_bar_in_a_notebook(capsys, monkeypatch):
    # Jupyter's output is no terminal but redraws "\r" lines: Keras shows the bar there
    import sys
    import types

    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    out = fitted_output(capsys, verbose="auto", epochs=1)
    assert "━" in out and "\r" in out


def test_verbose_1_final_bar_format(capsys):
    out = fitted_output(capsys, verbose=1, epochs=1)
    line = out.strip().splitlines()[-1]
    assert re.fullmatch(
        r"4/4 ━{20} \d+s \d+(ms|us|s)/step - accuracy: \d\.\d{4} - loss: \d\.\d{4}", line), line


def test_progbar_redraws_in_place_on_a_terminal():
    stream = FakeTTY()
    bar = Progbar(target=3, verbose=1, interval=0.0, stream=stream)
    bar.update(1, [("loss", 0.5)])
    bar.update(2, [("loss", 0.25)])
    bar.update(3, [("loss", 0.125)])
    text = stream.getvalue()
    assert text.count("\r") == 3 and text.endswith("\n")
    assert "\x1b[32m" in text  # the done part of the bar is coloured
    assert "loss: 0.1250" in text.splitlines()[-1]


def test_progbar_small_values_use_scientific_notation():
    stream = io.StringIO()
    bar = Progbar(target=1, verbose=2, stream=stream)
    bar.update(1, [("loss", 0.0001234)])
    assert "loss: 1.2340e-04" in stream.getvalue()


def test_evaluate_verbose_prints_a_bar(capsys):
    model = keras.Sequential([layers.Dense(1, input_shape=(3,))])
    model.compile(optimizer="sgd", loss="mse")
    capsys.readouterr()
    model.evaluate(np.zeros((8, 3)), np.zeros((8, 1)), batch_size=4, verbose=1)
    assert re.search(r"2/2 ━{20} \d+s", capsys.readouterr().out)


@pytest.mark.parametrize("verbose", [0])
def test_verbose_0_is_silent(capsys, verbose):
    assert fitted_output(capsys, verbose=verbose) == ""
