"""Conv2DTranspose, DepthwiseConv2D, SeparableConv2D: float64 NumPy references, recorded
real-Keras outputs, gradients against finite differences, the shared harness, bad input."""

import json
import os

import numpy as np
import pytest
from helpers import check_gradients

import gkeras
from gkeras import layers
from gkeras.layers.convolutional_variants import (
    Conv2DTranspose,
    Convolution2DTranspose,
    DepthwiseConv2D,
    SeparableConv2D,
    SeparableConvolution2D,
)
from gkeras.ops import conv2d_transpose, depthwise_conv2d

from .harness import run_layer_test

REFERENCE = os.path.join(os.path.dirname(__file__), "..", "data", "conv_variants",
                         "reference.npz")


# ------------------------------------------------------------------ references
def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def transpose_reference(x, kernel, bias, strides, padding, output_padding, dilation):
    """Scatter-add transposed convolution in float64, with the output geometry of Keras's
    JAX path: the input, spread `strides` apart, is padded by `left` cells before and
    correlated with the flipped kernel, so `x[i] * kernel[a]` lands on row
    `i * s + a * d - (K - 1 - left)` (K the dilated kernel size)."""
    x, kernel = x.astype(np.float64), kernel.astype(np.float64)
    n, h, w, _ = x.shape
    kh, kw, f, _ = kernel.shape
    pads = (None, None) if output_padding is None else _pair(output_padding)
    shifts, sizes = [], []
    for length, k, s, d, op in zip((h, w), (kh, kw), strides, dilation, pads):
        big_k = (k - 1) * d + 1
        if padding == "valid":
            op = max(big_k, s) - big_k if op is None else op
            left, right = big_k - 1, big_k - 1 + op
        else:
            total = s + big_k - 2 if op is None else big_k + big_k % 2 - 2 + op
            left = min(total // 2 + total % 2, big_k - 1)
            right = total - left
        # correlating a (length - 1) * s + 1 + left + right sequence with big_k taps
        sizes.append((length - 1) * s + 1 + left + right - big_k + 1)
        shifts.append(big_k - 1 - left)
    out = np.zeros((n, sizes[0], sizes[1], f))
    (sh, sw), (dh, dw) = strides, dilation
    for i in range(h):
        for j in range(w):
            for a in range(kh):
                for b in range(kw):
                    r, c = i * sh + a * dh - shifts[0], j * sw + b * dw - shifts[1]
                    if 0 <= r < sizes[0] and 0 <= c < sizes[1]:
                        out[:, r, c, :] += x[:, i, j, :] @ kernel[a, b].T
    return out if bias is None else out + bias


def depthwise_reference(x, kernel, bias, strides, padding, dilation):
    """Per-channel direct convolution in float64 (TF's 'same' rule: extra padding last)."""
    x, kernel = x.astype(np.float64), kernel.astype(np.float64)
    n, h, w, c = x.shape
    kh, kw, _, m = kernel.shape
    (sh, sw), (dh, dw) = strides, dilation
    eh, ew = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    if padding == "same":
        oh, ow = -(-h // sh), -(-w // sw)
        ph, pw = max((oh - 1) * sh + eh - h, 0), max((ow - 1) * sw + ew - w, 0)
        x = np.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
    else:
        oh, ow = (h - eh) // sh + 1, (w - ew) // sw + 1
    out = np.zeros((n, oh, ow, c * m))
    for ch in range(c):
        for mm in range(m):
            for i in range(oh):
                for j in range(ow):
                    patch = x[:, i * sh:i * sh + eh:dh, j * sw:j * sw + ew:dw, ch]
                    out[:, i, j, ch * m + mm] = (patch * kernel[:, :, ch, mm]).sum(axis=(1, 2))
    return out if bias is None else out + bias


def separable_reference(x, depthwise, pointwise, bias, strides, padding, dilation):
    y = depthwise_reference(x, depthwise, None, strides, padding, dilation)
    y = np.einsum("nhwc,cf->nhwf", y, pointwise[0, 0].astype(np.float64))
    return y if bias is None else y + bias


# ------------------------------------------------------------- Conv2DTranspose
TRANSPOSE_CONFIGS = [
    {"kernel_size": 3},
    {"kernel_size": 3, "strides": 2},
    {"kernel_size": 3, "strides": 2, "padding": "same"},
    {"kernel_size": 5, "strides": 2, "padding": "same"},
    {"kernel_size": (3, 2), "strides": (2, 3), "padding": "same"},
    {"kernel_size": 3, "strides": 2, "padding": "same", "output_padding": 1},
    {"kernel_size": 4, "strides": 2, "padding": "same"},
    {"kernel_size": 4, "strides": 2, "padding": "same", "output_padding": 0},
    {"kernel_size": 2, "strides": 3},
    {"kernel_size": 2, "strides": 3, "padding": "same"},
    {"kernel_size": 3, "dilation_rate": 2, "padding": "same"},
    {"kernel_size": (2, 3), "dilation_rate": (2, 1)},
    {"kernel_size": 3, "strides": 2, "output_padding": 1},
    {"kernel_size": 5, "strides": 3, "padding": "same", "output_padding": (2, 1)},
]


@pytest.mark.parametrize("kwargs", TRANSPOSE_CONFIGS)
def test_conv2d_transpose_matches_numpy(bk, rng, kwargs):
    gkeras.config.set_floatx("float64")
    x = rng.standard_normal((2, 5, 4, 3))
    layer = Conv2DTranspose(4, **kwargs)
    layer.build(x.shape)
    kernel, bias = rng.standard_normal(layer.kernel.shape), rng.standard_normal(4)
    layer.set_weights([kernel, bias])
    y = layer(x).numpy()
    expected = transpose_reference(x, kernel, bias, layer.strides, layer.padding,
                                   layer.output_padding, layer.dilation_rate)
    assert y.shape == expected.shape == layer.compute_output_shape(x.shape)
    np.testing.assert_allclose(y, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("kwargs", [
    {"strides": 2, "padding": "same"},  # the layer's own padding reproduces the output
    {"strides": 2, "padding": "same", "output_padding": 0},  # cropped from a 'valid' frame
    {"strides": 3, "padding": "valid"},  # output extended past the scatter
    {"strides": 1, "padding": "same", "dilation_rate": 2},
])
def test_conv2d_transpose_gradients(bk, rng, kwargs):
    x = rng.standard_normal((2, 3, 2, 2))
    kernel = rng.standard_normal((4, 3, 3, 2)) if "dilation_rate" not in kwargs else \
        rng.standard_normal((2, 3, 3, 2))
    bias = rng.standard_normal(3)
    strides, dilation = _pair(kwargs["strides"]), _pair(kwargs.get("dilation_rate", 1))
    op = kwargs.get("output_padding")
    op = None if op is None else _pair(op)
    check_gradients(
        lambda a, k, b: conv2d_transpose(a, k, b, strides, kwargs["padding"], op, dilation),
        x, kernel, bias, bk=bk)
    check_gradients(  # without a bias
        lambda a, k: conv2d_transpose(a, k, None, strides, kwargs["padding"], op, dilation),
        x, kernel, bk=bk)


def test_conv2d_transpose_op_arguments(bk, rng):
    x, kernel = rng.standard_normal((1, 3, 2, 2)), rng.standard_normal((3, 3, 4, 2))
    y = conv2d_transpose(x, kernel, None, 2, "SAME", 1).numpy()  # ints and any-case padding
    np.testing.assert_allclose(
        y, transpose_reference(x, kernel, None, (2, 2), "same", (1, 1), (1, 1)), atol=1e-12)
    with pytest.raises(ValueError, match=r"output_padding.*below strides \(2, 2\)"):
        conv2d_transpose(x, kernel, None, 2, "same", 2)
    with pytest.raises(ValueError, match="unknown padding"):
        conv2d_transpose(x, kernel, None, 2, "full")
    with pytest.raises(ValueError, match=r"kernel \(KH, KW, F, C\).*\(3, 3, 2, 4\)"):
        conv2d_transpose(x, kernel.transpose(0, 1, 3, 2))


@pytest.mark.parametrize("kwargs, in_shape, out_shape, n_losses", [
    ({"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"}, (2, 4, 3, 2),
     (2, 8, 6, 3), 0),
    ({"filters": 2, "kernel_size": (2, 3), "strides": (3, 2), "output_padding": (1, 0),
      "activation": "tanh"}, (2, 3, 4, 3), (2, 9, 9, 2), 0),
    ({"filters": 2, "kernel_size": 4, "strides": 2, "padding": "same", "output_padding": 0,
      "kernel_regularizer": "l2", "bias_constraint": "non_neg", "bias_initializer": "ones"},
     (2, 3, 3, 2), (2, 4, 4, 2), 1),
])
def test_conv2d_transpose_harness(bk, kwargs, in_shape, out_shape, n_losses):
    run_layer_test(Conv2DTranspose, kwargs, input_shape=in_shape,
                   expected_output_shape=out_shape, expected_num_trainable_weights=2,
                   expected_num_losses=n_losses)


def test_conv2d_transpose_no_bias_harness(bk):
    run_layer_test(Conv2DTranspose, {"filters": 2, "kernel_size": 2, "use_bias": False,
                                     "dilation_rate": 2},
                   input_shape=(2, 3, 3, 2), expected_output_shape=(2, 5, 5, 2),
                   expected_num_trainable_weights=1)


def test_conv2d_transpose_weights_and_keras_defaults(bk):
    layer = Conv2DTranspose(8, 3, name="up")
    assert layer.strides == (1, 1) and layer.padding == "valid"
    assert layer.output_padding is None and layer.dilation_rate == (1, 1)
    assert layer.use_bias and layer.data_format == "channels_last"
    layer(np.zeros((1, 4, 4, 5), "float32"))
    assert [w.path for w in layer.weights] == ["up/kernel", "up/bias"]
    assert layer.kernel.shape == (3, 3, 8, 5) and layer.bias.shape == (8,)  # (KH, KW, F, C)
    config = layer.get_config()
    for key in ("filters", "kernel_size", "strides", "padding", "output_padding",
                "data_format", "dilation_rate", "activation", "use_bias", "kernel_initializer",
                "bias_initializer", "kernel_regularizer", "bias_regularizer",
                "activity_regularizer", "kernel_constraint", "bias_constraint"):
        assert key in config
    assert Conv2DTranspose.from_config(config).get_config() == config
    assert Convolution2DTranspose is Conv2DTranspose
    assert Conv2DTranspose(2, 3).name.startswith("conv2d_transpose")


# ------------------------------------------------------------- DepthwiseConv2D
DEPTHWISE_CONFIGS = [
    {"kernel_size": 3},
    {"kernel_size": 3, "depth_multiplier": 2},
    {"kernel_size": (3, 2), "strides": 2, "padding": "same", "depth_multiplier": 2},
    {"kernel_size": (2, 3), "strides": (1, 2)},
    {"kernel_size": 3, "dilation_rate": 2, "padding": "same"},
    {"kernel_size": 2, "dilation_rate": (2, 1), "strides": 2, "depth_multiplier": 3},
]


@pytest.mark.parametrize("kwargs", DEPTHWISE_CONFIGS)
def test_depthwise_conv2d_matches_numpy(bk, rng, kwargs):
    gkeras.config.set_floatx("float64")
    x = rng.standard_normal((2, 7, 6, 3))
    layer = DepthwiseConv2D(**kwargs)
    layer.build(x.shape)
    kernel = rng.standard_normal(layer.kernel.shape)
    bias = rng.standard_normal(layer.bias.shape)
    layer.set_weights([kernel, bias])
    y = layer(x).numpy()
    expected = depthwise_reference(x, kernel, bias, layer.strides, layer.padding,
                                   layer.dilation_rate)
    assert y.shape == expected.shape == layer.compute_output_shape(x.shape)
    np.testing.assert_allclose(y, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("multiplier, strides, padding, dilation", [
    (1, (1, 1), "valid", (1, 1)),
    (2, (2, 1), "same", (1, 1)),
    (2, (1, 1), "same", (2, 1)),
])
def test_depthwise_conv2d_gradients(bk, rng, multiplier, strides, padding, dilation):
    x = rng.standard_normal((2, 5, 4, 2))
    kernel = rng.standard_normal((2, 3, 2, multiplier))
    check_gradients(lambda a, k: depthwise_conv2d(a, k, strides, padding, dilation),
                    x, kernel, bk=bk)


@pytest.mark.parametrize("kwargs, in_shape, out_shape, n_weights, n_losses", [
    ({"kernel_size": 3, "depth_multiplier": 2}, (2, 5, 5, 2), (2, 3, 3, 4), 2, 0),
    ({"kernel_size": 2, "strides": 2, "padding": "same", "use_bias": False,
      "activation": "relu"}, (2, 5, 4, 3), (2, 3, 2, 3), 1, 0),
    ({"kernel_size": 2, "depthwise_regularizer": "l2", "bias_regularizer": "l1",
      "depthwise_constraint": "max_norm", "bias_initializer": "ones"}, (2, 4, 4, 2),
     (2, 3, 3, 2), 2, 2),
])
def test_depthwise_conv2d_harness(bk, kwargs, in_shape, out_shape, n_weights, n_losses):
    run_layer_test(DepthwiseConv2D, kwargs, input_shape=in_shape,
                   expected_output_shape=out_shape, expected_num_trainable_weights=n_weights,
                   expected_num_losses=n_losses)


def test_depthwise_conv2d_weights_and_keras_defaults(bk):
    layer = DepthwiseConv2D(3, depth_multiplier=2, name="dw")
    assert layer.strides == (1, 1) and layer.padding == "valid"
    assert layer.dilation_rate == (1, 1) and layer.use_bias
    layer(np.zeros((1, 5, 5, 4), "float32"))
    assert [w.path for w in layer.weights] == ["dw/kernel", "dw/bias"]  # Keras 3 names
    assert layer.kernel.shape == (3, 3, 4, 2) and layer.bias.shape == (8,)
    config = layer.get_config()
    for key in ("kernel_size", "strides", "padding", "depth_multiplier", "data_format",
                "dilation_rate", "activation", "use_bias", "depthwise_initializer",
                "bias_initializer", "depthwise_regularizer", "bias_regularizer",
                "activity_regularizer", "depthwise_constraint", "bias_constraint"):
        assert key in config
    assert "filters" not in config
    assert DepthwiseConv2D.from_config(config).get_config() == config


# ------------------------------------------------------------- SeparableConv2D
@pytest.mark.parametrize("kwargs", [
    {"kernel_size": 3},
    {"kernel_size": 3, "depth_multiplier": 2, "strides": 2, "padding": "same"},
    {"kernel_size": (2, 3), "dilation_rate": 2, "depth_multiplier": 2},
])
def test_separable_conv2d_matches_numpy(bk, rng, kwargs):
    gkeras.config.set_floatx("float64")
    x = rng.standard_normal((2, 7, 6, 3))
    layer = SeparableConv2D(5, **kwargs)
    layer.build(x.shape)
    weights = [rng.standard_normal(w.shape) for w in layer.weights]
    layer.set_weights(weights)
    y = layer(x).numpy()
    expected = separable_reference(x, *weights, layer.strides, layer.padding,
                                   layer.dilation_rate)
    assert y.shape == expected.shape == layer.compute_output_shape(x.shape)
    np.testing.assert_allclose(y, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("kwargs, in_shape, out_shape, n_weights, n_losses", [
    ({"filters": 3, "kernel_size": 3, "depth_multiplier": 2}, (2, 5, 5, 2), (2, 3, 3, 3), 3,
     0),
    ({"filters": 2, "kernel_size": 2, "strides": 2, "padding": "same", "use_bias": False,
      "activation": "sigmoid"}, (2, 5, 4, 3), (2, 3, 2, 2), 2, 0),
    ({"filters": 2, "kernel_size": 2, "depthwise_regularizer": "l2",
      "pointwise_regularizer": "l1", "pointwise_constraint": "unit_norm",
      "activity_regularizer": "l2"}, (2, 4, 4, 2), (2, 3, 3, 2), 3, 3),
])
def test_separable_conv2d_harness(bk, kwargs, in_shape, out_shape, n_weights, n_losses):
    run_layer_test(SeparableConv2D, kwargs, input_shape=in_shape,
                   expected_output_shape=out_shape, expected_num_trainable_weights=n_weights,
                   expected_num_losses=n_losses)


def test_separable_conv2d_weights_and_keras_defaults(bk):
    layer = SeparableConv2D(6, 3, depth_multiplier=2, name="sep")
    assert layer.strides == (1, 1) and layer.padding == "valid" and layer.depth_multiplier == 2
    layer(np.zeros((1, 5, 5, 4), "float32"))
    assert [w.path for w in layer.weights] == ["sep/depthwise_kernel", "sep/pointwise_kernel",
                                               "sep/bias"]
    assert layer.depthwise_kernel.shape == (3, 3, 4, 2)
    assert layer.pointwise_kernel.shape == (1, 1, 8, 6) and layer.bias.shape == (6,)
    config = layer.get_config()
    for key in ("filters", "kernel_size", "strides", "padding", "data_format",
                "dilation_rate", "depth_multiplier", "activation", "use_bias",
                "depthwise_initializer", "pointwise_initializer", "bias_initializer",
                "depthwise_regularizer", "pointwise_regularizer", "bias_regularizer",
                "activity_regularizer", "depthwise_constraint", "pointwise_constraint",
                "bias_constraint"):
        assert key in config
    assert SeparableConv2D.from_config(config).get_config() == config
    assert SeparableConvolution2D is SeparableConv2D


# ------------------------------------------------------------- real Keras output
def _reference_cases():
    if not os.path.exists(REFERENCE):
        return []
    with np.load(REFERENCE) as data:
        return sorted({key.split("/")[0] for key in data.files if "/" in key})


@pytest.mark.parametrize("case", _reference_cases())
def test_matches_recorded_keras_output(bk, case):
    """Outputs of Keras 3.15.1 (JAX) for the same seeded input and weights
    (tests/data/conv_variants/record_reference.py)."""
    with np.load(REFERENCE) as data:
        cls = {"Conv2DTranspose": Conv2DTranspose, "DepthwiseConv2D": DepthwiseConv2D,
               "SeparableConv2D": SeparableConv2D}[str(data[f"{case}/class"])]
        kwargs = json.loads(str(data[f"{case}/kwargs"]))
        x, expected = data[f"{case}/x"], data[f"{case}/y"]
        weights = [data[f"{case}/w{i}"] for i in range(int(data[f"{case}/n_weights"]))]
    layer = cls(**kwargs)
    layer.build(x.shape)
    assert [w.shape for w in layer.weights] == [w.shape for w in weights]
    layer.set_weights(weights)
    y = layer(x).numpy()
    assert y.shape == expected.shape
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


def test_reference_file_is_present():
    assert len(_reference_cases()) >= 8


# ------------------------------------------------------------- symbolic shapes
def test_symbolic_shapes_and_unknown_sizes():
    x = gkeras.Input((7, 6, 3))
    assert Conv2DTranspose(4, 3, strides=2)(x).shape == (None, 15, 13, 4)
    assert Conv2DTranspose(4, 3, strides=2, padding="same")(x).shape == (None, 14, 12, 4)
    assert DepthwiseConv2D(3, depth_multiplier=2)(x).shape == (None, 5, 4, 6)
    assert SeparableConv2D(5, 3, strides=2, padding="same")(x).shape == (None, 4, 3, 5)
    free = gkeras.Input((None, None, 3))
    assert Conv2DTranspose(4, 3, strides=2)(free).shape == (None, None, None, 4)
    assert DepthwiseConv2D(3)(free).shape == (None, None, None, 3)
    assert SeparableConv2D(2, 3)(free).shape == (None, None, None, 2)
    assert Conv2DTranspose(2, 3, strides=2, output_padding=1).compute_output_shape(
        (None, None, 4, 1)) == (None, None, 10, 2)
    assert DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=3) \
        .compute_output_shape((None, 7, None, 2)) == (None, 4, None, 6)


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("factory, match", [
    (lambda: Conv2DTranspose(0, 3, name="t"), r"`filters` of layer 't'"),
    (lambda: Conv2DTranspose(2.5, 3, name="t"), r"`filters` of layer 't'"),
    (lambda: Conv2DTranspose(2, (3, 3, 3), name="t"), r"'t'.*kernel_size"),
    (lambda: Conv2DTranspose(2, 3, padding="causal", name="t"), r"'t'.*'valid', 'same'"),
    (lambda: Conv2DTranspose(2, 3, strides=2, output_padding=2, name="t"),
     r"'t'.*output_padding.*strictly less than `strides`.*dimension 0"),
    (lambda: Conv2DTranspose(2, 3, output_padding=(1, 1, 1), name="t"),
     r"'t'.*output_padding.*tuple of 2"),
    (lambda: Conv2DTranspose(2, 3, output_padding=-1, name="t"), r"'t'.*non-negative"),
    (lambda: Conv2DTranspose(2, 3, strides=2, dilation_rate=2, name="t"),
     r"'t'.*dilation_rate"),
    (lambda: Conv2DTranspose(2, 3, data_format="channels_first", name="t"),
     r"'t'.*channels_last"),
    (lambda: DepthwiseConv2D(3, depth_multiplier=0, name="d"), r"`depth_multiplier` of layer 'd'"),
    (lambda: DepthwiseConv2D(0, name="d"), r"'d'.*kernel_size"),
    (lambda: DepthwiseConv2D(3, data_format="channels_first", name="d"), r"'d'.*channels_last"),
    (lambda: DepthwiseConv2D(3, padding="full", name="d"), r"'d'.*padding"),
    (lambda: SeparableConv2D(-1, 3, name="s"), r"`filters` of layer 's'"),
    (lambda: SeparableConv2D(2, 3, depth_multiplier=1.5, name="s"), r"depth_multiplier.*'s'"),
    (lambda: SeparableConv2D(2, 3, strides=0, name="s"), r"'s'.*strides"),
    (lambda: SeparableConv2D(2, 3, data_format="channels_first", name="s"),
     r"'s'.*channels_last"),
])
def test_bad_arguments_raise_clearly(factory, match):
    with pytest.raises(ValueError, match=match):
        factory()


def test_bad_inputs_name_layer_and_shapes(bk):
    with pytest.raises(ValueError, match=r"'dw'.*height 5.*input height 4.*\(1, 4, 6, 2\)"):
        DepthwiseConv2D(5, name="dw")(np.zeros((1, 4, 6, 2), "float32"))
    with pytest.raises(ValueError, match=r"'sep'.*width 5.*input width 3"):
        SeparableConv2D(2, (1, 3), dilation_rate=2, name="sep")(np.zeros((1, 4, 3, 2),
                                                                         "float32"))
    layer = Conv2DTranspose(2, 3, name="up")
    with pytest.raises(ValueError, match=r"up.*ndim=4.*ndim=3"):
        layer(np.zeros((2, 5, 5), "float32"))
    layer(np.zeros((2, 5, 5, 3), "float32"))
    with pytest.raises(ValueError, match=r"up.*axis -1.*3.*\(2, 5, 5, 4\)"):
        layer(np.zeros((2, 5, 5, 4), "float32"))
    with pytest.raises(ValueError, match=r"'up'.*empty"):  # (1 - 1) * 2 + 0 rows
        Conv2DTranspose(2, 4, strides=2, padding="same", output_padding=0,
                        name="up").compute_output_shape((None, 1, 3, 1))
    with pytest.raises(ValueError, match=r"channel dimension.*'dw2'.*must be known"):
        DepthwiseConv2D(3, name="dw2").build((None, 5, 5, None))


# ---------------------------------------------------------------- training
def test_conv2d_then_conv2d_transpose_fits(bk):
    gkeras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((48, 8, 8, 1)).astype("float32")
    x = (x + np.roll(x, 1, axis=1) + np.roll(x, 1, axis=2)) / 3  # some spatial structure
    model = gkeras.Sequential([
        gkeras.Input((8, 8, 1)),
        layers.Conv2D(4, 3, strides=2, padding="same", activation="relu"),
        Conv2DTranspose(1, 3, strides=2, padding="same"),
    ])
    assert model.output_shape == (None, 8, 8, 1)
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(x, x, epochs=2, batch_size=8, verbose=0)
    losses = history.history["loss"]
    assert len(losses) == 2 and losses[1] < losses[0]


def test_separable_net_fits(bk):
    gkeras.utils.set_random_seed(0)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 8, 8, 3)).astype("float32")
    y = (x[..., 0].mean(axis=(1, 2)) > 0).astype("int32")
    model = gkeras.Sequential([
        gkeras.Input((8, 8, 3)),
        SeparableConv2D(6, 3, depth_multiplier=2, activation="relu"),
        DepthwiseConv2D(3, padding="same"),
        layers.Flatten(),
        layers.Dense(2, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    losses = history.history["loss"]
    assert len(losses) == 2 and losses[1] < losses[0]
