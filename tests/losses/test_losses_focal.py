"""Focal crossentropy, Dice and Tversky losses: values against real Keras 3 (recorded by
tests/data/make_extra_references.py) and float64 NumPy formulas, gradients against central
differences, names, configs and bad arguments."""

import json
import os

import numpy as np
import pytest
from helpers import assert_close, check_gradients

from gkeras import losses

REFERENCE = os.path.join(os.path.dirname(__file__), "..", "data",
                         "keras_losses_metrics_extra.json")
with open(REFERENCE) as _f:
    DATA = json.load(_f)
INPUTS = {k: np.array(v) for k, v in DATA["loss_inputs"].items()}
EPS = 1e-7


# ------------------------------------------------------------ float64 references
def np_bfce(y, p, balance=False, alpha=0.25, gamma=2.0, logits=False, smoothing=0.0, axis=-1):
    y = y * (1 - smoothing) + 0.5 * smoothing
    if logits:
        p = 1 / (1 + np.exp(-p))
    q = np.clip(p, EPS, 1 - EPS)
    bce = -(y * np.log(q) + (1 - y) * np.log(1 - q))
    p_t = y * p + (1 - y) * (1 - p)
    out = (1 - p_t) ** gamma * bce
    if balance:
        out = (y * alpha + (1 - y) * (1 - alpha)) * out
    return out.mean(axis=axis)


def np_cfce(y, p, alpha=0.25, gamma=2.0, logits=False, smoothing=0.0):
    y = y * (1 - smoothing) + smoothing / y.shape[-1]
    if logits:
        e = np.exp(p - p.max(-1, keepdims=True))
        p = e / e.sum(-1, keepdims=True)
    q = np.clip(p / p.sum(-1, keepdims=True), EPS, 1 - EPS)
    return (alpha * (1 - q) ** gamma * -y * np.log(q)).sum(-1)


def np_dice(y, p, axis=None):
    return 1 - 2 * (y * p).sum(axis=axis) / (y.sum(axis=axis) + p.sum(axis=axis) + EPS)


def np_tversky(y, p, alpha=0.5, beta=0.5, axis=None):
    tp = (y * p).sum(axis=axis)
    a = ((1 - p) * y).sum(axis=axis)
    b = (p * (1 - y)).sum(axis=axis)
    return 1 - tp / (tp + alpha * a + beta * b + EPS)


# ---------------------------------------------------------------- Keras 3 values
@pytest.mark.parametrize("case", sorted(DATA["losses"]))
def test_matches_keras(case):
    entry = DATA["losses"][case]
    loss = losses.deserialize({"class_name": entry["class_name"], "config": entry["config"]})
    y_true, y_pred = INPUTS[entry["y_true"]], INPUTS[entry["y_pred"]]
    weights = INPUTS["weights"][:y_true.shape[0]] if entry["weighted"] else None
    got = loss(y_true.astype("float32"), y_pred.astype("float32"), sample_weight=weights)
    assert got.dtype == np.float32
    assert_close(got, np.array(entry["value"]), rtol=2e-5, atol=1e-6)


def test_reference_file_covers_every_new_loss():
    names = {entry["class_name"] for entry in DATA["losses"].values()}
    assert names == {"BinaryFocalCrossentropy", "CategoricalFocalCrossentropy", "Dice",
                     "Tversky"}
    assert DATA["keras_version"].startswith("3.")


# --------------------------------------------------------------- NumPy formulas
@pytest.mark.parametrize("kwargs", [
    {}, {"apply_class_balancing": True, "alpha": 0.4}, {"gamma": 0.0}, {"gamma": 3.5},
    {"from_logits": True, "label_smoothing": 0.3}, {"axis": 0},
])
def test_binary_focal_matches_numpy(rng, kwargs):
    y = (rng.uniform(size=(5, 4)) > 0.5).astype(np.float64)
    p = rng.normal(size=(5, 4)) if kwargs.get("from_logits") else rng.uniform(0.01, 0.99,
                                                                              (5, 4))
    expected = np_bfce(y, p, balance=kwargs.get("apply_class_balancing", False),
                       alpha=kwargs.get("alpha", 0.25), gamma=kwargs.get("gamma", 2.0),
                       logits=kwargs.get("from_logits", False),
                       smoothing=kwargs.get("label_smoothing", 0.0), axis=kwargs.get("axis", -1))
    assert_close(losses.binary_focal_crossentropy(y, p, **kwargs), expected, rtol=1e-10)
    loss = losses.BinaryFocalCrossentropy(reduction="sum", **kwargs)
    assert_close(loss(y, p), expected.sum(), rtol=1e-10)


@pytest.mark.parametrize("kwargs", [
    {}, {"alpha": 1.0, "gamma": 0.0}, {"from_logits": True}, {"label_smoothing": 0.2},
])
def test_categorical_focal_matches_numpy(rng, kwargs):
    y = np.eye(4)[rng.integers(0, 4, 6)]
    p = rng.normal(size=(6, 4)) if kwargs.get("from_logits") else rng.uniform(0.05, 1, (6, 4))
    expected = np_cfce(y, p, alpha=kwargs.get("alpha", 0.25), gamma=kwargs.get("gamma", 2.0),
                       logits=kwargs.get("from_logits", False),
                       smoothing=kwargs.get("label_smoothing", 0.0))
    assert_close(losses.categorical_focal_crossentropy(y, p, **kwargs), expected, rtol=1e-10)
    w = rng.uniform(0.5, 2.0, 6)
    loss = losses.CategoricalFocalCrossentropy(**kwargs)
    assert_close(loss(y, p, sample_weight=w), (expected * w).mean(), rtol=1e-10)


def test_gamma_zero_alpha_one_is_categorical_crossentropy(rng):
    y, p = np.eye(3)[[0, 2, 1, 1]], rng.uniform(0.1, 1.0, (4, 3))
    assert_close(losses.categorical_focal_crossentropy(y, p, alpha=1.0, gamma=0.0),
                 losses.categorical_crossentropy(y, p).numpy(), rtol=1e-10)


def test_categorical_focal_on_another_axis(rng):
    y = np.eye(3)[[0, 2, 1, 1]].T  # classes on axis 0
    p = rng.uniform(0.1, 1.0, (3, 4))
    assert_close(losses.categorical_focal_crossentropy(y, p, axis=0), np_cfce(y.T, p.T),
                 rtol=1e-10)


@pytest.mark.parametrize("axis", [None, (1, 2), -1])
def test_dice_and_tversky_match_numpy(rng, axis):
    y = (rng.uniform(size=(3, 4, 5)) > 0.5).astype(np.float64)
    p = rng.uniform(size=(3, 4, 5))
    assert_close(losses.dice(y, p, axis=axis), np_dice(y, p, axis), rtol=1e-10)
    assert_close(losses.tversky(y, p, 0.7, 0.2, axis=axis), np_tversky(y, p, 0.7, 0.2, axis),
                 rtol=1e-10)
    # alpha = beta = 0.5 is the Dice loss
    assert_close(losses.tversky(y, p, axis=axis), np_dice(y, p, axis), rtol=1e-10)
    per_sample = losses.Tversky(alpha=0.3, beta=0.6, axis=(1, 2), reduction="none")(y, p)
    assert_close(per_sample, np_tversky(y, p, 0.3, 0.6, (1, 2)), rtol=1e-10)


def test_bfce_labels_of_lower_rank_line_up(rng):
    y, p = (rng.uniform(size=6) > 0.5).astype(np.float64), rng.uniform(0.05, 0.95, (6, 1))
    assert_close(losses.BinaryFocalCrossentropy(reduction="none")(y, p),
                 np_bfce(y[:, None], p), rtol=1e-10)


# ---------------------------------------------------------------------- gradients
@pytest.mark.parametrize("fn, logits", [
    (lambda y: lambda p: losses.binary_focal_crossentropy(y, p), False),
    (lambda y: lambda p: losses.binary_focal_crossentropy(
        y, p, apply_class_balancing=True, gamma=1.5, label_smoothing=0.1), False),
    (lambda y: lambda p: losses.binary_focal_crossentropy(y, p, from_logits=True), True),
    (lambda y: lambda p: losses.BinaryFocalCrossentropy(gamma=0.0)(
        y, p, sample_weight=[1.0, 2.0, 3.0]), False),
])
def test_binary_focal_gradients(rng, fn, logits):
    y = (rng.uniform(size=(3, 4)) > 0.5).astype(np.float64)
    p = rng.normal(size=(3, 4)) if logits else rng.uniform(0.05, 0.95, (3, 4))
    check_gradients(fn(y), p)


@pytest.mark.parametrize("kwargs", [{}, {"from_logits": True, "label_smoothing": 0.2},
                                    {"gamma": 0.5, "alpha": 0.7}])
def test_categorical_focal_gradients(rng, kwargs):
    y = np.eye(4)[rng.integers(0, 4, 3)]
    p = rng.normal(size=(3, 4)) if kwargs.get("from_logits") else rng.uniform(0.05, 1, (3, 4))
    check_gradients(lambda t: losses.categorical_focal_crossentropy(y, t, **kwargs), p)


def test_dice_and_tversky_gradients(rng):
    y = (rng.uniform(size=(2, 3, 3)) > 0.5).astype(np.float64)
    p = rng.uniform(0.05, 0.95, (2, 3, 3))
    check_gradients(lambda t: losses.dice(y, t, axis=(1, 2)), p)
    check_gradients(lambda t: losses.Tversky(alpha=0.8, beta=0.1)(y, t), p)


# ------------------------------------------------------------------ names, configs
@pytest.mark.parametrize("name, cls, fn", [
    ("binary_focal_crossentropy", losses.BinaryFocalCrossentropy,
     losses.binary_focal_crossentropy),
    ("categorical_focal_crossentropy", losses.CategoricalFocalCrossentropy,
     losses.categorical_focal_crossentropy),
    ("dice", losses.Dice, losses.dice), ("tversky", losses.Tversky, losses.tversky),
])
def test_names_resolve(name, cls, fn):
    assert losses.get(name) is fn
    assert type(losses.as_loss(name)) is cls and losses.as_loss(name).name == name
    assert type(losses.get(cls.__name__)) is cls
    assert type(losses.as_loss(fn)) is cls


@pytest.mark.parametrize("loss", [
    losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.4, gamma=1.0,
                                   from_logits=True, label_smoothing=0.1, reduction="sum"),
    losses.CategoricalFocalCrossentropy(alpha=0.5, gamma=3.0, name="cf", reduction="none"),
    losses.Dice(axis=(1, 2)), losses.Tversky(alpha=0.2, beta=0.8, dtype="float64"),
])
def test_config_round_trip(loss, rng):
    config = loss.get_config()
    rebuilt = type(loss).from_config(config)
    assert rebuilt.get_config() == config
    again = losses.deserialize(json.loads(json.dumps(losses.serialize(loss))))
    assert type(again) is type(loss) and again.get_config() == config
    y = (rng.uniform(size=(2, 3, 3)) > 0.5).astype(np.float64)
    p = rng.uniform(0.05, 0.95, (2, 3, 3))
    assert_close(again(y, p), loss(y, p).numpy(), rtol=1e-12)


def test_keras_config_keys():
    assert set(losses.BinaryFocalCrossentropy().get_config()) == {
        "name", "reduction", "dtype", "apply_class_balancing", "alpha", "gamma",
        "from_logits", "label_smoothing", "axis"}
    assert set(losses.Tversky().get_config()) == {"name", "reduction", "dtype", "alpha",
                                                  "beta", "axis"}


@pytest.mark.parametrize("make, match", [
    (lambda: losses.BinaryFocalCrossentropy(label_smoothing=1.2), "label_smoothing"),
    (lambda: losses.BinaryFocalCrossentropy(gamma=-1.0), "gamma"),
    (lambda: losses.BinaryFocalCrossentropy(alpha=1.5), "alpha"),
    (lambda: losses.CategoricalFocalCrossentropy(gamma="2"), "gamma"),
    (lambda: losses.CategoricalFocalCrossentropy(reduction="average"), "reduction"),
    (lambda: losses.Dice(axis="last"), "axis"),
    (lambda: losses.Tversky(alpha=None), "alpha"),
])
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_shape_mismatch_names_the_shapes():
    with pytest.raises(ValueError, match=r"y_true.shape=\(4, 3\).*y_pred.shape=\(4, 2\)"):
        losses.binary_focal_crossentropy(np.zeros((4, 3)), np.full((4, 2), 0.5))
    with pytest.raises(ValueError, match="categorical_focal_crossentropy"):
        losses.categorical_focal_crossentropy(np.zeros((4, 3)), np.full((4, 2), 0.5))
    with pytest.raises(ValueError, match="out of bounds"):
        losses.categorical_focal_crossentropy(np.eye(3), np.full((3, 3), 0.3), axis=2)


def test_a_wrapped_new_loss_function_round_trips_by_name():
    wrapped = losses.LossFunctionWrapper(losses.binary_focal_crossentropy, gamma=1.0)
    clone = losses.LossFunctionWrapper.from_config(wrapped.get_config())
    assert clone.fn is losses.binary_focal_crossentropy
    y = np.array([[1.0, 0.0], [0.0, 1.0]], "float32")
    p = np.array([[0.8, 0.3], [0.4, 0.6]], "float32")
    assert float(clone(y, p)) == pytest.approx(float(wrapped(y, p)), rel=1e-6)
