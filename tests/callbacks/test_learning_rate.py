"""LearningRateScheduler and ReduceLROnPlateau: the rate the optimizer really uses."""

import math

import numpy as np
import pytest

import gkeras as keras


# ----------------------------------------------------------- LearningRateScheduler
def test_schedule_of_epoch_and_lr_sets_the_rate_every_epoch(regression_data, make_model, capsys):
    x, y = regression_data
    model = make_model("sequential")
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
    calls = []

    def schedule(epoch, lr):
        calls.append((epoch, lr))
        return lr * 0.5

    scheduler = keras.callbacks.LearningRateScheduler(schedule, verbose=1)
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0, callbacks=[scheduler])
    rates = [0.1 * 0.5 ** (e + 1) for e in range(3)]
    assert calls == [(0, 0.1), (1, rates[0]), (2, rates[1])]
    assert history.history["learning_rate"] == rates
    assert list(history.history) == ["learning_rate", "loss"]
    assert model.optimizer.learning_rate == rates[-1]
    assert capsys.readouterr().out == "".join(
        f"\nEpoch {e + 1}: LearningRateScheduler setting learning rate to {r}.\n"
        for e, r in enumerate(rates))


def test_schedule_of_epoch_only_and_the_rate_is_really_used(regression_data, make_model,
                                                            recorder, bk):
    x, y = regression_data
    model = make_model("functional")
    model.compile(optimizer="sgd", loss="mse")
    # epoch 1 runs with a zero rate: its weights must equal epoch 0's exactly
    scheduler = keras.callbacks.LearningRateScheduler(lambda epoch: 0.0 if epoch == 1 else 0.05)
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0,
                        callbacks=[scheduler, recorder])
    assert history.history["learning_rate"] == [0.05, 0.0, 0.05]
    for w0, w1 in zip(recorder.weights[0], recorder.weights[1]):
        np.testing.assert_array_equal(w0, w1)
    assert any(not np.array_equal(w1, w2)
               for w1, w2 in zip(recorder.weights[1], recorder.weights[2]))


def test_schedule_must_return_a_float(regression_data, make_model):
    x, y = regression_data
    model = make_model("sequential")
    model.compile(optimizer="sgd", loss="mse")
    scheduler = keras.callbacks.LearningRateScheduler(lambda epoch: "fast")
    with pytest.raises(ValueError, match=r"should be a float\. Got: 'fast' \(of type str\)"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[scheduler])
    with pytest.raises(TypeError, match="must be a function"):
        keras.callbacks.LearningRateScheduler(0.1)


def test_scheduler_needs_a_compiled_model(make_model):
    scheduler = keras.callbacks.LearningRateScheduler(lambda epoch: 0.1)
    scheduler.set_model(make_model("sequential"))
    with pytest.raises(ValueError, match="needs a compiled model"):
        scheduler.on_epoch_begin(0)


# --------------------------------------------------------------- ReduceLROnPlateau
def reference_rates(values, lr, factor, patience, cooldown, min_lr, min_delta, mode):
    """Keras's plateau rule: the rate logged at each epoch end, and the final rate."""
    sign = 1.0 if mode == "min" else -1.0
    best, wait, cooldown_left, logged = math.inf, 0, 0, []
    for value in values:
        logged.append(lr)
        score = sign * value
        if cooldown_left > 0:
            cooldown_left -= 1
            wait = 0
        if score < best - min_delta:
            best, wait = score, 0
        elif cooldown_left == 0:
            wait += 1
            if wait >= patience and np.float32(lr) > np.float32(min_lr):
                lr = max(lr * factor, min_lr)
                cooldown_left, wait = cooldown, 0
    return logged, lr


@pytest.mark.parametrize("patience, cooldown, min_lr", [(1, 0, 0.0), (2, 1, 0.0), (1, 0, 0.02),
                                                        (0, 2, 0.0)])
def test_reduces_on_plateau_as_keras_does(regression_data, make_model, patience, cooldown,
                                          min_lr, capsys):
    x, y = regression_data
    model = make_model("sequential")
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
    # mode="max" on a loss that mostly falls: plateaus are guaranteed
    reducer = keras.callbacks.ReduceLROnPlateau(monitor="loss", mode="max", factor=0.5,
                                                patience=patience, cooldown=cooldown,
                                                min_lr=min_lr, verbose=1)
    history = model.fit(x, y, epochs=6, batch_size=16, verbose=0, callbacks=[reducer])
    logged, final = reference_rates(history.history["loss"], 0.1, 0.5, patience, cooldown,
                                    min_lr, 1e-4, "max")
    assert history.history["learning_rate"] == logged
    assert model.optimizer.learning_rate == final and final < 0.1
    expected = "".join(
        f"\nEpoch {e + 1}: ReduceLROnPlateau reducing learning rate to {logged[e + 1]}.\n"
        for e in range(5) if logged[e + 1] != logged[e])
    if final != logged[-1]:
        expected += f"\nEpoch 6: ReduceLROnPlateau reducing learning rate to {final}.\n"
    assert capsys.readouterr().out == expected


def test_rate_is_left_alone_while_the_monitor_improves(regression_data, make_model, capsys):
    x, y = regression_data
    model = make_model("functional")
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05), loss="mse")
    reducer = keras.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1,
                                                min_delta=0.0, verbose=1)
    history = model.fit(x, y, epochs=5, batch_size=16, verbose=0, callbacks=[reducer])
    logged, final = reference_rates(history.history["loss"], 0.05, 0.5, 1, 0, 0.0, 0.0, "min")
    assert history.history["learning_rate"] == logged
    assert model.optimizer.learning_rate == final
    assert ("reducing" in capsys.readouterr().out) == (final != 0.05)


def test_val_accuracy_auto_mode_is_max(binary_data, make_model):
    x, y = binary_data
    model = make_model("sequential", activation="sigmoid")
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    reducer = keras.callbacks.ReduceLROnPlateau(monitor="val_accuracy", patience=1)
    history = model.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0,
                        callbacks=[reducer])
    assert reducer.resolved_mode == "max"
    assert reducer.best == max(history.history["val_accuracy"])


def test_missing_monitor_warns(regression_data, make_model):
    x, y = regression_data
    model = make_model("sequential")
    model.compile(optimizer="sgd", loss="mse")
    reducer = keras.callbacks.ReduceLROnPlateau(monitor="val_loss")
    with pytest.warns(UserWarning, match=r"conditioned on metric `val_loss` which is not "
                                         r"available\. Available metrics are: "
                                         r"learning_rate,loss\."):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[reducer])


def test_factor_must_be_below_one():
    with pytest.raises(ValueError, match=r"does not support a factor >= 1\.0\. Received "
                                         r"factor=1\.5"):
        keras.callbacks.ReduceLROnPlateau(factor=1.5)
    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\) \['patiense'\]"):
        keras.callbacks.ReduceLROnPlateau(patiense=3)
