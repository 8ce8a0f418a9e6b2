"""model.summary(): Keras 3's table."""

import re

import gkeras as keras
from gkeras import layers


def captured(model, **kwargs):
    lines = []
    model.summary(print_fn=lines.append, **kwargs)
    return lines


def test_sequential_summary_table():
    model = keras.Sequential([layers.Dense(8, input_shape=(4,), activation="relu", name="d1"),
                              layers.Dense(3, activation="softmax", name="d2")],
                             name="six_steps")
    lines = captured(model, line_length=80)
    assert lines[0] == 'Model: "six_steps"'
    assert lines[1].startswith("┏") and lines[1].endswith("┓") and "┳" in lines[1]
    header = [c.strip() for c in lines[2].strip("┃").split("┃")]
    assert header == ["Layer (type)", "Output Shape", "Param #"]
    assert lines[3].startswith("┡")
    rows = [line for line in lines if line.startswith("│")]
    assert [c.strip() for c in rows[0].strip("│").split("│")] == ["d1 (Dense)", "(None, 8)", "40"]
    assert [c.strip() for c in rows[1].strip("│").split("│")] == ["d2 (Dense)", "(None, 3)", "27"]
    assert rows[0].rstrip("│").endswith("40 ")  # parameter counts are right-aligned
    assert all(len(line) == 80 for line in lines[1:8])
    assert lines[-3:] == [" Total params: 67 (268.00 B)", " Trainable params: 67 (268.00 B)",
                          " Non-trainable params: 0 (0.00 B)"]


def test_functional_with_branches_has_connected_to_column():
    inputs = keras.Input(shape=(10,), name="inp")
    a = layers.Dense(4, name="left")(inputs)
    b = layers.Dense(4, name="right")(inputs)
    out = layers.Concatenate(name="join")([a, b])
    model = keras.Model(inputs, out, name="branchy")
    text = "\n".join(captured(model, line_length=110))
    assert "Connected to" in text
    assert re.search(r"│ left \(Dense\)\s+│ \(None, 4\)\s+│\s+44 │ inp\[0\]\[0\]", text)
    assert "left[0][0]" in text and "right[0][0]" in text
    assert "inp (InputLayer)" in text


def test_width_adapts_to_long_names():
    long_name = "a_really_long_layer_name_that_does_not_fit_in_the_default_column"
    model = keras.Sequential([layers.Dense(2, input_shape=(3,), name=long_name)])
    lines = captured(model, line_length=60)
    assert any(long_name in line for line in lines)
    widths = {len(line) for line in lines if line[:1] in "┏┃┡│└"}
    assert len(widths) == 1 and widths.pop() > 60


def test_summary_counts_optimizer_params_after_training():
    import numpy as np

    model = keras.Sequential([layers.Dense(2, input_shape=(3,))])
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.zeros((4, 3)), np.zeros((4, 2)), verbose=0)
    lines = captured(model)
    assert any(line.startswith(" Optimizer params: ") for line in lines)
