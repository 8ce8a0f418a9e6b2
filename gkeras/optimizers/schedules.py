"""Learning-rate schedules (`keras.optimizers.schedules`): `schedule(step) -> float`.

An optimizer evaluates its schedule once per update at its iteration count (a Python int),
so schedules are plain host arithmetic: nothing here touches a device.
"""

import math


class LearningRateSchedule:
    """Base class of learning-rate schedules: `__call__(step)` returns the learning rate.

    Subclasses implement `__call__` and `get_config`.
    """

    def __call__(self, step):
        raise NotImplementedError(f"{type(self).__name__} must implement `__call__(step)`.")

    def get_config(self):
        raise NotImplementedError(f"{type(self).__name__} must implement `get_config()`.")

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _check_steps(value, name):
    if value <= 0:
        raise ValueError(f"Argument `{name}` must be > 0. Received: {name}={value}")


class _RateDecay(LearningRateSchedule):
    """Shared by the schedules that decay with `step / decay_steps` at a `decay_rate`."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name=None):
        _check_steps(decay_steps, "decay_steps")
        self.initial_learning_rate, self.decay_steps = initial_learning_rate, decay_steps
        self.decay_rate, self.staircase = decay_rate, staircase
        self.name = name or type(self).__name__

    def _progress(self, step):
        """`step / decay_steps`, floored when `staircase`."""
        p = float(step) / self.decay_steps
        return math.floor(p) if self.staircase else p

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class ExponentialDecay(_RateDecay):
    """`initial_learning_rate * decay_rate ** (step / decay_steps)`.

    Args:
        initial_learning_rate: the learning rate at step 0.
        decay_steps: steps per factor of `decay_rate` (> 0).
        decay_rate: the decay factor.
        staircase: decay in whole steps (`floor(step / decay_steps)`).
        name: name of the schedule.
    """

    def __call__(self, step):
        return self.initial_learning_rate * self.decay_rate ** self._progress(step)


class PiecewiseConstantDecay(LearningRateSchedule):
    """`values[0]` up to `boundaries[0]` (inclusive), `values[1]` up to `boundaries[1]`, ...

    Args:
        boundaries: increasing step boundaries.
        values: one more value than boundaries.
        name: name of the schedule.
    """

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        boundaries, values = list(boundaries), list(values)
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "The length of boundaries should be 1 less than the length of values. "
                f"Received: boundaries={boundaries} of length {len(boundaries)}, and "
                f"values={values} of length {len(values)}."
            )
        self.boundaries, self.values, self.name = boundaries, values, name

    def __call__(self, step):
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return value
        return self.values[-1]

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """Polynomial decay from `initial_learning_rate` to `end_learning_rate` in
    `decay_steps` steps (restarting with growing periods when `cycle`).

    Args:
        initial_learning_rate: the learning rate at step 0.
        decay_steps: length of the decay (> 0).
        end_learning_rate: the final learning rate.
        power: the polynomial's power (1 is linear).
        cycle: restart after `decay_steps`, with the period grown to the next multiple.
        name: name of the schedule.
    """

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0,
                 cycle=False, name="PolynomialDecay"):
        _check_steps(decay_steps, "decay_steps")
        self.initial_learning_rate, self.decay_steps = initial_learning_rate, decay_steps
        self.end_learning_rate, self.power = end_learning_rate, power
        self.cycle, self.name = cycle, name

    def __call__(self, step):
        step = float(step)
        decay_steps = float(self.decay_steps)
        if self.cycle:
            decay_steps *= 1.0 if step == 0 else math.ceil(step / self.decay_steps)
        else:
            step = min(step, decay_steps)
        p = step / decay_steps
        return ((self.initial_learning_rate - self.end_learning_rate) * (1 - p) ** self.power
                + self.end_learning_rate)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "end_learning_rate": self.end_learning_rate,
                "power": self.power, "cycle": self.cycle, "name": self.name}


class InverseTimeDecay(_RateDecay):
    """`initial_learning_rate / (1 + decay_rate * step / decay_steps)`.

    Args:
        initial_learning_rate: the learning rate at step 0.
        decay_steps: the step scale (> 0).
        decay_rate: the decay rate.
        staircase: decay in whole steps (`floor(step / decay_steps)`).
        name: name of the schedule.
    """

    def __call__(self, step):
        return self.initial_learning_rate / (1 + self.decay_rate * self._progress(step))


class CosineDecay(LearningRateSchedule):
    """Cosine decay from the learning rate to `alpha` times it over `decay_steps`, after an
    optional linear warm-up from `initial_learning_rate` to `warmup_target`.

    Args:
        initial_learning_rate: the learning rate at step 0.
        decay_steps: length of the cosine decay (> 0).
        alpha: the final learning rate as a fraction of the decayed-from rate.
        name: name of the schedule.
        warmup_target: the rate reached after warm-up (no warm-up when `None`).
        warmup_steps: length of the warm-up.
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        _check_steps(decay_steps, "decay_steps")
        self.initial_learning_rate, self.decay_steps = initial_learning_rate, decay_steps
        self.alpha, self.name = alpha, name
        self.warmup_target, self.warmup_steps = warmup_target, warmup_steps

    def _decay(self, step, start):
        cosine = 0.5 * (1.0 + math.cos(math.pi * step / self.decay_steps))
        return start * ((1 - self.alpha) * cosine + self.alpha)

    def __call__(self, step):
        step = float(step)
        if self.warmup_target is None:
            return self._decay(min(step, self.decay_steps), self.initial_learning_rate)
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            fraction = step / self.warmup_steps
            return (self.warmup_target - self.initial_learning_rate) * fraction + (
                self.initial_learning_rate)
        return self._decay(step - self.warmup_steps, self.warmup_target)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR): periods grow by `t_mul`, peaks by `m_mul`.

    Args:
        initial_learning_rate: the learning rate at step 0.
        first_decay_steps: length of the first period (> 0).
        t_mul: factor of each period's length over the previous one.
        m_mul: factor of each period's starting rate over the previous one.
        alpha: the minimum rate as a fraction of `initial_learning_rate`.
        name: name of the schedule.
    """

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0,
                 alpha=0.0, name="SGDRDecay"):
        _check_steps(first_decay_steps, "first_decay_steps")
        self.initial_learning_rate, self.first_decay_steps = (initial_learning_rate,
                                                              first_decay_steps)
        self._t_mul, self._m_mul, self.alpha, self.name = t_mul, m_mul, alpha, name

    def __call__(self, step):
        fraction = float(step) / self.first_decay_steps
        if self._t_mul == 1.0:
            restart = math.floor(fraction)
            fraction -= restart
        else:
            # the period i starts after sum_{j<i} t^j = (1 - t^i) / (1 - t) first periods
            t = self._t_mul
            restart = math.floor(math.log(1.0 - fraction * (1.0 - t)) / math.log(t))
            done = (1.0 - t ** restart) / (1.0 - t)
            fraction = (fraction - done) / t ** restart
        cosine = 0.5 * self._m_mul ** restart * (1.0 + math.cos(math.pi * fraction))
        return self.initial_learning_rate * ((1 - self.alpha) * cosine + self.alpha)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "first_decay_steps": self.first_decay_steps, "t_mul": self._t_mul,
                "m_mul": self._m_mul, "alpha": self.alpha, "name": self.name}


_CLASSES = {cls.__name__: cls for cls in (ExponentialDecay, PiecewiseConstantDecay,
                                          PolynomialDecay, InverseTimeDecay, CosineDecay,
                                          CosineDecayRestarts)}


def serialize(schedule):
    """`{"class_name": ..., "config": ...}` for a schedule."""
    return {"module": "keras.optimizers.schedules", "class_name": type(schedule).__name__,
            "config": schedule.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    """Rebuilds a schedule from `serialize`'s output.

    Args:
        config: a `{"class_name", "config"}` dict.
        custom_objects: optional `{class_name: class}` for user-defined schedules.

    Returns:
        A `LearningRateSchedule`.
    """
    name = config.get("class_name") if isinstance(config, dict) else None
    cls = (custom_objects or {}).get(name) or _CLASSES.get(name)
    if cls is None:
        raise ValueError(
            f"Unknown learning rate schedule {name!r}. Valid schedules are: {sorted(_CLASSES)}."
        )
    return cls.from_config(dict(config.get("config") or {}))
