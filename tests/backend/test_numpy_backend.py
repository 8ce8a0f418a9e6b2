"""The kernel-backed op pairs of a Backend against float64 NumPy references.

The same bodies run on the CuPy backend (which overrides these methods with raw kernels)
on a GPU machine.
"""

import math

import numpy as np
import pytest
from helpers import to_host

from gkeras.backend import backend_of, numpy_backend
from gkeras.backend.numpy_backend import DENSE_ACTIVATIONS, sigmoid

_erf = np.vectorize(math.erf)


def act_and_slope(z, activation, alpha):
    """Reference activation value and derivative dy/dz, by formula."""
    s = 1 / (1 + np.exp(-z))
    pdf = np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi)
    cdf = 0.5 * (1 + _erf(z / np.sqrt(2)))
    table = {
        "linear": (z, np.ones_like(z)),
        "relu": (np.maximum(z, 0), (z > 0) * 1.0),
        "sigmoid": (s, s * (1 - s)),
        "tanh": (np.tanh(z), 1 - np.tanh(z) ** 2),
        "gelu": (z * cdf, cdf + z * pdf),
        "leaky_relu": (np.where(z > 0, z, alpha * z), np.where(z > 0, 1.0, alpha)),
        "elu": (np.where(z > 0, z, alpha * np.expm1(z)), np.where(z > 0, 1.0, alpha * np.exp(z))),
    }
    return table[activation]


def test_arrays_round_trip(bk):
    host = np.arange(6, dtype=np.float32).reshape(2, 3)
    dev = bk.asarray(host)
    assert bk.owns(dev) and backend_of(dev) is bk
    assert dev.dtype == np.float32
    back = bk.to_numpy(dev)
    assert isinstance(back, np.ndarray)
    np.testing.assert_array_equal(back, host)
    assert bk.asarray([1, 2], dtype="float64").dtype == np.float64
    assert isinstance(bk.device_name(), str) and bk.device_name()
    bk.synchronize()
    assert numpy_backend().owns(host) and not numpy_backend().owns([1.0])


def test_sigmoid_and_erf(bk):
    x = np.array([-800.0, -30.0, -1.5, 0.0, 2.0, 30.0, 800.0])
    ref = np.vectorize(
        lambda v: math.exp(v) / (1 + math.exp(v)) if v < 0 else 1 / (1 + math.exp(-v))
    )(x)
    np.testing.assert_allclose(to_host(sigmoid(bk.xp, bk.asarray(x))), ref, rtol=1e-14)
    y = np.linspace(-4, 4, 17)
    out = bk.erf(bk.asarray(y.astype("float32")))
    assert out.dtype == np.float32
    np.testing.assert_allclose(to_host(out), _erf(y), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("activation", DENSE_ACTIVATIONS)
@pytest.mark.parametrize("dtype,rtol", [("float32", 2e-5), ("float64", 1e-12)])
@pytest.mark.parametrize("n,i,u", [(1, 1, 1), (7, 5, 3), (33, 17, 9)], ids=str)
def test_dense_pair(bk, rng, activation, dtype, rtol, n, i, u):
    alpha = 0.3
    x, W, b = rng.standard_normal((n, i)), rng.standard_normal((i, u)), rng.standard_normal(u)
    gy = rng.standard_normal((n, u))
    z = x @ W + b
    y_ref, slope = act_and_slope(z, activation, alpha)
    dev = [bk.asarray(a.astype(dtype)) for a in (x, W, b, gy)]
    y, z_kept = bk.dense(dev[0], dev[1], dev[2], activation, alpha)
    assert y.dtype == dtype and y.shape == (n, u)
    np.testing.assert_allclose(to_host(y), y_ref, rtol=rtol, atol=rtol)
    assert (z_kept is None) == (activation != "gelu")
    gx, gW, gb = bk.dense_backward(dev[3], dev[0], dev[1], y, z_kept, activation, alpha)
    gz = gy * slope
    for got, ref in ((gx, gz @ W.T), (gW, x.T @ gz), (gb, gz.sum(0))):
        assert got.dtype == dtype
        np.testing.assert_allclose(to_host(got), ref, rtol=rtol * 10, atol=rtol * 10)
    gx, gW, gb = bk.dense_backward(
        dev[3], dev[0], dev[1], y, z_kept, activation, alpha, has_bias=False, need_gx=False
    )
    assert gx is None and gb is None and gW.shape == (i, u)


def test_dense_without_bias_and_bad_activation(bk, rng):
    x, W = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    y, _ = bk.dense(bk.asarray(x), bk.asarray(W))
    np.testing.assert_allclose(to_host(y), x @ W, rtol=1e-12)
    with pytest.raises(ValueError, match=r"Unknown dense activation 'softmax'"):
        bk.dense(bk.asarray(x), bk.asarray(W), None, "softmax")


@pytest.mark.parametrize(
    "size,k,s,d",
    [(5, 3, 1, 1), (7, 3, 2, 1), (8, 2, 3, 2), (1, 1, 1, 1), (10, 4, 4, 3), (6, 6, 1, 1)],
    ids=str,
)
def test_conv2d_geometry(size, k, s, d):
    eff = (k - 1) * d + 1
    out, pads = numpy_backend().conv2d_geometry(size, k, s, d, "valid")
    assert out == max(0, math.ceil((size - eff + 1) / s)) and pads == (0, 0)
    out, (before, after) = numpy_backend().conv2d_geometry(size, k, s, d, "same")
    assert out == math.ceil(size / s)
    assert before + after == max((out - 1) * s + eff - size, 0) and after - before in (0, 1)
    with pytest.raises(ValueError, match="Unknown padding 'causal'"):
        numpy_backend().conv2d_geometry(size, k, s, d, "causal")


CONV_CASES = [
    ((1, 4, 4, 1), (3, 3, 1, 1), (1, 1), "valid", (1, 1)),
    ((2, 7, 5, 3), (3, 2, 3, 4), (2, 3), "same", (1, 1)),
    ((2, 9, 8, 2), (2, 3, 2, 3), (2, 2), "same", (3, 2)),
    ((3, 6, 6, 4), (1, 1, 4, 5), (1, 1), "valid", (1, 1)),
]


@pytest.mark.parametrize("x_shape,k_shape,strides,padding,dilation", CONV_CASES, ids=str)
def test_conv2d_backward_is_the_adjoint_of_the_forward(
    bk, rng, x_shape, k_shape, strides, padding, dilation
):
    # conv is bilinear: <conv(x, W), gy> = <x, dL/dx> = <W, dL/dW> exactly, for any gy
    x, W = rng.standard_normal(x_shape), rng.standard_normal(k_shape)
    geometry = (strides, padding, dilation)
    y = to_host(bk.conv2d(bk.asarray(x), bk.asarray(W), None, *geometry))
    gy = rng.standard_normal(y.shape)
    gx = to_host(bk.conv2d_backward_input(bk.asarray(gy), bk.asarray(W), x_shape, *geometry))
    gW = to_host(bk.conv2d_backward_filter(bk.asarray(x), bk.asarray(gy), k_shape, *geometry))
    assert gx.shape == x_shape and gW.shape == k_shape
    inner = (y * gy).sum()
    np.testing.assert_allclose((x * gx).sum(), inner, rtol=1e-10)
    np.testing.assert_allclose((W * gW).sum(), inner, rtol=1e-10)
    b = rng.standard_normal(k_shape[-1])
    yb = to_host(bk.conv2d(bk.asarray(x), bk.asarray(W), bk.asarray(b), *geometry))
    np.testing.assert_allclose(yb, y + b, rtol=1e-12)


def ref_xent(logits, labels):
    m = logits.max(1, keepdims=True)
    log_probs = logits - m - np.log(np.exp(logits - m).sum(1, keepdims=True))
    if labels.ndim == 1:
        labels = np.eye(logits.shape[1])[labels]
    return -(labels * log_probs).sum(1), np.exp(log_probs), labels


@pytest.mark.parametrize("sparse", [True, False])
@pytest.mark.parametrize("n,c", [(1, 2), (6, 5), (40, 33)], ids=str)
def test_softmax_crossentropy_pair(bk, rng, sparse, n, c):
    logits = rng.standard_normal((n, c)) * 3
    labels = rng.integers(0, c, n) if sparse else rng.dirichlet(np.ones(c), n)
    gloss = rng.uniform(0.1, 1.0, n)
    loss_ref, probs_ref, t = ref_xent(logits, labels)
    for dtype, rtol in (("float32", 1e-5), ("float64", 1e-12)):
        lab = bk.asarray(labels if sparse else labels.astype(dtype))
        loss, probs = bk.softmax_crossentropy(bk.asarray(logits.astype(dtype)), lab)
        assert loss.dtype == probs.dtype == dtype
        np.testing.assert_allclose(to_host(loss), loss_ref, rtol=rtol, atol=rtol)
        np.testing.assert_allclose(to_host(probs), probs_ref, rtol=rtol, atol=rtol)
        g = bk.softmax_crossentropy_backward(probs, lab, bk.asarray(gloss.astype(dtype)))
        ref = (probs_ref * t.sum(1, keepdims=True) - t) * gloss[:, None]
        np.testing.assert_allclose(to_host(g), ref, rtol=rtol * 10, atol=rtol * 10)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax_crossentropy_is_stable_at_1e4(bk, dtype):
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]])
    labels = np.array([1, 0])
    loss, probs = bk.softmax_crossentropy(bk.asarray(logits.astype(dtype)), bk.asarray(labels))
    np.testing.assert_allclose(to_host(loss), [2e4, np.log(3.0)], rtol=1e-6)
    g = to_host(
        bk.softmax_crossentropy_backward(probs, bk.asarray(labels), bk.asarray(np.ones(2, dtype)))
    )
    np.testing.assert_allclose(g, [[1, -1, 0], [1 / 3 - 1, 1 / 3, 1 / 3]], atol=1e-6)
