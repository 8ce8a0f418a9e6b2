"""`Mean`, `Sum`, `MeanMetricWrapper` and the regression / probabilistic / hinge metrics."""

import numpy as np
import pytest
from helpers import assert_close, to_host
from losses import references as R

from gkeras import metrics
from gkeras.autodiff import Tensor


def test_mean_with_and_without_weights(bk):
    m = metrics.Mean()
    m.update_state(bk.asarray([1.0, 3.0, 5.0, 7.0]))
    assert_close(m.result(), 4.0)
    m.reset_state()
    m.update_state(bk.asarray([1.0, 3.0, 5.0, 7.0]), sample_weight=bk.asarray([1, 1, 0, 0]))
    assert_close(m.result(), 2.0)
    m.update_state(bk.asarray([10.0]), sample_weight=bk.asarray([2.0]))
    assert_close(m.result(), (1 + 3 + 20) / 4)


def test_mean_of_nothing_is_zero(bk):
    assert float(metrics.Mean().result().numpy()) == 0.0


def test_mean_scalar_with_batch_size_weight(bk):
    # how the trainer tracks the loss: a batch-mean scalar weighted by the batch size
    m = metrics.Mean(name="loss")
    m.update_state(bk.asarray(np.float32(2.0)), sample_weight=32)
    m.update_state(bk.asarray(np.float32(5.0)), sample_weight=8)
    assert_close(m.result(), (2 * 32 + 5 * 8) / 40)


def test_mean_reduces_entries_to_the_weights_rank(bk, rng):
    values = rng.standard_normal((5, 3))
    w = rng.uniform(0, 1, 5)
    m = metrics.Mean(dtype="float64")
    m.update_state(bk.asarray(values), sample_weight=bk.asarray(w))
    # per-sample means weighted by per-sample weights
    assert_close(m.result(), (values.mean(1) * w).sum() / w.sum(), rtol=1e-12)
    w2 = rng.uniform(0, 1, (5, 3))
    m.reset_state()
    m.update_state(bk.asarray(values), sample_weight=bk.asarray(w2))
    assert_close(m.result(), (values * w2).mean(1).sum() / w2.mean(1).sum(), rtol=1e-12)


def test_sum(bk):
    s = metrics.Sum()
    s.update_state(bk.asarray([1.0, 3.0, 5.0, 7.0]), sample_weight=bk.asarray([1, 1, 0, 0]))
    s.update_state(bk.asarray([[1.0, 2.0]]))
    assert_close(s.result(), 7.0)
    s.reset_state()
    assert_close(s.result(), 0.0)


def test_state_stays_on_the_device(bk):
    m = metrics.Mean()
    m.update_state(bk.asarray([1.0, 2.0]))
    assert all(bk.owns(v) for v in m.variables)
    result = m.result()
    assert isinstance(result, Tensor) and bk.owns(result.data)


def test_result_is_a_snapshot(bk):
    s = metrics.Sum()
    s.update_state(bk.asarray([1.0]))
    first = s.result()
    s.update_state(bk.asarray([1.0]))
    assert_close(first, 1.0)


def test_mean_metric_wrapper_with_custom_function(bk, rng):
    def abs_error(y_true, y_pred):
        return Tensor(abs(y_true - y_pred))

    m = metrics.MeanMetricWrapper(abs_error)
    assert m.name == "abs_error"
    y, p = rng.standard_normal(6), rng.standard_normal(6)
    m.update_state(bk.asarray(y[:3]), bk.asarray(p[:3]))
    m.update_state(bk.asarray(y[3:]), bk.asarray(p[3:]))
    assert_close(m.result(), np.abs(y - p).mean())


def test_call_updates_and_returns_the_result(bk):
    m = metrics.MeanAbsoluteError()
    assert_close(m(bk.asarray([[0.0, 1.0]]), bk.asarray([[1.0, 1.0]])), 0.5)
    assert_close(m(bk.asarray([[0.0, 0.0]]), bk.asarray([[0.0, 0.0]])), 0.25)


REGRESSION = [
    (metrics.MeanSquaredError, R.mse, "real"),
    (metrics.MeanAbsoluteError, R.mae, "real"),
    (metrics.MeanAbsolutePercentageError, R.mape, "real"),
    (metrics.MeanSquaredLogarithmicError, R.msle, "positive"),
    (metrics.LogCoshError, R.log_cosh, "real"),
    (metrics.CosineSimilarity, lambda y, p: -R.cosine_similarity(y, p), "real"),
    (metrics.KLDivergence, R.kl_divergence, "positive"),
    (metrics.Poisson, R.poisson, "positive"),
    (metrics.Hinge, R.hinge, "signs"),
    (metrics.SquaredHinge, R.squared_hinge, "signs"),
    (metrics.CategoricalHinge, R.categorical_hinge, "onehot"),
    (metrics.BinaryCrossentropy, R.bce, "binary"),
    (metrics.CategoricalCrossentropy, R.cce, "onehot"),
]


def _inputs(kind, rng, n=8):
    if kind == "positive":
        return rng.uniform(0.05, 1.0, (n, 3)), rng.uniform(0.05, 1.0, (n, 3))
    if kind == "signs":
        return rng.choice([-1.0, 1.0], (n, 3)), rng.standard_normal((n, 3))
    if kind == "binary":
        return rng.integers(0, 2, (n, 3)).astype(float), rng.uniform(0.05, 0.95, (n, 3))
    if kind == "onehot":
        p = rng.uniform(0.1, 1, (n, 3))
        return np.eye(3)[rng.integers(0, 3, n)], p / p.sum(1, keepdims=True)
    return rng.standard_normal((n, 3)), rng.standard_normal((n, 3))


@pytest.mark.parametrize("cls, ref, kind", REGRESSION, ids=[c[0].__name__ for c in REGRESSION])
def test_loss_like_metrics_over_two_batches(bk, rng, cls, ref, kind):
    y, p = _inputs(kind, rng)
    w = rng.uniform(0.1, 2.0, 8)
    m = cls(dtype="float64")
    m.update_state(bk.asarray(y[:5]), bk.asarray(p[:5]), sample_weight=bk.asarray(w[:5]))
    m.update_state(bk.asarray(y[5:]), bk.asarray(p[5:]), sample_weight=bk.asarray(w[5:]))
    assert_close(m.result(), (ref(y, p) * w).sum() / w.sum(), rtol=1e-10)
    m.reset_state()
    assert_close(m.result(), 0.0)


def test_sparse_categorical_crossentropy_metric(bk, rng):
    labels = rng.integers(0, 4, 6)
    z = rng.standard_normal((6, 4))
    m = metrics.SparseCategoricalCrossentropy(from_logits=True, dtype="float64")
    m.update_state(bk.asarray(labels), bk.asarray(z))
    assert_close(m.result(), R.scce(labels, z, True).mean(), rtol=1e-10)


def test_root_mean_squared_error(bk, rng):
    y, p = rng.standard_normal((6, 2)), rng.standard_normal((6, 2))
    w = rng.uniform(0, 1, 6)
    m = metrics.RootMeanSquaredError(dtype="float64")
    m.update_state(bk.asarray(y[:4]), bk.asarray(p[:4]), sample_weight=bk.asarray(w[:4]))
    m.update_state(bk.asarray(y[4:]), bk.asarray(p[4:]), sample_weight=bk.asarray(w[4:]))
    assert_close(m.result(), np.sqrt((((y - p) ** 2).mean(1) * w).sum() / w.sum()), rtol=1e-10)


def test_float32_state_by_default(bk, rng):
    m = metrics.MeanSquaredError()
    m.update_state(bk.asarray(rng.standard_normal((4, 2))), bk.asarray(np.zeros((4, 2))))
    assert m.dtype == "float32" and all(v.dtype == np.float32 for v in m.variables)


def test_state_follows_the_data_device(bk):
    from gkeras import backend as backend_module

    m = metrics.Mean()  # built on the placement backend
    host = np.array([1.0, 3.0])
    m.update_state(host)  # NumPy data: the state moves next to it
    assert isinstance(m.variables[0], np.ndarray)
    assert_close(m.result(), 2.0)
    assert backend_module.numpy_backend().owns(to_host(m.variables[1]))


def test_bad_sample_weight_shape(bk):
    with pytest.raises(ValueError, match=r"sample_weight of shape \(3,\)"):
        metrics.Mean().update_state(bk.asarray(np.ones(5)), sample_weight=bk.asarray(np.ones(3)))
