"""gkeras.distribute in one process: bucketing, slicing, scopes, errors, the no-MPI path."""

import os
import subprocess
import sys
import textwrap
import types

import numpy as np
import pytest

import gkeras as keras
from gkeras import backend as backend_module
from gkeras import layers
from gkeras.distribute import (
    Communicator,
    DataParallel,
    buckets,
    communicator,
    get_strategy,
    launched_by_mpi,
)
from gkeras.distribute.strategy import ShardedData, shard_bounds
from gkeras.training.data_adapter import ArrayDataAdapter
from gkeras.utils import set_random_seed

LAUNCHER_PREFIXES = ("OMPI_", "PMIX_", "PMI_", "MV2_")


class FakeComm(Communicator):
    """Rank `rank` of `size` identical ranks: a sum over ranks is `size` times the local value."""

    name = "fake"

    def __init__(self, rank=0, size=2, gathered=None):
        super().__init__()
        self.rank, self.size, self.local_rank = rank, size, rank
        self.gathered = gathered
        self.calls = []
        self.aborted = None

    def allreduce(self, buffer):
        self.calls.append(("allreduce", buffer.size, buffer.dtype.name))
        buffer *= self.size
        return buffer

    def broadcast(self, buffer, root=0):
        self.calls.append(("broadcast", buffer.size, buffer.dtype.name))
        return buffer

    def allgather_object(self, obj):
        return self.gathered if self.gathered is not None else [obj] * self.size

    def abort(self, code=1):
        self.aborted = code


@pytest.fixture
def no_launcher(monkeypatch):
    for name in list(os.environ):
        if name.startswith(LAUNCHER_PREFIXES):
            monkeypatch.delenv(name)
    if "mpi4py.MPI" in sys.modules:
        pytest.skip("MPI is already initialised in this process")


# ------------------------------------------------------------------ slicing
@pytest.mark.parametrize("size", [1, 2, 3, 4, 7])
def test_shard_bounds_split_a_batch_into_contiguous_near_equal_slices(size):
    for n in range(size, 40):
        bounds = [shard_bounds(n, r, size) for r in range(size)]
        assert bounds[0][0] == 0 and bounds[-1][1] == n
        assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
        sizes = [stop - start for start, stop in bounds]
        assert max(sizes) - min(sizes) <= 1 and min(sizes) >= 1
        assert sizes == sorted(sizes, reverse=True)


def test_sharded_arrays_yield_this_ranks_slice_of_every_global_batch(no_launcher):
    x = np.arange(23 * 2, dtype="float32").reshape(23, 2)
    y = np.arange(23, dtype="float32")
    strategy = DataParallel(communicator=FakeComm(rank=1, size=2))
    data = strategy.shard(ArrayDataAdapter({"a": x}, [y, y * 2], batch_size=10))
    assert isinstance(data, ShardedData) and data.num_batches == 3 and data.x["a"] is x
    got = list(data)
    assert [len(b[0]["a"]) for b in got] == [5, 5, 1]
    for (bx, by, bsw), (start, stop) in zip(got, [(5, 10), (15, 20), (22, 23)]):
        np.testing.assert_array_equal(bx["a"], x[start:stop])
        np.testing.assert_array_equal(by[1], 2 * y[start:stop])
        assert bsw is None
    assert strategy._fraction is None and strategy._passes == []


def test_a_tail_batch_smaller_than_the_ranks_is_skipped_and_not_counted(no_launcher):
    strategy = DataParallel(communicator=FakeComm(rank=0, size=4))
    data = strategy.shard(ArrayDataAdapter(np.zeros((2 * 8 + 3, 1)), batch_size=8))
    assert data.num_batches == 2
    with pytest.warns(RuntimeWarning, match="3 sample\\(s\\) is smaller than the 4 ranks"):
        assert len(list(data)) == 2


# ---------------------------------------------------------------- bucketing
def test_buckets_group_consecutive_arrays_of_one_dtype_up_to_the_cap():
    arrays = [np.zeros(100, "float32"), np.zeros(50, "float32"), np.zeros(10, "float64"),
              np.zeros(300, "float64"), np.zeros(20, "float64"), np.zeros(5, "float32")]
    assert buckets.plan_buckets(arrays, cap_bytes=10**6) == [[0, 1], [2, 3, 4], [5]]
    # 100 + 50 float32 are 600 bytes; the 300 float64 (2400 bytes) exceed a 599-byte cap alone
    assert buckets.plan_buckets(arrays, cap_bytes=599) == [[0], [1], [2], [3], [4], [5]]
    assert buckets.plan_buckets(arrays, cap_bytes=600) == [[0, 1], [2], [3], [4], [5]]
    assert buckets.plan_buckets(arrays, cap_bytes=2500) == [[0, 1], [2, 3], [4], [5]]


def test_pack_scales_and_unpack_restore_the_arrays(rng):
    arrays = [rng.standard_normal(s).astype("float32") for s in [(3, 4), (5,), (2, 2, 2), ()]]
    scales = [0.5, 0.5, 1.0, 3.0]
    buffer = buckets.pack(arrays, [0, 1, 2, 3], scales)
    assert buffer.ndim == 1 and buffer.size == 12 + 5 + 8 + 1
    for got, array, scale in zip(buckets.unpack(buffer, arrays, [0, 1, 2, 3]), arrays, scales):
        assert got.shape == array.shape
        np.testing.assert_allclose(got, np.float32(scale) * array, rtol=1e-7)


def test_allreduce_arrays_makes_one_collective_per_bucket(rng):
    grads = [rng.standard_normal((256, 256)).astype("float32") for _ in range(8)]  # 256 KiB each
    comm = FakeComm(size=3)
    summed = buckets.allreduce_arrays(comm, grads, cap_bytes=25 * 2**20, scales=[0.25] * 8)
    assert [c[0] for c in comm.calls] == ["allreduce"]
    for got, g in zip(summed, grads):
        np.testing.assert_allclose(got, 3 * 0.25 * g.astype(np.float64), rtol=1e-6)
    comm.calls.clear()
    buckets.allreduce_arrays(comm, grads, cap_bytes=2**19)  # two arrays per bucket
    assert len(comm.calls) == 4
    originals = [g.copy() for g in grads]
    buckets.broadcast_arrays(comm, grads, cap_bytes=2**19)
    assert all(np.array_equal(a, b) for a, b in zip(grads, originals))  # inputs never written


# --------------------------------------------------------- strategy (1 rank)
def test_without_a_launcher_the_strategy_is_a_single_process_no_op(no_launcher):
    assert launched_by_mpi() is None
    strategy = DataParallel()
    assert (strategy.num_replicas, strategy.rank, strategy.is_chief) == (1, 0, True)
    assert strategy.num_replicas_in_sync == 1 and strategy.local_rank == 0
    assert type(strategy.communicator) is Communicator
    adapter = ArrayDataAdapter(np.zeros((4, 1)))
    assert strategy.shard(adapter) is adapter
    grads = [np.ones(3)]
    assert strategy.reduce_gradients(grads)[0] is grads[0]
    assert strategy.global_batch_size(32) == 32
    assert "1 replica" in repr(strategy)


def test_launcher_variables_are_recognised(no_launcher, monkeypatch):
    monkeypatch.setenv("PMI_SIZE", "4")
    assert launched_by_mpi() == "PMI_SIZE"
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "2")
    assert launched_by_mpi() == "OMPI_COMM_WORLD_SIZE"


def test_a_launched_rank_without_mpi4py_is_told_how_to_install_it(no_launcher, monkeypatch):
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "2")
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # makes `import mpi4py` fail
    with pytest.raises(RuntimeError, match=r"mpi4py cannot be imported.*gkeras\[mpi\]"):
        DataParallel()


@pytest.mark.parametrize("kwargs, match", [
    ({"communicator": "gloo"}, r"Unknown communicator 'gloo'.*'auto', 'local', 'mpi', 'nccl'"),
    ({"bucket_cap_mb": 0}, "bucket_cap_mb must be a positive number of MiB, got 0"),
    ({"bucket_cap_mb": "25"}, "bucket_cap_mb must be a positive number"),
])
def test_bad_arguments_are_refused(kwargs, match, no_launcher):
    with pytest.raises(ValueError, match=match):
        DataParallel(**kwargs)


@pytest.mark.parametrize("bad", [0, -2, 2.5, True, None])
def test_global_batch_size_needs_a_positive_integer(bad, no_launcher):
    strategy = DataParallel(communicator=FakeComm(size=4))
    assert strategy.global_batch_size(16) == 64
    with pytest.raises(ValueError, match="per-rank batch size"):
        strategy.global_batch_size(bad)


def test_scopes_nest_and_compile_records_the_strategy(no_launcher):
    outer, inner = DataParallel(), DataParallel()
    assert get_strategy() is None
    with outer.scope() as s:
        assert s is outer and get_strategy() is outer
        with pytest.raises(KeyError):
            with inner.scope():
                assert get_strategy() is inner
                raise KeyError("leaves the scope")
        assert get_strategy() is outer
        model = keras.Sequential([layers.Dense(1, input_shape=(2,))])
        model.compile(optimizer="sgd", loss="mse")
    assert get_strategy() is None and model._distribution is outer
    plain = keras.Sequential([layers.Dense(1, input_shape=(2,))])
    plain.compile(optimizer="sgd", loss="mse")
    assert plain._distribution is None


def test_a_one_process_strategy_trains_exactly_like_no_strategy(no_launcher, rng):
    x = rng.standard_normal((50, 3)).astype("float32")
    y = x @ np.array([[1.0], [2.0], [-1.0]], "float32")
    histories, weights = [], []
    for strategy in (None, DataParallel()):
        set_random_seed(3)
        model = keras.Sequential([layers.Dense(4, input_shape=(3,)), layers.Dense(1)])
        if strategy is None:
            model.compile(optimizer="adam", loss="mse", metrics=["mae"])
        else:
            with strategy.scope():
                model.compile(optimizer="adam", loss="mse", metrics=["mae"])
        histories.append(model.fit(x, y, batch_size=8, epochs=2, validation_split=0.2,
                                   verbose=0).history)
        histories.append(model.evaluate(x, y, verbose=0, return_dict=True))
        weights.append(model.get_weights())
    assert histories[0] == histories[2] and histories[1] == histories[3]
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------- metrics
def test_metric_values_reduce_copies_and_leave_the_local_state_alone(no_launcher):
    strategy = DataParallel(communicator=FakeComm(size=3))
    total, mean = keras.metrics.Sum(name="total"), keras.metrics.Mean(name="avg")
    total.update_state(np.array([1.0, 2.0]))
    mean.update_state(np.array([2.0, 4.0]), sample_weight=np.array([1.0, 3.0]))
    values = strategy.metric_values(["total", "avg"], [total, mean])
    assert values == pytest.approx({"total": 9.0, "avg": 3.5})  # sum x 3; the mean is the same
    assert float(total.result()) == 3.0 and [float(v) for v in mean.variables] == [14.0, 4.0]


def test_gradients_are_weighted_by_each_ranks_share_of_the_batch(no_launcher):
    comm = FakeComm(rank=0, size=2)
    strategy = DataParallel(communicator=comm)
    grads = [np.full((2, 2), 4.0, "float32"), np.full(3, 2.0, "float32")]
    strategy._fraction = 3 / 5  # this rank's slice was 3 of 5 samples
    out = strategy.reduce_gradients(grads)
    np.testing.assert_allclose(out[0], 2 * 0.6 * 4.0)
    np.testing.assert_allclose(out[1], 2 * 0.6 * 2.0)
    strategy._fraction = None  # outside fit (train_on_batch): every rank counts the same
    np.testing.assert_allclose(strategy.reduce_gradients(grads)[1], 2.0)
    assert len(comm.calls) == 2 and strategy.timings["reduce_calls"] == 2


# ------------------------------------------------------------ GPUs and errors
def test_a_rank_that_cannot_reach_its_gpu_is_named_on_every_rank(monkeypatch):
    def fails(local_rank):
        raise RuntimeError("cudaErrorNoDevice")

    monkeypatch.setattr(communicator, "select_gpu", fails)
    statuses = [(0, "node-a", True, 0, "0000:01:00.0", ""),
                (1, "node-a", False, 1, None, "RuntimeError: cudaErrorNoDevice")]
    comm = FakeComm(rank=1, size=2, gathered=statuses)
    with pytest.raises(RuntimeError, match=r"1 of 2 rank\(s\) cannot use their GPU: rank 1 on "
                                           r"host node-a \(GPU 1\): RuntimeError: "
                                           r"cudaErrorNoDevice"):
        communicator._choose_gpus(comm, "auto")
    # under "auto", ranks that all lack a GPU simply train on the CPU
    nobody = [(r, "node-a", False, r, None, "ModuleNotFoundError: cupy") for r in range(2)]
    assert communicator._choose_gpus(FakeComm(size=2, gathered=nobody), "auto") == nobody
    with pytest.raises(RuntimeError, match="rank 0 on host node-a"):
        communicator._choose_gpus(FakeComm(size=2, gathered=nobody), "cupy")


def test_nccl_is_refused_for_ranks_sharing_a_gpu(monkeypatch):
    monkeypatch.setattr(communicator, "nccl_module", lambda: object())
    shared = [(0, "n", True, 0, "bus0", ""), (1, "n", True, 0, "bus0", "")]
    assert "ranks 0 and 1 share GPU 0 on host n" in communicator._nccl_blocker(shared)
    apart = [(0, "n", True, 0, "bus0", ""), (1, "n", True, 1, "bus1", "")]
    assert communicator._nccl_blocker(apart) is None


def test_nccl_without_a_gpu_reports_which_rank_and_host(no_launcher):
    if backend_module.cupy_status()[0]:
        pytest.skip("a GPU is usable here: the NCCL smoke test covers this machine")
    with pytest.raises(RuntimeError, match=r"rank 0 on host \S+ \(GPU 0\)"):
        DataParallel(communicator="nccl")


class FakeDeviceArray(np.ndarray):
    """A host array that looks like a CuPy array to NCCLCommunicator (`.data.ptr`)."""

    @property
    def data(self):
        return types.SimpleNamespace(ptr=self.ctypes.data)


def fake_cupy_and_nccl():
    calls = []

    class Comm:
        def __init__(self, size, uid, rank):
            calls.append(("init", size, uid, rank))

        def allReduce(self, send, recv, count, dtype, op, stream):  # noqa: N802 (CuPy's name)
            calls.append(("allReduce", send, recv, count, dtype, op, stream))

        def bcast(self, buffer, count, dtype, root, stream):
            calls.append(("bcast", buffer, count, dtype, root, stream))

    stream = types.SimpleNamespace(ptr=1234, synchronize=lambda: None)
    cuda = types.SimpleNamespace(Device=lambda: types.SimpleNamespace(id=0),
                                 get_current_stream=lambda: stream)
    cupy = types.SimpleNamespace(ndarray=FakeDeviceArray, cuda=cuda)
    nccl = types.SimpleNamespace(NCCL_FLOAT32=7, NCCL_FLOAT64=8, NCCL_SUM=0, NcclCommunicator=Comm,
                                 get_unique_id=lambda: (1, 2, 3))
    return cupy, nccl, calls


def test_nccl_communicator_passes_device_pointers_counts_and_types(monkeypatch):
    cupy, nccl, calls = fake_cupy_and_nccl()
    monkeypatch.setattr(communicator, "_cupy", lambda: cupy)
    monkeypatch.setattr(communicator, "nccl_module", lambda: nccl)
    host = FakeComm(rank=0, size=1)
    comm = communicator.NCCLCommunicator(host)
    assert calls == [("init", 1, (1, 2, 3), 0)] and comm.name == "nccl"
    device = np.arange(6, dtype="float32").view(FakeDeviceArray)
    assert comm.allreduce(device) is device
    assert calls[-1] == ("allReduce", device.ctypes.data, device.ctypes.data, 6, 7, 0, 1234)
    comm.broadcast(device[:0].copy().view(FakeDeviceArray))  # empty: nothing to send
    assert calls[-1][0] == "allReduce"
    comm.broadcast(np.ones(3, "float64").view(FakeDeviceArray), root=0)
    assert calls[-1][0] == "bcast" and calls[-1][2:] == (3, 8, 0, 1234)
    # host arrays and dtypes NCCL has no type for go over the base communicator
    comm.allreduce(np.ones(2, "float32"))
    comm.allreduce(np.ones(2, "int16").view(FakeDeviceArray))
    assert [c[0] for c in host.calls] == ["allreduce", "allreduce"]
    with pytest.raises(ValueError, match="contiguous 1-D arrays"):
        comm.allreduce(np.ones((2, 2), "float32").view(FakeDeviceArray))


@pytest.mark.gpu
def test_nccl_one_rank_smoke_test(no_launcher, rng):
    previous = backend_module.get_backend().name
    backend_module.set_backend("cupy")
    try:
        strategy = DataParallel(communicator="nccl")
        assert strategy.communicator.name == "nccl" and strategy.num_replicas == 1
        xp = backend_module.get_backend().xp
        buffer = xp.arange(5, dtype=xp.float32)
        strategy.communicator.allreduce(buffer)
        np.testing.assert_array_equal(xp.asnumpy(buffer), np.arange(5))
        x = rng.standard_normal((32, 3)).astype("float32")
        y = x.sum(axis=1, keepdims=True)
        with strategy.scope():
            model = keras.Sequential([layers.Dense(1, input_shape=(3,))])
            model.compile(optimizer="sgd", loss="mse")
        history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
        assert history.history["loss"][1] < history.history["loss"][0]
    finally:
        backend_module.set_backend(previous)


def test_an_uncaught_exception_prints_then_aborts_the_job(monkeypatch, capsys):
    comm = FakeComm(rank=1, size=2)
    printed = []
    monkeypatch.setattr(sys, "excepthook", lambda *exc: printed.append(exc[0]))
    communicator.install_abort_on_error(comm)
    communicator.install_abort_on_error(comm)  # installing twice wraps once
    sys.excepthook(ValueError, ValueError("bad"), None)
    assert printed == [ValueError] and comm.aborted == 1
    assert "uncaught ValueError on rank 1 of 2" in capsys.readouterr().err


# ------------------------------------------------------------ no MPI loaded
def test_single_process_training_never_imports_mpi4py():
    code = textwrap.dedent("""
        import sys
        import numpy as np
        import gkeras as keras
        x = np.random.default_rng(0).random((20, 3)).astype("float32")
        model = keras.Sequential([keras.layers.Dense(1, input_shape=(3,))])
        model.compile(optimizer="sgd", loss="mse")
        model.fit(x, x[:, :1], epochs=1, verbose=0)
        assert "gkeras.distribute" not in sys.modules, "fit imported gkeras.distribute"
        import gkeras.distribute
        strategy = gkeras.distribute.DataParallel()
        with strategy.scope():
            model.compile(optimizer="sgd", loss="mse")
        model.fit(x, x[:, :1], epochs=1, verbose=0)
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("mpi4py", "cupy"))
        assert not loaded, loaded
        print("clean")
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith(LAUNCHER_PREFIXES)}
    env["GKERAS_BACKEND"] = "numpy"
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (os.path.dirname(os.path.dirname(os.path.abspath(keras.__file__))),
                    env.get("PYTHONPATH")) if p)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and "clean" in done.stdout, done.stderr
