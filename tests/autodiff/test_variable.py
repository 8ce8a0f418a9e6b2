"""`Variable`: ownership of its memory, assignment, trainability."""

import numpy as np
import pytest

from gkeras import ops
from gkeras.autodiff import Tensor, Variable


def test_variable_copies_its_initial_value(bk):
    source = bk.asarray(np.arange(3.0))
    v = Variable(source)
    v.assign_add(np.ones(3))
    np.testing.assert_allclose(bk.to_numpy(source), [0.0, 1.0, 2.0])
    np.testing.assert_allclose(v.numpy(), [1.0, 2.0, 3.0])
    t = Tensor(bk.asarray(np.zeros(2)))
    Variable(t).assign(np.ones(2))
    assert not t.numpy().any()


def test_python_floats_become_floatx():
    assert Variable([1.0, 2.0]).dtype == np.float32
    assert Variable(np.zeros(2), dtype="float64").dtype == np.float64
    assert Variable(np.zeros(2, "float64"), dtype="float32").dtype == np.float32


def test_assign_in_place_and_shape_check(bk):
    v = Variable(bk.asarray(np.zeros((2, 2))), name="kernel")
    data = v.data
    v.assign(np.ones((2, 2)))
    assert v.data is data and v.numpy().sum() == 4
    v.assign_sub(np.full((2, 2), 0.5))
    np.testing.assert_allclose(v.numpy(), 0.5)
    with pytest.raises(ValueError, match=r"shape \(3,\).*'kernel'.*\(2, 2\)"):
        v.assign(np.ones(3))


def test_trainable_is_requires_grad():
    v = Variable(np.ones(2), trainable=False)
    assert not v.trainable and not v.requires_grad
    y = ops.sum(v * 2.0)
    assert not y.requires_grad
    v.trainable = True
    assert v.requires_grad
    ops.sum(v * 2.0).backward()
    np.testing.assert_allclose(v.grad, [2.0, 2.0])


def test_name_path_and_value():
    v = Variable(np.ones(2), name="bias")
    assert v.name == v.path == "bias"
    assert v.value is v.data
    assert "bias" in repr(v)


def test_repr_prints_the_value_as_keras_does():
    # Keras 3.8: <Variable path=v, shape=(2, 2), dtype=float32, value=[[1. 1.]\n [1. 1.]]>
    v = Variable(np.ones((2, 2), "float32"), name="v")
    assert repr(v) == ("<Variable path=v, shape=(2, 2), dtype=float32, value=[[1. 1.]\n"
                       " [1. 1.]]>")
