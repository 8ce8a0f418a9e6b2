"""Every loss against its float64 NumPy reference: options, sample weights, reductions."""

import numpy as np
import pytest
from helpers import assert_close

from gkeras import losses, ops
from gkeras.autodiff import Variable, no_grad

from . import references as R

N, C = 6, 4


def _inputs(kind, rng):
    """`(y_true, y_pred)` in float64 for a family of losses."""
    if kind == "binary":
        return rng.integers(0, 2, (N, 3)).astype(float), rng.uniform(0.02, 0.98, (N, 3))
    if kind == "onehot":
        p = rng.uniform(0.05, 1.0, (N, C))
        return np.eye(C)[rng.integers(0, C, N)], p / p.sum(-1, keepdims=True)
    if kind == "positive":
        return rng.uniform(0.0, 2.0, (N, 3)), rng.uniform(0.05, 2.0, (N, 3))
    if kind == "signs":
        return rng.choice([-1.0, 1.0], (N, 3)), rng.standard_normal((N, 3))
    return rng.standard_normal((N, 3)), rng.standard_normal((N, 3))


# (class, reference, kind of inputs, constructor kwargs)
CASES = [
    (losses.BinaryCrossentropy, R.bce, "binary", {}),
    (losses.CategoricalCrossentropy, R.cce, "onehot", {}),
    (losses.MeanSquaredError, R.mse, "real", {}),
    (losses.MeanAbsoluteError, R.mae, "real", {}),
    (losses.MeanAbsolutePercentageError, R.mape, "real", {}),
    (losses.MeanSquaredLogarithmicError, R.msle, "positive", {}),
    (losses.CosineSimilarity, R.cosine_similarity, "real", {}),
    (losses.Huber, R.huber, "real", {}),
    (losses.LogCosh, R.log_cosh, "real", {}),
    (losses.KLDivergence, R.kl_divergence, "onehot", {}),
    (losses.Poisson, R.poisson, "positive", {}),
    (losses.Hinge, R.hinge, "signs", {}),
    (losses.SquaredHinge, R.squared_hinge, "signs", {}),
    (losses.CategoricalHinge, R.categorical_hinge, "onehot", {}),
]
REDUCTIONS = ["sum_over_batch_size", "sum", "none", "mean_with_sample_weight"]


@pytest.mark.parametrize("cls, ref, kind, kwargs", CASES, ids=[c[0].__name__ for c in CASES])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_loss_classes_match_reference(bk, rng, cls, ref, kind, kwargs, reduction):
    y, p = _inputs(kind, rng)
    w = rng.uniform(0.1, 2.0, N)
    loss = cls(reduction=reduction, **kwargs)
    out = loss(bk.asarray(y), Variable(bk.asarray(p)), sample_weight=bk.asarray(w))
    assert_close(out, R.reduce(ref(y, p), w, reduction), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name, ref, kind", [
    ("binary_crossentropy", R.bce, "binary"), ("categorical_crossentropy", R.cce, "onehot"),
    ("mean_squared_error", R.mse, "real"), ("mean_absolute_error", R.mae, "real"),
    ("mean_absolute_percentage_error", R.mape, "real"),
    ("mean_squared_logarithmic_error", R.msle, "positive"), ("huber", R.huber, "real"),
    ("log_cosh", R.log_cosh, "real"), ("kl_divergence", R.kl_divergence, "onehot"),
    ("poisson", R.poisson, "positive"), ("hinge", R.hinge, "signs"),
    ("squared_hinge", R.squared_hinge, "signs"),
    ("categorical_hinge", R.categorical_hinge, "onehot"),
    ("cosine_similarity", R.cosine_similarity, "real"),
])
def test_function_forms_return_per_sample_losses(bk, rng, name, ref, kind):
    y, p = _inputs(kind, rng)
    out = getattr(losses, name)(bk.asarray(y), bk.asarray(p))
    assert out.shape == (N,)
    assert_close(out, ref(y, p), rtol=1e-10, atol=1e-12)


def test_binary_crossentropy_from_logits_and_label_smoothing(bk, rng):
    y = rng.integers(0, 2, (N, 2)).astype(float)
    z = rng.standard_normal((N, 2)) * 30  # large logits: clipping probabilities would lose them
    out = losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.2)(y, bk.asarray(z))
    assert_close(out, R.bce(y, z, True, 0.2).mean(), rtol=1e-10)
    p = rng.uniform(0.01, 0.99, (N, 2))
    out = losses.BinaryCrossentropy(label_smoothing=0.3)(y, bk.asarray(p))
    assert_close(out, R.bce(y, p, False, 0.3).mean(), rtol=1e-10)


def test_binary_crossentropy_clips_saturated_probabilities(bk):
    y = np.array([[1.0], [0.0], [1.0]])
    p = np.array([[0.0], [1.0], [1.0]])
    out = losses.binary_crossentropy(y, bk.asarray(p))
    expected = [-np.log(1e-7), -np.log(1e-7), -np.log(1 - 1e-7)]
    assert_close(out, expected, rtol=1e-8)


def test_binary_labels_of_rank_one_line_up_with_column_predictions(bk, rng):
    y = rng.integers(0, 2, N).astype(float)
    p = rng.uniform(0.05, 0.95, (N, 1))
    out = losses.BinaryCrossentropy(reduction="none")(bk.asarray(y), bk.asarray(p))
    assert out.shape == (N,)
    assert_close(out, R.bce(y[:, None], p), rtol=1e-10)
    out = losses.MeanSquaredError(reduction="none")(bk.asarray(y), bk.asarray(p))
    assert_close(out, R.mse(y[:, None], p), rtol=1e-10)


@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_categorical_crossentropy_options(bk, rng, from_logits, smoothing):
    y, p = _inputs("onehot", rng)
    if from_logits:
        p = rng.standard_normal((N, C)) * 5
    out = losses.CategoricalCrossentropy(from_logits=from_logits, label_smoothing=smoothing)(
        bk.asarray(y), bk.asarray(p))
    assert_close(out, R.cce(y, p, from_logits, smoothing).mean(), rtol=1e-10)


def test_categorical_crossentropy_normalises_and_clips_probabilities(bk):
    y = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    p = np.array([[2.0, 2.0, 4.0], [0.0, 0.5, 0.5]])  # unnormalised; a zero probability
    out = losses.categorical_crossentropy(bk.asarray(y), bk.asarray(p))
    assert_close(out, [-np.log(0.25), -np.log(1e-7)], rtol=1e-8)


@pytest.mark.parametrize("label_shape", ["flat", "column"])
@pytest.mark.parametrize("from_logits", [False, True])
def test_sparse_categorical_crossentropy(bk, rng, label_shape, from_logits):
    labels = rng.integers(0, C, N)
    p = rng.standard_normal((N, C)) * 4 if from_logits else _inputs("onehot", rng)[1]
    y = labels if label_shape == "flat" else labels[:, None]
    w = rng.uniform(0.5, 1.5, N)
    out = losses.SparseCategoricalCrossentropy(from_logits=from_logits)(
        bk.asarray(y), bk.asarray(p), sample_weight=bk.asarray(w))
    assert_close(out, R.reduce(R.scce(labels, p, from_logits), w), rtol=1e-10)


def test_sparse_categorical_crossentropy_clips_like_keras(bk):
    p = np.array([[0.0, 0.3, 0.7], [0.2, 0.2, 0.6]])  # a zero probability gets clipped
    out = losses.sparse_categorical_crossentropy(bk.asarray([0, 2]), bk.asarray(p))
    assert_close(out, [-np.log(1e-7), -np.log(0.6)], rtol=1e-8)


def test_sparse_categorical_crossentropy_ignore_class(bk, rng):
    z = rng.standard_normal((N, C))
    labels = rng.integers(0, C - 1, N)
    labels[[1, 4]] = C - 1  # the ignored class
    per = R.scce(labels, z, True)
    valid = labels != C - 1
    loss = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=C - 1)
    assert_close(loss(bk.asarray(labels), bk.asarray(z)), per[valid].mean(), rtol=1e-10)
    none = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=C - 1,
                                                reduction="none")
    assert_close(none(bk.asarray(labels), bk.asarray(z)), np.where(valid, per, 0), rtol=1e-10)


def test_softmax_output_uses_its_logits(bk, rng):
    # Keras's TensorFlow backend reads the logits behind a softmax: no clipping at 1e-7
    z = np.array([[40.0, 0.0, -40.0], [0.5, 0.1, 0.2]])
    labels = np.array([2, 1])
    zt = Variable(bk.asarray(z))
    out = losses.sparse_categorical_crossentropy(labels, ops.softmax(zt))
    assert_close(out, R.scce(labels, z, True), rtol=1e-10)
    with no_grad():  # no graph: the clipped-probability formula, as the other backends do
        out = losses.sparse_categorical_crossentropy(labels, ops.softmax(zt))
    assert_close(out, R.scce(labels, _softmax(z)), rtol=1e-8)


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_sigmoid_output_uses_its_logits(bk):
    z = np.array([[30.0], [-30.0], [0.3]])
    y = np.array([[0.0], [1.0], [1.0]])
    out = losses.binary_crossentropy(y, ops.sigmoid(Variable(bk.asarray(z))))
    assert_close(out, R.bce(y, z, True), rtol=1e-10)


@pytest.mark.parametrize("delta", [0.3, 2.0])
def test_huber_delta(bk, rng, delta):
    y, p = _inputs("real", rng)
    assert_close(losses.Huber(delta=delta)(y, bk.asarray(p)), R.huber(y, p, delta).mean(),
                 rtol=1e-10)


def test_hinge_keeps_non_binary_labels(bk, rng):
    y = rng.uniform(-1, 1, (N, 3))  # not {0, 1}: used as they are
    p = rng.standard_normal((N, 3))
    assert_close(losses.hinge(y, bk.asarray(p)), np.maximum(1 - y * p, 0).mean(-1), rtol=1e-10)


def test_sample_weight_per_entry(bk, rng):
    # (N, T) losses from (N, T, 1) inputs weighted by (N, T) weights
    y, p = rng.standard_normal((N, 3, 1)), rng.standard_normal((N, 3, 1))
    w = rng.uniform(0, 1, (N, 3))
    out = losses.MeanSquaredError()(bk.asarray(y), bk.asarray(p), sample_weight=bk.asarray(w))
    assert_close(out, R.reduce(R.mse(y, p), w), rtol=1e-10)


def test_sample_weight_column_vector(bk, rng):
    y, p = rng.standard_normal((N, 3)), rng.standard_normal((N, 3))
    w = rng.uniform(0, 1, (N, 1))
    out = losses.MeanSquaredError()(bk.asarray(y), bk.asarray(p), sample_weight=bk.asarray(w))
    assert_close(out, R.reduce(R.mse(y, p), w[:, 0]), rtol=1e-10)


def test_float32_inputs_give_float32_loss(bk, rng):
    y, p = _inputs("onehot", rng)
    out = losses.CategoricalCrossentropy()(bk.asarray(y.astype("float32")),
                                           Variable(bk.asarray(p.astype("float32"))))
    assert out.dtype == np.float32
    assert_close(out, R.cce(y, p).mean(), rtol=1e-5)


def test_explicit_dtype_casts_the_computation(bk, rng):
    y, p = _inputs("real", rng)
    out = losses.MeanSquaredError(dtype="float32")(bk.asarray(y), bk.asarray(p))
    assert out.dtype == np.float32
    assert_close(out, R.mse(y, p).mean(), rtol=1e-5)


def test_reduction_of_an_empty_batch_is_empty(bk):
    out = losses.MeanSquaredError(reduction="none")(bk.asarray(np.zeros((0, 2))),
                                                     bk.asarray(np.zeros((0, 2))))
    assert out.shape == (0,)


def test_mean_with_sample_weight_of_zero_weights_is_zero(bk, rng):
    y, p = _inputs("real", rng)
    out = losses.MeanSquaredError(reduction="mean_with_sample_weight")(
        bk.asarray(y), bk.asarray(p), sample_weight=bk.asarray(np.zeros(N)))
    assert float(out.numpy()) == 0.0
