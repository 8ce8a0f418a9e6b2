"""Parity checks of `KernelOps` against the NumPy backend in float64, for any array module.

Shared by the emulation tests (NumPy arrays, kernels in the CPU emulator) and
`sanitizer_driver.py` (CuPy arrays on a GPU). Inputs are drawn in float64, cast to the dtype
under test and moved with `xp.asarray`; results come back to the host before comparing.
"""

import numpy as np

from gkeras.backend.numpy_backend import NumpyBackend

REF = NumpyBackend()
TOLERANCE = {np.float32: (2e-4, 2e-5), np.float64: (1e-10, 1e-12)}


def assert_close(actual, expected, dtype, what=""):
    """float32 results within float32 rounding of the float64 reference, relative to its scale."""
    assert actual.dtype == dtype, (what, actual.dtype)
    assert actual.shape == expected.shape, (what, actual.shape, expected.shape)
    rtol, atol = TOLERANCE[dtype]
    scale = max(1.0, float(np.abs(expected).max(initial=0.0)))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol * scale, err_msg=what)


def host(array):
    """A NumPy copy of a NumPy or CuPy array (None stays None)."""
    if array is None or isinstance(array, np.ndarray):
        return array
    return array.get()


def _mover(xp, dtype):
    return lambda a: None if a is None else xp.asarray(np.asarray(a).astype(dtype))


def _dense_inputs(rng, rows, inputs, units):
    x = rng.standard_normal((rows, inputs))
    W = rng.standard_normal((inputs, units)) / np.sqrt(inputs)
    return x, W, rng.standard_normal(units), rng.standard_normal((rows, units))


def check_dense(ops, rng, shape, activation, dtype, has_bias=True, need_gx=True, xp=np):
    """`dense` and `dense_backward` at `shape` = (rows, inputs, units) against the reference."""
    x, W, b, gy = _dense_inputs(rng, *shape)
    alpha = 0.3 if activation in ("leaky_relu", "elu") else 0.0
    b = b if has_bias else None
    dev = _mover(xp, dtype)
    y, z = ops.dense(dev(x), dev(W), dev(b), activation, alpha)
    y_ref, z_ref = REF.dense(x, W, b, activation, alpha)
    assert_close(host(y), y_ref, dtype, "y")
    assert (z is None) == (z_ref is None)
    if z is not None:
        assert_close(host(z), z_ref, dtype, "z")
    grads = ops.dense_backward(dev(gy), dev(x), dev(W), y, z, activation, alpha,
                               has_bias=has_bias, need_gx=need_gx)
    refs = REF.dense_backward(gy, x, W, y_ref, z_ref, activation, alpha, has_bias=has_bias,
                              need_gx=need_gx)
    for name, got, want in zip(("gx", "gW", "gb"), grads, refs):
        assert (got is None) == (want is None), name
        if want is not None:
            assert_close(host(got), want, dtype, name)


def make_labels(rng, kind, rows, classes):
    """Class ids (`"int64"`, `"int32"`), one-hot rows (`"onehot"`) or soft targets (`"probs"`)."""
    ids = rng.integers(0, classes, rows)
    if kind in ("int64", "int32"):
        return ids.astype(kind)
    if kind == "onehot":
        onehot = np.zeros((rows, classes))
        onehot[np.arange(rows), ids] = 1.0
        return onehot
    # soft targets whose rows do not sum to 1, so the sum(t) term of the gradient shows
    t = rng.random((rows, classes))
    return t / t.sum(axis=1, keepdims=True) * rng.uniform(0.5, 1.5, (rows, 1))


def check_softmax_crossentropy(ops, rng, shape, kind, dtype, scale=4.0, xp=np):
    """Forward and backward at `shape` = (rows, classes) with labels of `kind`."""
    rows, classes = shape
    logits = rng.standard_normal(shape) * scale
    labels = make_labels(rng, kind, rows, classes)
    dev_labels = xp.asarray(labels if labels.ndim == 1 else labels.astype(dtype))
    loss, probs = ops.softmax_crossentropy(_mover(xp, dtype)(logits), dev_labels)
    loss_ref, probs_ref = REF.softmax_crossentropy(logits, labels)
    assert_close(host(loss), loss_ref, dtype, "loss")
    assert_close(host(probs), probs_ref, dtype, "probs")
    gloss = rng.random(rows) / rows  # w / N
    glogits = ops.softmax_crossentropy_backward(probs, dev_labels, xp.asarray(gloss))
    assert_close(host(glogits), REF.softmax_crossentropy_backward(probs_ref, labels, gloss),
                 dtype, "glogits")


def check_conv2d(ops, rng, case, dtype, bias=True, xp=np):
    """conv2d and both gradients; `case` = (x shape, kernel shape, strides, padding, dilation)."""
    x_shape, w_shape, strides, padding, dilation = case
    x = rng.standard_normal(x_shape)
    W = rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[3]) if bias else None
    geometry = (strides, padding, dilation)
    dev = _mover(xp, dtype)
    y = ops.conv2d(dev(x), dev(W), dev(b), *geometry)
    y_ref = REF.conv2d(x, W, b, *geometry)
    assert_close(host(y), y_ref, dtype, "y")
    gy = rng.standard_normal(y_ref.shape)
    gW = ops.conv2d_backward_filter(dev(x), dev(gy), w_shape, *geometry)
    assert_close(host(gW), REF.conv2d_backward_filter(x, gy, w_shape, *geometry), dtype, "gW")
    gx = ops.conv2d_backward_input(dev(gy), dev(W), x_shape, *geometry)
    assert_close(host(gx), REF.conv2d_backward_input(gy, W, x_shape, *geometry), dtype, "gx")
