"""einsum and dot: forward vs NumPy (float64), float64 gradients, bad subscripts and shapes."""

import numpy as np
import pytest
from helpers import assert_close, check_gradients

from gkeras import ops
from gkeras.autodiff import Tensor, Variable, no_grad


def tensor(bk, array, dtype=None):
    array = np.asarray(array)
    return Tensor(bk.asarray(array if dtype is None else array.astype(dtype)))


EINSUMS = [
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("ij,jk", [(2, 3), (3, 2)]),  # implicit output: "ik"
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 3)]),
    ("i,i->", [(5,), (5,)]),
    ("i,j->ij", [(3,), (4,)]),
    ("ij->ji", [(3, 5)]),
    ("ijk->j", [(2, 3, 4)]),  # labels only one operand has: summed, gradient broadcast
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("ba", [(3, 2)]),  # implicit form sorts the labels: a transpose
    ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),
    ("ij,kj->", [(2, 3), (4, 3)]),
]


@pytest.mark.parametrize("spec, shapes", EINSUMS, ids=lambda v: str(v))
def test_einsum(bk, rng, spec, shapes):
    arrays = [rng.standard_normal(s) for s in shapes]
    expected = np.einsum(spec, *arrays)
    out = ops.einsum(spec, *(tensor(bk, a) for a in arrays))
    assert out.shape == expected.shape and out.dtype == np.float64
    assert_close(out, expected, rtol=1e-12, atol=1e-12)
    out32 = ops.einsum(spec, *(tensor(bk, a, "float32") for a in arrays))
    assert out32.dtype == np.float32
    check_gradients(lambda *ts: ops.einsum(spec, *ts), *arrays, bk=bk)


def test_einsum_same_operand_twice(bk, rng):
    x = rng.standard_normal((3, 4))
    check_gradients(lambda t: ops.einsum("ij,ij->i", t, t), x, bk=bk)  # row-wise squared norm
    assert_close(ops.einsum("ij,ij->i", tensor(bk, x), tensor(bk, x)), (x * x).sum(1))


def test_einsum_repeated_label_forward_only(bk, rng):
    x = rng.standard_normal((3, 3))
    assert_close(ops.einsum("ii->", tensor(bk, x)), np.trace(x))
    v = Variable(bk.asarray(x))
    with pytest.raises(ValueError, match="repeated within one operand"):
        ops.einsum("ii->i", v)
    with no_grad():
        assert_close(ops.einsum("ii->i", v), np.diag(x))


def test_einsum_errors(bk):
    a, b = tensor(bk, np.ones((2, 3))), tensor(bk, np.ones((4, 5)))
    with pytest.raises(ValueError, match="label 'j' has size 3 in one operand and 4"):
        ops.einsum("ij,jk->ik", a, b)
    with pytest.raises(ValueError, match="names 2 operands but 1 were given"):
        ops.einsum("ij,jk->ik", a)
    with pytest.raises(ValueError, match="has 3 labels but its operand has shape"):
        ops.einsum("ijk->i", a)
    with pytest.raises(ValueError, match="ellipsis"):
        ops.einsum("...j->j", a)
    with pytest.raises(ValueError, match="output 'iz' must use distinct labels"):
        ops.einsum("ij->iz", a)
    with pytest.raises(TypeError, match="must be a string"):
        ops.einsum(None, a)


DOTS = [
    ((), (3, 2)),
    ((4,), (4,)),
    ((3, 4), (4, 5)),
    ((3, 4), (4,)),
    ((4,), (4, 2)),
    ((2, 3, 4), (4,)),
    ((2, 3, 4), (5, 4, 2)),
    ((3, 4), (2, 4, 3)),
]


@pytest.mark.parametrize("shapes", DOTS, ids=str)
def test_dot_matches_numpy(bk, rng, shapes):
    a, b = rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1])
    expected = np.dot(a, b)
    out = ops.dot(tensor(bk, a), tensor(bk, b))
    assert out.shape == np.shape(expected)
    assert_close(out, expected, rtol=1e-12, atol=1e-12)
    check_gradients(ops.dot, a, b, bk=bk)


def test_dot_errors(bk):
    with pytest.raises(ValueError, match=r"not aligned: axis -1 of x1 has 3 entries, axis 0"):
        ops.dot(tensor(bk, np.ones((2, 3))), tensor(bk, np.ones((4, 2))))
