"""Regularisers: penalties against NumPy, gradients against finite differences, lookup."""

import numpy as np
import pytest
from helpers import check_gradients

from gkeras import ops, regularizers
from gkeras.autodiff import Tensor


def _value(penalty):
    assert isinstance(penalty, Tensor) and penalty.shape == ()
    return float(penalty.numpy())


@pytest.mark.parametrize("l1, l2", [(0.3, 0.0), (0.0, 0.7), (0.2, 0.05), (0.0, 0.0)])
def test_l1l2_matches_numpy(bk, rng, l1, l2):
    x = rng.standard_normal((4, 5))
    penalty = regularizers.L1L2(l1=l1, l2=l2)(ops.convert_to_tensor(x))
    np.testing.assert_allclose(_value(penalty), l1 * np.abs(x).sum() + l2 * (x ** 2).sum(),
                               rtol=1e-12, atol=1e-15)


def test_l1_and_l2_match_numpy(bk, rng):
    x = rng.standard_normal((3, 6)).astype("float32")
    t = ops.convert_to_tensor(x)
    np.testing.assert_allclose(_value(regularizers.L1(0.4)(t)), 0.4 * np.abs(x).sum(), rtol=1e-5)
    np.testing.assert_allclose(_value(regularizers.L2(0.6)(t)), 0.6 * (x ** 2).sum(), rtol=1e-5)
    assert regularizers.L1(0.4)(t).dtype == np.float32


def test_keras_defaults():
    assert regularizers.L1().l1 == 0.01 and regularizers.L2().l2 == 0.01
    both = regularizers.L1L2()
    assert (both.l1, both.l2) == (0.0, 0.0)
    named = regularizers.get("l1_l2")  # Keras: the string form uses 0.01 for both
    assert (named.l1, named.l2) == (0.01, 0.01)
    assert regularizers.get("l1").l1 == 0.01 and regularizers.get("l2").l2 == 0.01


@pytest.mark.parametrize("reg", [regularizers.L1(0.3), regularizers.L2(0.5),
                                 regularizers.L1L2(0.2, 0.4)])
def test_penalty_gradients(bk, rng, reg):
    # values away from 0 keep |x| differentiable for the finite differences
    x = rng.uniform(0.1, 1.0, (3, 4)) * rng.choice([-1, 1], (3, 4))
    check_gradients(lambda t: reg(t), x, bk=bk)


@pytest.mark.parametrize("identifier, cls", [
    ("l1", regularizers.L1), ("l2", regularizers.L2), ("L1", regularizers.L1),
    ("L1L2", regularizers.L1L2), (regularizers.L2, regularizers.L2),
])
def test_get(identifier, cls):
    assert type(regularizers.get(identifier)) is cls


def test_get_passes_instances_callables_and_none():
    reg = regularizers.L2(0.2)
    assert regularizers.get(reg) is reg
    assert regularizers.get(None) is None

    def custom(x):
        return ops.sum(x)

    assert regularizers.get(custom) is custom


def test_get_unknown_lists_valid_names():
    with pytest.raises(ValueError, match=r"Unknown regularizer: 'l3'.*'l1'.*'l1_l2'.*'l2'"):
        regularizers.get("l3")
    with pytest.raises(ValueError, match="Unknown regularizer class"):
        regularizers.get({"class_name": "L3", "config": {}})
    with pytest.raises(ValueError, match="Could not interpret"):
        regularizers.get(0.1)


@pytest.mark.parametrize("kwargs", [{"l1": -0.1}, {"l2": "big"}, {"l1": True}])
def test_negative_or_invalid_factors_rejected(kwargs):
    with pytest.raises(ValueError, match="non-negative float"):
        regularizers.L1L2(**kwargs)


@pytest.mark.parametrize("reg", [regularizers.L1(0.3), regularizers.L2(0.5),
                                 regularizers.L1L2(0.2, 0.4)])
def test_serialize_round_trip(bk, rng, reg):
    config = regularizers.serialize(reg)
    clone = regularizers.get(config)
    assert type(clone) is type(reg) and clone.get_config() == reg.get_config()
    x = ops.convert_to_tensor(rng.standard_normal((2, 3)))
    assert _value(clone(x)) == _value(reg(x))
