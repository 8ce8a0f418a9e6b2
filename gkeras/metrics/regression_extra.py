"""`R2Score` (`keras.metrics.R2Score`): the coefficient of determination, accumulated over
batches from per-output sums on the device of the data."""

import numbers
import warnings

import numpy as np

from gkeras.autodiff import Tensor
from gkeras.metrics.base import Metric, as_dtype, raw, squeeze_or_expand_raw

_AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")


class R2Score(Metric):
    """R^2 `1 - sum((y - p)^2) / sum((y - mean(y))^2)` per output, optionally adjusted.

    The sums are weighted by `sample_weight` and run over every batch seen since the last
    `reset_state`.

    Args:
        class_aggregation: how the per-output scores combine: `"uniform_average"` (their
            mean, the default), `"variance_weighted_average"` (weighted by each output's
            total sum of squares) or `None` (one score per output).
        num_regressors: the number of independent regressors `p`; when > 0 the adjusted
            score `1 - (1 - R^2) (n - 1) / (n - p - 1)` is returned, with `n` the number of
            entries seen (Keras counts every entry of `y_true`). Falls back to the plain
            score, with a warning, when `p >= n - 1`.
        name: name of the metric instance.
        dtype: dtype of the state and the result.

    Example:

    >>> m = R2Score()
    >>> m.update_state([[1.0], [4.0], [3.0]], [[2.0], [4.0], [4.0]])
    >>> float(m.result())
    0.5714...
    """

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name="r2_score",
                 dtype=None):
        super().__init__(name=name, dtype=dtype)
        if class_aggregation not in _AGGREGATIONS:
            raise ValueError(
                "Invalid value for argument `class_aggregation`. Expected one of "
                f"{_AGGREGATIONS}. Received: class_aggregation={class_aggregation!r}"
            )
        if isinstance(num_regressors, bool) or not isinstance(num_regressors, numbers.Real) \
                or num_regressors < 0:
            raise ValueError(
                "Invalid value for argument `num_regressors`. Expected a value >= 0. "
                f"Received: num_regressors={num_regressors!r}"
            )
        self.class_aggregation, self.num_regressors = class_aggregation, num_regressors
        self.num_samples = self.add_variable(shape=(), name="num_samples")
        self._built = False

    def _build(self, num_outputs):
        shape = (num_outputs,)
        self.squared_sum = self.add_variable(shape=shape, name="squared_sum")
        self.sum = self.add_variable(shape=shape, name="sum")
        self.total_mse = self.add_variable(shape=shape, name="residual")
        self.count = self.add_variable(shape=shape, name="count")
        self._num_outputs = num_outputs
        self._built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Adds the batch's weighted sums of `y`, `y^2`, `(y - p)^2` and of the weights.

        Args:
            y_true: targets of shape `(batch_size, num_outputs)` (`(batch_size,)` when
                `y_pred` is `(batch_size, 1)`).
            y_pred: predictions of the same shape.
            sample_weight: optional weights, `(batch_size,)` or broadcastable to `y_true`.
        """
        bk = self._follow(y_pred, y_true)
        xp, dtype = bk.xp, as_dtype(self._dtype)
        y_true = raw(y_true, bk).astype(dtype, copy=False)
        y_pred = raw(y_pred, bk).astype(dtype, copy=False)
        y_true, y_pred = squeeze_or_expand_raw(y_true, y_pred)
        if y_true.ndim != 2 or y_pred.ndim != 2:
            raise ValueError(
                "R2Score expects 2D inputs with shape (batch_size, output_dim). Received "
                f"input shapes: y_pred.shape={tuple(y_pred.shape)} and "
                f"y_true.shape={tuple(y_true.shape)}."
            )
        if y_true.shape != y_pred.shape:
            raise ValueError(
                f"R2Score: `y_true` and `y_pred` must have the same shape. Received: "
                f"y_true.shape={tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}"
            )
        if not self._built:
            self._build(y_pred.shape[-1])
            bk = self._follow(y_pred)
        elif y_pred.shape[-1] != self._num_outputs:
            raise ValueError(
                f"R2Score was built for {self._num_outputs} outputs; received "
                f"y_pred.shape={tuple(y_pred.shape)}."
            )
        if sample_weight is None:
            weights = xp.ones_like(y_true)
        else:
            weights = raw(sample_weight, bk).astype(dtype, copy=False)
            if weights.ndim == 1:
                weights = weights[:, None]  # one weight per sample covers every output
            try:
                weights = xp.broadcast_to(weights, y_true.shape)
            except ValueError:
                raise ValueError(
                    f"sample_weight of shape {tuple(raw(sample_weight).shape)} cannot be "
                    f"broadcast to y_true of shape {tuple(y_true.shape)}."
                ) from None
        weighted = y_true * weights
        self.sum.data += weighted.sum(axis=0)
        self.squared_sum.data += (y_true * weighted).sum(axis=0)
        self.total_mse.data += ((y_true - y_pred) ** 2 * weights).sum(axis=0)
        self.count.data += weights.sum(axis=0)
        self.num_samples.data += y_true.size

    def result(self):
        """The (adjusted) R^2 score; NaN before any batch."""
        dtype = as_dtype(self._dtype)
        if not self._built:
            return Tensor(np.full((), np.nan, dtype=dtype))
        # an output with no spread gives 0 (x / 0 = inf) or NaN (0 / 0), as in Keras: the
        # NumPy warnings for those divisions are expected, not errors
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = self.sum.data / self.count.data
            total = self.squared_sum.data - self.sum.data * mean
            scores = 1 - self.total_mse.data / total
            xp = _xp(scores)
            scores = xp.where(xp.isinf(scores), 0.0, scores).astype(dtype, copy=False)
            if self.class_aggregation == "uniform_average":
                score = scores.mean()
            elif self.class_aggregation == "variance_weighted_average":
                score = (total * scores).sum() / total.sum()
            else:
                score = scores
            if self.num_regressors:
                score = self._adjust(score)
        return Tensor(score.astype(dtype, copy=False))

    def _adjust(self, score):
        n = float(self.num_samples.data)  # one host read, only for the adjusted score
        p = float(self.num_regressors)
        if p > n - 1:
            warnings.warn("More independent predictors than datapoints in adjusted R2 score. "
                          "Falling back to standard R2 score.", stacklevel=3)
            return score
        if p == n - 1:
            warnings.warn("Division by zero in Adjusted R2 score. Falling back to standard "
                          "R2 score.", stacklevel=3)
            return score
        return 1 - (1 - score) * (n - 1) / (n - p - 1)

    def get_config(self):
        return {**super().get_config(), "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}


def _xp(array):
    from gkeras.backend import backend_of

    return backend_of(array).xp
