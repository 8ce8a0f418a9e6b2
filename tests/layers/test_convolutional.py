"""Conv2D: harness runs, a float64 NumPy reference, Keras arguments and bad input."""

import numpy as np
import pytest

import gkeras
from gkeras import layers

from .harness import run_layer_test


def conv2d_reference(x, kernel, bias, strides, padding, dilation):
    """Direct NHWC convolution in float64 (groups inferred from the kernel's channel axis)."""
    x, kernel = x.astype(np.float64), kernel.astype(np.float64)
    n, h, w, c = x.shape
    kh, kw, cg, f = kernel.shape
    groups, fg = c // cg, f // (c // cg)
    (sh, sw), (dh, dw) = strides, dilation
    eh, ew = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    if padding == "same":
        oh, ow = -(-h // sh), -(-w // sw)
        ph, pw = max((oh - 1) * sh + eh - h, 0), max((ow - 1) * sw + ew - w, 0)
        x = np.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
    else:
        oh, ow = (h - eh) // sh + 1, (w - ew) // sw + 1
    out = np.zeros((n, oh, ow, f))
    for i in range(oh):
        for j in range(ow):
            patch = x[:, i * sh:i * sh + eh:dh, j * sw:j * sw + ew:dw, :]
            for g in range(groups):
                out[:, i, j, g * fg:(g + 1) * fg] = np.einsum(
                    "nhwc,hwcf->nf", patch[..., g * cg:(g + 1) * cg],
                    kernel[..., g * fg:(g + 1) * fg])
    return out if bias is None else out + bias


HARNESS_CASES = [
    ({"filters": 4, "kernel_size": 3}, (2, 7, 6, 3), (2, 5, 4, 4), 2, 0),
    ({"filters": 2, "kernel_size": (3, 2), "strides": 2, "padding": "same"}, (2, 7, 6, 3),
     (2, 4, 3, 2), 2, 0),
    ({"filters": 3, "kernel_size": 3, "dilation_rate": 2, "use_bias": False,
      "activation": "relu"}, (2, 8, 7, 2), (2, 4, 3, 3), 1, 0),
    ({"filters": 4, "kernel_size": 2, "groups": 2, "activation": "tanh"}, (2, 5, 5, 4),
     (2, 4, 4, 4), 2, 0),
    ({"filters": 2, "kernel_size": 1, "kernel_regularizer": "l2", "bias_regularizer": "l1",
      "activity_regularizer": "l1", "kernel_constraint": "max_norm",
      "bias_constraint": "non_neg", "bias_initializer": "ones"}, (3, 4, 4, 3), (3, 4, 4, 2),
     2, 3),
]


@pytest.mark.parametrize("kwargs, in_shape, out_shape, n_weights, n_losses", HARNESS_CASES)
def test_conv2d_harness(bk, kwargs, in_shape, out_shape, n_weights, n_losses):
    run_layer_test(layers.Conv2D, kwargs, input_shape=in_shape, expected_output_shape=out_shape,
                   expected_num_trainable_weights=n_weights, expected_num_losses=n_losses)


@pytest.mark.parametrize("kwargs", [
    {"kernel_size": 3},
    {"kernel_size": (2, 3), "strides": (2, 1)},
    {"kernel_size": 3, "padding": "same"},
    {"kernel_size": (3, 2), "strides": (2, 3), "padding": "same"},
    {"kernel_size": 2, "dilation_rate": (2, 3)},
    {"kernel_size": 3, "dilation_rate": 2, "padding": "same"},
    {"kernel_size": 2, "groups": 3},
])
def test_conv2d_matches_numpy(bk, rng, kwargs):
    gkeras.config.set_floatx("float64")
    x = rng.standard_normal((2, 9, 8, 3))
    layer = layers.Conv2D(6, **kwargs)
    layer.build(x.shape)
    kernel = rng.standard_normal(layer.kernel.shape)
    bias = rng.standard_normal(6)
    layer.set_weights([kernel, bias])
    y = layer(x).numpy()
    expected = conv2d_reference(x, kernel, bias, layer.strides, layer.padding,
                                layer.dilation_rate)
    assert y.shape == expected.shape == layer.compute_output_shape(x.shape)
    np.testing.assert_allclose(y, expected, rtol=1e-10, atol=1e-10)


def test_conv2d_weights_and_keras_defaults(bk):
    layer = layers.Conv2D(8, 3, name="conv")
    assert layer.strides == (1, 1) and layer.padding == "valid"
    assert layer.dilation_rate == (1, 1) and layer.kernel_size == (3, 3)
    assert layer.use_bias and layer.groups == 1
    assert not layer.built
    layer(np.zeros((1, 5, 5, 2), "float32"))
    assert [w.path for w in layer.weights] == ["conv/kernel", "conv/bias"]
    assert layer.kernel.shape == (3, 3, 2, 8) and layer.bias.shape == (8,)
    # glorot_uniform: limit sqrt(6 / (fan_in + fan_out)) with the receptive field counted
    limit = np.sqrt(6 / (3 * 3 * 2 + 3 * 3 * 8))
    assert np.abs(layer.kernel.numpy()).max() <= limit
    np.testing.assert_array_equal(layer.bias.numpy(), 0)
    config = layer.get_config()
    for key in ("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate",
                "groups", "activation", "use_bias", "kernel_initializer", "bias_initializer",
                "kernel_regularizer", "bias_regularizer", "activity_regularizer",
                "kernel_constraint", "bias_constraint"):
        assert key in config
    assert config["kernel_initializer"]["class_name"] == "GlorotUniform"


def test_conv2d_symbolic_shapes():
    x = gkeras.Input((28, 28, 1))
    y = layers.Conv2D(16, 3, strides=2, padding="same")(x)
    z = layers.Conv2D(4, 5)(y)
    assert y.shape == (None, 14, 14, 16) and z.shape == (None, 10, 10, 4)


def test_conv2d_compute_output_shape_with_unknown_sizes():
    layer = layers.Conv2D(5, 3, strides=2)
    assert layer.compute_output_shape((None, None, 9, 3)) == (None, None, 4, 5)


@pytest.mark.parametrize("filters", [0, -2, 1.5, None, "8"])
def test_conv2d_rejects_bad_filters(filters):
    with pytest.raises(ValueError, match="filters"):
        layers.Conv2D(filters, 3)


@pytest.mark.parametrize("kwargs, match", [
    ({"kernel_size": 0}, "kernel_size"),
    ({"kernel_size": (3, 3, 3)}, "kernel_size"),
    ({"kernel_size": "3"}, "kernel_size"),
    ({"kernel_size": 3, "strides": 0}, "strides"),
    ({"kernel_size": 3, "padding": "causal"}, r"padding.*'valid', 'same'"),
    ({"kernel_size": 3, "strides": 2, "dilation_rate": 2}, "dilation_rate"),
    ({"kernel_size": 3, "data_format": "channels_first"}, "channels_last"),
    ({"kernel_size": 3, "groups": 3}, "groups"),
    ({"kernel_size": 3, "activation": "sigmoidal"}, "Unknown activation"),
])
def test_conv2d_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        layers.Conv2D(4, **kwargs)


def test_conv2d_kernel_larger_than_input_names_layer_and_shapes(bk):
    layer = layers.Conv2D(2, (5, 3), name="big_kernel")
    with pytest.raises(ValueError, match=r"big_kernel.*height 5.*input height 4.*\(1, 4, 6, 3\)"):
        layer(np.zeros((1, 4, 6, 3), "float32"))
    dilated = layers.Conv2D(2, 3, dilation_rate=3, name="dilated")
    with pytest.raises(ValueError, match=r"dilated.*7.*\(1, 8, 6, 1\)"):
        dilated(np.zeros((1, 8, 6, 1), "float32"))
    # 'same' padding has no such limit
    same = layers.Conv2D(2, 5, padding="same")(np.zeros((1, 3, 3, 1), "float32"))
    assert same.shape == (1, 3, 3, 2)


def test_conv2d_wrong_rank_and_channels(bk):
    layer = layers.Conv2D(2, 3, name="conv_in")
    with pytest.raises(ValueError, match=r"conv_in.*ndim=4.*ndim=3.*\(2, 5, 5\)"):
        layer(np.zeros((2, 5, 5), "float32"))
    layer(np.zeros((2, 5, 5, 3), "float32"))
    with pytest.raises(ValueError, match=r"conv_in.*axis -1.*3.*\(2, 5, 5, 4\)"):
        layer(np.zeros((2, 5, 5, 4), "float32"))


def test_conv2d_groups_must_divide_channels(bk):
    with pytest.raises(ValueError, match=r"groups=2.*3 channels"):
        layers.Conv2D(4, 3, groups=2)(np.zeros((1, 5, 5, 3), "float32"))


def test_conv2d_regularizer_losses_match_numpy(bk):
    layer = layers.Conv2D(3, 2, kernel_regularizer=gkeras.regularizers.L2(0.1),
                          bias_regularizer=gkeras.regularizers.L1(0.2), bias_initializer="ones")
    layer(np.ones((1, 4, 4, 2), "float32"))
    kernel, bias = (w.astype(np.float64) for w in layer.get_weights())
    losses = sorted(float(t.numpy()) for t in layer.losses)
    expected = sorted([0.1 * (kernel ** 2).sum(), 0.2 * np.abs(bias).sum()])
    np.testing.assert_allclose(losses, expected, rtol=1e-5)


def test_conv2d_constraints_present_on_variables(bk):
    layer = layers.Conv2D(2, 2, kernel_constraint="max_norm", bias_constraint="non_neg")
    layer(np.ones((1, 3, 3, 1), "float32"))
    assert isinstance(layer.kernel.constraint, gkeras.constraints.MaxNorm)
    assert isinstance(layer.bias.constraint, gkeras.constraints.NonNeg)


def test_convolution2d_alias():
    assert layers.Convolution2D is layers.Conv2D
