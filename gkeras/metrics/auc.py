"""`AUC`: area under the ROC or precision-recall curve, from confusion counts at thresholds."""

import numpy as np

from gkeras import config
from gkeras.autodiff import Tensor
from gkeras.metrics.base import Metric, data_backend, divide_no_nan, raw
from gkeras.metrics.confusion import (
    confusion_counts,
    evenly_distributed,
    parse_thresholds,
    prepare_confusion_inputs,
)

CURVES = ("ROC", "PR")
SUMMATION_METHODS = ("interpolation", "minoring", "majoring")


class AUC(Metric):
    """Approximates the area under the ROC (default) or precision-recall curve.

    Predictions are counted at `num_thresholds` thresholds evenly spaced in [0, 1] (plus
    one just below 0 and one just above 1); the curve through the resulting points is
    integrated with a Riemann sum. For ROC with `"interpolation"` this is the trapezoid
    rule over (false positive rate, true positive rate); for PR it interpolates the
    confusion counts, not precision itself (Davis & Goadrich 2006), as Keras does.

    Args:
        num_thresholds: number of thresholds (> 1), 200 by default.
        curve: `"ROC"` or `"PR"`.
        summation_method: `"interpolation"` (trapezoids), `"minoring"` (lower bound) or
            `"majoring"` (upper bound).
        name: name of the metric instance.
        dtype: dtype of the result.
        thresholds: explicit thresholds in [0, 1] (then `num_thresholds` is ignored).
        multi_label: compute one AUC per label (last axis) and average them, instead of
            flattening every label into one binary problem.
        num_labels: the number of labels with `multi_label` (inferred from the first batch
            otherwise).
        label_weights: non-negative weights of the labels: for the average with
            `multi_label`, else multiplied into the sample weights of each label's entries.
        from_logits: whether predictions are logits (a sigmoid is applied first).

    Example:

    >>> m = AUC(num_thresholds=3)
    >>> m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
    >>> float(m.result())
    0.75
    """

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation",
                 name=None, dtype=None, thresholds=None, multi_label=False, num_labels=None,
                 label_weights=None, from_logits=False):
        super().__init__(name=name or "auc", dtype=dtype)
        curve_name = str(curve).upper()
        if curve_name not in CURVES:
            raise ValueError(f'Invalid AUC curve value: "{curve}". Expected one of {list(CURVES)}.')
        method = str(summation_method).lower()
        if method not in SUMMATION_METHODS:
            raise ValueError(
                f'Invalid AUC summation method value: "{summation_method}". Expected one of '
                f"{list(SUMMATION_METHODS)}."
            )
        self.curve, self.summation_method = curve_name, method
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            inner = sorted(parse_thresholds(thresholds, None, self.name))
            self.num_thresholds = len(inner) + 2
            self._evenly = evenly_distributed([0.0] + inner + [1.0])
        else:
            if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, int) or (
                    num_thresholds <= 1):
                raise ValueError(
                    "Argument `num_thresholds` must be an integer > 1. "
                    f"Received: num_thresholds={num_thresholds!r}"
                )
            self.num_thresholds = num_thresholds
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._evenly = True
        eps = config.epsilon()
        self._thresholds = [0.0 - eps] + inner + [1.0 + eps]
        if num_labels is not None and not multi_label:
            raise ValueError("`num_labels` is needed only when `multi_label` is True.")
        self.multi_label, self.num_labels = bool(multi_label), num_labels
        self.label_weights = None if label_weights is None else np.asarray(
            label_weights, dtype=self.dtype)
        self._from_logits = bool(from_logits)
        self._built = False
        if not self.multi_label:
            self._build(None)
        elif num_labels:
            self._build(num_labels)

    @property
    def thresholds(self):
        """The thresholds, including the two end points."""
        return list(self._thresholds)

    def _build(self, num_labels):
        shape = (self.num_thresholds,) if num_labels is None else (self.num_thresholds,
                                                                     num_labels)
        self._num_labels = num_labels
        self.true_positives = self.add_variable(shape=shape, name="true_positives")
        self.false_positives = self.add_variable(shape=shape, name="false_positives")
        self.true_negatives = self.add_variable(shape=shape, name="true_negatives")
        self.false_negatives = self.add_variable(shape=shape, name="false_negatives")
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Adds the batch's confusion counts at every threshold."""
        bk = self._follow(y_pred, y_true)
        y_pred = raw(y_pred, bk)
        if self.multi_label and not self._built:
            if y_pred.ndim != 2:
                raise ValueError(
                    "`y_pred` must have rank 2 when `multi_label=True`. Found rank "
                    f"{y_pred.ndim}. Full shape received for `y_pred`: {tuple(y_pred.shape)}"
                )
            self._build(y_pred.shape[1])
            self._follow(y_pred)
        if self._from_logits:
            xp = bk.xp
            y_pred = 0.5 * (1 + xp.tanh(0.5 * y_pred.astype(self.dtype, copy=False)))
        labels, preds, weights = prepare_confusion_inputs(
            y_true, y_pred, sample_weight, self.dtype,
            label_weights=None if self.multi_label else self.label_weights,
            multi_label=self.multi_label)
        tp, fp, total_pos, total_neg = confusion_counts(
            labels, preds, weights, self._thresholds, evenly=self._evenly, with_epsilon=True)
        self.true_positives.data += tp
        self.false_positives.data += fp
        self.true_negatives.data += total_neg - fp
        self.false_negatives.data += total_pos - tp

    def _average_labels(self, per_label):
        if not self.multi_label:
            return per_label.sum()
        by_label = per_label.sum(axis=0)
        if self.label_weights is None:
            return by_label.mean()
        xp = data_backend(by_label).xp
        weights = xp.asarray(self.label_weights)
        return divide_no_nan((by_label * weights).sum(), weights.sum())

    def _interpolate_pr_auc(self):
        # precision is not interpolated linearly between thresholds; tp and the number of
        # predicted positives p = tp + fp are (Davis & Goadrich 2006, with Keras's closed form)
        xp = data_backend(self.true_positives.data).xp
        tp, fp = self.true_positives.data, self.false_positives.data
        fn = self.false_negatives.data
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = divide_no_nan(dtp, xp.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        both = (p[:-1] > 0) & (p[1:] > 0)
        ratio = xp.where(both, divide_no_nan(p[:-1], xp.maximum(p[1:], 0)), xp.ones_like(p[1:]))
        increments = divide_no_nan(slope * (dtp + intercept * xp.log(ratio)),
                                   xp.maximum(tp[1:] + fn[1:], 0))
        return self._average_labels(increments)

    def result(self):
        """The area as a 0-d Tensor."""
        if not self._built:
            return Tensor(np.zeros((), dtype=self.dtype))
        if self.curve == "PR" and self.summation_method == "interpolation":
            return Tensor(self._interpolate_pr_auc())
        xp = data_backend(self.true_positives.data).xp
        tp, fp = self.true_positives.data, self.false_positives.data
        tn, fn = self.true_negatives.data, self.false_negatives.data
        recall = divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = divide_no_nan(fp, fp + tn), recall
        else:
            x, y = recall, divide_no_nan(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2
        elif self.summation_method == "minoring":
            heights = xp.minimum(y[:-1], y[1:])
        else:
            heights = xp.maximum(y[:-1], y[1:])
        # thresholds rise, so the rates fall: x[i] - x[i + 1] >= 0
        return Tensor(self._average_labels((x[:-1] - x[1:]) * heights))

    def reset_state(self):
        if self._built:
            super().reset_state()

    def get_config(self):
        config = {
            **super().get_config(),
            "num_thresholds": self.num_thresholds, "curve": self.curve,
            "summation_method": self.summation_method, "multi_label": self.multi_label,
            "num_labels": self.num_labels,
            "label_weights": None if self.label_weights is None else self.label_weights.tolist(),
            "from_logits": self._from_logits,
        }
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return config
