"""`ProgbarLogger`: prints `Epoch 1/10` and the progress bar during fit / evaluate / predict."""

from gkeras.callbacks.callback import Callback
from gkeras.utils.progbar import Progbar


class ProgbarLogger(Callback):
    """Prints progress. Added by `fit`, `evaluate` and `predict` when `verbose` is not 0."""

    def __init__(self):
        super().__init__()
        self.progbar = None
        self.verbose = 1
        self.epochs = 1
        self.target = None

    def set_params(self, params):
        super().set_params(params)
        self.verbose = params.get("verbose", 1)
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    def _new_bar(self):
        self.progbar = Progbar(target=self.target, verbose=self.verbose)
        self._seen = 0

    def on_train_begin(self, logs=None):
        self._training = True

    def on_train_end(self, logs=None):
        self._training = False

    def on_epoch_begin(self, epoch, logs=None):
        if self.verbose and self.epochs > 1:
            print(f"Epoch {epoch + 1}/{self.epochs}", flush=True)
        self._new_bar()

    def on_epoch_end(self, epoch, logs=None):
        self.progbar.update(self._seen, sorted((logs or {}).items()), finalize=True)

    def on_test_begin(self, logs=None):
        if not getattr(self, "_training", False):
            self._new_bar()

    def on_test_end(self, logs=None):
        if not getattr(self, "_training", False):
            self.progbar.update(self._seen, sorted((logs or {}).items()), finalize=True)

    def on_predict_begin(self, logs=None):
        self._new_bar()

    def on_predict_end(self, logs=None):
        self.progbar.update(self._seen, [], finalize=True)

    def _wants_batch_logs(self, mode, batch):
        if self.verbose != 1 or self.progbar is None:
            return False
        if mode == "test" and getattr(self, "_training", False):
            return False
        import time

        return time.time() - self.progbar._last_draw >= self.progbar.interval

    def _batch_update(self, batch, logs, mode):
        if mode == "test" and getattr(self, "_training", False):
            return
        self._seen = batch + 1
        if self.progbar is not None and logs:
            self.progbar.update(self._seen, sorted((logs or {}).items()), finalize=False)

    def on_train_batch_end(self, batch, logs=None):
        self._batch_update(batch, logs, "train")

    def on_test_batch_end(self, batch, logs=None):
        self._batch_update(batch, logs, "test")

    def on_predict_batch_end(self, batch, logs=None):
        self._seen = batch + 1
        if self.progbar is not None:
            self.progbar.update(self._seen, [], finalize=False)
