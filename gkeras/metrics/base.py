"""`Metric` and the reduction metrics `Mean`, `Sum`, `MeanMetricWrapper` (`keras.metrics`).

Metric state lives in `MetricVariable`s on the device of the data (the placement backend,
or wherever the first batch arrives): updates are array expressions on that device with no
per-sample Python work and no transfer to the host. `result()` returns a 0-d Tensor on the
device; callers convert it to a float only when they display it.
"""

import functools
import re

import numpy as np

from gkeras import backend as backend_module
from gkeras import config
from gkeras.autodiff import Tensor, Variable, is_grad_enabled, no_grad, to_array
from gkeras.backend import backend_of


def snake_case(name):
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z\d])([A-Z])", r"\1_\2", name).lower()


class MetricVariable(Variable):
    """A non-trainable metric state variable with Keras's in-place update methods."""

    def assign_add(self, value):
        """Adds `value` to this variable in place."""
        self.data += to_array(value, backend_of(self.data)).astype(self.dtype, copy=False)
        return self

    def assign_sub(self, value):
        """Subtracts `value` from this variable in place."""
        self.data -= to_array(value, backend_of(self.data)).astype(self.dtype, copy=False)
        return self


def raw(value, bk=None):
    """`value` (Tensor, array, list or scalar) as an array of backend `bk`."""
    if isinstance(value, Tensor):
        value = value.data
    return to_array(value, bk)


_NDARRAY = np.ndarray
_NUMPY_BACKEND = backend_module.numpy_backend()
# dtype names parsed once: `astype("float32")` would parse the name on every batch
as_dtype = functools.lru_cache(maxsize=None)(np.dtype)


def data_backend(*values):
    """The backend of the first Tensor or backend array among `values` (else the active one)."""
    for value in values:
        data = value.data if isinstance(value, Tensor) else value
        if type(data) is _NDARRAY:  # the common case, decided without the generic checks
            return _NUMPY_BACKEND
        if hasattr(data, "shape") and hasattr(data, "dtype") and not isinstance(data, np.generic):
            if isinstance(data, np.ndarray) or hasattr(data, "__cuda_array_interface__"):
                return backend_of(data)
    return backend_module.get_backend()


def squeeze_or_expand_raw(x1, x2, expand_rank_1=True):
    """Keras's rank alignment (see `gkeras.losses.squeeze_or_expand_to_same_rank`), on arrays."""
    r1, r2 = x1.ndim, x2.ndim
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = x2[..., None]
        else:
            x1 = x1[..., 0]
    elif r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = x1[..., None]
        else:
            x2 = x2[..., 0]
    return x1, x2


def divide_no_nan(a, b):
    """`a / b`, and 0 where `b` is 0 (arrays on one device)."""
    xp = backend_of(b).xp
    nonzero = b != 0
    return xp.where(nonzero, a / xp.where(nonzero, b, 1), 0).astype(b.dtype, copy=False)


class Metric:
    """Base class of metrics (`keras.metrics.Metric`).

    Subclasses create their state in `__init__` with `add_variable`, and implement
    `update_state(y_true, y_pred, sample_weight=None)` and `result()`.

    Args:
        name: name of the metric instance (snake case of the class name by default).
        dtype: dtype of the state and the result (`floatx()` by default).

    Example:

    ```python
    class CountPositives(Metric):
        def __init__(self, name="count_positives", **kwargs):
            super().__init__(name=name, **kwargs)
            self.count = self.add_variable(shape=(), name="count")

        def update_state(self, y_true, y_pred, sample_weight=None):
            self.count.assign_add(ops.sum(ops.greater(y_pred, 0.5)))

        def result(self):
            return self.count
    ```
    """

    def __init__(self, name=None, dtype=None):
        self.name = name or snake_case(type(self).__name__)
        self._dtype = np.dtype(dtype or config.floatx()).name
        self._metric_variables = []

    @property
    def dtype(self):
        """The dtype of the state and the result, as a string."""
        return self._dtype

    # ------------------------------------------------------------------- state
    def add_variable(self, shape=(), initializer="zeros", dtype=None, aggregation="sum",
                     name=None):
        """Creates a state variable (zeros unless `initializer` says otherwise).

        Returns:
            A `MetricVariable` (its `.data` is updated in place by the metric).
        """
        from gkeras import initializers

        shape = tuple(int(d) for d in np.atleast_1d(shape)) if shape != () else ()
        dtype = np.dtype(dtype or self._dtype)
        value = np.asarray(initializers.get(initializer)(shape, dtype=dtype), dtype=dtype)
        bk = self._state_backend()
        variable = MetricVariable(bk.asarray(value), trainable=False,
                                  name=name or f"variable_{len(self._metric_variables)}",
                                  dtype=dtype)
        variable.path = f"{self.name}/{variable.name}"
        variable._initial = value
        self._metric_variables.append(variable)
        return variable

    add_weight = add_variable  # Keras 2's name

    def _state_backend(self):
        if self._metric_variables:
            return backend_of(self._metric_variables[0].data)
        return backend_module.get_backend()

    def _follow(self, *values):
        """Moves the state to the device of the incoming data (once), and returns that backend.

        Metrics are usually built before the first batch arrives; this keeps the running sums
        next to the data instead of copying every batch to the state's device.
        """
        bk = data_backend(*values)
        if self._metric_variables and not bk.owns(self._metric_variables[0].data):
            for variable in self._metric_variables:
                host = backend_of(variable.data).to_numpy(variable.data)
                variable.data = bk.asarray(host)
        return bk

    @property
    def variables(self):
        """The state arrays (backend arrays, in creation order), for saving and inspection."""
        return [v.data for v in self._metric_variables]

    def reset_state(self):
        """Sets every state variable back to its initial value, in place."""
        for variable in self._metric_variables:
            bk = backend_of(variable.data)
            variable.data[...] = bk.asarray(variable._initial)

    def reset_states(self):
        """Keras 2's name of `reset_state`."""
        self.reset_state()

    # ---------------------------------------------------------------- protocol
    def update_state(self, *args, **kwargs):
        """Accumulates statistics from one batch. Subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__} must implement `update_state`.")

    def result(self):
        """The current value as a Tensor on the device. Subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__} must implement `result`.")

    def __call__(self, *args, **kwargs):
        """Updates the state with one batch and returns the new result."""
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self):
        return {"name": self.name, "dtype": self._dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}>"


def _reduce_trailing(values, reduce_fn):
    """`values` reduced (`"mean"` or `"sum"`) over every axis but the first.

    Written as a sum (and one division): `ndarray.mean` costs several times a `sum` on the
    small per-batch arrays metrics see, for the same result.
    """
    n = values.shape[0]
    if values.size == n:  # trailing axes of size 1: nothing to reduce
        return values.reshape(n)
    axes = tuple(range(1, values.ndim))
    total = values.sum(axis=axes)
    return total / (values.size // n) if reduce_fn == "mean" else total


def reduce_to_samplewise_values(values, sample_weight, reduce_fn, dtype):
    """Keras's weighting rule for `Mean`/`Sum`: returns `(per-sample values, weights)`.

    Weights are lined up with the values (rank-1 weights gain a trailing axis), the values
    are reduced (`reduce_fn` = `"mean"` or `"sum"`) down to the weights' rank, weighted,
    then reduced to one value per sample.
    """
    xp = backend_of(values).xp
    dtype = as_dtype(dtype)
    values = values.astype(dtype, copy=False)
    if sample_weight is None:
        return (_reduce_trailing(values, reduce_fn) if values.ndim > 1 else values), None
    sample_weight = to_array(sample_weight, backend_of(values)).astype(dtype, copy=False)
    values, sample_weight = squeeze_or_expand_raw(values, sample_weight)
    if values.ndim > sample_weight.ndim:
        axes = tuple(range(sample_weight.ndim, values.ndim))
        values = getattr(values, reduce_fn)(axis=axes)
    try:
        sample_weight = xp.broadcast_to(sample_weight, values.shape)
    except ValueError:
        raise ValueError(
            f"sample_weight of shape {tuple(sample_weight.shape)} cannot be broadcast to "
            f"the metric values of shape {tuple(values.shape)}."
        ) from None
    values = values * sample_weight
    if sample_weight.ndim > 1:
        sample_weight = getattr(sample_weight, reduce_fn)(
            axis=tuple(range(1, sample_weight.ndim)))
    if values.ndim > 1:
        values = getattr(values, reduce_fn)(axis=tuple(range(1, values.ndim)))
    return values, sample_weight


class Sum(Metric):
    """The (weighted) sum of the given values.

    Args:
        name: name of the metric instance.
        dtype: dtype of the result.
    """

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(shape=(), name="total")

    def update_state(self, values, sample_weight=None):
        """Adds `sum(values * sample_weight)` to the total."""
        bk = self._follow(values)
        values, _ = reduce_to_samplewise_values(raw(values, bk), sample_weight, "sum",
                                                self._dtype)
        self.total.data += values.sum()

    def result(self):
        return Tensor(self.total.data.copy())


class Mean(Metric):
    """The (weighted) mean of the given values: `sum(values * w) / sum(w)`.

    Args:
        name: name of the metric instance.
        dtype: dtype of the result.

    Example:

    >>> m = Mean()
    >>> m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    >>> float(m.result())
    2.0
    """

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(shape=(), name="total")
        self.count = self.add_variable(shape=(), name="count")

    def update_state(self, values, sample_weight=None):
        """Adds the weighted values to the running total and their weights to the count."""
        bk = self._follow(values)
        values = raw(values, bk)
        if isinstance(sample_weight, (int, float)) and not isinstance(sample_weight, bool) \
                and values.ndim == 0:
            # a batch-mean scalar weighted by the batch size: the trainer's loss tracker
            self.total.data += values.astype(as_dtype(self._dtype), copy=False) * sample_weight
            self.count.data += sample_weight
            return
        values, sample_weight = reduce_to_samplewise_values(values, sample_weight, "mean",
                                                            self._dtype)
        self.total.data += values.sum()
        if sample_weight is not None:
            self.count.data += sample_weight.sum()
        else:
            self.count.data += values.shape[0] if values.ndim >= 1 else 1

    def result(self):
        return Tensor(divide_no_nan(self.total.data, self.count.data))


def _masked_weights(mask, sample_weight, values, bk):
    """`sample_weight` (or ones) times the validity `mask`, shaped like the metric values."""
    weights = mask.astype(values.dtype)
    if sample_weight is not None:
        from gkeras.losses.base import expand_to_rank, squeeze_or_expand_to_same_rank

        sample_weight = raw(sample_weight, bk).astype(values.dtype, copy=False)
        w, m = squeeze_or_expand_to_same_rank(Tensor(sample_weight), Tensor(weights))
        weights = expand_to_rank(w.data, m.ndim) * m.data
    return weights


class MeanMetricWrapper(Mean):
    """The running mean of a per-sample metric function `fn(y_true, y_pred, **kwargs)`.

    Args:
        fn: the function; it returns one value per sample (array or Tensor).
        name: name of the metric instance (the function's name by default).
        dtype: dtype of the result.
        **kwargs: keyword arguments passed to `fn`.
    """

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        if not callable(fn):
            raise TypeError(f"MeanMetricWrapper expects a callable `fn`, got {fn!r}.")
        super().__init__(name=name or getattr(fn, "__name__", None) or "mean_metric_wrapper",
                         dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Evaluates `fn` on the batch and adds its values to the running mean."""
        bk = self._follow(y_pred, y_true)
        if is_grad_enabled():
            with no_grad():
                values = self._fn(y_true, y_pred, **self._fn_kwargs)
        else:  # the trainer already updates metrics under no_grad
            values = self._fn(y_true, y_pred, **self._fn_kwargs)
        values = raw(values, bk)
        mask = y_pred._keras_mask if isinstance(y_pred, Tensor) else None
        if mask is not None:  # padded time steps count for nothing, as in Keras
            sample_weight = _masked_weights(mask, sample_weight, values, bk)
        super().update_state(values, sample_weight=sample_weight)

    def get_config(self):
        config = super().get_config()
        config["fn"] = getattr(self._fn, "__name__", None)
        config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        fn = config.pop("fn", None)
        if isinstance(fn, str):
            from gkeras import metrics

            resolved = metrics.FUNCTIONS.get(fn)
            if resolved is None:
                raise ValueError(
                    f"Cannot rebuild MeanMetricWrapper: unknown metric function {fn!r}. Pass "
                    "custom metric functions through `custom_objects`."
                )
            fn = resolved
        return cls(fn, **config)


class BuiltinMetricWrapper(MeanMetricWrapper):
    """A built-in metric defined by a function: its config lists its own options only."""

    def get_config(self):
        config = {"name": self.name, "dtype": self.dtype}
        config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)
