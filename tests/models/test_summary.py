"""model.summary(): Keras 3.8's table, byte for byte.

The `KERAS_*` strings and `KERAS_WIDTHS` below were printed by real Keras 3.8.0; the scripts
that produced them are kept next to them so they can be recorded again (run them with
`COLUMNS=80`, respectively `COLUMNS=200`, in an environment with Keras 3.8 and any backend).
Everything else is checked against facts computed in the test itself.
"""

import numpy as np
import pytest

import gkeras as keras
from gkeras import layers
from gkeras.models.summary import print_summary


@pytest.fixture(autouse=True)
def console_80(monkeypatch):
    # Keras sizes the table from `shutil.get_terminal_size()` and rich crops it to the console
    # width; both read $COLUMNS first, which makes the layout independent of the terminal.
    monkeypatch.setenv("COLUMNS", "80")


def text_of(model, **kwargs):
    calls = []
    print_summary(model, print_fn=calls.append, **kwargs)
    assert len(calls) == 1  # Keras hands print_fn the whole summary at once
    return calls[0]


def lines_of(model, **kwargs):
    return text_of(model, **kwargs).splitlines()


# ----------------------------------------------------------------------------- models
# The same builders, with `keras` being Keras 3.8, are the recording script's models.
def mlp():
    return keras.Sequential([keras.Input((8,)),
                             layers.Dense(4, activation="relu", name="dense"),
                             layers.Dropout(0.1, name="dropout"),
                             layers.Dense(2, name="dense_1")], name="seq")


def two_in_two_out():
    a = keras.Input((5,), name="a")
    b = keras.Input((3,), name="b")
    x = layers.Concatenate(name="concatenate")([a, b])
    h = layers.Dense(4, name="hid")(x)
    h = layers.BatchNormalization(name="batch_normalization")(h)
    o1 = layers.Dense(1, name="out1")(h)
    o2 = layers.Dense(3, activation="softmax", name="out2")(h)
    return keras.Model([a, b], [o1, o2], name="func")


def nested():
    inner = keras.Sequential([keras.Input((4,)), layers.Dense(3, name="i1"),
                              layers.Dense(2, name="i2")], name="inner")
    a = keras.Input((4,), name="a_very_long_input_name_that_goes_on")
    h = layers.Dense(2, name="frozen_dense_with_a_really_long_name_to_wrap",
                     trainable=False)(inner(a))
    return keras.Model(a, h, name="outer")


def frozen():
    model = keras.Sequential([keras.Input((3,)), layers.Dense(2, name="fa"),
                              layers.BatchNormalization(name="bn"),
                              layers.Dense(1, name="fb")], name="fz")
    model.layers[0].trainable = False
    return model


# Recording script (COLUMNS=80):
#     def text(model, **kwargs):
#         out = []
#         model.summary(print_fn=out.append, **kwargs)
#         return out[0]
#     for name, value in [("MLP", text(mlp())), ("MLP_60", text(mlp(), line_length=60)),
#                         ("FUNC", text(two_in_two_out())),
#                         ("NESTED", text(nested())),
#                         ("NESTED_EXPANDED", text(nested(), expand_nested=True)),
#                         ("FROZEN_TRAINABLE", text(frozen(), show_trainable=True))]:
#         print(f'KERAS_{name} = """\\\n{value}"""\n')
KERAS_MLP = """\
Model: "seq"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ dense (Dense)                   │ (None, 4)              │            36 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dropout (Dropout)               │ (None, 4)              │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense_1 (Dense)                 │ (None, 2)              │            10 │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 46 (184.00 B)
 Trainable params: 46 (184.00 B)
 Non-trainable params: 0 (0.00 B)
"""

KERAS_MLP_60 = """\
Model: "seq"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━┓
┃ Layer (type)             ┃ Output Shape      ┃   Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━┩
│ dense (Dense)            │ (None, 4)         │        36 │
├──────────────────────────┼───────────────────┼───────────┤
│ dropout (Dropout)        │ (None, 4)         │         0 │
├──────────────────────────┼───────────────────┼───────────┤
│ dense_1 (Dense)          │ (None, 2)         │        10 │
└──────────────────────────┴───────────────────┴───────────┘
 Total params: 46 (184.00 B)
 Trainable params: 46 (184.00 B)
 Non-trainable params: 0 (0.00 B)
"""

KERAS_FUNC = """\
Model: "func"
┏━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┓
┃ Layer (type)        ┃ Output Shape      ┃    Param # ┃ Connected to      ┃
┡━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━┩
│ a (InputLayer)      │ (None, 5)         │          0 │ -                 │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ b (InputLayer)      │ (None, 3)         │          0 │ -                 │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ concatenate         │ (None, 8)         │          0 │ a[0][0], b[0][0]  │
│ (Concatenate)       │                   │            │                   │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ hid (Dense)         │ (None, 4)         │         36 │ concatenate[0][0] │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ batch_normalization │ (None, 4)         │         16 │ hid[0][0]         │
│ (BatchNormalizatio… │                   │            │                   │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ out1 (Dense)        │ (None, 1)         │          5 │ batch_normalizat… │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ out2 (Dense)        │ (None, 3)         │         15 │ batch_normalizat… │
└─────────────────────┴───────────────────┴────────────┴───────────────────┘
 Total params: 72 (288.00 B)
 Trainable params: 64 (256.00 B)
 Non-trainable params: 8 (32.00 B)
"""

KERAS_NESTED = """\
Model: "outer"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ a_very_long_input_name_that_go… │ (None, 4)              │             0 │
│ (InputLayer)                    │                        │               │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ inner (Sequential)              │ (None, 2)              │            23 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ frozen_dense_with_a_really_lon… │ (None, 2)              │             6 │
│ (Dense)                         │                        │               │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 29 (116.00 B)
 Trainable params: 23 (92.00 B)
 Non-trainable params: 6 (24.00 B)
"""

KERAS_NESTED_EXPANDED = """\
Model: "outer"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ a_very_long_input_name_that_go… │ (None, 4)              │             0 │
│ (InputLayer)                    │                        │               │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ inner (Sequential)              │ (None, 2)              │            23 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│    └ i1 (Dense)                 │ (None, 3)              │            15 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│    └ i2 (Dense)                 │ (None, 2)              │             8 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ frozen_dense_with_a_really_lon… │ (None, 2)              │             6 │
│ (Dense)                         │                        │               │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 29 (116.00 B)
 Trainable params: 23 (92.00 B)
 Non-trainable params: 6 (24.00 B)
"""

KERAS_FROZEN_TRAINABLE = """\
Model: "fz"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━┳━━━━━━━┓
┃ Layer (type)                ┃ Output Shape          ┃    Param # ┃ Trai… ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━╇━━━━━━━┩
│ fa (Dense)                  │ (None, 2)             │          8 │   N   │
├─────────────────────────────┼───────────────────────┼────────────┼───────┤
│ bn (BatchNormalization)     │ (None, 2)             │          8 │   Y   │
├─────────────────────────────┼───────────────────────┼────────────┼───────┤
│ fb (Dense)                  │ (None, 1)             │          3 │   Y   │
└─────────────────────────────┴───────────────────────┴────────────┴───────┘
 Total params: 19 (76.00 B)
 Trainable params: 7 (28.00 B)
 Non-trainable params: 12 (48.00 B)
"""


@pytest.mark.parametrize("build, kwargs, expected", [
    (mlp, {}, KERAS_MLP),
    (mlp, {"line_length": 60}, KERAS_MLP_60),
    (two_in_two_out, {}, KERAS_FUNC),
    (nested, {}, KERAS_NESTED),
    (nested, {"expand_nested": True}, KERAS_NESTED_EXPANDED),
    (frozen, {"show_trainable": True}, KERAS_FROZEN_TRAINABLE),
], ids=["mlp", "mlp-60", "functional", "nested", "nested-expanded", "show-trainable"])
def test_matches_keras_3_8_text(build, kwargs, expected):
    assert text_of(build(), **kwargs) == expected


def test_model_summary_method_prints_the_same_text(capsys):
    model = two_in_two_out()
    model.summary()
    assert capsys.readouterr().out == KERAS_FUNC


def test_model_summary_method_expands_nested_models():
    calls = []
    nested().summary(print_fn=calls.append, expand_nested=True)
    assert calls == [KERAS_NESTED_EXPANDED]


# Column widths (padding included) of the top border, printed by Keras 3.8 with COLUMNS=200:
#     seq = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
#     a = keras.Input((3,)); b = keras.Input((3,))
#     func = keras.Model([a, b], keras.layers.Concatenate()([a, b]))
#     for label, model in (("seq", seq), ("func", func)):
#         for length in (40, 60, 76, 88, 120, 160):
#             for trainable in (False, True):
#                 out = []
#                 model.summary(print_fn=out.append, line_length=length,
#                               show_trainable=trainable)
#                 top = out[0].splitlines()[1]
#                 print((label, length, trainable,
#                        tuple(len(p) for p in top[1:-1].split("┳"))))
KERAS_WIDTHS = [
    ("seq", 40, False, (17, 12, 7)), ("seq", 40, True, (15, 11, 6, 3)),
    ("seq", 60, False, (26, 19, 11)), ("seq", 60, True, (23, 18, 9, 5)),
    ("seq", 76, False, (33, 24, 15)), ("seq", 76, True, (29, 23, 12, 7)),
    ("seq", 88, False, (38, 29, 17)), ("seq", 88, True, (34, 27, 14, 8)),
    ("seq", 120, False, (53, 40, 23)), ("seq", 120, True, (47, 37, 20, 11)),
    ("seq", 160, False, (71, 54, 31)), ("seq", 160, True, (63, 50, 27, 15)),
    ("func", 40, False, (11, 9, 5, 10)), ("func", 40, True, (9, 9, 5, 8, 3)),
    ("func", 60, False, (17, 14, 9, 15)), ("func", 60, True, (15, 13, 8, 13, 5)),
    ("func", 76, False, (21, 19, 12, 19)), ("func", 76, True, (19, 17, 11, 16, 7)),
    ("func", 88, False, (25, 22, 14, 22)), ("func", 88, True, (22, 20, 13, 19, 8)),
    ("func", 120, False, (35, 30, 19, 31)), ("func", 120, True, (31, 27, 18, 27, 11)),
    ("func", 160, False, (47, 40, 27, 41)), ("func", 160, True, (42, 36, 25, 36, 15)),
]


@pytest.mark.parametrize("label, length, trainable, widths", KERAS_WIDTHS)
def test_column_widths_match_keras(monkeypatch, label, length, trainable, widths):
    monkeypatch.setenv("COLUMNS", "200")
    if label == "seq":
        model = keras.Sequential([keras.Input((3,)), layers.Dense(2)])
    else:
        a, b = keras.Input((3,)), keras.Input((3,))
        model = keras.Model([a, b], layers.Concatenate()([a, b]))
    lines = lines_of(model, line_length=length, show_trainable=trainable)
    assert tuple(len(p) for p in lines[1][1:-1].split("┳")) == widths
    table = [line for line in lines if line[:1] in "┏┃┡│├└"]
    assert {len(line) for line in table} == {length}


# ------------------------------------------------------------------- layout properties
@pytest.mark.parametrize("columns, expected", [("80", 76), ("60", 56), ("200", 88)])
def test_default_width_is_terminal_minus_4_capped(monkeypatch, columns, expected):
    monkeypatch.setenv("COLUMNS", columns)
    assert len(lines_of(mlp())[1]) == expected
    assert len(lines_of(two_in_two_out())[1]) == min(108, int(columns) - 4)
    assert len(lines_of(mlp(), show_trainable=True)[1]) == min(100, int(columns) - 4)


def test_lines_wider_than_the_console_are_cropped(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    full = lines_of(mlp(), line_length=120)
    monkeypatch.setenv("COLUMNS", "80")
    cropped = lines_of(mlp(), line_length=120)
    assert len(full[1]) == 120
    assert cropped == [line[:80] for line in full]


def test_long_cells_wrap_within_the_column_and_are_cut_with_an_ellipsis():
    name = "a_really_long_layer_name_that_does_not_fit_in_the_default_column"
    model = keras.Sequential([keras.Input((3,)), layers.Dense(2, name=name)])
    lines = lines_of(model, line_length=60)
    table = [line for line in lines if line[:1] in "┏┃┡│├└"]
    assert {len(line) for line in table} == {60}
    first_cells = [line.split("│")[1] for line in lines if line.startswith("│")]
    width = len(first_cells[0]) - 2
    # the name alone is too long: it is cut to the cell, the class goes to the next line
    assert first_cells[0] == " " + name[:width - 1] + "… "
    assert first_cells[1].strip() == "(Dense)"


def test_several_inbound_tensors_share_one_cell_and_wrap_at_commas(monkeypatch):
    ins = [keras.Input((3,), name=n) for n in ("in_one", "in_two", "in_three")]
    shared = layers.Dense(3, name="shared")
    out = layers.Concatenate(name="cat")([shared(ins[0]), shared(ins[1]), ins[2]])
    model = keras.Model(ins, out, name="shared_model")
    lines = lines_of(model)
    rows = [[c.strip() for c in line.strip("│").split("│")] for line in lines
            if line.startswith("│")]
    names = [r[0] for r in rows if r[0] and not r[0].startswith("(")]
    # Keras's order: by depth from the inputs, then by first visit from the outputs
    assert names == ["in_one (InputLayer)", "in_two (InputLayer)", "shared (Dense)", "in_three",
                     "cat (Concatenate)"]
    cat = next(i for i, r in enumerate(rows) if r[0] == "cat (Concatenate)")
    assert [r[3] for r in rows[cat:cat + 3]] == ["shared[0][0],", "shared[1][0],",
                                                  "in_three[0][0]"]
    monkeypatch.setenv("COLUMNS", "200")
    wide = text_of(model, line_length=190)
    assert "shared[0][0], shared[1][0], in_three[0][0]" in wide


def test_independent_branches_get_the_connected_to_column():
    p, q = keras.Input((2,), name="p"), keras.Input((2,), name="q")
    model = keras.Model([p, q], [layers.Dense(1, name="dp")(p), layers.Dense(1, name="dq")(q)])
    assert "Connected to" in lines_of(model)[2]
    chain = keras.Input((2,))
    single = keras.Model(chain, layers.Dense(1)(layers.Dense(3)(chain)))
    assert "Connected to" not in lines_of(single)[2]


def test_trainable_column_is_centred_with_dash_for_weightless_layers():
    rows = [line for line in lines_of(mlp(), show_trainable=True) if line.startswith("│")]
    flags = [line.split("│")[4] for line in rows]
    assert [f.strip() for f in flags] == ["Y", "-", "Y"]
    for flag in flags:
        left = len(flag) - len(flag.lstrip())
        right = len(flag) - len(flag.rstrip())
        assert right - left in (0, 1)


def test_layer_range_limits_the_rows():
    lines = lines_of(mlp(), layer_range=("dropout", "dense_1"))
    rows = [line.split("│")[1].strip() for line in lines if line.startswith("│")]
    assert rows == ["dropout (Dropout)", "dense_1 (Dense)"]
    with pytest.raises(ValueError, match="do not match"):
        text_of(mlp(), layer_range=("nope", "dense_1"))


def test_too_narrow_a_line_is_an_error():
    with pytest.raises(ValueError, match="Insufficient console width"):
        text_of(mlp(), line_length=8)


# ------------------------------------------------------------------------------ content
def test_sequential_summary_rows_and_totals():
    model = keras.Sequential([layers.Dense(8, input_shape=(4,), activation="relu", name="d1"),
                              layers.Dense(3, activation="softmax", name="d2")],
                             name="six_steps")
    lines = lines_of(model, line_length=80)
    assert lines[0] == 'Model: "six_steps"'
    header = [c.strip() for c in lines[2].strip("┃").split("┃")]
    assert header == ["Layer (type)", "Output Shape", "Param #"]
    rows = [line for line in lines if line.startswith("│")]
    assert [c.strip() for c in rows[0].strip("│").split("│")] == ["d1 (Dense)", "(None, 8)",
                                                                  str(4 * 8 + 8)]
    assert [c.strip() for c in rows[1].strip("│").split("│")] == ["d2 (Dense)", "(None, 3)",
                                                                  str(8 * 3 + 3)]
    assert rows[0].rstrip("│").endswith("40 ")  # parameter counts are right-aligned
    assert all(len(line) == 80 for line in lines[1:8])
    assert lines[-3:] == [" Total params: 67 (268.00 B)", " Trainable params: 67 (268.00 B)",
                          " Non-trainable params: 0 (0.00 B)"]


def test_print_fn_gets_the_whole_text_once_and_stdout_gets_the_same(capsys):
    model = mlp()
    print_summary(model)
    printed = capsys.readouterr().out
    calls = []
    model.summary(print_fn=lambda *args, **kwargs: calls.append((args, kwargs)))
    assert calls == [((printed,), {})]
    assert printed.endswith(" Non-trainable params: 0 (0.00 B)\n")


def test_multi_output_layer_shape_lists_every_output(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    a, b = keras.Input((5,), name="a"), keras.Input((3,), name="b")
    inner = keras.Model([a, b], [layers.Dense(1)(a), layers.Dense(2)(b)], name="two_out")
    c, d = keras.Input((5,)), keras.Input((3,))
    outer = keras.Model([c, d], inner([c, d]), name="outer2")
    assert "│ [(None, 1), (None, 2)] " in text_of(outer, line_length=160)


def test_subclassed_model_shows_shapes_after_a_call():
    class Two(keras.Model):
        def __init__(self):
            super().__init__(name="sub")
            self.d1 = layers.Dense(4, name="s1")
            self.d2 = layers.Dense(1, name="s2")

        def call(self, x):
            return self.d2(self.d1(x))

    model = Two()
    rows = [[c.strip() for c in line.strip("│").split("│")]
            for line in lines_of(model) if line.startswith("│")]
    assert rows == [["s1 (Dense)", "?", "0 (unbuilt)"], ["s2 (Dense)", "?", "0 (unbuilt)"]]
    model(np.zeros((2, 3), "float32"))
    rows = [[c.strip() for c in line.strip("│").split("│")]
            for line in lines_of(model) if line.startswith("│")]
    assert rows == [["s1 (Dense)", "(2, 4)", str(3 * 4 + 4)], ["s2 (Dense)", "(2, 1)", "5"]]


# -------------------------------------------------------------------- optimizer params
def _size(num_bytes):
    return f"{num_bytes:.2f} B" if num_bytes < 1024 else f"{num_bytes / 1024:.2f} KB"


def _fitted(optimizer):
    model = keras.Sequential([keras.Input((3,)), layers.Dense(2)])
    model.compile(optimizer=optimizer, loss="mse")
    model.fit(np.zeros((4, 3)), np.zeros((4, 2)), verbose=0)
    return model


def test_no_optimizer_line_before_the_optimizer_is_built():
    model = keras.Sequential([keras.Input((3,)), layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    assert "Optimizer params" not in text_of(model)


@pytest.mark.parametrize("optimizer, slots_per_weight, has_lr_variable", [
    ("sgd", 0, True),
    ("adam", 2, True),  # m and v
    (lambda: keras.optimizers.SGD(
        keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9)), 0, False),
])
def test_optimizer_params_count_iterations_and_learning_rate(optimizer, slots_per_weight,
                                                             has_lr_variable):
    model = _fitted(optimizer() if callable(optimizer) else optimizer)
    weights = 3 * 2 + 2
    # Keras counts the step counter and, for a float learning rate, its float32 variable;
    # the counter is an int64 here (as on Keras's TensorFlow backend)
    counter_bytes = np.asarray(model.optimizer.variables[0]).dtype.itemsize
    count = 1 + has_lr_variable + slots_per_weight * weights
    size = counter_bytes + 4 * has_lr_variable + 4 * slots_per_weight * weights
    lines = lines_of(model)
    assert lines[-1] == f" Optimizer params: {count} ({_size(size)})"
    assert lines[-4] == f" Total params: {weights + count} ({_size(4 * weights + size)})"
