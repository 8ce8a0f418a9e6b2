"""Every `__syncthreads()` in the kernels is needed, and the emulation can tell.

Each test copies one .cu file, deletes one barrier, builds the emulator from the copy and runs
that file's parity checks in the deterministic schedules (first runnable thread first, forward
and reverse). A missing barrier must make them fail: the leading thread reads shared memory
another thread has not written yet (NaN poison or a stale value) or overwrites it too early.
The ThreadSanitizer variant lives in test_kernel_sanitizers.py.
"""

import re

import emulator
import numpy as np
import pytest
from parity import check_dense, check_softmax_crossentropy

from gkeras.backend import kernels

BARRIER = "__syncthreads();"


def barrier_sites():
    sites = []
    for name in kernels.KERNEL_FILES:
        text = kernels.kernel_source_path(name).read_text()
        for index, match in enumerate(re.finditer(re.escape(BARRIER), text)):
            sites.append((name, index, text.count("\n", 0, match.start()) + 1))
    return sites


def run_checks(emu, name):
    """The file's parity checks, in shapes where a block loops (several rows or column tiles)."""
    ops = emu.ops(max_blocks=3, max_threads=128)
    rng = np.random.default_rng(7)
    if name == "dense.cu":
        check_dense(ops, rng, (64, 9, 130), "tanh", np.float32)
    else:
        for kind in ("int64", "probs"):
            check_softmax_crossentropy(ops, rng, (29, 300), kind, np.float64)


def test_the_kernels_have_barriers_to_remove():
    files = {name for name, _, _ in barrier_sites()}
    assert files == {"dense.cu", "softmax_crossentropy.cu"}  # conv2d.cu needs none


@pytest.mark.parametrize("schedule", ["serial", "reverse"])
def test_unmodified_sources_pass_the_same_checks(emu, schedule):
    emu.set_schedule(schedule)
    for name in ("dense.cu", "softmax_crossentropy.cu"):
        run_checks(emu, name)


@pytest.mark.parametrize("site", barrier_sites(), ids=lambda site: f"{site[0]}:{site[2]}")
def test_removing_a_barrier_makes_the_checks_fail(site, tmp_path):
    if emulator.compiler() is None:
        pytest.skip("g++ not found: the CPU emulation of the CUDA kernels needs it")
    name, index, line = site
    text = kernels.kernel_source_path(name).read_text()
    start = [m.start() for m in re.finditer(re.escape(BARRIER), text)][index]
    mutant = tmp_path / name
    mutant.write_text(text[:start] + "/* barrier removed */" + text[start + len(BARRIER):])
    emu = emulator.Emulator(emulator.build(tmp_path, {name: mutant}))
    caught = []
    for schedule in ("serial", "reverse"):
        emu.set_schedule(schedule)
        try:
            run_checks(emu, name)
        except (AssertionError, emulator.EmulatorError) as exc:
            caught.append(f"{schedule}: {str(exc).strip().splitlines()[0]}")
    assert caught, f"removing the barrier at {name}:{line} went unnoticed"
