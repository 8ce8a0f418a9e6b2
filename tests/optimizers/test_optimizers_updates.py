"""Each optimizer against a float64 NumPy reference of Keras 3's update rule, several steps."""

import math

import numpy as np
import pytest
from helpers import assert_close, to_host

from gkeras import optimizers
from gkeras.autodiff import Variable

STEPS = 5


def _problem(rng):
    weights = [rng.standard_normal((3, 4)), rng.standard_normal(5)]
    grads = [[rng.standard_normal(w.shape) for w in weights] for _ in range(STEPS)]
    return weights, grads


def _run(opt, bk, weights, grads):
    variables = [Variable(bk.asarray(w.copy())) for w in weights]
    for step in grads:
        opt.apply([bk.asarray(g) for g in step], variables)
    return [to_host(v.data) for v in variables]


# --------------------------------------------------------- references (per variable)
def ref_sgd(w, grads, lr, momentum=0.0, nesterov=False):
    w, m = w.copy(), np.zeros_like(w)
    for g in grads:
        if momentum == 0:
            w = w - lr * g
            continue
        m = momentum * m - lr * g
        w = w + (momentum * m - lr * g if nesterov else m)
    return w


def ref_adam(w, grads, lr, b1=0.9, b2=0.999, eps=1e-7, amsgrad=False, wd=None):
    w, m, v, vmax = w.copy(), np.zeros_like(w), np.zeros_like(w), np.zeros_like(w)
    for t, g in enumerate(grads, start=1):
        if wd is not None:
            w = w - w * wd * lr
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        vmax = np.maximum(vmax, v)
        denom = np.sqrt(vmax if amsgrad else v)
        # Keras folds the bias corrections into the rate; epsilon is not corrected
        w = w - lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t) * m / (denom + eps)
    return w


def ref_adamax(w, grads, lr, b1=0.9, b2=0.999, eps=1e-7):
    w, m, u = w.copy(), np.zeros_like(w), np.zeros_like(w)
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        u = np.maximum(b2 * u, np.abs(g))
        w = w - lr / (1 - b1 ** t) * m / (u + eps)
    return w


def ref_nadam(w, grads, lr, b1=0.9, b2=0.999, eps=1e-7):
    w, m, v = w.copy(), np.zeros_like(w), np.zeros_like(w)
    product = 1.0
    for t, g in enumerate(grads, start=1):
        mu_t = b1 * (1 - 0.5 * 0.96 ** t)
        mu_next = b1 * (1 - 0.5 * 0.96 ** (t + 1))
        product *= mu_t
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = mu_next * m / (1 - product * mu_next) + (1 - mu_t) * g / (1 - product)
        v_hat = v / (1 - b2 ** t)
        w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
    return w


def ref_rmsprop(w, grads, lr, rho=0.9, momentum=0.0, eps=1e-7, centered=False):
    w, v, a, mo = w.copy(), np.zeros_like(w), np.zeros_like(w), np.zeros_like(w)
    for g in grads:
        v = rho * v + (1 - rho) * g * g
        a = rho * a + (1 - rho) * g
        step = lr * g / np.sqrt((v - a * a if centered else v) + eps)
        mo = momentum * mo + step
        w = w - (mo if momentum > 0 else step)
    return w


def ref_adagrad(w, grads, lr, initial=0.1, eps=1e-7):
    w, acc = w.copy(), np.full_like(w, initial)
    for g in grads:
        acc = acc + g * g
        w = w - lr * g / np.sqrt(acc + eps)
    return w


def ref_adadelta(w, grads, lr, rho=0.95, eps=1e-7):
    w, eg, ed = w.copy(), np.zeros_like(w), np.zeros_like(w)
    for g in grads:
        eg = rho * eg + (1 - rho) * g * g
        delta = -np.sqrt(ed + eps) / np.sqrt(eg + eps) * g
        ed = rho * ed + (1 - rho) * delta * delta
        w = w + lr * delta
    return w


CASES = [
    ("sgd", lambda: optimizers.SGD(0.1), lambda w, g: ref_sgd(w, g, 0.1)),
    ("sgd_momentum", lambda: optimizers.SGD(0.05, momentum=0.9),
     lambda w, g: ref_sgd(w, g, 0.05, 0.9)),
    ("sgd_nesterov", lambda: optimizers.SGD(0.05, momentum=0.8, nesterov=True),
     lambda w, g: ref_sgd(w, g, 0.05, 0.8, True)),
    ("adam", lambda: optimizers.Adam(0.01), lambda w, g: ref_adam(w, g, 0.01)),
    ("adam_custom", lambda: optimizers.Adam(0.02, beta_1=0.7, beta_2=0.95, epsilon=1e-3),
     lambda w, g: ref_adam(w, g, 0.02, 0.7, 0.95, 1e-3)),
    ("amsgrad", lambda: optimizers.Adam(0.01, amsgrad=True),
     lambda w, g: ref_adam(w, g, 0.01, amsgrad=True)),
    ("adamw", lambda: optimizers.AdamW(0.01), lambda w, g: ref_adam(w, g, 0.01, wd=0.004)),
    ("adamw_strong", lambda: optimizers.AdamW(0.05, weight_decay=0.2),
     lambda w, g: ref_adam(w, g, 0.05, wd=0.2)),
    ("adamax", lambda: optimizers.Adamax(0.02), lambda w, g: ref_adamax(w, g, 0.02)),
    ("nadam", lambda: optimizers.Nadam(0.02), lambda w, g: ref_nadam(w, g, 0.02)),
    ("rmsprop", lambda: optimizers.RMSprop(0.01), lambda w, g: ref_rmsprop(w, g, 0.01)),
    ("rmsprop_centered_momentum",
     lambda: optimizers.RMSprop(0.01, rho=0.8, momentum=0.5, centered=True),
     lambda w, g: ref_rmsprop(w, g, 0.01, 0.8, 0.5, centered=True)),
    ("adagrad", lambda: optimizers.Adagrad(0.1), lambda w, g: ref_adagrad(w, g, 0.1)),
    ("adagrad_init", lambda: optimizers.Adagrad(0.1, initial_accumulator_value=1.0),
     lambda w, g: ref_adagrad(w, g, 0.1, 1.0)),
    ("adadelta", lambda: optimizers.Adadelta(1.0), lambda w, g: ref_adadelta(w, g, 1.0)),
]


@pytest.mark.parametrize("name, make, ref", CASES, ids=[c[0] for c in CASES])
def test_update_rule_matches_reference(bk, rng, name, make, ref):
    weights, grads = _problem(rng)
    out = _run(make(), bk, weights, grads)
    for i, w in enumerate(weights):
        expected = ref(w, [step[i] for step in grads])
        assert_close(out[i], expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name, make, ref", CASES, ids=[c[0] for c in CASES])
def test_float32_variables_stay_float32(bk, rng, name, make, ref):
    weights, grads = _problem(rng)
    variables = [Variable(bk.asarray(w.astype("float32"))) for w in weights]
    opt = make()
    for step in grads:
        opt.apply([bk.asarray(g.astype("float32")) for g in step], variables)
    for i, (v, w) in enumerate(zip(variables, weights)):
        assert v.dtype == np.float32
        assert all(s.dtype == np.float32 for s in opt._slots[id(v)].values())
        assert_close(v.data, ref(w, [step[i] for step in grads]), rtol=2e-4, atol=1e-5)


def test_defaults_match_keras():
    sgd = optimizers.SGD()
    assert (sgd.learning_rate, sgd.momentum, sgd.nesterov) == (0.01, 0.0, False)
    adam = optimizers.Adam()
    assert (adam.learning_rate, adam.beta_1, adam.beta_2, adam.epsilon, adam.amsgrad) == (
        0.001, 0.9, 0.999, 1e-7, False)
    assert optimizers.AdamW().weight_decay == 0.004
    rms = optimizers.RMSprop()
    assert (rms.learning_rate, rms.rho, rms.momentum, rms.epsilon, rms.centered) == (
        0.001, 0.9, 0.0, 1e-7, False)
    ada = optimizers.Adagrad()
    assert (ada.learning_rate, ada.initial_accumulator_value, ada.epsilon) == (0.001, 0.1, 1e-7)
    delta = optimizers.Adadelta()
    assert (delta.learning_rate, delta.rho, delta.epsilon) == (0.001, 0.95, 1e-7)
    assert optimizers.Adamax().learning_rate == 0.001 and optimizers.Nadam().learning_rate == 0.001
    assert [o().name for o in (optimizers.SGD, optimizers.Adam, optimizers.RMSprop)] == [
        "SGD", "adam", "rmsprop"]
