"""Conv1D, 1-D pooling, global 1-D pooling and RepeatVector: harness runs, NumPy references."""

import math

import numpy as np
import pytest
from helpers import check_gradients

import gkeras
from gkeras import layers
from gkeras.layers.sequence import (
    AveragePooling1D,
    Conv1D,
    GlobalAveragePooling1D,
    GlobalMaxPooling1D,
    MaxPooling1D,
    RepeatVector,
)

from .harness import run_layer_test


def _pad_amounts(steps, window, stride, padding):
    """(left, right, output length) for Keras's padding rules, worked out from scratch."""
    if padding == "valid":
        return 0, 0, (steps - window) // stride + 1
    if padding == "causal":
        return window - 1, 0, (steps - 1) // stride + 1
    out = math.ceil(steps / stride)
    total = max((out - 1) * stride + window - steps, 0)
    return total // 2, total - total // 2, out  # 'same': the odd extra step goes last


def _conv1d_reference(x, kernel, bias, stride, padding, dilation):
    """A direct loop over batch, output step, tap, input channel and filter."""
    n, steps, channels = x.shape
    k, _, filters = kernel.shape
    reach = (k - 1) * dilation + 1
    left, right, out_len = _pad_amounts(steps, reach, stride, padding)
    xp = np.concatenate([np.zeros((n, left, channels)), x, np.zeros((n, right, channels))], 1)
    out = np.zeros((n, out_len, filters))
    for b in range(n):
        for t in range(out_len):
            for tap in range(k):
                step = t * stride + tap * dilation
                for c in range(channels):
                    for f in range(filters):
                        out[b, t, f] += xp[b, step, c] * kernel[tap, c, f]
    return out + (0 if bias is None else bias)


# ------------------------------------------------------------------------- Conv1D
@pytest.mark.parametrize("kwargs, out_shape", [
    ({"filters": 4, "kernel_size": 3}, (2, 5, 4)),
    ({"filters": 2, "kernel_size": 2, "strides": 2, "padding": "same"}, (2, 4, 2)),
    ({"filters": 3, "kernel_size": 3, "padding": "causal", "dilation_rate": 2,
      "activation": "tanh"}, (2, 7, 3)),
    ({"filters": 4, "kernel_size": 2, "groups": 2, "use_bias": False}, (2, 6, 4)),
])
def test_conv1d_harness(bk, kwargs, out_shape):
    n_weights = 1 if kwargs.get("use_bias") is False else 2
    run_layer_test(Conv1D, kwargs, input_shape=(2, 7, 4), expected_output_shape=out_shape,
                   expected_num_trainable_weights=n_weights)


@pytest.mark.parametrize("padding", ["valid", "same", "causal"])
@pytest.mark.parametrize("strides, dilation, kernel_size", [(1, 1, 3), (2, 1, 3), (1, 2, 3),
                                                           (3, 1, 2), (1, 1, 4)])
def test_conv1d_matches_numpy_loop(bk, rng, padding, strides, dilation, kernel_size):
    x = rng.standard_normal((2, 9, 3))
    layer = Conv1D(2, kernel_size, strides=strides, padding=padding, dilation_rate=dilation)
    layer.build((None, 9, 3))
    kernel = rng.standard_normal((kernel_size, 3, 2))
    bias = rng.standard_normal(2)
    layer.set_weights([kernel.astype("float32"), bias.astype("float32")])
    out = layer(x.astype("float32")).numpy()
    expected = _conv1d_reference(x, kernel, bias, strides, padding, dilation)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    assert layer.compute_output_shape((None, 9, 3)) == (None,) + expected.shape[1:]


def test_conv1d_causal_output_ignores_future_steps(bk, rng):
    layer = Conv1D(2, 3, padding="causal", dilation_rate=2)
    x = rng.standard_normal((1, 8, 2)).astype("float32")
    changed = x.copy()
    changed[:, 5:] += 10.0
    a, b = layer(x).numpy(), layer(changed).numpy()
    np.testing.assert_array_equal(a[:, :5], b[:, :5])
    assert np.all(np.abs(a[:, 5:] - b[:, 5:]).max(axis=-1) > 0)


def test_conv1d_groups_match_separate_convolutions(bk, rng):
    layer = Conv1D(4, 2, groups=2, use_bias=False)
    x = rng.standard_normal((2, 5, 6))
    layer.build((None, 5, 6))
    kernel = rng.standard_normal((2, 3, 4))
    layer.set_weights([kernel.astype("float32")])
    expected = np.concatenate([
        _conv1d_reference(x[..., :3], kernel[..., :2], None, 1, "valid", 1),
        _conv1d_reference(x[..., 3:], kernel[..., 2:], None, 1, "valid", 1)], axis=-1)
    np.testing.assert_allclose(layer(x.astype("float32")).numpy(), expected, rtol=1e-5,
                               atol=1e-5)


@pytest.mark.parametrize("kwargs", [
    {"strides": 2, "padding": "same"}, {"padding": "causal", "dilation_rate": 2},
])
def test_conv1d_gradients_elementwise(bk, rng, kwargs):
    layer = Conv1D(2, 2, dtype="float64", **kwargs)
    layer.build((None, 5, 2))

    def run(x, kernel, bias):
        layer.kernel, layer.bias = kernel, bias
        return layer.call(x)

    check_gradients(run, rng.standard_normal((2, 5, 2)), rng.standard_normal((2, 2, 2)),
                    rng.standard_normal(2), bk=bk)


def test_conv1d_weights_have_keras_shapes_and_config():
    layer = Conv1D(5, 3, strides=2, padding="causal", name="c")
    assert layer(gkeras.Input((None, 4))).shape == (None, None, 5)
    assert [w.shape for w in layer.weights] == [(3, 4, 5), (5,)]
    config = layer.get_config()
    assert (config["kernel_size"], config["strides"], config["dilation_rate"]) == ((3,), (2,),
                                                                                   (1,))
    assert config["padding"] == "causal"
    assert Conv1D(2, 3)(gkeras.Input((10, 3))).shape == (None, 8, 2)


@pytest.mark.parametrize("kwargs, message", [
    ({"filters": 0, "kernel_size": 2}, r"`filters`.*'cv'.*filters=0"),
    ({"filters": 2, "kernel_size": (2, 2)}, r"'cv'.*`kernel_size`.*tuple of 1 int"),
    ({"filters": 2, "kernel_size": 2, "padding": "full"},
     r"'cv'.*'full'.*\['valid', 'same', 'causal'\]"),
    ({"filters": 2, "kernel_size": 2, "strides": 2, "dilation_rate": 2}, r"'cv'.*strides > 1"),
    ({"filters": 3, "kernel_size": 2, "groups": 2}, r"'cv'.*divisible.*groups=2, filters=3"),
    ({"filters": 2, "kernel_size": 2, "data_format": "channels_first"}, r"'cv'.*channels_first"),
])
def test_conv1d_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Conv1D(name="cv", **kwargs)


def test_conv1d_rejects_bad_inputs():
    with pytest.raises(ValueError, match=r"'cv2'.*expected ndim=3, found ndim=4"):
        Conv1D(2, 2, name="cv2")(np.zeros((1, 4, 4, 1), "float32"))
    with pytest.raises(ValueError, match=r"'cv3'.*dilated kernel length 5.*input length 4"):
        Conv1D(2, 3, dilation_rate=2, name="cv3")(np.zeros((1, 4, 1), "float32"))
    layer = Conv1D(2, 2, name="cv4")
    layer(np.zeros((1, 4, 3), "float32"))
    with pytest.raises(ValueError, match=r"'cv4'.*axis -1.*value 3"):
        layer(np.zeros((1, 4, 2), "float32"))


# ------------------------------------------------------------------ pooling 1-D
def _pool_reference(x, pool, stride, padding, reduce):
    """Window reductions over the real steps only ('same' windows skip padded steps)."""
    n, steps, c = x.shape
    left, _, out_len = _pad_amounts(steps, pool, stride, padding)
    out = np.zeros((n, out_len, c))
    for t in range(out_len):
        start = t * stride - left
        window = x[:, max(start, 0):min(start + pool, steps)]
        out[:, t] = reduce(window, axis=1)
    return out


@pytest.mark.parametrize("cls", [MaxPooling1D, AveragePooling1D])
@pytest.mark.parametrize("kwargs, out_shape", [
    ({"pool_size": 2}, (2, 3, 3)),
    ({"pool_size": 3, "strides": 2, "padding": "same"}, (2, 4, 3)),
])
def test_pooling1d_harness(bk, cls, kwargs, out_shape):
    run_layer_test(cls, kwargs, input_shape=(2, 7, 3), expected_output_shape=out_shape)


@pytest.mark.parametrize("cls, reduce", [(MaxPooling1D, np.max), (AveragePooling1D, np.mean)])
@pytest.mark.parametrize("pool, strides, padding", [
    (2, None, "valid"), (3, 1, "valid"), (3, 2, "same"), (2, 3, "same"), (4, 2, "valid"),
])
def test_pooling1d_matches_numpy(bk, rng, cls, reduce, pool, strides, padding):
    x = rng.standard_normal((2, 9, 3))
    out = cls(pool, strides=strides, padding=padding)(x.astype("float32")).numpy()
    expected = _pool_reference(x, pool, strides or pool, padding, reduce)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


def test_pooling1d_config_symbolic_and_errors():
    config = MaxPooling1D().get_config()
    assert (config["pool_size"], config["strides"], config["padding"]) == ((2,), (2,), "valid")
    assert AveragePooling1D(3, 2, "same")(gkeras.Input((None, 4))).shape == (None, None, 4)
    assert MaxPooling1D(3, 2)(gkeras.Input((8, 4))).shape == (None, 3, 4)
    with pytest.raises(ValueError, match=r"'mp'.*'causal'.*\['valid', 'same'\]"):
        MaxPooling1D(2, padding="causal", name="mp")
    with pytest.raises(ValueError, match=r"'mp2'.*pool_size"):
        MaxPooling1D(0, name="mp2")
    with pytest.raises(ValueError, match=r"'mp3'.*pool size 4.*input length 3"):
        MaxPooling1D(4, name="mp3")(np.zeros((1, 3, 1), "float32"))


# ---------------------------------------------------------- global pooling 1-D
@pytest.mark.parametrize("cls", [GlobalAveragePooling1D, GlobalMaxPooling1D])
@pytest.mark.parametrize("keepdims, out_shape", [(False, (2, 3)), (True, (2, 1, 3))])
def test_global_pooling1d_harness(bk, cls, keepdims, out_shape):
    run_layer_test(cls, {"keepdims": keepdims}, input_shape=(2, 5, 3),
                   expected_output_shape=out_shape)


@pytest.mark.parametrize("cls, reduce", [(GlobalAveragePooling1D, np.mean),
                                         (GlobalMaxPooling1D, np.max)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pooling1d_matches_numpy(bk, rng, cls, reduce, keepdims):
    x = rng.standard_normal((3, 6, 4))
    out = cls(keepdims=keepdims)(x.astype("float32")).numpy()
    np.testing.assert_allclose(out, reduce(x, axis=1, keepdims=keepdims), rtol=1e-5, atol=1e-6)


TOKENS = np.array([[1, 2, 0, 0], [3, 0, 0, 0], [4, 5, 6, 7]])


def test_global_average_pooling1d_averages_valid_steps_of_a_mask(bk):
    inputs = gkeras.Input((4,), dtype="int32")
    embedding = layers.Embedding(8, 3, mask_zero=True)
    pooled = GlobalAveragePooling1D()(embedding(inputs))
    model = gkeras.Model(inputs, pooled)
    table = embedding.get_weights()[0].astype("float64")
    valid = TOKENS != 0
    expected = (table[TOKENS] * valid[..., None]).sum(1) / valid.sum(1, keepdims=True)
    out = model(TOKENS)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5)
    assert out._keras_mask is None  # the pooled output has no steps left to mask


def test_global_average_pooling1d_mask_gradients(bk, rng):
    mask = np.array([[True, True, False, False], [True, False, True, True]])
    layer = GlobalAveragePooling1D(dtype="float64")
    check_gradients(lambda x: layer(x, mask=mask), rng.standard_normal((2, 4, 3)), bk=bk)
    x = rng.standard_normal((2, 4, 3))
    x[0, 2:] = np.inf  # masked steps never reach the result, even non-finite ones
    expected = x.sum(1, where=mask[..., None]) / mask.sum(1)[:, None]
    np.testing.assert_allclose(layer(x, mask=mask).numpy(), expected, rtol=1e-12)


def test_global_pooling1d_symbolic_and_errors():
    assert GlobalMaxPooling1D()(gkeras.Input((None, 5))).shape == (None, 5)
    assert GlobalAveragePooling1D(keepdims=True)(gkeras.Input((None, 5))).shape == (None, 1, 5)
    with pytest.raises(ValueError, match=r"'g'.*expected ndim=3, found ndim=4"):
        GlobalMaxPooling1D(name="g")(np.zeros((1, 2, 2, 2), "float32"))
    with pytest.raises(ValueError, match="channels_last"):
        GlobalAveragePooling1D(data_format="channels_first")


# ------------------------------------------------------------------- RepeatVector
@pytest.mark.parametrize("n", [1, 3])
def test_repeat_vector_harness(bk, n):
    run_layer_test(RepeatVector, {"n": n}, input_shape=(2, 4), expected_output_shape=(2, n, 4))


def test_repeat_vector_matches_numpy_and_errors(bk, rng):
    x = rng.standard_normal((3, 5)).astype("float32")
    np.testing.assert_array_equal(RepeatVector(4)(x).numpy(),
                                  np.broadcast_to(x[:, None, :], (3, 4, 5)))
    assert RepeatVector(4)(gkeras.Input((6,))).shape == (None, 4, 6)
    with pytest.raises(TypeError, match=r"'rv'.*integer value for `n`.*float"):
        RepeatVector(2.0, name="rv")
    with pytest.raises(ValueError, match=r"'rv2'.*positive.*n=0"):
        RepeatVector(0, name="rv2")
    with pytest.raises(ValueError, match=r"'rv3'.*expected ndim=2, found ndim=3"):
        RepeatVector(2, name="rv3")(np.zeros((1, 2, 3), "float32"))


def test_sequence_model_trains_end_to_end(bk, rng):
    model = gkeras.Sequential([
        gkeras.Input((12, 2)),
        Conv1D(4, 3, padding="causal", activation="relu"),
        MaxPooling1D(2),
        Conv1D(4, 3, padding="same"),
        GlobalAveragePooling1D(),
        layers.Dense(1),
    ])
    assert model.output_shape == (None, 1)
    x = rng.standard_normal((32, 12, 2)).astype("float32")
    y = x[:, :, 0].mean(axis=1, keepdims=True)
    model.compile(gkeras.optimizers.Adam(0.01), "mse")
    history = model.fit(x, y, epochs=15, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
