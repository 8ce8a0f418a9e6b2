"""`save_freq`: saving at each epoch end or every N training batches.

`ModelCheckpoint` and `BackupAndRestore` both take it, with the same meaning: `"epoch"`, or
a positive number of training batches counted across epochs.
"""

from gkeras.callbacks.callback import Callback


def is_valid_save_freq(save_freq):
    """Whether `save_freq` is `"epoch"` or a positive int (not a bool)."""
    return save_freq == "epoch" or (
        isinstance(save_freq, int) and not isinstance(save_freq, bool) and save_freq > 0)


class SaveFreqCallback(Callback):
    """Base of the callbacks that save every `save_freq` training batches.

    Subclasses set `save_freq`, `_batches_since_save` and `_current_epoch` (the epoch
    running), and implement `_save_after_batch(batch, logs)`, called when a batch completes
    `save_freq` batches since the last such save; they save at epoch ends themselves.
    """

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save_after_batch(batch, logs)

    def _next_batch_saves(self):
        """Whether the next training batch to end triggers `_save_after_batch`."""
        return self.save_freq != "epoch" and self._batches_since_save + 1 >= self.save_freq

    def _save_after_batch(self, batch, logs):
        raise NotImplementedError
