"""Losses (`keras.losses`): loss classes, loss functions, and `get` / `serialize` / `deserialize`.

Example:

>>> loss = gkeras.losses.SparseCategoricalCrossentropy()
>>> value = loss(labels, model(x))      # a scalar Tensor
>>> value.backward()
"""

import inspect

from gkeras import _identifiers
from gkeras.losses.base import (  # noqa: F401
    REDUCTIONS,
    Loss,
    LossFunctionWrapper,
    Reduction,
    reduce_weighted_values,
    squeeze_or_expand_to_same_rank,
    standardize_reduction,
)
from gkeras.losses.classes import (  # noqa: F401
    BinaryCrossentropy,
    CategoricalCrossentropy,
    CategoricalHinge,
    CosineSimilarity,
    Hinge,
    Huber,
    KLDivergence,
    LogCosh,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    Poisson,
    SparseCategoricalCrossentropy,
    SquaredHinge,
)
from gkeras.losses.focal import (  # noqa: F401
    BinaryFocalCrossentropy,
    CategoricalFocalCrossentropy,
    binary_focal_crossentropy,
    categorical_focal_crossentropy,
)
from gkeras.losses.functions import (  # noqa: F401
    BCE,
    KLD,
    MAE,
    MAPE,
    MSE,
    MSLE,
    bce,
    binary_crossentropy,
    categorical_crossentropy,
    categorical_hinge,
    cosine_similarity,
    hinge,
    huber,
    kl_divergence,
    kld,
    kullback_leibler_divergence,
    log_cosh,
    logcosh,
    mae,
    mape,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
    mse,
    msle,
    poisson,
    sparse_categorical_crossentropy,
    squared_hinge,
)
from gkeras.losses.overlap import Dice, Tversky, dice, tversky  # noqa: F401

_CLASSES = (
    BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy,
    MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, CosineSimilarity, Huber, LogCosh, KLDivergence, Poisson,
    Hinge, SquaredHinge, CategoricalHinge, BinaryFocalCrossentropy,
    CategoricalFocalCrossentropy, Dice, Tversky,
)
# function name (and Keras's short aliases) -> the class computing the same loss
_FUNCTION_CLASSES = {
    "binary_crossentropy": BinaryCrossentropy, "bce": BinaryCrossentropy,
    "BCE": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError, "MSE": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "MAE": MeanAbsoluteError,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "mape": MeanAbsolutePercentageError, "MAPE": MeanAbsolutePercentageError,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
    "msle": MeanSquaredLogarithmicError, "MSLE": MeanSquaredLogarithmicError,
    "cosine_similarity": CosineSimilarity, "huber": Huber, "huber_loss": Huber,
    "log_cosh": LogCosh, "logcosh": LogCosh,
    "kl_divergence": KLDivergence, "kld": KLDivergence, "KLD": KLDivergence,
    "kullback_leibler_divergence": KLDivergence,
    "poisson": Poisson, "hinge": Hinge, "squared_hinge": SquaredHinge,
    "categorical_hinge": CategoricalHinge,
    "binary_focal_crossentropy": BinaryFocalCrossentropy,
    "categorical_focal_crossentropy": CategoricalFocalCrossentropy,
    "dice": Dice, "tversky": Tversky,
}
_BY_CLASS_NAME = {cls.__name__: cls for cls in _CLASSES}
_BY_CLASS_NAME["LossFunctionWrapper"] = LossFunctionWrapper
_FUNCTIONS = {fn.__name__: fn for fn in (
    binary_crossentropy, categorical_crossentropy, sparse_categorical_crossentropy,
    mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
    mean_squared_logarithmic_error, cosine_similarity, huber, log_cosh, kl_divergence, poisson,
    hinge, squared_hinge, categorical_hinge, binary_focal_crossentropy,
    categorical_focal_crossentropy, dice, tversky,
)}
_FUNCTION_OF_CLASS = {_FUNCTION_CLASSES[name]: fn for name, fn in _FUNCTIONS.items()}


def _valid_names():
    return sorted(set(_FUNCTION_CLASSES) | set(_BY_CLASS_NAME) - {"LossFunctionWrapper"})


def get(identifier):
    """Returns the loss an identifier names, as Keras does.

    Args:
        identifier: a function name or alias (`"mse"`, `"binary_crossentropy"`: the per-sample
            function is returned), a class name (`"BinaryCrossentropy"`: an instance), a
            `{"class_name", "config"}` dict, a `Loss` instance or class, or a callable
            (returned as is). `None` gives `None`.

    Returns:
        A loss function, a `Loss` instance, or `None`.

    Raises:
        ValueError: for an unknown name, listing the valid ones.

    Example:

    >>> gkeras.losses.get("mse") is gkeras.losses.mean_squared_error
    True
    """
    if isinstance(identifier, str) and identifier in _FUNCTION_CLASSES:
        return _FUNCTION_OF_CLASS[_FUNCTION_CLASSES[identifier]]
    if callable(identifier) and not inspect.isclass(identifier):
        return identifier
    return as_loss(identifier)


def as_loss(identifier):
    """A `Loss` object for anything `compile(loss=...)` accepts (see `get`).

    Function names and loss functions give the matching `Loss` class with Keras's default
    name (e.g. `"mean_squared_error"`); other callables `fn(y_true, y_pred)` returning
    per-sample losses are wrapped in a `LossFunctionWrapper` named after them.
    """
    if identifier is None:
        return None
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        if identifier in _FUNCTION_CLASSES:
            cls = _FUNCTION_CLASSES[identifier]
            # function names keep Keras's default name of the loss (e.g. "mean_squared_error")
            return cls()
        if identifier in _BY_CLASS_NAME and identifier != "LossFunctionWrapper":
            return _BY_CLASS_NAME[identifier]()
        raise ValueError(
            f"Could not interpret loss identifier: {identifier!r}. Valid names are: "
            f"{_valid_names()}."
        )
    if inspect.isclass(identifier) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        fn_class = _FUNCTION_CLASSES.get(getattr(identifier, "__name__", None))
        if fn_class is not None and _FUNCTIONS.get(identifier.__name__) is identifier:
            return fn_class()
        return LossFunctionWrapper(identifier)
    raise ValueError(
        f"Could not interpret loss identifier: {identifier!r}. Expected a loss name, a Loss "
        f"instance, a config dict or a callable fn(y_true, y_pred). Valid names are: "
        f"{_valid_names()}."
    )


def serialize(loss):
    """`{"class_name": ..., "config": ...}` for a `Loss`; the name of a loss function."""
    if loss is None:
        return None
    if isinstance(loss, Loss):
        return {"module": "keras.losses", "class_name": type(loss).__name__,
                "config": loss.get_config(), "registered_name": None}
    name = getattr(loss, "__name__", None)
    if name is None:
        raise ValueError(f"Cannot serialize loss {loss!r}: it is neither a Loss nor a function.")
    return name


def deserialize(config, custom_objects=None):
    """Rebuilds a loss from `serialize`'s output (a dict or a name).

    Args:
        config: a `{"class_name", "config"}` dict or a loss name.
        custom_objects: optional `{name: class or function}` for user-defined losses.

    Returns:
        A `Loss` instance.
    """
    return _identifiers.deserialize(config, custom_objects, "loss", "losses", _BY_CLASS_NAME,
                                    get, LossFunctionWrapper)
