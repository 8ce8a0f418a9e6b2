"""TerminateOnNaN and LambdaCallback in real fits."""

import math

import numpy as np
import pytest

import gkeras as keras


# ------------------------------------------------------------------ TerminateOnNaN
def data_with_nan_in_batch(regression_data, batch_index, batch_size=8):
    x, y = regression_data
    x = x.copy()
    x[batch_index * batch_size + 3, 1] = np.nan
    return x, y


def test_stops_at_the_first_non_finite_batch_loss(regression_data, make_model, capsys, bk):
    x, y = data_with_nan_in_batch(regression_data, batch_index=2)
    model = make_model("sequential")
    model.compile(optimizer="sgd", loss="mse")
    batches = []
    counter = keras.callbacks.LambdaCallback(
        on_train_batch_begin=lambda batch, logs: batches.append(batch))
    # TerminateOnNaN reports the loss itself, so fit adds no warning (warnings are errors here)
    history = model.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0,
                        callbacks=[counter, keras.callbacks.TerminateOnNaN()])
    assert batches == [0, 1, 2]  # batch 2 holds the NaN; nothing runs after it
    assert history.epoch == [0] and math.isnan(history.history["loss"][0])
    assert model.stop_training
    assert capsys.readouterr().out == "Batch 2: Invalid loss, terminating training\n"


def test_infinite_loss_also_stops(make_model, capsys):
    x = np.ones((16, 3), "float32")
    y = np.full((16, 1), np.inf, "float32")
    model = make_model("functional")
    model.compile(optimizer="sgd", loss="mae")
    history = model.fit(x, y, epochs=2, batch_size=8, verbose=0,
                        callbacks=[keras.callbacks.TerminateOnNaN()])
    assert history.epoch == [0]
    assert capsys.readouterr().out == "Batch 0: Invalid loss, terminating training\n"


def test_finite_training_is_untouched(regression_data, make_model, capsys):
    x, y = regression_data
    model = make_model("sequential")
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0,
                        callbacks=[keras.callbacks.TerminateOnNaN()])
    assert history.epoch == [0, 1] and capsys.readouterr().out == ""


def test_raise_error_skips_on_train_end(regression_data, make_model):
    x, y = data_with_nan_in_batch(regression_data, batch_index=1)
    model = make_model("sequential")
    model.compile(optimizer="sgd", loss="mse")
    ended = []
    end = keras.callbacks.LambdaCallback(on_train_end=lambda logs: ended.append(True))
    with pytest.raises(RuntimeError, match="NaN or Inf loss encountered at batch 1"):
        model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0,
                  callbacks=[keras.callbacks.TerminateOnNaN(raise_error=True), end])
    assert ended == []


# ------------------------------------------------------------------ LambdaCallback
def test_every_hook_is_called_with_its_arguments(regression_data, make_model):
    x, y = regression_data
    model = make_model("functional")
    model.compile(optimizer="sgd", loss="mse")
    events = []
    callback = keras.callbacks.LambdaCallback(
        on_train_begin=lambda logs: events.append(("train_begin",)),
        on_epoch_begin=lambda epoch, logs: events.append(("epoch_begin", epoch)),
        on_train_batch_begin=lambda batch, logs: events.append(("batch_begin", batch)),
        on_train_batch_end=lambda batch, logs: events.append(("batch_end", batch, logs["loss"])),
        on_epoch_end=lambda epoch, logs: events.append(("epoch_end", epoch, logs["loss"])),
        on_train_end=lambda logs: events.append(("train_end", logs["loss"])),
        on_test_begin=lambda logs: events.append(("test_begin",)),
    )
    history = model.fit(x, y, epochs=2, batch_size=32, shuffle=False, verbose=0,
                        callbacks=[callback])
    losses = history.history["loss"]
    names = [e[:2] if len(e) > 1 else e for e in events]
    assert names == [("train_begin",), ("epoch_begin", 0), ("batch_begin", 0), ("batch_end", 0),
                     ("batch_begin", 1), ("batch_end", 1), ("epoch_end", 0), ("epoch_begin", 1),
                     ("batch_begin", 0), ("batch_end", 0), ("batch_begin", 1), ("batch_end", 1),
                     ("epoch_end", 1), ("train_end", losses[-1])]
    epoch_ends = [e for e in events if e[0] == "epoch_end"]
    assert [e[2] for e in epoch_ends] == losses
    # the last batch's running loss is the epoch loss
    batch_ends = [e for e in events if e[0] == "batch_end"]
    assert batch_ends[1][2] == pytest.approx(losses[0]) and batch_ends[3][2] == pytest.approx(
        losses[1])
    # evaluate calls the test hooks
    model.evaluate(x, y, verbose=0, callbacks=[callback])
    assert events[-1] == ("test_begin",)


def test_keras2_batch_hook_names_work(regression_data, make_model):
    x, y = regression_data
    model = make_model("sequential")
    model.compile(optimizer="sgd", loss="mse")
    seen = []
    callback = keras.callbacks.LambdaCallback(
        on_batch_end=lambda batch, logs: seen.append((batch, sorted(logs))))
    model.fit(x, y, epochs=1, batch_size=32, verbose=0, callbacks=[callback])
    assert seen == [(0, ["loss"]), (1, ["loss"])]


def test_bad_hooks():
    with pytest.raises(TypeError, match=r"unknown hook name\(s\) \['on_epoch_finish'\]. Valid "
                                        r"hooks: \[.*'on_epoch_end'"):
        keras.callbacks.LambdaCallback(on_epoch_finish=print)
    with pytest.raises(TypeError, match="`on_epoch_end` must be callable; got 3"):
        keras.callbacks.LambdaCallback(on_epoch_end=3)
