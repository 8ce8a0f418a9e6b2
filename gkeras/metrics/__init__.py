"""Metrics (`keras.metrics`): metric classes, per-sample metric functions, `get`, and the
Keras 2 rule that turns `"accuracy"` / `"crossentropy"` into the right metric for a model.
"""

import inspect

from gkeras import _identifiers
from gkeras.losses import focal as _focal
from gkeras.losses import functions as _loss_functions
from gkeras.metrics.accuracy import (  # noqa: F401
    Accuracy,
    BinaryAccuracy,
    CategoricalAccuracy,
    SparseCategoricalAccuracy,
    SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy,
    accuracy,
    binary_accuracy,
    categorical_accuracy,
    sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy,
    top_k_categorical_accuracy,
)
from gkeras.metrics.auc import AUC  # noqa: F401
from gkeras.metrics.base import (  # noqa: F401
    Mean,
    MeanMetricWrapper,
    Metric,
    MetricVariable,
    Sum,
)
from gkeras.metrics.confusion import (  # noqa: F401
    FalseNegatives,
    FalsePositives,
    Precision,
    Recall,
    TrueNegatives,
    TruePositives,
)
from gkeras.metrics.f_score import F1Score, FBetaScore  # noqa: F401
from gkeras.metrics.iou import BinaryIoU, IoU, MeanIoU, OneHotIoU, OneHotMeanIoU  # noqa: F401
from gkeras.metrics.regression import (  # noqa: F401
    BinaryCrossentropy,
    CategoricalCrossentropy,
    CategoricalHinge,
    CosineSimilarity,
    Hinge,
    KLDivergence,
    LogCoshError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredError,
    MeanSquaredLogarithmicError,
    Poisson,
    RootMeanSquaredError,
    SparseCategoricalCrossentropy,
    SquaredHinge,
    cosine_similarity,
)
from gkeras.metrics.regression_extra import R2Score  # noqa: F401

# Keras's metric functions that are loss functions too
binary_crossentropy = _loss_functions.binary_crossentropy
categorical_crossentropy = _loss_functions.categorical_crossentropy
sparse_categorical_crossentropy = _loss_functions.sparse_categorical_crossentropy
mean_squared_error = mse = _loss_functions.mean_squared_error
mean_absolute_error = mae = _loss_functions.mean_absolute_error
mean_absolute_percentage_error = mape = _loss_functions.mean_absolute_percentage_error
mean_squared_logarithmic_error = msle = _loss_functions.mean_squared_logarithmic_error
kl_divergence = kld = _loss_functions.kl_divergence
poisson = _loss_functions.poisson
hinge = _loss_functions.hinge
squared_hinge = _loss_functions.squared_hinge
categorical_hinge = _loss_functions.categorical_hinge
log_cosh = logcosh = _loss_functions.log_cosh
binary_focal_crossentropy = _focal.binary_focal_crossentropy
categorical_focal_crossentropy = _focal.categorical_focal_crossentropy

_CLASSES = (
    Mean, Sum, MeanMetricWrapper, Accuracy, BinaryAccuracy, CategoricalAccuracy,
    SparseCategoricalAccuracy, TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy, AUC,
    Precision, Recall, TruePositives, FalsePositives, TrueNegatives, FalseNegatives,
    MeanSquaredError, RootMeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, CosineSimilarity, LogCoshError, BinaryCrossentropy,
    CategoricalCrossentropy, SparseCategoricalCrossentropy, KLDivergence, Poisson, Hinge,
    SquaredHinge, CategoricalHinge, FBetaScore, F1Score, R2Score, IoU, MeanIoU, BinaryIoU,
    OneHotIoU, OneHotMeanIoU,
)
_BY_CLASS_NAME = {cls.__name__: cls for cls in _CLASSES}

# lower-case names (function names, Keras's aliases, snake-case class names) -> class
_BY_NAME = {
    "accuracy": Accuracy, "binary_accuracy": BinaryAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "top_k_categorical_accuracy": TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": SparseTopKCategoricalAccuracy,
    "auc": AUC, "precision": Precision, "recall": Recall,
    "true_positives": TruePositives, "false_positives": FalsePositives,
    "true_negatives": TrueNegatives, "false_negatives": FalseNegatives,
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError, "MSE": MeanSquaredError,
    "root_mean_squared_error": RootMeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "MAE": MeanAbsoluteError,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "mape": MeanAbsolutePercentageError, "MAPE": MeanAbsolutePercentageError,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
    "msle": MeanSquaredLogarithmicError, "MSLE": MeanSquaredLogarithmicError,
    "cosine_similarity": CosineSimilarity, "logcosh": LogCoshError,
    "log_cosh": LogCoshError, "log_cosh_error": LogCoshError,
    "binary_crossentropy": BinaryCrossentropy, "bce": BinaryCrossentropy,
    "BCE": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "kl_divergence": KLDivergence, "kld": KLDivergence, "KLD": KLDivergence,
    "kullback_leibler_divergence": KLDivergence, "poisson": Poisson, "hinge": Hinge,
    "squared_hinge": SquaredHinge, "categorical_hinge": CategoricalHinge,
    "mean": Mean, "sum": Sum,
    "f1_score": F1Score, "fbeta_score": FBetaScore, "r2_score": R2Score,
}

# metric functions by name, for rebuilding a MeanMetricWrapper from its config
FUNCTIONS = {fn.__name__: fn for fn in (
    accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
    top_k_categorical_accuracy, sparse_top_k_categorical_accuracy, cosine_similarity,
    binary_crossentropy, categorical_crossentropy, sparse_categorical_crossentropy,
    mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
    mean_squared_logarithmic_error, kl_divergence, poisson, hinge, squared_hinge,
    categorical_hinge, log_cosh, binary_focal_crossentropy, categorical_focal_crossentropy,
)}


def _valid_names():
    return sorted(set(_BY_NAME) | set(_BY_CLASS_NAME) - {"MeanMetricWrapper"})


def get(identifier):
    """Returns a `Metric` object for an identifier.

    Args:
        identifier: a metric name (`"mse"`, `"auc"`, `"binary_accuracy"`, a class name such
            as `"Precision"`), a `{"class_name", "config"}` dict, a `Metric` instance or class,
            or a function `fn(y_true, y_pred)` of per-sample values (wrapped in a
            `MeanMetricWrapper` named after it). Lower-case names become the metric's name,
            as in Keras 2 (`"mse"` is reported as `mse`).

    Returns:
        A `Metric` (or `None` for `None`).

    Raises:
        ValueError: for an unknown name, listing the valid ones. `"acc"` and
            `"crossentropy"` depend on the model: see `resolve_accuracy`.
    """
    if identifier is None:
        return None
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        if identifier in _BY_NAME:
            return _BY_NAME[identifier](name=identifier)
        if identifier in _BY_CLASS_NAME and identifier != "MeanMetricWrapper":
            return _BY_CLASS_NAME[identifier]()
        hint = ""
        if identifier in ("acc", "ce", "crossentropy"):
            hint = (f" {identifier!r} depends on the model's loss and output shape: use "
                    "gkeras.metrics.resolve_accuracy (model.compile does).")
        raise ValueError(
            f"Could not interpret metric identifier: {identifier!r}.{hint} Valid names are: "
            f"{_valid_names()}."
        )
    if inspect.isclass(identifier) and issubclass(identifier, Metric):
        return identifier()
    if callable(identifier):
        return MeanMetricWrapper(identifier, name=getattr(identifier, "__name__", None))
    raise ValueError(
        f"Could not interpret metric identifier: {identifier!r}. Expected a metric name, a "
        "Metric instance, a config dict or a callable fn(y_true, y_pred)."
    )


def serialize(metric):
    """`{"class_name": ..., "config": ...}` for a `Metric`; the name of a metric function."""
    if isinstance(metric, Metric):
        return {"module": "keras.metrics", "class_name": type(metric).__name__,
                "config": metric.get_config(), "registered_name": None}
    name = getattr(metric, "__name__", None)
    if name is None:
        raise ValueError(f"Cannot serialize metric {metric!r}.")
    return name


def deserialize(config, custom_objects=None):
    """Rebuilds a metric from `serialize`'s output (a dict or a name).

    Args:
        config: a `{"class_name", "config"}` dict or a metric name.
        custom_objects: optional `{name: class or function}` for user-defined metrics.

    Returns:
        A `Metric`.
    """
    return _identifiers.deserialize(config, custom_objects, "metric", "metrics", _BY_CLASS_NAME,
                                    get, MeanMetricWrapper)


# ------------------------------------------------------ "accuracy" and friends
def _loss_kind(loss):
    """`"binary"`, `"sparse"`, `"categorical"` for the crossentropy losses, else `None`."""
    from gkeras import losses

    if loss is None:
        return None
    if isinstance(loss, str):
        try:
            loss = losses.as_loss(loss)
        except ValueError:
            return None
    if isinstance(loss, losses.BinaryCrossentropy) or loss is losses.binary_crossentropy:
        return "binary"
    if isinstance(loss, losses.SparseCategoricalCrossentropy) or (
            loss is losses.sparse_categorical_crossentropy):
        return "sparse"
    if isinstance(loss, losses.CategoricalCrossentropy) or (
            loss is losses.categorical_crossentropy):
        return "categorical"
    fn = getattr(loss, "fn", None)
    if fn is not None and fn is not loss:
        return _loss_kind(fn)
    return None


def _accuracy_kind(loss, output_shape, target_shape):
    kind = _loss_kind(loss)
    last = output_shape[-1] if output_shape else None
    if last == 1 or kind == "binary":
        return "binary"
    if kind == "sparse":
        return "sparse"
    if kind is None and target_shape is not None and output_shape:
        # tf.keras's data rule: labels of lower rank, or a last axis of 1, are class ids
        if len(target_shape) < len(output_shape) or (
                target_shape[-1:] == (1,) and last is not None and last > 1):
            return "sparse"
    return "categorical"


def resolve_accuracy(name, loss, output_shape, target_shape=None):
    """The metric Keras 2 means by `"accuracy"` / `"acc"` for a model output.

    Binary accuracy when the output's last dimension is 1 or the loss is binary
    crossentropy; sparse categorical accuracy when the loss is sparse categorical
    crossentropy (or, for other losses, when `target_shape` shows integer labels);
    categorical accuracy otherwise.

    Args:
        name: `"accuracy"` or `"acc"` (`"crossentropy"`/`"ce"` are passed on to
            `resolve_crossentropy`); it becomes the metric's name.
        loss: the output's loss (a `Loss`, a loss function or a name), or `None`.
        output_shape: the shape of the model output (the batch dimension may be `None`).
        target_shape: optional shape of the targets.

    Returns:
        A `Metric` named `name`.
    """
    if name in ("crossentropy", "ce"):
        return resolve_crossentropy(name, loss, output_shape, target_shape)
    if name not in ("accuracy", "acc"):
        raise ValueError(
            f"resolve_accuracy handles 'accuracy', 'acc', 'crossentropy' and 'ce'; got {name!r}."
        )
    kind = _accuracy_kind(loss, tuple(output_shape), target_shape)
    cls = {"binary": BinaryAccuracy, "sparse": SparseCategoricalAccuracy,
           "categorical": CategoricalAccuracy}[kind]
    return cls(name=name)


def resolve_crossentropy(name, loss, output_shape, target_shape=None):
    """The metric Keras 2 means by `"crossentropy"` / `"ce"` (same rule as
    `resolve_accuracy`), named `name`."""
    kind = _accuracy_kind(loss, tuple(output_shape), target_shape)
    cls = {"binary": BinaryCrossentropy, "sparse": SparseCategoricalCrossentropy,
           "categorical": CategoricalCrossentropy}[kind]
    return cls(name=name)
