"""Data adapters for Python generators / iterators and `Sequence` (`PyDataset`) objects.

`handles(x)` says whether `x` is such a stream; `make_adapter(...)` wraps it in an adapter with
the `ArrayDataAdapter` interface (iterable once per epoch, `num_batches`, `steps`,
`on_epoch_end()`, `close()`), feeding batches through the prefetch queue of `prefetch.py`.

Semantics (Keras 2 where Keras 3 differs, since the generator methods are Keras 2 API):

- A batch is `(x, y)`, `(x, y, sample_weight)`, `(x,)` or `x` alone (lists count as tuples),
  each part an array, a list of arrays or a dict keyed by input / output name.
- A plain generator with `steps` (`steps_per_epoch` in `fit`, `validation_steps`, `steps` in
  `evaluate` / `predict`) is expected to loop forever, as Keras 2 generators do: an epoch ends
  after `steps` batches and the stream continues across epochs. Without `steps` it is read to
  its end (Keras 3): the first epoch takes every batch and the progress bar shows `Unknown`.
  A generator that ends early stops training with the trainer's "ran out of data" warning.
- A `Sequence` gives `len(seq)` batches per epoch (or `steps`; more steps than batches wrap
  around). `shuffle=True` shuffles the batch order each epoch with gkeras's global random
  generator; every batch is produced once per epoch and delivered in that order whatever the
  worker count; `on_epoch_end()` runs after each pass.
- `shuffle` is ignored for plain generators (they decide their own order), as in Keras 2.
- On the CuPy backend `DeviceStager` copies the next batch to the GPU (pinned buffer, side
  stream, event) while the current step runs, so the adapter yields CuPy arrays there.
"""

import inspect
import itertools
import warnings

import numpy as np

from gkeras import backend as backend_module
from gkeras import config
from gkeras import random as grandom
from gkeras.layers.node import flatten
from gkeras.training import data_adapter as da
from gkeras.training import prefetch
from gkeras.utils.sequence import Sequence, _check_max_queue_size, _check_workers

_BATCH_FORMS = "`x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)`"


def is_sequence(x):
    """True for a `Sequence` / `PyDataset`, or an object shaped like one (Keras's own)."""
    if isinstance(x, Sequence):
        return True
    if isinstance(x, (np.ndarray, list, tuple, dict, str, bytes)):
        return False
    return all(hasattr(x, name) for name in ("__getitem__", "__len__", "on_epoch_end"))


def is_generator(x):
    """True for a generator or any other iterator (something with `__next__`)."""
    if isinstance(x, (np.ndarray, list, tuple, dict, str, bytes)):
        return False
    return inspect.isgenerator(x) or (hasattr(x, "__next__") and hasattr(x, "__iter__"))


def handles(x):
    """Whether `x` is a generator, an iterator or a `Sequence` (this module's adapters)."""
    return is_sequence(x) or is_generator(x)


def describe_source(x):
    """How error messages name a data source: `generator 'batches'`, `Sequence 'MyData'`."""
    if is_sequence(x):
        return f"Sequence '{type(x).__name__}'"
    name = getattr(x, "__qualname__", None) or getattr(x, "__name__", None)
    if inspect.isgenerator(x):
        return f"generator '{name}'"
    return f"iterator '{type(x).__name__}'"


# --------------------------------------------------------------------- batches
def _quote(value, limit=200):
    if isinstance(value, np.ndarray):
        return f"ndarray(shape={value.shape}, dtype={value.dtype})"
    if isinstance(value, tuple):
        return "(" + ", ".join(_quote(v, 60) for v in value) + ("," if len(value) == 1 else "") \
            + ")"
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _leaf(value, name, source, floatx):
    """One array of a batch as NumPy, with floats in `floatx` (done in the worker)."""
    if hasattr(value, "__cuda_array_interface__"):
        value = backend_module.backend_of(value).to_numpy(value)
    elif hasattr(value, "numpy") and not isinstance(value, np.ndarray):
        value = value.numpy()
    if isinstance(value, (str, bytes)) or value is None:
        raise ValueError(
            f"{source} yielded a batch whose {name} is {_quote(value)}; expected a numeric array."
        )
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{source} yielded a batch whose {name} could not be converted to an array "
            f"({exc}): got {_quote(value)}."
        ) from None
    if array.dtype.kind not in "biuf":
        raise ValueError(
            f"{source} yielded a batch whose {name} is not a numeric array: got "
            f"{type(value).__name__} {_quote(value)} (dtype {array.dtype})."
        )
    if array.ndim == 0:
        raise ValueError(
            f"{source} yielded a batch whose {name} is a scalar ({_quote(value)}); every part "
            "of a batch needs a batch dimension."
        )
    if array.dtype.kind == "b" or (array.dtype.kind == "f" and array.dtype != floatx):
        array = array.astype(floatx)
    return array


def _part(value, name, source, floatx):
    """An array, a list / tuple of arrays or a dict of arrays, converted leaf by leaf."""
    if isinstance(value, dict):
        return {k: _leaf(v, f"{name}['{k}']", source, floatx) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        # a list of arrays is several inputs / outputs; a list of numbers is one array
        if value and all(getattr(v, "ndim", 0) >= 1 for v in value):
            return [_leaf(v, f"{name}[{i}]", source, floatx) for i, v in enumerate(value)]
    return _leaf(value, name, source, floatx)


def standardize_batch(item, source, floatx=None, class_weight=None):
    """Checks one generator / Sequence output and returns `(x, y, sample_weight)` of NumPy.

    Args:
        item: what the source produced.
        source: the source's name for error messages.
        floatx: float dtype for float leaves (`config.floatx()` by default).
        class_weight: optional `{class: weight}` folded into the sample weights.

    Returns:
        `(x, y, sample_weight)`; `y` and `sample_weight` may be `None`.
    """
    floatx = np.dtype(floatx or config.floatx())
    data = tuple(item) if isinstance(item, list) else item
    if isinstance(data, tuple):
        if not 1 <= len(data) <= 3:
            raise ValueError(
                f"{source} must yield {_BATCH_FORMS}; got a tuple of {len(data)} elements: "
                f"{_quote(item)}."
            )
        data = data + (None,) * (3 - len(data))
    elif isinstance(data, dict) or hasattr(data, "shape") or hasattr(data, "__array__"):
        data = (data, None, None)
    else:
        raise ValueError(
            f"{source} must yield {_BATCH_FORMS} (each an array, a list of arrays or a dict of "
            f"arrays); got {type(item).__name__}: {_quote(item)}."
        )
    if data[0] is None:
        raise ValueError(f"{source} yielded a batch without inputs x: {_quote(item)}.")
    x, y, sw = (None if part is None else _part(part, name, source, floatx)
                for part, name in zip(data, ("x", "y", "sample_weight")))
    sizes = {name: len(a) for part, name in ((x, "x"), (y, "y"), (sw, "sample_weight"))
             if part is not None for a in flatten(part)}
    if len(set(sizes.values())) > 1:
        raise ValueError(
            f"{source} yielded a batch whose parts have different numbers of samples: "
            f"{sizes}. x, y and sample_weight of one batch must have the same length."
        )
    if class_weight is not None:
        sw = _apply_class_weight(y, sw, class_weight, source)
    return x, y, sw


def _apply_class_weight(y, sw, class_weight, source):
    if y is None:
        raise ValueError(f"class_weight needs targets, but {source} yielded a batch without y.")
    flat_y = flatten(y)
    if len(flat_y) != 1:
        raise ValueError(
            "class_weight is only supported for models with a single output; use sample "
            f"weights in the batches of {source} for several outputs."
        )
    weights = da.class_weight_to_sample_weight(flat_y[0], class_weight)
    if sw is None:
        return weights
    if isinstance(sw, (list, dict)):
        raise ValueError("class_weight cannot be combined with per-output sample weights.")
    return sw * weights.reshape((-1,) + (1,) * (sw.ndim - 1))


class _BatchTransform:
    """Picklable `item -> (x, y, sample_weight)` (it also runs in worker processes)."""

    def __init__(self, source, class_weight):
        self.source = source
        self.class_weight = class_weight
        self.floatx = config.floatx()  # children have their own config: carry the setting

    def __call__(self, item):
        return standardize_batch(item, self.source, self.floatx, self.class_weight)


class _SequenceFetch:
    """Picklable `index -> standardized batch` for a Sequence."""

    def __init__(self, sequence, transform):
        self.sequence = sequence
        self.transform = transform

    def __call__(self, index):
        return self.transform(self.sequence[index])


# -------------------------------------------------------------- device staging
class DeviceStager:
    """Copies the next batch to the GPU on a side stream while the current step runs.

    Used only when the placement backend is CuPy. Each host batch is copied into a pinned
    buffer (two sets, used in turn), then into fresh device arrays with an asynchronous copy on
    a non-blocking stream; an event marks the copy's end and the compute stream waits on it
    (on the GPU, not the host) before the batch is handed out. The copy of batch n+1 is
    issued before batch n is yielded, so it overlaps step n. The trainer's `bk.asarray` leaves
    the device arrays as they are.

    Args:
        bk: the CuPy Backend.
    """

    def __init__(self, bk):
        self._xp = bk.xp
        cuda = bk.xp.cuda
        self._stream = cuda.Stream(non_blocking=True)
        self._pinned = [{}, {}]  # leaf number -> (pinned memory, capacity in bytes)
        self._events = [None, None]
        self._turn = 0

    def _host_view(self, slot, leaf, array):
        memory, capacity = self._pinned[slot].get(leaf, (None, 0))
        if capacity < array.nbytes:
            capacity = max(array.nbytes, 2 * capacity)
            memory = self._xp.cuda.alloc_pinned_memory(capacity)
            self._pinned[slot][leaf] = (memory, capacity)
        view = np.frombuffer(memory, dtype=np.uint8, count=array.nbytes)
        return view.view(array.dtype).reshape(array.shape)

    def stage(self, batch):
        """Issues the copy of one `(x, y, sample_weight)` batch; returns (device batch, event)."""
        slot = self._turn
        self._turn ^= 1
        if self._events[slot] is not None:
            self._events[slot].synchronize()  # the pinned buffers of this slot are free again
        # device memory freed by earlier steps may be reused here: let those steps finish first
        self._stream.wait_event(self._xp.cuda.get_current_stream().record())
        staged, leaf = [], 0
        for part in batch:
            if part is None:
                staged.append(None)
                continue
            arrays = []
            for array in flatten_leaves(part):
                device = self._xp.empty(array.shape, dtype=array.dtype)
                if array.nbytes:
                    host = self._host_view(slot, leaf, array)
                    np.copyto(host, array)
                    device.set(host, stream=self._stream)
                arrays.append(device)
                leaf += 1
            staged.append(da.pack_like(part, arrays))
        event = self._stream.record()
        self._events[slot] = event
        return tuple(staged), event

    def iterate(self, host_batches):
        """Yields the batches of `host_batches` on the device, one copy ahead."""
        pending = None
        for batch in host_batches:
            staged = self.stage(batch)
            if pending is not None:
                yield self._ready(pending)
            pending = staged
        if pending is not None:
            yield self._ready(pending)

    def _ready(self, staged):
        batch, event = staged
        self._xp.cuda.get_current_stream().wait_event(event)
        return batch


def flatten_leaves(structure):
    """The array leaves of an array / list / dict, in `pack_like` order."""
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in flatten_leaves(item)]
    if isinstance(structure, dict):
        return [leaf for value in structure.values() for leaf in flatten_leaves(value)]
    return [structure]


# -------------------------------------------------------------------- adapters
class _StreamAdapter:
    """What both adapters share: iteration with device staging, epoch end and close."""

    x = None  # the trainer's array-input checks do not apply to streams

    def __init__(self, steps, num_batches, feeder):
        self.steps = steps
        self.num_batches = num_batches
        self._feeder = feeder
        self._stager = None
        self._closed = False

    def __iter__(self):
        host = self._host_batches()
        bk = backend_module.get_backend()
        if bk.name == "cupy":  # overlap the next batch's host->device copy with this step
            if self._stager is None:  # pinned buffers are costly to allocate: keep them
                self._stager = DeviceStager(bk)
            host = self._stager.iterate(host)
        try:
            yield from host
        except GeneratorExit:  # the consumer stopped early (e.g. stop_training): not an error
            raise
        except BaseException:
            self.close()  # stop the workers before the error reaches the user
            raise

    def _host_batches(self):
        raise NotImplementedError

    def on_epoch_end(self):
        """Called by `fit` after each epoch."""

    def close(self):
        """Stops the prefetch workers; the adapter cannot be iterated afterwards."""
        if not self._closed:
            self._closed = True
            self._feeder.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: nothing sensible left to do
            pass


class GeneratorAdapter(_StreamAdapter):
    """Feeds `steps` batches per epoch from a plain generator / iterator; with `steps=None`,
    every batch until it ends (the first epoch then takes them all, as in Keras)."""

    def __init__(self, generator, steps, class_weight=None, max_queue_size=10, workers=1,
                 timeout=None):
        self.source = describe_source(generator)
        feeder = prefetch.StreamFeeder(
            generator, _BatchTransform(self.source, class_weight), workers=workers,
            max_queue_size=max_queue_size, timeout=prefetch.resolve_timeout(timeout),
            name=self.source)
        super().__init__(steps, steps, feeder)

    def _host_batches(self):
        for _ in (range(self.steps) if self.steps is not None else itertools.count()):
            batch = self._feeder.get()
            if batch is prefetch.END:
                return  # the trainer warns that the input ran out of data
            yield batch


class SequenceAdapter(_StreamAdapter):
    """Feeds the batches of a `Sequence` in (optionally shuffled) index order."""

    def __init__(self, sequence, steps=None, shuffle=False, class_weight=None, max_queue_size=10,
                 workers=1, use_multiprocessing=False, timeout=None):
        self.sequence = sequence
        self.source = describe_source(sequence)
        self.shuffle = bool(shuffle)
        length = len(sequence)
        fetch = _SequenceFetch(sequence, _BatchTransform(self.source, class_weight))
        options = dict(workers=workers, max_queue_size=max_queue_size,
                       timeout=prefetch.resolve_timeout(timeout), name=self.source)
        if use_multiprocessing and workers > 0:
            # a child works on a copy: resend it each epoch if on_epoch_end may change it
            custom_epoch_end = getattr(type(sequence), "on_epoch_end", None) is not \
                Sequence.on_epoch_end
            feeder = prefetch.ProcessIndexedFeeder(fetch, reload_each_epoch=custom_epoch_end,
                                                   **options)
        else:
            feeder = prefetch.IndexedFeeder(fetch, **options)
        self._epoch_end_pending = False
        super().__init__(steps, steps if steps is not None else length, feeder)

    def _plan(self):
        length = len(self.sequence)
        order = np.arange(length)
        if self.shuffle and length > 1:
            order = grandom.global_rng().permutation(length)
        count = self.steps if self.steps is not None else length
        if length == 0:
            return []
        return [int(order[i % length]) for i in range(count)]

    def _host_batches(self):
        if self._epoch_end_pending:  # the last pass was cut short: close it first
            self.on_epoch_end()
        if hasattr(self.sequence, "on_epoch_begin"):
            self.sequence.on_epoch_begin()
        self._feeder.start_epoch(self._plan())
        self._epoch_end_pending = True
        while True:
            batch = self._feeder.get()
            if batch is prefetch.END:
                break
            yield batch
        # a full pass: evaluation / validation data get on_epoch_end here too (as in Keras)
        self.on_epoch_end()

    def on_epoch_end(self):
        """Runs the Sequence's `on_epoch_end` once per pass (fit calls this after each epoch)."""
        if self._epoch_end_pending:
            self._epoch_end_pending = False
            self.sequence.on_epoch_end()


# ----------------------------------------------------------------------- entry
def _check_steps(steps, x):
    if steps is None:  # a Sequence's length, or a generator read until it ends
        return None
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be a positive integer or None, got {steps!r}.")
    return int(steps)


def make_adapter(x, y=None, sample_weight=None, batch_size=None, steps=None, shuffle=False,
                 class_weight=None, max_queue_size=10, workers=1, use_multiprocessing=False,
                 timeout=None):
    """Wraps a generator / iterator / `Sequence` in a prefetching data adapter.

    Args:
        x: the source.
        y, sample_weight: must be `None` (the batches carry them).
        batch_size: ignored (the source decides its batch size).
        steps: batches per epoch (`None`: a Sequence's length, or a generator to its end).
        shuffle: shuffle a Sequence's batch order every epoch (ignored for generators).
        class_weight: optional `{class: weight}` applied to each batch's targets.
        max_queue_size: batches that may wait ahead of the model.
        workers: prefetch threads (0: the main thread runs the source).
        use_multiprocessing: worker processes for a Sequence; a plain generator warns and
            uses threads.
        timeout: seconds to wait for one batch before `DataTimeoutError` (`None`: the
            `GKERAS_DATA_TIMEOUT` variable, else `prefetch.DEFAULT_TIMEOUT`).

    Returns:
        A `GeneratorAdapter` or `SequenceAdapter`.
    """
    kind = "Sequence / PyDataset" if is_sequence(x) else "generator"
    for value, arg, what in ((y, "y", "targets"), (sample_weight, "sample_weight",
                                                   "sample weights")):
        if value is not None:
            raise ValueError(
                f"When providing `x` as a {kind}, `{arg}` should not be passed. Instead, the "
                f"{what} should be included as part of the {kind}."
            )
    if is_sequence(x):
        # settings given to the PyDataset itself win (Keras 3 reads them only from there)
        settings = getattr(x, "pipeline_settings", dict)()
        workers = settings.get("workers", workers)
        use_multiprocessing = settings.get("use_multiprocessing", use_multiprocessing)
        max_queue_size = settings.get("max_queue_size", max_queue_size)
    workers = _check_workers(workers)
    max_queue_size = _check_max_queue_size(max_queue_size)
    steps = _check_steps(steps, x)
    if is_sequence(x):
        return SequenceAdapter(x, steps=steps, shuffle=shuffle, class_weight=class_weight,
                               max_queue_size=max_queue_size, workers=workers,
                               use_multiprocessing=bool(use_multiprocessing), timeout=timeout)
    if use_multiprocessing and workers > 1:
        warnings.warn(
            "Using a generator with `use_multiprocessing=True` and multiple workers may "
            "duplicate your data. Please consider using the `gkeras.utils.Sequence` class. "
            "gkeras reads plain generators from threads instead.", UserWarning, stacklevel=4)
    return GeneratorAdapter(x, steps, class_weight=class_weight, max_queue_size=max_queue_size,
                            workers=workers, timeout=timeout)
