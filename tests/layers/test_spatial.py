"""ZeroPadding / UpSampling / Cropping (1-D and 2-D): harness runs, NumPy references, bad input."""

import numpy as np
import pytest
from helpers import check_gradients

import gkeras
from gkeras.layers.spatial import (
    Cropping1D,
    Cropping2D,
    UpSampling1D,
    UpSampling2D,
    ZeroPadding1D,
    ZeroPadding2D,
)

from .harness import run_layer_test


# ------------------------------------------------------------------- ZeroPadding2D
@pytest.mark.parametrize("padding, out_shape", [
    (1, (2, 5, 6, 3)),
    ((2, 0), (2, 7, 4, 3)),
    (((1, 0), (0, 2)), (2, 4, 6, 3)),
])
def test_zero_padding2d_harness(bk, padding, out_shape):
    run_layer_test(ZeroPadding2D, {"padding": padding}, input_shape=(2, 3, 4, 3),
                   expected_output_shape=out_shape)


@pytest.mark.parametrize("padding, pairs", [
    (2, ((2, 2), (2, 2))), ((1, 3), ((1, 1), (3, 3))), (((0, 1), (2, 3)), ((0, 1), (2, 3))),
])
def test_zero_padding2d_matches_numpy(bk, rng, padding, pairs):
    x = rng.standard_normal((2, 3, 4, 2)).astype("float32")
    expected = np.zeros((2, 3 + sum(pairs[0]), 4 + sum(pairs[1]), 2), "float32")
    expected[:, pairs[0][0]:pairs[0][0] + 3, pairs[1][0]:pairs[1][0] + 4, :] = x
    layer = ZeroPadding2D(padding)
    np.testing.assert_array_equal(layer(x).numpy(), expected)
    assert layer.get_config()["padding"] == pairs


def test_zero_padding2d_symbolic_keeps_unknown_sizes():
    assert ZeroPadding2D(((1, 2), (3, 4)))(gkeras.Input((None, 5, 2))).shape == (None, None, 12, 2)


@pytest.mark.parametrize("padding", [-1, (1, 2, 3), ((1, 2), 3), ((1,), (2, 2)), "1", 1.5,
                                     ((1, -2), (0, 0))])
def test_zero_padding2d_rejects_bad_padding(padding):
    with pytest.raises(ValueError, match=r"'zp'.*`padding`.*Received: padding="):
        ZeroPadding2D(padding, name="zp")


def test_zero_padding2d_rejects_channels_first_and_wrong_rank():
    with pytest.raises(ValueError, match="channels_first"):
        ZeroPadding2D(data_format="channels_first")
    with pytest.raises(ValueError, match=r"'zp2'.*expected ndim=4, found ndim=3"):
        ZeroPadding2D(name="zp2")(np.zeros((1, 2, 3), "float32"))


# ------------------------------------------------------------------- ZeroPadding1D
@pytest.mark.parametrize("padding, out_shape", [(1, (2, 7, 3)), ((3, 0), (2, 8, 3))])
def test_zero_padding1d_harness(bk, padding, out_shape):
    run_layer_test(ZeroPadding1D, {"padding": padding}, input_shape=(2, 5, 3),
                   expected_output_shape=out_shape)


def test_zero_padding1d_matches_numpy(bk, rng):
    x = rng.standard_normal((2, 4, 3)).astype("float32")
    np.testing.assert_array_equal(ZeroPadding1D((2, 1))(x).numpy(),
                                  np.pad(x, ((0, 0), (2, 1), (0, 0))))
    assert ZeroPadding1D(2)(gkeras.Input((None, 3))).shape == (None, None, 3)
    with pytest.raises(ValueError, match=r"'zp1'.*tuple of 2 ints"):
        ZeroPadding1D((1, 2, 3), name="zp1")


# -------------------------------------------------------------------- UpSampling2D
def _nearest_reference(x, rows, cols):
    return x.repeat(rows, axis=1).repeat(cols, axis=2)


def _bilinear_reference(x, rows, cols):
    """Per output pixel: sample the input at half-pixel-centre coordinates, edges clamped."""
    n, h, w, c = x.shape
    out = np.zeros((n, h * rows, w * cols, c))
    for i in range(h * rows):
        y = min(max((i + 0.5) / rows - 0.5, 0.0), h - 1)
        y0 = int(np.floor(y))
        y1, fy = min(y0 + 1, h - 1), y - y0
        for j in range(w * cols):
            s = min(max((j + 0.5) / cols - 0.5, 0.0), w - 1)
            x0 = int(np.floor(s))
            x1, fx = min(x0 + 1, w - 1), s - x0
            out[:, i, j] = ((1 - fy) * (1 - fx) * x[:, y0, x0] + (1 - fy) * fx * x[:, y0, x1]
                            + fy * (1 - fx) * x[:, y1, x0] + fy * fx * x[:, y1, x1])
    return out


@pytest.mark.parametrize("size, interpolation, out_shape", [
    (2, "nearest", (2, 6, 8, 3)),
    ((1, 3), "nearest", (2, 3, 12, 3)),
    ((3, 2), "bilinear", (2, 9, 8, 3)),
])
def test_up_sampling2d_harness(bk, size, interpolation, out_shape):
    run_layer_test(UpSampling2D, {"size": size, "interpolation": interpolation},
                   input_shape=(2, 3, 4, 3), expected_output_shape=out_shape)


@pytest.mark.parametrize("size", [(2, 2), (3, 1), (2, 3)])
@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_up_sampling2d_matches_numpy(bk, rng, size, interpolation):
    x = rng.standard_normal((2, 3, 4, 2))
    reference = (_nearest_reference if interpolation == "nearest" else _bilinear_reference)
    out = UpSampling2D(size, interpolation=interpolation)(x.astype("float32")).numpy()
    np.testing.assert_allclose(out, reference(x, *size), rtol=1e-5, atol=1e-6)


def test_up_sampling2d_bilinear_matches_keras_values(bk):
    # real Keras 3.15 (JAX) gave these first-row values for arange(12).reshape(1, 3, 4, 1)
    # up-sampled 2x bilinearly: [0, .25, .75, 1.25, 1.75, 2.25, 2.75, 3]
    x = np.arange(12, dtype="float32").reshape(1, 3, 4, 1)
    out = UpSampling2D(interpolation="bilinear")(x).numpy()[0, :, :, 0]
    np.testing.assert_allclose(out[0], [0, .25, .75, 1.25, 1.75, 2.25, 2.75, 3], atol=1e-6)
    np.testing.assert_allclose(out[:, 0], [0, 1, 3, 5, 7, 8], atol=1e-6)


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
def test_up_sampling2d_gradients(bk, rng, interpolation):
    layer = UpSampling2D((2, 3), interpolation=interpolation, dtype="float64")
    check_gradients(lambda x: layer(x), rng.standard_normal((1, 2, 3, 2)), bk=bk)


def test_up_sampling2d_symbolic_and_bad_arguments():
    assert UpSampling2D((2, 3))(gkeras.Input((None, 5, 2))).shape == (None, None, 15, 2)
    with pytest.raises(ValueError, match=r"'up'.*interpolation.*'bicubic'.*nearest"):
        UpSampling2D(interpolation="bicubic", name="up")
    with pytest.raises(ValueError, match=r"'up2'.*`size`.*Received: size=\(0, 2\)"):
        UpSampling2D((0, 2), name="up2")
    with pytest.raises(ValueError, match="channels_last"):
        UpSampling2D(data_format="channels_first")


# -------------------------------------------------------------------- UpSampling1D
@pytest.mark.parametrize("size, out_shape", [(2, (2, 8, 3)), (3, (2, 12, 3))])
def test_up_sampling1d_harness(bk, size, out_shape):
    run_layer_test(UpSampling1D, {"size": size}, input_shape=(2, 4, 3),
                   expected_output_shape=out_shape)


def test_up_sampling1d_matches_numpy_and_rejects_bad_size(bk, rng):
    x = rng.standard_normal((2, 4, 3)).astype("float32")
    np.testing.assert_array_equal(UpSampling1D(3)(x).numpy(), np.repeat(x, 3, axis=1))
    assert UpSampling1D(2)(gkeras.Input((None, 3))).shape == (None, None, 3)
    with pytest.raises(ValueError, match=r"'u1'.*`size`.*Received: size=0"):
        UpSampling1D(0, name="u1")


# ---------------------------------------------------------------------- Cropping2D
@pytest.mark.parametrize("cropping, out_shape", [
    (1, (2, 3, 4, 2)),
    ((0, 2), (2, 5, 2, 2)),
    (((2, 1), (0, 3)), (2, 2, 3, 2)),
])
def test_cropping2d_harness(bk, cropping, out_shape):
    run_layer_test(Cropping2D, {"cropping": cropping}, input_shape=(2, 5, 6, 2),
                   expected_output_shape=out_shape)


@pytest.mark.parametrize("cropping, pairs", [
    (1, ((1, 1), (1, 1))), ((0, 2), ((0, 0), (2, 2))), (((2, 1), (0, 3)), ((2, 1), (0, 3))),
])
def test_cropping2d_matches_numpy(bk, rng, cropping, pairs):
    x = rng.standard_normal((2, 5, 6, 2)).astype("float32")
    (t, b), (left, r) = pairs
    expected = x[:, t:5 - b, left:6 - r, :]
    np.testing.assert_array_equal(Cropping2D(cropping)(x).numpy(), expected)


def test_cropping2d_too_large_and_symbolic():
    layer = Cropping2D(((2, 2), (0, 0)), name="crop")
    with pytest.raises(ValueError, match=r"'crop'.*\(2, 2\).*height.*less than its size 4"):
        layer(np.zeros((1, 4, 4, 1), "float32"))
    with pytest.raises(ValueError, match=r"'crop'.*input_shape=\(None, 3, 5, 1\)"):
        layer(gkeras.Input((3, 5, 1)))
    assert Cropping2D(((1, 1), (2, 0)))(gkeras.Input((None, 5, 1))).shape == (None, None, 3, 1)
    with pytest.raises(ValueError, match=r"'crop2'.*`cropping`.*Received"):
        Cropping2D((1, 2, 3), name="crop2")


# ---------------------------------------------------------------------- Cropping1D
@pytest.mark.parametrize("cropping, out_shape", [(1, (2, 4, 3)), ((0, 3), (2, 3, 3))])
def test_cropping1d_harness(bk, cropping, out_shape):
    run_layer_test(Cropping1D, {"cropping": cropping}, input_shape=(2, 6, 3),
                   expected_output_shape=out_shape)


def test_cropping1d_matches_numpy_and_errors(bk, rng):
    x = rng.standard_normal((2, 6, 3)).astype("float32")
    np.testing.assert_array_equal(Cropping1D((2, 1))(x).numpy(), x[:, 2:5])
    assert Cropping1D()(gkeras.Input((None, 3))).shape == (None, None, 3)
    with pytest.raises(ValueError, match=r"'c1'.*steps.*less than its size 3"):
        Cropping1D((2, 1), name="c1")(np.zeros((1, 3, 1), "float32"))
    with pytest.raises(ValueError, match=r"'c2'.*`cropping`"):
        Cropping1D((-1, 0), name="c2")


def test_spatial_layers_in_a_functional_model(bk, rng):
    inputs = gkeras.Input((4, 4, 2))
    x = ZeroPadding2D(1)(inputs)
    x = UpSampling2D(2)(x)
    outputs = Cropping2D(((1, 1), (2, 2)))(x)
    model = gkeras.Model(inputs, outputs)
    assert model.output_shape == (None, 10, 8, 2)
    data = rng.standard_normal((3, 4, 4, 2)).astype("float32")
    expected = np.pad(data, ((0, 0), (1, 1), (1, 1), (0, 0))).repeat(2, 1).repeat(2, 2)
    np.testing.assert_array_equal(model(data).numpy(), expected[:, 1:11, 2:10])
