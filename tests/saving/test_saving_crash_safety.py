"""Checkpoints survive SIGKILL mid-write, and readers never see a partial file."""

import os
import random
import signal
import subprocess
import sys
import threading
import time

import pytest
from saving_models import dense_model, which_version

import gkeras
from gkeras.saving import atomic, load_model, load_weights, save_weights

HERE = os.path.dirname(os.path.abspath(__file__))
WRITER = os.path.join(HERE, "checkpoint_writer.py")

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")


class Writer:
    """A `checkpoint_writer.py` subprocess; its completed saves are collected as they come."""

    def __init__(self, folder, first_version, delay):
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([HERE] + [p for p in sys.path if p])
        self.proc = subprocess.Popen(
            [sys.executable, WRITER, str(folder), str(first_version), str(delay)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.lines = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.split())

    def completed(self, kind):
        return [int(v) for k, v in list(self.lines) if k == kind]

    def temporaries(self, folder):
        marker = f"{atomic.TEMP_MARKER}{self.proc.pid}-"
        return [name for name in os.listdir(folder) if marker in name]

    def wait_for(self, condition, what, timeout=60.0):
        deadline = time.monotonic() + timeout
        while not condition():
            if self.proc.poll() is not None:
                raise AssertionError(f"writer exited early: {self.proc.stderr.read()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.0005)

    def kill(self):
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self._reader.join(timeout=10)
        self.proc.stdout.close()
        self.proc.stderr.close()


def _loaded_version(folder, kind, candidates):
    if kind == "model":
        model = load_model(os.path.join(folder, "ckpt.h5"))
    else:
        model = dense_model((32, 16, 8))
        load_weights(model, os.path.join(folder, "ckpt.weights.h5"))
    return which_version(model, candidates)


def test_sigkill_during_checkpoint_writes_leaves_previous_file_intact(tmp_path):
    rng = random.Random(1234)
    last = {"model": None, "weights": None}
    first_version, kills_inside_writes = 0, 0
    for round_index in range(12):
        writer = Writer(tmp_path, first_version, delay=0.002)
        try:
            if round_index == 0:  # both files must exist before the first kill
                writer.wait_for(lambda w=writer: w.completed("weights"), "the first saves")
            writer.wait_for(lambda w=writer: w.temporaries(tmp_path), "a save in progress")
            time.sleep(rng.uniform(0.0, 0.05))  # anywhere in the ~80 ms write
            killed_mid_write = bool(writer.temporaries(tmp_path))
        finally:
            writer.kill()
        kills_inside_writes += killed_mid_write
        for kind in ("model", "weights"):
            done = writer.completed(kind)
            newest = done[-1] if done else last[kind]
            # the file holds the newest completed save, or the one whose rename finished just
            # before the kill (its "done" line was not printed yet): complete either way
            candidates = [v for v in (newest, first_version if newest is None else newest + 1)
                          if v is not None]
            version = _loaded_version(tmp_path, kind, candidates)
            assert version is not None, (
                f"round {round_index}: ckpt for {kind} holds none of versions {candidates}")
            last[kind] = version
        first_version = max(v for v in last.values() if v is not None) + 100
    assert kills_inside_writes >= 10
    # The killed writers left temporaries; the next save of the same target removes them.
    model = dense_model((32, 16, 8))
    save_weights(model, tmp_path / "ckpt.weights.h5")
    gkeras.saving.save_model(model, tmp_path / "ckpt.h5")
    assert sorted(os.listdir(tmp_path)) == ["ckpt.h5", "ckpt.weights.h5"]


def test_reader_never_sees_a_partial_file_while_training_keeps_writing(tmp_path):
    writer = Writer(tmp_path, 0, delay=0.001)
    try:
        writer.wait_for(lambda: writer.completed("weights"), "the first saves")
        seen = {"model": [], "weights": []}
        deadline = time.monotonic() + 4.0
        while time.monotonic() < deadline:
            for kind in ("model", "weights"):
                newest = writer.completed(kind)[-1]
                candidates = range(max(0, newest - 5), newest + 3)
                version = _loaded_version(tmp_path, kind, candidates)
                assert version is not None, f"{kind} file read in a partial state"
                seen[kind].append(version)
    finally:
        writer.kill()
    for kind, versions in seen.items():
        assert versions == sorted(versions), f"{kind}: versions went backwards: {versions}"
        assert len(set(versions)) >= 3, f"{kind}: the writer barely advanced: {versions}"
        assert len(versions) >= 10
