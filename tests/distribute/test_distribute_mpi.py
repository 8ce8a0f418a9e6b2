"""Data-parallel training under MPI: N ranks with per-rank batch B == one process with N x B.

Run on every rank of `mpiexec -n N python -m mpi4py -m pytest -m mpi tests/distribute`. Each
test trains with `DataParallel` and, on every rank, a single-process reference (no strategy)
with the global batch, from rank 0's initial weights and in the same data order.
"""

import warnings

import numpy as np
import pytest

import gkeras as keras
from gkeras import layers
from gkeras.distribute import DataParallel
from gkeras.utils import set_random_seed
from gkeras.utils.sequence import Sequence

pytestmark = pytest.mark.mpi

B = 8  # per-rank batch


def classification_data(n, seed=0, features=6, classes=3):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, features)).astype("float32")
    w = rng.standard_normal((features, classes))
    y = (x @ w + 0.5 * rng.standard_normal((n, classes))).argmax(axis=1).astype("int64")
    return x, y


def mlp(input_shape=True, classes=3):
    extra = {"input_shape": (6,)} if input_shape else {}
    return keras.Sequential([layers.Dense(16, activation="relu", **extra),
                             layers.Dense(classes, activation="softmax")])


def compile_model(model, lr=0.01):
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


class FirstStepWeights(keras.callbacks.Callback):
    """The weights the first training step starts from (after the strategy's broadcast)."""

    def __init__(self):
        super().__init__()
        self.weights = None

    def on_train_batch_begin(self, batch, logs=None):
        if self.weights is None:
            self.weights = self.model.get_weights()


def distributed_model(strategy, seed, **kwargs):
    set_random_seed(seed)  # a different initialisation on every rank: the broadcast must win
    with strategy.scope():
        return compile_model(mlp(**kwargs))


def reference_fit(initial, x, y, global_batch, seed, **fit_kwargs):
    model = compile_model(mlp())
    model.set_weights(initial)
    set_random_seed(seed)
    history = model.fit(x, y, batch_size=global_batch, verbose=0, **fit_kwargs)
    return model, history


def assert_same_weights(model, reference):
    for got, want in zip(model.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def assert_same_history(history, reference):
    assert sorted(history.history) == sorted(reference.history)
    for key, values in reference.history.items():
        np.testing.assert_allclose(history.history[key], values, rtol=1e-5, atol=1e-6,
                                   err_msg=key)


def assert_identical_on_all_ranks(comm, model):
    everyone = comm.allgather(model.get_weights())
    for other in everyone[1:]:
        for a, b in zip(everyone[0], other, strict=True):
            np.testing.assert_array_equal(a, b)


def test_fit_matches_single_process_training_with_the_global_batch(comm):
    size, rank = comm.Get_size(), comm.Get_rank()
    strategy = DataParallel()
    assert (strategy.num_replicas, strategy.rank, strategy.is_chief) == (size, rank, rank == 0)
    # the tail batch of size + 1 samples splits unevenly: the average must weight the slices
    n = B * size * 4 + size + 1
    x, y = classification_data(n)
    sw = np.random.default_rng(1).uniform(0.5, 2.0, n).astype("float32")
    xv, yv = classification_data(3 * B * size + size, seed=2)
    model = distributed_model(strategy, seed=1000 + rank)
    before = model.get_weights()
    first = FirstStepWeights()
    # every rank's own random stream differs: the shuffle order must still agree (rank 0's)
    set_random_seed(42 if rank == 0 else 7 + rank)
    history = model.fit(x, y, sample_weight=sw, batch_size=B, epochs=3, shuffle=True,
                        validation_data=(xv, yv), callbacks=[first], verbose=0)

    initial = comm.bcast(before, root=0)
    for got, want in zip(first.weights, initial, strict=True):
        np.testing.assert_array_equal(got, want)
    if rank != 0:
        assert any(not np.array_equal(a, b) for a, b in zip(before, initial))
    reference, ref_history = reference_fit(initial, x, y, B * size, seed=42, sample_weight=sw,
                                           epochs=3, shuffle=True, validation_data=(xv, yv))
    assert_same_weights(model, reference)
    assert_same_history(history, ref_history)
    assert_identical_on_all_ranks(comm, model)
    assert comm.allgather(history.history) == [history.history] * size


def test_unbuilt_model_is_built_from_the_first_batch_then_broadcast(comm):
    size, rank = comm.Get_size(), comm.Get_rank()
    strategy = DataParallel()
    x, y = classification_data(B * size * 3)
    model = distributed_model(strategy, seed=50 + rank, input_shape=False)
    assert not model.built
    first = FirstStepWeights()
    # (no shuffle: building on the first batch draws from rank 0's generator mid-fit)
    history = model.fit(x, y, batch_size=B, epochs=2, shuffle=False, callbacks=[first],
                        verbose=0)
    everyone = comm.allgather(first.weights)
    for other in everyone[1:]:
        for a, b in zip(everyone[0], other, strict=True):
            np.testing.assert_array_equal(a, b)
    reference, ref_history = reference_fit(first.weights, x, y, B * size, seed=3, epochs=2,
                                           shuffle=False)
    assert_same_weights(model, reference)
    assert_same_history(history, ref_history)


class GlobalBatches(Sequence):
    """Global batches of `size` samples, in index order (the same on every rank)."""

    def __init__(self, x, y, size):
        super().__init__()
        self.x, self.y, self.size = x, y, size

    def __len__(self):
        return -(-len(self.x) // self.size)

    def __getitem__(self, index):
        part = slice(index * self.size, (index + 1) * self.size)
        return self.x[part], self.y[part]


def test_sequence_and_generator_batches_are_sharded(comm):
    size, rank = comm.Get_size(), comm.Get_rank()
    x, y = classification_data(B * size * 5 + 2 * size)
    strategy = DataParallel()
    model = distributed_model(strategy, seed=70 + rank)
    first = FirstStepWeights()
    set_random_seed(5 + rank)
    history = model.fit(GlobalBatches(x, y, B * size), epochs=2, shuffle=True, callbacks=[first],
                        verbose=0)
    initial = first.weights
    reference = compile_model(mlp())
    reference.set_weights(initial)
    set_random_seed(comm.bcast(5 + rank, root=0))  # rank 0's seed drew the batch order
    ref_history = reference.fit(GlobalBatches(x, y, B * size), epochs=2, shuffle=True, verbose=0)
    assert_same_weights(model, reference)
    assert_same_history(history, ref_history)

    def batches():
        while True:
            for i in range(4):
                part = slice(i * B * size, (i + 1) * B * size)
                yield x[part], y[part]

    model.fit(batches(), steps_per_epoch=4, epochs=2, verbose=0)
    reference.fit(batches(), steps_per_epoch=4, epochs=2, verbose=0)
    assert_same_weights(model, reference)
    assert_identical_on_all_ranks(comm, model)


def test_evaluate_and_batch_methods_report_global_values(comm):
    size, rank = comm.Get_size(), comm.Get_rank()
    strategy = DataParallel()
    model = distributed_model(strategy, seed=0)  # the same seed: the same weights everywhere
    x, y = classification_data(B * size * 3 + size, seed=4)
    reference = compile_model(mlp())
    reference.set_weights(model.get_weights())
    got = model.evaluate(x, y, batch_size=B, verbose=0, return_dict=True)
    want = reference.evaluate(x, y, batch_size=B * size, verbose=0, return_dict=True)
    assert sorted(got) == sorted(want)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-5, err_msg=key)
    # each rank's own shard alone gives another answer: the reduction is what makes it global
    start = rank * len(x) // size
    local = reference.evaluate(x[start:start + len(x) // size], y[start:start + len(x) // size],
                               verbose=0, return_dict=True)
    assert len({round(v["loss"], 6) for v in comm.allgather(local)}) > 1

    # train_on_batch: each rank brings its own batch; the update uses their average gradient
    xb, yb = classification_data(B * size, seed=9)
    mine = slice(rank * B, (rank + 1) * B)
    logs = model.train_on_batch(xb[mine], yb[mine], return_dict=True)
    ref_logs = reference.train_on_batch(xb, yb, return_dict=True)
    assert_same_weights(model, reference)
    for key in ref_logs:
        np.testing.assert_allclose(logs[key], ref_logs[key], rtol=1e-5, err_msg=key)
    test_logs = model.test_on_batch(xb[mine], yb[mine], return_dict=True)
    ref_test = reference.test_on_batch(xb, yb, return_dict=True)
    for key in ref_test:
        np.testing.assert_allclose(test_logs[key], ref_test[key], rtol=1e-5, err_msg=key)


def test_callback_decisions_agree_on_all_ranks(comm):
    size, rank = comm.Get_size(), comm.Get_rank()
    x, y = classification_data(B * size * 4, seed=11)
    # validation data whose slices differ wildly between ranks (random labels on the last
    # rank's slice of each global batch): local logs would make every rank decide differently
    xv, yv = classification_data(B * size * 2, seed=12)
    noisy = np.zeros(len(yv), bool)
    for start in range(0, len(yv), B * size):
        noisy[start + (size - 1) * B:start + size * B] = True
    yv = np.where(noisy, np.random.default_rng(13).integers(0, 3, len(yv)), yv)
    strategy = DataParallel()
    model = distributed_model(strategy, seed=20 + rank)

    def callbacks():
        return [keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=0,
                                                  min_delta=0.02, min_lr=1e-4),
                keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, min_delta=0.02)]

    first = FirstStepWeights()
    set_random_seed(8)
    history = model.fit(x, y, batch_size=B, epochs=12, validation_data=(xv, yv),
                        callbacks=[first] + callbacks(), verbose=0)
    reference, ref_history = reference_fit(first.weights, x, y, B * size, seed=8, epochs=12,
                                           validation_data=(xv, yv), callbacks=callbacks())
    assert_same_history(history, ref_history)
    assert len(ref_history.epoch) < 12  # early stopping did fire
    assert min(ref_history.history["learning_rate"]) < 0.01  # and the LR was cut
    assert comm.allgather(history.history) == [history.history] * size
    ends = comm.allgather(float(model.optimizer.learning_rate))
    assert ends == [ends[0]] * size


class BatchLogs(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.logs = []

    def on_train_batch_end(self, batch, logs=None):
        self.logs.append(dict(logs or {}))


def test_batch_logs_read_on_one_rank_only_do_not_block(comm):
    # rank 0 alone reads batch logs (as its progress bar does): this must need no collective
    size, rank = comm.Get_size(), comm.Get_rank()
    x, y = classification_data(B * size * 3, seed=14)
    strategy = DataParallel()
    model = distributed_model(strategy, seed=1)
    logger = BatchLogs()
    history = model.fit(x, y, batch_size=B, epochs=2, verbose=0,
                        callbacks=[logger] if rank == 0 else [])
    if rank == 0:
        assert len(logger.logs) == 6
        # a batch's logs are the global state after the step before (the first: nothing yet)
        assert logger.logs[0]["loss"] == 0.0 and logger.logs[1]["loss"] > 0.0
    assert comm.allgather(history.history) == [history.history] * size


def test_terminate_on_nan_stops_every_rank_at_the_same_batch(comm):
    size = comm.Get_size()
    x, y = classification_data(B * size * 6, seed=15)
    x[2 * B * size + (size - 1) * B] = np.nan  # in the last rank's slice of batch 2 only
    strategy = DataParallel()
    model = distributed_model(strategy, seed=2)
    logger = BatchLogs()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the non-finite loss warnings
        model.fit(x, y, batch_size=B, epochs=3, shuffle=False, verbose=0,
                  callbacks=[logger, keras.callbacks.TerminateOnNaN()])
    steps = comm.allgather(len(logger.logs))
    assert steps == [steps[0]] * size
    assert steps[0] < 6  # stopped within the first epoch


def test_tail_batch_smaller_than_the_ranks_is_skipped_with_a_warning(comm):
    size = comm.Get_size()
    x, y = classification_data(B * size * 2 + size - 1, seed=16)
    strategy = DataParallel()
    model = distributed_model(strategy, seed=3)
    first = FirstStepWeights()
    with pytest.warns(RuntimeWarning, match="smaller than the"):
        history = model.fit(x, y, batch_size=B, epochs=1, shuffle=False, callbacks=[first],
                            verbose=0)
    assert history.params["steps"] == 2
    reference, ref_history = reference_fit(first.weights, x[:B * size * 2], y[:B * size * 2],
                                           B * size, seed=0, epochs=1, shuffle=False)
    assert_same_weights(model, reference)
    assert_same_history(history, ref_history)


def test_batch_norm_statistics_agree_after_every_epoch(comm):
    rank = comm.Get_rank()
    x, y = classification_data(B * comm.Get_size() * 3, seed=17)
    strategy = DataParallel()
    set_random_seed(rank)
    with strategy.scope():
        model = keras.Sequential([layers.Dense(8, input_shape=(6,)), layers.BatchNormalization(),
                                  layers.Dense(3, activation="softmax")])
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=B, epochs=2, verbose=0)
    assert model.non_trainable_weights
    assert_identical_on_all_ranks(comm, model)


def test_models_that_differ_between_ranks_are_refused_on_every_rank(comm):
    rank = comm.Get_rank()
    strategy = DataParallel()
    with strategy.scope():
        model = keras.Sequential([layers.Dense(4 if rank == 0 else 5, input_shape=(6,)),
                                  layers.Dense(3, activation="softmax")])
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x, y = classification_data(B * comm.Get_size())
    with pytest.raises(ValueError, match="differs between ranks") as info:
        model.fit(x, y, batch_size=B, verbose=0)
    assert "rank 1" in str(info.value) and "(6, 5)" in str(info.value)


def test_only_the_chief_writes_checkpoints(comm):
    strategy = DataParallel()
    model = distributed_model(strategy, seed=4)
    saves = []
    model.save = lambda path, *args, **kwargs: saves.append(path)  # records instead of writing
    x, y = classification_data(B * comm.Get_size() * 2)
    model.fit(x, y, batch_size=B, epochs=2, verbose=0,
              callbacks=[keras.callbacks.ModelCheckpoint("best.h5", monitor="loss")])
    assert comm.allgather(len(saves)) == [2] + [0] * (comm.Get_size() - 1)


def test_mpi_communicator_collectives(comm):
    size, rank = comm.Get_size(), comm.Get_rank()
    mpi = DataParallel(communicator="mpi").communicator
    assert (mpi.rank, mpi.size, mpi.name) == (rank, size, "mpi")
    assert 0 <= mpi.local_rank < mpi.local_size <= size
    for dtype in ("float32", "float64", "int64", "float16"):
        buffer = np.arange(5, dtype=dtype) * (rank + 1)
        mpi.allreduce(buffer)
        np.testing.assert_array_equal(buffer, np.arange(5) * size * (size + 1) // 2)
        assert buffer.dtype == dtype
        sent = np.full(4, rank + 7, dtype=dtype)
        mpi.broadcast(sent, root=size - 1)
        np.testing.assert_array_equal(sent, np.full(4, size + 6))
    assert mpi.bcast_object({"rank": rank}, root=1) == {"rank": 1}
    assert mpi.allgather_object(rank) == list(range(size))


def test_small_buckets_give_the_same_training(comm):
    size = comm.Get_size()
    x, y = classification_data(B * size * 3, seed=18)
    results = []
    for cap in (25, 0.0005):  # one bucket per step, then several (524-byte buckets)
        strategy = DataParallel(bucket_cap_mb=cap)
        model = distributed_model(strategy, seed=6)
        model.fit(x, y, batch_size=B, epochs=2, shuffle=False, verbose=0)
        results.append((model.get_weights(), strategy.timings["reduce_calls"]))
    for a, b in zip(results[0][0], results[1][0], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert results[0][1] == results[1][1] == 6
