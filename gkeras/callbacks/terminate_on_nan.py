"""`TerminateOnNaN`: stops training as soon as the loss stops being a finite number."""

import math

from gkeras.callbacks import _monitor
from gkeras.callbacks.callback import Callback


class TerminateOnNaN(Callback):
    """Terminates training when a NaN or infinite loss is encountered.

    After every training batch the callback reads the running loss; when it is not finite it
    prints `Batch <n>: Invalid loss, terminating training` and sets
    `model.stop_training = True` (the current epoch ends there, `on_train_end` still runs).

    Args:
        raise_error: `True` raises a `RuntimeError` instead of stopping gracefully, so that
            no `on_train_end` hook runs (useful to keep a `BackupAndRestore` backup).

    Example:

    ```python
    model.fit(x, y, callbacks=[gkeras.callbacks.TerminateOnNaN()])
    ```
    """

    def __init__(self, raise_error=False):
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        loss = _monitor.scalar(loss)
        if math.isfinite(loss):
            return
        if self.raise_error:
            raise RuntimeError(
                f"NaN or Inf loss encountered at batch {batch}. Loss value: {loss}. "
                "Terminating training immediately."
            )
        print(f"Batch {batch}: Invalid loss, terminating training")
        self.model.stop_training = True
