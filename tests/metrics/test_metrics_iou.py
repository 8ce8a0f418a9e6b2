"""IoU metrics against real Keras 3 results (tests/data/keras_iou_reference.json, recorded by
tests/data/make_iou_reference.py) and against a float64 NumPy computation written here."""

import json
import os
import warnings

import numpy as np
import pytest
from helpers import to_host

import gkeras as keras
from gkeras import metrics

REF = os.path.join(os.path.dirname(__file__), os.pardir, "data", "keras_iou_reference.json")
with open(REF) as _f:
    CASES = json.load(_f)["cases"]


def _numpy_iou(batches, num_classes, targets, ignore_class=None, sparse_true=True,
               sparse_pred=True, threshold=None, int_state=True):
    """The (confusion matrix, IoU) after all `batches`, one sample at a time in float64."""
    cm = np.zeros((num_classes, num_classes))
    for y_true, y_pred, weight in batches:
        y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
        if not sparse_true:
            y_true = y_true.argmax(-1)
        if threshold is not None:
            y_pred = (y_pred >= threshold).astype(float)
        elif not sparse_pred:
            y_pred = y_pred.argmax(-1)
        w = np.ones(y_true.shape) if weight is None else np.asarray(weight, float)
        w = np.broadcast_to(w.reshape(w.shape + (1,) * (y_true.ndim - w.ndim)), y_true.shape)
        if int_state:
            w = np.trunc(w)
        for t, p, wi in zip(np.trunc(y_true).ravel(), np.trunc(y_pred).ravel(), w.ravel()):
            if t == ignore_class or not (0 <= t < num_classes and 0 <= p < num_classes):
                continue
            cm[int(t), int(p)] += wi
    ious = []
    for c in targets:
        union = cm[c, :].sum() + cm[:, c].sum() - cm[c, c]
        if union > 0:  # classes seen nowhere are left out of the mean
            ious.append(cm[c, c] / union)
    return cm, (np.mean(ious) if ious else 0.0)


def _make(case):
    return getattr(metrics, case["class_name"])(**case["init"])


def _feed(metric, bk, batch):
    weight = batch["sample_weight"]
    metric.update_state(bk.asarray(np.asarray(batch["y_true"])),
                        bk.asarray(np.asarray(batch["y_pred"])),
                        sample_weight=None if weight is None else bk.asarray(np.asarray(weight)))


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_matches_keras(bk, case):
    metric = _make(case)
    for batch, expected in zip(case["batches"], case["results"]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the float-weights-into-int32 warning
            _feed(metric, bk, batch)
        result = metric.result()
        assert result.dtype == np.float32
        np.testing.assert_allclose(to_host(result.data), expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(to_host(metric.total_cm.data), case["confusion_matrix"],
                               rtol=1e-5, atol=1e-6)
    config = metric.get_config()
    expected_config = {k: v for k, v in case["config"].items() if k != "name"}
    assert {k: v for k, v in config.items() if k != "name"} == expected_config


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_matches_numpy(bk, case):
    init = case["init"]
    name = case["class_name"]
    num_classes = 2 if name == "BinaryIoU" else init["num_classes"]
    targets = init.get("target_class_ids", list(range(num_classes)))
    if name == "BinaryIoU":
        targets = init.get("target_class_ids", [0, 1])
    batches = [(b["y_true"], b["y_pred"], b["sample_weight"]) for b in case["batches"]]
    cm, expected = _numpy_iou(
        batches, num_classes, targets, ignore_class=init.get("ignore_class"),
        sparse_true=init.get("sparse_y_true", not name.startswith("OneHot")),
        sparse_pred=init.get("sparse_y_pred", not name.startswith("OneHot")),
        threshold=init.get("threshold", 0.5) if name == "BinaryIoU" else None,
        int_state=init.get("dtype", "int32") == "int32")
    metric = _make(case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for batch in case["batches"]:
            _feed(metric, bk, batch)
    np.testing.assert_allclose(to_host(metric.total_cm.data), cm, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(to_host(metric.result().data), expected, rtol=1e-5, atol=1e-6)


def test_reset_and_call(bk):
    m = metrics.MeanIoU(num_classes=2)
    first = m(bk.asarray(np.array([0, 0, 1, 1])), bk.asarray(np.array([0, 1, 0, 1])))
    np.testing.assert_allclose(to_host(first.data), 1 / 3, rtol=1e-5)
    m.reset_state()
    assert not to_host(m.total_cm.data).any()
    m.update_state(bk.asarray(np.array([0, 1])), bk.asarray(np.array([0, 1])))
    np.testing.assert_allclose(to_host(m.result().data), 1.0, rtol=1e-5)


def test_no_data_gives_zero():
    assert float(metrics.MeanIoU(num_classes=3).result().numpy()) == 0.0


def test_float_weights_into_int_state_warn_and_truncate():
    m = metrics.MeanIoU(num_classes=2)
    with pytest.warns(UserWarning, match="truncate"):
        m.update_state(np.array([0, 1]), np.array([0, 1]), sample_weight=np.array([0.5, 1.5]))
    np.testing.assert_array_equal(m.total_cm.data, [[0, 0], [0, 1]])


def test_per_sample_weights_for_segmentation_maps(rng):
    y_true = rng.integers(0, 3, (4, 5, 5))
    y_pred = rng.integers(0, 3, (4, 5, 5))
    w = rng.uniform(0.1, 2.0, 4)
    m = metrics.MeanIoU(num_classes=3, dtype="float32")
    m.update_state(y_true, y_pred, sample_weight=w)
    full = np.broadcast_to(w[:, None, None], y_true.shape)
    cm, expected = _numpy_iou([(y_true, y_pred, full)], 3, [0, 1, 2], int_state=False)
    np.testing.assert_allclose(m.total_cm.data, cm, rtol=1e-5)
    np.testing.assert_allclose(float(m.result().numpy()), expected, rtol=1e-5)


def test_class_axis_other_than_last(rng):
    scores = rng.uniform(size=(6, 3, 2))  # classes on axis 1
    labels = rng.integers(0, 3, (6, 2))
    m = metrics.MeanIoU(num_classes=3, sparse_y_pred=False, axis=1)
    m.update_state(labels, scores)
    _, expected = _numpy_iou([(labels, scores.argmax(1), None)], 3, [0, 1, 2])
    np.testing.assert_allclose(float(m.result().numpy()), expected, rtol=1e-5)


@pytest.mark.parametrize("kwargs, match", [
    ({"num_classes": 0, "target_class_ids": [0]}, "num_classes"),
    ({"num_classes": 2.5, "target_class_ids": [0]}, "num_classes"),
    ({"num_classes": 3, "target_class_ids": [3]}, "out of range"),
    ({"num_classes": 3, "target_class_ids": [-1]}, "out of range"),
    ({"num_classes": 3, "target_class_ids": []}, "empty"),
    ({"num_classes": 3, "target_class_ids": 1}, "list or tuple"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        metrics.IoU(**kwargs)


def test_bad_arguments_other_classes():
    with pytest.raises(ValueError, match="num_classes"):
        metrics.MeanIoU(num_classes=0)
    with pytest.raises(ValueError, match="num_classes"):
        metrics.OneHotMeanIoU(num_classes=-2)
    with pytest.raises(ValueError, match="out of range"):
        metrics.BinaryIoU(target_class_ids=[2])
    with pytest.raises(ValueError, match="out of range"):
        metrics.OneHotIoU(num_classes=2, target_class_ids=[0, 5])


def test_mismatched_sizes_and_weights():
    m = metrics.MeanIoU(num_classes=3, dtype="float32")
    with pytest.raises(ValueError, match="same number"):
        m.update_state(np.array([0, 1, 2]), np.array([0, 1]))
    with pytest.raises(ValueError, match="cannot be broadcast"):
        m.update_state(np.array([0, 1, 2]), np.array([0, 1, 2]), sample_weight=np.ones(2))


@pytest.mark.parametrize("metric", [
    metrics.IoU(num_classes=4, target_class_ids=(1, 3), ignore_class=255, axis=-1),
    metrics.MeanIoU(num_classes=3, sparse_y_pred=False, dtype="float32"),
    metrics.BinaryIoU(target_class_ids=[1], threshold=0.25),
    metrics.OneHotIoU(num_classes=3, target_class_ids=[0, 2], name="ohi"),
    metrics.OneHotMeanIoU(num_classes=5, ignore_class=0),
], ids=lambda m: type(m).__name__)
def test_config_round_trip(metric):
    config = metric.get_config()
    clone = type(metric).from_config(config)
    assert clone.get_config() == config
    rebuilt = metrics.deserialize(metrics.serialize(metric))
    assert type(rebuilt) is type(metric) and rebuilt.get_config() == config


def test_get_by_class_name():
    assert isinstance(metrics.get("BinaryIoU"), metrics.BinaryIoU)
    assert keras.metrics.MeanIoU is metrics.MeanIoU


def test_compile_fit_evaluate(rng):
    x = rng.normal(size=(48, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64") + (x[:, 1] > 0.5).astype("int64")
    model = keras.Sequential([keras.layers.Input((4,)),
                              keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=[keras.metrics.MeanIoU(num_classes=3, sparse_y_pred=False)])
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert len(history.history["mean_io_u"]) == 2
    result = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    preds = model.predict(x, verbose=0)
    _, expected = _numpy_iou([(y, preds, None)], 3, [0, 1, 2], sparse_pred=False)
    np.testing.assert_allclose(result["mean_io_u"], expected, rtol=1e-4)
