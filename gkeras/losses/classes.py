"""Loss classes (`keras.losses.<Name>`): a loss function with its options and a reduction."""

from gkeras.losses import functions as F
from gkeras.losses.base import Loss, LossFunctionWrapper

_REDUCTION_DOC = """reduction: `"sum_over_batch_size"` (default), `"sum"`, `"mean"`,
            `"mean_with_sample_weight"` or `"none"`/`None`; see `gkeras.losses.Loss`.
        name: name of the loss instance.
        dtype: dtype of the computation (see `gkeras.losses.Loss`)."""


class _Wrapped(LossFunctionWrapper):
    """A built-in loss: its config lists its own options, not the wrapped function."""

    def get_config(self):
        config = Loss.get_config(self)
        config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    __repr__ = Loss.__repr__


class BinaryCrossentropy(_Wrapped):
    """Crossentropy between binary labels and predicted probabilities (or logits).

    Args:
        from_logits: whether predictions are logits (no sigmoid applied yet).
        label_smoothing: in [0, 1]; labels become `y * (1 - s) + 0.5 * s`.
        axis: axis to average over (default -1).
        {reduction}

    Example:

    >>> loss = BinaryCrossentropy()
    >>> loss([0.0, 1.0], [[0.1], [0.8]])   # labels (N,) line up with predictions (N, 1)
    """

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="binary_crossentropy", dtype=None):
        _check_smoothing(label_smoothing, name)
        super().__init__(F.binary_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis


class CategoricalCrossentropy(_Wrapped):
    """Crossentropy between one-hot targets and predicted distributions (or logits).

    Args:
        from_logits: whether predictions are logits (no softmax applied yet).
        label_smoothing: in [0, 1]; targets become `y * (1 - s) + s / num_classes`.
        axis: the class axis (the last one).
        {reduction}
    """

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="categorical_crossentropy", dtype=None):
        _check_smoothing(label_smoothing, name)
        super().__init__(F.categorical_crossentropy, reduction=reduction, name=name,
                         dtype=dtype, from_logits=from_logits, label_smoothing=label_smoothing,
                         axis=axis)
        self.from_logits, self.label_smoothing, self.axis = from_logits, label_smoothing, axis


class SparseCategoricalCrossentropy(_Wrapped):
    """Crossentropy between integer class ids and predicted distributions (or logits).

    Args:
        from_logits: whether predictions are logits (no softmax applied yet).
        ignore_class: optional class id to leave out (its entries count neither in the sum
            nor in the number the mean divides by).
        axis: the class axis (the last one).
        {reduction}
    """

    def __init__(self, from_logits=False, ignore_class=None, axis=-1,
                 reduction="sum_over_batch_size", name="sparse_categorical_crossentropy",
                 dtype=None):
        super().__init__(F.sparse_categorical_crossentropy, reduction=reduction, name=name,
                         dtype=dtype, from_logits=from_logits, ignore_class=ignore_class,
                         axis=axis)
        self.from_logits, self.ignore_class, self.axis = from_logits, ignore_class, axis

    def call_with_mask(self, y_true, y_pred):
        return F._sparse_crossentropy_with_mask(y_true, y_pred, self.from_logits,
                                                self.ignore_class, self.axis)

    def call(self, y_true, y_pred):
        return self.call_with_mask(y_true, y_pred)[0]


class MeanSquaredError(_Wrapped):
    """Mean of squares of errors: `mean(square(y_true - y_pred))`.

    Args:
        {reduction}
    """

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error", dtype=None):
        super().__init__(F.mean_squared_error, reduction=reduction, name=name, dtype=dtype)


class MeanAbsoluteError(_Wrapped):
    """Mean of absolute errors: `mean(abs(y_true - y_pred))`.

    Args:
        {reduction}
    """

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_error", dtype=None):
        super().__init__(F.mean_absolute_error, reduction=reduction, name=name, dtype=dtype)


class MeanAbsolutePercentageError(_Wrapped):
    """`100 * mean(abs((y_true - y_pred) / y_true))` (denominator at least epsilon).

    Args:
        {reduction}
    """

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_percentage_error",
                 dtype=None):
        super().__init__(F.mean_absolute_percentage_error, reduction=reduction, name=name,
                         dtype=dtype)


class MeanSquaredLogarithmicError(_Wrapped):
    """`mean(square(log(y_true + 1) - log(y_pred + 1)))` (values below epsilon raised to it).

    Args:
        {reduction}
    """

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_logarithmic_error",
                 dtype=None):
        super().__init__(F.mean_squared_logarithmic_error, reduction=reduction, name=name,
                         dtype=dtype)


class CosineSimilarity(_Wrapped):
    """Negative cosine similarity between targets and predictions (in [-1, 1]).

    Args:
        axis: the axis along which the similarity is computed.
        {reduction}
    """

    def __init__(self, axis=-1, reduction="sum_over_batch_size", name="cosine_similarity",
                 dtype=None):
        super().__init__(F.cosine_similarity, reduction=reduction, name=name, dtype=dtype,
                         axis=axis)
        self.axis = axis


class Huber(_Wrapped):
    """Huber loss: quadratic for errors up to `delta`, linear beyond.

    Args:
        delta: the point where the loss turns from quadratic to linear.
        {reduction}
    """

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss",
                 dtype=None):
        super().__init__(F.huber, reduction=reduction, name=name, dtype=dtype, delta=delta)
        self.delta = delta


class LogCosh(_Wrapped):
    """Logarithm of the hyperbolic cosine of the prediction error.

    Args:
        {reduction}
    """

    def __init__(self, reduction="sum_over_batch_size", name="log_cosh", dtype=None):
        super().__init__(F.log_cosh, reduction=reduction, name=name, dtype=dtype)


class KLDivergence(_Wrapped):
    """Kullback-Leibler divergence `sum(y_true * log(y_true / y_pred))`.

    Args:
        {reduction}
    """

    def __init__(self, reduction="sum_over_batch_size", name="kl_divergence", dtype=None):
        super().__init__(F.kl_divergence, reduction=reduction, name=name, dtype=dtype)


class Poisson(_Wrapped):
    """Poisson loss `mean(y_pred - y_true * log(y_pred))`.

    Args:
        {reduction}
    """

    def __init__(self, reduction="sum_over_batch_size", name="poisson", dtype=None):
        super().__init__(F.poisson, reduction=reduction, name=name, dtype=dtype)


class Hinge(_Wrapped):
    """Hinge loss `mean(maximum(1 - y_true * y_pred, 0))` (labels -1/1, or 0/1 converted).

    Args:
        {reduction}
    """

    def __init__(self, reduction="sum_over_batch_size", name="hinge", dtype=None):
        super().__init__(F.hinge, reduction=reduction, name=name, dtype=dtype)


class SquaredHinge(_Wrapped):
    """Squared hinge loss `mean(square(maximum(1 - y_true * y_pred, 0)))`.

    Args:
        {reduction}
    """

    def __init__(self, reduction="sum_over_batch_size", name="squared_hinge", dtype=None):
        super().__init__(F.squared_hinge, reduction=reduction, name=name, dtype=dtype)


class CategoricalHinge(_Wrapped):
    """Categorical hinge loss `maximum(neg - pos + 1, 0)` for one-hot targets.

    Args:
        {reduction}
    """

    def __init__(self, reduction="sum_over_batch_size", name="categorical_hinge", dtype=None):
        super().__init__(F.categorical_hinge, reduction=reduction, name=name, dtype=dtype)


def _check_smoothing(value, name):
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name}: `label_smoothing` must be in [0, 1]. Received: {value!r}")


for _cls in (BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy,
             MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
             MeanSquaredLogarithmicError, CosineSimilarity, Huber, LogCosh, KLDivergence,
             Poisson, Hinge, SquaredHinge, CategoricalHinge):
    _cls.__doc__ = _cls.__doc__.replace("{reduction}", _REDUCTION_DOC)
del _cls
