"""Shape and indexing ops: forward vs NumPy, float64 gradients, error messages."""

import numpy as np
import pytest
from helpers import assert_close, check_gradients, to_host

from gkeras import ops
from gkeras.autodiff import Tensor, Variable


def tensor(bk, array, dtype=None):
    array = np.asarray(array)
    return Tensor(bk.asarray(array if dtype is None else array.astype(dtype)))


@pytest.mark.parametrize(
    "shape,new",
    [((2, 6), (3, 4)), ((1, 5), (-1,)), ((3, 1, 5), (5, 3)), ((4,), (2, 1, 2))],
    ids=str,
)
def test_reshape(bk, rng, shape, new):
    x = rng.standard_normal(shape)
    out = ops.reshape(tensor(bk, x, "float32"), new)
    assert out.dtype == np.float32
    assert_close(out, x.reshape(new))
    check_gradients(lambda t: ops.reshape(t, new), x, bk=bk)


@pytest.mark.parametrize(
    "shape,axes",
    [((2, 3), None), ((2, 3, 4), (2, 0, 1)), ((1, 3, 5), (-1, 0, -2)), ((3,), None)],
    ids=str,
)
def test_transpose(bk, rng, shape, axes):
    x = rng.standard_normal(shape)
    assert_close(ops.transpose(tensor(bk, x), axes), np.transpose(x, axes))
    check_gradients(lambda t: ops.transpose(t, axes), x, bk=bk)


def test_tensor_methods(bk, rng):
    x = rng.standard_normal((2, 3))
    t = tensor(bk, x)
    assert_close(t.T, x.T)
    assert_close(t.reshape(3, 2), x.reshape(3, 2))
    assert_close(t.reshape((6,)), x.reshape(6))
    assert_close(t.sum(axis=0), x.sum(axis=0))
    assert_close(t.mean(), x.mean())
    assert t.astype("float32").dtype == np.float32
    assert ops.shape(t) == (2, 3) and len(t) == 2
    np.testing.assert_array_equal(ops.convert_to_numpy(t), x)


@pytest.mark.parametrize(
    "shape,axis", [((2, 3), 0), ((2, 3), -1), ((1,), 1), ((4, 1, 5), -2)], ids=str
)
def test_expand_dims_and_squeeze(bk, rng, shape, axis):
    x = rng.standard_normal(shape)
    expanded = ops.expand_dims(tensor(bk, x), axis)
    assert_close(expanded, np.expand_dims(x, axis))
    assert_close(ops.squeeze(expanded, axis), x)
    check_gradients(lambda t: ops.squeeze(ops.expand_dims(t, axis), axis), x, bk=bk)
    assert ops.squeeze(tensor(bk, np.ones((1, 3, 1)))).shape == (3,)


def test_expand_dims_and_squeeze_errors(bk):
    t = tensor(bk, np.ones((2, 3)))
    with pytest.raises(ValueError, match="axis 3 is out of bounds.*rank 3"):
        ops.expand_dims(t, 3)
    with pytest.raises(ValueError, match=r"squeeze axis 1.*\(2, 3\).*not 1"):
        ops.squeeze(t, 1)


@pytest.mark.parametrize(
    "shapes,axis",
    [([(2, 3), (4, 3), (1, 3)], 0), ([(2, 1), (2, 4)], -1), ([(1, 2, 3), (1, 5, 3)], 1)],
    ids=str,
)
def test_concatenate(bk, rng, shapes, axis):
    xs = [rng.standard_normal(s) for s in shapes]
    out = ops.concatenate([tensor(bk, x, "float32") for x in xs], axis=axis)
    assert out.dtype == np.float32
    assert_close(out, np.concatenate(xs, axis=axis))
    check_gradients(lambda *ts: ops.concatenate(list(ts), axis=axis), *xs, bk=bk)


def test_concatenate_defaults_to_axis_0_like_keras(bk):
    out = ops.concatenate([tensor(bk, np.ones((1, 2))), tensor(bk, np.zeros((2, 2)))])
    assert out.shape == (3, 2)


def test_concatenate_errors(bk):
    with pytest.raises(ValueError, match=r"differ outside axis 0"):
        ops.concatenate([tensor(bk, np.ones((1, 2))), tensor(bk, np.ones((1, 3)))])
    with pytest.raises(ValueError, match="empty"):
        ops.concatenate([])
    with pytest.raises(ValueError, match="axis 2 is out of bounds"):
        ops.concatenate([tensor(bk, np.ones((1, 2)))], axis=2)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_stack(bk, rng, axis):
    xs = [rng.standard_normal((2, 3)) for _ in range(3)]
    assert_close(ops.stack([tensor(bk, x) for x in xs], axis=axis), np.stack(xs, axis=axis))
    check_gradients(lambda *ts: ops.stack(list(ts), axis=axis), *xs, bk=bk)
    with pytest.raises(ValueError, match="one shape"):
        ops.stack([tensor(bk, np.ones(2)), tensor(bk, np.ones(3))])


@pytest.mark.parametrize("spec,axis", [(3, 0), ([1, 4], 1), (2, -1), ([2], 0)], ids=str)
def test_split(bk, rng, spec, axis):
    x = rng.standard_normal((6, 5, 4))
    parts = ops.split(tensor(bk, x), spec, axis=axis)
    refs = np.split(x, spec, axis=axis)
    assert len(parts) == len(refs)
    for part, ref in zip(parts, refs):
        assert_close(part, ref)

    def weighted(t):
        pieces = ops.split(t, spec, axis=axis)
        return ops.concatenate([p * float(i + 1) for i, p in enumerate(pieces)], axis=axis)

    check_gradients(weighted, x, bk=bk)


def test_split_error(bk):
    with pytest.raises(ValueError, match="size 5 into 2 equal"):
        ops.split(tensor(bk, np.ones(5)), 2)


INDICES = [
    (slice(1, 3),),
    (Ellipsis, 0),
    (slice(None, None, -2), None, slice(1, None)),
    (1, -1),
    (np.array([0, 2, 0, 0]),),  # repeated rows: their gradients add up
    (np.array([[1, 1], [3, 0]]), slice(0, 2)),
    (slice(None), np.array([2, 2, 1])),
]


@pytest.mark.parametrize("index", INDICES, ids=lambda i: str(i).replace(" ", ""))
def test_get_item(bk, rng, index):
    x = rng.standard_normal((4, 3, 5))
    dev_index = tuple(bk.asarray(i) if isinstance(i, np.ndarray) else i for i in index)
    assert_close(tensor(bk, x)[dev_index], x[index])
    check_gradients(lambda t: t[dev_index], x, bk=bk)


def test_get_item_boolean_mask_and_tensor_index(bk, rng):
    x = rng.standard_normal((3, 4))
    mask = x > 0
    assert_close(tensor(bk, x)[tensor(bk, mask)], x[mask])
    check_gradients(lambda t: ops.get_item(t, bk.asarray(mask)), x, bk=bk)
    rows = tensor(bk, np.array([2, 2, 0]))
    assert_close(tensor(bk, x)[rows], x[[2, 2, 0]])


def test_get_item_repeated_index_gradient_counts(bk):
    x = Variable(bk.asarray(np.zeros(4)))
    ops.sum(x[bk.asarray(np.array([1, 1, 1, 3]))]).backward()
    np.testing.assert_allclose(to_host(x.grad), [0, 3, 0, 1])


@pytest.mark.parametrize(
    "axis,ids",
    [
        (None, [[0, 7], [7, 3]]),
        (0, [2, 0, 2]),
        (1, [[1, 1], [0, 2]]),
        (-1, [3, 0, 3, -1]),
        (2, [1]),
    ],
    ids=str,
)
def test_take(bk, rng, axis, ids):
    x = rng.standard_normal((3, 3, 4))
    ids = np.asarray(ids)
    assert_close(ops.take(tensor(bk, x), ids, axis=axis), np.take(x, ids, axis=axis))
    check_gradients(lambda t: ops.take(t, bk.asarray(ids), axis=axis), x, bk=bk)


def test_take_repeated_ids_along_inner_axis(bk):
    x = Variable(bk.asarray(np.arange(6.0).reshape(2, 3)))
    ops.sum(ops.take(x, [2, 2, 0], axis=1)).backward()
    np.testing.assert_allclose(to_host(x.grad), [[1, 0, 2], [1, 0, 2]])


def test_take_accepts_float_ids(bk, rng):
    x = rng.standard_normal((5, 2))
    out = ops.take(tensor(bk, x), tensor(bk, np.array([4.0, 1.0])), axis=0)
    assert_close(out, x[[4, 1]])


@pytest.mark.parametrize(
    "shape,target", [((3,), (2, 3)), ((1, 4), (3, 4)), ((2, 1, 1), (2, 3, 5))], ids=str
)
def test_broadcast_to(bk, rng, shape, target):
    x = rng.standard_normal(shape)
    assert_close(ops.broadcast_to(tensor(bk, x), target), np.broadcast_to(x, target))
    check_gradients(lambda t: ops.broadcast_to(t, target), x, bk=bk)


def test_cast(bk, rng):
    x = rng.standard_normal((2, 3))
    v = Variable(bk.asarray(x.astype("float32")))
    y = ops.cast(v, "float64")
    assert y.dtype == np.float64
    ops.sum(y * 2.0).backward()
    assert v.grad.dtype == np.float32
    np.testing.assert_allclose(to_host(v.grad), 2.0)
    assert ops.cast(v, "float32") is v
    ints = ops.cast(v, "int32")
    assert ints.dtype == np.int32 and not ints.requires_grad  # integers carry no gradient
    assert ops.convert_to_tensor(x, dtype="float32").dtype == np.float32
    assert ops.convert_to_tensor([1.0, 2.0]).dtype == np.float32


@pytest.mark.parametrize("shape", [(1,), (3, 4), (2, 1, 3)], ids=str)
def test_cast_gradient(bk, rng, shape):
    # through float32 and back: the op is the identity up to float32 rounding, so a wide
    # finite-difference step keeps the check exact to ~1e-6
    x = rng.uniform(0.5, 2.0, size=shape)
    check_gradients(
        lambda t: ops.cast(ops.cast(t, "float32"), "float64") * t,
        x,
        bk=bk,
        eps=1e-2,
        rtol=1e-4,
        atol=1e-5,
    )
