"""Weight constraints (`keras.constraints`): applied to a weight's raw array after each update."""

from gkeras import _identifiers
from gkeras.backend import backend_of


class Constraint(_identifiers.Configurable):
    """Base class: `__call__(w)` maps a raw array to its projection."""

    def __call__(self, w):
        return w


class MaxNorm(Constraint):
    """Rescales weights so the L2 norm over `axis` is at most `max_value`."""

    def __init__(self, max_value=2, axis=0):
        self.max_value, self.axis = max_value, axis

    def __call__(self, w):
        xp = backend_of(w).xp
        norms = xp.sqrt((w * w).sum(axis=self.axis, keepdims=True))
        desired = xp.clip(norms, 0, self.max_value)
        return w * (desired / (norms + 1e-7))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Clips weights at zero from below."""

    def __call__(self, w):
        return w * (w >= 0)


class UnitNorm(Constraint):
    """Scales weights to unit L2 norm over `axis`."""

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        xp = backend_of(w).xp
        return w / (1e-7 + xp.sqrt((w * w).sum(axis=self.axis, keepdims=True)))

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Moves the L2 norm over `axis` towards `[min_value, max_value]`.

    The new norm is `rate * clip(norm, min_value, max_value) + (1 - rate) * norm`: `rate=1`
    enforces the interval strictly, smaller rates step towards it.

    Args:
        min_value: the minimum norm (default 0).
        max_value: the maximum norm (default 1).
        rate: how far to move towards the interval, in `[0, 1]` (default 1).
        axis: the axis (or axes) the norm is taken over (default 0: per output unit).
    """

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value, self.max_value, self.rate, self.axis = min_value, max_value, rate, axis

    def __call__(self, w):
        xp = backend_of(w).xp
        norms = xp.sqrt((w * w).sum(axis=self.axis, keepdims=True))
        desired = (self.rate * xp.clip(norms, self.min_value, self.max_value)
                   + (1 - self.rate) * norms)
        return w * (desired / (norms + 1e-7))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate,
                "axis": self.axis}


max_norm, non_neg, unit_norm, min_max_norm = MaxNorm, NonNeg, UnitNorm, MinMaxNorm
_NAMES = {"max_norm": MaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm,
          "min_max_norm": MinMaxNorm}
_CLASSES = _NAMES | {cls.__name__: cls for cls in _NAMES.values()}


def get(identifier):
    """Returns a constraint from a name, config dict, callable or `None`.

    Raises:
        ValueError: for an unknown name, listing the valid ones.
    """
    return _identifiers.resolve(identifier, "constraint", _NAMES, _CLASSES)


def serialize(constraint):
    """`{"class_name": ..., "config": ...}` for `get_config` (a function: its name)."""
    return _identifiers.serialize(constraint, Constraint)
