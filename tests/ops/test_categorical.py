"""one_hot and the categorical cross-entropies: NumPy references, gradients, bad input."""

import numpy as np
import pytest
from helpers import assert_close, check_gradients

from gkeras import config, ops
from gkeras.autodiff import Tensor


def tensor(bk, array, dtype=None):
    array = np.asarray(array)
    return Tensor(bk.asarray(array if dtype is None else array.astype(dtype)))


def ref_one_hot(ids, n, axis=-1):
    out = np.zeros(ids.shape + (n,))
    for index in np.ndindex(ids.shape):
        if 0 <= ids[index] < n:
            out[index + (ids[index],)] = 1.0
    return np.moveaxis(out, -1, axis)


@pytest.mark.parametrize("shape, axis", [((5,), -1), ((2, 3), -1), ((2, 3), 0), ((2, 3), 1),
                                         ((), -1)], ids=str)
def test_one_hot(bk, rng, shape, axis):
    ids = rng.integers(0, 4, shape)
    out = ops.one_hot(tensor(bk, ids), 4, axis=axis)
    assert out.dtype == np.float32 and not out.requires_grad
    np.testing.assert_array_equal(out.numpy(), ref_one_hot(ids, 4, axis))
    assert ops.one_hot(tensor(bk, ids), 4, dtype="int32").dtype == np.int32


def test_one_hot_out_of_range_ids_give_zero_rows(bk):
    ids = np.array([-1, 0, 3, 7])
    np.testing.assert_array_equal(ops.one_hot(tensor(bk, ids), 4).numpy(), ref_one_hot(ids, 4))


def test_one_hot_errors(bk):
    ids = tensor(bk, np.array([0, 1]))
    with pytest.raises(ValueError, match="num_classes must be a positive int, got -3"):
        ops.one_hot(ids, -3)
    with pytest.raises(TypeError, match="num_classes must be an int"):
        ops.one_hot(ids, 2.5)
    with pytest.raises(ValueError, match="axis 2 is out of bounds"):
        ops.one_hot(ids, 3, axis=2)
    with pytest.raises(ValueError, match="sparse=True is not supported"):
        ops.one_hot(ids, 3, sparse=True)


def ref_log_softmax(z, axis):
    z = z - z.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def ref_cce(target, output, from_logits, axis):
    if from_logits:
        log_p = ref_log_softmax(output, axis)
    else:
        p = output / output.sum(axis=axis, keepdims=True)
        eps = config.epsilon()
        log_p = np.log(np.clip(p, eps, 1 - eps))
    return -(target * log_p).sum(axis=axis)


CASES = [((6,), -1), ((4, 3), -1), ((4, 3), 0), ((2, 3, 5), 1), ((2, 3, 5), -1)]


def draw_case(rng, shape, axis, from_logits):
    output = rng.standard_normal(shape) if from_logits else rng.uniform(0.1, 1.0, shape)
    target = rng.uniform(0.1, 1.0, shape)
    target /= target.sum(axis=axis, keepdims=True)  # soft labels
    return target, output


@pytest.mark.parametrize("from_logits", [True, False])
@pytest.mark.parametrize("shape, axis", CASES, ids=str)
def test_categorical_crossentropy(bk, rng, shape, axis, from_logits):
    target, output = draw_case(rng, shape, axis, from_logits)
    out = ops.categorical_crossentropy(tensor(bk, target), tensor(bk, output), from_logits, axis)
    expected = ref_cce(target, output, from_logits, axis)
    assert out.shape == expected.shape and out.dtype == np.float64
    assert_close(out, expected, rtol=1e-10, atol=1e-12)
    f32 = ops.categorical_crossentropy(target.astype("float32"), tensor(bk, output, "float32"),
                                       from_logits, axis)
    assert f32.dtype == np.float32
    assert_close(f32, expected, rtol=1e-4, atol=1e-5)
    # the gradient in the output, and in the target (distillation-style soft labels)
    check_gradients(lambda o: ops.categorical_crossentropy(tensor(bk, target), o, from_logits,
                                                           axis), output, bk=bk)
    check_gradients(lambda t, o: ops.categorical_crossentropy(t, o, from_logits, axis),
                    target, output, bk=bk)


@pytest.mark.parametrize("from_logits", [True, False])
@pytest.mark.parametrize("shape, axis", CASES, ids=str)
def test_sparse_categorical_crossentropy(bk, rng, shape, axis, from_logits):
    _, output = draw_case(rng, shape, axis, from_logits)
    classes = shape[axis]
    ids_shape = tuple(n for i, n in enumerate(shape) if i != axis % len(shape))
    ids = rng.integers(0, classes, ids_shape)
    expected = ref_cce(ref_one_hot(ids, classes, axis), output, from_logits, axis)
    out = ops.sparse_categorical_crossentropy(tensor(bk, ids), tensor(bk, output), from_logits,
                                              axis)
    assert out.shape == expected.shape
    assert_close(out, expected, rtol=1e-10, atol=1e-12)
    check_gradients(
        lambda o: ops.sparse_categorical_crossentropy(tensor(bk, ids), o, from_logits, axis),
        output, bk=bk)


def test_sparse_target_with_trailing_one_and_errors(bk, rng):
    output = rng.standard_normal((4, 3))
    ids = rng.integers(0, 3, (4, 1))
    out = ops.sparse_categorical_crossentropy(ids, tensor(bk, output), from_logits=True)
    expected = ref_cce(ref_one_hot(ids[:, 0], 3), output, True, -1)
    assert_close(out, expected, rtol=1e-10)
    with pytest.raises(ValueError, match=r"target of shape \(3,\) does not match output of shape"):
        ops.sparse_categorical_crossentropy(np.zeros(3, dtype=int), tensor(bk, output))
    with pytest.raises(ValueError, match="target and output must have the same shape"):
        ops.categorical_crossentropy(np.zeros((4, 2)), tensor(bk, output))
    with pytest.raises(ValueError, match="axis 2 is out of bounds"):
        ops.categorical_crossentropy(np.zeros((4, 3)), tensor(bk, output), axis=2)


def test_crossentropy_of_large_logits_stays_finite(bk):
    logits = tensor(bk, np.array([[1000.0, -1000.0, 0.0]]))
    target = tensor(bk, np.array([[0.0, 1.0, 0.0]]))
    out = ops.categorical_crossentropy(target, logits, from_logits=True)
    np.testing.assert_allclose(out.numpy(), [2000.0])
    out = ops.sparse_categorical_crossentropy(np.array([1]), logits, from_logits=True)
    np.testing.assert_allclose(out.numpy(), [2000.0])
    # the composed path (class axis not last) must be just as stable
    out = ops.sparse_categorical_crossentropy(np.array([1]), ops.transpose(logits),
                                              from_logits=True, axis=0)
    np.testing.assert_allclose(out.numpy(), [2000.0])
