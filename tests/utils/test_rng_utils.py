"""set_random_seed makes every random source repeat."""

import random

import numpy as np
import pytest

import gkeras
from gkeras.utils import set_random_seed


def draws():
    return (
        gkeras.random.uniform((5,)).numpy(),
        gkeras.random.normal((3,)).numpy(),
        np.random.rand(2),
        random.random(),
    )


def test_same_seed_same_draws():
    set_random_seed(1337)
    first = draws()
    set_random_seed(1337)
    second = draws()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


def test_different_seed_different_draws():
    set_random_seed(1)
    first = gkeras.random.uniform((5,)).numpy()
    set_random_seed(2)
    assert not np.array_equal(first, gkeras.random.uniform((5,)).numpy())


def test_numpy_integer_seed_is_accepted():
    set_random_seed(np.int64(5))
    first = gkeras.random.uniform((4,)).numpy()
    set_random_seed(5)
    np.testing.assert_array_equal(first, gkeras.random.uniform((4,)).numpy())


@pytest.mark.parametrize("seed", [1.5, "3", None, True])
def test_non_integer_seed(seed):
    with pytest.raises(ValueError, match="Expected `seed` argument to be an integer"):
        set_random_seed(seed)


def test_negative_seed():
    with pytest.raises(ValueError, match="non-negative"):
        set_random_seed(-1)
