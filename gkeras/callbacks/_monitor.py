"""Shared logic of the callbacks that watch one logged quantity (`monitor` / `mode`).

`ModelCheckpoint`, `EarlyStopping` and `ReduceLROnPlateau` all need to know whether a larger
or a smaller value of the monitored quantity is better, and whether a new value improves on
the best one seen.
"""

import math
import warnings

import numpy as np

from gkeras.callbacks.callback import Callback

MODES = ("auto", "min", "max")

# Name fragments of metrics where larger is better (Keras 3 metrics with direction "up").
# Matched against the "_"-separated words of the monitored name; "acc" also matches inside
# a word, which keeps Keras 2's rule (`'acc' in monitor`) for names like `val_acc`.
_LARGER_IS_BETTER = frozenset({
    "acc", "accuracy", "auc", "precision", "recall", "f1", "fbeta", "iou", "r2",
    "sensitivity", "specificity", "positives", "negatives", "similarity",
})
_SMALLER_IS_BETTER = frozenset({"false"})  # false_positives / false_negatives


def check_mode(mode, owner):
    """Keras warns on an unknown mode and falls back to `"auto"`; so do we."""
    if mode not in MODES:
        warnings.warn(
            f"{owner} mode '{mode}' is unknown, fallback to auto mode. Valid modes: "
            f"{list(MODES)}.",
            stacklevel=3,
        )
        return "auto"
    return mode


def _direction_from_model(model, name):
    """The `_direction` ("up" / "down") of the model's metric called `name`, if it declares one."""
    try:
        names = list(model.metrics_names)
        metrics = list(model.metrics)
    except Exception:  # an uncompiled or unusual model: fall back to the name
        return None
    for metric_name, metric in zip(names, metrics):
        if metric_name == name or getattr(metric, "name", None) == name:
            direction = getattr(metric, "_direction", None)
            if direction in ("up", "down"):
                return direction
    return None


def resolve_mode(mode, monitor, model=None):
    """`"min"` or `"max"`: the mode given, or for `"auto"` the direction the name implies.

    In `"auto"` mode a loss is minimised; a metric of the model that declares a direction
    uses it; otherwise accuracy-like names (`acc`, `accuracy`, `auc`, `precision`, `recall`,
    `f1`, `iou`, ...) are maximised and everything else is minimised.
    """
    if mode in ("min", "max"):
        return mode
    name = monitor[4:] if monitor.startswith("val_") else monitor
    words = name.lower().split("_")
    if name == "loss" or words[-1] == "loss":
        return "min"
    direction = _direction_from_model(model, name) if model is not None else None
    if direction is not None:
        return "max" if direction == "up" else "min"
    if any(w in _SMALLER_IS_BETTER for w in words):
        return "min"
    if "acc" in name.lower() or any(w in _LARGER_IS_BETTER for w in words):
        return "max"
    return "min"


def initial_best(mode):
    """The starting "best" value: nothing beats it in the wrong direction."""
    return math.inf if mode == "min" else -math.inf


def is_improvement(mode, current, best, min_delta=0.0):
    """Whether `current` beats `best` by more than `min_delta` in the direction of `mode`."""
    if best is None:
        return True
    min_delta = abs(min_delta)
    if mode == "min":
        return bool(np.less(current + min_delta, best))
    return bool(np.greater(current - min_delta, best))


def scalar(value):
    """A log value as a Python float (logs may hold NumPy / device scalars)."""
    if value is None or isinstance(value, float):
        return value
    if hasattr(value, "item") and getattr(value, "size", 1) == 1:
        return float(value.item())
    return float(value)


def available_keys(logs):
    return ", ".join(sorted(logs or {})) or "(none)"


class MonitorCallback(Callback):
    """Base of the callbacks that watch `monitor` in the epoch logs.

    Args:
        monitor: the log key to watch (`"val_loss"`, `"accuracy"`, ...).
        mode: `"auto"`, `"min"` or `"max"`.
        min_delta: the least change that counts as an improvement.
    """

    def __init__(self, monitor="val_loss", mode="auto", min_delta=0.0):
        super().__init__()
        if not isinstance(monitor, str):
            raise TypeError(
                f"{type(self).__name__}: `monitor` must be a log key (a string such as "
                f"'val_loss'); got {monitor!r}."
            )
        self.monitor = monitor
        self.mode = check_mode(mode, type(self).__name__)
        self.min_delta = abs(min_delta)
        self._resolved_mode = None

    @property
    def resolved_mode(self):
        """`"min"` or `"max"`, decided on first use (the model's metrics exist by then)."""
        if self._resolved_mode is None:
            self._resolved_mode = resolve_mode(self.mode, self.monitor, self.model)
        return self._resolved_mode

    def monitor_op(self, a, b):
        """`a` is better than `b` (no `min_delta`): `np.less` or `np.greater` by mode."""
        return bool(np.less(a, b) if self.resolved_mode == "min" else np.greater(a, b))

    def _is_improvement(self, current, reference):
        return is_improvement(self.resolved_mode, current, reference, self.min_delta)
