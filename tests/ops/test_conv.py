"""conv2d and pooling (NHWC) against direct-loop float64 references, with gradient checks."""

import math

import numpy as np
import pytest
from helpers import assert_close, check_gradients, to_host

from gkeras import ops
from gkeras.autodiff import Tensor, Variable


def tensor(bk, array, dtype=None):
    array = np.asarray(array)
    return Tensor(bk.asarray(array if dtype is None else array.astype(dtype)))


def same_or_valid(size, window, stride, padding):
    """(output size, padding before) by TF's rule: 'same' gives ceil(size / stride) outputs
    and puts the odd padded cell at the end."""
    if padding == "valid":
        return (size - window) // stride + 1, 0
    out = math.ceil(size / stride)
    return out, max((out - 1) * stride + window - size, 0) // 2


def ref_conv2d(x, W, b, strides, padding, dilation):
    n, h, w, c = x.shape
    kh, kw, _, f = W.shape
    (sh, sw), (dh, dw) = strides, dilation
    oh, pt = same_or_valid(h, (kh - 1) * dh + 1, sh, padding)
    ow, pl = same_or_valid(w, (kw - 1) * dw + 1, sw, padding)
    out = np.zeros((n, oh, ow, f))
    for i in range(oh):
        for j in range(ow):
            for p in range(kh):
                for q in range(kw):
                    r, s = i * sh + p * dh - pt, j * sw + q * dw - pl
                    if 0 <= r < h and 0 <= s < w:  # outside the image the padding is zero
                        out[:, i, j, :] += x[:, r, s, :] @ W[p, q]
    return out + (0 if b is None else b)


def ref_pool(x, pool, strides, padding, kind):
    n, h, w, c = x.shape
    oh, pt = same_or_valid(h, pool[0], strides[0], padding)
    ow, pl = same_or_valid(w, pool[1], strides[1], padding)
    out = np.zeros((n, oh, ow, c))
    for i in range(oh):
        for j in range(ow):
            r0, s0 = i * strides[0] - pt, j * strides[1] - pl
            # only real pixels take part: max ignores the padding, average divides by them
            win = x[:, max(r0, 0) : min(r0 + pool[0], h), max(s0, 0) : min(s0 + pool[1], w), :]
            out[:, i, j, :] = win.max(axis=(1, 2)) if kind == "max" else win.mean(axis=(1, 2))
    return out


CONV_CASES = [
    # x shape, kernel shape, strides, padding, dilation
    ((1, 5, 5, 1), (3, 3, 1, 2), (1, 1), "valid", (1, 1)),
    ((2, 7, 6, 3), (3, 2, 3, 4), (2, 1), "same", (1, 1)),
    ((2, 8, 7, 2), (3, 3, 2, 3), (2, 2), "same", (2, 1)),
    ((1, 9, 9, 2), (2, 3, 2, 2), (1, 1), "same", (2, 2)),
    ((2, 6, 5, 3), (1, 1, 3, 2), (3, 3), "valid", (1, 1)),
    ((3, 5, 4, 1), (5, 4, 1, 1), (1, 1), "valid", (1, 1)),
    ((1, 6, 7, 2), (2, 2, 2, 3), (3, 2), "same", (1, 2)),
]


@pytest.mark.parametrize("x_shape,k_shape,strides,padding,dilation", CONV_CASES, ids=str)
def test_conv2d(bk, rng, x_shape, k_shape, strides, padding, dilation):
    x = rng.standard_normal(x_shape)
    W = rng.standard_normal(k_shape) * 0.5
    b = rng.standard_normal(k_shape[-1])
    ref = ref_conv2d(x, W, b, strides, padding, dilation)
    for dtype, rtol in (("float32", 1e-4), ("float64", 1e-12)):
        out = ops.conv2d(
            tensor(bk, x, dtype),
            tensor(bk, W, dtype),
            tensor(bk, b, dtype),
            strides=strides,
            padding=padding,
            dilation_rate=dilation,
        )
        assert out.dtype == dtype and out.shape == ref.shape
        assert_close(out, ref, rtol=rtol, atol=1e-5)

    def fn(x_, W_, b_):
        return ops.conv2d(x_, W_, b_, strides, padding, dilation)

    check_gradients(fn, x, W, b, bk=bk, directions=3)
    check_gradients(
        lambda x_, W_: ops.conv2d(x_, W_, None, strides, padding, dilation),
        x,
        W,
        bk=bk,
        elementwise_limit=0,
    )


ACTIVATIONS = {  # the fused conv2d activations, in float64 NumPy
    "relu": lambda z: np.maximum(z, 0),
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "tanh": np.tanh,
    "leaky_relu": lambda z: np.where(z > 0, z, 0.3 * z),
    "elu": lambda z: np.where(z > 0, z, 0.7 * np.expm1(np.minimum(z, 0))),
}


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("case", [CONV_CASES[1], CONV_CASES[3]], ids=str)
@pytest.mark.parametrize("chunk_bytes", [1, 10**9], ids=["per-image", "whole"])
def test_conv2d_fused_activation(bk, rng, monkeypatch, activation, case, chunk_bytes):
    """`activation(conv + b)` in the convolution's epilogue, and its one-pass backward, in
    every batch chunking: the float64 reference forward and finite-difference gradients."""
    monkeypatch.setattr(type(bk), "conv_chunk_bytes", chunk_bytes)
    x_shape, k_shape, strides, padding, dilation = case
    x, W = rng.standard_normal(x_shape), rng.standard_normal(k_shape) * 0.5
    b = rng.standard_normal(k_shape[-1])
    alpha = {"leaky_relu": 0.3, "elu": 0.7}.get(activation, 0.0)

    def fn(x_, W_, b_):
        return ops.conv2d(x_, W_, b_, strides, padding, dilation, activation, alpha)

    ref = ACTIVATIONS[activation](ref_conv2d(x, W, b, strides, padding, dilation))
    assert_close(fn(tensor(bk, x), tensor(bk, W), tensor(bk, b)), ref, rtol=1e-12, atol=1e-12)
    check_gradients(fn, x, W, b, bk=bk, directions=3)
    # the input alone (a frozen kernel and no bias) and the kernel alone (a data input)
    W_frozen, x_data = tensor(bk, W), tensor(bk, x)
    check_gradients(lambda x_: ops.conv2d(x_, W_frozen, None, strides, padding, dilation,
                                          activation, alpha), x, bk=bk, elementwise_limit=0)
    check_gradients(lambda W_: ops.conv2d(x_data, W_, None, strides, padding, dilation,
                                          activation, alpha), W, bk=bk, elementwise_limit=0)


def test_conv2d_rejects_an_activation_it_cannot_fuse(bk):
    x, W = tensor(bk, np.ones((1, 4, 4, 1))), tensor(bk, np.ones((3, 3, 1, 1)))
    with pytest.raises(ValueError, match=r"unknown activation 'gelu'. Expected one of \['linear'"):
        ops.conv2d(x, W, activation="gelu")


def test_conv2d_input_gradient_elementwise_with_stride_and_same_padding(bk, rng):
    # small enough for an entry-by-entry check of dL/dx where stride, odd padding and
    # dilation all interact
    x = rng.standard_normal((1, 5, 6, 2))
    W = rng.standard_normal((2, 3, 2, 1))
    check_gradients(
        lambda x_, W_: ops.conv2d(x_, W_, strides=2, padding="same", dilation_rate=(1, 2)),
        x,
        W,
        bk=bk,
        elementwise_limit=64,
    )


def test_keras_conv_signature(bk, rng):
    x = rng.standard_normal((1, 6, 6, 2))
    W = rng.standard_normal((3, 3, 2, 2))
    out = ops.conv(tensor(bk, x), tensor(bk, W), 2, "same", "channels_last", 1)
    assert_close(out, ref_conv2d(x, W, None, (2, 2), "same", (1, 1)), rtol=1e-10)
    with pytest.raises(ValueError, match="'channels_first' is not supported"):
        ops.conv(tensor(bk, x), tensor(bk, W), data_format="channels_first")


def test_conv2d_errors(bk):
    x, W = tensor(bk, np.ones((1, 4, 4, 3))), tensor(bk, np.ones((3, 3, 3, 2)))
    with pytest.raises(ValueError, match=r"input has 3 channels but the kernel expects 2"):
        ops.conv2d(x, tensor(bk, np.ones((3, 3, 2, 2))))
    with pytest.raises(ValueError, match=r"rank 4.*x \(4, 4, 3\)"):
        ops.conv2d(tensor(bk, np.ones((4, 4, 3))), W)
    with pytest.raises(
        ValueError,
        match=r"kernel \(dilated\) height 5 is larger than the input "
        r"height 4",
    ):
        ops.conv2d(x, W, dilation_rate=2)
    with pytest.raises(ValueError, match=r"unknown padding 'full'"):
        ops.conv2d(x, W, padding="full")
    for bad in (0, -1, (1, 2, 3), 1.5):
        with pytest.raises(ValueError, match="`strides` must be a positive int"):
            ops.conv2d(x, W, strides=bad)
    with pytest.raises(ValueError, match=r"bias must have shape \(2,\)"):
        ops.conv2d(x, W, tensor(bk, np.ones(3)))
    assert ops.conv2d(x, W, padding="SAME", strides=np.int64(2)).shape == (1, 2, 2, 2)


def test_conv2d_gradients_reach_only_what_needs_them(bk, rng):
    x = tensor(bk, rng.standard_normal((1, 4, 4, 1)))
    W = Variable(bk.asarray(rng.standard_normal((2, 2, 1, 1))))
    ops.sum(ops.conv2d(x, W)).backward()
    assert x.grad is None and W.grad.shape == (2, 2, 1, 1)


POOL_CASES = [
    # x shape, pool, strides, padding
    ((1, 4, 4, 1), (2, 2), None, "valid"),
    ((2, 5, 7, 3), (2, 3), (1, 2), "same"),
    ((2, 5, 5, 2), (3, 3), (2, 2), "same"),
    ((1, 6, 5, 2), (3, 2), (1, 1), "valid"),
    ((2, 3, 4, 1), (2, 2), (3, 3), "same"),
    ((1, 7, 3, 1), (3, 1), (2, 1), "valid"),
    ((2, 5, 7, 2), (2, 2), None, "valid"),  # no overlap, but a row and a column left over
]


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("x_shape,pool,strides,padding", POOL_CASES, ids=str)
def test_pooling(bk, rng, kind, x_shape, pool, strides, padding):
    op = ops.max_pool2d if kind == "max" else ops.avg_pool2d
    # a permutation keeps every window's maximum unique, so max pooling is differentiable
    x = rng.permutation(np.prod(x_shape)).reshape(x_shape) / 10.0 - 2.0
    ref = ref_pool(x, pool, strides or pool, padding, kind)
    for dtype in ("float32", "float64"):
        out = op(tensor(bk, x, dtype), pool, strides, padding)
        assert out.dtype == dtype and out.shape == ref.shape
        assert_close(out, ref, rtol=1e-6)
    check_gradients(lambda t: op(t, pool, strides, padding), x, bk=bk, directions=3)


def test_max_pool_tie_sends_the_gradient_to_the_first_maximum(bk):
    x = Variable(bk.asarray(np.ones((1, 2, 4, 1))))
    ops.sum(ops.max_pool2d(x, 2)).backward()
    np.testing.assert_array_equal(to_host(x.grad)[0, :, :, 0], [[1, 0, 1, 0], [0, 0, 0, 0]])


def test_avg_pool_same_padding_counts_real_pixels(bk):
    x = tensor(bk, np.arange(9.0).reshape(1, 3, 3, 1))
    out = ops.avg_pool2d(x, 2, 2, "same").numpy()[0, :, :, 0]
    np.testing.assert_allclose(out, [[(0 + 1 + 3 + 4) / 4, (2 + 5) / 2], [(6 + 7) / 2, 8]])


def test_keras_pool_signatures_and_errors(bk, rng):
    x = rng.standard_normal((1, 4, 4, 2))
    assert_close(ops.max_pool(tensor(bk, x), 2), ref_pool(x, (2, 2), (2, 2), "valid", "max"))
    assert_close(
        ops.average_pool(tensor(bk, x), (2, 2), 1, "same"),
        ref_pool(x, (2, 2), (1, 1), "same", "avg"),
    )
    with pytest.raises(ValueError, match="data_format"):
        ops.max_pool(tensor(bk, x), 2, data_format="channels_first")
    with pytest.raises(ValueError, match=r"rank-4 NHWC.*\(4, 4\)"):
        ops.max_pool2d(tensor(bk, np.ones((4, 4))))
    with pytest.raises(ValueError, match="pool height 5 is larger than the input height 4"):
        ops.avg_pool2d(tensor(bk, x), 5)
    with pytest.raises(ValueError, match="`pool_size` must be"):
        ops.max_pool2d(tensor(bk, x), 0)


@pytest.mark.parametrize("chunk_bytes", [1, 700, 10**9], ids=["per-image", "ragged", "whole"])
def test_conv2d_batch_chunks_give_the_same_result(bk, rng, monkeypatch, chunk_bytes):
    """The backend works through the batch a few images at a time; any chunking (one image,
    chunks that do not divide the batch, one chunk) must give the float64 reference."""
    monkeypatch.setattr(type(bk), "conv_chunk_bytes", chunk_bytes)
    x = rng.standard_normal((5, 6, 5, 3))
    W = rng.standard_normal((3, 2, 3, 4))
    b = rng.standard_normal(4)
    geometry = ((2, 1), "same", (1, 2))
    y = ops.conv2d(tensor(bk, x), Variable(bk.asarray(W)), Variable(bk.asarray(b)),
                   strides=geometry[0], padding=geometry[1], dilation_rate=geometry[2])
    assert_close(y, ref_conv2d(x, W, b, *geometry), rtol=1e-10)
    gy = rng.standard_normal(y.shape)
    gx = bk.conv2d_backward_input(bk.asarray(gy), bk.asarray(W), x.shape, *geometry)
    gW = bk.conv2d_backward_filter(bk.asarray(x), bk.asarray(gy), W.shape, *geometry)
    monkeypatch.setattr(type(bk), "conv_chunk_bytes", 10**12)
    assert_close(gx, to_host(bk.conv2d_backward_input(bk.asarray(gy), bk.asarray(W), x.shape,
                                                      *geometry)), rtol=1e-12)
    assert_close(gW, to_host(bk.conv2d_backward_filter(bk.asarray(x), bk.asarray(gy), W.shape,
                                                       *geometry)), rtol=1e-12)
