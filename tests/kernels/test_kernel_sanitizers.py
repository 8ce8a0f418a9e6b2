"""AddressSanitizer and ThreadSanitizer builds of the emulated kernels report nothing.

The emulator library is rebuilt from the unmodified kernels/*.cu with `-fsanitize=address` or
`-fsanitize=thread` and `sanitizer_driver.py` runs every kernel through it in a subprocess with
the sanitizer runtime preloaded (Python itself is not instrumented). In the threads schedule
every CUDA thread is an OS thread, so ThreadSanitizer sees each shared-memory access; the last
test proves it by removing a barrier and expecting a data race report at that .cu line.
"""

import os
import re
import subprocess
import sys

import emulator
import pytest

from gkeras.backend import kernels

pytestmark = pytest.mark.slow
DRIVER = emulator.HERE / "sanitizer_driver.py"


def _runtime(sanitize):
    cxx = emulator.compiler()
    if cxx is None:
        pytest.skip("g++ not found: the CPU emulation of the CUDA kernels needs it")
    name = {"thread": "libtsan.so", "address": "libasan.so"}[sanitize]
    path = subprocess.run([cxx, f"-print-file-name={name}"], capture_output=True, text=True,
                          timeout=60).stdout.strip()
    if not os.path.isabs(path) or not os.path.exists(path):
        pytest.skip(f"g++ has no {name} here")
    return path


def run_driver(lib, sanitize, schedule):
    env = dict(os.environ, LD_PRELOAD=_runtime(sanitize),
               ASAN_OPTIONS="detect_leaks=0:abort_on_error=0",  # Python's own leaks are not ours
               TSAN_OPTIONS="exitcode=66:report_signal_unsafe=0")
    return subprocess.run([sys.executable, str(DRIVER), "--emulator", str(lib), "--schedule",
                           schedule], capture_output=True, text=True, env=env, timeout=600)


@pytest.fixture(scope="module")
def tsan_lib(tmp_path_factory):
    _runtime("thread")
    return emulator.build(tmp_path_factory.mktemp("tsan"), sanitize="thread")


@pytest.fixture(scope="module")
def asan_lib(tmp_path_factory):
    _runtime("address")
    return emulator.build(tmp_path_factory.mktemp("asan"), sanitize="address")


def test_thread_sanitizer_reports_nothing(tsan_lib):
    result = run_driver(tsan_lib, "thread", "threads")
    assert "ThreadSanitizer" not in result.stderr, result.stderr[-6000:]
    assert result.returncode == 0, result.stdout + result.stderr[-6000:]
    assert "10 of 10 cases matched" in result.stdout


@pytest.mark.parametrize("schedule", ["threads", "serial"])
def test_address_sanitizer_reports_nothing(asan_lib, schedule):
    result = run_driver(asan_lib, "address", schedule)
    assert "ERROR: AddressSanitizer" not in result.stderr, result.stderr[-6000:]
    assert result.returncode == 0, result.stdout + result.stderr[-6000:]
    assert "10 of 10 cases matched" in result.stdout


def test_thread_sanitizer_reports_a_removed_barrier(tmp_path):
    _runtime("thread")
    name = "softmax_crossentropy.cu"
    text = kernels.kernel_source_path(name).read_text()
    start = text.index("__syncthreads();")
    line = text.count("\n", 0, start) + 1
    mutant = tmp_path / name
    mutant.write_text(text[:start] + "/* barrier removed */" + text[start + 16:])
    lib = emulator.build(tmp_path, {name: mutant}, sanitize="thread")
    result = run_driver(lib, "thread", "threads")
    assert result.returncode != 0
    assert "WARNING: ThreadSanitizer: data race" in result.stderr
    # the race is on the scratch written just before, or read just after, the removed line
    lines = {int(n) for n in re.findall(re.escape(str(mutant)) + r":(\d+)", result.stderr)}
    assert lines & {line - 1, line + 1, line + 2}, (line, sorted(lines))


def test_address_sanitizer_reports_an_out_of_bounds_write(tmp_path):
    _runtime("address")
    name = "conv2d.cu"
    text = kernels.kernel_source_path(name).read_text()
    assert text.count("r < nrows;") == 1
    mutant = tmp_path / name
    mutant.write_text(text.replace("r < nrows;", "r <= nrows;"))  # one row past each chunk
    lib = emulator.build(tmp_path, {name: mutant}, sanitize="address")
    result = run_driver(lib, "address", "serial")
    assert result.returncode != 0
    assert "ERROR: AddressSanitizer: heap-buffer-overflow" in result.stderr, result.stderr[-3000:]
    assert f"{mutant}:" in result.stderr
