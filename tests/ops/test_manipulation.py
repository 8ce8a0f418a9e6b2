"""pad, tile, repeat, flip: forward vs NumPy, float64 gradients, bad arguments."""

import numpy as np
import pytest
from helpers import assert_close, check_gradients

from gkeras import ops
from gkeras.autodiff import Tensor


def tensor(bk, array, dtype=None):
    array = np.asarray(array)
    return Tensor(bk.asarray(array if dtype is None else array.astype(dtype)))


def draw(rng, shape):
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.5, 1.5, size=shape)


# (shape, pad_width): every accepted pad_width form
PADS = [
    ((4,), ((1, 2),)),
    ((3, 4), ((0, 1), (2, 3))),
    ((2, 3), 1),
    ((2, 3), (2,)),
    ((2, 3, 4), ((1, 0),)),
    ((2, 3, 4), ((1, 1), (0, 2), (3, 0))),
]


def numpy_pad_width(pad_width, ndim):
    # the Keras forms written out per axis, independently of the op's own parsing
    if isinstance(pad_width, int):
        return [(pad_width, pad_width)] * ndim
    if len(pad_width) == 1 and isinstance(pad_width[0], int):
        return [(pad_width[0], pad_width[0])] * ndim
    if len(pad_width) == 1:
        return [tuple(pad_width[0])] * ndim
    return [tuple(p) for p in pad_width]


@pytest.mark.parametrize("shape, pad_width", PADS, ids=str)
@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric", "wrap"])
def test_pad(bk, rng, shape, pad_width, mode):
    x = draw(rng, shape)
    widths = numpy_pad_width(pad_width, len(shape))
    expected = np.pad(x, widths, mode=mode)
    out = ops.pad(tensor(bk, x), pad_width, mode=mode)
    assert out.shape == expected.shape and out.dtype == np.float64
    assert_close(out, expected, rtol=0, atol=0)
    assert ops.pad(tensor(bk, x, "float32"), pad_width, mode=mode).dtype == np.float32
    check_gradients(lambda t: ops.pad(t, pad_width, mode=mode), x, bk=bk)


def test_pad_constant_values(bk, rng):
    x = draw(rng, (2, 3))
    out = ops.pad(tensor(bk, x), ((1, 0), (0, 2)), constant_values=-7.5)
    np.testing.assert_array_equal(out.numpy(), np.pad(x, ((1, 0), (0, 2)), constant_values=-7.5))


def test_pad_errors(bk):
    x = tensor(bk, np.ones((2, 3)))
    expected = r"2 \(before, after\) pairs for a tensor of shape \(2, 3\)"
    with pytest.raises(ValueError, match=expected):
        ops.pad(x, ((1, 1), (1, 1), (1, 1)))
    with pytest.raises(ValueError, match="non-negative"):
        ops.pad(x, ((1, -1), (0, 0)))
    with pytest.raises(ValueError, match="unknown mode 'mean'"):
        ops.pad(x, 1, mode="mean")
    with pytest.raises(ValueError, match="constant_values can only be given with mode='constant'"):
        ops.pad(x, 1, mode="reflect", constant_values=1.0)


@pytest.mark.parametrize(
    "shape, repeats",
    [((3,), 2), ((2, 3), (2, 1)), ((2, 3), (3,)), ((2, 1, 3), (1, 4, 2)), ((3,), (2, 2)),
     ((2, 2), 0)],
    ids=str,
)
def test_tile(bk, rng, shape, repeats):
    x = draw(rng, shape)
    expected = np.tile(x, repeats)
    out = ops.tile(tensor(bk, x), repeats)
    assert out.shape == expected.shape
    assert_close(out, expected, rtol=0, atol=0)
    check_gradients(lambda t: ops.tile(t, repeats), x, bk=bk)


def test_tile_errors(bk):
    with pytest.raises(ValueError, match="non-negative ints"):
        ops.tile(tensor(bk, np.ones(2)), (2, -1))


@pytest.mark.parametrize(
    "shape, repeats, axis",
    [((4,), 2, None), ((2, 3), 3, 1), ((2, 3), [1, 0, 2], 1), ((3, 2), [2], 0),
     ((2, 2, 3), 2, -1), ((2, 3), [1, 2, 0, 1, 3, 1], None)],
    ids=str,
)
def test_repeat(bk, rng, shape, repeats, axis):
    x = draw(rng, shape)
    expected = np.repeat(x, repeats, axis=axis)
    out = ops.repeat(tensor(bk, x), repeats, axis=axis)
    assert out.shape == expected.shape
    assert_close(out, expected, rtol=0, atol=0)
    check_gradients(lambda t: ops.repeat(t, repeats, axis=axis), x, bk=bk)


def test_repeat_errors(bk):
    x = tensor(bk, np.ones((2, 3)))
    with pytest.raises(ValueError, match="expected 1 or 3 repeat counts"):
        ops.repeat(x, [1, 2], axis=1)
    with pytest.raises(ValueError, match="non-negative ints"):
        ops.repeat(x, -1, axis=0)
    with pytest.raises(ValueError, match="out of bounds"):
        ops.repeat(x, 2, axis=2)


@pytest.mark.parametrize("shape, axis", [((5,), None), ((3, 4), 0), ((3, 4), -1),
                                         ((2, 3, 4), (0, 2)), ((2, 3, 4), None)], ids=str)
def test_flip(bk, rng, shape, axis):
    x = draw(rng, shape)
    out = ops.flip(tensor(bk, x), axis=axis)
    assert_close(out, np.flip(x, axis=axis), rtol=0, atol=0)
    check_gradients(lambda t: ops.flip(t, axis=axis), x, bk=bk)
    with pytest.raises(ValueError, match="out of bounds"):
        ops.flip(tensor(bk, x), axis=len(shape))
