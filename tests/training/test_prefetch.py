"""The prefetch queue itself: order, exactly-once delivery, back-pressure, threads, timeouts."""

import os
import threading
import time

import pytest

from gkeras.training import prefetch
from gkeras.training.prefetch import END, IndexedFeeder, ProcessIndexedFeeder, StreamFeeder


def settle(read, expected, limit=5.0):
    """Waits until `read()` reaches `expected` (slow machines), then a little longer."""
    deadline = time.monotonic() + limit
    while read() < expected and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)  # room for a bug to overshoot
    return read()


def prefetch_threads():
    return [t for t in threading.enumerate() if t.name.startswith("gkeras-prefetch-")]


def drain(feeder):
    out = []
    while True:
        item = feeder.get()
        if item is END:
            return out
        out.append(item)


def identity(item):
    return item


class Counting:
    """A generator stand-in that records how far it has been read and by which threads."""

    def __init__(self, n, delay=0.0):
        self.n, self.delay = n, delay
        self.produced = 0
        self.threads = set()
        self.active = 0
        self.max_active = 0

    def __iter__(self):
        return self

    def __next__(self):
        # several threads inside at once would be a "generator already executing" bug
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            self.threads.add(threading.current_thread().name)
            if self.produced >= self.n:
                raise StopIteration
            time.sleep(self.delay)
            self.produced += 1
            return self.produced - 1
        finally:
            self.active -= 1


def numbers(n):
    yield from range(n)


@pytest.fixture(autouse=True)
def no_leftover_threads():
    yield
    assert prefetch_threads() == []


@pytest.mark.parametrize("workers", [0, 1, 4])
def test_stream_feeder_keeps_generator_order_exactly_once(workers):
    feeder = StreamFeeder(numbers(50), lambda v: v * 10, workers=workers, max_queue_size=3)
    try:
        assert drain(feeder) == [10 * i for i in range(50)]
        assert feeder.get() is END  # stays finished
    finally:
        feeder.close()


def test_stream_feeder_reads_under_a_lock_never_concurrently():
    source = Counting(40, delay=0.002)
    feeder = StreamFeeder(source, identity, workers=4, max_queue_size=8)
    try:
        assert drain(feeder) == list(range(40))
    finally:
        feeder.close()
    assert source.max_active == 1
    assert all(name.startswith("gkeras-prefetch-") for name in source.threads)


def test_two_feeders_sharing_one_generator_never_collide():
    # training and validation data given the same generator: one lock for both readers
    gen = numbers(300)
    first = StreamFeeder(gen, identity, workers=3, max_queue_size=5)
    second = StreamFeeder(gen, identity, workers=3, max_queue_size=5)
    seen = []
    try:
        for _ in range(400):
            done = True
            for feeder in (first, second):
                item = feeder.get()
                if item is not END:
                    seen.append(item)
                    done = False
            if done:
                break
    finally:
        first.close()
        second.close()
    assert sorted(seen) == list(range(300))


def test_stream_feeder_runs_at_most_max_queue_size_ahead():
    source = Counting(1000)
    feeder = StreamFeeder(source, identity, workers=4, max_queue_size=5)
    try:
        assert feeder.get() == 0
        assert settle(lambda: source.produced, 1 + 5) == 1 + 5  # consumed one, five waiting
        for expected in range(1, 4):
            assert feeder.get() == expected
        assert settle(lambda: source.produced, 4 + 5) == 4 + 5
    finally:
        feeder.close()


def test_stream_feeder_workers_zero_runs_on_the_calling_thread():
    source = Counting(3)
    feeder = StreamFeeder(source, identity, workers=0)
    assert drain(feeder) == [0, 1, 2]
    assert source.threads == {threading.current_thread().name}
    assert prefetch_threads() == []
    feeder.close()


def test_stream_feeder_transform_errors_reach_the_consumer_in_position():
    def transform(value):
        if value == 3:
            raise ValueError("bad batch 3")
        return value

    feeder = StreamFeeder(numbers(10), transform, workers=2, max_queue_size=4)
    try:
        assert [feeder.get() for _ in range(3)] == [0, 1, 2]
        with pytest.raises(ValueError, match="bad batch 3"):
            feeder.get()
        with pytest.raises(ValueError, match="bad batch 3"):  # stays failed
            feeder.get()
    finally:
        feeder.close()


@pytest.mark.parametrize("workers", [0, 1, 4])
def test_indexed_feeder_delivers_plan_order_exactly_once(workers):
    calls = []
    lock = threading.Lock()

    def fetch(index):
        time.sleep(0.001 * (index % 3))  # uneven latency reorders completion
        with lock:
            calls.append(index)
        return index * 2

    plan = [7, 3, 0, 9, 1, 5, 2, 8, 6, 4]
    feeder = IndexedFeeder(fetch, workers=workers, max_queue_size=3)
    try:
        for _ in range(2):
            feeder.start_epoch(plan)
            assert drain(feeder) == [2 * i for i in plan]
    finally:
        feeder.close()
    assert sorted(calls) == sorted(plan * 2)


def test_indexed_feeder_bounds_work_ahead_and_uses_workers_in_parallel():
    active = {"now": 0, "max": 0, "calls": 0}
    lock = threading.Lock()

    def fetch(index):
        with lock:
            active["now"] += 1
            active["calls"] += 1
            active["max"] = max(active["max"], active["now"])
        time.sleep(0.03)
        with lock:
            active["now"] -= 1
        return index

    feeder = IndexedFeeder(fetch, workers=4, max_queue_size=6)
    try:
        feeder.start_epoch(range(100))
        assert feeder.get() == 0
        assert settle(lambda: active["calls"], 1 + 6) == 1 + 6
        assert active["max"] > 1  # several workers were busy at once
    finally:
        feeder.close()


def test_indexed_feeder_drops_results_of_an_abandoned_epoch():
    feeder = IndexedFeeder(lambda i: ("epoch item", i), workers=3, max_queue_size=4)
    try:
        feeder.start_epoch([0, 1, 2, 3, 4, 5])
        assert feeder.get() == ("epoch item", 0)
        time.sleep(0.05)  # workers have finished items of the old plan
        feeder.start_epoch([5, 4])
        assert drain(feeder) == [("epoch item", 5), ("epoch item", 4)]
    finally:
        feeder.close()


def test_threads_are_named_daemons_and_close_stops_them():
    feeder = IndexedFeeder(identity, workers=3)
    feeder.start_epoch(range(5))
    names = [t.name for t in prefetch_threads()]
    assert len(names) == 3 and all(t.daemon for t in prefetch_threads())
    assert drain(feeder) == list(range(5))
    feeder.close()
    feeder.close()  # idempotent
    assert prefetch_threads() == []


def test_blocked_source_raises_data_timeout_naming_it():
    release = threading.Event()

    def stuck_batches():
        yield 0
        release.wait(10)
        yield 1

    feeder = StreamFeeder(stuck_batches(), identity, workers=1, timeout=0.3,
                          name="generator 'stuck_batches'")
    try:
        assert feeder.get() == 0
        start = time.monotonic()
        with pytest.raises(prefetch.DataTimeoutError,
                           match=r"0.3 s waiting for the next batch from generator "
                                 r"'stuck_batches'.*GKERAS_DATA_TIMEOUT"):
            feeder.get()
        assert 0.25 < time.monotonic() - start < 2.0
    finally:
        release.set()
        feeder.close()


def test_resolve_timeout_reads_argument_environment_and_default(monkeypatch):
    monkeypatch.delenv("GKERAS_DATA_TIMEOUT", raising=False)
    assert prefetch.resolve_timeout() == prefetch.DEFAULT_TIMEOUT == 600.0
    monkeypatch.setattr(prefetch, "DEFAULT_TIMEOUT", 42.0)
    assert prefetch.resolve_timeout() == 42.0
    monkeypatch.setenv("GKERAS_DATA_TIMEOUT", "2.5")
    assert prefetch.resolve_timeout() == 2.5
    assert prefetch.resolve_timeout(7) == 7.0
    for off in ("none", "inf", "0", "-1"):
        monkeypatch.setenv("GKERAS_DATA_TIMEOUT", off)
        assert prefetch.resolve_timeout() is None
    monkeypatch.setenv("GKERAS_DATA_TIMEOUT", "ten")
    with pytest.raises(ValueError, match="GKERAS_DATA_TIMEOUT must be a number of seconds"):
        prefetch.resolve_timeout()


# ----------------------------------------------------------------- processes
class EnvProbe:
    """Picklable fetch reporting where it ran."""

    def __call__(self, index):
        if index == 99:
            raise KeyError(f"no batch {index}")
        return index, os.getpid(), os.environ.get("GKERAS_BACKEND")


class Unpicklable:
    def __init__(self):
        self.lock = threading.Lock()

    def __call__(self, index):
        return index


def test_process_feeder_order_isolation_and_errors(monkeypatch):
    monkeypatch.setenv("GKERAS_BACKEND", "auto")
    feeder = ProcessIndexedFeeder(EnvProbe(), workers=2, max_queue_size=3, timeout=120)
    try:
        plan = [4, 0, 3, 1, 2, 5]
        feeder.start_epoch(plan)
        results = drain(feeder)
        assert [r[0] for r in results] == plan
        assert {r[1] for r in results} <= {p.pid for p in feeder._processes}
        assert os.getpid() not in {r[1] for r in results}
        assert {r[2] for r in results} == {"numpy"}  # no CUDA in children
        assert os.environ["GKERAS_BACKEND"] == "auto"  # the parent's setting is back
        feeder.start_epoch([1, 99, 2])
        assert feeder.get()[0] == 1
        with pytest.raises(KeyError, match="no batch 99") as info:
            feeder.get()
        cause = info.value.__cause__
        assert isinstance(cause, prefetch.RemoteTraceback)
        assert "in __call__" in str(cause) and "KeyError" in str(cause)
        processes = list(feeder._processes)
    finally:
        feeder.close()
    assert not any(p.is_alive() for p in processes)


def test_process_feeder_rejects_an_unpicklable_source():
    feeder = ProcessIndexedFeeder(Unpicklable(), workers=2, name="Sequence 'Unpicklable'")
    with pytest.raises(ValueError, match="use_multiprocessing=True needs a picklable Sequence, "
                                         "but pickling Sequence 'Unpicklable' failed"):
        feeder.start_epoch([0])
    feeder.close()
