"""One-hot encoding and the categorical cross-entropies of `keras.ops`."""

import numbers

import numpy as np

from gkeras import config
from gkeras.autodiff import Tensor, as_tensor
from gkeras.backend import backend_of
from gkeras.ops.activations import log_softmax
from gkeras.ops.math import clip, divide, log, multiply, negative, xp_of
from gkeras.ops.nn import softmax_cross_entropy
from gkeras.ops.reduction import sum as reduce_sum


def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    """One-hot encodes integer class ids.

    Args:
        x: integer ids of any shape (floats are truncated). Ids outside
            `[0, num_classes)` give an all-zero vector.
        num_classes: the number of classes, a positive int.
        axis: where the new class axis goes in the result (the last by default).
        dtype: the dtype of the result; `floatx()` when `None`.
        sparse: must be `False` (sparse tensors are not supported).

    Returns:
        A tensor of rank `x.ndim + 1` (no gradient).
    """
    if sparse:
        raise ValueError("one_hot: sparse=True is not supported; use sparse=False.")
    if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral):
        raise TypeError(f"one_hot: num_classes must be an int, got {num_classes!r}.")
    if num_classes < 1:
        raise ValueError(f"one_hot: num_classes must be a positive int, got {num_classes}.")
    x = as_tensor(x)
    ndim = x.ndim + 1
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral) or not (
        -ndim <= axis < ndim
    ):
        raise ValueError(f"one_hot: axis {axis!r} is out of bounds for a result of rank {ndim}.")
    xp = xp_of(x.data)
    ids = x.data if x.dtype.kind in "iu" else x.data.astype(np.int64)
    dtype = np.dtype(config.floatx() if dtype is None else dtype)
    # comparing against 0..C-1 leaves out-of-range ids all zero, as TF and JAX do
    out = (ids[..., None] == xp.arange(num_classes)).astype(dtype)
    if axis % ndim != ndim - 1:
        out = xp.ascontiguousarray(xp.moveaxis(out, -1, axis))
    return Tensor(out)


def _check_axis(axis, ndim, fn):
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral) or not -ndim <= axis < ndim:
        raise ValueError(f"{fn}: axis {axis!r} is out of bounds for an output of rank {ndim}.")
    return int(axis) % ndim


def _from_log_probs(target, log_probs, axis):
    return negative(reduce_sum(multiply(target, log_probs), axis=axis))


def _probabilities_log(output, axis):
    # Keras rescales the probabilities to sum to 1, then clips them away from 0 and 1
    output = divide(output, reduce_sum(output, axis=axis, keepdims=True))
    eps = config.epsilon()
    return log(clip(output, eps, 1.0 - eps))


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Cross-entropy between one-hot (or soft) `target` and `output` distributions.

    Args:
        target: class probabilities, the shape of `output`.
        output: probabilities (rescaled to sum to 1 along `axis`, then clipped to
            `[epsilon, 1 - epsilon]`), or logits when `from_logits=True`.
        from_logits: whether `output` holds logits.
        axis: the class axis.

    Returns:
        The losses, `output`'s shape without `axis`.
    """
    output = as_tensor(output)
    if not isinstance(target, Tensor):
        target = Tensor(backend_of(output.data).asarray(target, dtype=output.dtype))
    if output.ndim < 1:
        raise ValueError("categorical_crossentropy: output must have rank >= 1, got a scalar.")
    if target.shape != output.shape:
        raise ValueError(
            "categorical_crossentropy: target and output must have the same shape, got "
            f"target {target.shape} and output {output.shape}."
        )
    axis = _check_axis(axis, output.ndim, "categorical_crossentropy")
    if from_logits:
        if axis == output.ndim - 1 and not target.requires_grad:
            return softmax_cross_entropy(output, target)  # the fused kernel
        return _from_log_probs(target, log_softmax(output, axis=axis), axis)
    return _from_log_probs(target, _probabilities_log(output, axis), axis)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Cross-entropy between integer class ids `target` and `output` distributions.

    Args:
        target: integer class ids, `output`'s shape without `axis` (a trailing axis of
            size 1 is dropped, as Keras does).
        output: probabilities (rescaled to sum to 1 along `axis`, then clipped to
            `[epsilon, 1 - epsilon]`), or logits when `from_logits=True`.
        from_logits: whether `output` holds logits.
        axis: the class axis.

    Returns:
        The losses, `output`'s shape without `axis`.
    """
    output = as_tensor(output)
    if output.ndim < 1:
        raise ValueError(
            "sparse_categorical_crossentropy: output must have rank >= 1, got a scalar."
        )
    axis = _check_axis(axis, output.ndim, "sparse_categorical_crossentropy")
    bk = backend_of(output.data)
    ids = target.data if isinstance(target, Tensor) else bk.asarray(target)
    if not bk.owns(ids):
        ids = bk.asarray(backend_of(ids).to_numpy(ids))
    if ids.ndim == output.ndim and ids.shape[-1] == 1:
        ids = ids.reshape(ids.shape[:-1])
    expected = output.shape[:axis] + output.shape[axis + 1 :]
    if tuple(ids.shape) != expected:
        raise ValueError(
            f"sparse_categorical_crossentropy: target of shape {tuple(ids.shape)} does not "
            f"match output of shape {output.shape}: expected {expected} (output without axis "
            f"{axis})."
        )
    if ids.dtype.kind not in "iu":
        ids = ids.astype(np.int64)
    if from_logits and axis == output.ndim - 1:
        return softmax_cross_entropy(output, Tensor(ids))  # the fused kernel
    onehot = one_hot(Tensor(ids), output.shape[axis], axis=axis, dtype=output.dtype)
    log_probs = log_softmax(output, axis=axis) if from_logits else _probabilities_log(output, axis)
    return _from_log_probs(onehot, log_probs, axis)
