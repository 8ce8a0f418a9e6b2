"""Iris: the embedded real data and the stratified, seeded split."""

from importlib import resources

import numpy as np
import pytest

from gkeras.datasets import iris


def full(split):
    (x_train, y_train), (x_test, y_test) = split
    return np.concatenate([x_train, x_test]), np.concatenate([y_train, y_test])


def test_is_the_real_iris_data():
    x, y = full(iris.load_data())
    assert x.shape == (150, 4)
    assert np.bincount(y).tolist() == [50, 50, 50]
    # Fisher's data as published: column means, minima and maxima
    np.testing.assert_array_equal(
        np.round(x.astype(np.float64).mean(axis=0), 3), [5.843, 3.057, 3.758, 1.199]
    )
    np.testing.assert_allclose(x.min(axis=0), [4.3, 2.0, 1.0, 0.1], rtol=1e-6)
    np.testing.assert_allclose(x.max(axis=0), [7.9, 4.4, 6.9, 2.5], rtol=1e-6)
    # the species are told apart by petal length: setosa's are all under 2 cm
    assert x[y == 0, 2].max() < 2.0 < x[y != 0, 2].min()


def test_data_file_ships_inside_the_package():
    data = resources.files("gkeras.datasets").joinpath("data", "iris.csv")
    lines = [line for line in data.read_text().splitlines() if not line.startswith("#")]
    assert lines[0] == "sepal_length,sepal_width,petal_length,petal_width,species"
    assert len(lines) == 151


def test_default_split_is_stratified_120_30():
    (x_train, y_train), (x_test, y_test) = iris.load_data()
    assert x_train.shape == (120, 4) and x_test.shape == (30, 4)
    assert x_train.dtype == np.float32 and x_test.dtype == np.float32
    assert y_train.dtype == np.int64 and y_train.shape == (120,) and y_test.shape == (30,)
    assert np.bincount(y_test).tolist() == [10, 10, 10]
    assert np.bincount(y_train).tolist() == [40, 40, 40]
    # each of the 150 (row, label) pairs lands in exactly one set: compare as sorted multisets
    split_rows = np.column_stack(full(iris.load_data()))
    all_rows = np.column_stack(full(iris.load_data(test_split=0.0)))
    sort = lambda a: a[np.lexsort(a.T[::-1])]  # noqa: E731
    np.testing.assert_array_equal(sort(split_rows), sort(all_rows))


def test_split_is_deterministic_in_the_seed():
    a = iris.load_data(seed=113)
    b = iris.load_data(seed=113)
    c = iris.load_data(seed=7)
    for (xa, ya), (xb, yb) in zip(a, b):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    assert not np.array_equal(a[1][0], c[1][0])


def test_other_test_split():
    (x_train, _), (x_test, y_test) = iris.load_data(test_split=0.5)
    assert len(x_train) == 75 and len(x_test) == 75
    assert np.bincount(y_test).tolist() == [25, 25, 25]
    (x_train, _), (x_test, _) = iris.load_data(test_split=0)
    assert x_train.shape == (150, 4) and x_test.shape == (0, 4)


@pytest.mark.parametrize("bad", [1.0, -0.1, "0.2", True])
def test_bad_test_split(bad):
    with pytest.raises(ValueError, match=r"test_split must be a number in \[0, 1\)"):
        iris.load_data(test_split=bad)
