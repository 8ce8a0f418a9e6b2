"""The machinery around the update rules: clipping, weight decay, EMA, accumulation, learning
rates, constraints, state for saving, `get`, and bad input."""

import warnings

import numpy as np
import pytest
from helpers import assert_close, to_host

from gkeras import constraints, optimizers
from gkeras.autodiff import Tensor, Variable
from gkeras.optimizers import schedules


def _vars(bk, *arrays):
    return [Variable(bk.asarray(np.asarray(a, dtype="float64"))) for a in arrays]


def _sgd_step(bk, grads, **kwargs):
    """Weights after one plain SGD step (lr 1) from zero: minus the processed gradients."""
    variables = _vars(bk, *[np.zeros_like(g) for g in grads])
    optimizers.SGD(1.0, **kwargs).apply([bk.asarray(g) for g in grads], variables)
    return [-to_host(v.data) for v in variables]


def test_clipnorm_scales_each_gradient(bk):
    g1, g2 = np.array([3.0, 4.0]), np.array([0.3, 0.4])  # norms 5 and 0.5
    out = _sgd_step(bk, [g1, g2], clipnorm=1.0)
    assert_close(out[0], g1 / 5, rtol=1e-12)
    assert_close(out[1], g2, rtol=1e-12)  # below the limit: unchanged


def test_global_clipnorm_scales_all_gradients_together(bk):
    g1, g2 = np.array([3.0, 0.0]), np.array([[0.0, 4.0]])  # joint norm 5
    out = _sgd_step(bk, [g1, g2], global_clipnorm=2.0)
    assert_close(out[0], g1 * 2 / 5, rtol=1e-12)
    assert_close(out[1], g2 * 2 / 5, rtol=1e-12)
    small = _sgd_step(bk, [g1, g2], global_clipnorm=10.0)
    assert_close(small[0], g1, rtol=1e-12)


def test_clipvalue(bk):
    out = _sgd_step(bk, [np.array([-3.0, 0.2, 5.0])], clipvalue=0.5)
    assert_close(out[0], [-0.5, 0.2, 0.5], rtol=1e-12)


def test_gradients_are_never_written_to(bk, rng):
    g = rng.standard_normal((3, 3))
    g_dev = bk.asarray(g.copy())
    for opt in (optimizers.Adam(clipnorm=0.1), optimizers.RMSprop(momentum=0.5, centered=True),
                optimizers.SGD(momentum=0.9, nesterov=True, global_clipnorm=0.1),
                optimizers.Nadam(gradient_accumulation_steps=2, loss_scale_factor=2.0)):
        opt.apply([g_dev, g_dev], _vars(bk, np.zeros((3, 3)), np.zeros((3, 3))))
        assert np.array_equal(to_host(g_dev), g)


def test_weight_decay_and_exclusions(bk):
    kernel, bias = _vars(bk, [1.0, 2.0], [3.0])
    kernel.name, bias.name = "kernel", "bias"
    opt = optimizers.SGD(0.1, weight_decay=0.5)
    opt.exclude_from_weight_decay(var_names=["bias"])
    opt.apply([bk.asarray([0.0, 0.0]), bk.asarray([0.0])], [kernel, bias])
    assert_close(kernel.data, np.array([1.0, 2.0]) * (1 - 0.5 * 0.1), rtol=1e-12)
    assert_close(bias.data, [3.0])
    with pytest.raises(ValueError, match="before the optimizer is built"):
        opt.exclude_from_weight_decay(var_list=[kernel])
    other = optimizers.AdamW(0.1, weight_decay=0.5)
    other.exclude_from_weight_decay(var_list=[kernel])
    other.apply([bk.asarray([0.0, 0.0])], [kernel])  # zero gradient: Adam's step is 0
    assert_close(kernel.data, np.array([1.0, 2.0]) * 0.95, rtol=1e-12)


def test_moving_average_and_finalize(bk):
    (w,) = _vars(bk, [0.0])
    opt = optimizers.SGD(1.0, use_ema=True, ema_momentum=0.5)
    expected_avg, value = None, 0.0
    for g in (-1.0, -2.0, -4.0):
        opt.apply([bk.asarray([g])], [w])
        value -= g
        # the first average is the weight itself, then avg = 0.5 avg + 0.5 w
        expected_avg = value if expected_avg is None else 0.5 * expected_avg + 0.5 * value
    assert_close(w.data, [value])
    opt.finalize_variable_values([w])
    assert_close(w.data, [expected_avg], rtol=1e-12)


def test_moving_average_overwrite_frequency(bk):
    (w,) = _vars(bk, [0.0])
    opt = optimizers.SGD(1.0, use_ema=True, ema_momentum=0.5, ema_overwrite_frequency=2)
    opt.apply([bk.asarray([-2.0])], [w])  # w = 2, avg = 2
    opt.apply([bk.asarray([-2.0])], [w])  # w = 4, avg = 3, then overwritten
    assert_close(w.data, [3.0])


def test_gradient_accumulation(bk, rng):
    grads = [rng.standard_normal(3) for _ in range(4)]
    (w,) = _vars(bk, np.zeros(3))
    opt = optimizers.SGD(0.5, momentum=0.9, gradient_accumulation_steps=2)
    history = []
    for g in grads:
        opt.apply([bk.asarray(g)], [w])
        history.append(to_host(w.data).copy())
    first = (grads[0] + grads[1]) / 2
    second = (grads[2] + grads[3]) / 2
    m1 = -0.5 * first
    m2 = 0.9 * m1 - 0.5 * second
    assert_close(history[0], np.zeros(3))  # accumulating: no change yet
    assert_close(history[1], m1, rtol=1e-12)
    assert_close(history[2], m1, rtol=1e-12)
    assert_close(history[3], m1 + m2, rtol=1e-12)
    assert opt.iterations == 2


def test_loss_scale_factor(bk):
    opt = optimizers.SGD(1.0, loss_scale_factor=4.0)
    assert float(opt.scale_loss(Tensor(np.array(2.0))).numpy()) == 8.0
    (w,) = _vars(bk, [0.0])
    opt.apply([bk.asarray([8.0])], [w])
    assert_close(w.data, [-2.0])


def test_constraint_applied_after_update(bk):
    (w,) = _vars(bk, [1.0, -1.0])
    w.constraint = constraints.NonNeg()
    optimizers.SGD(1.0).apply([bk.asarray([0.5, 0.5])], [w])
    assert_close(w.data, [0.5, 0.0])


def test_iterations_and_schedule(bk):
    opt = optimizers.SGD(schedules.ExponentialDecay(1.0, decay_steps=1, decay_rate=0.5))
    (w,) = _vars(bk, [0.0])
    for step in range(3):
        assert opt.iterations == step
        assert opt.learning_rate == pytest.approx(0.5 ** step)
        opt.apply([bk.asarray([-1.0])], [w])
    assert_close(w.data, [1 + 0.5 + 0.25])
    with pytest.raises(TypeError, match="not settable"):
        opt.learning_rate = 0.1


def test_learning_rate_is_settable(bk):
    opt = optimizers.Adam()
    opt.learning_rate = 0.5
    assert opt.learning_rate == 0.5 and opt.lr == 0.5
    opt.lr = 0.25
    assert opt.learning_rate == 0.25
    opt.learning_rate = np.float32(0.125)
    assert isinstance(opt.learning_rate, float)


def test_callable_learning_rates(bk):
    opt = optimizers.SGD(lambda step: 1.0 / (step + 1))
    (w,) = _vars(bk, [0.0])
    for _ in range(3):
        opt.apply([bk.asarray([-1.0])], [w])
    assert_close(w.data, [1 + 1 / 2 + 1 / 3], rtol=1e-12)
    assert optimizers.SGD(lambda: 0.3).learning_rate == pytest.approx(0.3)


def test_variables_order_and_round_trip(bk, rng):
    a, b = _vars(bk, rng.standard_normal((2, 2)), rng.standard_normal(3))
    opt = optimizers.Adam(0.1)
    grads = [[rng.standard_normal((2, 2)), rng.standard_normal(3)] for _ in range(4)]
    opt.apply([bk.asarray(g) for g in grads[0]], [a, b])
    state = opt.variables
    assert [tuple(s.shape) for s in state] == [(), (2, 2), (2, 2), (3,), (3,)]
    assert int(state[0]) == 1
    assert state[1] is opt._slots[id(a)]["momentum"] and state[4] is opt._slots[id(b)]["velocity"]
    # a fresh optimizer loaded with the saved state continues exactly like the original
    saved = {}
    opt.save_own_variables(saved)
    twin_vars = _vars(bk, to_host(a.data), to_host(b.data))
    twin = optimizers.Adam(0.1)
    twin.build(twin_vars)
    twin.load_own_variables(saved)
    assert twin.iterations == 1
    for g in grads[1:]:
        opt.apply([bk.asarray(x) for x in g], [a, b])
        twin.apply([bk.asarray(x) for x in g], twin_vars)
    for v, t in zip((a, b), twin_vars):
        assert np.array_equal(to_host(v.data), to_host(t.data))
    assert [w.shape for w in opt.get_weights()] == [(), (2, 2), (2, 2), (3,), (3,)]


def test_nadam_keeps_its_running_product_after_the_iterations(bk):
    opt = optimizers.Nadam()
    opt.apply([bk.asarray([1.0])], _vars(bk, [0.0]))
    assert len(opt.variables) == 4 and opt.variables[1].shape == ()


def test_missing_gradients(bk):
    a, b = _vars(bk, [0.0], [0.0])
    opt = optimizers.SGD(1.0)
    with pytest.warns(UserWarning, match="Gradients do not exist"):
        opt.apply([None, bk.asarray([1.0])], [a, b])
    assert_close(b.data, [-1.0])
    with pytest.raises(ValueError, match="No gradients provided"):
        opt.apply([None, None], [a, b])


def test_tensor_gradients_and_apply_gradients(bk):
    (w,) = _vars(bk, [1.0])
    opt = optimizers.SGD(0.5)
    assert opt.apply_gradients([(Tensor(bk.asarray([2.0])), w)]) == 1
    assert_close(w.data, [0.0])
    opt.apply([bk.asarray([2.0])])  # built: variables may be left out
    assert_close(w.data, [-1.0])


def test_bad_input():
    with pytest.raises(ValueError, match="Only one of `clipnorm`, `clipvalue`"):
        optimizers.SGD(clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(ValueError, match="Argument\\(s\\) not recognized"):
        optimizers.Adam(betta_1=0.9)
    with pytest.raises(ValueError, match="momentum"):
        optimizers.SGD(momentum=1.5)
    with pytest.raises(ValueError, match="learning_rate"):
        optimizers.Adam(learning_rate="fast")
    with pytest.raises(ValueError, match="weight_decay"):
        optimizers.AdamW(weight_decay=None)
    with pytest.raises(ValueError, match="gradient_accumulation_steps"):
        optimizers.Adam(gradient_accumulation_steps=1)
    with pytest.raises(ValueError, match="ema_momentum"):
        optimizers.Adam(use_ema=True, ema_momentum=2.0)
    with pytest.raises(ValueError, match="must already be built"):
        optimizers.SGD().apply([np.zeros(2)])


def test_gradient_shape_mismatch(bk):
    (w,) = _vars(bk, np.zeros((2, 3)))
    w.path = "dense/kernel"
    with pytest.raises(ValueError, match=r"'dense/kernel' has shape \(3, 2\).*\(2, 3\)"):
        optimizers.Adam().apply([bk.asarray(np.zeros((3, 2)))], [w])


def test_deprecated_arguments():
    with pytest.warns(DeprecationWarning, match="`lr` argument is deprecated"):
        opt = optimizers.SGD(lr=0.3)
    assert opt.learning_rate == 0.3
    with pytest.warns(UserWarning, match="`decay` is no longer supported"):
        optimizers.SGD(decay=0.1)


@pytest.mark.parametrize("name, cls", [
    ("adam", optimizers.Adam), ("Adam", optimizers.Adam), ("sgd", optimizers.SGD),
    ("SGD", optimizers.SGD), ("rmsprop", optimizers.RMSprop), ("RMSprop", optimizers.RMSprop),
    ("adamw", optimizers.AdamW), ("adagrad", optimizers.Adagrad),
    ("adadelta", optimizers.Adadelta), ("adamax", optimizers.Adamax), ("nadam", optimizers.Nadam),
])
def test_get_by_name(name, cls):
    assert type(optimizers.get(name)) is cls


def test_get_instances_classes_and_dicts():
    opt = optimizers.Adam(0.3)
    assert optimizers.get(opt) is opt
    assert isinstance(optimizers.get(optimizers.Nadam), optimizers.Nadam)
    rebuilt = optimizers.get({"class_name": "SGD", "config": {"learning_rate": 0.2,
                                                              "momentum": 0.5}})
    assert (rebuilt.learning_rate, rebuilt.momentum) == (0.2, 0.5)
    with pytest.raises(ValueError, match="Could not interpret optimizer identifier.*'adam'"):
        optimizers.get("adamm")


@pytest.mark.parametrize("opt", [
    optimizers.SGD(0.2, momentum=0.3, nesterov=True, clipnorm=1.0),
    optimizers.Adam(0.01, amsgrad=True, global_clipnorm=2.0, name="opt"),
    optimizers.AdamW(weight_decay=0.1, use_ema=True, ema_overwrite_frequency=5),
    optimizers.RMSprop(rho=0.8, centered=True, clipvalue=0.5),
    optimizers.Adagrad(initial_accumulator_value=0.5), optimizers.Adadelta(rho=0.9),
    optimizers.Adamax(beta_2=0.99), optimizers.Nadam(gradient_accumulation_steps=3),
    optimizers.Adam(schedules.CosineDecay(0.1, 100, alpha=0.1)),
])
def test_config_round_trip(opt):
    config = opt.get_config()
    rebuilt = optimizers.deserialize(optimizers.serialize(opt))
    assert type(rebuilt) is type(opt) and rebuilt.get_config() == config
    assert type(opt).from_config(config).get_config() == config


def test_no_warning_on_a_normal_step(bk):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        optimizers.Adam().apply([bk.asarray([1.0])], _vars(bk, [0.0]))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_flush_subnormal_zeroes_exactly_the_subnormal_entries(bk, dtype):
    from gkeras.optimizers.base import flush_subnormal

    tiny = np.finfo(dtype).tiny
    values = np.array([0.0, tiny / 2, -tiny / 8, tiny, -tiny, 1.5, -3e-30, tiny * 1.5], dtype)
    array = bk.asarray(values.copy())
    flush_subnormal(array)
    expected = values.copy()
    expected[1:3] = 0
    assert np.array_equal(to_host(array), expected)


@pytest.mark.parametrize("make", [
    lambda: optimizers.Adam(1e-3),
    lambda: optimizers.SGD(0.01, momentum=0.9),
    lambda: optimizers.RMSprop(1e-3, momentum=0.5),
], ids=["adam", "sgd_momentum", "rmsprop"])
def test_state_that_decays_under_zero_gradients_is_flushed_not_left_subnormal(
        bk, make, monkeypatch):
    """Entries whose gradient is zero decay geometrically; in float32 they would end stuck
    at the smallest subnormal (slow on x86 CPUs). Entries with a live gradient must come out
    bit-identical to an optimizer that never flushes."""
    from gkeras.optimizers import base

    def run(flush_every):
        monkeypatch.setattr(base, "SUBNORMAL_FLUSH_EVERY", flush_every)
        # two small variables: the NumPy optimizer packs them into shared flat buffers
        variable = Variable(bk.asarray(np.ones(8, dtype="float32")))
        dead = Variable(bk.asarray(np.ones(3, dtype="float32")))
        opt = make()
        live = np.array([1, 1, 1, 1, 0, 0, 0, 0], dtype="float32")
        opt.apply([bk.asarray(np.full(8, 1e-3, dtype="float32")),
                   bk.asarray(np.full(3, 1e-3, dtype="float32"))], [variable, dead])
        for _ in range(2000):
            opt.apply([bk.asarray(live * np.float32(1e-3)),
                       bk.asarray(np.zeros(3, dtype="float32"))], [variable, dead])
        slots = {name: np.concatenate([to_host(a), to_host(opt._slots[id(dead)][name])])
                 for name, a in opt._slots[id(variable)].items()}
        return to_host(variable.data), slots

    tiny = np.finfo(np.float32).tiny
    weights, slots = run(flush_every=16)
    never_weights, never_slots = run(flush_every=10**9)
    assert any(((np.abs(s) > 0) & (np.abs(s) < tiny)).any() for s in never_slots.values()), (
        "the scenario no longer produces subnormal state; the test would prove nothing")
    for name, state in slots.items():
        assert not ((np.abs(state) > 0) & (np.abs(state) < tiny)).any(), name
        assert np.array_equal(state[:4], never_slots[name][:4]), name
    assert np.array_equal(weights[:4], never_weights[:4])
