"""`ReduceLROnPlateau`: lowers the learning rate when a monitored quantity stops improving."""

import warnings

import numpy as np

from gkeras.callbacks import _monitor
from gkeras.callbacks._monitor import MonitorCallback
from gkeras.callbacks.learning_rate_scheduler import get_learning_rate, sort_in_place


class ReduceLROnPlateau(MonitorCallback):
    """Reduces the learning rate when a metric has stopped improving.

    Models often benefit from a learning rate 2-10 times smaller once learning stagnates.
    After `patience` epochs without an improvement of `monitor` larger than `min_delta`, the
    optimizer's learning rate becomes `max(lr * factor, min_lr)`. The epoch's logs get a
    `learning_rate` entry.

    Args:
        monitor: the log key to watch (`"val_loss"` by default).
        factor: the factor the learning rate is multiplied by (`new_lr = lr * factor`); must be
            below 1.
        patience: epochs without improvement before the learning rate is reduced.
        verbose: 0 quiet, 1 prints a line at each reduction.
        mode: `"auto"`, `"min"` or `"max"` (`"auto"` maximises accuracy-like metrics and
            minimises losses and everything else).
        min_delta: threshold for measuring the new optimum, to only focus on significant
            changes.
        cooldown: epochs to wait after a reduction before counting epochs without improvement
            again.
        min_lr: lower bound on the learning rate.

    Example:

    ```python
    reduce_lr = gkeras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.2,
                                                   patience=5, min_lr=0.001)
    model.fit(x_train, y_train, validation_split=0.2, callbacks=[reduce_lr])
    ```
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0, **kwargs):
        if "epsilon" in kwargs:  # the Keras 1 / early Keras 2 name of min_delta
            min_delta = kwargs.pop("epsilon")
            warnings.warn("`epsilon` argument is deprecated and will be removed, use "
                          "`min_delta` instead.", stacklevel=2)
        if kwargs:
            raise TypeError(
                f"ReduceLROnPlateau got unexpected keyword argument(s) {sorted(kwargs)}."
            )
        super().__init__(monitor=monitor, mode=mode, min_delta=min_delta)
        if factor >= 1.0:
            raise ValueError(
                f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}"
            )
        self.factor = factor
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.min_lr = min_lr
        self._reset()

    def _reset(self):
        self.cooldown_counter = 0
        self.wait = 0
        self.best = None
        self._resolved_mode = None  # decided at the first epoch end, once metrics exist

    def on_train_begin(self, logs=None):
        self._reset()

    def in_cooldown(self):
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            logs = {}
        old_lr = get_learning_rate(self.model, "ReduceLROnPlateau")
        logs["learning_rate"] = old_lr
        sort_in_place(logs)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"Learning rate reduction is conditioned on metric `{self.monitor}` which is "
                f"not available. Available metrics are: {','.join(logs)}.",
                stacklevel=3,
            )
            return
        current = _monitor.scalar(current)
        if self.best is None:
            self.best = _monitor.initial_best(self.resolved_mode)
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
            return
        if self.in_cooldown():
            return
        self.wait += 1
        if self.wait < self.patience:
            return
        # Compare with min_lr in float32, as Keras does: a rate already at min_lr up to
        # rounding (0.1 * 0.01 = 0.0010000000000000002) is not "reduced" to min_lr again.
        if np.float32(old_lr) > np.float32(self.min_lr):
            new_lr = max(old_lr * self.factor, self.min_lr)
            self.model.optimizer.learning_rate = new_lr
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to "
                      f"{new_lr}.")
            self.cooldown_counter = self.cooldown
            self.wait = 0
