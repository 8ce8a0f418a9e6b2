"""Accuracy metrics (`keras.metrics.*Accuracy`) and their per-sample functions.

The functions take labels and predictions (arrays or Tensors) and return one value per
sample as a Tensor; they work on raw device arrays and record no graph.
"""

import numpy as np

from gkeras import config
from gkeras.autodiff import Tensor
from gkeras.metrics.base import (
    BuiltinMetricWrapper,
    as_dtype,
    data_backend,
    raw,
    squeeze_or_expand_raw,
)


def _arrays(y_true, y_pred):
    """Raw arrays of `y_true` and `y_pred`, both on `y_pred`'s device."""
    bk = data_backend(y_pred, y_true)
    return raw(y_true, bk), raw(y_pred, bk), bk


def _floats(matches):
    return Tensor(matches.astype(as_dtype(config.floatx())))


def accuracy(y_true, y_pred):
    """1 where `y_pred == y_true` exactly, else 0 (elementwise; `Mean` averages per sample)."""
    y_true, y_pred, _ = _arrays(y_true, y_pred)
    y_true, y_pred = squeeze_or_expand_raw(y_true.astype(y_pred.dtype, copy=False), y_pred)
    return _floats(y_true == y_pred)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """1 where `(y_pred > threshold)` equals the binary label, else 0 (elementwise)."""
    y_true, y_pred, _ = _arrays(y_true, y_pred)
    y_true, y_pred = squeeze_or_expand_raw(y_true, y_pred)
    predicted = (y_pred > threshold).astype(y_true.dtype)
    return _floats(y_true == predicted)


def _check_one_hot(y_true, y_pred, name):
    if y_true.ndim < y_pred.ndim or (y_true.shape[-1:] == (1,) and y_pred.shape[-1] > 1):
        raise ValueError(
            f"{name} expects one-hot labels of the predictions' shape {tuple(y_pred.shape)}; "
            f"received labels of shape {tuple(y_true.shape)}. For integer class ids use "
            f"sparse_{name}."
        )


def categorical_accuracy(y_true, y_pred):
    """1 where the argmax of the one-hot `y_true` equals the argmax of `y_pred`, else 0."""
    y_true, y_pred, _ = _arrays(y_true, y_pred)
    _check_one_hot(y_true, y_pred, "categorical_accuracy")
    labels = y_true.argmax(axis=-1)
    shape = labels.shape
    reshape = labels.ndim == y_pred.ndim
    if reshape:
        labels = labels[..., 0]
    matches = labels == y_pred.argmax(axis=-1)
    return _floats(matches.reshape(shape) if reshape else matches)


def sparse_categorical_accuracy(y_true, y_pred):
    """1 where the integer label equals the argmax of `y_pred`, else 0.

    Labels may have shape `(N,)` or `(N, 1)`.
    """
    y_true, y_pred, _ = _arrays(y_true, y_pred)
    shape = y_true.shape
    reshape = y_true.ndim == y_pred.ndim and y_true.shape[-1:] == (1,)
    if reshape:
        y_true = y_true[..., 0]
    predicted = y_pred.argmax(axis=-1)
    matches = y_true == predicted.astype(y_true.dtype, copy=False)
    if reshape:
        matches = matches.reshape(shape)
    if matches.ndim > 1 and matches.shape[-1] == 1:
        matches = matches[..., 0]
    return _floats(matches)


def _in_top_k(targets, predictions, k):
    """Whether each target's score is among the `k` largest of its row (ties count as in).

    The target is in the top k exactly when fewer than k scores are strictly larger, so no
    sort is needed: one comparison and one sum per row.
    """
    xp = data_backend(predictions).xp
    rows = xp.arange(predictions.shape[0])
    target_scores = predictions[rows, targets.astype(xp.int64)]
    larger = (predictions > target_scores[:, None]).sum(axis=-1)
    return larger < k


def _top_k_matches(labels, y_pred, k):
    shape = labels.shape
    if y_pred.ndim > 2:
        y_pred = y_pred.reshape(-1, y_pred.shape[-1])
    matches = _in_top_k(labels.reshape(-1), y_pred, k)
    return _floats(matches.reshape(shape) if len(shape) > 1 else matches)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1 where the class of the one-hot `y_true` is among the `k` highest predictions."""
    y_true, y_pred, _ = _arrays(y_true, y_pred)
    _check_one_hot(y_true, y_pred, "top_k_categorical_accuracy")
    return _top_k_matches(y_true.argmax(axis=-1), y_pred, k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1 where the integer label is among the `k` highest predictions."""
    y_true, y_pred, _ = _arrays(y_true, y_pred)
    return _top_k_matches(y_true, y_pred, k)


# ----------------------------------------------------------------------- classes

class Accuracy(BuiltinMetricWrapper):
    """How often predictions equal labels exactly.

    Args:
        name: name of the metric instance.
        dtype: dtype of the result.
    """

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(accuracy, name=name, dtype=dtype)


class BinaryAccuracy(BuiltinMetricWrapper):
    """How often `y_pred > threshold` matches binary labels.

    Args:
        name: name of the metric instance.
        dtype: dtype of the result.
        threshold: predictions above it count as 1 (0.5 for probabilities; 0.0 suits
            logits).
    """

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.number)):
            raise TypeError(
                f"BinaryAccuracy: `threshold` must be a number. Received: threshold={threshold!r}"
            )
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold


class CategoricalAccuracy(BuiltinMetricWrapper):
    """How often the argmax of the predictions matches one-hot labels.

    Args:
        name: name of the metric instance.
        dtype: dtype of the result.
    """

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(BuiltinMetricWrapper):
    """How often the argmax of the predictions matches integer labels.

    Args:
        name: name of the metric instance.
        dtype: dtype of the result.
    """

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


def _check_k(k, name):
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"{name}: `k` must be a positive int. Received: k={k!r}")


class TopKCategoricalAccuracy(BuiltinMetricWrapper):
    """How often the one-hot target is among the `k` highest predictions.

    Args:
        k: how many of the highest predictions to look at.
        name: name of the metric instance.
        dtype: dtype of the result.
    """

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        _check_k(k, name)
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k


class SparseTopKCategoricalAccuracy(BuiltinMetricWrapper):
    """How often the integer target is among the `k` highest predictions.

    Args:
        k: how many of the highest predictions to look at.
        name: name of the metric instance.
        dtype: dtype of the result.
    """

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None):
        _check_k(k, name)
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k
