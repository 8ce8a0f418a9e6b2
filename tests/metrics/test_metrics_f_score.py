"""FBetaScore, F1Score and R2Score: two batches against real Keras 3 (recorded by
tests/data/make_extra_references.py) and float64 NumPy formulas, with and without sample
weights; state, names, configs, bad arguments and a tiny fit."""

import json
import os
import warnings

import numpy as np
import pytest
from helpers import assert_close

import gkeras as keras
from gkeras import metrics

REFERENCE = os.path.join(os.path.dirname(__file__), "..", "data",
                         "keras_losses_metrics_extra.json")
with open(REFERENCE) as _f:
    DATA = json.load(_f)
INPUTS = {k: [np.array(b) for b in v] for k, v in DATA["metric_inputs"].items()}
EPS = 1e-7


# ------------------------------------------------------------ float64 references
def np_fbeta(y_true, y_pred, weights=None, average=None, beta=1.0, threshold=None):
    """F-beta over the concatenated batches, written from the definition."""
    if threshold is None:
        pred = (y_pred == y_pred.max(-1, keepdims=True)) & (np.abs(y_pred) > 1e-9)
    else:
        pred = y_pred > threshold
    pred = pred.astype(np.float64)
    w = np.ones(len(y_true)) if weights is None else weights
    axis = None if average == "micro" else 0
    tp = (w[:, None] * pred * y_true).sum(axis)
    fp = (w[:, None] * pred * (1 - y_true)).sum(axis)
    fn = (w[:, None] * (1 - pred) * y_true).sum(axis)
    precision, recall = tp / (tp + fp + EPS), tp / (tp + fn + EPS)
    score = (1 + beta ** 2) * precision * recall / (beta ** 2 * precision + recall + EPS)
    if average == "weighted":
        support = (w[:, None] * y_true).sum(0)
        return (score * support / (support.sum() + EPS)).sum()
    return score.mean() if average else score


def np_r2(y_true, y_pred, weights=None, aggregation="uniform_average", regressors=0):
    w = np.ones(len(y_true)) if weights is None else weights
    w = np.broadcast_to(w[:, None], y_true.shape)
    mean = (w * y_true).sum(0) / w.sum(0)
    total = (w * (y_true - mean) ** 2).sum(0)
    scores = 1 - (w * (y_true - y_pred) ** 2).sum(0) / total
    if aggregation == "uniform_average":
        score = scores.mean()
    elif aggregation == "variance_weighted_average":
        score = (scores * total).sum() / total.sum()
    else:
        score = scores
    if regressors:
        n = y_true.size
        score = 1 - (1 - score) * (n - 1) / (n - regressors - 1)
    return score


def _run(metric, y_true, y_pred, weights=None, batches=2):
    out = []
    for b in range(batches):
        metric.update_state(y_true[b], y_pred[b],
                            sample_weight=None if weights is None else weights[b])
        out.append(metric.result().numpy())
    return out


# ---------------------------------------------------------------- Keras 3 values
@pytest.mark.parametrize("case", sorted(DATA["metrics"]))
@pytest.mark.parametrize("weighted", [False, True])
def test_matches_keras_over_two_batches(case, weighted):
    entry = DATA["metrics"][case]
    metric = metrics.deserialize({"class_name": entry["class_name"], "config": entry["config"]})
    results = _run(metric, INPUTS[entry["y_true"]], INPUTS[entry["y_pred"]],
                   INPUTS["weights"] if weighted else None)
    for got, want in zip(results, entry["weighted" if weighted else "unweighted"]):
        assert got.dtype == np.float32
        assert_close(got, np.array(want), rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------- NumPy formulas
@pytest.mark.parametrize("config", [
    {}, {"average": "micro"}, {"average": "macro", "threshold": 0.3},
    {"average": "weighted", "beta": 0.5}, {"beta": 3.0, "threshold": 0.7},
])
@pytest.mark.parametrize("weighted", [False, True])
def test_fbeta_matches_numpy(rng, config, weighted):
    y_true = [(rng.uniform(size=(7, 4)) > 0.5).astype(np.float64) for _ in range(3)]
    y_pred = [rng.uniform(size=(7, 4)) for _ in range(3)]
    weights = [rng.uniform(0, 2, 7) for _ in range(3)] if weighted else None
    metric = metrics.FBetaScore(dtype="float64", **config)
    got = _run(metric, y_true, y_pred, weights, batches=3)[-1]
    expected = np_fbeta(np.concatenate(y_true), np.concatenate(y_pred),
                        None if weights is None else np.concatenate(weights), **config)
    assert_close(got, expected, rtol=1e-10, atol=1e-12)


def test_f1_is_fbeta_with_beta_one(rng):
    y = np.eye(3)[rng.integers(0, 3, 10)]
    p = rng.uniform(size=(10, 3))
    f1 = metrics.F1Score(average="macro")
    fb = metrics.FBetaScore(average="macro", beta=1.0)
    assert_close(f1(y, p), fb(y, p).numpy(), rtol=1e-7)
    assert f1.name == "f1_score" and fb.name == "fbeta_score"


def test_argmax_prediction_ignores_all_zero_rows():
    metric = metrics.F1Score(dtype="float64")
    metric.update_state(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[0.0, 0.0], [0.2, 0.9]]))
    # row 0 predicts nothing: class 0 has one false negative, class 1 one true positive
    assert_close(metric.true_positives.data, [0.0, 1.0])
    assert_close(metric.false_negatives.data, [1.0, 0.0])
    assert_close(metric.false_positives.data, [0.0, 0.0])


@pytest.mark.parametrize("config", [
    {}, {"class_aggregation": None}, {"class_aggregation": "variance_weighted_average"},
    {"num_regressors": 3},
])
@pytest.mark.parametrize("weighted", [False, True])
def test_r2_matches_numpy(rng, config, weighted):
    y_true = [rng.normal(size=(8, 3)) for _ in range(2)]
    y_pred = [t + rng.normal(0, 0.6, t.shape) for t in y_true]
    weights = [rng.uniform(0, 2, 8) for _ in range(2)] if weighted else None
    got = _run(metrics.R2Score(dtype="float64", **config), y_true, y_pred, weights)[-1]
    expected = np_r2(np.concatenate(y_true), np.concatenate(y_pred),
                     None if weights is None else np.concatenate(weights),
                     config.get("class_aggregation", "uniform_average"),
                     config.get("num_regressors", 0))
    assert_close(got, expected, rtol=1e-10, atol=1e-12)


def test_r2_labels_of_rank_one_line_up_with_one_output(rng):
    y, p = rng.normal(size=9), rng.normal(size=(9, 1))
    got = metrics.R2Score(dtype="float64")(y, p)
    assert_close(got, 1 - ((y - p[:, 0]) ** 2).sum() / ((y - y.mean()) ** 2).sum(), rtol=1e-10)
    with pytest.raises(ValueError, match=r"2D inputs.*\(9,\)"):  # Keras refuses rank 1 too
        metrics.R2Score().update_state(y, p[:, 0])


def test_r2_constant_target_gives_zero_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = metrics.R2Score()(np.ones((4, 1)), np.zeros((4, 1)))
    assert float(got.numpy()) == 0.0


def test_adjusted_r2_falls_back_with_a_warning(rng):
    metric = metrics.R2Score(num_regressors=10, dtype="float64")
    y, p = rng.normal(size=(4, 1)), rng.normal(size=(4, 1))
    metric.update_state(y, p)
    with pytest.warns(UserWarning, match="More independent predictors"):
        got = metric.result()
    assert_close(got, np_r2(y, p), rtol=1e-10)


# ------------------------------------------------------------------------ state
def test_reset_state_forgets_the_batches(rng):
    y, p = np.eye(3)[[0, 1, 2, 1]], rng.uniform(size=(4, 3))
    for metric in (metrics.F1Score(average="weighted"), metrics.R2Score()):
        fresh = float(np.mean(metric(y, p).numpy()))
        metric.update_state(np.eye(3)[[2, 2, 0, 0]], rng.uniform(size=(4, 3)))
        metric.reset_state()
        assert all(not np.any(v) for v in metric.variables)
        assert_close(np.mean(metric(y, p).numpy()), fresh, rtol=1e-6)


def test_state_shapes_follow_average():
    per_class, micro = metrics.F1Score(), metrics.F1Score(average="micro")
    for metric in (per_class, micro):
        metric.update_state(np.eye(3)[[0, 1]], np.full((2, 3), 0.4))
    assert per_class.true_positives.data.shape == (3,)
    assert micro.true_positives.data.shape == ()
    assert per_class.result().shape == (3,) and micro.result().shape == ()


# ------------------------------------------------------------------ names, configs
@pytest.mark.parametrize("name, cls", [
    ("f1_score", metrics.F1Score), ("F1Score", metrics.F1Score),
    ("fbeta_score", metrics.FBetaScore), ("FBetaScore", metrics.FBetaScore),
    ("r2_score", metrics.R2Score), ("R2Score", metrics.R2Score),
])
def test_names_resolve(name, cls):
    metric = metrics.get(name)
    assert type(metric) is cls


@pytest.mark.parametrize("metric", [
    metrics.F1Score(average="macro", threshold=0.3, name="f1m"),
    metrics.FBetaScore(average="weighted", beta=2.0),
    metrics.R2Score(class_aggregation=None, num_regressors=2, dtype="float64"),
])
def test_config_round_trip(metric):
    config = metric.get_config()
    again = metrics.deserialize(json.loads(json.dumps(metrics.serialize(metric))))
    assert type(again) is type(metric) and again.get_config() == config
    assert "beta" not in metrics.F1Score().get_config()


@pytest.mark.parametrize("make, match", [
    (lambda: metrics.F1Score(average="mean"), "average"),
    (lambda: metrics.FBetaScore(beta=0.0), "beta"),
    (lambda: metrics.FBetaScore(beta="2"), "beta"),
    (lambda: metrics.F1Score(threshold=0.0), "threshold"),
    (lambda: metrics.F1Score(threshold=1.5), "threshold"),
    (lambda: metrics.R2Score(class_aggregation="mean"), "class_aggregation"),
    (lambda: metrics.R2Score(num_regressors=-1), "num_regressors"),
])
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"2D inputs.*\(4,\)"):
        metrics.F1Score().update_state(np.ones(4), np.ones(4))
    with pytest.raises(ValueError, match=r"y_true.shape=\(4, 3\), y_pred.shape=\(4, 2\)"):
        metrics.F1Score().update_state(np.ones((4, 3)), np.ones((4, 2)))
    metric = metrics.R2Score()
    metric.update_state(np.ones((4, 3)), np.ones((4, 3)))
    with pytest.raises(ValueError, match="built for 3 outputs"):
        metric.update_state(np.ones((4, 2)), np.ones((4, 2)))


# ------------------------------------------------------------------------- fit
def test_compile_and_fit_with_the_new_names(rng):
    x = rng.normal(size=(32, 4)).astype("float32")
    y = (x[:, :1] > 0).astype("float32")
    model = keras.Sequential([keras.layers.Input((4,)), keras.layers.Dense(1, "sigmoid")])
    model.compile(optimizer="lion", loss="binary_focal_crossentropy",
                  metrics=["r2_score", metrics.F1Score(average="micro", threshold=0.5)])
    history = model.fit(x, y, epochs=2, batch_size=8, verbose=0).history
    assert set(history) == {"loss", "r2_score", "f1_score"}
    assert np.all(np.isfinite(history["loss"]))
    # the logged F1 is the metric over all of the last epoch's batches
    logs = model.evaluate(x, y, batch_size=32, verbose=0, return_dict=True)
    pred = model.predict(x, verbose=0)
    assert_close(logs["f1_score"], np_fbeta(y, pred, average="micro", threshold=0.5),
                 rtol=1e-5)


def test_fit_with_per_class_f1_string(rng, capsys):
    x = rng.normal(size=(16, 4)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, 16)]
    model = keras.Sequential([keras.layers.Input((4,)), keras.layers.Dense(3, "softmax")])
    model.compile(optimizer="ftrl", loss="categorical_focal_crossentropy", metrics=["f1_score"])
    history = model.fit(x, y, epochs=1, batch_size=8, verbose=0).history
    assert np.shape(history["f1_score"][0]) == (3,)  # one F1 per class, as Keras logs it
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    per_class = np_fbeta(y, model.predict(x, verbose=0), average=None, threshold=None)
    assert_close(logs["f1_score"], per_class, rtol=1e-5)
    capsys.readouterr()
    model.fit(x, y, epochs=1, batch_size=8, verbose=2)  # the bar shows the mean over classes
    assert "f1_score: " in capsys.readouterr().out
