"""Atomic writes: temporary file, fsync, rename, directory fsync; stale temporaries cleaned."""

import os
import subprocess
import sys

import pytest

from gkeras.saving import atomic


def _dead_pid():
    """The pid of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_success_replaces_target_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "model.h5"
    target.write_bytes(b"old")
    with atomic.atomic_write(target) as tmp:
        assert os.path.dirname(tmp) == str(tmp_path)  # same filesystem: rename is atomic
        assert os.path.basename(tmp).startswith(".model.h5.gkeras-tmp-")
        with open(tmp, "wb") as f:
            f.write(b"new")
        assert target.read_bytes() == b"old"  # not visible until the body is done
    assert target.read_bytes() == b"new"
    assert sorted(os.listdir(tmp_path)) == ["model.h5"]


def test_failure_keeps_target_and_removes_temporary(tmp_path):
    target = tmp_path / "model.h5"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="disk full"):
        with atomic.atomic_write(target) as tmp:
            with open(tmp, "wb") as f:
                f.write(b"partial")
            raise RuntimeError("disk full")
    assert target.read_bytes() == b"old"
    assert sorted(os.listdir(tmp_path)) == ["model.h5"]


def test_creates_missing_directory(tmp_path):
    target = tmp_path / "a" / "b" / "w.h5"
    with atomic.atomic_write(target) as tmp, open(tmp, "wb") as f:
        f.write(b"x")
    assert target.read_bytes() == b"x"


def test_order_is_write_fsync_replace_then_fsync_directory(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append(("fsync", os.path.isdir(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src, dst):
        events.append(("replace", os.path.basename(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    with atomic.atomic_write(tmp_path / "w.h5") as tmp, open(tmp, "wb") as f:
        f.write(b"data")
    assert events == [("fsync", False), ("replace", "w.h5"), ("fsync", True)]


def test_stale_temporaries_of_dead_writers_are_removed(tmp_path):
    target = tmp_path / "best.h5"
    dead = tmp_path / f".best.h5{atomic.TEMP_MARKER}{_dead_pid()}-abcd1234"
    alive = tmp_path / f".best.h5{atomic.TEMP_MARKER}{os.getppid()}-abcd1234"
    mine = tmp_path / f".best.h5{atomic.TEMP_MARKER}{os.getpid()}-abcd1234"
    other_target = tmp_path / f".other.h5{atomic.TEMP_MARKER}{_dead_pid()}-abcd1234"
    unrelated = tmp_path / ".best.h5.notes"
    for path in (dead, alive, mine, other_target, unrelated):
        path.write_bytes(b"junk")
    assert atomic.stale_temporaries(target) == [str(dead)]
    with atomic.atomic_write(target) as tmp, open(tmp, "wb") as f:
        f.write(b"x")
    remaining = sorted(os.listdir(tmp_path))
    assert dead.name not in remaining
    # live writers' files, other targets' files and foreign files are left alone
    assert {alive.name, mine.name, other_target.name, unrelated.name, "best.h5"} == set(remaining)
