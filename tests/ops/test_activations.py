"""Activation ops: forward vs float64 NumPy references, gradients, tail numerics."""

import math

import numpy as np
import pytest
from helpers import assert_close, check_gradients, to_host

from gkeras import ops
from gkeras.autodiff import Tensor, Variable

SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805
_erf = np.vectorize(math.erf)


def logistic(x):
    # element by element with Python floats: an independent reference for both tails
    return np.vectorize(
        lambda v: 1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v))
    )(x)


def ref_elu(x, alpha=1.0):
    return np.where(x > 0, x, alpha * (np.exp(np.minimum(x, 0)) - 1))


def ref_gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))


def ref_softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


ACTIVATIONS = {
    "relu": (ops.relu, lambda x: np.maximum(x, 0)),
    "leaky_relu": (ops.leaky_relu, lambda x: np.where(x > 0, x, 0.2 * x)),
    "leaky_relu_0.05": (
        lambda t: ops.leaky_relu(t, negative_slope=0.05),
        lambda x: np.where(x > 0, x, 0.05 * x),
    ),
    "elu": (ops.elu, ref_elu),
    "elu_0.5": (lambda t: ops.elu(t, alpha=0.5), lambda x: ref_elu(x, 0.5)),
    "selu": (ops.selu, lambda x: SELU_SCALE * ref_elu(x, SELU_ALPHA)),
    "gelu_approximate": (ops.gelu, ref_gelu_tanh),
    "gelu_exact": (
        lambda t: ops.gelu(t, approximate=False),
        lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2))),
    ),
    "silu": (ops.silu, lambda x: x * logistic(x)),
    "swish": (ops.swish, lambda x: x * logistic(x)),
    "sigmoid": (ops.sigmoid, logistic),
    "tanh": (ops.tanh, np.tanh),
    "softplus": (ops.softplus, lambda x: np.log1p(np.exp(x))),
    "relu6": (ops.relu6, lambda x: np.minimum(np.maximum(x, 0), 6)),
    "hard_sigmoid": (ops.hard_sigmoid, lambda x: np.minimum(np.maximum((x + 3) / 6, 0), 1)),
    "hard_silu": (ops.hard_silu, lambda x: x * np.minimum(np.maximum((x + 3) / 6, 0), 1)),
    "hard_swish": (ops.hard_swish, lambda x: x * np.minimum(np.maximum((x + 3) / 6, 0), 1)),
    "softsign": (ops.softsign, lambda x: x / (1 + np.abs(x))),
    "log_sigmoid": (ops.log_sigmoid, lambda x: np.log(logistic(x))),
    "celu": (ops.celu, lambda x: np.maximum(x, 0) + np.minimum(np.expm1(x), 0)),
    "celu_0.5": (
        lambda t: ops.celu(t, alpha=0.5),
        lambda x: np.maximum(x, 0) + 0.5 * np.minimum(np.expm1(x / 0.5), 0),
    ),
    "hard_tanh": (ops.hard_tanh, lambda x: np.minimum(np.maximum(x, -1), 1)),
    "mish": (ops.mish, lambda x: x * np.tanh(np.log1p(np.exp(x)))),
}


def draw(rng, shape):
    # non-zero, spread over the interesting range, never within 0.05 of a kink at 0
    x = rng.uniform(-3, 3, size=shape)
    return np.where(np.abs(x) < 0.05, 0.5, x)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("shape", [(1,), (3, 5), (2, 3, 4)], ids=str)
def test_activation(bk, rng, name, shape):
    op, ref = ACTIVATIONS[name]
    x = draw(rng, shape)
    for dtype, rtol in (("float32", 1e-5), ("float64", 1e-12)):
        out = op(Tensor(bk.asarray(x.astype(dtype))))
        assert out.dtype == dtype and out.shape == shape
        assert_close(out, ref(x), rtol=rtol, atol=1e-6 if dtype == "float32" else 1e-14)
    check_gradients(op, x, bk=bk)


def test_gelu_defaults_to_the_tanh_approximation(bk):
    x = Tensor(bk.asarray(np.array([1.0, -2.0])))
    np.testing.assert_allclose(ops.gelu(x).numpy(), ref_gelu_tanh(np.array([1.0, -2.0])))
    assert not np.allclose(
        ops.gelu(x).numpy(), ops.gelu(x, approximate=False).numpy(), rtol=1e-6, atol=0
    )


@pytest.mark.parametrize(
    "op,slope", [(ops.relu, 0.0), (ops.elu, 1.0), (ops.selu, SELU_SCALE), (ops.leaky_relu, 0.2)]
)
def test_gradient_at_zero(bk, op, slope):
    # TF's conventions at the kink: relu 0, elu 1 (outputs >= 0 take the linear slope),
    # selu its scale; leaky_relu takes the negative slope
    x = Variable(bk.asarray(np.zeros(1)))
    ops.sum(op(x)).backward()
    np.testing.assert_allclose(to_host(x.grad), [slope])


def test_sigmoid_tails_keep_relative_precision(bk):
    x = np.array([-745.0, -40.0, -20.0, 0.0, 20.0, 40.0, 1000.0])
    out = ops.sigmoid(Tensor(bk.asarray(x))).numpy()
    np.testing.assert_allclose(out, logistic(x), rtol=1e-14, atol=0)
    out32 = ops.sigmoid(Tensor(bk.asarray(x.astype("float32")))).numpy()
    assert out32.dtype == np.float32
    assert out32[2] > 0  # 2e-9 must not round to zero in float32
    np.testing.assert_allclose(out32[1:], logistic(x[1:]), rtol=1e-6, atol=0)


def test_softplus_is_stable_and_accurate(bk):
    x = np.array([-1000.0, -40.0, -1e-3, 0.0, 1e-3, 40.0, 1000.0])
    out = ops.softplus(Tensor(bk.asarray(x))).numpy()
    ref = np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))
    np.testing.assert_allclose(out, ref, rtol=1e-14)
    assert out[1] > 0 and out[-1] == 1000.0
    v = Variable(bk.asarray(x))
    ops.sum(ops.softplus(v)).backward()
    np.testing.assert_allclose(to_host(v.grad), logistic(x), rtol=1e-14)


@pytest.mark.parametrize(
    "axis,shape", [(-1, (3, 5)), (0, (4, 2)), (1, (2, 3, 4)), (-1, (1, 1))], ids=str
)
def test_softmax_and_log_softmax(bk, rng, axis, shape):
    x = rng.standard_normal(shape) * 3
    for dtype, rtol in (("float32", 1e-5), ("float64", 1e-12)):
        t = Tensor(bk.asarray(x.astype(dtype)))
        soft, log_soft = ops.softmax(t, axis=axis), ops.log_softmax(t, axis=axis)
        assert soft.dtype == log_soft.dtype == dtype
        assert_close(soft, ref_softmax(x, axis), rtol=rtol, atol=1e-7)
        assert_close(log_soft, np.log(ref_softmax(x, axis)), rtol=rtol, atol=1e-6)
    check_gradients(lambda t: ops.softmax(t, axis=axis), x, bk=bk)
    check_gradients(lambda t: ops.log_softmax(t, axis=axis), x, bk=bk)


def test_softmax_and_log_softmax_with_huge_logits(bk):
    x = np.array([[1e4, 0.0, -1e4], [-1e4, -1e4, -1e4 + 2.0]])
    v = Variable(bk.asarray(x))
    log_soft = ops.log_softmax(v)
    ref = x - (
        x.max(1, keepdims=True) + np.log(np.exp(x - x.max(1, keepdims=True)).sum(1, keepdims=True))
    )
    np.testing.assert_allclose(log_soft.numpy(), ref, rtol=1e-12)
    ops.sum(log_soft * np.array([[1.0, 0, 0], [0, 0, 1.0]])).backward()
    assert np.isfinite(to_host(v.grad)).all()
    soft = ops.softmax(Tensor(bk.asarray(x))).numpy()
    assert np.isfinite(soft).all()
    np.testing.assert_allclose(soft.sum(axis=1), 1.0)


PIECEWISE = {
    "relu6": (ops.relu6, (0.0, 6.0)),
    "hard_sigmoid": (ops.hard_sigmoid, (-3.0, 3.0)),
    "hard_silu": (ops.hard_silu, (-3.0, 3.0)),
    "hard_tanh": (ops.hard_tanh, (-1.0, 1.0)),
}


@pytest.mark.parametrize("name", sorted(PIECEWISE))
def test_piecewise_activations_over_every_piece(bk, rng, name):
    # a wide range so the flat parts on both sides are exercised, kept off the kinks
    op, kinks = PIECEWISE[name]
    ref = ACTIVATIONS[name][1]
    x = rng.uniform(-9, 9, (4, 6))
    for k in kinks:
        x = np.where(np.abs(x - k) < 0.05, k + 0.5, x)
    assert (x < kinks[0]).any() and (x > kinks[1]).any()
    assert_close(op(Tensor(bk.asarray(x))), ref(x), rtol=1e-12, atol=1e-14)
    check_gradients(op, x, bk=bk)


def test_new_activation_kink_conventions_and_tails(bk):
    x = Variable(bk.asarray(np.array([0.0, 6.0, -3.0, 3.0, -1.0, 1.0])))
    ops.sum(ops.relu6(x)).backward()
    np.testing.assert_array_equal(to_host(x.grad), [0, 0, 0, 1, 0, 1])  # 0 at both kinks
    big = np.array([-800.0, -40.0, 0.0, 40.0, 800.0])
    out = ops.log_sigmoid(Tensor(bk.asarray(big))).numpy()
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, -np.logaddexp(0, -big), rtol=1e-14)
    assert np.isfinite(ops.mish(Tensor(bk.asarray(big))).numpy()).all()
    with pytest.raises(ValueError, match="alpha must not be 0"):
        ops.celu(Tensor(bk.asarray(big)), alpha=0.0)
