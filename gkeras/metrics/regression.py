"""Regression, probabilistic and hinge metrics: running means of the loss functions.

Each class here is a `MeanMetricWrapper` around a function of `gkeras.losses` (evaluated
without recording a graph), except `RootMeanSquaredError` and the positive
`cosine_similarity`, which metrics define differently from losses.
"""

from gkeras import ops
from gkeras.autodiff import Tensor
from gkeras.losses import functions as L
from gkeras.losses.base import prepare
from gkeras.metrics.base import BuiltinMetricWrapper, Mean, data_backend, raw


def cosine_similarity(y_true, y_pred, axis=-1):
    """Cosine similarity `sum(l2_normalize(y_true) * l2_normalize(y_pred))` (in [-1, 1])."""
    return ops.negative(L.cosine_similarity(y_true, y_pred, axis=axis))



class MeanSquaredError(BuiltinMetricWrapper):
    """Running mean of `mean(square(y_true - y_pred), axis=-1)`.

    Args:
        name: name of the metric instance.
        dtype: dtype of the result.
    """

    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(L.mean_squared_error, name=name, dtype=dtype)


class MeanAbsoluteError(BuiltinMetricWrapper):
    """Running mean of `mean(abs(y_true - y_pred), axis=-1)`.

    Args:
        name: name of the metric instance.
        dtype: dtype of the result.
    """

    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(L.mean_absolute_error, name=name, dtype=dtype)


class MeanAbsolutePercentageError(BuiltinMetricWrapper):
    """Running mean of the absolute percentage error `100 * mean(abs((t - p) / t))`.

    Args:
        name: name of the metric instance.
        dtype: dtype of the result.
    """

    def __init__(self, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(L.mean_absolute_percentage_error, name=name, dtype=dtype)


class MeanSquaredLogarithmicError(BuiltinMetricWrapper):
    """Running mean of `mean(square(log(t + 1) - log(p + 1)))`.

    Args:
        name: name of the metric instance.
        dtype: dtype of the result.
    """

    def __init__(self, name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(L.mean_squared_logarithmic_error, name=name, dtype=dtype)


class LogCoshError(BuiltinMetricWrapper):
    """Running mean of `mean(log(cosh(y_pred - y_true)))`.

    Args:
        name: name of the metric instance.
        dtype: dtype of the result.
    """

    def __init__(self, name="logcosh", dtype=None):
        super().__init__(L.log_cosh, name=name, dtype=dtype)


class KLDivergence(BuiltinMetricWrapper):
    """Running mean of the Kullback-Leibler divergence `sum(t * log(t / p))`.

    Args:
        name: name of the metric instance.
        dtype: dtype of the result.
    """

    def __init__(self, name="kl_divergence", dtype=None):
        super().__init__(L.kl_divergence, name=name, dtype=dtype)


class Poisson(BuiltinMetricWrapper):
    """Running mean of the Poisson loss `mean(p - t * log(p))`.

    Args:
        name: name of the metric instance.
        dtype: dtype of the result.
    """

    def __init__(self, name="poisson", dtype=None):
        super().__init__(L.poisson, name=name, dtype=dtype)


class Hinge(BuiltinMetricWrapper):
    """Running mean of the hinge loss `mean(maximum(1 - t * p, 0))`.

    Args:
        name: name of the metric instance.
        dtype: dtype of the result.
    """

    def __init__(self, name="hinge", dtype=None):
        super().__init__(L.hinge, name=name, dtype=dtype)


class SquaredHinge(BuiltinMetricWrapper):
    """Running mean of the squared hinge loss.

    Args:
        name: name of the metric instance.
        dtype: dtype of the result.
    """

    def __init__(self, name="squared_hinge", dtype=None):
        super().__init__(L.squared_hinge, name=name, dtype=dtype)


class CategoricalHinge(BuiltinMetricWrapper):
    """Running mean of the categorical hinge loss.

    Args:
        name: name of the metric instance.
        dtype: dtype of the result.
    """

    def __init__(self, name="categorical_hinge", dtype=None):
        super().__init__(L.categorical_hinge, name=name, dtype=dtype)


class RootMeanSquaredError(Mean):
    """`sqrt` of the running mean of squared errors.

    Args:
        name: name of the metric instance.
        dtype: dtype of the result.
    """

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Adds the squared errors of one batch (weighted) to the running mean."""
        bk = self._follow(y_pred, y_true)
        y_true, y_pred = prepare(raw(y_true, bk), raw(y_pred, bk))
        error = y_pred.data - y_true.data
        super().update_state(error * error, sample_weight=sample_weight)

    def result(self):
        mean = super().result().data
        return Tensor(data_backend(mean).xp.sqrt(mean))


class CosineSimilarity(BuiltinMetricWrapper):
    """Running mean of the cosine similarity between labels and predictions.

    Args:
        name: name of the metric instance.
        dtype: dtype of the result.
        axis: the axis along which the similarity is computed.
    """

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        super().__init__(cosine_similarity, name=name, dtype=dtype, axis=axis)


class BinaryCrossentropy(BuiltinMetricWrapper):
    """Running mean of the binary crossentropy.

    Args:
        name: name of the metric instance.
        dtype: dtype of the result.
        from_logits: whether predictions are logits.
        label_smoothing: in [0, 1], as in the loss.
    """

    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0):
        super().__init__(L.binary_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing)


class CategoricalCrossentropy(BuiltinMetricWrapper):
    """Running mean of the categorical crossentropy.

    Args:
        name: name of the metric instance.
        dtype: dtype of the result.
        from_logits: whether predictions are logits.
        label_smoothing: in [0, 1], as in the loss.
        axis: the class axis.
    """

    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0, axis=-1):
        super().__init__(L.categorical_crossentropy, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(BuiltinMetricWrapper):
    """Running mean of the sparse categorical crossentropy.

    Args:
        name: name of the metric instance.
        dtype: dtype of the result.
        from_logits: whether predictions are logits.
        axis: the class axis.
    """

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False,
                 axis=-1):
        super().__init__(L.sparse_categorical_crossentropy, name=name, dtype=dtype,
                         from_logits=from_logits, axis=axis)
