"""Replayed training steps (`gkeras.training.traced_step`) give the eager step's numbers.

Every test trains the same model twice from the same seed, once with `jit_compile=False`
(every step eager) and once as compiled by default (steps replayed where that is safe), and
requires identical weights and history: replay runs the same Functions on the same arrays, so
the results agree bit for bit. Where a model must not be replayed, the tests check that it is
not, and why.
"""

import numpy as np
import pytest

import gkeras as keras
from gkeras import layers, ops
from gkeras.autodiff import Function, Tensor
from gkeras.autodiff.core import Recording
from gkeras.training import traced_step


@pytest.fixture
def replays(monkeypatch):
    """Counts replayed steps."""
    count = {"n": 0}
    replay = traced_step._Trace.replay

    def counting(self, feeds):
        count["n"] += 1
        return replay(self, feeds)

    monkeypatch.setattr(traced_step._Trace, "replay", counting)
    return count


class Noisy(layers.Layer):
    """A user layer that draws noise outside any op: it must never be replayed."""

    def __init__(self):
        super().__init__(name="GaussianNoise")

    def call(self, inputs, training=False):
        noise = np.random.default_rng().standard_normal(inputs.shape).astype("float32")
        return ops.add(inputs, noise) if training else inputs


def mlp():
    return keras.Sequential([keras.Input((6,)), layers.Dense(8, activation="relu"),
                             layers.Dropout(0.25), layers.Dense(8, activation="tanh"),
                             layers.Dense(1, activation="sigmoid")])


def convnet():
    return keras.Sequential([keras.Input((9, 9, 2)), layers.Conv2D(4, 3, activation="relu"),
                             layers.BatchNormalization(), layers.MaxPooling2D(2),
                             layers.Flatten(), layers.Dense(5)])


def two_heads():
    inputs = keras.Input((6,))
    h = layers.Dense(8, activation="relu")(inputs)
    outputs = {"a": layers.Dense(1, activation="sigmoid", name="a")(h),
               "b": layers.Dense(3, name="b")(layers.Dense(4)(h))}
    return keras.Model(inputs, outputs)


def data(kind, n=70, seed=0):
    rng = np.random.default_rng(seed)
    if kind == "convnet":
        return rng.standard_normal((n, 9, 9, 2)).astype("float32"), rng.integers(0, 5, n)
    x = rng.standard_normal((n, 6)).astype("float32")
    binary = (x[:, :1] > 0).astype("float32")
    if kind == "two_heads":
        return x, {"a": binary, "b": rng.standard_normal((n, 3)).astype("float32")}
    return x, binary


SETUPS = {
    "mlp": (mlp, "binary_crossentropy", ["accuracy"]),
    "convnet": (convnet, keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                ["accuracy"]),
    "two_heads": (two_heads, {"a": "binary_crossentropy", "b": "mse"},
                  {"a": ["accuracy"], "b": ["mae"]}),
}


def train(kind, jit_compile, epochs=4, build=None, loss=None, fit_kwargs=None, **compile_kw):
    make, default_loss, metrics = SETUPS.get(kind, (None, None, None))
    keras.utils.set_random_seed(1)
    model = (build or make)()
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=loss or default_loss,
                  metrics=metrics if build is None else None, jit_compile=jit_compile,
                  **compile_kw)
    x, y = data(kind)
    history = model.fit(x, y, batch_size=16, epochs=epochs, verbose=0, **(fit_kwargs or {}))
    return model, history.history


def assert_same_training(a, b):
    (model_a, history_a), (model_b, history_b) = a, b
    assert history_a == history_b
    for u, v in zip(model_a.get_weights(), model_b.get_weights()):
        np.testing.assert_array_equal(u, v)
    for u, v in zip(model_a.optimizer.variables, model_b.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(u), np.asarray(v))


@pytest.mark.parametrize("kind", sorted(SETUPS))
def test_replayed_training_equals_eager_training(kind, replays):
    eager = train(kind, jit_compile=False)
    assert replays["n"] == 0
    replayed = train(kind, jit_compile="auto")
    # 70 samples in batches of 16: a full and a ragged signature, each recorded twice (the
    # ragged one in the first two epochs), every later step replayed
    assert replays["n"] == 4 * 5 - 4
    assert replayed[0]._traced_steps.blocker is None
    assert_same_training(eager, replayed)


def test_train_on_batch_loops_are_replayed_too(replays):
    results = []
    for jit in (False, True):
        keras.utils.set_random_seed(3)
        model = mlp()
        model.compile("adam", "binary_crossentropy", metrics=["accuracy"], jit_compile=jit)
        x, y = data("mlp")
        logs = [model.train_on_batch(x[i:i + 10], y[i:i + 10]) for i in range(0, 60, 10)]
        results.append((logs, model.get_weights()))
    assert replays["n"] == 4
    assert results[0][0] == results[1][0]
    for u, v in zip(results[0][1], results[1][1]):
        np.testing.assert_array_equal(u, v)


def test_trainable_changes_between_fits_are_traced_again(replays):
    runs = []
    for jit in (False, "auto"):
        model, first = train("mlp", jit)
        model.layers[0].trainable = False
        second = model.fit(*data("mlp", seed=1), batch_size=16, epochs=3, verbose=0)
        runs.append((model, (first, second.history)))
    assert_same_training(*runs)
    assert replays["n"] > 0


def test_ineligible_models_train_eagerly_and_say_why(replays):
    cases = {
        "GaussianNoise": lambda: keras.Sequential([keras.Input((6,)), layers.Dense(4),
                                                   Noisy(), layers.Dense(1)]),
        "activity regularizer": lambda: keras.Sequential([
            keras.Input((6,)), layers.Dense(1, activity_regularizer="l2")]),
    }
    for expected, build in cases.items():
        model, _ = train("mlp", "auto", epochs=2, build=build, loss="mse")
        assert expected in model._traced_steps.blocker
    model, _ = train("mlp", "auto", epochs=2, loss=lambda t, p: ops.mean(ops.abs(t - p), -1))
    assert "not a built-in loss" in model._traced_steps.blocker
    model, _ = train("mlp", True, epochs=2, run_eagerly=True)
    model2, _ = train("mlp", False, epochs=2)
    assert model2._traced_steps is None
    assert replays["n"] == 0


def test_subclassed_models_train_eagerly(replays):
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.hidden, self.out = layers.Dense(4, activation="relu"), layers.Dense(1)

        def call(self, inputs):
            return self.out(self.hidden(inputs))

    eager = train("mlp", False, build=Net, loss="mse")
    auto = train("mlp", "auto", build=Net, loss="mse")
    assert "Net" in auto[0]._traced_steps.blocker and replays["n"] == 0
    assert_same_training(eager, auto)


def test_a_batch_array_copied_outside_the_graph_is_never_replayed(replays):
    # ignore_class builds its mask from the labels with raw array code: the copy would go stale
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0)
    eager = train("convnet", False, loss=loss)
    auto = train("convnet", "auto", loss=loss)
    assert replays["n"] == 0
    assert_same_training(eager, auto)


class Masked(Function):
    """Keeps a batch-shaped array from its caller, as a careless op might."""

    def __init__(self, mask):
        self.mask = mask

    def forward(self, x):
        return x * self.mask

    def backward(self, gy):
        return gy * self.mask


def test_the_trace_flags_functions_that_keep_batch_arrays():
    x = Tensor(np.ones((4, 3), np.float32))
    mask = np.ones((4, 3), np.float32)
    with Recording() as recording:
        y = ops.multiply(Masked(mask)(x), 2.0)
        total = ops.sum(y)
    trace = traced_step._Trace(recording, [x.data], (total, [], [], [y], [], y), None)
    assert trace.problem == "Masked keeps a batch-shaped array"


def test_replayed_steps_still_check_the_labels(replays):
    model = convnet()
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x, y = data("convnet", n=96)
    y[-1] = 7  # out of range in the last of six batches: steps 3 to 6 are replayed
    with pytest.raises(ValueError, match="label value of 7 which is outside the valid range"):
        model.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    assert replays["n"] == 4


def test_a_layer_added_after_training_is_checked_again():
    model, _ = train("mlp", "auto", epochs=2)
    assert model._traced_steps.blocker is None
    model.add(Noisy())
    model.fit(*data("mlp"), batch_size=16, epochs=1, verbose=0)
    assert "GaussianNoise" in model._traced_steps.blocker


def test_traceable_calls_must_be_declared_by_the_class_that_defines_call():
    class Doubling(layers.Dense):  # overrides call without promising anything
        def call(self, inputs):
            return ops.multiply(super().call(inputs), 2.0)

    class Renamed(layers.Dense):  # inherits Dense.call, and its promise
        pass

    assert traced_step._owner_declares(layers.Dense, "call", "_traceable_call")
    assert traced_step._owner_declares(Renamed, "call", "_traceable_call")
    assert not traced_step._owner_declares(Doubling, "call", "_traceable_call")


def test_a_copy_that_happens_to_repeat_is_still_never_replayed(replays):
    """The first two batches carry the same labels, so the two recordings agree even on the
    mask that ignore_class builds from them; the batch-shaped constant still rules replay out
    (replaying it would apply the first batches' mask to every later batch)."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((64, 9, 9, 2)).astype("float32")
    y = rng.integers(0, 5, 64)
    y[16:32] = y[:16]
    runs = []
    for jit in (False, "auto"):
        keras.utils.set_random_seed(1)
        model = convnet()
        model.compile("adam", keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, ignore_class=0), jit_compile=jit)
        history = model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
        runs.append((model, history.history))
    assert replays["n"] == 0
    assert_same_training(*runs)


def test_a_recording_sees_only_its_own_thread():
    import threading

    x = Tensor(np.ones(3, np.float32))
    with Recording() as recording:
        worker = threading.Thread(target=lambda: ops.multiply(x, 3.0))
        worker.start()
        worker.join()
        ops.multiply(x, 2.0)
    calls = recording.calls
    assert len(calls) == 1 and calls[0][2][1].data == 2.0
    assert set(recording.literals) == {id(calls[0][2][1])}  # the 2.0 of this thread's op
    with Recording(), pytest.raises(RuntimeError, match="do not nest"), Recording():
        pass


@pytest.mark.parametrize("weighting", ["sample_weight", "class_weight", "loss_weights"])
def test_weighted_training_replays_and_equals_eager(weighting, replays):
    x, y = data("mlp")
    fit_kwargs, compile_kwargs, kind = {}, {}, "mlp"
    if weighting == "sample_weight":
        fit_kwargs["sample_weight"] = np.random.default_rng(2).random(len(x)).astype("float32")
    elif weighting == "class_weight":
        fit_kwargs["class_weight"] = {0: 0.3, 1: 2.0}
    else:
        kind, compile_kwargs["loss_weights"] = "two_heads", {"a": 0.2, "b": 3.0}
    eager = train(kind, False, fit_kwargs=fit_kwargs, **compile_kwargs)
    auto = train(kind, "auto", fit_kwargs=fit_kwargs, **compile_kwargs)
    assert replays["n"] > 0
    assert_same_training(eager, auto)


def test_two_input_functional_model_with_validation_replays(replays):
    def build():
        a, b = keras.Input((6,), name="a"), keras.Input((3,), name="b")
        h = layers.Concatenate()([layers.Dense(5, activation="relu")(a), b])
        return keras.Model([a, b], layers.Dense(1, activation="sigmoid")(h))

    x, y = data("mlp")
    extra = np.random.default_rng(4).standard_normal((len(x), 3)).astype("float32")
    runs = []
    for jit in (False, "auto"):
        keras.utils.set_random_seed(1)
        model = build()
        model.compile("adam", "binary_crossentropy", metrics=["accuracy"], jit_compile=jit)
        history = model.fit({"a": x, "b": extra}, y, batch_size=16, epochs=4,
                            validation_split=0.2, verbose=0)
        runs.append((model, history.history))
    assert replays["n"] > 0
    assert_same_training(*runs)


# ------------------------------------------------------- regressions found in review
def same_runs(run):
    """`run(jit_compile)` twice from one seed; returns both results."""
    out = []
    for jit in (False, "auto"):
        keras.utils.set_random_seed(1)
        out.append(run(jit))
    return out


@pytest.mark.parametrize("onehot", [False, True], ids=["sparse", "onehot"])
def test_sequence_labels_reshaped_for_the_loss_follow_every_batch(onehot, replays):
    """(batch, steps) labels are flattened for the fused loss: by an op, so replay redoes it;
    the first two batches carry equal labels, which a stale copy would go on using."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 5, 3)).astype("float32")
    y = rng.integers(0, 4, (64, 5))
    y[16:32] = y[:16]
    targets = np.eye(4, dtype="float32")[y] if onehot else y
    loss_class = (keras.losses.CategoricalCrossentropy if onehot
                  else keras.losses.SparseCategoricalCrossentropy)

    def run(jit):
        model = keras.Sequential([keras.Input((5, 3)), layers.Dense(8, activation="relu"),
                                  layers.Dense(4)])
        model.compile("adam", loss_class(from_logits=True), jit_compile=jit)
        return model, model.fit(x, targets, batch_size=16, epochs=3, shuffle=False,
                                verbose=0).history

    a, b = same_runs(run)
    assert replays["n"] > 0
    assert_same_training(a, b)


def test_a_number_computed_from_the_batch_is_never_replayed(replays):
    """mean_with_sample_weight divides by the batch's weight sum, computed outside the ops:
    a constant that is neither a Python number nor held by the model."""
    x, y = data("mlp", n=64)
    weights = np.random.default_rng(3).random(64).astype("float32")
    weights[16:32] = weights[:16][::-1]  # equal sums in the first two batches

    def run(jit):
        model = mlp()
        loss = keras.losses.BinaryCrossentropy(reduction="mean_with_sample_weight")
        model.compile("adam", loss, jit_compile=jit)
        return model, model.fit(x, y, sample_weight=weights, batch_size=16, epochs=3,
                                shuffle=False, verbose=0).history

    a, b = same_runs(run)
    assert replays["n"] == 0
    assert_same_training(a, b)


def test_dict_inputs_in_another_key_order_feed_the_right_arrays(replays):
    def build():
        a, b = keras.Input((6,), name="a"), keras.Input((3,), name="b")
        h = layers.Concatenate()([layers.Dense(4)(a), layers.Dense(4)(b)])
        return keras.Model({"a": a, "b": b}, layers.Dense(1)(h))

    rng = np.random.default_rng(2)
    xa, xb = rng.standard_normal((8, 6)), rng.standard_normal((8, 3))
    y = rng.standard_normal((8, 1))

    def run(jit):
        model = build()
        model.compile("sgd", "mse", jit_compile=jit)
        logs = [model.train_on_batch({"a": xa, "b": xb} if i < 3 else {"b": xb, "a": xa}, y)
                for i in range(6)]
        return model, logs

    a, b = same_runs(run)
    assert replays["n"] == 4
    assert_same_training(a, b)


def test_settings_changed_between_fits_are_seen(replays):
    def run(jit):
        model = mlp()
        model.compile("adam", "binary_crossentropy", jit_compile=jit)
        first = model.fit(*data("mlp"), batch_size=16, epochs=3, verbose=0).history
        model.layers[1].rate = 0.0  # the Dropout layer
        keras.config.set_epsilon(0.1)  # read by the loss's clipping
        try:
            second = model.fit(*data("mlp"), batch_size=16, epochs=3, verbose=0).history
        finally:
            keras.config.set_epsilon(1e-7)
        return model, (first, second)

    a, b = same_runs(run)
    assert replays["n"] > 0
    assert_same_training(a, b)


def test_freezing_a_layer_without_weights_is_seen_at_once(replays):
    """A BatchNormalization without gamma or beta has no trainable weight; freezing it (by a
    callback, mid-fit) switches it to its moving statistics all the same."""
    class Freeze(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                self.model.layers[1].trainable = False

    def run(jit):
        model = keras.Sequential([keras.Input((6,)), layers.Dense(8),
                                  layers.BatchNormalization(center=False, scale=False),
                                  layers.Dense(1, activation="sigmoid")])
        model.compile("adam", "binary_crossentropy", jit_compile=jit)
        return model, model.fit(*data("mlp"), batch_size=16, epochs=4, verbose=0,
                                callbacks=[Freeze()]).history

    a, b = same_runs(run)
    assert replays["n"] > 0
    assert_same_training(a, b)


def test_user_activations_and_call_path_overrides_train_eagerly(replays):
    class Ramp(layers.Dense):
        def __call__(self, *args, **kwargs):
            return super().__call__(*args, **kwargs)

    builds = {
        "has a user activation": lambda: keras.Sequential([
            keras.Input((6,)), layers.Dense(4, activation=lambda z: ops.multiply(z, 0.5)),
            layers.Dense(1)]),
        "of the user class Ramp": lambda: keras.Sequential([keras.Input((6,)), Ramp(4),
                                                             layers.Dense(1)]),
    }
    for reason, build in builds.items():
        model, _ = train("mlp", "auto", epochs=2, build=build, loss="mse")
        assert reason in model._traced_steps.blocker
    assert replays["n"] == 0


def test_metrics_and_returned_losses_do_not_see_the_kept_graph(replays):
    """Metrics read the predictions as an eager step leaves them (its graph freed: a softmax
    output's logits are gone), and each step's returned loss stays that step's."""
    x = np.random.default_rng(6).standard_normal((64, 6)).astype("float32")
    y = np.eye(3, dtype="float32")[np.random.default_rng(7).integers(0, 3, 64)]

    def run(jit):
        model = keras.Sequential([keras.Input((6,)), layers.Dense(3, activation="softmax")])
        model.compile("adam", "mse", metrics=[keras.metrics.CategoricalCrossentropy()],
                      jit_compile=jit)
        history = model.fit(x, y, batch_size=16, epochs=3, verbose=0).history
        returned = [model.train_step(Tensor(x[i:i + 16]), Tensor(y[i:i + 16]))
                    for i in range(0, 64, 16)]
        return model, (history, [float(t) for t in returned])

    a, b = same_runs(run)
    assert replays["n"] > 0
    assert_same_training(a, b)
    assert len(set(b[1][1])) == 4  # four different losses, not one overwritten tensor


def test_a_layer_added_during_fit_is_trained_from_then_on(replays):
    class Grow(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:
                self.model.pop()
                self.model.add(layers.Dense(1, activation="sigmoid", name="new_head"))

    def run(jit):
        model = mlp()
        model.compile("adam", "binary_crossentropy", jit_compile=jit)
        return model, model.fit(*data("mlp"), batch_size=16, epochs=3, verbose=0,
                                callbacks=[Grow()]).history

    a, b = same_runs(run)
    assert replays["n"] > 0
    assert_same_training(a, b)


def test_a_batch_array_given_twice_keeps_both_places(replays):
    """An autoencoder's generator yields `(x, x)` (one array object) and, later, a noisy
    input with the clean target: the two batch patterns must not share a recording."""
    rng = np.random.default_rng(8)
    clean = [rng.standard_normal((16, 6)).astype("float32") for _ in range(4)]

    def batches():
        while True:
            for i, c in enumerate(clean):
                yield (c, c) if i < 2 else (c + 0.5, c)

    def run(jit):
        model = keras.Sequential([keras.Input((6,)), layers.Dense(3), layers.Dense(6)])
        model.compile("sgd", "mse", jit_compile=jit)
        return model, model.fit(batches(), steps_per_epoch=4, epochs=3, verbose=0).history

    a, b = same_runs(run)
    assert_same_training(a, b)


def test_user_subclasses_must_make_the_promise_themselves(replays):
    class Nudged(layers.BatchNormalization):  # a helper of call, not call, overridden
        def _update_moving_statistics(self, mean, variance):
            self.moving_mean.assign(self.moving_mean.data + 0.01)

    class Promised(layers.Dense):
        _traceable_call = True  # the user vouches for the subclass

    def build(norm):
        return lambda: keras.Sequential([keras.Input((6,)), layers.Dense(4), norm(),
                                         Promised(1)])

    nudged = same_runs(lambda jit: train("mlp", jit, build=build(Nudged), loss="mse"))
    assert "user class Nudged" in nudged[1][0]._traced_steps.blocker and replays["n"] == 0
    assert_same_training(*nudged)
    promised = same_runs(lambda jit: train("mlp", jit, build=build(layers.BatchNormalization),
                                           loss="mse"))
    assert replays["n"] > 0
    assert_same_training(*promised)


def test_models_with_kept_recordings_still_copy_and_pickle():
    import copy
    import pickle

    model = mlp()
    model.compile("adam", "binary_crossentropy")
    x, y = data("mlp")
    for _ in range(4):  # train_on_batch keeps its recordings between calls
        model.train_on_batch(x[:16], y[:16])
    assert any(state.replayable for state in model._traced_steps._states.values())
    twin = copy.deepcopy(model)
    thawed = pickle.loads(pickle.dumps(model))
    for other in (twin, thawed):
        assert not other._traced_steps._states
        np.testing.assert_array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))
        other.train_on_batch(x[:16], y[:16])


def test_why_a_model_is_not_replayed_is_reported(replays):
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0)
    model, _ = train("convnet", "auto", loss=loss)
    assert "batch-shaped constant" in model._traced_steps.blocker
    assert replays["n"] == 0
