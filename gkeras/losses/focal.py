"""Focal crossentropy losses (`keras.losses.BinaryFocalCrossentropy`, ...), Lin et al. 2018.

The focal factor `(1 - p_t) ** gamma` down-weights the entries a model already gets right,
so training concentrates on the hard ones. Everything is built from `gkeras.ops`, so
autodiff gives the gradients; the formulas follow Keras 3 step by step (clipping included),
which keeps the values equal to Keras's to rounding.
"""

import numbers

from gkeras import config, ops
from gkeras.losses.base import as_prediction, as_target, check_same_shape, prepare
from gkeras.losses.classes import _REDUCTION_DOC, _check_smoothing, _Wrapped


def _check_focal_args(name, alpha, gamma, label_smoothing, alpha_in_unit=False):
    for value, arg in ((alpha, "alpha"), (gamma, "gamma")):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(f"{name}: `{arg}` must be a float. Received: {arg}={value!r}")
    if gamma < 0:
        raise ValueError(f"{name}: `gamma` must be >= 0. Received: gamma={gamma!r}")
    if alpha_in_unit and not 0.0 <= alpha <= 1.0:
        raise ValueError(f"{name}: `alpha` must be in [0, 1]. Received: alpha={alpha!r}")
    _check_smoothing(label_smoothing, name)


def _focal_factor(base, gamma):
    """`base ** gamma`; the constant 1 for gamma 0 (its gradient at base 0 would be 0 * inf)."""
    if gamma == 0:
        return None
    return ops.power(base, float(gamma))


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25,
                              gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1):
    """Binary focal crossentropy: `mean((1 - p_t) ** gamma * bce, axis)`.

    `p_t = y * p + (1 - y) * (1 - p)` is the probability given to the true label, and `bce`
    the elementwise binary crossentropy on probabilities clipped to `[eps, 1 - eps]`.

    Args:
        y_true: labels in [0, 1], shape `(batch, d0, .. dN)`.
        y_pred: probabilities (or logits when `from_logits=True`), same shape.
        apply_class_balancing: whether to weight positives by `alpha` and negatives by
            `1 - alpha`.
        alpha: the weight of class 1 when balancing, in [0, 1].
        gamma: the focusing parameter (>= 0; 0 gives plain binary crossentropy).
        from_logits: whether `y_pred` holds logits (a sigmoid is applied first).
        label_smoothing: in [0, 1]; labels become `y * (1 - s) + 0.5 * s`.
        axis: the axis to average over.

    Returns:
        The loss averaged over `axis`, shape `(batch, d0, .. dN-1)`.
    """
    _check_focal_args("binary_focal_crossentropy", alpha, gamma, label_smoothing,
                      alpha_in_unit=True)
    y_true, y_pred = prepare(y_true, y_pred)
    check_same_shape(y_true, y_pred, "binary_focal_crossentropy")
    if label_smoothing:
        y_true = ops.add(ops.multiply(y_true, 1.0 - label_smoothing), 0.5 * label_smoothing)
    if from_logits:
        y_pred = ops.sigmoid(y_pred)
    bce = ops.binary_crossentropy(y_true, y_pred, from_logits=False, epsilon=config.epsilon())
    # 1 - p_t = y (1 - p) + (1 - y) p = y + p - 2 y p
    one_minus_pt = ops.subtract(ops.add(y_true, y_pred),
                                ops.multiply(ops.multiply(y_true, y_pred), 2.0))
    factor = _focal_factor(one_minus_pt, gamma)
    focal = bce if factor is None else ops.multiply(factor, bce)
    if apply_class_balancing:
        weight = ops.add(ops.multiply(y_true, 2.0 * alpha - 1.0), 1.0 - alpha)
        focal = ops.multiply(weight, focal)
    return ops.mean(focal, axis=axis)


def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False,
                                   label_smoothing=0.0, axis=-1):
    """Categorical focal crossentropy: `sum(alpha * (1 - p) ** gamma * -y * log(p), axis)`.

    Probabilities are normalised to sum to 1 over `axis` and clipped to `[eps, 1 - eps]`,
    as in Keras.

    Args:
        y_true: one-hot (or probability) targets of shape `(batch, .., num_classes)`.
        y_pred: probabilities (or logits when `from_logits=True`), same shape.
        alpha: a weight applied to every class.
        gamma: the focusing parameter (>= 0; 0 gives `alpha` times crossentropy).
        from_logits: whether `y_pred` holds logits (a softmax over `axis` is applied first).
        label_smoothing: in [0, 1]; targets become `y * (1 - s) + s / num_classes`, with
            `num_classes` the size of the last axis (as in Keras).
        axis: the class axis.

    Returns:
        One loss per sample, the sum over `axis`.
    """
    name = "categorical_focal_crossentropy"
    _check_focal_args(name, alpha, gamma, label_smoothing)
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise ValueError(f"{name}: `axis` must be an int. Received: axis={axis!r}")
    y_pred = as_prediction(y_pred)
    if y_pred.dtype.kind != "f":
        y_pred = ops.cast(y_pred, config.floatx())
    y_true = as_target(y_true, y_pred, y_pred.dtype)
    check_same_shape(y_true, y_pred, name)
    if not -y_pred.ndim <= axis < y_pred.ndim:
        raise ValueError(f"{name}: axis {axis} is out of bounds for y_pred of shape "
                         f"{y_pred.shape}.")
    if label_smoothing:
        classes = y_true.shape[-1]
        y_true = ops.add(ops.multiply(y_true, 1.0 - label_smoothing), label_smoothing / classes)
    if from_logits:
        y_pred = ops.softmax(y_pred, axis=axis)
    eps = config.epsilon()
    output = ops.divide(y_pred, ops.sum(y_pred, axis=axis, keepdims=True))
    output = ops.clip(output, eps, 1.0 - eps)
    cce = ops.multiply(ops.negative(y_true), ops.log(output))
    factor = _focal_factor(ops.subtract(1.0, output), gamma)
    weighted = ops.multiply(cce, float(alpha))
    if factor is not None:
        weighted = ops.multiply(factor, weighted)
    return ops.sum(weighted, axis=axis)


class BinaryFocalCrossentropy(_Wrapped):
    """Focal crossentropy between binary labels and predicted probabilities (or logits).

    Args:
        apply_class_balancing: whether to weight class 1 by `alpha` and class 0 by
            `1 - alpha`.
        alpha: the weight of class 1 when balancing, in [0, 1] (0.25).
        gamma: the focusing parameter, >= 0 (2.0).
        from_logits: whether predictions are logits.
        label_smoothing: in [0, 1]; labels become `y * (1 - s) + 0.5 * s`.
        axis: the axis to average over (default -1).
        {reduction}

    Example:

    >>> loss = BinaryFocalCrossentropy(gamma=2.0, from_logits=True)
    >>> loss([[0.0, 1.0]], [[-1.5, 2.0]])
    """

    def __init__(self, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
                 label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="binary_focal_crossentropy", dtype=None):
        _check_focal_args(name, alpha, gamma, label_smoothing, alpha_in_unit=True)
        super().__init__(binary_focal_crossentropy, reduction=reduction, name=name,
                         dtype=dtype, apply_class_balancing=apply_class_balancing,
                         alpha=alpha, gamma=gamma, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.apply_class_balancing = apply_class_balancing
        self.alpha, self.gamma = alpha, gamma
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis


class CategoricalFocalCrossentropy(_Wrapped):
    """Focal crossentropy between one-hot targets and predicted distributions (or logits).

    Args:
        alpha: a weight applied to every class (0.25).
        gamma: the focusing parameter, >= 0 (2.0).
        from_logits: whether predictions are logits.
        label_smoothing: in [0, 1]; targets become `y * (1 - s) + s / num_classes`.
        axis: the class axis (default -1).
        {reduction}
    """

    def __init__(self, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="categorical_focal_crossentropy",
                 dtype=None):
        _check_focal_args(name, alpha, gamma, label_smoothing)
        super().__init__(categorical_focal_crossentropy, reduction=reduction, name=name,
                         dtype=dtype, alpha=alpha, gamma=gamma, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.alpha, self.gamma = alpha, gamma
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis


for _cls in (BinaryFocalCrossentropy, CategoricalFocalCrossentropy):
    _cls.__doc__ = _cls.__doc__.replace("{reduction}", _REDUCTION_DOC)
del _cls
