"""`mode='auto'` resolution and the mode checks shared by the monitoring callbacks."""

import pytest

import gkeras as keras
from gkeras.callbacks._monitor import is_improvement, resolve_mode


@pytest.mark.parametrize("monitor, expected", [
    ("loss", "min"), ("val_loss", "min"), ("dense_1_loss", "min"), ("val_output_a_loss", "min"),
    ("accuracy", "max"), ("val_accuracy", "max"), ("acc", "max"), ("val_acc", "max"),
    ("binary_accuracy", "max"), ("sparse_categorical_accuracy", "max"),
    ("top_k_categorical_accuracy", "max"), ("dense_1_accuracy", "max"),
    ("auc", "max"), ("val_auc_1", "max"), ("precision", "max"), ("val_recall", "max"),
    ("f1_score", "max"), ("mean_iou", "max"), ("r2_score", "max"),
    ("true_positives", "max"), ("false_positives", "min"), ("val_false_negatives", "min"),
    ("mean_absolute_error", "min"), ("mse", "min"), ("val_mae", "min"),
    ("kl_divergence", "min"), ("custom_thing", "min"),
])
def test_auto_mode_from_the_monitored_name(monitor, expected):
    assert resolve_mode("auto", monitor) == expected


@pytest.mark.parametrize("mode", ["min", "max"])
def test_explicit_mode_wins(mode):
    assert resolve_mode(mode, "val_accuracy") == mode
    assert resolve_mode(mode, "val_loss") == mode


def test_a_metric_that_declares_its_direction_is_followed():
    class Model:
        metrics_names = ["loss", "score"]

        def __init__(self, direction):
            metric = type("M", (), {"name": "score", "_direction": direction})()
            self.metrics = [object(), metric]

    assert resolve_mode("auto", "val_score", Model("up")) == "max"
    assert resolve_mode("auto", "val_score", Model("down")) == "min"
    assert resolve_mode("auto", "val_score") == "min"


@pytest.mark.parametrize("mode, current, best, min_delta, expected", [
    ("min", 0.5, 0.6, 0.0, True), ("min", 0.6, 0.6, 0.0, False), ("min", 0.55, 0.6, 0.1, False),
    ("min", 0.45, 0.6, 0.1, True), ("max", 0.7, 0.6, 0.0, True), ("max", 0.6, 0.6, 0.0, False),
    ("max", 0.65, 0.6, 0.1, False), ("max", 0.75, 0.6, -0.1, True),
    ("min", 1e9, float("inf"), 0.0, True), ("max", -1e9, float("-inf"), 5.0, True),
])
def test_improvement_is_strict_and_uses_the_absolute_min_delta(mode, current, best, min_delta,
                                                               expected):
    assert is_improvement(mode, current, best, min_delta) is expected


@pytest.mark.parametrize("factory", [
    lambda mode: keras.callbacks.EarlyStopping(mode=mode),
    lambda mode: keras.callbacks.ReduceLROnPlateau(mode=mode),
    lambda mode: keras.callbacks.ModelCheckpoint("m.h5", mode=mode),
])
def test_unknown_mode_warns_and_falls_back_to_auto(factory):
    with pytest.warns(UserWarning, match=r"mode 'maximum' is unknown, fallback to auto mode"):
        callback = factory("maximum")
    assert callback.mode == "auto"


def test_monitor_must_be_a_string():
    with pytest.raises(TypeError, match=r"`monitor` must be a log key.*got 3"):
        keras.callbacks.EarlyStopping(monitor=3)


def test_auto_mode_in_a_real_fit_maximises_accuracy(binary_data, make_model):
    x, y = binary_data
    model = make_model("functional", activation="sigmoid")
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    stopper = keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=100)
    history = model.fit(x, y, epochs=4, batch_size=16, validation_split=0.25, verbose=0,
                        callbacks=[stopper])
    assert stopper.resolved_mode == "max"
    assert stopper.best == max(history.history["val_accuracy"])
