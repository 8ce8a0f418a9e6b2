"""`gkeras.random`: seeding, private seed streams and the distributions' statistics."""

import numpy as np
import pytest

from gkeras import random


def test_set_seed_makes_draws_reproducible():
    random.set_seed(123)
    a = random.normal((50,)).numpy()
    u = random.uniform((5,)).numpy()
    random.set_seed(123)
    np.testing.assert_array_equal(random.normal((50,)).numpy(), a)
    np.testing.assert_array_equal(random.uniform((5,)).numpy(), u)
    assert not np.array_equal(random.normal((50,)).numpy(), a)


def test_seed_generator_is_a_private_stream():
    g1, g2 = random.SeedGenerator(5), random.SeedGenerator(5)
    first = random.uniform((4,), seed=g1).numpy()
    np.testing.assert_array_equal(first, random.uniform((4,), seed=g2).numpy())
    assert not np.array_equal(first, random.uniform((4,), seed=g1).numpy())  # it advances
    np.testing.assert_array_equal(
        random.normal((3,), seed=9).numpy(), random.normal((3,), seed=9).numpy()
    )


def test_distribution_statistics_and_dtypes():
    u = random.uniform((20000,), minval=-2.0, maxval=3.0, seed=1).numpy()
    assert u.dtype == np.float32 and u.min() >= -2 and u.max() < 3
    assert abs(u.mean() - 0.5) < 0.05  # sd of the mean: 5 / sqrt(12 * 20000) = 0.01
    n = random.normal((20000,), mean=1.0, stddev=2.0, dtype="float64", seed=2).numpy()
    assert n.dtype == np.float64
    assert abs(n.mean() - 1.0) < 0.06 and abs(n.std() - 2.0) < 0.06
    t = random.truncated_normal((20000,), mean=0.5, stddev=0.1, seed=3).numpy()
    assert t.dtype == np.float32 and np.abs(t - 0.5).max() <= 0.2 + 1e-6
    assert abs(t.std() - 0.088) < 0.005  # the std of a normal truncated at 2 sigma is 0.88 sigma
    r = random.randint((1000,), 3, 7, seed=4).numpy()
    assert r.dtype == np.int32 and set(np.unique(r)) == {3, 4, 5, 6}


def test_shuffle_and_dropout():
    x = np.arange(12.0).reshape(6, 2)
    s = random.shuffle(x, seed=0).numpy()
    assert sorted(s[:, 0].tolist()) == x[:, 0].tolist() and (s[:, 1] == s[:, 0] + 1).all()
    y = random.dropout(np.ones((100, 100), "float32"), 0.25, seed=1).numpy()
    assert abs((y == 0).mean() - 0.25) < 0.02 and np.allclose(y[y != 0], 1 / 0.75)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_uniform_array_dtype(bk, dtype):
    a = random.uniform_array((3, 4), dtype, bk, seed=0)
    assert bk.owns(a) and a.dtype == dtype and a.shape == (3, 4)
