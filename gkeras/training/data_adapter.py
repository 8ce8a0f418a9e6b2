"""Turns what users pass to fit / evaluate / predict into batches of NumPy arrays.

An adapter yields, per epoch, `(x, y, sample_weight)` batches where each part keeps the
structure the user gave (array, list or dict) with NumPy leaves. Moving the batch to the
device happens in the trainer, at the model boundary.
"""

import warnings

import numpy as np

from gkeras import config
from gkeras import random as grandom
from gkeras.layers.node import flatten


def pack_like(structure, flat):
    """Rebuilds `structure`'s nesting with the leaves taken in order from `flat`."""
    return _build(structure, iter(flat))


def _build(structure, leaves):
    # module level on purpose: a nested recursive closure would be a reference cycle per call
    if isinstance(structure, (list, tuple)):
        return type(structure)(_build(item, leaves) for item in structure)
    if isinstance(structure, dict):
        return {k: _build(v, leaves) for k, v in structure.items()}
    return next(leaves)


def to_numpy_leaf(value, name):
    """Converts one user-given leaf (array-like) to a NumPy array; floats become `floatx()`."""
    if value is None:
        return None
    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):
        value = value.numpy()
    elif hasattr(value, "__cuda_array_interface__"):
        from gkeras.backend import backend_of

        value = backend_of(value).to_numpy(value)
    array = np.asarray(value)
    if array.dtype == object:
        raise ValueError(f"Could not convert {name} to a numeric array: got {type(value).__name__} "
                         "with ragged or non-numeric contents.")
    if array.dtype.kind == "f" and array.dtype != np.dtype(config.floatx()):
        array = array.astype(config.floatx())
    elif array.dtype.kind == "b":
        array = array.astype(config.floatx())
    if array.ndim == 0:
        raise ValueError(f"{name} must have a batch dimension; got a scalar.")
    return array


def _normalize(value, name):
    """Keeps the structure; converts lists of numbers to arrays but lists of arrays stay lists."""
    if value is None:
        return None
    if isinstance(value, dict):
        return {k: to_numpy_leaf(v, f"{name}['{k}']") for k, v in value.items()}
    if isinstance(value, (list, tuple)) and value and all(
            hasattr(v, "shape") and getattr(v, "ndim", 0) >= 1 for v in value):
        return [to_numpy_leaf(v, f"{name}[{i}]") for i, v in enumerate(value)]
    return to_numpy_leaf(value, name)


def class_weight_to_sample_weight(y, class_weight):
    """Per-sample weights from a `{class: weight}` dict (labels as ids or one-hot rows)."""
    y = np.asarray(y)
    labels = y.argmax(axis=-1) if y.ndim > 1 and y.shape[-1] > 1 else y.reshape(len(y), -1)[:, 0]
    labels = np.round(labels).astype(np.int64)
    weights = np.ones(len(labels), dtype=config.floatx())
    for cls, weight in class_weight.items():
        weights[labels == int(cls)] = weight
    return weights


class ArrayDataAdapter:
    """Slices in-memory arrays into (optionally shuffled) batches.

    Args:
        x, y, sample_weight: arrays, lists of arrays or dicts of arrays (same sample count).
        batch_size: samples per batch (32 by default).
        steps: batches per epoch; `None` for one pass over the data.
        shuffle: `True` shuffles every epoch; `"batch"` shuffles batch order only.
        class_weight: optional `{class: weight}` turned into sample weights.
    """

    def __init__(self, x, y=None, sample_weight=None, batch_size=None, steps=None, shuffle=False,
                 class_weight=None):
        self.x = _normalize(x, "x")
        self.y = _normalize(y, "y")
        self.sample_weight = _normalize(sample_weight, "sample_weight")
        flat_x = flatten(self.x)
        if not flat_x or any(a is None for a in flat_x):
            raise ValueError("x is empty: fit / evaluate / predict need input data.")
        counts = {len(a) for a in flat_x}
        if len(counts) != 1:
            raise ValueError(
                f"All input arrays (x) should have the same number of samples. Got array sizes: "
                f"{[len(a) for a in flat_x]}."
            )
        self.num_samples = counts.pop()
        if self.num_samples == 0:
            raise ValueError("x is empty (0 samples): fit / evaluate / predict need input data.")
        for part, name in ((self.y, "y"), (self.sample_weight, "sample_weight")):
            if part is None:
                continue
            sizes = [len(a) for a in flatten(part) if a is not None]
            if any(s != self.num_samples for s in sizes):
                raise ValueError(
                    f"Data cardinality is ambiguous: x sizes: {self.num_samples}, {name} sizes: "
                    f"{', '.join(str(s) for s in sizes)}. Make sure all arrays contain the same "
                    "number of samples."
                )
        if class_weight is not None:
            if self.y is None:
                raise ValueError("class_weight needs targets y.")
            flat_y = flatten(self.y)
            if len(flat_y) != 1:
                raise ValueError(
                    "class_weight is only supported for models with a single output; use "
                    "sample_weight for several outputs."
                )
            cw = class_weight_to_sample_weight(flat_y[0], class_weight)
            self.sample_weight = cw if self.sample_weight is None else self.sample_weight * cw
        self.batch_size = int(batch_size or 32)
        if self.batch_size <= 0:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size}.")
        self.shuffle = shuffle
        self._full_batches = -(-self.num_samples // self.batch_size)
        self.steps = steps
        if steps is not None and steps > self._full_batches:
            warnings.warn(
                f"steps={steps} is more than the {self._full_batches} batches the data holds; "
                "training runs out of data early.", stacklevel=3)

    @property
    def num_batches(self):
        return self.steps if self.steps is not None else self._full_batches

    def _order(self):
        n = self.num_samples
        if self.shuffle == "batch":
            starts = np.arange(0, n, self.batch_size)
            grandom.global_rng().shuffle(starts)
            return np.concatenate([np.arange(s, min(s + self.batch_size, n)) for s in starts])
        if self.shuffle:
            return grandom.global_rng().permutation(n)
        return None

    def __iter__(self):
        order = self._order()
        for step in range(min(self.num_batches, self._full_batches)):
            start, stop = step * self.batch_size, min((step + 1) * self.batch_size,
                                                      self.num_samples)
            index = slice(start, stop) if order is None else order[start:stop]
            yield tuple(
                None if part is None else part[index] if type(part) is np.ndarray
                else pack_like(part, [None if a is None else a[index] for a in flatten(part)])
                for part in (self.x, self.y, self.sample_weight)
            )

    def on_epoch_end(self):
        """Nothing to do for arrays (generators and Sequences use this)."""

    def close(self):
        """Releases nothing for arrays (prefetching adapters stop their workers)."""


def split_validation(x, y, sample_weight, validation_split):
    """Keras's `validation_split`: the last fraction of the samples, taken before shuffling."""
    if not 0.0 < validation_split < 1.0:
        raise ValueError(f"validation_split must be in (0, 1), got {validation_split}.")
    x, y, sw = _normalize(x, "x"), _normalize(y, "y"), _normalize(sample_weight, "sample_weight")
    flat_x = flatten(x)
    n = len(flat_x[0])
    split_at = int(n * (1.0 - validation_split))
    if split_at == 0 or split_at == n:
        raise ValueError(
            f"validation_split={validation_split} leaves no samples for training or for "
            f"validation with {n} samples."
        )

    def part(structure, index):
        if structure is None:
            return None
        return pack_like(structure, [None if a is None else a[index] for a in flatten(structure)])

    train = (part(x, slice(0, split_at)), part(y, slice(0, split_at)),
             part(sw, slice(0, split_at)))
    val = (part(x, slice(split_at, None)), part(y, slice(split_at, None)),
           part(sw, slice(split_at, None)))
    return train, val


def unpack_validation_data(validation_data):
    """`(x, y)` or `(x, y, sample_weight)` → a 3-tuple; anything else is an error."""
    if isinstance(validation_data, (list, tuple)) and len(validation_data) in (2, 3):
        x, y = validation_data[0], validation_data[1]
        sw = validation_data[2] if len(validation_data) == 3 else None
        return x, y, sw
    raise ValueError(
        "validation_data must be a tuple (x_val, y_val) or (x_val, y_val, val_sample_weights), "
        f"or a generator / Sequence; got {type(validation_data).__name__}."
    )


def get_data_adapter(x, y=None, sample_weight=None, batch_size=None, steps=None, shuffle=False,
                     class_weight=None, **pipeline_options):
    """Chooses the adapter for `x`: in-memory arrays here; generators and Sequences have theirs."""
    try:
        from gkeras.training import generator_adapter
    except ImportError:
        generator_adapter = None
    if generator_adapter is not None and generator_adapter.handles(x):
        return generator_adapter.make_adapter(
            x, y=y, sample_weight=sample_weight, batch_size=batch_size, steps=steps,
            shuffle=shuffle, class_weight=class_weight, **pipeline_options)
    # workers / max_queue_size / use_multiprocessing only matter for generators (as in Keras)
    return ArrayDataAdapter(x, y, sample_weight, batch_size=batch_size, steps=steps,
                            shuffle=shuffle, class_weight=class_weight)
