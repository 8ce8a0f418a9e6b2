"""`EarlyStopping`: stops training when a monitored quantity stops improving."""

import warnings

from gkeras.callbacks import _monitor
from gkeras.callbacks._monitor import MonitorCallback


class EarlyStopping(MonitorCallback):
    """Stops training when a monitored metric has stopped improving.

    At the end of every epoch the callback compares `monitor` with the best value seen; after
    `patience` epochs without an improvement larger than `min_delta` it sets
    `model.stop_training = True`.

    Args:
        monitor: the log key to watch (`"val_loss"` by default).
        min_delta: the least change that counts as an improvement (absolute value).
        patience: epochs without improvement after which training stops.
        verbose: 0 silent, 1 prints when training stops and when weights are restored.
        mode: `"auto"`, `"min"` or `"max"` (`"auto"` maximises accuracy-like metrics and
            minimises losses and everything else).
        baseline: training stops unless the model improves on this value (the waiting count
            only restarts on epochs that beat both the baseline and the best value so far).
        restore_best_weights: at the end of training, put back the weights of the epoch with
            the best `monitor` value (even when training did not stop early).
        start_from_epoch: epochs of warm-up before monitoring starts.

    Example:

    ```python
    callback = gkeras.callbacks.EarlyStopping(monitor="loss", patience=3)
    history = model.fit(x, y, epochs=100, callbacks=[callback], verbose=0)
    len(history.history["loss"])  # the epochs actually run
    ```
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__(monitor=monitor, mode=mode, min_delta=min_delta)
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self._reset()

    def on_train_begin(self, logs=None):
        # Instances may be reused across fits: start every fit afresh.
        self._reset()

    def _reset(self):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0
        self._resolved_mode = None  # decided at the first epoch end, once metrics exist

    def on_epoch_end(self, epoch, logs=None):
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.best is None:
            self.best = _monitor.initial_best(self.resolved_mode)
        if self.restore_best_weights and self.best_weights is None:
            # Until something improves, the current weights are the best there are.
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)

    def get_monitor_value(self, logs):
        """The monitored value from `logs` (a warning naming the available keys if absent)."""
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(
                f"Early stopping conditioned on metric `{self.monitor}` which is not "
                f"available. Available metrics are: {','.join(logs)}",
                stacklevel=3,
            )
            return None
        return _monitor.scalar(value)
