"""Float64 gradient checks of every loss through `check_gradients` (central differences)."""

import numpy as np
import pytest
from helpers import assert_close, check_gradients, to_host

from gkeras import losses, ops
from gkeras.autodiff import Variable

N, C = 4, 3


def _data(kind, rng):
    # inputs keep away from kinks (|e| = delta, margins of 1, clip bounds) so differences
    # of +-1e-6 stay on one side
    if kind == "binary":
        return rng.integers(0, 2, (N, 2)).astype(float), rng.uniform(0.1, 0.9, (N, 2))
    if kind == "onehot":
        p = rng.uniform(0.2, 1.0, (N, C))
        return np.eye(C)[rng.integers(0, C, N)], p / p.sum(-1, keepdims=True)
    if kind == "positive":
        return rng.uniform(0.1, 2.0, (N, 3)), rng.uniform(0.1, 2.0, (N, 3))
    if kind == "signs":
        return rng.choice([-1.0, 1.0], (N, 3)), rng.uniform(-0.8, 0.8, (N, 3))
    return rng.standard_normal((N, 3)), rng.standard_normal((N, 3)) + 3.0


LOSSES = [
    (losses.BinaryCrossentropy(), "binary"),
    (losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1), "binary"),
    (losses.CategoricalCrossentropy(), "onehot"),
    (losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2), "onehot"),
    (losses.MeanSquaredError(), "real"),
    (losses.MeanAbsoluteError(), "real"),
    (losses.MeanAbsolutePercentageError(), "real"),
    (losses.MeanSquaredLogarithmicError(), "positive"),
    (losses.CosineSimilarity(), "real"),
    (losses.Huber(delta=2.0), "real"),
    (losses.LogCosh(), "real"),
    (losses.KLDivergence(), "onehot"),
    (losses.Poisson(), "positive"),
    (losses.Hinge(), "signs"),
    (losses.SquaredHinge(), "signs"),
    (losses.CategoricalHinge(), "onehot"),
    (losses.MeanSquaredError(reduction="sum"), "real"),
    (losses.MeanSquaredError(reduction="none"), "real"),
]


@pytest.mark.parametrize("loss, kind", LOSSES,
                         ids=[f"{type(l).__name__}-{i}" for i, (l, _) in enumerate(LOSSES)])
def test_loss_gradients(bk, rng, loss, kind):
    y, p = _data(kind, rng)
    w = rng.uniform(0.5, 1.5, N)
    check_gradients(lambda pred: loss(y, pred, sample_weight=w), p, bk=bk)


@pytest.mark.parametrize("from_logits", [False, True])
def test_sparse_categorical_crossentropy_gradients(bk, rng, from_logits):
    labels = rng.integers(0, C, N)
    p = rng.standard_normal((N, C)) if from_logits else _data("onehot", rng)[1]
    loss = losses.SparseCategoricalCrossentropy(from_logits=from_logits)
    check_gradients(lambda pred: loss(labels, pred), p, bk=bk)


def test_crossentropy_gradient_through_softmax_logits(bk, rng):
    labels = rng.integers(0, C, N)
    z = rng.standard_normal((N, C)) * 3
    check_gradients(lambda t: losses.sparse_categorical_crossentropy(labels, ops.softmax(t)),
                    z, bk=bk)
    check_gradients(lambda t: losses.categorical_crossentropy(np.eye(C)[labels],
                                                              ops.softmax(t)), z, bk=bk)


def test_binary_crossentropy_gradient_through_sigmoid_logits(bk, rng):
    y = rng.integers(0, 2, (N, 2)).astype(float)
    z = rng.standard_normal((N, 2)) * 3
    check_gradients(lambda t: losses.binary_crossentropy(y, ops.sigmoid(t)), z, bk=bk)


def test_binary_crossentropy_from_logits_gradient_at_zero(bk):
    # the gradient at logit 0 is sigmoid(0) - y = 0.5 - y, not the subgradient of |x|
    y = np.array([[1.0], [0.0], [0.3]])
    z = Variable(bk.asarray(np.zeros((3, 1))))
    losses.BinaryCrossentropy(from_logits=True, reduction="sum")(y, z).backward()
    assert_close(to_host(z.grad), 0.5 - y, rtol=1e-12)


def test_ignore_class_gradient(bk, rng):
    labels = np.array([0, 2, 1, 2])
    z = rng.standard_normal((N, C))
    loss = losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=2)
    check_gradients(lambda t: loss(labels, t), z, bk=bk)
    zt = Variable(bk.asarray(z))
    loss(labels, zt).backward()
    assert np.all(to_host(zt.grad)[labels == 2] == 0)
