"""Overlap losses for segmentation (`keras.losses.Dice`, `keras.losses.Tversky`).

Both compare soft masks through sums over `axis` (every axis by default, which gives one
value for the whole batch, as in Keras).
"""

import numbers

from gkeras import config, ops
from gkeras.losses.base import prepare
from gkeras.losses.classes import _REDUCTION_DOC, _Wrapped


def _check_axis(axis, name):
    if axis is None:
        return None
    if isinstance(axis, (list, tuple)):
        items = tuple(axis)
    else:
        items = (axis,)
    if not items or any(isinstance(a, bool) or not isinstance(a, numbers.Integral)
                        for a in items):
        raise ValueError(f"{name}: `axis` must be None, an int or a tuple of ints. Received: "
                         f"axis={axis!r}")
    return tuple(int(a) for a in items) if isinstance(axis, (list, tuple)) else int(axis)


def dice(y_true, y_pred, axis=None):
    """Dice loss `1 - 2 sum(y_true * y_pred) / (sum(y_true) + sum(y_pred) + epsilon)`.

    Args:
        y_true: target masks (values in [0, 1]).
        y_pred: predicted masks, same shape.
        axis: the axes the sums run over (`None`: all of them, one value in all).

    Returns:
        The loss, with the `axis` dimensions reduced.
    """
    axis = _check_axis(axis, "dice")
    y_true, y_pred = prepare(y_true, y_pred)
    intersection = ops.sum(ops.multiply(y_true, y_pred), axis=axis)
    denominator = ops.add(ops.add(ops.sum(y_true, axis=axis), ops.sum(y_pred, axis=axis)),
                          config.epsilon())
    return ops.subtract(1.0, ops.divide(ops.multiply(intersection, 2.0), denominator))


def tversky(y_true, y_pred, alpha=0.5, beta=0.5, axis=None):
    """Tversky loss `1 - tp / (tp + alpha * a + beta * b + epsilon)`.

    With Keras's terms: `tp = sum(y_true * y_pred)`, `a = sum((1 - y_pred) * y_true)` and
    `b = sum(y_pred * (1 - y_true))`. `alpha = beta = 0.5` gives the Dice loss.

    Args:
        y_true: target masks (values in [0, 1]).
        y_pred: predicted masks, same shape.
        alpha: the weight of `a` (Keras calls it the false-positive weight).
        beta: the weight of `b` (Keras calls it the false-negative weight).
        axis: the axes the sums run over (`None`: all of them).

    Returns:
        The loss, with the `axis` dimensions reduced.
    """
    _check_coefficients(alpha, beta)
    axis = _check_axis(axis, "tversky")
    y_true, y_pred = prepare(y_true, y_pred)
    intersection = ops.sum(ops.multiply(y_true, y_pred), axis=axis)
    missed = ops.sum(ops.multiply(ops.subtract(1.0, y_pred), y_true), axis=axis)
    extra = ops.sum(ops.multiply(y_pred, ops.subtract(1.0, y_true)), axis=axis)
    denominator = ops.add(ops.add(ops.add(intersection, ops.multiply(missed, float(alpha))),
                                  ops.multiply(extra, float(beta))), config.epsilon())
    return ops.subtract(1.0, ops.divide(intersection, denominator))


def _check_coefficients(alpha, beta):
    for value, arg in ((alpha, "alpha"), (beta, "beta")):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(f"tversky: `{arg}` must be a float. Received: {arg}={value!r}")


class Dice(_Wrapped):
    """Dice loss between target and predicted masks (see `gkeras.losses.dice`).

    Args:
        {reduction}
        axis: the axes the sums run over (`None`: all of them).
    """

    def __init__(self, reduction="sum_over_batch_size", name="dice", axis=None, dtype=None):
        axis = _check_axis(axis, name)
        super().__init__(dice, reduction=reduction, name=name, dtype=dtype, axis=axis)
        self.axis = axis


class Tversky(_Wrapped):
    """Tversky loss between target and predicted masks (see `gkeras.losses.tversky`).

    Args:
        alpha: the weight of `sum((1 - y_pred) * y_true)` (0.5).
        beta: the weight of `sum(y_pred * (1 - y_true))` (0.5).
        {reduction}
        axis: the axes the sums run over (`None`: all of them).
    """

    def __init__(self, alpha=0.5, beta=0.5, reduction="sum_over_batch_size", name="tversky",
                 axis=None, dtype=None):
        _check_coefficients(alpha, beta)
        axis = _check_axis(axis, name)
        super().__init__(tversky, reduction=reduction, name=name, dtype=dtype, alpha=alpha,
                         beta=beta, axis=axis)
        self.alpha, self.beta, self.axis = alpha, beta, axis


for _cls in (Dice, Tversky):
    _cls.__doc__ = _cls.__doc__.replace("{reduction}", _REDUCTION_DOC)
del _cls
