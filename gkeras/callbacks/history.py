"""`History`: records the epoch logs; `fit` returns it."""

from gkeras.callbacks.callback import Callback


class History(Callback):
    """Records every epoch's logs.

    Attributes:
        history: dict from metric name to the list of its per-epoch values.
        epoch: the list of epoch indices seen.
        params: the training parameters.
    """

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        if self.model is not None:
            self.model.history = self
