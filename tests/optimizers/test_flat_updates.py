"""Flat and blocked optimizer updates (`gkeras.optimizers.flat`) give the per-variable result.

Each test runs an optimizer twice from the same start: once as shipped (small variables
packed into one buffer, large ones updated block by block) and once through a subclass that
overrides `update_step` without declaring it elementwise, which forces the plain
per-variable path. Both must agree bit for bit, variables and optimizer state alike.
"""

import os
import signal
import threading
import time
import warnings

import numpy as np
import pytest

from gkeras import optimizers
from gkeras.autodiff import Variable
from gkeras.optimizers import flat

SHAPES = [(3, 4), (4,), (5, 2, 3), (1,), (40,)]  # (40,) exceeds the test's block size

CONFIGS = [
    (optimizers.Adam, {}),
    (optimizers.Adam, {"amsgrad": True, "global_clipnorm": 0.5}),
    (optimizers.AdamW, {"weight_decay": 0.1}),
    (optimizers.Adamax, {"clipvalue": 0.3}),
    (optimizers.Nadam, {}),
    (optimizers.SGD, {"learning_rate": 0.1}),
    (optimizers.SGD, {"momentum": 0.9, "nesterov": True, "loss_scale_factor": 4.0}),
    (optimizers.RMSprop, {"momentum": 0.5, "centered": True}),
    (optimizers.Adagrad, {}),
    (optimizers.Adadelta, {"learning_rate": 1.0}),
    (optimizers.Adam, {"use_ema": True, "ema_overwrite_frequency": 2}),
]


@pytest.fixture(autouse=True)
def small_blocks(monkeypatch):
    monkeypatch.setattr(flat, "BLOCK", 16)  # so the blocked path runs on tiny variables


def per_variable(cls):
    """`cls` with an undeclared `update_step` override: updates one variable at a time."""

    class PerVariable(cls):
        def update_step(self, gradient, variable, slots, learning_rate):
            super().update_step(gradient, variable, slots, learning_rate)

    return PerVariable


def train(cls, kwargs, dtype="float32", steps=4):
    rng = np.random.default_rng(7)
    variables = [Variable(rng.standard_normal(s).astype(dtype), name=f"v{i}")
                 for i, s in enumerate(SHAPES)]
    opt = cls(**kwargs)
    for _ in range(steps):
        opt.apply([rng.standard_normal(s).astype(dtype) for s in SHAPES], variables)
    return variables, opt


@pytest.mark.parametrize("cls,kwargs", CONFIGS, ids=lambda c: getattr(c, "__name__", str(c)))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_flat_update_equals_per_variable_update(cls, kwargs, dtype):
    packed, opt = train(cls, kwargs, dtype)
    plain, ref = train(per_variable(cls), kwargs, dtype)
    assert opt._flat is not None and ref._flat is None
    for a, b in zip(packed, plain):
        assert a.dtype == dtype and a.shape == b.shape
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert len(opt.variables) == len(ref.variables)
    for a, b in zip(opt.variables, ref.variables):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_small_variables_share_one_buffer_and_stay_usable():
    variables, opt = train(optimizers.Adam, {})
    group = opt._flat
    small = [variables[i] for i in group.small]
    assert [v.shape for v in small] == [(3, 4), (4,), (1,)]  # (5, 2, 3) and (40,) are large
    for v in small:
        assert v.data.base is group.params
    # assign writes into the buffer the optimizer updates
    variables[0].assign(np.zeros((3, 4)))
    assert not group.params[:12].any()
    # optimizer state written through set_weights lands in the flat slots
    weights = opt.get_weights()
    opt.set_weights([np.full_like(w, 0.5) for w in weights])
    assert (group.slots["momentum"] == 0.5).all()
    before = [v.numpy().copy() for v in variables]
    opt.apply([np.ones(s, "float32") for s in SHAPES], variables)
    assert all((v.numpy() != b).all() for v, b in zip(variables, before))


def test_replaced_data_or_a_new_variable_list_is_planned_again():
    variables, opt = train(optimizers.Adam, {})
    first = opt._flat
    variables[1].data = np.zeros(4, "float32")  # someone rebinds the array: plan again
    opt.apply([np.ones(s, "float32") for s in SHAPES], variables)
    assert opt._flat is not first and opt._flat.matches(variables)
    # the rebound variable was updated, from the zeros it was given
    assert (variables[1].numpy() != 0).all() and variables[1].data.base is opt._flat.params
    extra = Variable(np.ones((2, 2), "float32"))
    opt.apply([np.ones(s, "float32") for s in SHAPES] + [np.ones((2, 2), "float32")],
              variables + [extra])
    assert opt._flat.matches(variables + [extra])


def test_a_list_that_keeps_changing_falls_back_to_per_variable_updates():
    rng = np.random.default_rng(0)
    a = [Variable(rng.standard_normal((3,)).astype("float32")) for _ in range(2)]
    b = [Variable(rng.standard_normal((2,)).astype("float32")) for _ in range(2)]
    opt = optimizers.SGD(0.1)
    for step in range(8):
        group = a if step % 2 else b
        before = [v.numpy().copy() for v in group]
        opt.apply([np.ones(v.shape, "float32") for v in group], group)
        for v, old in zip(group, before):
            np.testing.assert_allclose(v.numpy(), old - 0.1, rtol=1e-6)
    # b, a, b, a were planned in turn; after that the last plan (for a) is kept and b runs
    # per variable
    assert opt._flat_repacks == 3
    assert opt._flat.matches(a) and opt._flat_group(b) is None


def test_per_variable_rules_are_not_packed():
    variables, opt = train(per_variable(optimizers.Adam), {})
    assert opt._flat is None and all(v.data.base is None for v in variables)
    variables, opt = train(optimizers.Adam, {"clipnorm": 1.0})  # clipping per variable
    assert opt._flat is None


def test_mixed_dtypes_are_not_packed():
    opt = optimizers.SGD(0.5)
    v32 = Variable(np.ones(3, "float32"))
    v64 = Variable(np.ones(3, "float64"))
    opt.apply([np.ones(3, "float32"), np.ones(3, "float64")], [v32, v64])
    assert opt._flat is None
    np.testing.assert_allclose(v32.numpy(), 0.5)
    np.testing.assert_allclose(v64.numpy(), 0.5)



# ----------------------------------------------------------------- shared between threads
def recording(cls, seen, fail_on_worker=False):
    """`cls` declared elementwise, noting which threads ran its blocks."""

    class Recording(cls):
        _elementwise_update = True

        def update_step(self, gradient, variable, slots, learning_rate):
            name = threading.current_thread().name
            seen.add(name)
            if fail_on_worker and name.startswith("gkeras-update"):
                raise RuntimeError("update failed on a worker")
            super().update_step(gradient, variable, slots, learning_rate)

    return Recording


@pytest.fixture
def shared_updates(monkeypatch):
    """Thread-sized blocks of 8 elements and sharing from 16 elements on (the test variables
    hold 87), so the threaded path runs on tiny variables."""
    monkeypatch.setattr(flat, "THREAD_BLOCK", 8)
    monkeypatch.setattr(flat, "PARALLEL_MIN", 16)
    return lambda threads: monkeypatch.setattr(flat, "_THREADS", threads)


@pytest.mark.parametrize("threads", [2, 3])
@pytest.mark.parametrize("cls,kwargs", CONFIGS, ids=lambda c: getattr(c, "__name__", str(c)))
def test_threads_sharing_an_update_give_the_one_thread_result(shared_updates, cls, kwargs,
                                                                threads):
    shared_updates(1)
    alone, ref = train(cls, kwargs)
    shared_updates(threads)
    seen = set()
    shared, opt = train(recording(cls, seen), kwargs)
    workers = {name for name in seen if name.startswith("gkeras-update")}
    assert threading.current_thread().name in seen and len(workers) >= 1, seen
    for a, b in zip(shared, alone):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for a, b in zip(opt.variables, ref.variables):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_shares_cover_every_block_once_in_balanced_runs(shared_updates):
    variables, opt = train(optimizers.Adam, {})
    group = opt._flat
    grads = [np.ones(v.shape, np.float32) for v in variables]
    for count in (1, 2, 3, 5):
        shares = group.shares(grads, count)
        sizes = [sum(w.size for _, w, _ in share) for share in shares]
        assert len(shares) <= count and sum(sizes) == group.size == 87
        assert max(sizes) - min(sizes) <= 2 * flat.THREAD_BLOCK, sizes
        def starts(blocks):
            return [w.__array_interface__["data"][0] for _, w, _ in blocks]

        covered = [start for share in shares for start in starts(share)]
        assert covered == starts(group.blocks(grads, flat.THREAD_BLOCK))  # in order, once


def test_an_error_on_a_worker_thread_reaches_the_caller(shared_updates):
    shared_updates(2)
    seen = set()
    rng = np.random.default_rng(0)
    variables = [Variable(rng.standard_normal(s).astype("float32")) for s in SHAPES]
    opt = recording(optimizers.Adam, seen, fail_on_worker=True)()
    with pytest.raises(RuntimeError, match="update failed on a worker"):
        opt.apply([np.ones(s, np.float32) for s in SHAPES], variables)
    shared_updates(1)  # the pool still works for the next update
    opt.apply([np.ones(s, np.float32) for s in SHAPES], variables)


def test_update_threads_follow_the_cpus_and_the_thread_settings(monkeypatch):
    monkeypatch.setattr(flat, "_THREADS", None)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert flat.update_threads() == 1
    monkeypatch.setattr(flat, "_THREADS", None)
    monkeypatch.delenv("OMP_NUM_THREADS")
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    assert flat.update_threads() == max(1, min(len(os.sched_getaffinity(0)), 4))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_starts_its_own_update_threads(shared_updates):
    shared_updates(2)
    train(optimizers.Adam, {})  # the parent's pool exists now
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork of a threaded process
        pid = os.fork()
    if pid == 0:  # the child: a shared update must finish, not wait on the parent's threads
        try:
            train(optimizers.Adam, {})
        finally:
            os._exit(0 if flat._POOL is not None else 1)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    pytest.fail("the forked child hung in a shared update")
