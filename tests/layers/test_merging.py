"""Merge layers: harness runs, NumPy references, broadcasting rules and Keras's input checks."""

import numpy as np
import pytest

import gkeras
from gkeras import layers

from .harness import run_layer_test

ELEMENTWISE = [
    (layers.Add, lambda xs: sum(xs)),
    (layers.Multiply, lambda xs: np.prod(xs, axis=0)),
    (layers.Average, lambda xs: np.mean(xs, axis=0)),
    (layers.Maximum, lambda xs: np.max(xs, axis=0)),
    (layers.Minimum, lambda xs: np.min(xs, axis=0)),
]


@pytest.mark.parametrize("cls", [c for c, _ in ELEMENTWISE] + [layers.Subtract])
def test_elementwise_merge_harness(bk, cls):
    run_layer_test(cls, {}, input_shape=[(3, 4), (3, 4)], expected_output_shape=(3, 4))


@pytest.mark.parametrize("cls", [c for c, _ in ELEMENTWISE])
def test_elementwise_merge_harness_three_inputs_broadcast(bk, cls):
    run_layer_test(cls, {}, input_shape=[(2, 3, 4), (2, 1, 4), (2, 3, 1)],
                   expected_output_shape=(2, 3, 4))


@pytest.mark.parametrize("cls, reference", ELEMENTWISE)
def test_elementwise_merge_matches_numpy(bk, rng, cls, reference):
    xs = [rng.standard_normal((4, 5)).astype("float32") for _ in range(3)]
    expected = reference([x.astype(np.float64) for x in xs])
    np.testing.assert_allclose(cls()(xs).numpy(), expected, rtol=1e-6, atol=1e-6)


def test_subtract_matches_numpy(bk, rng):
    a, b = (rng.standard_normal((3, 2)).astype("float32") for _ in range(2))
    np.testing.assert_allclose(layers.Subtract()([a, b]).numpy(), a - b, rtol=1e-6)


def test_lower_rank_inputs_gain_axes_after_the_batch(bk, rng):
    a = rng.standard_normal((2, 3)).astype("float32")
    b = rng.standard_normal((2, 4, 3)).astype("float32")
    y = layers.Add()([a, b]).numpy()
    np.testing.assert_allclose(y, a[:, None, :] + b, rtol=1e-6)
    assert layers.Add().compute_output_shape([(2, 3), (2, 4, 3)]) == (2, 4, 3)


@pytest.mark.parametrize("axis, shapes, out_shape", [
    (-1, [(2, 3), (2, 5)], (2, 8)),
    (1, [(2, 3, 4), (2, 1, 4), (2, 2, 4)], (2, 6, 4)),
    (2, [(2, 3, 1), (2, 3, 2)], (2, 3, 3)),
])
def test_concatenate_harness(bk, axis, shapes, out_shape):
    run_layer_test(layers.Concatenate, {"axis": axis}, input_shape=shapes,
                   expected_output_shape=out_shape)


def test_concatenate_matches_numpy(bk, rng):
    xs = [rng.standard_normal((2, k, 3)).astype("float32") for k in (1, 4, 2)]
    np.testing.assert_array_equal(layers.Concatenate(axis=1)(xs).numpy(),
                                  np.concatenate(xs, axis=1))
    np.testing.assert_array_equal(layers.concatenate(xs, axis=-2).numpy(),
                                  np.concatenate(xs, axis=1))


def test_functional_forms(bk, rng):
    a, b = (rng.standard_normal((2, 3)).astype("float32") for _ in range(2))
    np.testing.assert_allclose(layers.add([a, b]).numpy(), a + b, rtol=1e-6)
    np.testing.assert_allclose(layers.subtract([a, b]).numpy(), a - b, rtol=1e-6)
    np.testing.assert_allclose(layers.multiply([a, b]).numpy(), a * b, rtol=1e-6)
    np.testing.assert_allclose(layers.average([a, b]).numpy(), (a + b) / 2, rtol=1e-6)
    np.testing.assert_allclose(layers.maximum([a, b]).numpy(), np.maximum(a, b))
    np.testing.assert_allclose(layers.minimum([a, b]).numpy(), np.minimum(a, b))


def test_merge_symbolic_shapes():
    a, b = gkeras.Input((4,)), gkeras.Input((4,))
    assert layers.Add()([a, b]).shape == (None, 4)
    c = layers.Concatenate()([gkeras.Input((3, 2)), gkeras.Input((3, 5))])
    assert c.shape == (None, 3, 7)


def test_merge_requires_a_list(bk):
    with pytest.raises(ValueError, match=r"add_one.*list of inputs"):
        layers.Add(name="add_one")(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match=r"cat_one.*list"):
        layers.Concatenate(name="cat_one")(np.zeros((2, 3), "float32"))


def test_subtract_requires_exactly_two_inputs(bk):
    x = np.zeros((2, 3), "float32")
    with pytest.raises(ValueError, match=r"exactly 2 inputs"):
        layers.Subtract()([x, x, x])
    with pytest.raises(ValueError, match=r"exactly 2 inputs"):
        layers.Subtract()([x])


def test_elementwise_incompatible_shapes_name_layer_and_shapes(bk):
    with pytest.raises(ValueError, match=r"sum_bad.*incompatible shapes.*\(2, 3\).*\(2, 4\)"):
        layers.Add(name="sum_bad")([np.zeros((2, 3), "float32"), np.zeros((2, 4), "float32")])
    with pytest.raises(ValueError, match=r"different batch sizes"):
        layers.Multiply()([np.zeros((2, 3), "float32"), np.zeros((3, 3), "float32")])


def test_incompatible_shapes_detected_symbolically():
    with pytest.raises(ValueError, match="incompatible shapes"):
        layers.Add()([gkeras.Input((3,)), gkeras.Input((4,))])
    with pytest.raises(ValueError, match="matching shapes except for the concatenation axis"):
        layers.Concatenate(axis=1)([gkeras.Input((3, 2)), gkeras.Input((3, 5))])


@pytest.mark.parametrize("shapes", [[(2, 3, 4), (2, 5, 5)], [(2, 3), (2, 3, 1)],
                                    [(2, 3, 4), (3, 3, 4)]])
def test_concatenate_mismatched_shapes(bk, shapes):
    xs = [np.zeros(s, "float32") for s in shapes]
    with pytest.raises(ValueError, match=r"cat.*matching shapes except for the concatenation "
                                         r"axis -1.*input_shape="):
        layers.Concatenate(name="cat")(xs)


def test_concatenate_bad_axis(bk):
    with pytest.raises(ValueError, match=r"axis 3.*rank 2"):
        layers.Concatenate(axis=3)([np.zeros((2, 3), "float32")] * 2)
    with pytest.raises(ValueError, match="axis"):
        layers.Concatenate(axis="last")
