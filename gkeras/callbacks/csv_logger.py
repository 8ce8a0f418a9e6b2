"""`CSVLogger`: streams the epoch results to a CSV file."""

import collections.abc
import csv
import os

import numpy as np

from gkeras.callbacks.callback import Callback


class CSVLogger(Callback):
    """Writes one CSV row per epoch: the epoch index, then every log value.

    The header is `epoch` followed by the log keys in alphabetical order, as Keras writes it
    (`epoch,accuracy,loss,val_accuracy,val_loss`); rows end with `\\r\\n` (the `csv` module's
    Excel dialect). A key missing from an epoch's logs is written as `NA`; 1-D values are
    written as a quoted list.

    Args:
        filename: the CSV file, e.g. `"run/log.csv"` (a string or `os.PathLike`).
        separator: the string between fields.
        append: `True` appends to an existing file (useful to continue training; no second
            header is written), `False` overwrites it.

    Example:

    ```python
    csv_logger = gkeras.callbacks.CSVLogger("training.log")
    model.fit(x_train, y_train, callbacks=[csv_logger])
    ```
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        if isinstance(filename, os.PathLike):
            filename = os.fspath(filename)
        if not isinstance(filename, str) or not filename:
            raise ValueError(f"CSVLogger: `filename` must be a non-empty path; got {filename!r}.")
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(
                f"CSVLogger: `separator` must be a one-character string; got {separator!r}."
            )
        self.sep = separator
        self.filename = filename
        self.append = append
        self.writer = None
        self.keys = None
        self.append_header = True
        self.csv_file = None

    def on_train_begin(self, logs=None):
        if not self._is_chief():
            return  # one writer per data-parallel job: rank 0
        self.append_header = True
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename, encoding="utf-8") as f:
                    self.append_header = not f.readline()
            mode = "a"
        else:
            mode = "w"
        self._close()
        directory = os.path.dirname(self.filename)
        if directory:
            os.makedirs(directory, exist_ok=True)
        # newline="" lets the csv module write its own line endings untranslated.
        self.csv_file = open(self.filename, mode, newline="", encoding="utf-8")
        self.writer = None
        self.keys = None

    def on_epoch_end(self, epoch, logs=None):
        if not self._is_chief():
            return
        logs = logs or {}
        if self.csv_file is None:  # used outside fit: open as fit would
            self.on_train_begin()
        if self.keys is None:
            self.keys = sorted(logs)
            # Validation runs may skip epochs (validation_freq): keep their columns anyway.
            for name in getattr(self.model, "metrics_names", None) or []:
                if name.startswith("val_") and name not in self.keys:
                    self.keys.append(name)
        if self.writer is None:
            dialect = type("CSVLoggerDialect", (csv.excel,), {"delimiter": self.sep})
            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch"] + self.keys,
                                         dialect=dialect)
            if self.append_header:
                self.writer.writeheader()
        row = {"epoch": epoch}
        row.update((key, _handle_value(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        self._close()
        self.writer = None

    def _close(self):
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.csv_file = None


def _handle_value(value):
    if isinstance(value, str):
        return value
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value.item()
    if isinstance(value, collections.abc.Iterable):
        return f'"[{", ".join(map(str, value))}]"'
    return value
