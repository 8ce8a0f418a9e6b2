"""Intersection-over-Union metrics (`keras.metrics`): IoU, MeanIoU, BinaryIoU, OneHotIoU,
OneHotMeanIoU.

Every batch adds to a `num_classes x num_classes` confusion matrix (rows: true class,
columns: predicted class) kept on the device. The batch's matrix is one weighted `bincount`
of `true * num_classes + pred`; pairs outside `[0, num_classes)` and pixels of
`ignore_class` get weight 0, as in Keras (no host round trip to check the values).

As in Keras 3.15, the state dtype defaults to `"int32"`: sample weights are converted to it
(fractional weights truncate; pass `dtype="float32"` for fractional weights). The result is
always float32.
"""

import numbers
import warnings

import numpy as np

from gkeras import config
from gkeras.autodiff import Tensor
from gkeras.backend import backend_of
from gkeras.metrics.base import Metric, raw


def _check_num_classes(num_classes, name):
    if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral) \
            or num_classes < 1:
        raise ValueError(
            f"{name}: `num_classes` must be an integer >= 1. Received: "
            f"num_classes={num_classes!r}"
        )
    return int(num_classes)


def _check_target_ids(target_class_ids, num_classes, name):
    if isinstance(target_class_ids, numbers.Integral) and not isinstance(target_class_ids, bool):
        raise ValueError(
            f"{name}: `target_class_ids` must be a list or tuple of class ids, e.g. "
            f"[{target_class_ids}]. Received: target_class_ids={target_class_ids!r}"
        )
    try:
        ids = list(target_class_ids)
    except TypeError:
        raise ValueError(
            f"{name}: `target_class_ids` must be a list or tuple of class ids. Received: "
            f"target_class_ids={target_class_ids!r}"
        ) from None
    if not ids:
        raise ValueError(f"{name}: `target_class_ids` must not be empty.")
    bad = [i for i in ids if isinstance(i, bool) or not isinstance(i, numbers.Integral)]
    if bad:
        raise ValueError(f"{name}: `target_class_ids` must be integers. Received: {ids!r}")
    out = [i for i in ids if not 0 <= i < num_classes]
    if out:
        raise ValueError(
            f"{name}: target class id {out[0]} is out of range, which is [0, {num_classes}). "
            f"Received: target_class_ids={ids!r}"
        )
    return [int(i) for i in ids]


class _IoUBase(Metric):
    """Accumulates the confusion matrix shared by the IoU metrics.

    Args:
        num_classes: the number of classes; the matrix is `num_classes x num_classes`.
        name: name of the metric instance.
        dtype: dtype of the confusion matrix (`"int32"` by default, as in Keras 3.15).
        ignore_class: optional class id (e.g. a "void" label such as -1 or 255) whose
            pixels are left out.
        sparse_y_true: whether the labels are class ids (else `argmax` over `axis`).
        sparse_y_pred: whether the predictions are class ids (else `argmax` over `axis`).
        axis: the class axis of non-sparse inputs. Defaults to `-1`.
    """

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):
        super().__init__(name=name, dtype=dtype or "int32")
        self.num_classes = _check_num_classes(num_classes, self.name)
        self.ignore_class = ignore_class
        self.sparse_y_true = sparse_y_true
        self.sparse_y_pred = sparse_y_pred
        self.axis = axis
        self.total_cm = self.add_variable(shape=(self.num_classes, self.num_classes),
                                          name="total_confusion_matrix")

    def _class_ids(self, values, sparse, bk):
        values = raw(values, bk)
        if not sparse:
            values = values.argmax(axis=self.axis)
        # conversion to the state dtype truncates fractional ids, as Keras does
        return values.astype(np.dtype(self._dtype), copy=False)

    def _flat_weights(self, sample_weight, labels_shape, n, bk):
        xp = bk.xp
        dtype = np.dtype(self._dtype)
        if sample_weight is None:
            return xp.ones((n,), dtype=dtype)
        if hasattr(sample_weight, "dtype") and np.dtype(sample_weight.dtype).kind == "f" \
                and dtype.kind in "iu":
            warnings.warn(
                f"{self.name}: float sample weights are converted to the metric dtype "
                f"{self._dtype!r} and truncate; pass dtype='float32' to weight with "
                "fractions.", stacklevel=3)
        weights = raw(sample_weight, bk).astype(dtype, copy=False)
        if weights.size in (1, n):  # Keras's rule: flatten, then broadcast
            return xp.broadcast_to(weights.reshape(-1), (n,))
        # per-sample weights of segmentation maps: line them up with the leading axes
        if weights.ndim < len(labels_shape):
            expanded = weights.reshape(weights.shape + (1,) * (len(labels_shape) - weights.ndim))
            try:
                return xp.broadcast_to(expanded, labels_shape).reshape(-1)
            except ValueError:
                pass
        raise ValueError(
            f"{self.name}: sample_weight of shape {tuple(weights.shape)} cannot be broadcast "
            f"to the labels of shape {tuple(labels_shape)}."
        )

    def _update_confusion(self, y_true, y_pred, sample_weight):
        bk = self._follow(y_pred, y_true)
        xp = bk.xp
        y_true = self._class_ids(y_true, self.sparse_y_true, bk)
        labels_shape = tuple(y_true.shape)
        y_true = y_true.reshape(-1)
        y_pred = self._class_ids(y_pred, self.sparse_y_pred, bk).reshape(-1)
        if y_true.shape != y_pred.shape:
            raise ValueError(
                f"{self.name}: y_true and y_pred must hold the same number of class ids; got "
                f"{y_true.shape[0]} labels and {y_pred.shape[0]} predictions."
            )
        n = self.num_classes
        weights = self._flat_weights(sample_weight, labels_shape, y_true.shape[0], bk)
        valid = (y_true >= 0) & (y_true < n) & (y_pred >= 0) & (y_pred < n)
        if self.ignore_class is not None:
            valid &= y_true != self.ignore_class
        index = xp.where(valid, y_true.astype(np.int64) * n + y_pred.astype(np.int64), 0)
        weights = xp.where(valid, weights, 0)
        counts = xp.bincount(index, weights=weights, minlength=n * n)
        self.total_cm.data += counts.reshape(n, n).astype(self.total_cm.data.dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Adds the batch's (weighted) confusion matrix to the running one.

        Args:
            y_true: the labels (class ids, or one-hot / scores when `sparse_y_true=False`).
            y_pred: the predictions (class ids, or scores when `sparse_y_pred=False`).
            sample_weight: optional weights: a scalar, one per class id, or one per sample
                (lined up with the leading axes of the labels).
        """
        self._update_confusion(y_true, y_pred, sample_weight)


class IoU(_IoUBase):
    """Intersection-over-Union for specific target classes.

    `iou = true_positives / (true_positives + false_positives + false_negatives)` per class,
    from a confusion matrix accumulated over batches (weighted by `sample_weight`); the
    result is the mean over `target_class_ids`, leaving out classes that never occur in the
    labels or the predictions.

    Args:
        num_classes: the number of classes.
        target_class_ids: list or tuple of the class ids whose IoUs are averaged.
        name: name of the metric instance.
        dtype: dtype of the confusion matrix (`"int32"` by default, as in Keras 3.15).
        ignore_class: optional class id whose pixels are left out (e.g. -1 or 255).
        sparse_y_true: whether the labels are class ids (else `argmax` over `axis`).
        sparse_y_pred: whether the predictions are class ids (else `argmax` over `axis`).
        axis: the class axis of non-sparse inputs. Defaults to `-1`.

    Example:

    >>> m = IoU(num_classes=2, target_class_ids=[0])
    >>> m.update_state([0, 0, 1, 1], [0, 1, 0, 1])
    >>> round(float(m.result()), 4)
    0.3333
    """

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=sparse_y_true, sparse_y_pred=sparse_y_pred, axis=axis)
        self.target_class_ids = _check_target_ids(target_class_ids, self.num_classes, self.name)

    def result(self):
        """The mean IoU over the target classes present so far, as a float32 Tensor."""
        cm = self.total_cm.data
        xp = backend_of(cm).xp
        tp = xp.diagonal(cm).astype(np.float32)
        denominator = (cm.sum(axis=0).astype(np.float32) + cm.sum(axis=1).astype(np.float32)
                       - tp)
        ids = xp.asarray(np.asarray(self.target_class_ids, dtype=np.int64))
        tp, denominator = tp[ids], denominator[ids]
        valid = denominator > 1e-9
        eps = np.float32(config.epsilon())
        iou = xp.where(valid, tp / (denominator + eps), np.float32(0))
        value = iou.sum() / (valid.sum().astype(np.float32) + eps)
        return Tensor(value.astype(np.float32))

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes,
                "target_class_ids": self.target_class_ids, "ignore_class": self.ignore_class,
                "sparse_y_true": self.sparse_y_true, "sparse_y_pred": self.sparse_y_pred,
                "axis": self.axis}


class BinaryIoU(IoU):
    """IoU of class 0 and/or 1 for binary predictions given as scores.

    Predictions `>= threshold` count as class 1, the others as class 0; then the IoU of
    `target_class_ids` is computed as in `IoU` with two classes.

    Args:
        target_class_ids: `[0]`, `[1]` or `[0, 1]` (default): the classes averaged.
        threshold: the score from which a prediction counts as class 1 (default 0.5).
        name: name of the metric instance.
        dtype: dtype of the confusion matrix (`"int32"` by default, as in Keras 3.15).

    Example:

    >>> m = BinaryIoU(target_class_ids=[0, 1], threshold=0.3)
    >>> m.update_state([0, 1, 0, 1], [0.1, 0.2, 0.4, 0.7])
    >>> round(float(m.result()), 4)
    0.3333
    """

    def __init__(self, target_class_ids=(0, 1), threshold=0.5, name=None, dtype=None):
        super().__init__(num_classes=2, target_class_ids=target_class_ids, name=name,
                         dtype=dtype)
        if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real):
            raise ValueError(f"{self.name}: `threshold` must be a number. Received: "
                             f"threshold={threshold!r}")
        self.threshold = threshold

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Thresholds the scores (`>= threshold` -> class 1) and adds the batch's matrix.

        Args:
            y_true: the labels, 0 or 1.
            y_pred: the predicted scores.
            sample_weight: optional weights (see `IoU.update_state`).
        """
        bk = self._follow(y_pred, y_true)
        scores = raw(y_pred, bk).astype(np.float32, copy=False)
        self._update_confusion(y_true, scores >= np.float32(self.threshold), sample_weight)

    def get_config(self):
        return {"target_class_ids": self.target_class_ids, "threshold": self.threshold,
                "name": self.name, "dtype": self._dtype}


class MeanIoU(IoU):
    """The mean Intersection-over-Union over all classes.

    Args:
        num_classes: the number of classes.
        name: name of the metric instance.
        dtype: dtype of the confusion matrix (`"int32"` by default, as in Keras 3.15).
        ignore_class: optional class id whose pixels are left out (e.g. -1 or 255).
        sparse_y_true: whether the labels are class ids (else `argmax` over `axis`).
        sparse_y_pred: whether the predictions are class ids (else `argmax` over `axis`).
        axis: the class axis of non-sparse inputs. Defaults to `-1`.

    Example:

    >>> m = MeanIoU(num_classes=2)
    >>> m.update_state([0, 0, 1, 1], [0, 1, 0, 1])
    >>> round(float(m.result()), 4)
    0.3333
    """

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):
        num_classes = _check_num_classes(num_classes, name or "mean_io_u")
        super().__init__(num_classes, target_class_ids=list(range(num_classes)), name=name,
                         dtype=dtype, ignore_class=ignore_class, sparse_y_true=sparse_y_true,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self._dtype,
                "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class OneHotIoU(IoU):
    """IoU for one-hot labels: labels (and, by default, predictions) go through `argmax`.

    Args:
        num_classes: the number of classes.
        target_class_ids: list or tuple of the class ids whose IoUs are averaged.
        name: name of the metric instance.
        dtype: dtype of the confusion matrix (`"int32"` by default, as in Keras 3.15).
        ignore_class: optional class id whose pixels are left out.
        sparse_y_pred: whether the predictions are class ids (default `False`: scores).
        axis: the class axis. Defaults to `-1`.
    """

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None,
                 ignore_class=None, sparse_y_pred=False, axis=-1):
        super().__init__(num_classes, target_class_ids, name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=False,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        return {"num_classes": self.num_classes, "target_class_ids": self.target_class_ids,
                "name": self.name, "dtype": self._dtype, "ignore_class": self.ignore_class,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class OneHotMeanIoU(MeanIoU):
    """Mean IoU over all classes for one-hot labels (labels go through `argmax`).

    Args:
        num_classes: the number of classes.
        name: name of the metric instance.
        dtype: dtype of the confusion matrix (`"int32"` by default, as in Keras 3.15).
        ignore_class: optional class id whose pixels are left out.
        sparse_y_pred: whether the predictions are class ids (default `False`: scores).
        axis: the class axis. Defaults to `-1`.
    """

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None,
                 sparse_y_pred=False, axis=-1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        return {"num_classes": self.num_classes, "name": self.name, "dtype": self._dtype,
                "ignore_class": self.ignore_class, "sparse_y_pred": self.sparse_y_pred,
                "axis": self.axis}
