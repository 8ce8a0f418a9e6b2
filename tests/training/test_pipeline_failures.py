"""What the data pipeline does when the data misbehaves: errors, exhaustion, hangs, Ctrl-C.

Each scenario runs real worker threads or processes; afterwards no `gkeras-prefetch-*` thread
and no worker process may be left.
"""

import csv
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import traceback

import numpy as np
import pytest

import gkeras as keras
from gkeras import layers
from gkeras.training.prefetch import DataTimeoutError, RemoteTraceback
from gkeras.utils.sequence import Sequence

STEPS = 6
FAIL_AT = {"first": 0, "middle": 3, "last": STEPS - 1}
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


class BatchFailure(Exception):
    """A user error with a distinctive type."""


def data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((8 * STEPS, 3)).astype("float32"), \
        rng.standard_normal((8 * STEPS, 1)).astype("float32")


def failing_batches(fail_at):
    x, y = data()
    step = 0
    while True:
        if step == fail_at:
            raise BatchFailure(f"broken batch {step}")
        yield x[8 * (step % STEPS):8 * (step % STEPS) + 8], y[:8]
        step += 1


class FailingSequence(Sequence):
    def __init__(self, fail_at, exit_instead=False):
        super().__init__()
        self.fail_at = fail_at
        self.exit_instead = exit_instead
        self.x, self.y = data()

    def __len__(self):
        return STEPS

    def __getitem__(self, index):
        if index == self.fail_at:
            if self.exit_instead:
                os._exit(3)
            raise BatchFailure(f"broken batch {index}")
        return self.x[8 * index:8 * index + 8], self.y[8 * index:8 * index + 8]


class StuckSequence(Sequence):
    def __init__(self, release):
        super().__init__()
        self.release = release

    def __len__(self):
        return 4

    def __getitem__(self, index):
        if index == 2:
            self.release.wait(20)
        return np.zeros((2, 3), "float32"), np.zeros((2, 1), "float32")


def model():
    m = keras.Sequential([layers.Dense(1, input_shape=(3,))])
    m.compile(optimizer="sgd", loss="mse")
    return m


def prefetch_threads():
    return [t.name for t in threading.enumerate() if t.name.startswith("gkeras-prefetch-")]


def wait_until_no_prefetch_threads(limit=3.0):
    deadline = time.monotonic() + limit
    while prefetch_threads() and time.monotonic() < deadline:
        time.sleep(0.02)
    return prefetch_threads()


@pytest.mark.parametrize("where", ["first", "middle", "last"])
@pytest.mark.parametrize("workers", [0, 1, 4])
@pytest.mark.parametrize("source", ["generator", "sequence"])
def test_an_error_in_the_data_reaches_fit_unchanged(source, workers, where):
    fail_at = FAIL_AT[where]
    data_source = failing_batches(fail_at) if source == "generator" else FailingSequence(fail_at)
    m = model()
    start = time.monotonic()
    with pytest.raises(BatchFailure, match=f"^broken batch {fail_at}$") as info:
        m.fit(data_source, steps_per_epoch=STEPS, epochs=2, shuffle=False, verbose=0,
              workers=workers, max_queue_size=3)
    assert time.monotonic() - start < 2.0
    frames = "".join(traceback.format_exception(info.value))
    assert ("failing_batches" if source == "generator" else "__getitem__") in frames
    assert prefetch_threads() == []


def test_an_error_in_a_worker_process_keeps_type_message_and_child_traceback():
    m = model()
    with pytest.raises(BatchFailure, match="^broken batch 3$") as info:
        m.fit(FailingSequence(3), epochs=1, shuffle=False, verbose=0, workers=2,
              use_multiprocessing=True)
    cause = info.value.__cause__
    assert isinstance(cause, RemoteTraceback)
    assert "__getitem__" in str(cause) and "BatchFailure: broken batch 3" in str(cause)
    assert multiprocessing.active_children() == []


def test_a_dead_worker_process_is_reported_not_waited_for():
    m = model()
    with pytest.raises(RuntimeError, match=r"worker process of Sequence 'FailingSequence' .* "
                                           r"died with exit code 3"):
        m.fit(FailingSequence(1, exit_instead=True), epochs=1, shuffle=False, verbose=0,
              workers=2, use_multiprocessing=True)
    assert multiprocessing.active_children() == []


def test_an_error_in_validation_data_reaches_fit():
    x, y = data()
    with pytest.raises(BatchFailure, match="broken batch 2"):
        model().fit(x, y, epochs=1, verbose=0, validation_data=FailingSequence(2), workers=4)
    assert prefetch_threads() == []


def test_an_error_in_the_model_stops_the_workers():
    class WrongWidth(Sequence):
        def __len__(self):
            return 50

        def __getitem__(self, index):
            return np.zeros((4, 5), "float32"), np.zeros((4, 1), "float32")

    m = model()
    m.build((None, 3))
    with pytest.raises(ValueError):
        m.fit(WrongWidth(), epochs=1, verbose=0, workers=4)
    assert prefetch_threads() == []


@pytest.mark.parametrize("workers", [0, 1, 4])
def test_a_generator_that_runs_out_stops_training_with_a_warning(workers):
    x, y = data()

    def eight_batches():
        for _ in range(8):
            yield x[:8], y[:8]

    m = model()
    with pytest.warns(UserWarning, match="Your input ran out of data; interrupting training. "
                                         "Expected 6 steps, got 2"):
        history = m.fit(eight_batches(), steps_per_epoch=STEPS, epochs=5, verbose=0,
                        workers=workers)
    assert len(history.history["loss"]) == 2
    assert prefetch_threads() == []


def test_a_blocked_generator_times_out_naming_it(monkeypatch):
    monkeypatch.setenv("GKERAS_DATA_TIMEOUT", "0.5")
    release = threading.Event()
    x, y = data()

    def stuck_batches():
        yield x[:8], y[:8]
        yield x[:8], y[:8]
        release.wait(20)
        yield x[:8], y[:8]

    start = time.monotonic()
    try:
        with pytest.raises(DataTimeoutError, match="generator 'test_a_blocked_generator_times_"
                                                   "out_naming_it.<locals>.stuck_batches'"):
            model().fit(stuck_batches(), steps_per_epoch=4, verbose=0, workers=1)
        assert time.monotonic() - start < 3.0
    finally:
        release.set()
    assert wait_until_no_prefetch_threads() == []


def test_a_blocked_sequence_times_out_naming_it(monkeypatch):
    monkeypatch.setenv("GKERAS_DATA_TIMEOUT", "0.4")
    release = threading.Event()
    try:
        with pytest.raises(TimeoutError, match=r"batch 2 from Sequence 'StuckSequence'"):
            model().fit(StuckSequence(release), shuffle=False, verbose=0, workers=2)
    finally:
        release.set()
    assert wait_until_no_prefetch_threads() == []


_INTERRUPT_SCRIPT = textwrap.dedent("""
    import multiprocessing, signal, sys, threading, time
    # Python leaves SIGINT ignored when its parent ignored it (a background job of a
    # non-interactive shell, as CI may be); a user's Ctrl-C arrives as KeyboardInterrupt.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    import numpy as np
    import gkeras as keras
    from gkeras import layers
    from gkeras.utils.sequence import Sequence

    class Slow(Sequence):
        def __len__(self):
            return 4

        def __getitem__(self, index):
            time.sleep(0.02)
            return np.ones((4, 3), "float32"), np.ones((4, 1), "float32")

    if __name__ == "__main__":
        model = keras.Sequential([layers.Dense(1, input_shape=(3,))])
        model.compile(optimizer="sgd", loss="mse")
        progress = keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: print("EPOCH", epoch, flush=True))
        try:
            model.fit(Slow(), epochs=100000, verbose=0, workers=2,
                      use_multiprocessing=sys.argv[2] == "processes",
                      callbacks=[keras.callbacks.CSVLogger(sys.argv[1]), progress])
        except KeyboardInterrupt:
            alive = [t.name for t in threading.enumerate()
                     if t.name.startswith("gkeras-prefetch-")]
            print("INTERRUPTED", alive, len(multiprocessing.active_children()), flush=True)
            raise
""")


@pytest.mark.parametrize("mode", ["threads", "processes"])
def test_ctrl_c_during_fit_stops_workers_and_exits_promptly(tmp_path, mode):
    script = tmp_path / "interrupt_me.py"
    script.write_text(_INTERRUPT_SCRIPT)
    log = tmp_path / "log.csv"
    env = dict(os.environ, PYTHONPATH=REPO, GKERAS_BACKEND="numpy")
    # its own session, so cleanup can reach worker processes that inherited the pipes
    proc = subprocess.Popen([sys.executable, str(script), str(log), mode], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if line.startswith("EPOCH 2") or not line:
                break
        assert line.startswith("EPOCH 2"), proc.stderr.read()[-2000:]
        proc.send_signal(signal.SIGINT)
        sent = time.monotonic()
        out, err = proc.communicate(timeout=15)
        elapsed = time.monotonic() - sent
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # leftovers of a failed run, workers included
        except ProcessLookupError:
            pass
        if proc.poll() is None or proc.stdout and not proc.stdout.closed:
            proc.communicate(timeout=30)
    assert proc.returncode != 0 and "KeyboardInterrupt" in err
    assert "INTERRUPTED [] 0" in out, out + err[-2000:]
    assert elapsed < 5.0
    with open(log, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["epoch", "loss"]
    assert len(rows) >= 4 and all(len(r) == 2 for r in rows)
    assert [int(r[0]) for r in rows[1:]] == list(range(len(rows) - 1))
