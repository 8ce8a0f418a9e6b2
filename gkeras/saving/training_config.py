"""The `training_config` of an HDF5 model file: compile arguments and optimizer config.

Written in Keras's shape (`loss`, `metrics`, `weighted_metrics`, `loss_weights`,
`optimizer_config`); read back from gkeras, Keras 3 and tf.keras 2 files (tf.keras 2 wraps
metrics per output, `[[...]]`, as `MeanMetricWrapper` configs, and names optimizers
`Custom>Adam`).
"""

import inspect
import warnings

import numpy as np

from gkeras.saving import serialization as ser
from gkeras.saving.keras_compat import normalize_object_config

_SPECIAL_METRICS = ("accuracy", "acc", "crossentropy", "ce")
# Keras 3's HDF5 loader resolves loss names through its metrics module, where these short
# aliases are not losses; the full function names load everywhere (and mean the same loss).
_LOSS_ALIASES = {
    "mse": "mean_squared_error", "MSE": "mean_squared_error",
    "mae": "mean_absolute_error", "MAE": "mean_absolute_error",
    "mape": "mean_absolute_percentage_error", "MAPE": "mean_absolute_percentage_error",
    "msle": "mean_squared_logarithmic_error", "MSLE": "mean_squared_logarithmic_error",
    "kld": "kl_divergence", "KLD": "kl_divergence",
    "kullback_leibler_divergence": "kl_divergence",
    "bce": "binary_crossentropy", "BCE": "binary_crossentropy",
}


# ---------------------------------------------------------------------------- write
def _serialize(value):
    """Loss / metric specs as Keras stores them: names stay names, objects become configs."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_serialize(v) for v in value]
    if isinstance(value, dict):
        return {k: _serialize(v) for k, v in value.items()}
    if inspect.isclass(value):
        return ser.get_registered_name(value)
    if hasattr(value, "get_config"):
        return ser.serialize_keras_object(value)
    if callable(value):
        return ser.get_registered_name(value)
    raise ValueError(f"Cannot save compile argument {value!r}: not a name, object or function.")


def _loss_names(value):
    if isinstance(value, str):
        return _LOSS_ALIASES.get(value, value)
    if isinstance(value, list):
        return [_loss_names(v) for v in value]
    if isinstance(value, dict) and "class_name" not in value:
        return {k: _loss_names(v) for k, v in value.items()}
    return value


def training_config(model):
    """The compile arguments of `model` and its optimizer's config, ready for JSON."""
    compile_config = dict(model._compile_config or {})
    optimizer = model.optimizer
    return {
        "loss": _loss_names(_serialize(compile_config.get("loss"))),
        "metrics": _serialize(compile_config.get("metrics")),
        "weighted_metrics": _serialize(compile_config.get("weighted_metrics")),
        "loss_weights": _serialize(compile_config.get("loss_weights")),
        "optimizer_config": {"class_name": ser.get_registered_name(type(optimizer)),
                             "config": ser.serialize_keras_object(optimizer.get_config())},
    }


# ----------------------------------------------------------------------------- read
def _object(config, kind, custom_objects):
    cls = ser.resolve_class(config, custom_objects, ser.builtin_objects(kind), kind)
    if not inspect.isclass(cls):
        return cls  # a function registered or passed by name
    inner = normalize_object_config(cls, config.get("config"), kind)
    if kind == "loss" and inner.get("reduction") == "auto":
        inner["reduction"] = "sum_over_batch_size"  # tf.keras 2's AUTO meant this
    with ser.custom_object_scope(custom_objects):
        return ser.call_from_config(cls, inner, custom_objects)


def _named(name, custom_objects):
    found = ser.get_registered_object(name, custom_objects)
    return found if found is not None else name


def _read_specs(spec, what, read_one):
    """Applies `read_one` to each name or object config of a saved loss / metric spec.

    A dict without `class_name` maps outputs to specs and a list holds specs; `None` stays.
    """
    if spec is None:
        return None
    if isinstance(spec, str) or (isinstance(spec, dict) and "class_name" in spec):
        return read_one(spec)
    if isinstance(spec, dict):
        return {k: _read_specs(v, what, read_one) for k, v in spec.items()}
    if isinstance(spec, list):
        return [_read_specs(v, what, read_one) for v in spec]
    raise ValueError(f"Saved {what} configuration not understood: {spec!r}.")


def _loss(spec, custom_objects):
    def read_one(item):
        if isinstance(item, str):
            return _named(item, custom_objects)
        return _object(item, "loss", custom_objects)

    return _read_specs(spec, "loss", read_one)


def _metric(spec, custom_objects):
    def read_one(item):
        if isinstance(item, str):
            return item if item in _SPECIAL_METRICS else _named(item, custom_objects)
        inner = item.get("config") or {}
        if item["class_name"] == "MeanMetricWrapper" and isinstance(inner.get("fn"), str):
            return _wrapped_function(inner, custom_objects)
        return _object(item, "metric", custom_objects)

    return _read_specs(spec, "metric", read_one)


def _wrapped_function(inner, custom_objects):
    """tf.keras 2 saves `metrics=["mae"]` as a MeanMetricWrapper of `mean_absolute_error`
    named `mae`: the name gives the same metric back, under the same name."""
    from gkeras import metrics as metrics_module

    name, fn = inner.get("name"), inner["fn"]
    found = ser.get_registered_object(fn, custom_objects)
    if found is not None:
        return found
    for candidate in (name, fn):
        if candidate in _SPECIAL_METRICS:
            return candidate
        try:
            metrics_module.get(candidate)
        except (ValueError, TypeError):
            continue
        return candidate
    raise ValueError(
        f"Unknown metric function {fn!r} in the saved training config; pass it through "
        "custom_objects."
    )


def _per_output_metrics(metrics, model):
    """tf.keras 2's `[[m1, m2], [m3]]` (one list per output) as compile arguments."""
    if not isinstance(metrics, list) or not metrics or not all(
            isinstance(m, list) for m in metrics):
        return metrics
    if len(metrics) == 1:
        return metrics[0]
    names = list(getattr(model, "output_names", []) or [])
    if len(names) == len(metrics):
        return dict(zip(names, metrics))
    return metrics


def compile_from_config(model, training, custom_objects=None):
    """Compiles `model` with the arguments stored in a file's `training_config`."""
    if "optimizer_config" not in training:
        raise ValueError("The saved training config has no 'optimizer_config'.")
    optimizer = _object(training["optimizer_config"], "optimizer", custom_objects)
    metrics = _per_output_metrics(_metric(training.get("metrics"), custom_objects), model)
    weighted = _per_output_metrics(_metric(training.get("weighted_metrics"), custom_objects),
                                   model)
    jit_compile = training.get("jit_compile")
    model.compile(optimizer=optimizer, loss=_loss(training.get("loss"), custom_objects),
                  metrics=metrics, weighted_metrics=weighted,
                  loss_weights=training.get("loss_weights"),
                  jit_compile="auto" if jit_compile is None else jit_compile)


# tf.keras 2 abbreviates slot names in optimizer weight names (`Adam/m/dense/kernel:0`)
_TF2_SLOTS = {"m": "momentum", "v": "velocity", "vhat": "velocity_hat"}


def _expected_slots(optimizer):
    slots = getattr(optimizer, "_slots", {}) or {}
    names = list(getattr(optimizer, "_global_slots", {}) or {})
    for variable in getattr(optimizer, "_variables_tracked", []) or []:
        names += list(slots.get(id(variable), {}))
    return names


def _same_slot_order(optimizer, names):
    """Whether Keras-written state names (iteration excluded) list the optimizer's slots in
    its own order: equal shapes alone cannot tell a momentum from a velocity."""
    expected = _expected_slots(optimizer)
    if len(expected) != len(names):
        return False
    for slot, name in zip(expected, names):
        parts = name.split("/")
        tf2_slot = _TF2_SLOTS.get(parts[1], parts[1]) if len(parts) > 2 else None
        if not (name.endswith(f"_{slot}") or tf2_slot == slot):
            return False
    return True


def restore_optimizer(model, values, filepath, names=None, trusted=False):
    """Sets the optimizer state saved in a file (building the optimizer first if needed).

    State written by gkeras (`trusted`) is restored when counts and shapes fit. State
    written by Keras is restored only when its weight names also show the same slot order.
    Anything else is skipped with a warning, as Keras does: training goes on with a fresh
    optimizer.
    """
    if not values:
        return
    optimizer = model.optimizer
    if not getattr(optimizer, "built", True) and hasattr(optimizer, "build"):
        optimizer.build(model.trainable_weights)
    values, names = list(values), list(names) if names else None
    current = list(getattr(optimizer, "variables", None) or [])
    if len(values) == len(current) + 1 and len(values) >= 2 and np.shape(values[1]) == ():
        # Keras 3 (and gkeras, for Keras 3's sake) store the learning rate second
        values = values[:1] + values[2:]
        names = names[:1] + names[2:] if names else None
    problem = None
    if not fits_optimizer(optimizer, values):
        problem = (f"{len(values)} arrays for {len(current)} state arrays, or other shapes")
    elif not trusted and names is None:
        problem = "it was written by Keras without names that show the order of its slots"
    elif not trusted and not _same_slot_order(optimizer, names[1:]):
        problem = f"its slots are stored in another order ({names[1:4]}, ...)"
    if problem is not None:
        warnings.warn(
            f"Not restoring the optimizer state saved in {filepath} into optimizer "
            f"'{getattr(optimizer, 'name', type(optimizer).__name__)}': {problem}. The model "
            "starts with a freshly initialized optimizer.", stacklevel=3)
        return
    optimizer.set_weights(values)


def fits_optimizer(optimizer, values):
    """Whether saved state arrays match the optimizer's state in count and shapes."""
    current = list(getattr(optimizer, "variables", None) or [])
    return len(current) == len(values) and all(
        tuple(np.shape(c)) == tuple(np.shape(v)) for c, v in zip(current, values))
