"""Optimizers (`keras.optimizers`) and learning-rate schedules (`optimizers.schedules`).

Example:

>>> opt = gkeras.optimizers.get("adam")
>>> opt.apply([grad_array], [variable])     # in place, no graph recorded
"""

import inspect

from gkeras.optimizers import schedules  # noqa: F401
from gkeras.optimizers.adam import Adam, Adamax, AdamW, Nadam  # noqa: F401
from gkeras.optimizers.adaptive import Adadelta, Adagrad, RMSprop  # noqa: F401
from gkeras.optimizers.base import Optimizer  # noqa: F401
from gkeras.optimizers.ftrl import Ftrl  # noqa: F401
from gkeras.optimizers.lion import Lion  # noqa: F401
from gkeras.optimizers.sgd import SGD  # noqa: F401

_CLASSES = (SGD, Adam, AdamW, Adamax, Nadam, RMSprop, Adagrad, Adadelta, Lion, Ftrl)
_BY_NAME = {cls.__name__.lower(): cls for cls in _CLASSES}


def _lookup(name):
    cls = _BY_NAME.get(str(name).lower())
    if cls is None:
        raise ValueError(
            f"Could not interpret optimizer identifier: {name!r}. Valid names are: "
            f"{sorted(_BY_NAME)} (any capitalisation)."
        )
    return cls


def get(identifier):
    """Returns an `Optimizer` for an identifier.

    Args:
        identifier: a name (`"adam"`, `"SGD"`, `"rmsprop"`; any capitalisation), an
            `Optimizer` instance or class, or a `{"class_name", "config"}` dict.

    Returns:
        An `Optimizer` (a new one with Keras's defaults for a name).

    Raises:
        ValueError: for an unknown identifier, listing the valid names.
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        return _lookup(identifier)()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if inspect.isclass(identifier) and issubclass(identifier, Optimizer):
        return identifier()
    raise ValueError(
        f"Could not interpret optimizer identifier: {identifier!r}. Expected a name "
        f"({sorted(_BY_NAME)}), an Optimizer instance or a config dict."
    )


def serialize(optimizer):
    """`{"class_name": ..., "config": ...}` for an optimizer (its state is not included)."""
    return {"module": "keras.optimizers", "class_name": type(optimizer).__name__,
            "config": optimizer.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None):
    """Rebuilds an optimizer from `serialize`'s output.

    Args:
        config: a `{"class_name", "config"}` dict.
        custom_objects: optional `{name: class}` for user-defined optimizers or schedules.

    Returns:
        A new `Optimizer`.
    """
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(
            f"Could not deserialize optimizer from {config!r}: expected a dict with "
            "'class_name' and 'config'."
        )
    custom_objects = custom_objects or {}
    name = config["class_name"]
    cls = custom_objects.get(name) or _lookup(name)
    return cls.from_config(dict(config.get("config") or {}), custom_objects=custom_objects)
