"""Weight regularisers (`keras.regularizers`): `reg(weight) -> scalar Tensor`, added to the loss."""

from gkeras import _identifiers, ops


class Regularizer(_identifiers.Configurable):
    """Base class: `__call__(x)` returns a scalar penalty Tensor."""

    def __call__(self, x):
        raise NotImplementedError


def _factor(value, name, default):
    """A non-negative float penalty factor (`None` means the Keras default)."""
    value = default if value is None else value
    try:
        ok = float(value) >= 0 and not isinstance(value, bool)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(
            f"Invalid value for argument {name}: expected a non-negative float. "
            f"Received: {name}={value!r}."
        )
    return float(value)


class L1L2(Regularizer):
    """`l1 * sum(|x|) + l2 * sum(x^2)`."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = _factor(l1, "l1", 0.0), _factor(l2, "l2", 0.0)

    def __call__(self, x):
        terms = []
        if self.l1:
            terms.append(ops.multiply(ops.sum(ops.abs(x)), self.l1))
        if self.l2:
            terms.append(ops.multiply(ops.sum(ops.square(x)), self.l2))
        if not terms:
            # both factors are zero: still a Tensor of x's dtype and device
            return ops.multiply(ops.sum(x), 0.0)
        return terms[0] if len(terms) == 1 else ops.add(terms[0], terms[1])

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """`l1 * sum(|x|)` (Keras default 0.01)."""

    def __init__(self, l1=0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    """`l2 * sum(x^2)` (Keras default 0.01)."""

    def __init__(self, l2=0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


def l1_l2(l1=0.01, l2=0.01):
    """Both penalties with Keras's defaults of 0.01 each."""
    return L1L2(l1=l1, l2=l2)


l1, l2 = L1, L2
# Keras's names; the string "l1_l2" means the function (0.01 each), not the class (0.0 each)
_NAMES = {"l1": L1, "l2": L2, "l1_l2": l1_l2}
_CLASSES = {"l1": L1, "l2": L2, "l1_l2": L1L2, "L1": L1, "L2": L2, "L1L2": L1L2}


def get(identifier):
    """Returns a regulariser from a name, a config dict, a callable or `None`.

    Raises:
        ValueError: for an unknown name, listing the valid ones.
    """
    return _identifiers.resolve(identifier, "regularizer", _NAMES, _CLASSES)


def serialize(regularizer):
    """`{"class_name": ..., "config": ...}` for `get_config` (a function: its name)."""
    return _identifiers.serialize(regularizer, Regularizer)
