"""Float64 NumPy references of the Keras loss formulas, written independently of gkeras."""

import numpy as np

EPS = 1e-7


def logsumexp(z):
    top = z.max(axis=-1, keepdims=True)
    return top + np.log(np.exp(z - top).sum(axis=-1, keepdims=True))


def bce(y, p, from_logits=False, label_smoothing=0.0):
    y = y * (1 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        # -y log s(z) - (1 - y) log(1 - s(z)), with log s(z) = -log(1 + e^-z)
        per = y * np.logaddexp(0, -p) + (1 - y) * np.logaddexp(0, p)
    else:
        q = np.clip(p, EPS, 1 - EPS)
        per = -(y * np.log(q) + (1 - y) * np.log(1 - q))
    return per.mean(axis=-1)


def cce(y, p, from_logits=False, label_smoothing=0.0):
    y = y * (1 - label_smoothing) + label_smoothing / y.shape[-1]
    if from_logits:
        log_q = p - logsumexp(p)
    else:
        log_q = np.log(np.clip(p / p.sum(axis=-1, keepdims=True), EPS, 1 - EPS))
    return -(y * log_q).sum(axis=-1)


def scce(labels, p, from_logits=False):
    labels = np.asarray(labels).reshape(p.shape[:-1]).astype(int)
    return cce(np.eye(p.shape[-1])[labels], p, from_logits)


def mse(y, p):
    return ((y - p) ** 2).mean(axis=-1)


def mae(y, p):
    return np.abs(y - p).mean(axis=-1)


def mape(y, p):
    return 100 * (np.abs(y - p) / np.maximum(np.abs(y), EPS)).mean(axis=-1)


def msle(y, p):
    return ((np.log1p(np.maximum(p, EPS)) - np.log1p(np.maximum(y, EPS))) ** 2).mean(axis=-1)


def huber(y, p, delta=1.0):
    e = np.abs(p - y)
    return np.where(e <= delta, 0.5 * e ** 2, delta * e - 0.5 * delta ** 2).mean(axis=-1)


def log_cosh(y, p):
    return np.log(np.cosh(p - y)).mean(axis=-1)


def kl_divergence(y, p):
    y, p = np.clip(y, EPS, 1), np.clip(p, EPS, 1)
    return (y * np.log(y / p)).sum(axis=-1)


def poisson(y, p):
    return (p - y * np.log(p + EPS)).mean(axis=-1)


def _pm_one(y):
    return 2 * y - 1 if np.all((y == 0) | (y == 1)) else y


def hinge(y, p):
    return np.maximum(1 - _pm_one(y) * p, 0).mean(axis=-1)


def squared_hinge(y, p):
    return (np.maximum(1 - _pm_one(y) * p, 0) ** 2).mean(axis=-1)


def categorical_hinge(y, p):
    pos = (y * p).sum(axis=-1)
    neg = ((1 - y) * p).max(axis=-1)
    return np.maximum(neg - pos + 1, 0)


def cosine_similarity(y, p):
    yn = y / np.linalg.norm(y, axis=-1, keepdims=True)
    pn = p / np.linalg.norm(p, axis=-1, keepdims=True)
    return -(yn * pn).sum(axis=-1)


def reduce(per_sample, sample_weight=None, reduction="sum_over_batch_size"):
    """Keras's weighting and reduction of per-sample losses."""
    w = np.ones_like(per_sample) if sample_weight is None else np.broadcast_to(
        sample_weight, per_sample.shape)
    weighted = per_sample * w
    if reduction in ("none", None):
        return weighted
    if reduction == "sum":
        return weighted.sum()
    if reduction == "mean_with_sample_weight":
        return weighted.sum() / w.sum()
    return weighted.sum() / weighted.size
