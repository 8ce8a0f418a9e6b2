"""Accuracy metrics against NumPy references: label shapes, weights, ties, several batches."""

import numpy as np
import pytest
from helpers import assert_close

from gkeras import metrics


def _run(metric, bk, y, p, w=None, split=3):
    """Feeds the data in two batches; returns the result as a float."""
    for part in (slice(0, split), slice(split, None)):
        metric.update_state(bk.asarray(y[part]), bk.asarray(p[part]),
                            sample_weight=None if w is None else bk.asarray(w[part]))
    return float(metric.result().numpy())


def test_accuracy_exact_match(bk):
    y = np.array([[1], [2], [3], [4]])
    p = np.array([[0], [2], [3], [4]])
    assert _run(metrics.Accuracy(), bk, y, p) == pytest.approx(0.75)
    assert _run(metrics.Accuracy(), bk, y, p, w=np.array([1.0, 1, 0, 0])) == pytest.approx(0.5)


@pytest.mark.parametrize("threshold", [0.5, 0.7])
def test_binary_accuracy(bk, rng, threshold):
    y = rng.integers(0, 2, (8, 1)).astype("float32")
    p = rng.uniform(0, 1, (8, 1)).astype("float32")
    w = rng.uniform(0, 1, 8)
    hits = (y[:, 0] == (p[:, 0] > threshold)).astype(float)
    out = _run(metrics.BinaryAccuracy(threshold=threshold), bk, y, p, w)
    assert out == pytest.approx((hits * w).sum() / w.sum(), rel=1e-6)


def test_binary_accuracy_flat_labels_and_multi_label(bk, rng):
    y = rng.integers(0, 2, 8)
    p = rng.uniform(0, 1, (8, 1))
    assert _run(metrics.BinaryAccuracy(), bk, y, p) == pytest.approx(
        (y == (p[:, 0] > 0.5)).mean())
    ym = rng.integers(0, 2, (8, 3))
    pm = rng.uniform(0, 1, (8, 3))
    wm = rng.uniform(0, 1, (8, 3))  # one weight per label
    hits = (ym == (pm > 0.5))
    assert _run(metrics.BinaryAccuracy(), bk, ym, pm, wm) == pytest.approx(
        (hits * wm).mean(1).sum() / wm.mean(1).sum(), rel=1e-6)


def test_categorical_accuracy(bk, rng):
    labels = rng.integers(0, 4, 9)
    p = rng.standard_normal((9, 4))
    w = rng.uniform(0, 1, 9)
    hits = (labels == p.argmax(1)).astype(float)
    out = _run(metrics.CategoricalAccuracy(), bk, np.eye(4)[labels], p, w)
    assert out == pytest.approx((hits * w).sum() / w.sum(), rel=1e-6)


@pytest.mark.parametrize("column", [False, True])
def test_sparse_categorical_accuracy(bk, rng, column):
    labels = rng.integers(0, 5, 9)
    p = rng.standard_normal((9, 5))
    y = labels[:, None] if column else labels
    hits = (labels == p.argmax(1)).astype(float)
    assert _run(metrics.SparseCategoricalAccuracy(), bk, y, p) == pytest.approx(hits.mean())
    float_labels = y.astype("float32")  # labels that arrive as floats still compare equal
    assert _run(metrics.SparseCategoricalAccuracy(), bk, float_labels, p) == pytest.approx(
        hits.mean())


def _in_top_k(labels, p, k):
    # sorted, as a reference: in the top k when the label's score is >= the k-th largest
    kth = -np.sort(-p, axis=1)[:, min(k, p.shape[1]) - 1]
    return (p[np.arange(len(labels)), labels] >= kth).astype(float)


@pytest.mark.parametrize("k", [1, 2, 5])
def test_top_k_accuracies_with_ties(bk, rng, k):
    labels = rng.integers(0, 5, 12)
    p = rng.integers(0, 3, (12, 5)).astype("float32")  # many ties
    w = rng.uniform(0, 1, 12)
    expected = (_in_top_k(labels, p, k) * w).sum() / w.sum()
    assert _run(metrics.SparseTopKCategoricalAccuracy(k=k), bk, labels, p, w) == pytest.approx(
        expected, rel=1e-6)
    assert _run(metrics.TopKCategoricalAccuracy(k=k), bk, np.eye(5)[labels], p, w) == (
        pytest.approx(expected, rel=1e-6))


def test_sparse_top_k_with_column_labels(bk, rng):
    labels = rng.integers(0, 6, 10)
    p = rng.standard_normal((10, 6))
    out = _run(metrics.SparseTopKCategoricalAccuracy(k=3), bk, labels[:, None], p)
    assert out == pytest.approx(_in_top_k(labels, p, 3).mean())


def test_keras_docstring_examples(bk):
    m = metrics.SparseCategoricalAccuracy()
    m.update_state(bk.asarray([[2], [1]]), bk.asarray([[0.1, 0.6, 0.3], [0.05, 0.95, 0]]),
                   sample_weight=bk.asarray([0.7, 0.3]))
    assert_close(m.result(), 0.3)
    m = metrics.TopKCategoricalAccuracy(k=1)
    m.update_state(bk.asarray([[0, 0, 1], [0, 1, 0]]),
                   bk.asarray([[0.1, 0.9, 0.8], [0.05, 0.95, 0]]))
    assert_close(m.result(), 0.5)


def test_reset_state(bk):
    m = metrics.CategoricalAccuracy()
    m.update_state(bk.asarray(np.eye(3)), bk.asarray(np.eye(3)))
    assert_close(m.result(), 1.0)
    m.reset_state()
    assert_close(m.result(), 0.0)
    m.update_state(bk.asarray(np.eye(3)), bk.asarray(np.eye(3)[::-1]))
    assert_close(m.result(), 1 / 3)


def test_function_forms(bk):
    out = metrics.sparse_categorical_accuracy(bk.asarray([1, 0]), bk.asarray([[0.2, 0.8],
                                                                             [0.3, 0.7]]))
    assert_close(out, [1.0, 0.0])
    out = metrics.binary_accuracy(bk.asarray([[1.0, 0.0]]), bk.asarray([[0.9, 0.8]]))
    assert_close(out, [[1.0, 0.0]])


def test_categorical_accuracy_refuses_integer_labels(bk):
    with pytest.raises(ValueError, match="one-hot labels.*sparse_categorical_accuracy"):
        metrics.CategoricalAccuracy().update_state(bk.asarray([0, 1]),
                                                   bk.asarray([[0.2, 0.8], [0.3, 0.7]]))


def test_binary_accuracy_threshold_for_logits():
    # Keras accepts any threshold: 0.0 is the usual one for logits
    m = metrics.BinaryAccuracy(threshold=0.0)
    m.update_state(np.array([[1.0], [0.0], [1.0], [0.0]]), np.array([[2.3], [-0.1], [-4.0], [0.7]]))
    assert float(m.result()) == pytest.approx(0.5)


def test_bad_arguments():
    with pytest.raises(TypeError, match="threshold"):
        metrics.BinaryAccuracy(threshold="high")
    with pytest.raises(ValueError, match="`k` must be a positive int"):
        metrics.TopKCategoricalAccuracy(k=0)
