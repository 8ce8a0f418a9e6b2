"""dense, dropout, batch/layer normalisation, embedding and the fused softmax cross-entropy."""

import math

import numpy as np
import pytest
from helpers import assert_close, check_gradients, to_host

from gkeras import ops
from gkeras.autodiff import Tensor, Variable
from gkeras.backend.numpy_backend import DENSE_ACTIVATIONS
from gkeras.ops.nn import update_moving_average

_erf = np.vectorize(math.erf)
DENSE_REFS = {
    "linear": lambda z, a: z,
    "relu": lambda z, a: np.maximum(z, 0),
    "sigmoid": lambda z, a: 1 / (1 + np.exp(-z)),
    "tanh": lambda z, a: np.tanh(z),
    "gelu": lambda z, a: 0.5 * z * (1 + _erf(z / np.sqrt(2))),
    "leaky_relu": lambda z, a: np.where(z > 0, z, a * z),
    "elu": lambda z, a: np.where(z > 0, z, a * np.expm1(np.minimum(z, 0))),
}


def tensor(bk, array, dtype=None):
    array = np.asarray(array)
    return Tensor(bk.asarray(array if dtype is None else array.astype(dtype)))


# -------------------------------------------------------------------------- dense
def test_every_fused_activation_has_a_reference():
    assert set(DENSE_ACTIVATIONS) == set(DENSE_REFS)


@pytest.mark.parametrize("activation", DENSE_ACTIVATIONS)
@pytest.mark.parametrize("x_shape,units", [((1, 3), 2), ((5, 7), 3), ((2, 3, 4), 5)], ids=str)
def test_dense(bk, rng, activation, x_shape, units):
    alpha = {"leaky_relu": 0.2, "elu": 0.7}.get(activation, 0.0)
    x = rng.standard_normal(x_shape)
    W = rng.standard_normal((x_shape[-1], units)) * 0.7
    b = rng.standard_normal(units) * 0.5
    ref = DENSE_REFS[activation](x @ W + b, alpha)
    for dtype, rtol in (("float32", 1e-5), ("float64", 1e-12)):
        out = ops.dense(
            tensor(bk, x, dtype),
            tensor(bk, W, dtype),
            tensor(bk, b, dtype),
            activation=activation,
            alpha=alpha,
        )
        assert out.dtype == dtype and out.shape == x_shape[:-1] + (units,)
        assert_close(out, ref, rtol=rtol, atol=1e-6)
    check_gradients(lambda x_, W_, b_: ops.dense(x_, W_, b_, activation, alpha), x, W, b, bk=bk)
    check_gradients(
        lambda x_, W_: ops.dense(x_, W_, activation=activation, alpha=alpha), x, W, bk=bk
    )


def test_dense_skips_the_input_gradient_of_constants(bk, rng):
    x = tensor(bk, rng.standard_normal((3, 2)))
    W = Variable(bk.asarray(rng.standard_normal((2, 4))))
    ops.sum(ops.dense(x, W, activation="relu")).backward()
    assert x.grad is None and W.grad.shape == (2, 4)


def test_dense_errors(bk):
    x, W = tensor(bk, np.ones((2, 3))), tensor(bk, np.ones((3, 4)))
    with pytest.raises(ValueError, match=r"unknown activation 'swish'.*'relu'"):
        ops.dense(x, W, activation="swish")
    with pytest.raises(ValueError, match=r"x \(2, 3\) and kernel \(4, 4\)"):
        ops.dense(x, tensor(bk, np.ones((4, 4))))
    with pytest.raises(ValueError, match=r"bias must have shape \(4,\), got \(3,\)"):
        ops.dense(x, W, tensor(bk, np.ones(3)))


# ------------------------------------------------------------------------ dropout
def test_dropout_statistics_and_scaling(bk):
    x = tensor(bk, np.ones((200, 100), dtype="float32"))
    y = ops.dropout(x, 0.3, seed=7).numpy()
    assert y.dtype == np.float32
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.01  # 20000 draws: 4 standard deviations is 0.013
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-6)


def test_dropout_gradient_is_the_mask(bk, rng):
    x = Variable(bk.asarray(rng.standard_normal((4, 6))))
    y = ops.dropout(x, 0.5, seed=3)
    ops.sum(y).backward()
    mask = (y.numpy() != 0) / 0.5
    np.testing.assert_allclose(to_host(x.grad), mask)


@pytest.mark.parametrize(
    "shape,noise_shape", [((1,), None), ((3, 5), None), ((2, 3, 4), (2, 1, 4))], ids=str
)
def test_dropout_gradient_check(bk, rng, shape, noise_shape):
    # a fixed seed gives every evaluation the same mask, so the op is linear in x
    check_gradients(
        lambda t: ops.dropout(t, 0.4, noise_shape=noise_shape, seed=11),
        rng.standard_normal(shape),
        bk=bk,
    )


def test_dropout_seed_noise_shape_and_rate_zero(bk):
    x = tensor(bk, np.ones((8, 5, 3)))
    a, b = ops.dropout(x, 0.5, seed=1).numpy(), ops.dropout(x, 0.5, seed=1).numpy()
    np.testing.assert_array_equal(a, b)
    shared = ops.dropout(x, 0.5, noise_shape=(None, 1, 3), seed=2).numpy()
    assert (shared == shared[:, :1, :]).all()  # one mask value along the size-1 axis
    assert ops.dropout(x, 0.0) is x
    for rate in (1.0, -0.1):
        with pytest.raises(ValueError, match=r"rate must be in \[0, 1\)"):
            ops.dropout(x, rate)


# ------------------------------------------------------------------ normalisation
def ref_batch_norm(x, gamma, beta, axis, eps):
    axes = tuple(i for i in range(x.ndim) if i != axis % x.ndim)
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    mean, var = x.mean(axis=axes), x.var(axis=axes)
    y = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    return y * gamma.reshape(shape) + beta.reshape(shape), mean, var


@pytest.mark.parametrize(
    "shape,axis", [((4, 3), -1), ((2, 3, 5), 1), ((3, 2, 2, 3), -1), ((1, 5, 2), 1)], ids=str
)
def test_batch_norm(bk, rng, shape, axis):
    x = rng.standard_normal(shape) * 2 + 1
    c = shape[axis]
    gamma, beta = rng.uniform(0.5, 1.5, c), rng.standard_normal(c)
    y_ref, mean_ref, var_ref = ref_batch_norm(x, gamma, beta, axis, 1e-3)
    for dtype, rtol in (("float32", 1e-4), ("float64", 1e-12)):
        y, mean, var = ops.batch_norm(
            tensor(bk, x, dtype),
            tensor(bk, gamma, dtype),
            tensor(bk, beta, dtype),
            axis=axis,
            epsilon=1e-3,
        )
        assert y.dtype == mean.dtype == var.dtype == dtype
        assert_close(y, y_ref, rtol=rtol, atol=1e-5)
        assert_close(mean, mean_ref, rtol=rtol, atol=1e-6)
        assert_close(var, var_ref, rtol=rtol, atol=1e-6)
    check_gradients(lambda *t: ops.batch_norm(*t, axis=axis)[0], x, gamma, beta, bk=bk)


def test_batch_norm_statistics_are_differentiable(bk, rng):
    x = rng.standard_normal((5, 3))
    gamma, beta = np.ones(3), np.zeros(3)

    def stats(x_):
        _, mean, var = ops.batch_norm(x_, gamma, beta)
        return ops.concatenate([mean * 2.0, var], axis=0)

    check_gradients(stats, x, bk=bk)

    def everything(x_, g_):
        y, mean, var = ops.batch_norm(x_, g_, beta)
        return ops.sum(y, axis=0) + mean * var

    check_gradients(everything, x, rng.uniform(0.5, 1.5, 3), bk=bk)


def test_batch_norm_defaults_and_broadcast_params(bk, rng):
    x = rng.standard_normal((4, 2, 3))
    y, mean, _ = ops.batch_norm(tensor(bk, x), None, None)
    assert_close(y, ref_batch_norm(x, np.ones(3), np.zeros(3), -1, 1e-3)[0], rtol=1e-10)
    # (1, 1, C) parameters, as a layer holding broadcast-shaped weights passes them
    g = rng.uniform(0.5, 1.5, (1, 1, 3))
    y, mean, var = ops.batch_norm(tensor(bk, x), tensor(bk, g), tensor(bk, np.zeros((1, 1, 3))))
    assert mean.shape == var.shape == (1, 1, 3)
    assert_close(y, ref_batch_norm(x, g.ravel(), np.zeros(3), -1, 1e-3)[0], rtol=1e-10)
    with pytest.raises(ValueError, match=r"gamma must have 3 entries.*got shape \(2,\)"):
        ops.batch_norm(tensor(bk, x), tensor(bk, np.ones(2)), None)


@pytest.mark.parametrize("shape,axis", [((4, 3), -1), ((2, 3, 5), 1), ((1, 2, 2, 3), 3)], ids=str)
def test_batch_normalization_with_given_statistics(bk, rng, shape, axis):
    x = rng.standard_normal(shape)
    c = shape[axis]
    mean, var = rng.standard_normal(c), rng.uniform(0.5, 2, c)
    offset, scale = rng.standard_normal(c), rng.uniform(0.5, 1.5, c)
    bshape = [1] * len(shape)
    bshape[axis] = c
    ref = (x - mean.reshape(bshape)) / np.sqrt(var.reshape(bshape) + 1e-3) * scale.reshape(
        bshape
    ) + offset.reshape(bshape)
    out = ops.batch_normalization(
        tensor(bk, x),
        tensor(bk, mean),
        tensor(bk, var),
        axis=axis,
        offset=tensor(bk, offset),
        scale=tensor(bk, scale),
    )
    assert_close(out, ref, rtol=1e-10)
    check_gradients(
        lambda *t: ops.batch_normalization(t[0], t[1], t[2], axis, t[3], t[4]),
        x,
        mean,
        var,
        offset,
        scale,
        bk=bk,
    )


def ref_layer_norm(x, axes, eps=1e-3):
    mean = x.mean(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(x.var(axis=axes, keepdims=True) + eps)


@pytest.mark.parametrize(
    "shape,axis",
    [((3, 5), -1), ((1, 4), 1), ((2, 3, 4), (1, 2)), ((2, 3, 4), 1), ((2, 3, 4), (0, 1))],
    ids=str,
)
def test_layer_norm(bk, rng, shape, axis):
    x = rng.standard_normal(shape) * 3 + 1
    axes = (axis,) if isinstance(axis, int) else axis
    norm_shape = tuple(shape[a] for a in axes)
    gamma, beta = rng.uniform(0.5, 1.5, norm_shape), rng.standard_normal(norm_shape)
    bshape = [shape[i] if i in [a % len(shape) for a in axes] else 1 for i in range(len(shape))]
    ref = ref_layer_norm(x, axes) * gamma.reshape(bshape) + beta.reshape(bshape)
    for dtype, rtol in (("float32", 1e-4), ("float64", 1e-12)):
        out = ops.layer_norm(
            tensor(bk, x, dtype), tensor(bk, gamma, dtype), tensor(bk, beta, dtype), axis=axis
        )
        assert out.dtype == dtype
        assert_close(out, ref, rtol=rtol, atol=1e-5)
    check_gradients(lambda *t: ops.layer_norm(*t, axis=axis), x, gamma, beta, bk=bk)
    assert_close(ops.layer_norm(tensor(bk, x), axis=axis), ref_layer_norm(x, axes), rtol=1e-10)
    check_gradients(lambda t: ops.layer_norm(t, axis=axis, epsilon=0.1), x, bk=bk)


def test_layer_norm_with_only_beta_and_error(bk, rng):
    x = rng.standard_normal((3, 4))
    beta = rng.standard_normal(4)
    assert_close(
        ops.layer_norm(tensor(bk, x), beta=tensor(bk, beta)),
        ref_layer_norm(x, (1,)) + beta,
        rtol=1e-10,
    )
    check_gradients(lambda t, b: ops.layer_norm(t, beta=b), x, beta, bk=bk)
    with pytest.raises(ValueError, match=r"axis 2 is out of bounds.*\(3, 4\)"):
        ops.layer_norm(tensor(bk, x), axis=2)


# ---------------------------------------------------------------------- embedding
@pytest.mark.parametrize("ids", [[3], [[0, 4, 4], [1, 0, 4]], [[[2]]]], ids=str)
def test_embedding(bk, rng, ids):
    table = rng.standard_normal((5, 3))
    ids = np.asarray(ids)
    out = ops.embedding(tensor(bk, ids), tensor(bk, table, "float32"))
    assert out.dtype == np.float32 and out.shape == ids.shape + (3,)
    assert_close(out, table[ids])
    check_gradients(lambda t: ops.embedding(bk.asarray(ids), t), table, bk=bk)


# ---------------------------------------------------------- softmax cross-entropy
def ref_xent(logits, labels):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    if labels.ndim == logits.ndim - 1:
        return -np.take_along_axis(log_probs, labels[..., None], axis=-1)[..., 0]
    return -(labels * log_probs).sum(axis=-1)


@pytest.mark.parametrize("shape", [(1, 3), (5, 4), (2, 3, 7)], ids=str)
@pytest.mark.parametrize("sparse", [True, False])
def test_softmax_cross_entropy(bk, rng, shape, sparse):
    logits = rng.standard_normal(shape) * 2
    ids = rng.integers(0, shape[-1], size=shape[:-1])
    labels = ids if sparse else rng.dirichlet(np.ones(shape[-1]), size=shape[:-1])
    ref = ref_xent(logits, labels)
    for dtype, rtol in (("float32", 1e-5), ("float64", 1e-12)):
        loss = ops.softmax_cross_entropy(tensor(bk, logits, dtype), tensor(bk, labels))
        assert loss.dtype == dtype and loss.shape == shape[:-1]
        assert_close(loss, ref, rtol=rtol, atol=1e-6)
    check_gradients(lambda t: ops.softmax_cross_entropy(t, bk.asarray(labels)), logits, bk=bk)


@pytest.mark.parametrize("sparse", [True, False])
def test_softmax_cross_entropy_with_huge_logits(bk, sparse):
    logits = np.array([[1e4, 0.0, -1e4], [-1e4, -1e4, -1e4 + 3.0], [2.0, 1e4, 1e4]])
    ids = np.array([2, 2, 0])
    labels = ids if sparse else np.eye(3)[ids]
    for dtype in ("float32", "float64"):
        v = Variable(bk.asarray(logits.astype(dtype)))
        loss = ops.softmax_cross_entropy(v, bk.asarray(labels))
        ops.sum(loss).backward()
        out, grad = loss.numpy(), to_host(v.grad)
        assert np.isfinite(out).all() and np.isfinite(grad).all()
        # the exact values, by hand: log-softmax of the chosen class
        ref = np.array([2e4, np.log1p(2 * np.exp(-3.0)), 1e4 - 2.0 + np.log(2.0)])
        np.testing.assert_allclose(out, ref, rtol=1e-6)
        shifted = logits - logits.max(1, keepdims=True)
        probs = np.exp(shifted) / np.exp(shifted).sum(1, keepdims=True)
        np.testing.assert_allclose(grad, probs - np.eye(3)[ids], atol=1e-6)


def test_softmax_cross_entropy_weights_and_errors(bk, rng):
    logits = rng.standard_normal((4, 3))
    ids = np.array([0, 2, 1, 1])
    weights = np.array([1.0, 0.0, 2.0, 0.5])
    check_gradients(
        lambda t: ops.softmax_cross_entropy(t, bk.asarray(ids)) * weights, logits, bk=bk
    )
    with pytest.raises(ValueError, match=r"integer labels of shape \(3,\).*\(4, 3\)"):
        ops.softmax_cross_entropy(tensor(bk, logits), tensor(bk, np.zeros(3, int)))
    with pytest.raises(ValueError, match=r"labels of shape \(4, 2\).*\(4, 3\)"):
        ops.softmax_cross_entropy(tensor(bk, logits), tensor(bk, np.zeros((4, 2))))
    with pytest.raises(ValueError, match="last axis"):
        ops.softmax_cross_entropy(tensor(bk, logits), tensor(bk, ids), axis=0)


# ------------------------------------------------------------ binary cross-entropy
def ref_bce(target, output, from_logits, eps=1e-7):
    """Keras's formulas, in float64: clipped probabilities, or the stable logits form."""
    target, output = np.asarray(target, np.float64), np.asarray(output, np.float64)
    if from_logits:
        return np.maximum(output, 0) - output * target + np.log1p(np.exp(-np.abs(output)))
    p = np.clip(output, eps, 1 - eps)
    return -(target * np.log(p) + (1 - target) * np.log(1 - p))


@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("axis", [None, -1, 0])
def test_binary_crossentropy_matches_keras_formula(bk, rng, from_logits, axis):
    shape = (5, 3)
    target = rng.uniform(0, 1, shape)
    output = rng.standard_normal(shape) * 3 if from_logits else rng.uniform(0.02, 0.98, shape)
    ref = ref_bce(target, output, from_logits)
    if axis is not None:
        ref = ref.mean(axis=axis)
    for dtype, rtol in (("float32", 1e-5), ("float64", 1e-12)):
        out = ops.binary_crossentropy(tensor(bk, target, dtype), tensor(bk, output, dtype),
                                      from_logits=from_logits, axis=axis)
        assert out.dtype == dtype and out.shape == ref.shape
        assert_close(out, ref, rtol=rtol, atol=1e-6)
    check_gradients(
        lambda o, t: ops.binary_crossentropy(t, o, from_logits=from_logits, axis=axis),
        output, target, bk=bk,
    )


@pytest.mark.parametrize("from_logits", [False, True])
def test_binary_crossentropy_broadcasts_and_sums_gradients_back(bk, rng, from_logits):
    # one output column against three target columns, averaged over the last axis: the
    # output's gradient is the sum over the columns it was broadcast to
    output = rng.standard_normal((4, 1)) if from_logits else rng.uniform(0.1, 0.9, (4, 1))
    target = rng.uniform(0, 1, (4, 3))
    out = ops.binary_crossentropy(tensor(bk, target), tensor(bk, output),
                                  from_logits=from_logits, axis=-1)
    assert_close(out, ref_bce(target, output, from_logits).mean(axis=-1), rtol=1e-12)
    for axis in (None, -1):
        def f(o, t, axis=axis):
            return ops.binary_crossentropy(t, o, from_logits=from_logits, axis=axis)

        check_gradients(f, output, target, bk=bk)
        check_gradients(f, output[:1].T.repeat(4, axis=0), target[:1], bk=bk)


def test_binary_crossentropy_stops_the_gradient_where_it_clips(bk):
    output = Variable(bk.asarray(np.array([[0.0, 1e-9, 0.5, 1.0]])))
    target = tensor(bk, np.array([[1.0, 1.0, 1.0, 0.0]]))
    loss = ops.binary_crossentropy(target, output)
    eps = 1e-7
    assert_close(loss, [[-np.log(eps), -np.log(eps), -np.log(0.5), -np.log(eps)]], rtol=1e-12)
    ops.sum(loss).backward()
    # clipped entries (outside [eps, 1 - eps]) get no gradient; d/dp = -1 / p inside
    assert_close(output.grad, [[0.0, 0.0, -2.0, 0.0]], rtol=1e-12)


def test_binary_crossentropy_with_huge_logits_is_finite(bk):
    logits = Variable(bk.asarray(np.array([-1e4, -30.0, 0.0, 30.0, 1e4], np.float32)))
    target = tensor(bk, np.array([1.0, 0.0, 1.0, 1.0, 0.0], np.float32))
    loss = ops.binary_crossentropy(target, logits, from_logits=True)
    assert_close(loss, ref_bce(target.numpy(), logits.numpy(), True), rtol=1e-6)
    ops.sum(loss).backward()
    x = np.array([-1e4, -30.0, 0.0, 30.0, 1e4])
    e = np.exp(-np.abs(x))
    sig = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
    # float32 resolution: sigmoid(30) rounds to 1, so its gradient 1 - 1 is 0 up to 1e-7
    assert_close(logits.grad, sig - target.numpy(), rtol=1e-6, atol=1e-7)
    assert logits.grad[1] > 0  # e^-30 itself survives in float32: no underflow to 0


def test_binary_crossentropy_target_gradient_and_errors(bk, rng):
    output = rng.uniform(0.1, 0.9, (3, 2))
    target = rng.uniform(0, 1, (3, 2))
    check_gradients(lambda t: ops.binary_crossentropy(t, tensor(bk, output)), target, bk=bk)
    check_gradients(
        lambda t: ops.binary_crossentropy(t, tensor(bk, output * 4 - 2), from_logits=True),
        target, bk=bk,
    )
    with pytest.raises(ValueError, match=r"target of shape \(3, 3\) and output of shape"):
        ops.binary_crossentropy(tensor(bk, np.ones((3, 3))), tensor(bk, output))
    with pytest.raises(ValueError, match=r"axis 2 is out of bounds for shape \(3, 2\)"):
        ops.binary_crossentropy(tensor(bk, target), tensor(bk, output), axis=2)
    # plain arrays and integer labels are accepted as targets (Keras's ops example)
    out = ops.binary_crossentropy(np.array([0, 1, 1, 0]), tensor(bk, [0.1, 0.9, 0.8, 0.2]))
    assert_close(out, ref_bce([0, 1, 1, 0], [0.1, 0.9, 0.8, 0.2], False), rtol=1e-5)


def test_dense_without_grad_records_no_graph(bk, rng):
    from gkeras.autodiff import no_grad

    x = tensor(bk, rng.standard_normal((4, 3)))
    W = Variable(bk.asarray(rng.standard_normal((3, 2))))
    with no_grad():
        y = ops.dense(x, W, activation="tanh")
    assert y.creator is None and not y.requires_grad
    assert_close(y, np.tanh(x.numpy() @ W.numpy()), rtol=1e-12)


def test_update_moving_average_writes_in_place(bk, rng):
    start, value = rng.standard_normal(4), rng.standard_normal((1, 4))
    variable = Variable(bk.asarray(start.copy()))
    storage = variable.data
    update_moving_average(variable, Tensor(bk.asarray(value)), 0.9)
    assert variable.data is storage  # in place: views and optimizer slots stay valid
    np.testing.assert_allclose(to_host(variable.data), start * 0.9 + value[0] * 0.1, rtol=1e-12)
    with pytest.raises(ValueError, match=r"a value of shape \(3,\) cannot update variable"):
        update_moving_average(variable, Tensor(bk.asarray(np.ones(3))), 0.9)
