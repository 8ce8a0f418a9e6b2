"""`Sequence` (Keras 2) / `PyDataset` (Keras 3): an indexable source of batches.

Indexing gives the pipeline what a plain generator cannot: every batch of an epoch is produced
exactly once and delivered in order whatever the number of workers, the batch order can be
shuffled, and the work can run in separate processes.
"""

import numbers


class Sequence:
    """Base class for datasets that return whole batches by index.

    Subclasses implement `__len__` (the number of batches per epoch) and `__getitem__(index)`
    returning one batch: `(x, y)`, `(x, y, sample_weight)` or `x` alone (for `predict`), where
    each part is an array, a list of arrays or a dict keyed by input / output name.
    `on_epoch_end()` runs after every epoch (e.g. to reshuffle samples between batches).

    `fit(shuffle=True)` (the default) shuffles the *batch order* each epoch with gkeras's global
    random generator, so `gkeras.utils.set_random_seed` reproduces it; `evaluate` and `predict`
    keep the order.

    Keras 3 named this class `PyDataset` and moved the pipeline settings into its constructor;
    both spellings work. Settings given here take precedence over the `workers`,
    `use_multiprocessing` and `max_queue_size` arguments of `fit` / `evaluate` / `predict`
    (Keras 2 style); settings left unset fall back to those arguments.

    Args:
        workers: number of workers producing batches ahead of the model; 0 runs `__getitem__`
            on the main thread.
        use_multiprocessing: run the workers in processes instead of threads (the Sequence
            must then be picklable; children always use the NumPy backend).
        max_queue_size: how many batches may be ready ahead of the model.

    Example:

    ```python
    class Batches(gkeras.utils.Sequence):
        def __init__(self, x, y, batch_size):
            super().__init__()
            self.x, self.y, self.batch_size = x, y, batch_size

        def __len__(self):
            return -(-len(self.x) // self.batch_size)

        def __getitem__(self, index):
            part = slice(index * self.batch_size, (index + 1) * self.batch_size)
            return self.x[part], self.y[part]

    model.fit(Batches(x, y, 32), epochs=5, workers=4)
    ```
    """

    def __init__(self, workers=None, use_multiprocessing=None, max_queue_size=None):
        # None means "not set here": the fit / evaluate / predict argument applies.
        # Keras 2 subclasses often skip super().__init__(), so readers use getattr defaults.
        self._workers = _check_workers(workers) if workers is not None else None
        if use_multiprocessing is not None and not isinstance(use_multiprocessing, bool):
            raise TypeError(
                f"use_multiprocessing must be True or False, got {use_multiprocessing!r}."
            )
        self._use_multiprocessing = use_multiprocessing
        self._max_queue_size = (_check_max_queue_size(max_queue_size)
                                if max_queue_size is not None else None)

    # ------------------------------------------------------------- the contract
    def __getitem__(self, index):
        """Returns batch number `index` (0 <= index < len(self)).

        Args:
            index: position of the batch in the epoch.

        Returns:
            `(x, y)`, `(x, y, sample_weight)` or `x`.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement __getitem__(index) returning one batch."
        )

    def __len__(self):
        """Returns the number of batches per epoch."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement __len__() returning the number of batches."
        )

    def on_epoch_begin(self):
        """Called at the start of every epoch (Keras 3); does nothing by default."""

    def on_epoch_end(self):
        """Called at the end of every epoch; does nothing by default."""

    def __iter__(self):
        """Yields the batches of one epoch in index order."""
        for index in range(len(self)):
            yield self[index]

    # ------------------------------------------------------- pipeline settings
    @property
    def num_batches(self):
        """The number of batches per epoch (Keras 3 name for `len(self)`)."""
        return len(self)

    @property
    def workers(self):
        """Workers set on this dataset (1 when unset)."""
        value = getattr(self, "_workers", None)
        return 1 if value is None else value

    @workers.setter
    def workers(self, value):
        self._workers = _check_workers(value)

    @property
    def use_multiprocessing(self):
        """Whether this dataset asked for worker processes (False when unset)."""
        return bool(getattr(self, "_use_multiprocessing", None))

    @use_multiprocessing.setter
    def use_multiprocessing(self, value):
        if not isinstance(value, bool):
            raise TypeError(f"use_multiprocessing must be True or False, got {value!r}.")
        self._use_multiprocessing = value

    @property
    def max_queue_size(self):
        """Batches that may wait ahead of the model (10 when unset)."""
        value = getattr(self, "_max_queue_size", None)
        return 10 if value is None else value

    @max_queue_size.setter
    def max_queue_size(self, value):
        self._max_queue_size = _check_max_queue_size(value)

    def pipeline_settings(self):
        """The settings given to this dataset, as a dict without the unset ones."""
        given = {"workers": getattr(self, "_workers", None),
                 "use_multiprocessing": getattr(self, "_use_multiprocessing", None),
                 "max_queue_size": getattr(self, "_max_queue_size", None)}
        return {k: v for k, v in given.items() if v is not None}


PyDataset = Sequence


def _check_workers(value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"workers must be a non-negative integer, got {value!r}.")
    return int(value)


def _check_max_queue_size(value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"max_queue_size must be a positive integer, got {value!r}.")
    return int(value)
