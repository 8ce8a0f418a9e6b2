"""Lion and Ftrl: five steps against real Keras 3 (recorded by
tests/data/make_extra_references.py) and against float64 NumPy formulas, the flat packed
update path, names, configs and bad arguments."""

import json
import os

import numpy as np
import pytest

from gkeras import optimizers
from gkeras.autodiff import Variable
from gkeras.optimizers import flat

REFERENCE = os.path.join(os.path.dirname(__file__), "..", "data",
                         "keras_losses_metrics_extra.json")
with open(REFERENCE) as _f:
    DATA = json.load(_f)
W0 = np.array(DATA["optimizer_inputs"]["w0"])
GRADS = [np.array(g) for g in DATA["optimizer_inputs"]["grads"]]


# ------------------------------------------------------------ float64 references
def np_lion(w, grads, learning_rate=0.001, beta_1=0.9, beta_2=0.99):
    w, m, history = w.copy(), np.zeros_like(w), []
    for g in grads:
        w = w - learning_rate * np.sign(beta_1 * m + (1 - beta_1) * g)
        m = beta_2 * m + (1 - beta_2) * g
        history.append(w)
    return history


def np_ftrl(w, grads, learning_rate=0.001, learning_rate_power=-0.5,
            initial_accumulator_value=0.1, l1_regularization_strength=0.0,
            l2_regularization_strength=0.0, l2_shrinkage_regularization_strength=0.0, beta=0.0):
    """FTRL-proximal written from the paper's closed form for each coordinate."""
    lr, p = learning_rate, -learning_rate_power
    l1 = l1_regularization_strength
    l2 = l2_regularization_strength + beta / (2 * lr)
    n = np.full_like(w, initial_accumulator_value)
    z, w, history = np.zeros_like(w), w.copy(), []
    for g in grads:
        shrunk = g + 2 * l2_shrinkage_regularization_strength * w
        n_new = n + g * g
        sigma = (n_new ** p - n ** p) / lr
        z = z + shrunk - sigma * w
        n = n_new
        # argmin of z w + l1 |w| + (n^p / lr + 2 l2) w^2 / 2: 0 when |z| <= l1
        w = np.where(np.abs(z) <= l1, 0.0,
                     -(z - np.sign(z) * l1) / (n ** p / lr + 2 * l2))
        history.append(w)
    return history


def run(opt, dtype="float64", grads=GRADS):
    w = Variable(W0.astype(dtype))
    history = []
    for g in grads:
        opt.apply([g.astype(dtype)], [w])
        history.append(w.numpy().copy())
    return history


# ---------------------------------------------------------------- Keras 3 values
@pytest.mark.parametrize("case", sorted(DATA["optimizers"]))
def test_five_steps_match_keras(case):
    entry = DATA["optimizers"][case]
    opt = optimizers.deserialize({"class_name": entry["class_name"], "config": entry["config"]})
    for step, (got, want) in enumerate(zip(run(opt, "float32"), entry["weights"])):
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, np.array(want), rtol=2e-6, atol=2e-7,
                                   err_msg=f"{case}, step {step + 1}")


@pytest.mark.parametrize("case", sorted(DATA["optimizers"]))
def test_five_steps_match_numpy_in_float64(case):
    entry = DATA["optimizers"][case]
    cls = getattr(optimizers, entry["class_name"])
    reference = {"Lion": np_lion, "Ftrl": np_ftrl}[entry["class_name"]]
    expected = reference(W0, GRADS, **entry["config"])
    for got, want in zip(run(cls(**entry["config"])), expected):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def test_lion_moves_every_coordinate_by_the_learning_rate():
    history = run(optimizers.Lion(learning_rate=0.01))
    steps = np.abs(np.diff([W0] + history, axis=0))
    assert np.all(np.isclose(steps, 0.01) | (steps == 0))


def test_ftrl_l1_gives_exact_zeros():
    history = run(optimizers.Ftrl(learning_rate=0.1, l1_regularization_strength=50.0))
    assert np.any(history[0] != W0)
    assert np.all(history[-1] == 0.0)


# ------------------------------------------------------------------- flat path
SHAPES = [(3, 4), (4,), (5, 2, 3), (1,), (40,)]


def _train_many(cls, kwargs, elementwise=True):
    if not elementwise:
        class PerVariable(cls):  # an undeclared override forces the per-variable path
            def update_step(self, gradient, variable, slots, learning_rate):
                super().update_step(gradient, variable, slots, learning_rate)

        cls = PerVariable
    rng = np.random.default_rng(3)
    variables = [Variable(rng.standard_normal(s).astype("float32")) for s in SHAPES]
    opt = cls(**kwargs)
    for _ in range(4):
        opt.apply([rng.standard_normal(s).astype("float32") for s in SHAPES], variables)
    return variables, opt


@pytest.mark.parametrize("cls, kwargs", [
    (optimizers.Lion, {"learning_rate": 0.01}),
    (optimizers.Ftrl, {"learning_rate": 0.1, "l1_regularization_strength": 0.01,
                       "l2_shrinkage_regularization_strength": 0.1, "beta": 0.2}),
])
def test_flat_update_equals_per_variable_update(monkeypatch, cls, kwargs):
    monkeypatch.setattr(flat, "BLOCK", 16)  # so the blocked path runs on tiny variables
    packed, opt = _train_many(cls, kwargs)
    plain, ref = _train_many(cls, kwargs, elementwise=False)
    assert opt._flat is not None and ref._flat is None
    for a, b in zip(packed, plain):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for a, b in zip(opt.variables, ref.variables):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


# ------------------------------------------------------------------ names, configs
@pytest.mark.parametrize("name, cls", [("lion", optimizers.Lion), ("Lion", optimizers.Lion),
                                       ("ftrl", optimizers.Ftrl), ("Ftrl", optimizers.Ftrl)])
def test_names_resolve(name, cls):
    opt = optimizers.get(name)
    assert type(opt) is cls and opt.name == cls.__name__.lower()


@pytest.mark.parametrize("opt", [
    optimizers.Lion(learning_rate=0.02, beta_1=0.8, beta_2=0.95, clipnorm=1.0),
    optimizers.Ftrl(learning_rate=0.05, learning_rate_power=-0.2, initial_accumulator_value=0.3,
                    l1_regularization_strength=0.1, l2_regularization_strength=0.2,
                    l2_shrinkage_regularization_strength=0.05, beta=0.4, weight_decay=0.01),
])
def test_config_round_trip_and_same_steps(opt):
    config = opt.get_config()
    again = optimizers.deserialize(json.loads(json.dumps(optimizers.serialize(opt))))
    assert type(again) is type(opt) and again.get_config() == config
    for a, b in zip(run(opt), run(again)):
        np.testing.assert_array_equal(a, b)


def test_slots_are_listed():
    opt = optimizers.Ftrl(learning_rate=0.1)
    run(opt, grads=GRADS[:2])
    # the iteration count, then the accumulator and linear slots of the one variable
    assert len(opt.variables) == 3 and int(opt.variables[0]) == 2
    np.testing.assert_allclose(np.asarray(opt.variables[1]),
                               0.1 + GRADS[0] ** 2 + GRADS[1] ** 2, rtol=1e-12)


@pytest.mark.parametrize("make, match", [
    (lambda: optimizers.Lion(beta_1=0.0), "beta_1"),
    (lambda: optimizers.Lion(beta_1=1.5), "beta_1"),
    (lambda: optimizers.Lion(beta_2="0.9"), "beta_2"),
    (lambda: optimizers.Ftrl(learning_rate_power=0.5), "learning_rate_power"),
    (lambda: optimizers.Ftrl(initial_accumulator_value=-1.0), "initial_accumulator_value"),
    (lambda: optimizers.Ftrl(l1_regularization_strength=-0.1), "l1_regularization_strength"),
    (lambda: optimizers.Ftrl(l2_regularization_strength=-0.1), "l2_regularization_strength"),
    (lambda: optimizers.Ftrl(l2_shrinkage_regularization_strength=-1.0), "shrinkage"),
    (lambda: optimizers.Ftrl(beta=None), "beta"),
    (lambda: optimizers.Lion(momentum=0.9), "not recognized"),
])
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()
