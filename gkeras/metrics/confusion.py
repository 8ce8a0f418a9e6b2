"""Confusion-matrix metrics (`keras.metrics`): TruePositives ... Precision, Recall, AUC.

Counts at many thresholds cost one pass over the batch: each prediction is mapped to the
number of thresholds it exceeds, a weighted `bincount` makes a histogram of those numbers,
and a reversed cumulative sum turns the histogram into "above threshold i" counts. For
evenly spaced thresholds (AUC's default) the number comes from arithmetic, as in Keras;
otherwise from `searchsorted`.
"""

import numpy as np

from gkeras import config
from gkeras.autodiff import Tensor
from gkeras.metrics.base import Metric, data_backend, divide_no_nan, raw, squeeze_or_expand_raw

NEG_INF = -1e10  # the threshold Keras uses with `top_k` and no explicit thresholds


def parse_thresholds(thresholds, default, name):
    """Thresholds as a list of floats, checked to lie in [0, 1]."""
    if thresholds is None:
        return [float(default)]
    values = [thresholds] if np.isscalar(thresholds) else list(thresholds)
    invalid = [t for t in values if t is None or not 0 <= t <= 1]
    if invalid:
        raise ValueError(f"{name}: threshold values must be in [0, 1]. Received: {invalid}")
    return [float(t) for t in values]


def evenly_distributed(thresholds):
    """Whether the thresholds are `[0, 1/(n-1), ..., 1]` (within epsilon), n >= 3."""
    n = len(thresholds)
    if n < 3:
        return False
    even = np.arange(n, dtype=np.float32) / (n - 1)
    return bool(np.allclose(thresholds, even, atol=config.epsilon()))


def filter_top_k(y_pred, k):
    """Keeps the `k` largest values of each row (ties go to the lower index), others -> NEG_INF."""
    xp = data_backend(y_pred).xp
    # CuPy's sort is always stable and takes no `kind`; NumPy's default is not stable
    kwargs = {"kind": "stable"} if xp is np else {}
    order = xp.argsort(-y_pred, axis=-1, **kwargs)
    rank = xp.argsort(order, axis=-1, **kwargs)  # the inverse permutation: each entry's rank
    return xp.where(rank < k, y_pred, NEG_INF).astype(y_pred.dtype, copy=False)


def prepare_confusion_inputs(y_true, y_pred, sample_weight, dtype, top_k=None, class_id=None,
                             label_weights=None, multi_label=False):
    """Labels (0/1), predictions and weights as arrays on `y_pred`'s device.

    Returns flat arrays, or `(N, L)` arrays when `multi_label`. Weights follow Keras: a
    per-sample weight covers every label of that sample.
    """
    bk = data_backend(y_pred, y_true)
    xp = bk.xp
    y_true = raw(y_true, bk).astype(dtype, copy=False)
    y_pred = raw(y_pred, bk).astype(dtype, copy=False)
    y_pred, y_true = squeeze_or_expand_raw(y_pred, y_true)
    if y_pred.shape != y_true.shape:
        raise ValueError(
            f"`y_true` and `y_pred` must have the same shape. Received: y_true.shape="
            f"{tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}"
        )
    weights = None
    if sample_weight is not None:
        weights = raw(sample_weight, bk).astype(dtype, copy=False)[..., None]
        _, weights = squeeze_or_expand_raw(y_true, weights, expand_rank_1=False)
    if top_k is not None:
        y_pred = filter_top_k(y_pred, top_k)
    if class_id is not None:
        if y_pred.ndim < 2 or not 0 <= class_id < y_pred.shape[-1]:
            raise ValueError(
                f"class_id={class_id} needs predictions of shape (num_samples, num_classes) "
                f"with more than {class_id} classes; received shape {tuple(y_pred.shape)}."
            )
        y_true = y_true[..., class_id:class_id + 1]
        y_pred = y_pred[..., class_id:class_id + 1]
    if weights is not None:
        try:
            weights = xp.broadcast_to(weights, y_pred.shape)
        except ValueError:
            raise ValueError(
                f"sample_weight of shape {tuple(sample_weight.shape)} cannot be broadcast to "
                f"the predictions of shape {tuple(y_pred.shape)}."
            ) from None
    if label_weights is not None:
        lw = xp.broadcast_to(bk.asarray(np.asarray(label_weights, dtype=dtype)), y_pred.shape)
        weights = lw if weights is None else weights * lw
    if weights is None:
        weights = xp.ones_like(y_pred)
    labels = (y_true != 0).astype(dtype)
    if multi_label:
        return labels, y_pred, weights
    return labels.reshape(-1), y_pred.reshape(-1), weights.reshape(-1)


def confusion_counts(labels, y_pred, weights, thresholds, evenly=False, with_epsilon=False):
    """Weighted `(tp, fp, total_positive, total_negative)` at each sorted threshold.

    A prediction counts as positive at threshold t when `y_pred > t`. Inputs are flat
    `(N,)` arrays, or `(N, L)` for per-label counts (outputs then have shape `(T, L)`).
    """
    xp = data_backend(y_pred).xp
    n_thr = len(thresholds)
    if evenly:
        p = xp.clip(y_pred, 0.0, 1.0)
        bucket = xp.ceil(p * (n_thr - 1)) - 1
        if with_epsilon:
            bucket = xp.maximum(bucket, 0)
        exceeded = (bucket + 1).astype(xp.int64)
    else:
        thr = xp.asarray(np.asarray(thresholds, dtype=y_pred.dtype))
        exceeded = xp.searchsorted(thr, y_pred.reshape(-1), side="left").reshape(y_pred.shape)
    pos, neg = labels * weights, (1 - labels) * weights
    width = n_thr + 1
    if y_pred.ndim == 2:
        # one histogram per label: label j's bins are offset by j * width
        offsets = xp.arange(y_pred.shape[1], dtype=xp.int64) * width
        exceeded = (exceeded + offsets).reshape(-1)
        shape = (y_pred.shape[1], width)
    else:
        shape = (width,)
    size = int(np.prod(shape))
    tp_hist = xp.bincount(exceeded, weights=pos.reshape(-1), minlength=size).reshape(shape)
    fp_hist = xp.bincount(exceeded, weights=neg.reshape(-1), minlength=size).reshape(shape)
    # "above threshold i" = predictions exceeding more than i thresholds
    tp = xp.flip(xp.cumsum(xp.flip(tp_hist, -1), -1), -1)[..., 1:]
    fp = xp.flip(xp.cumsum(xp.flip(fp_hist, -1), -1), -1)[..., 1:]
    dtype = y_pred.dtype
    total_pos, total_neg = pos.sum(axis=0), neg.sum(axis=0)
    return tp.T.astype(dtype), fp.T.astype(dtype), total_pos, total_neg


class _ThresholdMetric(Metric):
    """Shared set-up of metrics counted at a list of thresholds (in the user's order)."""

    def _set_thresholds(self, thresholds, default):
        self.init_thresholds = thresholds
        self.thresholds = parse_thresholds(thresholds, default, self.name)
        order = np.argsort(self.thresholds, kind="stable")
        self._sorted = [self.thresholds[i] for i in order]
        self._unsort = np.argsort(order)
        self._evenly = evenly_distributed(self._sorted)

    def _counts(self, y_true, y_pred, sample_weight, top_k=None, class_id=None):
        self._follow(y_pred, y_true)
        labels, preds, weights = prepare_confusion_inputs(
            y_true, y_pred, sample_weight, self._dtype, top_k=top_k, class_id=class_id)
        tp, fp, total_pos, total_neg = confusion_counts(labels, preds, weights, self._sorted,
                                                        evenly=self._evenly)
        xp = data_backend(tp).xp
        unsort = xp.asarray(self._unsort)
        tp, fp = tp[unsort], fp[unsort]
        return tp, fp, total_neg - fp, total_pos - tp

    def _single(self, values):
        return Tensor(values[0].copy() if len(self.thresholds) == 1 else values.copy())


class _ConfusionMatrixConditionCount(_ThresholdMetric):
    _which = None  # index into (tp, fp, tn, fn)

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self._set_thresholds(thresholds, 0.5)
        self.accumulator = self.add_variable(shape=(len(self.thresholds),), name="accumulator")

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Adds the (weighted) count of this outcome in the batch, per threshold."""
        self.accumulator.data += self._counts(y_true, y_pred, sample_weight)[self._which]

    def result(self):
        return self._single(self.accumulator.data)

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_ConfusionMatrixConditionCount):
    """Weighted count of true positives (`y_pred > threshold` and label 1).

    Args:
        thresholds: a float or list of floats in [0, 1] (default 0.5); one count each.
        name: name of the metric instance.
        dtype: dtype of the result.
    """

    _which = 0


class FalsePositives(_ConfusionMatrixConditionCount):
    """Weighted count of false positives (`y_pred > threshold` and label 0).

    Args:
        thresholds: a float or list of floats in [0, 1] (default 0.5); one count each.
        name: name of the metric instance.
        dtype: dtype of the result.
    """

    _which = 1


class TrueNegatives(_ConfusionMatrixConditionCount):
    """Weighted count of true negatives (`y_pred <= threshold` and label 0).

    Args:
        thresholds: a float or list of floats in [0, 1] (default 0.5); one count each.
        name: name of the metric instance.
        dtype: dtype of the result.
    """

    _which = 2


class FalseNegatives(_ConfusionMatrixConditionCount):
    """Weighted count of false negatives (`y_pred <= threshold` and label 1).

    Args:
        thresholds: a float or list of floats in [0, 1] (default 0.5); one count each.
        name: name of the metric instance.
        dtype: dtype of the result.
    """

    _which = 3


class _PrecisionRecall(_ThresholdMetric):
    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int)
                                  or top_k < 1):
            raise ValueError(f"{self.name}: `top_k` must be a positive int. Received: {top_k!r}")
        self.top_k, self.class_id = top_k, class_id
        self._set_thresholds(thresholds, 0.5 if top_k is None else NEG_INF)
        n = len(self.thresholds)
        self.true_positives = self.add_variable(shape=(n,), name="true_positives")
        self._other = self.add_variable(shape=(n,), name=self._other_name)

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds,
                "top_k": self.top_k, "class_id": self.class_id}


class Precision(_PrecisionRecall):
    """Precision `tp / (tp + fp)` of the predictions with respect to binary labels.

    Args:
        thresholds: a float or list of floats in [0, 1]; a prediction above a threshold counts
            as positive. Default 0.5 (or no threshold with `top_k`). One value per threshold.
        top_k: only the `k` highest predictions of each sample count as positive.
        class_id: compute the metric for this class (column) only.
        name: name of the metric instance.
        dtype: dtype of the result.
    """

    _other_name = "false_positives"

    @property
    def false_positives(self):
        return self._other

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Adds the batch's true and false positives."""
        tp, fp, _, _ = self._counts(y_true, y_pred, sample_weight, self.top_k, self.class_id)
        self.true_positives.data += tp
        self._other.data += fp

    def result(self):
        tp = self.true_positives.data
        return self._single(divide_no_nan(tp, tp + self._other.data))


class Recall(_PrecisionRecall):
    """Recall `tp / (tp + fn)` of the predictions with respect to binary labels.

    Args:
        thresholds: a float or list of floats in [0, 1]; a prediction above a threshold counts
            as positive. Default 0.5 (or no threshold with `top_k`). One value per threshold.
        top_k: only the `k` highest predictions of each sample count as positive.
        class_id: compute the metric for this class (column) only.
        name: name of the metric instance.
        dtype: dtype of the result.
    """

    _other_name = "false_negatives"

    @property
    def false_negatives(self):
        return self._other

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Adds the batch's true positives and false negatives."""
        tp, _, _, fn = self._counts(y_true, y_pred, sample_weight, self.top_k, self.class_id)
        self.true_positives.data += tp
        self._other.data += fn

    def result(self):
        tp = self.true_positives.data
        return self._single(divide_no_nan(tp, tp + self._other.data))
