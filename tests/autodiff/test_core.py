"""The autodiff engine: reverse mode, accumulation, generation order, freeing, no_grad."""

import gc
import weakref

import numpy as np
import pytest
from helpers import check_gradients, to_host

from gkeras import ops
from gkeras.autodiff import Function, Tensor, Variable, enable_grad, is_grad_enabled, no_grad


def var(bk, values, dtype="float64"):
    return Variable(bk.asarray(np.asarray(values, dtype=dtype)))


class Recorder(Function):
    """y = scale * x, appending its tag to `log` when its backward runs."""

    def __init__(self, tag, log, scale=1.0):
        self.tag, self.log, self.scale = tag, log, scale

    def forward(self, x):
        return x * self.scale

    def backward(self, gy):
        self.log.append(self.tag)
        return gy * self.scale


# ------------------------------------------------------------------- reverse mode
def test_chain_with_constant_operand(bk):
    # the intermediate square(w) is held only by the graph: its gradient must survive
    w = var(bk, [0.5, -1.0, 1.5])
    ops.sum(ops.exp(ops.square(w) * 2.0)).backward()
    x = np.array([0.5, -1.0, 1.5])
    np.testing.assert_allclose(to_host(w.grad), 4 * x * np.exp(2 * x * x), rtol=1e-12)


def test_long_chain_gradient(bk):
    x = var(bk, [0.3, -0.7, 1.1])
    y = x
    for _ in range(20):
        y = ops.tanh(y * 1.1 + 0.1)
    ops.sum(y).backward()
    # reference by the chain rule in float64
    v = np.array([0.3, -0.7, 1.1])
    g = np.ones(3)
    for _ in range(20):
        t = np.tanh(v * 1.1 + 0.1)
        g = g * (1 - t * t) * 1.1
        v = t
    np.testing.assert_allclose(to_host(x.grad), g, rtol=1e-10)


def test_tensor_used_twice_gets_summed_gradient(bk):
    x = var(bk, [1.0, -2.0, 3.0])
    ops.sum(x * x + x).backward()  # d/dx = 2x + 1
    np.testing.assert_allclose(to_host(x.grad), [3.0, -3.0, 7.0])


def test_same_tensor_as_both_operands(bk):
    x = var(bk, [1.5, -2.0])
    ops.sum(ops.multiply(x, x)).backward()
    np.testing.assert_allclose(to_host(x.grad), [3.0, -4.0])


def test_shared_weights_accumulate(bk, rng):
    # one kernel applied twice, as a shared layer would: gradient = sum over both uses
    x = rng.standard_normal((3, 4))
    W = rng.standard_normal((4, 4)) * 0.5

    def f(x_, W_):
        return ops.dense(ops.dense(x_, W_, activation="tanh"), W_, activation="tanh")

    check_gradients(f, x, W, bk=bk)


def test_diamond_runs_each_function_once_after_its_consumers(bk):
    log = []
    x = var(bk, [2.0, -1.0])
    a = Recorder("a", log, 3.0)(x)
    b = Recorder("b", log, 2.0)(a)
    # a longer branch: its functions have higher generations than b
    c = Recorder("c3", log, 5.0)(Recorder("c2", log)(Recorder("c1", log)(a)))
    ops.sum(b * c).backward()
    assert log.count("a") == 1
    assert log.index("a") == len(log) - 1  # the shared node runs last, with the full sum
    # y = (2 * 3x) * (5 * 3x) = 90 x^2, dy/dx = 180 x
    np.testing.assert_allclose(to_host(x.grad), [360.0, -180.0])


def test_generation_numbers():
    x = Variable(np.ones(2))
    a = ops.exp(x)
    b = ops.exp(ops.exp(a))
    c = a + b
    assert (x.generation, a.generation, b.generation, c.generation) == (0, 1, 3, 4)
    assert c.creator.generation == 3


def test_multi_output_unused_output_gets_zeros_or_none(bk):
    seen = {}

    class Split2(Function):
        def forward(self, x):
            return x * 2, x * 3

        def backward(self, g1, g2):
            seen[type(self).__name__] = (g1, g2)
            g1 = 0 if g1 is None else g1
            g2 = 0 if g2 is None else g2
            return g1 * 2 + g2 * 3

    class Split2None(Split2):
        accepts_none_grads = True

    for cls in (Split2, Split2None):
        x = var(bk, [1.0, 2.0])
        first, _unused = cls()(x)
        ops.sum(first).backward()
        np.testing.assert_allclose(to_host(x.grad), [2.0, 2.0])
    assert seen["Split2"][1] is not None and not to_host(seen["Split2"][1]).any()
    assert seen["Split2None"][1] is None


# ---------------------------------------------------------------- leaves and grads
def test_gradients_are_raw_arrays_first_order_only(bk):
    x = var(bk, [1.0, 2.0])
    ops.sum(ops.square(x)).backward()
    assert not isinstance(x.grad, Tensor)
    assert bk.owns(x.grad)


def test_leaf_gradients_accumulate_across_backward_calls(bk):
    x = var(bk, [1.0, 2.0])
    ops.sum(x * 3.0).backward()
    ops.sum(x * 4.0).backward()
    np.testing.assert_allclose(to_host(x.grad), [7.0, 7.0])


def test_leaf_gradients_never_alias(bk):
    a, b = var(bk, [1.0, 2.0]), var(bk, [3.0, 4.0])
    upstream = bk.asarray(np.array([1.0, 1.0]))
    (a + b).backward(upstream)
    assert a.grad is not b.grad
    a.grad *= 10  # an optimizer may scale gradients in place
    np.testing.assert_allclose(to_host(b.grad), [1.0, 1.0])
    np.testing.assert_allclose(to_host(upstream), [1.0, 1.0])


def test_gradient_dtype_follows_the_leaf(bk):
    x = var(bk, [1.0, 2.0], dtype="float32")
    y = x * bk.asarray(np.array([2.0, 3.0]))  # float64 operand promotes the output
    assert y.dtype == np.float64
    ops.sum(y).backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_allclose(to_host(x.grad), [2.0, 3.0])


def test_backward_on_a_leaf_and_on_a_constant(bk):
    x = var(bk, [1.0, 2.0])
    x.backward()
    np.testing.assert_allclose(to_host(x.grad), [1.0, 1.0])
    c = Tensor(bk.asarray(np.ones(2)))
    y = c * 2.0
    y.backward()  # nothing requires a gradient: a no-op, not an error
    assert c.grad is None and y.creator is None


def test_backward_rejects_a_wrong_gradient_shape(bk):
    x = var(bk, [1.0, 2.0])
    y = x * 2.0
    with pytest.raises(ValueError, match=r"shape \(3,\).*shape \(2,\)"):
        y.backward(np.ones(3))


def test_backward_names_a_function_returning_a_wrong_shape(bk):
    class Broken(Function):
        def forward(self, x):
            return x.sum()

        def backward(self, gy):
            return gy  # should be broadcast to the input's shape

    x = var(bk, [1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"Broken.backward.*shape \(\).*shape \(2,\)"):
        Broken()(x).backward()


def test_a_function_object_serves_one_call(bk):
    x = var(bk, [1.0, 2.0])
    fn = Recorder("r", [], 2.0)
    fn(x)
    with pytest.raises(RuntimeError, match="Recorder instance is already part of a graph"):
        fn(x)


def test_full_reductions_give_arrays_not_scalars(bk):
    y = ops.sum(var(bk, [1.0, 2.0]))
    assert y.shape == () and bk.owns(y.data)


# -------------------------------------------------------------------- freeing
def test_intermediates_are_freed_after_backward(bk):
    x = var(bk, np.linspace(-1, 1, 6))
    hidden = ops.tanh(x * 2.0)
    probe = weakref.ref(hidden)
    loss = ops.sum(ops.square(hidden))
    del hidden
    gc.collect()
    assert probe() is not None  # the graph keeps it for the backward
    loss.backward()
    gc.collect()
    assert probe() is None
    assert loss.creator.inputs == () and loss.creator.outputs is None
    assert x.grad is not None


def test_non_leaf_tensors_keep_no_gradient(bk):
    x = var(bk, [0.5, 1.5])
    hidden = ops.exp(x)
    loss = ops.sum(hidden * hidden)
    loss.backward()
    assert hidden.grad is None and loss.grad is None
    np.testing.assert_allclose(to_host(x.grad), 2 * np.exp(2 * np.array([0.5, 1.5])))


def test_function_releases_saved_arrays(bk):
    x = var(bk, [0.5, 1.5])
    y = ops.exp(x)
    fn = y.creator
    assert fn.inputs[0] is x and hasattr(fn, "y")
    ops.sum(y).backward()
    assert fn.inputs == () and not hasattr(fn, "y")


def test_second_backward_needs_retain_graph(bk):
    x = var(bk, [1.0, 2.0])
    loss = ops.sum(ops.square(x * 1.0))
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_allclose(to_host(x.grad), [4.0, 8.0])  # 2 * 2x
    with pytest.raises(RuntimeError, match="retain_graph"):
        loss.backward()


def test_retain_graph_keeps_no_intermediate_gradients(bk):
    x = var(bk, [1.0, 2.0])
    hidden = ops.exp(x)
    loss = ops.sum(hidden)
    loss.backward(retain_graph=True)
    assert hidden.grad is None
    x.grad = None
    loss.backward()
    np.testing.assert_allclose(to_host(x.grad), np.exp([1.0, 2.0]))


# -------------------------------------------------------------------- no_grad
def test_no_grad_records_nothing(bk):
    x = var(bk, [1.0, 2.0])
    with no_grad():
        assert not is_grad_enabled()
        y = ops.exp(x) * 2.0
    assert is_grad_enabled()
    assert not y.requires_grad and y.creator is None
    np.testing.assert_allclose(to_host(y.data), 2 * np.exp([1.0, 2.0]))


def test_no_grad_nests_and_restores_after_errors():
    with no_grad():
        with enable_grad():
            assert is_grad_enabled()
            y = ops.exp(Variable(np.ones(2)))
        assert not is_grad_enabled()
    assert y.requires_grad
    with pytest.raises(KeyError):
        with no_grad():
            raise KeyError("boom")
    assert is_grad_enabled()


def test_no_grad_decorates_functions_even_recursive_ones():
    states = []

    @no_grad()
    def depth(n):
        states.append(is_grad_enabled())
        return depth(n - 1) if n else 0

    depth(3)
    assert states == [False] * 4 and is_grad_enabled()
    # one context object entered twice restores each level in turn
    ctx = no_grad()
    with ctx:
        with enable_grad():
            with ctx:
                assert not is_grad_enabled()
            assert is_grad_enabled()
        assert not is_grad_enabled()
    assert is_grad_enabled()


def test_constants_do_not_require_grad(bk):
    c = Tensor(bk.asarray(np.ones(3)))
    y = ops.exp(c) + 1.0
    assert not y.requires_grad and y.creator is None


# ---------------------------------------------------------------- scalar operands
def test_python_scalars_follow_the_tensor_dtype(bk):
    x32 = Tensor(bk.asarray(np.ones(2, dtype="float32")))
    assert (x32 * 2).dtype == np.float32
    assert (2.5 - x32).dtype == np.float32
    ints = Tensor(bk.asarray(np.arange(3)))
    half = ints * 0.5  # must not truncate 0.5 to the integer dtype
    np.testing.assert_allclose(half.numpy(), [0.0, 0.5, 1.0])
    picked = ops.where(ints > 0, 1.5, 0.0)
    assert picked.dtype.kind == "f"
    np.testing.assert_allclose(picked.numpy(), [0.0, 1.5, 1.5])


def test_numpy_arrays_on_the_left_defer_to_tensor(bk):
    x = var(bk, [1.0, 2.0])
    y = np.array([3.0, 4.0]) * x
    assert isinstance(y, Tensor)
    ops.sum(y).backward()
    np.testing.assert_allclose(to_host(x.grad), [3.0, 4.0])
