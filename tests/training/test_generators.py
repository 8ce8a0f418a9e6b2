"""fit / evaluate / predict (and the Keras 2 generator methods) on generators and Sequences.

Every result is compared with the same model trained or evaluated on plain arrays.
"""

import threading
import time

import numpy as np
import pytest

import gkeras as keras
from gkeras import layers
from gkeras.training import generator_adapter as ga
from gkeras.training.generator_methods import GeneratorMethods
from gkeras.utils.sequence import PyDataset, Sequence

N, BATCH = 96, 16
STEPS = N // BATCH


def make_data(seed=0, n=N):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 3)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5]], dtype="float32") + 0.3).astype("float32")
    return x, y


def endless(x, y, sw=None, batch=BATCH):
    """A Keras 2 style generator: loops over the data forever, in order."""
    while True:
        for start in range(0, len(x), batch):
            part = slice(start, start + batch)
            yield (x[part], y[part]) if sw is None else (x[part], y[part], sw[part])


class ArraySequence(Sequence):
    """Batches of arrays by index; records which thread produced each batch."""

    def __init__(self, x, y=None, batch=BATCH, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.batch = x, y, batch
        self.threads = set()
        self.epoch_ends = 0

    def __len__(self):
        return -(-len(self.x) // self.batch)

    def __getitem__(self, index):
        self.threads.add(threading.current_thread().name)
        part = slice(index * self.batch, (index + 1) * self.batch)
        return self.x[part] if self.y is None else (self.x[part], self.y[part])

    def on_epoch_end(self):
        self.epoch_ends += 1


class IndexSequence(Sequence):
    """Batch i is a (2, 1) array filled with i: delivery order is visible in the data.

    Every third batch is slow, so with several workers batches finish out of order.
    """

    def __init__(self, n):
        super().__init__()
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, index):
        if index % 3 == 0:
            time.sleep(0.005)
        return np.full((2, 1), index, dtype="float32"), np.zeros((2, 1), dtype="float32")


class OffsetSequence(Sequence):
    """on_epoch_end changes the data: worker processes must see the new state."""

    def __init__(self):
        super().__init__()
        self.offset = 0

    def __len__(self):
        return 3

    def __getitem__(self, index):
        return np.full((1, 1), 10 * self.offset + index, dtype="float32"), np.zeros((1, 1))

    def on_epoch_end(self):
        self.offset += 1


def linear_model(weights=None):
    model = keras.Sequential([layers.Dense(1, input_shape=(3,))])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.05), loss="mse")
    model.set_weights(weights if weights is not None else
                      [np.array([[0.1], [0.2], [-0.1]], "float32"), np.zeros(1, "float32")])
    return model


def epoch_orders(adapter, epochs):
    orders = []
    for _ in range(epochs):
        orders.append([int(bx[0, 0]) for bx, _, _ in adapter])
        adapter.on_epoch_end()
    return orders


def assert_same_weights(a, b):
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-6, atol=1e-7)


# ------------------------------------------------------------------ training
@pytest.mark.parametrize("workers", [0, 1, 4])
def test_generator_fit_trains_exactly_like_arrays(workers):
    x, y = make_data()
    reference = linear_model()
    reference.fit(x, y, batch_size=BATCH, epochs=3, shuffle=False, verbose=0)
    model = linear_model()
    history = model.fit(endless(x, y), steps_per_epoch=STEPS, epochs=3, verbose=0,
                        workers=workers, max_queue_size=2)
    assert_same_weights(model, reference)
    assert history.params["steps"] == STEPS and len(history.history["loss"]) == 3


@pytest.mark.parametrize("workers", [0, 1, 4])
def test_sequence_fit_trains_exactly_like_arrays(workers):
    x, y = make_data()
    reference = linear_model()
    reference.fit(x, y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
    model = linear_model()
    seq = ArraySequence(x, y)
    model.fit(seq, epochs=2, shuffle=False, verbose=0, workers=workers)
    assert_same_weights(model, reference)
    assert seq.epoch_ends == 2


@pytest.mark.parametrize("workers", [0, 4])
def test_sequence_shuffle_follows_the_global_seed(workers):
    keras.utils.set_random_seed(3)
    adapter = ga.make_adapter(IndexSequence(10), shuffle=True, workers=workers)
    try:
        orders = epoch_orders(adapter, 3)
    finally:
        adapter.close()
    reference = np.random.default_rng(3)  # what set_random_seed(3) seeds
    expected = [reference.permutation(10).tolist() for _ in range(3)]
    assert orders == expected
    assert all(sorted(order) == list(range(10)) for order in orders)
    assert orders[0] != orders[1]


@pytest.mark.parametrize("workers", [0, 3])
def test_sequence_without_shuffle_delivers_index_order(workers):
    adapter = ga.make_adapter(IndexSequence(7), shuffle=False, workers=workers, max_queue_size=2)
    try:
        assert epoch_orders(adapter, 2) == [list(range(7))] * 2
    finally:
        adapter.close()


def test_seeded_shuffled_training_is_identical_for_any_worker_count():
    x, y = make_data()
    results = []
    for workers in (0, 4):
        keras.utils.set_random_seed(11)
        model = linear_model()
        model.fit(ArraySequence(x, y), epochs=3, shuffle=True, verbose=0, workers=workers)
        results.append(model)
    assert_same_weights(*results)
    unshuffled = linear_model()
    unshuffled.fit(ArraySequence(x, y), epochs=3, shuffle=False, verbose=0)
    assert not np.allclose(unshuffled.get_weights()[0], results[0].get_weights()[0])


def test_sequence_steps_take_a_prefix_or_wrap_around():
    for steps, expected in ((3, [0, 1, 2]), (6, [0, 1, 2, 3, 0, 1])):
        adapter = ga.make_adapter(IndexSequence(4), steps=steps, workers=2)
        try:
            assert adapter.num_batches == steps
            assert epoch_orders(adapter, 1) == [expected]
        finally:
            adapter.close()


def test_sample_weights_and_class_weights_from_batches():
    x, y = make_data()
    sw = np.linspace(0.0, 2.0, N).astype("float32")
    model = linear_model()
    expected = model.evaluate(x, y, sample_weight=sw, batch_size=BATCH, verbose=0)
    got = model.evaluate(endless(x, y, sw), steps=STEPS, verbose=0, workers=2)
    assert got == pytest.approx(expected, rel=1e-6)
    assert got != pytest.approx(model.evaluate(x, y, verbose=0), rel=1e-3)

    labels = (x[:, 0] > 0).astype("float32")[:, None]
    weights = {0: 1.0, 1: 4.0}
    reference = linear_model()
    reference.fit(x, labels, batch_size=BATCH, class_weight=weights, shuffle=False, verbose=0)
    model = linear_model()
    model.fit(endless(x, labels), steps_per_epoch=STEPS, class_weight=weights, verbose=0)
    assert_same_weights(model, reference)


def test_dict_inputs_and_outputs_by_name():
    rng = np.random.default_rng(5)
    a = rng.standard_normal((32, 2)).astype("float32")
    b = rng.standard_normal((32, 3)).astype("float32")
    in_a, in_b = keras.Input(shape=(2,), name="a"), keras.Input(shape=(3,), name="b")
    joined = layers.Concatenate()([in_a, in_b])
    out1 = layers.Dense(1, name="out1")(joined)
    out2 = layers.Dense(2, name="out2")(joined)
    model = keras.Model({"a": in_a, "b": in_b}, {"out1": out1, "out2": out2})
    model.compile(optimizer="sgd", loss="mse")
    t1, t2 = a[:, :1] * 2, b[:, :2] - 1

    def batches():
        while True:
            for s in range(0, 32, 8):
                yield {"a": a[s:s + 8], "b": b[s:s + 8]}, {"out1": t1[s:s + 8], "out2": t2[s:s + 8]}

    expected = model.evaluate({"a": a, "b": b}, {"out1": t1, "out2": t2}, batch_size=8,
                              verbose=0)
    got = model.evaluate(batches(), steps=4, verbose=0, workers=2)
    np.testing.assert_allclose(got, expected, rtol=1e-6)


# ---------------------------------------------------------- evaluate / predict
@pytest.mark.parametrize("workers", [0, 4])
def test_predict_keeps_batch_order(workers):
    x, _ = make_data(seed=2)
    model = linear_model()
    expected = model.predict(x, batch_size=BATCH, verbose=0)
    np.testing.assert_allclose(model.predict(ArraySequence(x), verbose=0, workers=workers),
                               expected, rtol=1e-6)
    y = np.zeros((N, 1), "float32")
    from_gen = model.predict(endless(x, y), steps=STEPS, verbose=0, workers=workers)
    np.testing.assert_allclose(from_gen, expected, rtol=1e-6)


def test_evaluate_a_generator_for_the_given_steps():
    x, y = make_data(seed=4)
    model = linear_model()
    expected = model.evaluate(x[:3 * BATCH], y[:3 * BATCH], batch_size=BATCH, verbose=0)
    assert model.evaluate(endless(x, y), steps=3, verbose=0) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("make_val", ["generator", "sequence"])
def test_validation_data_from_a_generator_or_sequence(make_val):
    x, y = make_data(seed=6)
    vx, vy = make_data(seed=7, n=48)
    val = ArraySequence(vx, vy) if make_val == "sequence" else endless(vx, vy)
    model = linear_model()
    history = model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, shuffle=False,
                        validation_data=val,
                        validation_steps=None if make_val == "sequence" else 3)
    expected = model.evaluate(vx, vy, batch_size=BATCH, verbose=0)
    assert history.history["val_loss"][0] == pytest.approx(expected, rel=1e-6)
    if make_val == "sequence":
        assert val.epoch_ends == 1


# ------------------------------------------------------------------- workers
def test_workers_zero_runs_on_the_main_thread_and_others_in_prefetch_threads():
    x, y = make_data()
    model = linear_model()
    seq = ArraySequence(x, y)
    model.fit(seq, epochs=1, verbose=0, workers=0)
    assert seq.threads == {threading.current_thread().name}
    seq = ArraySequence(x, y)
    model.fit(seq, epochs=1, verbose=0, workers=2)
    assert seq.threads and all(n.startswith("gkeras-prefetch-") for n in seq.threads)


def test_pydataset_settings_take_precedence_over_fit_arguments():
    x, y = make_data()
    seq = ArraySequence(x, y, workers=0)
    linear_model().fit(seq, epochs=1, verbose=0, workers=4)
    assert seq.threads == {threading.current_thread().name}
    assert isinstance(seq, PyDataset)


def test_multiprocessing_with_a_plain_generator_warns_and_uses_threads():
    x, y = make_data()
    reference = linear_model()
    reference.fit(x, y, batch_size=BATCH, shuffle=False, verbose=0)
    model = linear_model()
    with pytest.warns(UserWarning, match="may duplicate your data"):
        model.fit(endless(x, y), steps_per_epoch=STEPS, verbose=0, workers=2,
                  use_multiprocessing=True)
    assert_same_weights(model, reference)


def test_multiprocessing_sequence_trains_like_threads_and_sees_epoch_changes():
    x, y = make_data()
    reference = linear_model()
    reference.fit(x, y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
    model = linear_model()
    model.fit(ArraySequence(x, y), epochs=2, shuffle=False, verbose=0, workers=2,
              use_multiprocessing=True)
    assert_same_weights(model, reference)

    adapter = ga.make_adapter(OffsetSequence(), workers=2, use_multiprocessing=True)
    try:
        assert epoch_orders(adapter, 2) == [[0, 1, 2], [10, 11, 12]]
    finally:
        adapter.close()


# -------------------------------------------------------------- bad inputs
def test_handles_recognises_streams_only():
    x, y = make_data()
    assert ga.handles(endless(x, y)) and ga.handles(iter([(x, y)]))
    assert ga.handles(ArraySequence(x, y)) and ga.handles(IndexSequence(2))
    for data in (x, [x, x], (x, y), {"a": x}, "text", None, 3):
        assert not ga.handles(data)


def test_y_or_sample_weight_with_a_stream_is_an_error():
    x, y = make_data()
    model = linear_model()
    with pytest.raises(ValueError, match="When providing `x` as a generator, `y` should not be "
                                         "passed"):
        model.fit(endless(x, y), y, steps_per_epoch=2, verbose=0)
    with pytest.raises(ValueError, match="as a Sequence / PyDataset, `sample_weight` should not"):
        model.evaluate(ArraySequence(x, y), sample_weight=np.ones(N), verbose=0)


def finite(x, y=None, batch=BATCH):
    """One pass over the data, then the generator ends (Keras 3 reads it to the end)."""
    for start in range(0, len(x), batch):
        part = slice(start, start + batch)
        yield x[part] if y is None else (x[part], y[part])


def test_a_finite_generator_without_steps_is_read_to_its_end():
    x, y = make_data()
    model = linear_model()
    history = model.fit(finite(x, y), verbose=0)
    assert model.optimizer.iterations == STEPS and history.epoch == [0]
    np.testing.assert_allclose(model.evaluate(finite(x, y), verbose=0),
                               model.evaluate(x, y, batch_size=BATCH, verbose=0), rtol=1e-6)
    np.testing.assert_allclose(model.predict(finite(x), verbose=0),
                               model.predict(x, verbose=0), rtol=1e-6)


def test_a_finite_generator_that_runs_out_stops_training_with_a_warning():
    x, y = make_data()
    model = linear_model()
    with pytest.warns(UserWarning, match="Your input ran out of data; interrupting training"):
        history = model.fit(finite(x, y), epochs=3, verbose=0)
    assert history.epoch == [0] and len(history.history["loss"]) == 1
    assert model.optimizer.iterations == STEPS
    with pytest.raises(ValueError, match="produced no batches"):
        model.fit(finite(x[:0], y[:0]), verbose=0)  # nothing at all: an error, not a warning


def test_validation_split_is_rejected_for_streams():
    x, y = make_data()
    with pytest.raises(ValueError, match="validation_split is only supported for array inputs"):
        linear_model().fit(ArraySequence(x, y), validation_split=0.2, verbose=0)


@pytest.mark.parametrize("kwargs, message", [
    ({"steps": 0}, "steps must be a positive integer or None, got 0"),
    ({"steps": 2.5}, "steps must be a positive integer or None, got 2.5"),
    ({"steps": 2, "workers": -1}, "workers must be a non-negative integer, got -1"),
    ({"steps": 2, "max_queue_size": 0}, "max_queue_size must be a positive integer, got 0"),
])
def test_bad_pipeline_arguments(kwargs, message):
    x, y = make_data()
    with pytest.raises(ValueError, match=message):
        ga.make_adapter(endless(x, y), **kwargs)


@pytest.mark.parametrize("batch, message", [
    ((np.ones((2, 3)),) * 4, r"must yield `x`, `\(x,\)`, `\(x, y\)` or `\(x, y, sample_weight\)`;"
                             r" got a tuple of 4 elements: \(ndarray\(shape=\(2, 3\)"),
    ("not a batch", r"got str: 'not a batch'"),
    (7, r"got int: 7"),
    ((None, np.ones((2, 1))), r"yielded a batch without inputs x"),
    ((np.ones((2, 3)), "labels"), r"whose y is 'labels'; expected a numeric array"),
    (({"a": np.ones((2, 3)), "b": {1, 2}}, np.ones((2, 1))), r"whose x\['b'\] is not a numeric"),
    ((np.ones((2, 3)), np.ones((3, 1))), r"different numbers of samples: \{'x': 2, 'y': 3\}"),
    ((np.ones((2, 3)), np.float32(1.0)), r"whose y is a scalar"),
])
def test_malformed_batches_are_rejected_quoting_what_came(batch, message):
    def bad_batches():
        while True:
            yield batch

    with pytest.raises(ValueError, match=r"generator 'test_malformed_batches_are_rejected_"
                                         r"quoting_what_came.<locals>.bad_batches' .*" + message):
        linear_model().fit(bad_batches(), steps_per_epoch=2, verbose=0)


def test_batch_forms_are_unpacked_like_keras():
    x = np.ones((2, 3), dtype="float64")
    y = [1, 0]
    for item, has_y in ((x, False), ((x,), False), ([x, y], True), ((x, y, np.ones(2)), True)):
        bx, by, bsw = ga.standardize_batch(item, "source")
        assert bx.dtype == np.float32 and bx.shape == (2, 3)
        assert (by is not None) == has_y
    _, by, bsw = ga.standardize_batch((x, y, np.ones(2)), "source")
    assert by.dtype.kind == "i" and bsw.shape == (2,)
    multi, _, _ = ga.standardize_batch(([x, x[:, :1]], y), "source")
    assert isinstance(multi, list) and [a.shape for a in multi] == [(2, 3), (2, 1)]


# ---------------------------------------------------------- generator methods
def test_generator_methods_delegate_to_fit_evaluate_predict():
    x, y = make_data()
    reference = linear_model()
    reference.fit(x, y, batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
    model = linear_model()
    history = GeneratorMethods.fit_generator(model, endless(x, y), steps_per_epoch=STEPS,
                                             epochs=2, verbose=0, workers=2)
    assert_same_weights(model, reference)
    assert len(history.history["loss"]) == 2
    expected = reference.evaluate(x, y, batch_size=BATCH, verbose=0)
    assert GeneratorMethods.evaluate_generator(model, ArraySequence(x, y)) == \
        pytest.approx(expected, rel=1e-6)
    np.testing.assert_allclose(
        GeneratorMethods.predict_generator(model, endless(x, y), steps=STEPS),
        reference.predict(x, verbose=0), rtol=1e-6)


def test_generator_methods_keras2_checks():
    x, y = make_data()
    model = linear_model()
    with pytest.raises(ValueError, match=r"`steps_per_epoch=None` is only valid for a generator "
                                         r"based on the `gkeras.utils.Sequence` class"):
        GeneratorMethods.fit_generator(model, endless(x, y), verbose=0)
    with pytest.raises(ValueError, match=r"`validation_steps=None` is only valid"):
        GeneratorMethods.fit_generator(model, ArraySequence(x, y), verbose=0,
                                       validation_data=endless(x, y))
    with pytest.raises(ValueError, match=r"`steps=None` is only valid"):
        GeneratorMethods.predict_generator(model, endless(x, y))
    with pytest.raises(ValueError, match="evaluate_generator expects a generator, an iterator or "
                                         "a gkeras.utils.Sequence as `generator`; got ndarray"):
        GeneratorMethods.evaluate_generator(model, x)


def test_model_exposes_the_generator_methods():
    # the lead adds GeneratorMethods to Model's bases
    assert issubclass(keras.Model, GeneratorMethods)
    x, y = make_data()
    model = linear_model()
    model.fit_generator(ArraySequence(x, y), epochs=1, verbose=0)


# ------------------------------------------------------------- device staging
def test_batches_reach_the_placement_backend(bk):
    x, y = make_data()
    adapter = ga.make_adapter(ArraySequence(x, y), workers=2)
    try:
        batches = list(adapter)
    finally:
        adapter.close()
    assert len(batches) == STEPS
    for i, (bx, by, _) in enumerate(batches):
        assert bk.owns(bx) and bk.owns(by)
        np.testing.assert_array_equal(bk.to_numpy(bx), x[i * BATCH:(i + 1) * BATCH])
        np.testing.assert_array_equal(bk.to_numpy(by), y[i * BATCH:(i + 1) * BATCH])


def test_fit_on_a_sequence_matches_the_numpy_result(bk):
    x, y = make_data()
    model = linear_model()
    model.fit(ArraySequence(x, y), epochs=2, shuffle=False, verbose=0, workers=2)
    reference = x.astype("float64")
    w = np.array([[0.1], [0.2], [-0.1]])
    b = np.zeros(1)
    for _ in range(2):  # plain SGD on the MSE, batch by batch, in float64
        for s in range(0, N, BATCH):
            xb, yb = reference[s:s + BATCH], y[s:s + BATCH].astype("float64")
            err = xb @ w + b - yb
            w -= 0.05 * 2 * xb.T @ err / len(xb)
            b -= 0.05 * 2 * err.mean(axis=0)
    kernel, bias = model.get_weights()
    np.testing.assert_allclose(kernel, w, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bias, b, rtol=1e-4, atol=1e-5)


class FakeCuda:
    """Just enough of `cupy` to watch the staging logic: streams, events, pinned memory."""

    def __init__(self, log):
        self.log = log
        self.pinned_allocations = 0
        fake = self

        class Event:
            def __init__(self, stream):
                self.name = f"{stream.name}-event{len(log)}"

            def synchronize(self):
                log.append(("sync", self.name))

        class Stream:
            def __init__(self, non_blocking=False, name="copy"):
                self.name = name

            def record(self):
                return Event(self)

            def wait_event(self, event):
                log.append(("wait", self.name, event.name))

        def alloc_pinned_memory(nbytes):
            fake.pinned_allocations += 1
            return bytearray(nbytes)

        self.Stream = Stream
        self.alloc_pinned_memory = alloc_pinned_memory
        self._compute = Stream(name="compute")
        self.get_current_stream = lambda: self._compute


class FakeDeviceArray:
    def __init__(self, shape, dtype, log):
        self.host = np.empty(shape, dtype)
        self.log = log

    def set(self, host, stream=None):
        self.log.append(("copy", stream.name, float(host.ravel()[0])))
        self.host[...] = host


class FakeCupyBackend:
    name = "cupy"

    def __init__(self):
        self.log = []
        log = self.log

        class xp:
            cuda = FakeCuda(log)

            @staticmethod
            def empty(shape, dtype):
                return FakeDeviceArray(shape, dtype, log)

        self.xp = xp


def test_device_staging_issues_the_next_copy_before_handing_out_a_batch(monkeypatch):
    fake = FakeCupyBackend()
    monkeypatch.setattr(ga.backend_module, "get_backend", lambda: fake)
    adapter = ga.make_adapter(IndexSequence(3), workers=0)
    try:
        for epoch in range(2):
            for bx, by, _ in adapter:
                assert isinstance(bx, FakeDeviceArray) and isinstance(by, FakeDeviceArray)
                fake.log.append(("consume", float(bx.host[0, 0])))
                np.testing.assert_array_equal(by.host, np.zeros((2, 1)))
            if epoch == 0:
                first_epoch = list(fake.log)
    finally:
        adapter.close()
    events = [entry for entry in first_epoch if entry[0] in ("copy", "consume")]
    # batch n+1 is on its way (x and y copies) before batch n is handed to the model
    assert events == [("copy", "copy", 0.0), ("copy", "copy", 0.0),
                      ("copy", "copy", 1.0), ("copy", "copy", 0.0), ("consume", 0.0),
                      ("copy", "copy", 2.0), ("copy", "copy", 0.0), ("consume", 1.0),
                      ("consume", 2.0)]
    waits = [entry for entry in first_epoch if entry[0] == "wait" and entry[1] == "compute"]
    assert len(waits) == 3  # the compute stream waits on each batch's copy event
    order = [e[0] for e in first_epoch if e[0] in ("consume",) or e[:2] == ("wait", "compute")]
    assert order == ["wait", "consume"] * 3
    # two sets of pinned buffers (x and y each), reused in the second epoch
    assert fake.xp.cuda.pinned_allocations == 4
