"""The unweighted reduction path of `Mean` / `Sum` (per-sample values from N-d entries)."""

import numpy as np
import pytest
from helpers import assert_close

from gkeras import metrics


@pytest.mark.parametrize("shape", [(5,), (5, 1), (5, 3), (5, 2, 3), (5, 3, 1), (0, 3)],
                         ids=str)
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_mean_and_sum_average_entries_per_sample(bk, rng, shape, dtype):
    batches = [(rng.standard_normal(shape) * 4).astype(dtype) for _ in range(3)]
    mean, total = metrics.Mean(dtype="float64"), metrics.Sum(dtype="float64")
    for values in batches:
        mean.update_state(bk.asarray(values))
        total.update_state(bk.asarray(values))
    # Keras: each sample's entries are averaged (Mean) or summed (Sum) first, then the
    # per-sample values are averaged over all samples seen / summed
    entries = int(np.prod(shape[1:], dtype=int))
    per_sample = [v.reshape(shape[0], entries).astype(np.float64) for v in batches]
    means = np.concatenate([v.mean(axis=1) for v in per_sample]) if shape[0] else []
    expected_mean = np.mean(means) if len(means) else 0.0
    assert_close(mean.result(), expected_mean, rtol=1e-12)
    assert_close(total.result(), sum(v.sum() for v in per_sample), rtol=1e-12)


def test_mean_metric_wrapper_updates_inside_and_outside_no_grad(bk, rng):
    from gkeras.autodiff import is_grad_enabled, no_grad

    seen = []

    def fn(y_true, y_pred):
        seen.append(is_grad_enabled())
        return np.abs(np.asarray(y_true) - np.asarray(y_pred)).mean(axis=-1)

    m = metrics.MeanMetricWrapper(fn, name="mae_like")
    a, b = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    m.update_state(bk.asarray(a), bk.asarray(b))
    with no_grad():
        m.update_state(bk.asarray(b), bk.asarray(a))
    assert seen == [False, False] and is_grad_enabled()
    assert_close(m.result(), np.abs(a - b).mean(), rtol=1e-6)
