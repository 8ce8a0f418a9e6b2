"""The real kernels/*.cu, run on the CPU by the emulator, against the NumPy backend in float64.

Every kernel runs forward and backward through `KernelOps` (the CuPy backend's own launch code:
grid arithmetic, typed scalars, chunking) in float32, compared with the float64 NumPy-backend
result, and in float64 (the `double` instantiations). Shapes include 1, odd sizes and sizes larger
than one grid: a small `max_blocks` leaves most of the work to the grid-stride loops.
"""

import emulator
import numpy as np
import pytest
from helpers import check_gradients
from parity import REF, assert_close, check_conv2d, check_dense, check_softmax_crossentropy

from gkeras import backend as backend_module
from gkeras import ops
from gkeras.backend.numpy_backend import DENSE_ACTIVATIONS


def launched(emu, prefix):
    return [launch for launch in emu.launches if launch.kernel.startswith(prefix)]


# ------------------------------------------------------------------------------ dense
DENSE_SHAPES = [(1, 1, 1), (1, 5, 3), (7, 3, 33), (37, 13, 70), (64, 9, 130), (300, 4, 17)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", DENSE_ACTIVATIONS)
@pytest.mark.parametrize("shape", DENSE_SHAPES, ids=str)
def test_dense_matches_numpy_backend(emu, rng, shape, activation, dtype):
    check_dense(emu.ops(max_blocks=3), rng, shape, activation, dtype)
    assert launched(emu, "dense_act_bwd"), "the backward kernel did not run"
    if activation != "linear":
        assert launched(emu, "dense_bias_act_fwd"), "the forward epilogue did not run"


@pytest.mark.parametrize("activation", ["linear", "relu", "gelu"])
def test_dense_without_bias_or_input_gradient(emu, rng, activation):
    check_dense(emu.ops(max_blocks=2, max_threads=64), rng, (33, 6, 41), activation,
                 np.float32, has_bias=False, need_gx=False)
    if activation == "linear":
        assert not emu.launches, "linear without bias is the GEMM alone"


def test_dense_launch_shapes_follow_the_caps(emu, rng):
    check_dense(emu.ops(max_blocks=4, max_threads=128), rng, (300, 4, 130), "tanh", np.float32)
    for launch in emu.launches:
        blocks = launch.grid[0] * launch.grid[1] * launch.grid[2]
        assert 1 <= blocks <= 4 and launch.block[0] * launch.block[1] <= 128, launch[:5]
    backward = launched(emu, "dense_act_bwd")[0]
    assert backward.block == (32, 4, 1) and backward.shared_mem == 4 * 32 * 4


# -------------------------------------------------------------- softmax cross-entropy
SCE_SHAPES = [(1, 1), (3, 2), (29, 7), (17, 100), (70, 33), (9, 1000), (2, 33000)]
LABEL_KINDS = ["int64", "int32", "onehot", "probs"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", LABEL_KINDS)
@pytest.mark.parametrize("shape", SCE_SHAPES, ids=str)
def test_softmax_crossentropy_matches_numpy_backend(emu, rng, shape, kind, dtype):
    check_softmax_crossentropy(emu.ops(max_blocks=3), rng, shape, kind, dtype)
    assert len(launched(emu, "softmax_ce_")) == 2


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["int64", "probs"])
def test_softmax_crossentropy_is_stable_for_huge_logits(emu, rng, kind, dtype):
    ops_ = emu.ops(max_blocks=2, max_threads=64)
    check_softmax_crossentropy(ops_, rng, (5, 300), kind, dtype, scale=1e4)


def test_softmax_crossentropy_row_layouts(emu, rng):
    # 32 threads and 8 rows per block for narrow rows; a whole block per row for wide ones
    ops_ = emu.ops(max_blocks=2)
    for classes, block, shared in ((7, (32, 8, 1), 0), (100, (32, 8, 1), 0),
                                   (1000, (256, 1, 1), 8 * 4), (300, (128, 2, 1), 2 * 4 * 4)):
        emu.launches.clear()
        ops_.softmax_crossentropy(rng.standard_normal((3, classes)).astype(np.float32),
                                  rng.integers(0, classes, 3))
        assert (emu.launches[0].block, emu.launches[0].shared_mem) == (block, shared), classes


def test_sparse_labels_out_of_range_give_nan(emu, rng):
    ops_ = emu.ops()
    logits = rng.standard_normal((4, 6)).astype(np.float32)
    labels = np.array([0, 6, -1, 5])
    loss, probs = ops_.softmax_crossentropy(logits, labels)
    assert np.isnan(loss[[1, 2]]).all() and np.isfinite(loss[[0, 3]]).all()
    glogits = ops_.softmax_crossentropy_backward(probs, labels, np.ones(4))
    assert np.isnan(glogits[[1, 2]]).all() and np.isfinite(glogits[[0, 3]]).all()


def test_float_class_ids_and_broadcast_gloss(emu, rng):
    # float ids are cast like the reference casts them; a stride-0 gloss is copied, not refused
    ops_ = emu.ops()
    logits = rng.standard_normal((6, 9))
    ids = rng.integers(0, 9, 6)
    loss, probs = ops_.softmax_crossentropy(logits, ids.astype(np.float32))
    loss_ref, probs_ref = REF.softmax_crossentropy(logits, ids)
    assert_close(loss, loss_ref, np.float64)
    gloss = np.broadcast_to(np.float32(1 / 6), (6,))
    glogits = ops_.softmax_crossentropy_backward(probs, ids, gloss)
    assert_close(glogits, REF.softmax_crossentropy_backward(probs_ref, ids, gloss), np.float64)
    assert len(emu.launches) == 2


# ----------------------------------------------------------------------------- conv2d
CONV_CASES = [
    # x shape, kernel shape, strides, padding, dilation
    ((1, 1, 1, 1), (1, 1, 1, 1), (1, 1), "valid", (1, 1)),
    ((2, 9, 8, 3), (3, 3, 3, 5), (1, 1), "valid", (1, 1)),
    ((3, 10, 11, 4), (3, 2, 4, 6), (2, 3), "same", (1, 2)),
    ((2, 7, 7, 5), (5, 5, 5, 2), (2, 2), "same", (1, 1)),
    ((1, 13, 6, 2), (2, 3, 2, 3), (3, 1), "valid", (2, 2)),
    ((4, 6, 5, 1), (1, 1, 1, 7), (2, 2), "same", (1, 1)),
    ((2, 5, 5, 3), (1, 1, 3, 4), (1, 1), "same", (1, 1)),
    ((1, 4, 4, 33), (3, 3, 33, 3), (1, 1), "same", (3, 3)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CONV_CASES, ids=str)
def test_conv2d_matches_numpy_backend(emu, rng, case, dtype):
    # a tiny workspace makes the launcher work in many chunks
    check_conv2d(emu.ops(max_blocks=3, workspace_elements=300), rng, case, dtype)
    pointwise = case[1][:2] == (1, 1) and case[2] == (1, 1)
    assert bool(emu.launches) != pointwise, "1x1 stride-1 convs are plain GEMMs"


def test_conv2d_chunks_cover_every_row(emu, rng):
    check_conv2d(emu.ops(max_blocks=2, workspace_elements=100), rng, CONV_CASES[2], np.float64,
                bias=False)
    im2col = launched(emu, "conv2d_im2col")
    starts = sorted({int(launch.args[-3]) for launch in im2col})
    assert len(starts) > 3 and starts[0] == 0
    assert len(launched(emu, "conv2d_col2im")) == 3  # one image per chunk


# --------------------------------------------------------------- schedules, gradients
@pytest.mark.parametrize("schedule", ["reverse", "threads"])
def test_every_kernel_under_other_schedules(emu, rng, schedule):
    emu.set_schedule(schedule)
    ops_ = emu.ops(max_blocks=2, max_threads=64, workspace_elements=200)
    check_dense(ops_, rng, (37, 5, 70), "gelu", np.float32)
    for kind in ("int32", "probs"):
        check_softmax_crossentropy(ops_, rng, (9, 300), kind, np.float64)
    check_conv2d(ops_, rng, CONV_CASES[3], np.float32)


@pytest.fixture
def emulated_backend(emu, monkeypatch):
    """Routes every op on NumPy arrays through the kernels (as the CuPy backend does)."""
    bk = emulator.EmulatedBackend(emu.ops(max_blocks=2, max_threads=64, workspace_elements=64))
    monkeypatch.setattr(backend_module, "_NUMPY", bk)
    monkeypatch.setattr(backend_module, "_active", bk)
    return bk


def test_gradients_through_the_double_kernels(emu, emulated_backend, rng):
    x, W, b = rng.standard_normal((5, 3)), rng.standard_normal((3, 4)), rng.standard_normal(4)
    for activation in ("gelu", "elu", "sigmoid"):
        check_gradients(lambda x, W, b, a=activation: ops.dense(x, W, b, activation=a,
                                                                alpha=0.7), x, W, b)
    image, kernel = rng.standard_normal((2, 5, 4, 2)), rng.standard_normal((3, 2, 2, 3))
    check_gradients(lambda x, k: ops.conv2d(x, k, strides=(2, 1), padding="same",
                                            dilation_rate=(1, 2)), image, kernel)
    bias = rng.standard_normal(3)
    for activation in ("relu", "tanh", "elu"):  # the kernels, then the activation's pass
        before = len(emu.launches)
        check_gradients(lambda x, k, b, a=activation: ops.conv2d(
            x, k, b, (2, 1), "same", (1, 2), activation=a, alpha=0.7), image, kernel, bias)
        names = {launch.kernel for launch in emu.launches[before:]}
        assert {"conv2d_im2col<double>", "conv2d_col2im<double>"} <= names, (activation, names)
    labels = rng.integers(0, 5, 4)
    check_gradients(lambda z: ops.softmax_cross_entropy(z, labels), rng.standard_normal((4, 5)))
    probs = rng.random((4, 5))
    check_gradients(lambda z: ops.softmax_cross_entropy(z, probs), rng.standard_normal((4, 5)))
    for prefix in ("dense_act_bwd<double>", "conv2d_col2im<double>", "softmax_ce_bwd_dense"):
        assert launched(emu, prefix), prefix


def test_unqualified_inputs_fall_back_to_the_generic_code(emu, emulated_backend, rng):
    x, W, b = rng.standard_normal((6, 4)), rng.standard_normal((4, 5)), rng.standard_normal(5)
    half = [a.astype(np.float16) for a in (x, W, b)]
    y, _ = emulated_backend.dense(*half, "relu")
    assert y.dtype == np.float16 and not emu.launches
    np.testing.assert_allclose(y, REF.dense(*half, "relu")[0])
    strided_b = np.repeat(b, 2)[::2]
    y, _ = emulated_backend.dense(x, W, strided_b, "tanh")
    np.testing.assert_allclose(y, REF.dense(x, W, b, "tanh")[0], rtol=1e-12)
    assert not emu.launches
    image = rng.standard_normal((2, 6, 6, 3))
    kernel = rng.standard_normal((3, 3, 3, 2))
    view = image.transpose(0, 2, 1, 3)
    np.testing.assert_allclose(emulated_backend.conv2d(view, kernel),
                               REF.conv2d(np.ascontiguousarray(view), kernel), rtol=1e-12)
    logits = rng.standard_normal((5, 8))[:, ::2]
    loss, _ = emulated_backend.softmax_crossentropy(logits, np.arange(5) % 4)
    np.testing.assert_allclose(loss, REF.softmax_crossentropy(logits, np.arange(5) % 4)[0])
    assert not emu.launches
    emulated_backend.softmax_crossentropy(np.ascontiguousarray(logits), np.arange(5) % 4)
    assert emu.launches  # the same call on contiguous data does use the kernel


def test_gkeras_kernels_never_turns_them_off(emu, emulated_backend, rng, monkeypatch):
    monkeypatch.setenv("GKERAS_KERNELS", "never")
    x, W = rng.standard_normal((6, 4)), rng.standard_normal((4, 5))
    y, _ = emulated_backend.dense(x, W, None, "relu")
    np.testing.assert_allclose(y, REF.dense(x, W, None, "relu")[0])
    assert not emu.launches
    monkeypatch.setenv("GKERAS_KERNELS", "sometimes")
    with pytest.raises(ValueError, match="GKERAS_KERNELS='sometimes'.*'auto', 'never'"):
        emulated_backend.dense(x, W, None, "relu")
