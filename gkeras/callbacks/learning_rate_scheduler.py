"""`LearningRateScheduler`: sets the optimizer's learning rate at the start of every epoch."""

import inspect

import numpy as np

from gkeras.callbacks.callback import Callback


def get_learning_rate(model, owner):
    """The model's optimizer learning rate as a Python float (it may live on the device)."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        raise ValueError(
            f"{owner} needs a compiled model with an optimizer: call model.compile(optimizer, "
            "loss) before fit."
        )
    if not hasattr(optimizer, "learning_rate"):
        raise ValueError(
            f'{owner}: the optimizer must have a "learning_rate" attribute; '
            f"{type(optimizer).__name__} has none."
        )
    value = optimizer.learning_rate
    if callable(value) and not hasattr(value, "shape"):
        raise TypeError(
            f"{owner} cannot read the learning rate of an optimizer driven by a "
            f"LearningRateSchedule ({type(value).__name__}); use a float learning rate."
        )
    return _to_float(value)


def _to_float(value):
    data = getattr(value, "data", value)  # a gkeras Variable / Tensor holds its array
    if hasattr(data, "get"):  # a CuPy array: copy to the host
        data = data.get()
    return float(np.asarray(data))


class LearningRateScheduler(Callback):
    """Learning rate scheduler.

    At the start of every epoch the callback calls `schedule(epoch, lr)` (or `schedule(epoch)`
    for a one-argument function), with the 0-based epoch index and the current learning rate,
    and sets the optimizer's learning rate to the float it returns. The epoch's logs get a
    `learning_rate` entry.

    Args:
        schedule: a function `(epoch, lr) -> float` or `(epoch) -> float`.
        verbose: 0 quiet, 1 prints the learning rate set at each epoch.

    Example:

    ```python
    def scheduler(epoch, lr):
        return lr if epoch < 10 else lr * math.exp(-0.1)

    callback = gkeras.callbacks.LearningRateScheduler(scheduler)
    model.fit(x, y, epochs=15, callbacks=[callback], verbose=0)
    ```
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(
                "LearningRateScheduler: `schedule` must be a function schedule(epoch, lr) or "
                f"schedule(epoch); got {schedule!r}."
            )
        self.schedule = schedule
        self.verbose = verbose
        self._takes_lr = _accepts_two_arguments(schedule)

    def on_epoch_begin(self, epoch, logs=None):
        learning_rate = get_learning_rate(self.model, "LearningRateScheduler")
        if self._takes_lr is None:  # signature unknown: Keras's try-two-then-one rule
            try:
                learning_rate = self.schedule(epoch, learning_rate)
            except TypeError:
                learning_rate = self.schedule(epoch)
        elif self._takes_lr:
            learning_rate = self.schedule(epoch, learning_rate)
        else:
            learning_rate = self.schedule(epoch)
        if not isinstance(learning_rate, (float, np.floating)):
            raise ValueError(
                "The output of the `schedule` function should be a float. Got: "
                f"{learning_rate!r} (of type {type(learning_rate).__name__})."
            )
        self.model.optimizer.learning_rate = float(learning_rate)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                  f"{learning_rate}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = get_learning_rate(self.model, "LearningRateScheduler")
            sort_in_place(logs)


def sort_in_place(logs):
    """Keeps the logs' keys in alphabetical order after adding one (fit's convention)."""
    items = sorted(logs.items())
    logs.clear()
    logs.update(items)


def _accepts_two_arguments(fn):
    """True / False when `fn`'s signature says whether it takes `lr`; None when unknown."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return None
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        return True
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2
