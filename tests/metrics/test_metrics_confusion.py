"""Confusion-matrix metrics and AUC against references computed here with explicit loops."""

import numpy as np
import pytest
from helpers import assert_close, to_host

from gkeras import metrics

EPS = 1e-7


def _counts(y, p, w, thresholds):
    """tp, fp, tn, fn at each threshold: one comparison per threshold (the naive way)."""
    y, p, w = np.ravel(y).astype(bool), np.ravel(p), np.ravel(w)
    out = []
    for t in thresholds:
        pos = p > t
        out.append([(w * (pos & y)).sum(), (w * (pos & ~y)).sum(),
                    (w * (~pos & ~y)).sum(), (w * (~pos & y)).sum()])
    return np.array(out).T


def _auc_thresholds(n):
    return [-EPS] + [(i + 1) / (n - 1) for i in range(n - 2)] + [1 + EPS]


def _safe_div(a, b):
    return np.where(b > 0, a / np.where(b > 0, b, 1), 0.0)


def _roc_auc(y, p, w, thresholds, method="interpolation"):
    tp, fp, tn, fn = _counts(y, p, w, thresholds)
    tpr, fpr = _safe_div(tp, tp + fn), _safe_div(fp, fp + tn)
    total = 0.0
    for i in range(len(thresholds) - 1):
        height = {"interpolation": (tpr[i] + tpr[i + 1]) / 2,
                  "minoring": min(tpr[i], tpr[i + 1]),
                  "majoring": max(tpr[i], tpr[i + 1])}[method]
        total += (fpr[i] - fpr[i + 1]) * height  # a trapezoid for "interpolation"
    return total


def _pr_auc_interpolated(y, p, w, thresholds):
    """Davis & Goadrich: between thresholds, TP and P = TP + FP vary linearly; precision is
    TP / P, integrated over recall numerically with a fine grid."""
    tp, fp, _, fn = _counts(y, p, w, thresholds)
    positives = tp[0] + fn[0]
    total = 0.0
    for i in range(len(thresholds) - 1):
        if tp[i] == tp[i + 1]:
            continue
        s = np.linspace(0, 1, 20001)
        tp_s = tp[i + 1] + s * (tp[i] - tp[i + 1])
        p_s = (tp[i + 1] + fp[i + 1]) + s * ((tp[i] + fp[i]) - (tp[i + 1] + fp[i + 1]))
        prec = np.where(p_s > 0, tp_s / np.where(p_s > 0, p_s, 1), 1.0)
        if tp[i + 1] + fp[i + 1] == 0:
            prec = np.full_like(s, tp[i] / (tp[i] + fp[i]))  # constant in the first bucket
        # d(recall) = d(tp) / positives; trapezoids on the fine grid
        total += ((tp_s[1:] - tp_s[:-1]) * (prec[:-1] + prec[1:]) / 2).sum() / positives
    return total


@pytest.fixture
def data(rng):
    y = rng.integers(0, 2, 60).astype("float32")
    p = np.clip(0.3 * y + rng.uniform(0, 0.7, 60), 0, 1).astype("float32")
    w = rng.uniform(0.1, 2.0, 60).astype("float32")
    return y, p, w


def _feed(metric, bk, y, p, w=None):
    for part in (slice(0, 25), slice(25, None)):
        metric.update_state(bk.asarray(y[part]), bk.asarray(p[part]),
                            sample_weight=None if w is None else bk.asarray(w[part]))
    return metric.result().numpy()


@pytest.mark.parametrize("cls, index", [(metrics.TruePositives, 0), (metrics.FalsePositives, 1),
                                        (metrics.TrueNegatives, 2), (metrics.FalseNegatives, 3)])
def test_condition_counts(bk, data, cls, index):
    y, p, w = data
    thresholds = [0.7, 0.2, 0.5]  # kept in the user's order
    out = _feed(cls(thresholds=thresholds), bk, y, p, w)
    assert_close(out, _counts(y, p, w, thresholds)[index], rtol=1e-5)
    assert_close(_feed(cls(), bk, y, p), _counts(y, p, np.ones_like(p), [0.5])[index][0])


@pytest.mark.parametrize("thresholds", [None, [0.3], [0.8, 0.1, 0.5], [0, 0.25, 0.5, 0.75, 1]])
def test_precision_and_recall(bk, data, thresholds):
    y, p, w = data
    t = [0.5] if thresholds is None else thresholds
    tp, fp, _, fn = _counts(y, p, w, t)
    prec, rec = _safe_div(tp, tp + fp), _safe_div(tp, tp + fn)
    if thresholds is None or len(t) == 1:
        prec, rec = prec[0], rec[0]
    assert_close(_feed(metrics.Precision(thresholds=thresholds), bk, y, p, w), prec, rtol=1e-5)
    assert_close(_feed(metrics.Recall(thresholds=thresholds), bk, y, p, w), rec, rtol=1e-5)


def test_precision_with_no_positive_prediction_is_zero(bk):
    out = _feed(metrics.Precision(), bk, np.ones(30), np.zeros(30))
    assert out == 0.0


def test_precision_recall_class_id_and_top_k(bk, rng):
    y = rng.integers(0, 2, (30, 4)).astype("float32")
    p = rng.uniform(0, 1, (30, 4)).astype("float32")
    w = rng.uniform(0, 1, 30)
    wide = np.repeat(w[:, None], 4, axis=1)
    tp, fp, _, fn = _counts(y[:, 2], p[:, 2], w, [0.5])
    assert_close(_feed(metrics.Precision(class_id=2), bk, y, p, w), tp / (tp + fp), rtol=1e-5)
    assert_close(_feed(metrics.Recall(class_id=2), bk, y, p, w), tp / (tp + fn), rtol=1e-5)
    # top_k: only the 2 largest scores of each row count as predicted positives
    keep = np.argsort(-p, axis=1, kind="stable")[:, :2]
    top = np.zeros_like(p, dtype=bool)
    np.put_along_axis(top, keep, True, axis=1)
    tp = (wide * (top & (y == 1))).sum()
    fp = (wide * (top & (y == 0))).sum()
    fn = (wide * (~top & (y == 1))).sum()
    assert_close(_feed(metrics.Precision(top_k=2), bk, y, p, w), tp / (tp + fp), rtol=1e-5)
    assert_close(_feed(metrics.Recall(top_k=2), bk, y, p, w), tp / (tp + fn), rtol=1e-5)


@pytest.mark.parametrize("num_thresholds", [3, 7, 200])
@pytest.mark.parametrize("method", ["interpolation", "minoring", "majoring"])
def test_roc_auc_against_trapezoids(bk, data, num_thresholds, method):
    y, p, w = data
    m = metrics.AUC(num_thresholds=num_thresholds, summation_method=method)
    expected = _roc_auc(y, p, w, _auc_thresholds(num_thresholds), method)
    assert_close(_feed(m, bk, y, p, w), expected, rtol=1e-5, atol=1e-7)


def test_roc_auc_approaches_the_exact_area(bk, rng):
    # with many thresholds the trapezoids converge to P(score of a positive > a negative)
    y = rng.integers(0, 2, 400)
    p = np.clip(0.25 * y + rng.uniform(0, 0.75, 400), 0, 1)
    pos, neg = p[y == 1], p[y == 0]
    exact = (pos[:, None] > neg[None, :]).mean()
    m = metrics.AUC(num_thresholds=2000)
    m.update_state(bk.asarray(y), bk.asarray(p))
    assert abs(float(m.result().numpy()) - exact) < 2e-3


def test_explicit_thresholds_and_pr_curve(bk, data):
    y, p, w = data
    inner = [0.6, 0.1, 0.35, 0.9]
    thresholds = [-EPS] + sorted(inner) + [1 + EPS]
    m = metrics.AUC(thresholds=inner)
    assert m.thresholds == pytest.approx(thresholds)
    assert_close(_feed(m, bk, y, p, w), _roc_auc(y, p, w, thresholds), rtol=1e-5)
    pr = metrics.AUC(thresholds=inner, curve="PR")
    assert_close(_feed(pr, bk, y, p, w), _pr_auc_interpolated(y, p, w, thresholds),
                 rtol=1e-4)


def test_pr_auc_minoring_and_majoring_bracket_interpolation(bk, data):
    y, p, w = data
    values = {m: float(_feed(metrics.AUC(curve="PR", num_thresholds=9, summation_method=m),
                             bk, y, p, w)) for m in ("minoring", "interpolation", "majoring")}
    assert values["minoring"] <= values["interpolation"] <= values["majoring"]


def test_auc_keras_docstring_example(bk):
    m = metrics.AUC(num_thresholds=3)
    m.update_state(bk.asarray([0, 0, 1, 1]), bk.asarray([0, 0.5, 0.3, 0.9]))
    assert_close(m.result(), 0.75)
    m.reset_state()
    m.update_state(bk.asarray([0, 0, 1, 1]), bk.asarray([0, 0.5, 0.3, 0.9]),
                   sample_weight=bk.asarray([1, 0, 0, 1]))
    assert_close(m.result(), 1.0)


def test_auc_from_logits(bk, rng):
    y = rng.integers(0, 2, 40)
    z = rng.standard_normal(40) * 2
    m = metrics.AUC(from_logits=True, num_thresholds=50)
    m.update_state(bk.asarray(y), bk.asarray(z))
    expected = _roc_auc(y, 1 / (1 + np.exp(-z)), np.ones(40), _auc_thresholds(50))
    assert_close(m.result(), expected, rtol=1e-5)


def test_multi_label_auc_averages_per_label_areas(bk, rng):
    y = rng.integers(0, 2, (50, 3))
    p = rng.uniform(0, 1, (50, 3))
    lw = np.array([1.0, 3.0, 0.5])
    per_label = [_roc_auc(y[:, j], p[:, j], np.ones(50), _auc_thresholds(20)) for j in range(3)]
    m = metrics.AUC(multi_label=True, num_thresholds=20)
    assert_close(_feed(m, bk, y, p), np.mean(per_label), rtol=1e-5)
    m = metrics.AUC(multi_label=True, num_thresholds=20, label_weights=lw)
    assert_close(_feed(m, bk, y, p), (np.array(per_label) * lw).sum() / lw.sum(), rtol=1e-5)
    flat = metrics.AUC(num_thresholds=20)  # multi_label=False flattens every label
    assert_close(_feed(flat, bk, y, p), _roc_auc(y, p, np.ones_like(p), _auc_thresholds(20)),
                 rtol=1e-5)


def test_auc_reset(bk, data):
    y, p, w = data
    m = metrics.AUC()
    _feed(m, bk, y, p, w)
    m.reset_state()
    assert all(float(np.abs(to_host(v)).sum()) == 0 for v in m.variables)
    assert_close(_feed(m, bk, y, p, w), _roc_auc(y, p, w, _auc_thresholds(200)), rtol=1e-5)


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_thresholds"):
        metrics.AUC(num_thresholds=1)
    with pytest.raises(ValueError, match="curve"):
        metrics.AUC(curve="ROCK")
    with pytest.raises(ValueError, match="summation method"):
        metrics.AUC(summation_method="simpson")
    with pytest.raises(ValueError, match=r"threshold values must be in \[0, 1\]"):
        metrics.Precision(thresholds=[0.5, 1.5])
    with pytest.raises(ValueError, match="num_labels"):
        metrics.AUC(num_labels=3)


def test_shape_mismatch(bk):
    with pytest.raises(ValueError, match=r"y_true.shape=\(4, 2\), y_pred.shape=\(4, 3\)"):
        metrics.Precision().update_state(bk.asarray(np.zeros((4, 2))),
                                         bk.asarray(np.zeros((4, 3))))
