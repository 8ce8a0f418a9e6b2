"""compile semantics: Keras 2 metric names and order, accuracy resolution, loss weights."""

import numpy as np
import pytest

import gkeras as keras
from gkeras import layers


def two_head_model():
    inputs = keras.Input(shape=(8,))
    h = layers.Dense(16, activation="relu")(inputs)
    out1 = layers.Dense(1, activation="sigmoid", name="output_1")(h)
    out2 = layers.Dense(1, activation="sigmoid", name="output_2")(h)
    return keras.Model(inputs=inputs, outputs=[out1, out2])


def two_head_data(rng, n=64):
    x = rng.standard_normal((n, 8)).astype("float32")
    return x, (x[:, 0] > 0).astype("float32"), (x[:, 1] > 0).astype("float32")


def test_flat_metrics_list_applies_to_every_output_with_keras2_names(rng):
    model = two_head_model()
    model.compile(optimizer="adam",
                  loss={"output_1": "binary_crossentropy", "output_2": "binary_crossentropy"},
                  metrics=["accuracy"])
    assert model.metrics_names == ["loss", "output_1_loss", "output_2_loss",
                                   "output_1_accuracy", "output_2_accuracy"]
    x, y1, y2 = two_head_data(rng)
    results = model.evaluate(x, [y1, y2], verbose=0)
    assert len(results) == 5
    loss, l1, l2, a1, a2 = results
    assert loss == pytest.approx(l1 + l2, rel=1e-5)
    p1, p2 = model.predict(x, verbose=0)
    assert a1 == pytest.approx(np.mean((p1.ravel() > 0.5) == (y1 > 0.5)), abs=1e-6)
    assert a2 == pytest.approx(np.mean((p2.ravel() > 0.5) == (y2 > 0.5)), abs=1e-6)
    history = model.fit(x, {"output_1": y1, "output_2": y2}, epochs=1, verbose=0)
    assert list(history.history) == sorted(model.metrics_names)


def test_loss_weights_weight_the_total_but_not_the_reported_parts(rng):
    model = two_head_model()
    model.compile(optimizer="sgd", loss=["binary_crossentropy", "binary_crossentropy"],
                  loss_weights={"output_1": 0.25, "output_2": 2.0})
    x, y1, y2 = two_head_data(rng)
    loss, l1, l2 = model.evaluate(x, [y1, y2], verbose=0)
    assert loss == pytest.approx(0.25 * l1 + 2.0 * l2, rel=1e-5)


def test_metrics_dict_per_output(rng):
    model = two_head_model()
    model.compile(optimizer="adam", loss="binary_crossentropy",
                  metrics={"output_2": ["accuracy", "mse"]})
    assert model.metrics_names == ["loss", "output_1_loss", "output_2_loss",
                                   "output_2_accuracy", "output_2_mse"]


@pytest.mark.parametrize("loss, units, labels, expected", [
    ("binary_crossentropy", 1, "binary", "BinaryAccuracy"),
    ("sparse_categorical_crossentropy", 3, "sparse", "SparseCategoricalAccuracy"),
    ("categorical_crossentropy", 3, "onehot", "CategoricalAccuracy"),
    ("mse", 1, "binary", "BinaryAccuracy"),
])
def test_accuracy_string_resolves_from_loss_and_shape(rng, loss, units, labels, expected):
    model = keras.Sequential([layers.Dense(units, input_shape=(4,),
                                           activation="sigmoid" if units == 1 else "softmax")])
    model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    x = rng.standard_normal((20, 4)).astype("float32")
    ids = rng.integers(0, units if units > 1 else 2, 20)
    y = {"binary": ids.astype("float32"), "sparse": ids,
         "onehot": np.eye(3, dtype="float32")[ids]}[labels]
    model.fit(x, y, epochs=1, verbose=0)
    accuracy_metric = model.metrics[-1]
    assert type(accuracy_metric).__name__ == expected
    assert accuracy_metric.name == "accuracy"


def test_acc_alias_keeps_its_name(rng):
    model = keras.Sequential([layers.Dense(1, input_shape=(2,), activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["acc"])
    x = rng.standard_normal((8, 2)).astype("float32")
    history = model.fit(x, (x[:, 0] > 0).astype("float32"), verbose=0)
    assert "acc" in history.history and "accuracy" not in history.history


def test_unknown_strings_list_the_choices():
    model = keras.Sequential([layers.Dense(1, input_shape=(2,))])
    with pytest.raises(ValueError, match="adam"):
        model.compile(optimizer="adamm", loss="mse")
    with pytest.raises(ValueError, match="mean_squared_error"):
        model.compile(optimizer="sgd", loss="mean_squared_eror")
    with pytest.raises(ValueError, match="accuracy|mse"):
        model.compile(optimizer="sgd", loss="mse", metrics=["acuracy"])


def test_loss_dict_with_unknown_output_name_lists_valid_names():
    model = two_head_model()
    with pytest.raises(ValueError, match="output_1"):
        model.compile(optimizer="sgd", loss={"output_3": "mse"})


def test_custom_loss_and_metric_functions(rng):
    def my_loss(y_true, y_pred):
        return keras.ops.mean(keras.ops.square(y_pred - y_true), axis=-1)

    def my_metric(y_true, y_pred):
        return keras.ops.mean(keras.ops.abs(y_pred - y_true), axis=-1)

    model = keras.Sequential([layers.Dense(1, input_shape=(3,))])
    model.compile(optimizer="sgd", loss=my_loss, metrics=[my_metric])
    x = rng.standard_normal((16, 3)).astype("float32")
    y = rng.standard_normal((16, 1)).astype("float32")
    loss, mae = model.evaluate(x, y, verbose=0, batch_size=16)
    pred = model.predict(x, verbose=0)
    assert loss == pytest.approx(np.mean((pred - y) ** 2), rel=1e-5)
    assert mae == pytest.approx(np.mean(np.abs(pred - y)), rel=1e-5)
    assert model.metrics_names == ["loss", "my_metric"]


def test_compile_accepts_and_ignores_execution_options():
    model = keras.Sequential([layers.Dense(1, input_shape=(2,))])
    model.compile(optimizer="sgd", loss="mse", run_eagerly=True, steps_per_execution=4,
                  jit_compile=True)
    assert model.compiled


def test_metrics_list_of_lists_goes_by_output(rng):
    model = two_head_model()
    model.compile(optimizer="adam", loss="binary_crossentropy",
                  metrics=[["mse"], ["accuracy", "mae"]])
    assert model.metrics_names == ["loss", "output_1_loss", "output_2_loss", "output_1_mse",
                                   "output_2_accuracy", "output_2_mae"]
    x, y1, y2 = two_head_data(rng)
    results = dict(zip(model.metrics_names, model.evaluate(x, [y1, y2], verbose=0)))
    p1, p2 = model.predict(x, verbose=0)
    assert results["output_1_mse"] == pytest.approx(np.mean((p1.ravel() - y1) ** 2), rel=1e-5)
    assert results["output_2_mae"] == pytest.approx(np.mean(np.abs(p2.ravel() - y2)), rel=1e-5)
    mixed = two_head_model()
    mixed.compile(optimizer="adam", loss="binary_crossentropy", metrics=["mse", ["mae"]])
    assert mixed.metrics_names[3:] == ["output_1_mse", "output_2_mae"]
    with pytest.raises(ValueError, match=r"one list per model output.*2 output\(s\)"):
        two_head_model().compile(optimizer="adam", loss="binary_crossentropy",
                                 metrics=[["mse"], ["mae"], ["mse"]])


def test_a_weighted_metric_named_like_an_unweighted_one_gets_the_weighted_prefix(rng):
    x, y1, y2 = two_head_data(rng)
    weights = rng.uniform(0.1, 1.0, len(x)).astype("float32")
    inputs = keras.Input(shape=(8,))
    model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(inputs))
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"],
                  weighted_metrics=["accuracy"])
    got = model.evaluate(x, y1, sample_weight=weights, verbose=0, return_dict=True)
    hits = (model.predict(x, verbose=0).ravel() > 0.5) == (y1 > 0.5)
    assert got["accuracy"] == pytest.approx(hits.mean(), abs=1e-6)
    assert got["weighted_accuracy"] == pytest.approx((hits * weights).sum() / weights.sum(),
                                                     rel=1e-5)
    two = two_head_model()
    two.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["mae"],
                weighted_metrics=["mae"])
    assert two.metrics_names[3:] == ["output_1_mae", "output_1_weighted_mae", "output_2_mae",
                                     "output_2_weighted_mae"]


def test_two_metrics_with_one_name_are_refused(rng):
    x, y1, _ = two_head_data(rng)
    inputs = keras.Input(shape=(8,))
    model = keras.Model(inputs, layers.Dense(1)(inputs))
    with pytest.raises(ValueError, match="two metrics with the same name: 'mae'"):
        # a functional model builds its metrics at compile, others at the first batch
        model.compile(optimizer="sgd", loss="mse", metrics=["mae", "mae"])
        model.fit(x, y1, epochs=1, verbose=0)
