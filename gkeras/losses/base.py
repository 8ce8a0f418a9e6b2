"""`Loss`: the base of every loss, with Keras's sample-weight and reduction rules.

A loss object maps `(y_true, y_pred, sample_weight)` to a scalar Tensor that `backward()` can
start from. `call` computes per-sample values through `gkeras.ops` (so gradients flow to
`y_pred`); `__call__` weights them and reduces them the way `keras.losses.Loss` does.
"""

import functools
import re

import numpy as np

from gkeras import config, ops
from gkeras.autodiff import Tensor, to_array
from gkeras.backend import backend_of

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


class Reduction:
    """Keras 2's names of the reductions (`tf.keras.losses.Reduction.SUM`, ...)."""

    AUTO = "auto"
    NONE = "none"
    SUM = "sum"
    SUM_OVER_BATCH_SIZE = "sum_over_batch_size"

    @classmethod
    def all(cls):
        return (cls.AUTO, cls.NONE, cls.SUM, cls.SUM_OVER_BATCH_SIZE)


def standardize_reduction(reduction):
    """Checks a `reduction` argument; Keras 2's `"auto"` means `"sum_over_batch_size"`.

    Raises:
        ValueError: for anything else than the names in `REDUCTIONS`.
    """
    if reduction == "auto":
        return "sum_over_batch_size"
    if reduction not in REDUCTIONS:
        raise ValueError(
            f"Invalid value for argument `reduction`. Expected one of {list(REDUCTIONS)}. "
            f"Received: reduction={reduction!r}"
        )
    return reduction


def snake_case(name):
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z\d])([A-Z])", r"\1_\2", name).lower()


# ------------------------------------------------------------------ conversions
_dtype = functools.lru_cache(maxsize=None)(np.dtype)  # dtype names parsed once, not per step


def as_prediction(y_pred, dtype=None):
    """`y_pred` as a Tensor (kept in the graph), cast to `dtype` when given."""
    if not isinstance(y_pred, Tensor):
        y_pred = Tensor(to_array(y_pred))
    if dtype is not None and y_pred.data.dtype is not dtype and y_pred.dtype != np.dtype(dtype):
        y_pred = ops.cast(y_pred, np.dtype(dtype))
    return y_pred


def as_target(y_true, like, dtype=None):
    """`y_true` as a Tensor on the backend of `like` (a Tensor), cast to `dtype` when given.

    Raw arrays become constants; a Tensor keeps its place in the graph.
    """
    bk = backend_of(like.data)
    if not isinstance(y_true, Tensor):
        y_true = Tensor(to_array(y_true, bk))
    elif not bk.owns(y_true.data):
        y_true = Tensor(to_array(y_true.data, bk))
    if dtype is not None and y_true.data.dtype is not dtype and y_true.dtype != np.dtype(dtype):
        y_true = ops.cast(y_true, np.dtype(dtype))
    return y_true


def prepare(y_true, y_pred):
    """The common start of the loss functions: Tensors of `y_pred`'s float dtype, same rank."""
    y_pred = as_prediction(y_pred)
    if y_pred.dtype.kind != "f":
        y_pred = ops.cast(y_pred, np.dtype(config.floatx()))
    y_true = as_target(y_true, y_pred, y_pred.dtype)
    return squeeze_or_expand_to_same_rank(y_true, y_pred)


def squeeze_or_expand_to_same_rank(x1, x2, expand_rank_1=True):
    """Squeezes or expands the last axis of one argument when the ranks differ by exactly one.

    This is how Keras lines up labels `(N,)` with predictions `(N, 1)`: a rank-1 argument
    gains an axis, anything of higher rank loses its size-1 last axis.
    """
    r1, r2 = len(x1.shape), len(x2.shape)
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = ops.expand_dims(x2, -1)
        else:
            x1 = ops.squeeze(x1, -1)
    elif r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = ops.expand_dims(x1, -1)
        else:
            x2 = ops.squeeze(x2, -1)
    return x1, x2


def check_same_shape(y_true, y_pred, loss_name):
    if tuple(y_true.shape) != tuple(y_pred.shape):
        raise ValueError(
            f"{loss_name}: `y_true` and `y_pred` must have the same shape. Received: "
            f"y_true.shape={tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}"
        )


# -------------------------------------------------------------------- reduction
def _divide_no_nan(total, divisor):
    """`total / divisor` with 0 where the (non-differentiable) divisor is 0, on the device."""
    xp = backend_of(divisor).xp
    nonzero = divisor != 0
    safe = xp.where(nonzero, divisor, xp.ones_like(divisor))
    return ops.multiply(ops.divide(total, Tensor(safe)), Tensor(nonzero.astype(safe.dtype)))


def apply_mask(sample_weight, mask, reduction):
    """Folds a validity mask (raw 0/1 array) into `sample_weight` (raw array or `None`).

    For averaging reductions the valid entries are scaled by `total / valid`, so the mean
    runs over the valid entries only (Keras's rule for `ignore_class`).
    """
    if mask is None:
        return sample_weight
    xp = backend_of(mask).xp
    if reduction in ("mean", "sum_over_batch_size"):
        valid = mask.sum()
        scale = xp.where(valid > 0, mask.size / xp.where(valid > 0, valid, 1), 0)
        mask = mask * scale.astype(mask.dtype)
    if sample_weight is None:
        return mask
    mask_t, weight_t = squeeze_or_expand_to_same_rank(Tensor(mask), Tensor(sample_weight))
    weights = expand_to_rank(weight_t.data, mask_t.ndim)
    return (weights * mask_t.data).astype(mask.dtype, copy=False)


def expand_to_rank(weights, ndim):
    """Per-sample `weights` of shape `(N,)` (or `(N, T)`) given trailing size-1 axes up to
    `ndim`, so they weight every step of an `(N, T, ...)` loss or mask alike."""
    while weights.ndim < ndim:
        weights = weights[..., None]
    return weights


def reduce_values(values, sample_weight=None, reduction="sum_over_batch_size"):
    """Reduces weighted per-sample losses (a Tensor) to the scalar Keras reports."""
    if reduction in (None, "none") or values.shape in ((), (0,)):
        return values
    if reduction == "sum" or not values.size:
        return ops.sum(values)
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        divisor = sample_weight.sum().astype(values.dtype)
        return _divide_no_nan(ops.sum(values), divisor)
    return ops.mean(values)  # sum / count in one op (numpy's mean is exactly that division)


def reduce_weighted_values(values, sample_weight=None, mask=None,
                           reduction="sum_over_batch_size"):
    """Applies `sample_weight` (and a validity mask) to per-sample losses, then reduces them.

    `sample_weight` is squeezed or expanded to the rank of `values` as Keras does, then
    broadcast: `(N,)` weights scale `(N,)` losses, `(N, T)` weights scale `(N, T)` losses.
    """
    reduction = standardize_reduction(reduction)
    bk = backend_of(values.data)
    if sample_weight is not None:
        if isinstance(sample_weight, Tensor):
            sample_weight = sample_weight.data
        sample_weight = to_array(sample_weight, bk).astype(values.dtype, copy=False)
    if mask is not None:
        mask = mask.astype(values.dtype, copy=False)
    sample_weight = apply_mask(sample_weight, mask, reduction)
    if sample_weight is not None:
        values, weight_t = squeeze_or_expand_to_same_rank(values, Tensor(sample_weight))
        if weight_t.ndim < values.ndim and tuple(weight_t.shape) == values.shape[:weight_t.ndim]:
            weight_t = Tensor(expand_to_rank(weight_t.data, values.ndim))
        try:
            np.broadcast_shapes(values.shape, weight_t.shape)
        except ValueError:
            raise ValueError(
                f"sample_weight of shape {tuple(sample_weight.shape)} cannot be broadcast to "
                f"the per-sample losses of shape {tuple(values.shape)}. Pass one weight per "
                "sample, of shape (batch_size,), or one per loss entry."
            ) from None
        values = ops.multiply(values, weight_t)
        sample_weight = weight_t.data
    return reduce_values(values, sample_weight, reduction)


# ------------------------------------------------------------------------- Loss
class Loss:
    """Base class of losses (`keras.losses.Loss`).

    Subclasses implement `call(y_true, y_pred)` returning per-sample losses as a Tensor
    (through `gkeras.ops`, so it is differentiable); `__call__` applies `sample_weight` and
    the reduction.

    Args:
        name: name of the loss instance (snake case of the class name by default).
        reduction: `"sum_over_batch_size"` (default: the sum of the weighted losses divided
            by their number of entries), `"sum"`, `"mean"` (same as the default),
            `"mean_with_sample_weight"` (divided by the sum of the weights) or
            `"none"`/`None` (no reduction).
        dtype: the dtype of the computation. By default the more precise of `y_pred`'s
            dtype and `floatx()`.

    Example:

    ```python
    class MeanSquaredError(Loss):
        def call(self, y_true, y_pred):
            return ops.mean(ops.square(y_pred - y_true), axis=-1)
    ```
    """

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        self.name = name or snake_case(type(self).__name__)
        self.reduction = standardize_reduction(reduction)
        self._dtype = None if dtype is None else np.dtype(dtype).name

    @property
    def dtype(self):
        """The dtype of the computation (as a string)."""
        return self._dtype or config.floatx()

    def _compute_dtype(self, y_pred):
        if self._dtype is not None:
            return np.dtype(self._dtype)
        dtype = y_pred.data.dtype
        floatx = _dtype(config.floatx())
        if dtype.kind == "f":
            return dtype if dtype is floatx else np.promote_types(dtype, floatx)
        return floatx

    def __call__(self, y_true, y_pred, sample_weight=None):
        """Computes the weighted, reduced loss.

        Args:
            y_true: targets (array or Tensor; constants).
            y_pred: predictions (a Tensor, to be differentiated).
            sample_weight: optional weights, one per sample or one per loss entry.

        Returns:
            A scalar Tensor (or the per-sample Tensor when `reduction` is `"none"`).
        """
        # the validity mask a masking layer left on the prediction (padded time steps)
        keras_mask = y_pred._keras_mask if isinstance(y_pred, Tensor) else None
        y_pred = as_prediction(y_pred)
        y_pred = as_prediction(y_pred, self._compute_dtype(y_pred))
        y_true = as_target(y_true, y_pred)
        values, mask = self.call_with_mask(y_true, y_pred)
        values = as_prediction(values)
        if keras_mask is not None:
            mask = keras_mask if mask is None else mask * keras_mask
        if sample_weight is None and mask is None:  # nothing to weight: straight to the reduction
            return reduce_values(values, None, self.reduction)
        return reduce_weighted_values(values, sample_weight, mask, self.reduction)

    def call(self, y_true, y_pred):
        """Per-sample losses as a Tensor. Subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__} must implement `call(y_true, y_pred)`.")

    def call_with_mask(self, y_true, y_pred):
        """`(per-sample losses, validity mask or None)`; the mask is a raw 0/1 array."""
        return self.call(y_true, y_pred), None

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction, "dtype": self._dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} reduction={self.reduction!r}>"


class LossFunctionWrapper(Loss):
    """Turns a function `fn(y_true, y_pred, **kwargs)` of per-sample losses into a `Loss`.

    The labels and predictions are first brought to the same rank (see
    `squeeze_or_expand_to_same_rank`), as Keras does for every built-in loss.

    Args:
        fn: the loss function.
        reduction: see `Loss`.
        name: name of the loss (the function's name by default).
        dtype: see `Loss`.
        **kwargs: extra keyword arguments passed to `fn`.
    """

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        if not callable(fn):
            raise TypeError(f"LossFunctionWrapper expects a callable `fn`, got {fn!r}.")
        super().__init__(name=name or getattr(fn, "__name__", None), reduction=reduction,
                         dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        config = super().get_config()
        config["fn"] = getattr(self.fn, "__name__", None)
        config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        fn = config.pop("fn", None)
        if isinstance(fn, str):
            from gkeras import losses

            resolved = losses._FUNCTIONS.get(fn)  # every built-in loss function by name
            if resolved is None:
                raise ValueError(
                    f"Cannot rebuild LossFunctionWrapper: unknown loss function {fn!r}. "
                    "Pass custom loss functions through `custom_objects`."
                )
            fn = resolved
        return cls(fn, **config)

    def __repr__(self):
        return f"<LossFunctionWrapper({getattr(self.fn, '__name__', self.fn)})>"
