"""F-scores (`keras.metrics.FBetaScore`, `keras.metrics.F1Score`) for multi-class and
multi-label classification.

The state (weighted true positives, false positives, false negatives and label weights per
class, or single totals for `average="micro"`) lives on the device of the data and is
created at the first batch, when the number of classes is known (as in Keras).
"""

import numbers

import numpy as np

from gkeras import config
from gkeras.autodiff import Tensor
from gkeras.metrics.base import Metric, as_dtype, raw

_AVERAGES = (None, "micro", "macro", "weighted")


def _as_2d(values, name, what):
    if values.ndim != 2:
        raise ValueError(
            f"{name} expects 2D inputs with shape (batch_size, output_dim). Received "
            f"{what}.shape={tuple(values.shape)}."
        )
    return values


class FBetaScore(Metric):
    """F-beta score: `(1 + beta^2) * precision * recall / (beta^2 * precision + recall)`.

    Predictions are turned into 0/1 decisions first: with `threshold=None` the highest score
    of each sample is the prediction (ties all count, all-zero rows predict nothing),
    otherwise every score above `threshold` counts as predicted.

    Args:
        average: `None` (one score per class), `"micro"` (one score from the counts summed
            over classes), `"macro"` (the mean of the per-class scores) or `"weighted"` (their
            mean weighted by each class's share of the true labels).
        beta: weight of recall against precision, > 0.
        threshold: `None` or a float in (0, 1].
        name: name of the metric instance.
        dtype: dtype of the state and the result.

    Example:

    >>> m = FBetaScore(beta=2.0, threshold=0.5)
    >>> m.update_state([[1, 0], [0, 1]], [[0.9, 0.2], [0.6, 0.7]])
    >>> m.result()          # one value per class
    """

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        super().__init__(name=name, dtype=dtype)
        if average not in _AVERAGES:
            raise ValueError(
                "Invalid `average` argument value. Expected one of: "
                f"{{None, 'micro', 'macro', 'weighted'}}. Received: average={average!r}"
            )
        if isinstance(beta, bool) or not isinstance(beta, numbers.Real):
            raise ValueError(
                "Invalid `beta` argument value. It should be a Python float. Received: "
                f"beta={beta!r} of type {type(beta).__name__!r}"
            )
        if not beta > 0.0:
            raise ValueError(f"Invalid `beta` argument value. It should be > 0. Received: "
                             f"beta={beta!r}")
        if threshold is not None:
            if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real):
                raise ValueError(
                    "Invalid `threshold` argument value. It should be a Python float. "
                    f"Received: threshold={threshold!r} of type {type(threshold).__name__!r}"
                )
            if not 0.0 < threshold <= 1.0:
                raise ValueError(
                    "Invalid `threshold` argument value. It should verify 0 < threshold <= 1. "
                    f"Received: threshold={threshold!r}"
                )
            threshold = float(threshold)
        self.average, self.beta, self.threshold = average, float(beta), threshold
        # per-class counts are summed over the batch axis; micro sums everything
        self.axis = None if average == "micro" else 0
        self._built = False

    def _build(self, num_classes):
        shape = () if self.average == "micro" else (num_classes,)
        self.true_positives = self.add_variable(shape=shape, name="true_positives")
        self.false_positives = self.add_variable(shape=shape, name="false_positives")
        self.false_negatives = self.add_variable(shape=shape, name="false_negatives")
        self.intermediate_weights = self.add_variable(shape=shape, name="intermediate_weights")
        self._num_classes = num_classes
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Adds the batch's weighted true positives, false positives, false negatives and
        true-label weights.

        Args:
            y_true: 0/1 targets of shape `(batch_size, num_classes)`.
            y_pred: scores of the same shape.
            sample_weight: optional per-sample weights, shape `(batch_size,)`.
        """
        bk = self._follow(y_pred, y_true)
        xp, dtype = bk.xp, as_dtype(self._dtype)
        y_true = _as_2d(raw(y_true, bk).astype(dtype, copy=False), type(self).__name__,
                        "y_true")
        y_pred = _as_2d(raw(y_pred, bk).astype(dtype, copy=False), type(self).__name__,
                        "y_pred")
        if y_true.shape != y_pred.shape:
            raise ValueError(
                f"{type(self).__name__}: `y_true` and `y_pred` must have the same shape. "
                f"Received: y_true.shape={tuple(y_true.shape)}, "
                f"y_pred.shape={tuple(y_pred.shape)}"
            )
        if not self._built:
            self._build(y_pred.shape[-1])
            bk = self._follow(y_pred)
        elif y_pred.shape[-1] != self._num_classes:
            raise ValueError(
                f"{type(self).__name__} was built for {self._num_classes} classes; received "
                f"y_pred.shape={tuple(y_pred.shape)}."
            )
        if self.threshold is None:
            top = y_pred.max(axis=-1, keepdims=True)
            # an all-zero row must not predict every class
            predicted = (y_pred >= top) & (xp.abs(y_pred) > 1e-9)
        else:
            predicted = y_pred > self.threshold
        predicted = predicted.astype(dtype)
        weights = None
        if sample_weight is not None:
            weights = raw(sample_weight, bk).astype(dtype, copy=False)
            if weights.ndim >= 1 and weights.size == y_pred.shape[0]:
                weights = weights.reshape(-1, 1)
            try:
                weights = xp.broadcast_to(weights, y_pred.shape)
            except ValueError:
                raise ValueError(
                    f"sample_weight of shape {tuple(raw(sample_weight).shape)} cannot be "
                    f"broadcast to the predictions of shape {tuple(y_pred.shape)}."
                ) from None

        def weighted_sum(values):
            if weights is not None:
                values = values * weights
            return values.sum(axis=self.axis)

        hits = predicted * y_true
        self.true_positives.data += weighted_sum(hits)
        self.false_positives.data += weighted_sum(predicted - hits)
        self.false_negatives.data += weighted_sum(y_true - hits)
        self.intermediate_weights.data += weighted_sum(y_true)

    def result(self):
        """The score: per class (`average=None`) or one value; 0 before any batch."""
        if not self._built:
            return Tensor(np.zeros((), dtype=as_dtype(self._dtype)))
        eps = config.epsilon()
        tp = self.true_positives.data
        precision = tp / (tp + self.false_positives.data + eps)
        recall = tp / (tp + self.false_negatives.data + eps)
        b2 = self.beta ** 2
        score = precision * recall / (b2 * precision + recall + eps) * (1 + b2)
        if self.average == "weighted":
            w = self.intermediate_weights.data
            score = (score * (w / (w.sum() + eps))).sum()
        elif self.average is not None:
            score = score.mean()
        return Tensor(score.astype(as_dtype(self._dtype), copy=False))

    def get_config(self):
        return {**super().get_config(), "average": self.average, "beta": self.beta,
                "threshold": self.threshold}


class F1Score(FBetaScore):
    """F1 score: the harmonic mean of precision and recall, `2 p r / (p + r)`.

    Args:
        average: `None`, `"micro"`, `"macro"` or `"weighted"` (see `FBetaScore`).
        threshold: `None` (the top score of each sample is the prediction) or a float in
            (0, 1].
        name: name of the metric instance.
        dtype: dtype of the state and the result.
    """

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name,
                         dtype=dtype)

    def get_config(self):
        config = super().get_config()
        del config["beta"]
        return config
