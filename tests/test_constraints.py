"""Constraints: projections against NumPy on backend arrays, lookup and serialisation."""

import numpy as np
import pytest
from helpers import to_host

from gkeras import constraints

EPS = 1e-7  # Keras's fuzz factor in the norm constraints


def _apply(constraint, w, bk):
    out = constraint(bk.asarray(w))
    assert bk.owns(out)  # a constraint maps a raw array of a backend to one of the same
    return to_host(out)


@pytest.mark.parametrize("max_value, axis", [(2.0, 0), (0.5, 1), (1.0, (0, 1, 2))])
def test_max_norm(bk, rng, max_value, axis):
    w = rng.standard_normal((3, 4, 5)) * rng.uniform(0.05, 2.0, (1, 1, 5))
    got = _apply(constraints.MaxNorm(max_value, axis=axis), w, bk)
    norms = np.sqrt((w ** 2).sum(axis=axis, keepdims=True))
    expected = w * np.clip(norms, 0, max_value) / (norms + EPS)
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    new_norms = np.sqrt((got ** 2).sum(axis=axis))
    assert np.all(new_norms <= max_value + 1e-9)


def test_max_norm_keeps_small_weights_and_is_idempotent(bk, rng):
    w = rng.standard_normal((6, 4)) * 0.01
    once = _apply(constraints.MaxNorm(3.0), w, bk)
    np.testing.assert_allclose(once, w, rtol=1e-4)
    big = rng.standard_normal((6, 4)) * 10
    c = constraints.MaxNorm(1.0)
    first = _apply(c, big, bk)
    np.testing.assert_allclose(_apply(c, first, bk), first, rtol=1e-5)
    assert (constraints.MaxNorm().max_value, constraints.MaxNorm().axis) == (2, 0)


def test_non_neg(bk, rng):
    w = rng.standard_normal((5, 5))
    np.testing.assert_array_equal(_apply(constraints.NonNeg(), w, bk), np.maximum(w, 0))


@pytest.mark.parametrize("axis", [0, 1])
def test_unit_norm(bk, rng, axis):
    w = rng.standard_normal((4, 6)) * 3
    got = _apply(constraints.UnitNorm(axis=axis), w, bk)
    np.testing.assert_allclose(np.sqrt((got ** 2).sum(axis=axis)), 1.0, rtol=1e-6)
    np.testing.assert_allclose(got, w / (np.sqrt((w ** 2).sum(axis=axis, keepdims=True)) + EPS))


@pytest.mark.parametrize("rate", [1.0, 0.5])
def test_min_max_norm(bk, rng, rate):
    w = rng.standard_normal((5, 6)) * rng.uniform(0.01, 3.0, (1, 6))
    got = _apply(constraints.MinMaxNorm(0.5, 1.5, rate=rate), w, bk)
    norms = np.sqrt((w ** 2).sum(axis=0, keepdims=True))
    desired = rate * np.clip(norms, 0.5, 1.5) + (1 - rate) * norms
    np.testing.assert_allclose(got, w * desired / (norms + EPS), rtol=1e-10)
    if rate == 1.0:
        new = np.sqrt((got ** 2).sum(axis=0))
        assert np.all((new >= 0.5 - 1e-6) & (new <= 1.5 + 1e-6))


@pytest.mark.parametrize("identifier, cls", [
    ("max_norm", constraints.MaxNorm), ("non_neg", constraints.NonNeg),
    ("unit_norm", constraints.UnitNorm), ("min_max_norm", constraints.MinMaxNorm),
    ("MaxNorm", constraints.MaxNorm), (constraints.NonNeg, constraints.NonNeg),
])
def test_get(identifier, cls):
    assert type(constraints.get(identifier)) is cls


def test_get_instances_callables_none_and_errors():
    c = constraints.MaxNorm(3)
    assert constraints.get(c) is c and constraints.get(None) is None

    def clip(w):
        return w

    assert constraints.get(clip) is clip
    with pytest.raises(ValueError, match=r"Unknown constraint: 'positive'.*'max_norm'.*'non_neg'"):
        constraints.get("positive")
    with pytest.raises(ValueError, match="Unknown constraint class"):
        constraints.get({"class_name": "Positive"})
    with pytest.raises(ValueError, match="Could not interpret"):
        constraints.get(2)


@pytest.mark.parametrize("c", [constraints.MaxNorm(1.5, axis=1), constraints.NonNeg(),
                               constraints.UnitNorm(axis=1),
                               constraints.MinMaxNorm(0.2, 0.8, 0.5, axis=1)])
def test_serialize_round_trip(bk, rng, c):
    clone = constraints.get(constraints.serialize(c))
    assert type(clone) is type(c) and clone.get_config() == c.get_config()
    w = rng.standard_normal((3, 4))
    np.testing.assert_array_equal(_apply(clone, w, bk), _apply(c, w, bk))
