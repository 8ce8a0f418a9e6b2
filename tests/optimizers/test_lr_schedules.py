"""Learning-rate schedules against their formulas, configs, and bad arguments."""

import math

import pytest

from gkeras.optimizers import schedules

STEPS = [0, 1, 2, 5, 9, 10, 11, 25, 100]


@pytest.mark.parametrize("staircase", [False, True])
def test_exponential_decay(staircase):
    s = schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5, staircase=staircase)
    for step in STEPS:
        p = step // 10 if staircase else step / 10
        assert s(step) == pytest.approx(0.1 * 0.5 ** p, rel=1e-12)


@pytest.mark.parametrize("staircase", [False, True])
def test_inverse_time_decay(staircase):
    s = schedules.InverseTimeDecay(0.2, decay_steps=4, decay_rate=0.5, staircase=staircase)
    for step in STEPS:
        p = step // 4 if staircase else step / 4
        assert s(step) == pytest.approx(0.2 / (1 + 0.5 * p), rel=1e-12)


def test_piecewise_constant_decay():
    s = schedules.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
    expected = {0: 1.0, 10: 1.0, 11: 0.5, 20: 0.5, 21: 0.1, 1000: 0.1}
    assert {step: s(step) for step in expected} == expected


@pytest.mark.parametrize("alpha", [0.0, 0.2])
def test_cosine_decay(alpha):
    s = schedules.CosineDecay(0.1, decay_steps=10, alpha=alpha)
    for step in STEPS:
        t = min(step, 10) / 10
        expected = 0.1 * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * t)) + alpha)
        assert s(step) == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_cosine_decay_with_warmup():
    s = schedules.CosineDecay(0.0, decay_steps=10, warmup_target=1.0, warmup_steps=5)
    assert [s(step) for step in (0, 1, 4)] == pytest.approx([0.0, 0.2, 0.8])
    for step in (5, 8, 15, 40):
        t = min(step - 5, 10) / 10
        assert s(step) == pytest.approx(0.5 * (1 + math.cos(math.pi * t)), abs=1e-12)


@pytest.mark.parametrize("cycle", [False, True])
def test_polynomial_decay(cycle):
    s = schedules.PolynomialDecay(1.0, decay_steps=10, end_learning_rate=0.1, power=2.0,
                                  cycle=cycle)
    for step in STEPS:
        if cycle:
            period = 10 * max(1, math.ceil(step / 10))
            p = step / period
        else:
            p = min(step, 10) / 10
        assert s(step) == pytest.approx(0.9 * (1 - p) ** 2 + 0.1, rel=1e-12)


def test_cosine_decay_restarts():
    s = schedules.CosineDecayRestarts(1.0, first_decay_steps=4, t_mul=2.0, m_mul=0.5, alpha=0.0)
    # periods: [0, 4) at peak 1, [4, 12) at peak 0.5, [12, 28) at peak 0.25
    def expected(step):
        start, length, peak = 0, 4, 1.0
        while step >= start + length:
            start, length, peak = start + length, length * 2, peak * 0.5
        return peak * 0.5 * (1 + math.cos(math.pi * (step - start) / length))

    for step in (0, 1, 3, 4, 7, 11, 12, 20, 27):
        assert s(step) == pytest.approx(expected(step), abs=1e-12)
    flat = schedules.CosineDecayRestarts(1.0, first_decay_steps=4, t_mul=1.0)
    assert flat(6) == pytest.approx(0.5 * (1 + math.cos(math.pi * 2 / 4)))


@pytest.mark.parametrize("schedule", [
    schedules.ExponentialDecay(0.1, 100, 0.96, staircase=True),
    schedules.PiecewiseConstantDecay([5], [0.1, 0.01]),
    schedules.PolynomialDecay(0.1, 50, cycle=True),
    schedules.InverseTimeDecay(0.1, 10, 0.5),
    schedules.CosineDecay(0.1, 100, alpha=0.1, warmup_target=0.2, warmup_steps=10),
    schedules.CosineDecayRestarts(0.1, 10, t_mul=1.5),
])
def test_config_round_trip(schedule):
    rebuilt = schedules.deserialize(schedules.serialize(schedule))
    assert type(rebuilt) is type(schedule) and rebuilt.get_config() == schedule.get_config()
    assert rebuilt(37) == schedule(37)


def test_bad_arguments():
    with pytest.raises(ValueError, match="decay_steps"):
        schedules.ExponentialDecay(0.1, 0, 0.5)
    with pytest.raises(ValueError, match="1 less than the length of values"):
        schedules.PiecewiseConstantDecay([1, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="Unknown learning rate schedule"):
        schedules.deserialize({"class_name": "StepDecay", "config": {}})
