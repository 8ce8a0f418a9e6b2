"""EarlyStopping: patience, min_delta, baseline, warm-up, weight restoring, messages."""

import math

import numpy as np
import pytest

import gkeras as keras


def reference_stop(values, patience=0, min_delta=0.0, mode="min", baseline=None,
                   start_from_epoch=0):
    """Keras's rule, written as minimisation of `sign * value`: `(stop epoch, best epoch)`."""
    sign = 1.0 if mode == "min" else -1.0
    best, wait, best_epoch = math.inf, 0, None
    for epoch, value in enumerate(values):
        if epoch < start_from_epoch:
            continue
        score = sign * value
        wait += 1
        if score + abs(min_delta) < best:
            best, best_epoch = score, epoch
            if baseline is None or score + abs(min_delta) < sign * baseline:
                wait = 0
            continue
        if wait >= patience and epoch > 0:
            return epoch, best_epoch
    return None, best_epoch


def drive(callback, model, values, key="val_loss"):
    """Feeds `values` as epoch logs, as fit would; returns the epochs run."""
    callback.set_model(model)
    model.stop_training = False
    callback.on_train_begin()
    run = 0
    for epoch, value in enumerate(values):
        callback.on_epoch_end(epoch, {key: value})
        run += 1
        if model.stop_training:
            break
    callback.on_train_end()
    return run


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("mode", ["min", "max"])
def test_stopping_epoch_matches_the_reference_rule(seed, mode, make_model):
    rng = np.random.default_rng(seed)
    model = make_model("sequential")
    for _ in range(10):
        values = list(rng.standard_normal(12).cumsum() * 0.1)
        patience = int(rng.integers(0, 4))
        min_delta = float(rng.choice([0.0, 0.05, -0.05]))
        baseline = None if rng.random() < 0.5 else float(rng.standard_normal() * 0.1)
        start = int(rng.integers(0, 3))
        callback = keras.callbacks.EarlyStopping(
            patience=patience, min_delta=min_delta, mode=mode, baseline=baseline,
            start_from_epoch=start)
        run = drive(callback, model, values)
        stop, best_epoch = reference_stop(values, patience, min_delta, mode, baseline, start)
        assert run == (len(values) if stop is None else stop + 1)
        assert callback.stopped_epoch == (stop or 0)
        if best_epoch is not None:
            assert callback.best_epoch == best_epoch


def test_stops_after_patience_epochs_without_improvement(regression_data, make_model, capsys):
    x, y = regression_data
    model = make_model("sequential")
    model.compile(optimizer="sgd", loss="mse")
    # min_delta larger than any possible change: only the first epoch counts as an improvement
    stopper = keras.callbacks.EarlyStopping(monitor="loss", min_delta=1e6, patience=2, verbose=1)
    history = model.fit(x, y, epochs=10, batch_size=16, verbose=0, callbacks=[stopper])
    assert history.epoch == [0, 1, 2]
    assert stopper.stopped_epoch == 2 and model.stop_training
    assert capsys.readouterr().out == "Epoch 3: early stopping\n"


def test_real_fit_follows_the_reference_rule(regression_data, make_model):
    x, y = regression_data
    for kind in ("sequential", "functional", "subclassed"):
        model = make_model(kind)
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.3), loss="mse")
        stopper = keras.callbacks.EarlyStopping(patience=1, min_delta=0.01)
        history = model.fit(x, y, epochs=30, batch_size=8, validation_split=0.25, verbose=0,
                            callbacks=[stopper])
        values = history.history["val_loss"]
        stop, _ = reference_stop(values, patience=1, min_delta=0.01)
        assert stop == (len(values) - 1 if len(values) < 30 else None)


def test_restore_best_weights_after_stopping(regression_data, make_model, recorder, capsys):
    x, y = regression_data
    model = make_model("functional")
    model.compile(optimizer="sgd", loss="mse")
    # mode="max" on a loss: the best epoch is the worst fit, so restoring is visible
    stopper = keras.callbacks.EarlyStopping(monitor="loss", mode="max", patience=2, verbose=1,
                                            restore_best_weights=True)
    history = model.fit(x, y, epochs=10, batch_size=16, verbose=0,
                        callbacks=[recorder, stopper])
    losses = history.history["loss"]
    best = int(np.argmax(losses))
    assert stopper.best_epoch == best and stopper.best == max(losses)
    for restored, expected in zip(model.get_weights(), recorder.weights[best]):
        np.testing.assert_array_equal(restored, expected)
    assert capsys.readouterr().out == (
        f"Epoch {len(losses)}: early stopping\n"
        f"Restoring model weights from the end of the best epoch: {best + 1}.\n"
    )


def test_restore_best_weights_also_without_stopping(regression_data, make_model, recorder,
                                                    capsys):
    x, y = regression_data
    model = make_model("sequential")
    model.compile(optimizer="sgd", loss="mse")
    stopper = keras.callbacks.EarlyStopping(monitor="loss", mode="max", patience=100,
                                            restore_best_weights=True, verbose=1)
    history = model.fit(x, y, epochs=4, batch_size=16, verbose=0, callbacks=[recorder, stopper])
    best = int(np.argmax(history.history["loss"]))
    assert len(history.epoch) == 4 and stopper.stopped_epoch == 0
    for restored, expected in zip(model.get_weights(), recorder.weights[best]):
        np.testing.assert_array_equal(restored, expected)
    assert capsys.readouterr().out == (
        f"Restoring model weights from the end of the best epoch: {best + 1}.\n")


def test_baseline_that_is_never_beaten_keeps_the_wait_counting(regression_data, make_model):
    x, y = regression_data
    results = {}
    for baseline in (None, 1e9):
        model = make_model("sequential")
        model.compile(optimizer="sgd", loss="mse")
        # mode="max" on a falling loss; a baseline of 1e9 is never beaten, so even the first
        # epoch's "improvement" does not restart the wait
        stopper = keras.callbacks.EarlyStopping(monitor="loss", mode="max", baseline=baseline,
                                                patience=2)
        history = model.fit(x, y, epochs=8, batch_size=16, verbose=0, callbacks=[stopper])
        values = history.history["loss"]
        stop, _ = reference_stop(values, patience=2, mode="max", baseline=baseline)
        assert stop == len(values) - 1
        results[baseline] = len(values)
    assert results[1e9] < results[None]


def test_start_from_epoch_delays_monitoring(regression_data, make_model):
    x, y = regression_data
    model = make_model("sequential")
    model.compile(optimizer="sgd", loss="mse")
    stopper = keras.callbacks.EarlyStopping(monitor="loss", min_delta=1e6, patience=0,
                                            start_from_epoch=3)
    history = model.fit(x, y, epochs=10, batch_size=16, verbose=0, callbacks=[stopper])
    # epochs 0-2 are warm-up, epoch 3 sets the first best, epoch 4 has no improvement
    assert history.epoch == [0, 1, 2, 3, 4]


def test_missing_monitor_warns_with_the_available_keys(regression_data, make_model):
    x, y = regression_data
    model = make_model("sequential")
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=0)
    with pytest.warns(UserWarning, match=r"Early stopping conditioned on metric `val_loss` which "
                                         r"is not available\. Available metrics are: loss,mae"):
        history = model.fit(x, y, epochs=3, batch_size=16, verbose=0, callbacks=[stopper])
    assert history.epoch == [0, 1, 2]


def test_instances_can_be_reused(regression_data, make_model):
    x, y = regression_data
    model = make_model("sequential")
    model.compile(optimizer="sgd", loss="mse")
    stopper = keras.callbacks.EarlyStopping(monitor="loss", min_delta=1e6, patience=1)
    for _ in range(2):
        history = model.fit(x, y, epochs=10, batch_size=16, verbose=0, callbacks=[stopper])
        assert history.epoch == [0, 1]


def test_silent_by_default(regression_data, make_model, capsys):
    x, y = regression_data
    model = make_model("sequential")
    model.compile(optimizer="sgd", loss="mse")
    stopper = keras.callbacks.EarlyStopping(monitor="loss", min_delta=1e6,
                                            restore_best_weights=True)
    model.fit(x, y, epochs=5, batch_size=16, verbose=0, callbacks=[stopper])
    assert capsys.readouterr().out == ""
