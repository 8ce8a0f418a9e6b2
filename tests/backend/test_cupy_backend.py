"""The CuPy backend on a GPU: the raw kernels against the NumPy backend, fallbacks, A/B switch.

Marked `gpu`: skipped cleanly without a usable GPU and CuPy. The CPU suite runs the same kernels
in an emulator (tests/kernels); these tests check what only the real device can: NVRTC through
CuPy, cuBLAS around the epilogues, and the kernels' results on the hardware.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import check_gradients

from gkeras import backend as backend_module
from gkeras import ops
from gkeras.backend import kernels
from gkeras.backend.numpy_backend import DENSE_ACTIVATIONS, NumpyBackend

pytestmark = pytest.mark.gpu
KERNEL_TESTS = Path(__file__).resolve().parents[1] / "kernels"
sys.path.insert(0, str(KERNEL_TESTS))
from parity import check_conv2d, check_dense, check_softmax_crossentropy  # noqa: E402

REF = NumpyBackend()
CONV_CASES = [
    ((2, 9, 8, 3), (3, 3, 3, 5), (1, 1), "valid", (1, 1)),
    ((3, 10, 11, 4), (3, 2, 4, 6), (2, 3), "same", (1, 2)),
    ((2, 7, 7, 5), (5, 5, 5, 2), (2, 2), "same", (1, 1)),
    ((4, 6, 5, 1), (1, 1, 1, 7), (2, 2), "same", (1, 1)),
    ((2, 5, 5, 3), (1, 1, 3, 4), (1, 1), "same", (1, 1)),
    ((8, 32, 32, 16), (3, 3, 16, 32), (1, 1), "same", (1, 1)),
]


@pytest.fixture
def cupy_bk():
    previous = backend_module.get_backend().name
    bk = backend_module.set_backend("cupy")
    yield bk
    backend_module.set_backend(previous)


@pytest.fixture
def capped(cupy_bk):
    """KernelOps with tiny grids and workspace: every grid-stride and chunk loop turns."""
    return kernels.KernelOps(cupy_bk.xp, kernels.run_on_gpu, max_blocks=3,
                             workspace_elements=300)


def _launches():
    return sum(kernels.launch_counts().values())


def test_every_kernel_file_compiles(cupy_bk):
    assert kernels.status() == {name: "compiled" for name in kernels.KERNEL_FILES}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", DENSE_ACTIVATIONS)
@pytest.mark.parametrize("shape", [(1, 1, 1), (7, 3, 33), (37, 13, 70), (300, 4, 17),
                                   (1000, 64, 129)], ids=str)
def test_dense_matches_numpy_backend(cupy_bk, capped, rng, shape, activation, dtype):
    before = _launches()
    check_dense(cupy_bk, rng, shape, activation, dtype, xp=cupy_bk.xp)
    check_dense(capped, rng, shape, activation, dtype, xp=cupy_bk.xp)
    assert _launches() > before


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["int64", "int32", "onehot", "probs"])
@pytest.mark.parametrize("shape", [(1, 1), (3, 2), (29, 7), (70, 33), (9, 1000), (4, 40000),
                                   (513, 10)], ids=str)
def test_softmax_crossentropy_matches_numpy_backend(cupy_bk, capped, rng, shape, kind, dtype):
    before = _launches()
    check_softmax_crossentropy(cupy_bk, rng, shape, kind, dtype, xp=cupy_bk.xp)
    check_softmax_crossentropy(capped, rng, shape, kind, dtype, xp=cupy_bk.xp)
    assert _launches() >= before + 4


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CONV_CASES, ids=str)
def test_conv2d_matches_numpy_backend(cupy_bk, capped, rng, case, dtype):
    check_conv2d(cupy_bk, rng, case, dtype, xp=cupy_bk.xp)
    check_conv2d(capped, rng, case, dtype, xp=cupy_bk.xp)


def test_gradients_through_the_double_kernels(cupy_bk, rng):
    x, W, b = rng.standard_normal((5, 3)), rng.standard_normal((3, 4)), rng.standard_normal(4)
    for activation in ("gelu", "elu", "sigmoid", "tanh"):
        check_gradients(lambda x, W, b, a=activation: ops.dense(x, W, b, activation=a,
                                                                alpha=0.7), x, W, b, bk=cupy_bk)
    check_gradients(lambda x, k: ops.conv2d(x, k, strides=(2, 1), padding="same",
                                            dilation_rate=(1, 2)),
                    rng.standard_normal((2, 5, 4, 2)), rng.standard_normal((3, 2, 2, 3)),
                    bk=cupy_bk)
    labels = rng.integers(0, 5, 4)
    check_gradients(lambda z: ops.softmax_cross_entropy(z, labels), rng.standard_normal((4, 5)),
                    bk=cupy_bk)


def _same_with_and_without_kernels(monkeypatch, fn):
    monkeypatch.setenv("GKERAS_KERNELS", "never")
    before = _launches()
    plain = fn()
    assert _launches() == before, "GKERAS_KERNELS=never still launched a kernel"
    monkeypatch.delenv("GKERAS_KERNELS")
    return plain, fn()


def test_gkeras_kernels_never_gives_the_same_results(cupy_bk, rng, monkeypatch):
    xp = cupy_bk.xp
    x, W, b = (xp.asarray(rng.standard_normal(s), dtype=xp.float32) for s in ((64, 32), (32, 48),
                                                                              (48,)))
    plain, fused = _same_with_and_without_kernels(
        monkeypatch, lambda: cupy_bk.dense(x, W, b, "gelu")[0])
    np.testing.assert_allclose(plain.get(), fused.get(), rtol=1e-5, atol=1e-6)
    image = xp.asarray(rng.standard_normal((2, 9, 9, 3)))
    kernel = xp.asarray(rng.standard_normal((3, 3, 3, 4)))
    plain, fused = _same_with_and_without_kernels(
        monkeypatch, lambda: cupy_bk.conv2d(image, kernel, None, (2, 2), "same", (1, 1)))
    np.testing.assert_allclose(plain.get(), fused.get(), rtol=1e-10)


def test_unqualified_inputs_fall_back_with_the_same_result(cupy_bk, rng):
    xp = cupy_bk.xp
    before = _launches()
    x, W, b = (rng.standard_normal(s) for s in ((6, 4), (4, 5), (5,)))
    half = [xp.asarray(a, dtype=xp.float16) for a in (x, W, b)]
    y, _ = cupy_bk.dense(*half, "relu")
    assert y.dtype == xp.float16
    np.testing.assert_allclose(y.get(), REF.dense(*(a.get() for a in half), "relu")[0],
                               rtol=1e-2)
    strided_b = xp.asarray(np.repeat(b, 2))[::2]
    y, _ = cupy_bk.dense(xp.asarray(x), xp.asarray(W), strided_b, "tanh")
    np.testing.assert_allclose(y.get(), REF.dense(x, W, b, "tanh")[0], rtol=1e-12)
    image = rng.standard_normal((2, 6, 6, 3))
    kernel = rng.standard_normal((3, 3, 3, 2))
    view = xp.asarray(image).transpose(0, 2, 1, 3)
    np.testing.assert_allclose(cupy_bk.conv2d(view, xp.asarray(kernel)).get(),
                               REF.conv2d(image.transpose(0, 2, 1, 3).copy(), kernel),
                               rtol=1e-12)
    logits = rng.standard_normal((5, 8))
    labels = np.arange(5) % 4
    loss, _ = cupy_bk.softmax_crossentropy(xp.asarray(logits)[:, ::2], xp.asarray(labels))
    np.testing.assert_allclose(loss.get(), REF.softmax_crossentropy(logits[:, ::2], labels)[0],
                               rtol=1e-12)
    assert _launches() == before, "an unqualified input reached a raw kernel"


@pytest.mark.slow
@pytest.mark.parametrize("tool", ["memcheck", "racecheck", "synccheck", "initcheck"])
def test_compute_sanitizer_finds_nothing(tool):
    sanitizer = shutil.which("compute-sanitizer") or os.path.join(
        os.environ.get("CUDA_HOME", "/usr/local/cuda"), "bin", "compute-sanitizer")
    if not os.path.exists(sanitizer):
        pytest.skip("compute-sanitizer not found")
    result = subprocess.run([sanitizer, "--tool", tool, "--error-exitcode", "9", sys.executable,
                             str(KERNEL_TESTS / "sanitizer_driver.py")],
                            capture_output=True, text=True, timeout=1200)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-6000:]
    assert "10 of 10 cases matched" in result.stdout
