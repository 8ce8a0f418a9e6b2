"""to_categorical and normalize against references written with plain loops in float64."""

import numpy as np
import pytest
from helpers import check_gradients, to_host

import gkeras
from gkeras.utils import normalize, to_categorical


def one_hot_reference(labels, num_classes):
    flat = np.asarray(labels).reshape(-1)
    out = np.zeros((flat.size, num_classes))
    for row, label in enumerate(flat):
        out[row, int(label)] = 1.0
    return out


@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 3, 2)])
def test_to_categorical_matches_reference(rng, shape):
    labels = rng.integers(0, 5, size=shape)
    out = to_categorical(labels, num_classes=6)
    assert out.shape == shape + (6,) and out.dtype == np.float64
    np.testing.assert_array_equal(out.reshape(-1, 6), one_hot_reference(labels, 6))


def test_to_categorical_infers_num_classes_and_drops_trailing_one(rng):
    labels = rng.integers(0, 4, size=(9, 1))
    labels[0, 0] = 3  # the largest class is present, so max + 1 == 4
    out = to_categorical(labels)
    assert out.shape == (9, 4)
    np.testing.assert_array_equal(out, one_hot_reference(labels, 4))
    assert to_categorical(2, num_classes=3).tolist() == [0.0, 0.0, 1.0]
    assert to_categorical([1.0, 0.0]).tolist() == [[0.0, 1.0], [1.0, 0.0]]


def test_to_categorical_on_a_tensor_returns_a_tensor(bk):
    labels = gkeras.Tensor(bk.asarray(np.array([2, 0, 1])))
    out = to_categorical(labels, num_classes=3)
    assert isinstance(out, gkeras.Tensor) and out.dtype == np.float32
    np.testing.assert_array_equal(to_host(out.data), one_hot_reference([2, 0, 1], 3))


@pytest.mark.parametrize(
    "labels,kwargs,error,match",
    [
        ([0, 3], {"num_classes": 3}, ValueError, r"in \[0, 3\) for num_classes=3; received \[3\]"),
        ([0, -1], {}, ValueError, r"received \[-1\]"),
        ([0.5, 1.0], {}, ValueError, r"non-integer floats such as \[0.5\]"),
        (["a", "b"], {}, TypeError, "integer class values; received dtype <U1"),
        ([0, 1], {"num_classes": 0}, ValueError, "num_classes must be a positive integer"),
        ([], {}, ValueError, "Cannot infer num_classes from an empty"),
    ],
    ids=["too-large", "negative", "fractional", "strings", "zero-classes", "empty"],
)
def test_to_categorical_bad_input(labels, kwargs, error, match):
    with pytest.raises(error, match=match):
        to_categorical(labels, **kwargs)


def norm_reference(x, axis, order):
    """Norms of the 1-d slices of x along axis, one slice at a time, in float64."""
    moved = np.moveaxis(np.asarray(x, np.float64), axis, -1)
    out = np.empty(moved.shape[:-1])
    for index in np.ndindex(out.shape):
        v = moved[index]
        out[index] = (
            np.abs(v).max() if order == np.inf else (np.abs(v) ** order).sum() ** (1.0 / order)
        )
    return np.expand_dims(out, -1), moved


@pytest.mark.parametrize("order", [1, 2, 3, np.inf])
@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_normalize_matches_reference(rng, order, axis):
    x = rng.standard_normal((4, 5, 3))
    x[1, :, 2] = 0.0
    x[:, 3, 1] = 0.0
    norms, moved = norm_reference(x, axis, order)
    expected = np.moveaxis(moved / np.where(norms == 0, 1.0, norms), -1, axis)
    out = normalize(x, axis=axis, order=order)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=0)
    assert not np.isnan(out).any()


def test_normalize_keeps_float32_and_promotes_ints():
    x32 = np.array([[3.0, 4.0]], np.float32)
    out = normalize(x32)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [[0.6, 0.8]], rtol=1e-6)
    out = normalize(np.array([[0, 5]]), order=1)
    assert out.dtype == np.float64 and out.tolist() == [[0.0, 1.0]]


def test_normalize_axis_none_uses_all_entries(rng):
    x = rng.standard_normal((3, 4))
    np.testing.assert_allclose(normalize(x, axis=None), x / np.sqrt((x**2).sum()), rtol=1e-12)


@pytest.mark.parametrize("order", [1, 2, 3, np.inf])
def test_normalize_tensor_matches_numpy(bk, rng, order):
    x = rng.standard_normal((3, 4))
    x[2] = 0.0
    out = normalize(gkeras.Tensor(bk.asarray(x)), axis=-1, order=order)
    assert isinstance(out, gkeras.Tensor)
    norms, _ = norm_reference(x, -1, order)
    np.testing.assert_allclose(to_host(out.data), x / np.where(norms == 0, 1.0, norms), rtol=1e-12)


@pytest.mark.parametrize("order,axis", [(2, -1), (3, 0)])
def test_normalize_tensor_gradients(bk, rng, order, axis):
    x = rng.standard_normal((3, 4)) + 0.5
    check_gradients(lambda t: normalize(t, axis=axis, order=order), x, bk=bk)


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        ({"axis": 2}, ValueError, r"`axis` must be an integer in \[-2, 2\) for an input of shape"),
        ({"axis": 1.5}, ValueError, "`axis` must be an integer"),
        ({"order": "fro"}, TypeError, "`order` must be a number"),
    ],
    ids=["axis-out-of-range", "axis-float", "order-string"],
)
def test_normalize_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        normalize(np.ones((2, 3)), **kwargs)
