"""Normalisation layers: `BatchNormalization` and `LayerNormalization`."""

import numpy as np

from gkeras import constraints, initializers, ops, regularizers
from gkeras.autodiff import no_grad
from gkeras.layers.layer import InputSpec, Layer
from gkeras.ops.nn import update_moving_average


def _normalize_axes(axis, ndim, layer_name):
    """Positive, sorted axes from an int or a list of ints, checked against `ndim`."""
    axes = [axis] if isinstance(axis, (int, np.integer)) else list(axis)
    out = []
    for a in axes:
        if not isinstance(a, (int, np.integer)) or not -ndim <= a < ndim:
            raise ValueError(
                f"Layer '{layer_name}': invalid axis {a!r} for an input of rank {ndim}. "
                f"Expected integers in [{-ndim}, {ndim})."
            )
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"Layer '{layer_name}': duplicate axes in axis={axis!r}.")
    return tuple(sorted(out))


def _check_axis_arg(axis, layer_name):
    if isinstance(axis, (int, np.integer)) and not isinstance(axis, bool):
        return int(axis)
    if isinstance(axis, (list, tuple)) and axis and all(
            isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in axis):
        return [int(a) for a in axis]
    raise TypeError(
        f"Layer '{layer_name}': expected an int or a non-empty list of ints for `axis`. "
        f"Received: axis={axis!r}."
    )


class _Normalization(Layer):
    """Weight creation shared by both normalisations: gamma / beta over `self.axes`."""

    supports_masking = True  # works per time step: the input's mask still holds

    def _param_shapes(self, input_shape, kind):
        ndim = len(input_shape)
        self.axes = _normalize_axes(self.axis, ndim, self.name)
        param_shape = tuple(input_shape[a] for a in self.axes)
        if any(d is None for d in param_shape):
            raise ValueError(
                f"Layer '{self.name}': the normalised axes {self.axes} of the input must have "
                f"known sizes for {kind}. Received input shape {tuple(input_shape)}."
            )
        broadcast = [1] * ndim
        for a in self.axes:
            broadcast[a] = input_shape[a]
        self._broadcast_shape = tuple(broadcast)
        self._trailing = self.axes == tuple(range(ndim - len(self.axes), ndim))
        self.input_spec = InputSpec(ndim=ndim, axes={a: input_shape[a] for a in self.axes})
        return param_shape

    def _add_gamma_beta(self, param_shape, want_gamma, want_beta):
        self.gamma = None
        self.beta = None
        if want_gamma:
            self.gamma = self.add_weight(
                shape=param_shape, initializer=self.gamma_initializer,
                regularizer=self.gamma_regularizer, constraint=self.gamma_constraint,
                name="gamma")
        if want_beta:
            self.beta = self.add_weight(
                shape=param_shape, initializer=self.beta_initializer,
                regularizer=self.beta_regularizer, constraint=self.beta_constraint, name="beta")

    def _broadcast(self, value):
        """Reshapes a parameter of the normalised axes so it broadcasts against the input."""
        if value is None or self._trailing:
            return value  # trailing axes broadcast as they are
        return ops.reshape(value, self._broadcast_shape)

    def _common_config(self):
        return dict(
            axis=self.axis,
            epsilon=self.epsilon,
            center=self.center,
            scale=self.scale,
            beta_initializer=initializers.serialize(self.beta_initializer),
            gamma_initializer=initializers.serialize(self.gamma_initializer),
            beta_regularizer=regularizers.serialize(self.beta_regularizer),
            gamma_regularizer=regularizers.serialize(self.gamma_regularizer),
            beta_constraint=constraints.serialize(self.beta_constraint),
            gamma_constraint=constraints.serialize(self.gamma_constraint),
        )

    def _store_common(self, axis, epsilon, center, scale, beta_initializer, gamma_initializer,
                      beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint):
        self.axis = _check_axis_arg(axis, self.name)
        self.epsilon = float(epsilon)
        if self.epsilon < 0:
            raise ValueError(
                f"Layer '{self.name}': `epsilon` must be non-negative. Received: "
                f"epsilon={epsilon!r}."
            )
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


class BatchNormalization(_Normalization):
    """Normalises inputs with batch statistics in training and moving statistics in inference.

    In training (`training=True` and the layer trainable) the output is
    `gamma * (x - mean(x)) / sqrt(var(x) + epsilon) + beta` with the statistics of the current
    batch, and the moving statistics are updated in place:
    `moving = moving * momentum + batch_statistic * (1 - momentum)`.
    In inference the moving statistics are used instead. As in Keras 3, a layer with
    `trainable = False` always runs in inference mode.

    Args:
        axis: int or list of ints, the feature axis (or axes) kept; statistics are taken over
            the others. Default `-1` (channels last).
        momentum: momentum of the moving averages (default 0.99).
        epsilon: small float added to the variance (default 1e-3).
        center: whether to add the learned offset `beta`.
        scale: whether to multiply by the learned scale `gamma`.
        beta_initializer, gamma_initializer: initialisers (`zeros`, `ones`).
        moving_mean_initializer, moving_variance_initializer: initialisers (`zeros`, `ones`).
        beta_regularizer, gamma_regularizer: optional penalties.
        beta_constraint, gamma_constraint: optional constraints.
        synchronized: accepted for Keras compatibility; statistics are always per replica.

    Call arguments:
        inputs: input tensor of any rank.
        training: use batch statistics and update the moving ones (`True`) or use the moving
            statistics (`False`, the default outside `fit`).
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, synchronized=False, **kwargs):
        super().__init__(**kwargs)
        self._store_common(axis, epsilon, center, scale, beta_initializer, gamma_initializer,
                           beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint)
        self.momentum = float(momentum)
        if not 0 <= self.momentum <= 1:
            raise ValueError(
                f"Layer '{self.name}': `momentum` must be in [0, 1]. Received: "
                f"momentum={momentum!r}."
            )
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.synchronized = bool(synchronized)

    def build(self, input_shape):
        param_shape = self._param_shapes(input_shape, "BatchNormalization")
        self._add_gamma_beta(param_shape, self.scale, self.center)
        self.moving_mean = self.add_weight(
            shape=param_shape, initializer=self.moving_mean_initializer, trainable=False,
            name="moving_mean")
        self.moving_variance = self.add_weight(
            shape=param_shape, initializer=self.moving_variance_initializer, trainable=False,
            name="moving_variance")
        # fixed stand-ins for a disabled gamma / beta, so one code path serves every case
        self._unit = ops.convert_to_tensor(np.ones(self._broadcast_shape, self.dtype))
        self._zero = ops.convert_to_tensor(np.zeros(self._broadcast_shape, self.dtype))
        self.built = True

    def _gamma_beta(self):
        gamma = self._broadcast(self.gamma) if self.gamma is not None else self._unit
        beta = self._broadcast(self.beta) if self.beta is not None else self._zero
        return gamma, beta

    _traceable_call = True  # see Layer._traceable_call

    def call(self, inputs, training=False):
        gamma, beta = self._gamma_beta()
        if not (training and self.trainable):
            return ops.batch_normalization(
                inputs, self._broadcast(self.moving_mean), self._broadcast(self.moving_variance),
                offset=beta, scale=gamma, epsilon=self.epsilon)
        if len(self.axes) == 1:
            y, mean, variance = ops.batch_norm(inputs, gamma, beta, axis=self.axes[0],
                                               epsilon=self.epsilon)
        else:
            reduce = tuple(a for a in range(inputs.ndim) if a not in self.axes)
            mean = ops.mean(inputs, axis=reduce, keepdims=True)
            centered = ops.subtract(inputs, mean)
            variance = ops.mean(ops.square(centered), axis=reduce, keepdims=True)
            y = ops.add(ops.multiply(
                ops.divide(centered, ops.sqrt(ops.add(variance, self.epsilon))), gamma), beta)
        self._update_moving_statistics(mean, variance)
        return y

    def _update_moving_statistics(self, mean, variance):
        # an in-place update of non-trainable state, as an op so replayed steps repeat it
        with no_grad():
            update_moving_average(self.moving_mean, mean, self.momentum)
            update_moving_average(self.moving_variance, variance, self.momentum)

    def get_config(self):
        config = super().get_config()
        config.update(self._common_config())
        config.update(
            momentum=self.momentum,
            moving_mean_initializer=initializers.serialize(self.moving_mean_initializer),
            moving_variance_initializer=initializers.serialize(self.moving_variance_initializer),
            synchronized=self.synchronized,
        )
        return config


class LayerNormalization(_Normalization):
    """Normalises each sample over `axis`: `gamma * (x - mean) / sqrt(var + epsilon) + beta`.

    The statistics are per sample, so training and inference behave the same.

    Args:
        axis: int or list of ints, the axes normalised over (default `-1`).
        epsilon: small float added to the variance (default 1e-3).
        center: whether to add the learned offset `beta`.
        scale: whether to multiply by the learned scale `gamma`.
        rms_scaling: if `True`, `center` and `scale` are ignored and the inputs are divided by
            `sqrt(variance + epsilon)` (no centering), then multiplied by `gamma`. This is
            Keras's formula (it uses the variance, not the mean square of a true RMS norm),
            kept so models from Keras give the same outputs.
        beta_initializer, gamma_initializer: initialisers (`zeros`, `ones`).
        beta_regularizer, gamma_regularizer: optional penalties.
        beta_constraint, gamma_constraint: optional constraints.
    """

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, rms_scaling=False,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 **kwargs):
        super().__init__(**kwargs)
        self._store_common(axis, epsilon, center, scale, beta_initializer, gamma_initializer,
                           beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint)
        self.rms_scaling = bool(rms_scaling)

    def build(self, input_shape):
        param_shape = self._param_shapes(input_shape, "LayerNormalization")
        self._add_gamma_beta(param_shape, self.scale or self.rms_scaling,
                             self.center and not self.rms_scaling)
        self.built = True

    _traceable_call = True  # see Layer._traceable_call

    def call(self, inputs):
        gamma, beta = self._broadcast(self.gamma), self._broadcast(self.beta)
        if self.rms_scaling:
            centered = ops.subtract(inputs, ops.mean(inputs, axis=self.axes, keepdims=True))
            variance = ops.mean(ops.square(centered), axis=self.axes, keepdims=True)
            return ops.multiply(
                ops.divide(inputs, ops.sqrt(ops.add(variance, self.epsilon))), gamma)
        return ops.layer_norm(inputs, gamma, beta, axis=self.axes, epsilon=self.epsilon)

    def get_config(self):
        config = super().get_config()
        config.update(self._common_config())
        config["rms_scaling"] = self.rms_scaling
        return config
