"""`gkeras.metrics.get`, Keras 2's "accuracy" rule, configs and custom metrics."""

import numpy as np
import pytest
from helpers import assert_close

from gkeras import losses, metrics, ops


@pytest.mark.parametrize("name, cls", [
    ("mse", metrics.MeanSquaredError), ("mae", metrics.MeanAbsoluteError),
    ("mape", metrics.MeanAbsolutePercentageError), ("msle", metrics.MeanSquaredLogarithmicError),
    ("binary_accuracy", metrics.BinaryAccuracy),
    ("categorical_accuracy", metrics.CategoricalAccuracy),
    ("sparse_categorical_accuracy", metrics.SparseCategoricalAccuracy),
    ("top_k_categorical_accuracy", metrics.TopKCategoricalAccuracy),
    ("sparse_top_k_categorical_accuracy", metrics.SparseTopKCategoricalAccuracy),
    ("auc", metrics.AUC), ("precision", metrics.Precision), ("recall", metrics.Recall),
    ("binary_crossentropy", metrics.BinaryCrossentropy),
    ("root_mean_squared_error", metrics.RootMeanSquaredError),
    ("accuracy", metrics.Accuracy),
])
def test_get_lower_case_names_keep_the_string_as_name(name, cls):
    metric = metrics.get(name)
    assert type(metric) is cls and metric.name == name


@pytest.mark.parametrize("name, default", [
    ("AUC", "auc"), ("Precision", "precision"), ("MeanSquaredError", "mean_squared_error"),
    ("SparseCategoricalAccuracy", "sparse_categorical_accuracy"),
])
def test_get_class_names_use_the_default_name(name, default):
    assert metrics.get(name).name == default


def test_get_instances_classes_functions_and_none():
    m = metrics.AUC(num_thresholds=10)
    assert metrics.get(m) is m
    assert isinstance(metrics.get(metrics.Recall), metrics.Recall)
    assert metrics.get(None) is None

    def my_metric(y_true, y_pred):
        return ops.abs(ops.subtract(y_true, y_pred))

    wrapped = metrics.get(my_metric)
    assert isinstance(wrapped, metrics.MeanMetricWrapper) and wrapped.name == "my_metric"
    wrapped.update_state(np.array([1.0, 2.0]), np.array([2.0, 2.0]))
    assert_close(wrapped.result(), 0.5)


def test_get_unknown_names():
    with pytest.raises(ValueError, match="Could not interpret metric identifier.*'auc'"):
        metrics.get("acuracy")
    with pytest.raises(ValueError, match="resolve_accuracy"):
        metrics.get("acc")


@pytest.mark.parametrize("loss, shape, expected", [
    ("binary_crossentropy", (None, 1), metrics.BinaryAccuracy),
    (losses.BinaryCrossentropy(from_logits=True), (None, 5), metrics.BinaryAccuracy),
    ("mse", (None, 1), metrics.BinaryAccuracy),
    ("sparse_categorical_crossentropy", (None, 10), metrics.SparseCategoricalAccuracy),
    (losses.SparseCategoricalCrossentropy(from_logits=True), (None, 10),
     metrics.SparseCategoricalAccuracy),
    ("categorical_crossentropy", (None, 10), metrics.CategoricalAccuracy),
    (losses.MeanSquaredError(), (None, 3), metrics.CategoricalAccuracy),
    (None, (None, 4), metrics.CategoricalAccuracy),
    (losses.get(losses.binary_crossentropy), (None, 3), metrics.BinaryAccuracy),
])
@pytest.mark.parametrize("name", ["accuracy", "acc"])
def test_resolve_accuracy_follows_keras2(loss, shape, expected, name):
    metric = metrics.resolve_accuracy(name, loss, shape)
    assert type(metric) is expected and metric.name == name


def test_resolve_accuracy_reads_integer_targets_for_other_losses():
    def custom(y_true, y_pred):
        return losses.mean_squared_error(y_true, y_pred)

    assert type(metrics.resolve_accuracy("acc", custom, (None, 5), target_shape=(None,))) is (
        metrics.SparseCategoricalAccuracy)
    assert type(metrics.resolve_accuracy("acc", custom, (None, 5), target_shape=(None, 1))) is (
        metrics.SparseCategoricalAccuracy)
    assert type(metrics.resolve_accuracy("acc", custom, (None, 5), target_shape=(None, 5))) is (
        metrics.CategoricalAccuracy)
    # the loss decides first, as in Keras 2
    assert type(metrics.resolve_accuracy("acc", "categorical_crossentropy", (None, 5),
                                         target_shape=(None,))) is metrics.CategoricalAccuracy


@pytest.mark.parametrize("loss, shape, expected", [
    ("binary_crossentropy", (None, 1), metrics.BinaryCrossentropy),
    ("sparse_categorical_crossentropy", (None, 4), metrics.SparseCategoricalCrossentropy),
    ("categorical_crossentropy", (None, 4), metrics.CategoricalCrossentropy),
])
def test_resolve_crossentropy(loss, shape, expected):
    for name in ("crossentropy", "ce"):
        metric = metrics.resolve_crossentropy(name, loss, shape)
        assert type(metric) is expected and metric.name == name
    assert type(metrics.resolve_accuracy("ce", loss, shape)) is expected


def test_resolve_accuracy_rejects_other_names():
    with pytest.raises(ValueError, match="'accuracy', 'acc'"):
        metrics.resolve_accuracy("auc", None, (None, 1))


@pytest.mark.parametrize("metric", [
    metrics.AUC(num_thresholds=50, curve="PR", summation_method="minoring", name="pr"),
    metrics.AUC(thresholds=[0.2, 0.6]), metrics.AUC(multi_label=True, label_weights=[1, 2]),
    metrics.Precision(thresholds=[0.3, 0.6], class_id=1),
    metrics.Recall(top_k=3), metrics.TruePositives(thresholds=0.4),
    metrics.BinaryAccuracy(threshold=0.6), metrics.TopKCategoricalAccuracy(k=2),
    metrics.MeanSquaredError(name="m"), metrics.Mean(name="loss"),
    metrics.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1),
    metrics.CosineSimilarity(axis=-1), metrics.RootMeanSquaredError(),
])
def test_config_round_trip(metric):
    rebuilt = type(metric).from_config(metric.get_config())
    assert rebuilt.get_config() == metric.get_config()
    again = metrics.deserialize(metrics.serialize(metric))
    assert type(again) is type(metric) and again.get_config() == metric.get_config()


def test_mean_metric_wrapper_round_trip():
    m = metrics.MeanMetricWrapper(metrics.sparse_top_k_categorical_accuracy, name="top3", k=3)
    again = metrics.deserialize(metrics.serialize(m))
    assert again._fn is metrics.sparse_top_k_categorical_accuracy and again._fn_kwargs == {"k": 3}


def test_custom_metric_subclass(bk):
    class CountAbove(metrics.Metric):
        def __init__(self, name="count_above", **kwargs):
            super().__init__(name=name, **kwargs)
            self.count = self.add_variable(shape=(), name="count")

        def update_state(self, y_true, y_pred, sample_weight=None):
            self.count.assign_add(ops.sum(ops.cast(ops.greater(y_pred, 0.5), "float32")))

        def result(self):
            return self.count

    m = CountAbove()
    m.update_state(None, bk.asarray([0.1, 0.7, 0.9]))
    m.update_state(None, bk.asarray([0.6]))
    assert float(m.result().numpy()) == 3.0
    m.reset_state()
    assert float(m.result().numpy()) == 0.0
    assert len(m.variables) == 1
