"""Loss functions (`keras.losses.<name>`): per-sample losses, differentiable through `gkeras.ops`.

Each function takes `(y_true, y_pred)` and returns one value per sample (the mean or sum
over the last axis, as in Keras). `y_true` is a constant; gradients flow to `y_pred`.
"""

import math

import numpy as np

from gkeras import config, ops
from gkeras.autodiff import Tensor
from gkeras.backend import backend_of
from gkeras.losses.base import (
    as_prediction,
    as_target,
    check_same_shape,
    prepare,
    squeeze_or_expand_to_same_rank,
)

_LOG2 = math.log(2.0)


# ------------------------------------------------------------- logit recovery
def _logits_of(y_pred, activation):
    """The logits behind `y_pred` when it is the direct output of `ops.<activation>`.

    Keras's TensorFlow backend does the same (`output._keras_logits`): crossentropy on
    probabilities then runs on the logits, which is exact where clipping would lose
    precision. Only a graph recorded for autodiff remembers the input, so under `no_grad`
    this returns `None` and the clipped-probability formula is used.
    """
    from gkeras.ops.activations import Sigmoid, Softmax

    kind = Softmax if activation == "softmax" else Sigmoid
    creator = y_pred.creator
    if not isinstance(creator, kind):
        return None
    inputs = getattr(creator, "inputs", ())
    if len(inputs) != 1:
        return None
    if kind is Softmax and getattr(creator, "axis", None) not in (-1, y_pred.ndim - 1):
        return None
    return inputs[0]


def _clip_probabilities(p):
    eps = config.epsilon()
    return ops.clip(p, eps, 1.0 - eps)


# ---------------------------------------------------------------- crossentropy
def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Binary crossentropy between labels in [0, 1] and predicted probabilities (or logits).

    Probabilities are clipped to `[epsilon, 1 - epsilon]` before the log, as Keras does; the
    direct output of `ops.sigmoid` is evaluated on its logits instead (exact in the tails).
    The whole formula and the mean over `axis` are one fused op (`ops.binary_crossentropy`).

    Args:
        y_true: labels, shape `(batch, d0, .. dN)` (a missing last axis of size 1 is added).
        y_pred: probabilities (or logits when `from_logits=True`), same shape.
        from_logits: whether `y_pred` holds logits rather than probabilities.
        label_smoothing: in [0, 1]; labels become `y * (1 - s) + 0.5 * s`.
        axis: the axis to average over.

    Returns:
        The loss averaged over `axis`, shape `(batch, d0, .. dN-1)`.
    """
    y_true, y_pred = prepare(y_true, y_pred)
    check_same_shape(y_true, y_pred, "binary_crossentropy")
    if label_smoothing:
        y_true = ops.add(ops.multiply(y_true, 1.0 - label_smoothing), 0.5 * label_smoothing)
    logits = y_pred if from_logits else _logits_of(y_pred, "sigmoid")
    output = y_pred if logits is None else logits
    if isinstance(axis, (int, np.integer)) and not isinstance(axis, bool):
        return ops.binary_crossentropy(y_true, output, from_logits=logits is not None,
                                       axis=int(axis), epsilon=config.epsilon())
    per_entry = ops.binary_crossentropy(y_true, output, from_logits=logits is not None,
                                        epsilon=config.epsilon())
    return ops.mean(per_entry, axis=axis)


def _check_class_axis(y_pred, axis, name):
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise ValueError(f"{name}: `axis` must be an int. Received: axis={axis!r}")
    if axis not in (-1, y_pred.ndim - 1):
        raise ValueError(
            f"{name}: gkeras computes crossentropy over the last axis only; got axis={axis} "
            f"for y_pred of shape {y_pred.shape}."
        )


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Crossentropy between one-hot (or probability) targets and predicted distributions.

    Logits (`from_logits=True`, or the direct output of a softmax) go through the fused
    `ops.softmax_cross_entropy` kernel; other probabilities are normalised to sum to 1 and
    clipped to `[epsilon, 1 - epsilon]` before the log, as Keras does.

    Args:
        y_true: targets of shape `(batch, .., num_classes)`.
        y_pred: probabilities (or logits), same shape.
        from_logits: whether `y_pred` holds logits.
        label_smoothing: in [0, 1]; targets become `y * (1 - s) + s / num_classes`.
        axis: the class axis (the last one).

    Returns:
        One loss per sample, shape `(batch, ..)`.
    """
    y_pred = as_prediction(y_pred)
    _check_class_axis(y_pred, axis, "categorical_crossentropy")
    y_true = as_target(y_true, y_pred, y_pred.dtype)
    if tuple(y_true.shape) != y_pred.shape:
        hint = ""
        if len(y_true.shape) == y_pred.ndim - 1 or (
                len(y_true.shape) == y_pred.ndim and y_true.shape[-1] == 1):
            hint = (" The targets look like integer class ids: use "
                    "sparse_categorical_crossentropy for them, or one-hot encode them.")
        raise ValueError(
            "categorical_crossentropy: `y_true` and `y_pred` must have the same shape. "
            f"Received: y_true.shape={tuple(y_true.shape)}, y_pred.shape={y_pred.shape}.{hint}"
        )
    if label_smoothing:
        classes = y_pred.shape[-1]
        y_true = ops.add(ops.multiply(y_true, 1.0 - label_smoothing), label_smoothing / classes)
    logits = y_pred if from_logits else _logits_of(y_pred, "softmax")
    if logits is not None:
        return ops.softmax_cross_entropy(logits, _constant(y_true))
    q = _clip_probabilities(ops.divide(y_pred, ops.sum(y_pred, axis=-1, keepdims=True)))
    return ops.negative(ops.sum(ops.multiply(y_true, ops.log(q)), axis=-1))


def _constant(t):
    """Labels as a raw array (the fused op takes them as data, not as a graph input)."""
    return t.data if isinstance(t, Tensor) else t


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None,
                                    axis=-1):
    """Crossentropy between integer class ids and predicted distributions.

    Args:
        y_true: class ids of shape `(batch, ..)` or `(batch, .., 1)`.
        y_pred: probabilities (or logits) of shape `(batch, .., num_classes)`.
        from_logits: whether `y_pred` holds logits.
        ignore_class: optional class id whose entries get a loss of 0 (e.g. a void label).
        axis: the class axis (the last one).

    Returns:
        One loss per sample, shape `(batch, ..)`.
    """
    values, _ = _sparse_crossentropy_with_mask(y_true, y_pred, from_logits, ignore_class, axis)
    return values


def _sparse_crossentropy_with_mask(y_true, y_pred, from_logits, ignore_class, axis):
    y_pred = as_prediction(y_pred)
    _check_class_axis(y_pred, axis, "sparse_categorical_crossentropy")
    labels = as_target(y_true, y_pred)
    if labels.ndim == y_pred.ndim and labels.shape[-1:] == (1,):
        labels = ops.reshape(labels, labels.shape[:-1])
    if tuple(labels.shape) != y_pred.shape[:-1]:
        raise ValueError(
            "sparse_categorical_crossentropy: `y_true` must hold one class id per sample, of "
            f"shape {y_pred.shape[:-1]} (or {y_pred.shape[:-1] + (1,)}) for y_pred of shape "
            f"{y_pred.shape}. Received: y_true.shape={tuple(labels.shape)}."
            + (" These look like one-hot targets: use categorical_crossentropy for them."
               if tuple(labels.shape) == y_pred.shape else "")
        )
    mask = None
    if ignore_class is not None:
        ids = labels.data
        xp = backend_of(ids).xp
        if ids.dtype.kind not in "iu":
            ids = ids.astype(xp.int64)
        valid = ids != ignore_class
        labels = xp.where(valid, ids, 0)
        mask = valid.astype(y_pred.dtype)
    # float class ids are taken as integers by the op, which also checks their range
    logits = y_pred if from_logits else _logits_of(y_pred, "softmax")
    if logits is not None:
        values = ops.softmax_cross_entropy(logits, labels)
    else:
        # the fused op on z = log(clip(q)) gives log(sum(clip(q))) - z[label]; Keras computes
        # -z[label], so the first term is taken back out (it is ~0 unless clipping acted)
        q = _clip_probabilities(ops.divide(y_pred, ops.sum(y_pred, axis=-1, keepdims=True)))
        values = ops.subtract(ops.softmax_cross_entropy(ops.log(q), labels),
                              ops.log(ops.sum(q, axis=-1)))
    if mask is not None:
        values = ops.multiply(values, Tensor(mask))
    return values, mask


# ------------------------------------------------------------------ regression
def mean_squared_error(y_true, y_pred):
    """Mean of `(y_true - y_pred) ** 2` over the last axis."""
    y_true, y_pred = prepare(y_true, y_pred)
    return ops.mean(ops.square(ops.subtract(y_true, y_pred)), axis=-1)


def mean_absolute_error(y_true, y_pred):
    """Mean of `|y_true - y_pred|` over the last axis."""
    y_true, y_pred = prepare(y_true, y_pred)
    return ops.mean(ops.abs(ops.subtract(y_true, y_pred)), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    """`100 * mean(|y_true - y_pred| / max(|y_true|, epsilon))` over the last axis."""
    y_true, y_pred = prepare(y_true, y_pred)
    scale = ops.maximum(ops.abs(y_true), config.epsilon())
    diff = ops.abs(ops.divide(ops.subtract(y_true, y_pred), scale))
    return ops.multiply(ops.mean(diff, axis=-1), 100.0)


def mean_squared_logarithmic_error(y_true, y_pred):
    """Mean of `(log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1)) ** 2`."""
    y_true, y_pred = prepare(y_true, y_pred)
    eps = config.epsilon()
    first = ops.log(ops.add(ops.maximum(y_pred, eps), 1.0))
    second = ops.log(ops.add(ops.maximum(y_true, eps), 1.0))
    return ops.mean(ops.square(ops.subtract(first, second)), axis=-1)


def _l2_normalize(x, axis):
    # x / max(||x||, eps), written as sqrt(max(sum x^2, eps^2)) so the gradient at 0 is finite
    eps = config.epsilon()
    sq = ops.sum(ops.square(x), axis=axis, keepdims=True)
    return ops.divide(x, ops.sqrt(ops.maximum(sq, eps * eps)))


def cosine_similarity(y_true, y_pred, axis=-1):
    """Negative cosine similarity: `-sum(l2_normalize(y_true) * l2_normalize(y_pred))`.

    Values lie in [-1, 1]; -1 means the vectors point the same way. A zero vector gives 0.
    """
    y_true, y_pred = prepare(y_true, y_pred)
    product = ops.multiply(_l2_normalize(y_true, axis), _l2_normalize(y_pred, axis))
    return ops.negative(ops.sum(product, axis=axis))


def huber(y_true, y_pred, delta=1.0):
    """Huber loss: `0.5 e^2` where `|e| <= delta`, else `delta |e| - 0.5 delta^2`; mean."""
    y_true, y_pred = prepare(y_true, y_pred)
    error = ops.subtract(y_pred, y_true)
    abs_error = ops.abs(error)
    quadratic = ops.multiply(ops.square(error), 0.5)
    linear = ops.subtract(ops.multiply(abs_error, float(delta)), 0.5 * float(delta) ** 2)
    return ops.mean(ops.where(abs_error.data <= delta, quadratic, linear), axis=-1)


def log_cosh(y_true, y_pred):
    """Mean of `log(cosh(y_pred - y_true))`, computed as `x + softplus(-2x) - log 2`."""
    y_true, y_pred = prepare(y_true, y_pred)
    x = ops.subtract(y_pred, y_true)
    value = ops.subtract(ops.add(x, ops.softplus(ops.multiply(x, -2.0))), _LOG2)
    return ops.mean(value, axis=-1)


# ------------------------------------------------------------- probabilistic
def kl_divergence(y_true, y_pred):
    """Kullback-Leibler divergence `sum(y_true * log(y_true / y_pred))`, both clipped to
    `[epsilon, 1]`."""
    y_true, y_pred = prepare(y_true, y_pred)
    eps = config.epsilon()
    y_true = ops.clip(y_true, eps, 1.0)
    y_pred = ops.clip(y_pred, eps, 1.0)
    return ops.sum(ops.multiply(y_true, ops.log(ops.divide(y_true, y_pred))), axis=-1)


def poisson(y_true, y_pred):
    """Mean of `y_pred - y_true * log(y_pred + epsilon)`."""
    y_true, y_pred = prepare(y_true, y_pred)
    log_pred = ops.log(ops.add(y_pred, config.epsilon()))
    return ops.mean(ops.subtract(y_pred, ops.multiply(y_true, log_pred)), axis=-1)


# ------------------------------------------------------------------------ hinge
def _hinge_labels(y_true):
    """Maps {0, 1} labels to {-1, 1}; other label sets pass unchanged (decided on device)."""
    data = y_true.data
    xp = backend_of(data).xp
    is_binary = xp.all((data == 0) | (data == 1))
    return Tensor(xp.where(is_binary, 2 * data - 1, data).astype(data.dtype, copy=False))


def hinge(y_true, y_pred):
    """Mean of `max(1 - y_true * y_pred, 0)`; labels in {-1, 1} (or {0, 1}, converted)."""
    y_true, y_pred = prepare(y_true, y_pred)
    margin = ops.subtract(1.0, ops.multiply(_hinge_labels(y_true), y_pred))
    return ops.mean(ops.maximum(margin, 0.0), axis=-1)


def squared_hinge(y_true, y_pred):
    """Mean of `max(1 - y_true * y_pred, 0) ** 2`; labels in {-1, 1} (or {0, 1})."""
    y_true, y_pred = prepare(y_true, y_pred)
    margin = ops.subtract(1.0, ops.multiply(_hinge_labels(y_true), y_pred))
    return ops.mean(ops.square(ops.maximum(margin, 0.0)), axis=-1)


def categorical_hinge(y_true, y_pred):
    """`max(neg - pos + 1, 0)` with `pos = sum(y_true * y_pred)`,
    `neg = max((1 - y_true) * y_pred)`."""
    y_true, y_pred = prepare(y_true, y_pred)
    pos = ops.sum(ops.multiply(y_true, y_pred), axis=-1)
    neg = ops.max(ops.multiply(ops.subtract(1.0, y_true), y_pred), axis=-1)
    return ops.maximum(ops.add(ops.subtract(neg, pos), 1.0), 0.0)


# Keras's short aliases
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh
bce = BCE = binary_crossentropy

__all__ = [
    "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
    "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error", "cosine_similarity", "huber", "log_cosh",
    "kl_divergence", "poisson", "hinge", "squared_hinge", "categorical_hinge",
    "squeeze_or_expand_to_same_rank",
]
