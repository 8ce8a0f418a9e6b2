"""`ModelCheckpoint`: saves the model (or its weights) during training."""

import os
import string
import warnings

from gkeras.callbacks import _monitor
from gkeras.callbacks._monitor import MonitorCallback
from gkeras.callbacks._save_freq import SaveFreqCallback, is_valid_save_freq

_SUFFIXES = (".h5", ".hdf5")


class FilepathFormatError(KeyError, ValueError):
    """The checkpoint path names a key the logs do not have.

    A `KeyError` as in Keras, and a `ValueError` (bad argument) for everyone else.
    """

    def __str__(self):  # KeyError would print the message in quotes
        return str(self.args[0]) if self.args else ""


class ModelCheckpoint(SaveFreqCallback, MonitorCallback):
    """Saves the model or its weights at some frequency during `fit`.

    The path may hold `str.format` fields filled from `epoch` (1-based), `batch` (1-based, with
    an integer `save_freq`) and any key of the logs, e.g.
    `"weights.{epoch:02d}-{val_loss:.2f}.weights.h5"`.

    Args:
        filepath: where to save (a string or `os.PathLike`), possibly with format fields;
            it must end in `.h5` / `.hdf5` (a whole model: Keras's HDF5 format) or, with
            `save_weights_only=True`, `.weights.h5` (Keras 3's weights layout, optimizer state
            included) or `.h5` / `.hdf5` (Keras 2's layout).
        monitor: the log key compared when `save_best_only=True` (`"val_loss"` by default;
            prefix `val_` for validation metrics).
        verbose: 0 silent, 1 prints a line each time the callback saves or skips.
        save_best_only: only save when `monitor` improves on the best value seen (a path
            without format fields is then overwritten by each better model).
        save_weights_only: save with `model.save_weights(filepath)` instead of
            `model.save(filepath)`.
        mode: `"auto"`, `"min"` or `"max"`: whether smaller or larger `monitor` values are
            better. `"auto"` maximises accuracy-like metrics (`acc`, `auc`, `precision`,
            `recall`, ...) and minimises losses and everything else.
        save_freq: `"epoch"` saves at the end of each epoch; an integer saves after that many
            training batches (counted across epochs).
        initial_value_threshold: the starting "best" value for `save_best_only`: only a model
            better than this is saved.

    Example:

    ```python
    checkpoint = gkeras.callbacks.ModelCheckpoint(
        "best_model.h5", monitor="val_accuracy", save_best_only=True, verbose=1)
    model.fit(x, y, validation_split=0.2, epochs=10, callbacks=[checkpoint])
    ```
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        super().__init__(monitor=monitor, mode=mode)
        if isinstance(filepath, os.PathLike):
            filepath = os.fspath(filepath)
        if not isinstance(filepath, str) or not filepath:
            raise ValueError(
                f"ModelCheckpoint: `filepath` must be a non-empty path string; got {filepath!r}."
            )
        if not is_valid_save_freq(save_freq):
            raise ValueError(
                f"Unrecognized save_freq: {save_freq!r}. Expected save_freq are 'epoch' or "
                "positive integer values."
            )
        lower = filepath.lower()
        if save_weights_only and not lower.endswith(_SUFFIXES):
            raise ValueError(
                "The filepath provided must end in `.weights.h5`, `.h5` or `.hdf5` when "
                f"save_weights_only=True. Received: filepath={filepath}"
            )
        if not save_weights_only and not lower.endswith(_SUFFIXES + (".keras",)):
            raise ValueError(
                "The filepath provided must end in `.keras` (Keras 3's format), `.h5` or "
                f"`.hdf5` (HDF5) to save the whole model. Received: filepath={filepath}"
            )
        self.filepath = filepath
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        self.initial_value_threshold = initial_value_threshold
        self.best = initial_value_threshold
        self._fields = _format_fields(filepath)
        self._batches_since_save = 0
        self._current_epoch = 0

    # ------------------------------------------------------------------ hooks
    def on_train_begin(self, logs=None):
        self._batches_since_save = 0

    def _save_after_batch(self, batch, logs):
        self._save_model(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save_model(epoch, None, logs)

    def _wants_batch_logs(self, mode, batch):
        # Reading the logs costs a device-to-host copy: only ask for them on a saving batch.
        return mode == "train" and self._next_batch_saves()

    # ----------------------------------------------------------------- saving
    def _get_file_path(self, epoch, batch, logs):
        """The path for this save: `filepath` with `epoch`, `batch` and the logs filled in."""
        values = dict(logs or {})
        values["epoch"] = epoch + 1
        if batch is not None and "batch" not in (logs or {}):
            values["batch"] = batch + 1
        missing = [f for f in self._fields if f not in values]
        if missing:
            raise FilepathFormatError(
                f'Failed to format this callback filepath: "{self.filepath}". Reason: '
                f"{missing[0]!r} is not a key of the logs. Available keys: "
                f"{sorted(values)}."
            )
        try:
            return self.filepath.format(**values)
        except (IndexError, ValueError) as error:
            raise ValueError(
                f'Failed to format this callback filepath: "{self.filepath}". Reason: {error}'
            ) from error

    def _should_save(self, epoch, logs, filepath):
        """Decides (and reports) whether to save now; updates `best` on an improvement."""
        if not self.save_best_only:
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(
                f"Can save best model only with {self.monitor} available, skipping. Available "
                f"keys: {_monitor.available_keys(logs)}.",
                stacklevel=3,
            )
            return False
        current = _monitor.scalar(current)
        if self.best is None:
            self.best = _monitor.initial_best(self.resolved_mode)
        best_str = f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best_str} to "
                      f"{current:.5f}, saving model to {filepath}")
            self.best = current
            return True
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best_str}")
        return False

    def _save_model(self, epoch, batch, logs):
        if not self._is_chief():
            return  # one writer per data-parallel job: rank 0
        filepath = self._get_file_path(epoch, batch, logs)
        if not self._should_save(epoch, logs, filepath):
            return
        if os.path.isdir(filepath):
            raise IsADirectoryError(
                "Please specify a non-directory filepath for ModelCheckpoint. Filepath used is "
                f"an existing directory: {filepath}"
            )
        directory = os.path.dirname(filepath)
        if directory:
            os.makedirs(directory, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(filepath, overwrite=True)
        else:
            self.model.save(filepath, overwrite=True)


def _format_fields(filepath):
    """The top-level field names used in a `str.format` template (`{epoch:02d}` -> `epoch`)."""
    try:
        parsed = list(string.Formatter().parse(filepath))
    except ValueError as error:
        raise ValueError(
            f"ModelCheckpoint: `filepath` {filepath!r} is not a valid format template: {error}."
        ) from error
    fields = []
    for _, field, _, _ in parsed:
        if field:
            name = field.split(".")[0].split("[")[0]
            if name and not name.isdigit() and name not in fields:
                fields.append(name)
    return fields
