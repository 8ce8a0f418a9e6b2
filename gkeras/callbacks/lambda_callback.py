"""`LambdaCallback`: a callback made of plain functions."""

from gkeras.callbacks.callback import Callback

_HOOKS = tuple(
    name for name in vars(Callback) if name.startswith("on_") and callable(vars(Callback)[name])
)


class LambdaCallback(Callback):
    """Creates a simple custom callback from functions.

    Each function is called with the same positional arguments as the `Callback` hook it
    replaces:

    - `on_epoch_begin(epoch, logs)` and `on_epoch_end(epoch, logs)`,
    - `on_train_begin(logs)` and `on_train_end(logs)`,
    - `on_train_batch_begin(batch, logs)` and `on_train_batch_end(batch, logs)`,
    - any other hook (`on_test_end=`, `on_predict_batch_end=`, `on_batch_end=` ...) given by
      keyword.

    Args:
        on_epoch_begin, on_epoch_end, on_train_begin, on_train_end, on_train_batch_begin,
            on_train_batch_end: functions called at those moments.
        **kwargs: functions for any other `Callback` hook, by hook name.

    Example:

    ```python
    json_log = open("loss_log.json", mode="wt", buffering=1)
    json_logging_callback = gkeras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: json_log.write(
            json.dumps({"epoch": epoch, "loss": logs["loss"]}) + "\\n"),
        on_train_end=lambda logs: json_log.close())
    ```
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None, on_train_batch_begin=None, on_train_batch_end=None,
                 **kwargs):
        super().__init__()
        unknown = sorted(k for k in kwargs if k not in _HOOKS)
        if unknown:
            raise TypeError(
                f"LambdaCallback got unknown hook name(s) {unknown}. Valid hooks: "
                f"{list(_HOOKS)}."
            )
        functions = dict(kwargs, on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end,
                         on_train_begin=on_train_begin, on_train_end=on_train_end,
                         on_train_batch_begin=on_train_batch_begin,
                         on_train_batch_end=on_train_batch_end)
        for name, fn in functions.items():
            if fn is None:
                continue
            if not callable(fn):
                raise TypeError(f"LambdaCallback: `{name}` must be callable; got {fn!r}.")
            setattr(self, name, fn)

    def _wants_batch_logs(self, mode, batch):
        # The functions live on the instance, which the base class's check does not see.
        names = [f"on_{mode}_batch_end"] + (["on_batch_end"] if mode == "train" else [])
        return any(name in self.__dict__ for name in names)
