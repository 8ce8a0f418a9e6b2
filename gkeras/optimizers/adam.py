"""The Adam family: `Adam`, `AdamW`, `Adamax`, `Nadam` (Keras 3's update formulas).

Each update step works in place and needs one temporary array the size of the variable.
"""

import numpy as np

from gkeras.backend import backend_of
from gkeras.optimizers.base import Optimizer, _zeros_like


class _Moments(Optimizer):
    """Shared constructor of optimizers with `beta_1`, `beta_2` and `epsilon`."""

    def __init__(self, learning_rate, beta_1, beta_2, epsilon, name, **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def _update_moments(self, gradient, m, v, tmp):
        """m += (g - m)(1 - b1); v += (g^2 - v)(1 - b2); leaves garbage in `tmp`."""
        xp = backend_of(gradient).xp
        xp.subtract(gradient, m, out=tmp)
        tmp *= 1 - self.beta_1
        m += tmp
        xp.multiply(gradient, gradient, out=tmp)
        tmp -= v
        tmp *= 1 - self.beta_2
        v += tmp

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config


class Adam(_Moments):
    """Adam: gradient descent scaled by running estimates of the first and second moments.

    With `t` the 1-based step:

    ```
    m += (g - m) * (1 - beta_1)
    v += (g^2 - v) * (1 - beta_2)
    w -= lr * sqrt(1 - beta_2^t) / (1 - beta_1^t) * m / (sqrt(v) + epsilon)
    ```

    (epsilon is added to `sqrt(v)` after the bias correction is folded into the rate, as in
    Keras; with `amsgrad`, `v` is replaced by its running maximum.)

    Args:
        learning_rate: float, schedule or callable; 0.001 by default.
        beta_1: decay of the first-moment estimate.
        beta_2: decay of the second-moment estimate.
        epsilon: small constant for numerical stability (Keras's 1e-7).
        amsgrad: whether to use the AMSGrad variant.
        name: name of the optimizer.
        **kwargs: the common arguments of `Optimizer`.
    """

    _elementwise_update = True  # the rule may run on all variables at once (flat.py)

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name="adam", **kwargs):
        common = dict(weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
                      global_clipnorm=global_clipnorm, use_ema=use_ema,
                      ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                      loss_scale_factor=loss_scale_factor,
                      gradient_accumulation_steps=gradient_accumulation_steps)
        super().__init__(learning_rate, beta_1, beta_2, epsilon, name, **common, **kwargs)
        self.amsgrad = bool(amsgrad)

    def build_slots(self, variable):
        slots = {"momentum": _zeros_like(variable), "velocity": _zeros_like(variable)}
        if self.amsgrad:
            slots["velocity_hat"] = _zeros_like(variable)
        return slots

    def update_step(self, gradient, variable, slots, learning_rate):
        xp = backend_of(variable).xp
        t = self._local_step
        alpha = learning_rate * (1 - self.beta_2 ** t) ** 0.5 / (1 - self.beta_1 ** t)
        m, v = slots["momentum"], slots["velocity"]
        tmp = xp.empty_like(variable)
        self._update_moments(gradient, m, v, tmp)
        if self.amsgrad:
            xp.maximum(slots["velocity_hat"], v, out=slots["velocity_hat"])
            v = slots["velocity_hat"]
        xp.sqrt(v, out=tmp)
        tmp += self.epsilon
        xp.divide(m, tmp, out=tmp)
        tmp *= alpha
        variable -= tmp  # w -= alpha * m / (sqrt(v) + eps)

    def get_config(self):
        config = super().get_config()
        config["amsgrad"] = self.amsgrad
        return config


class AdamW(Adam):
    """Adam with decoupled weight decay (`w -= w * weight_decay * lr` before each step).

    Args:
        learning_rate: float, schedule or callable; 0.001 by default.
        weight_decay: the decay rate, 0.004 by default (must not be `None`).
        beta_1, beta_2, epsilon, amsgrad: as in `Adam`.
        name: name of the optimizer.
        **kwargs: the common arguments of `Optimizer`.
    """

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name="adamw", **kwargs):
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, amsgrad=amsgrad, weight_decay=weight_decay,
                         clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name,
                         **kwargs)
        if self.weight_decay is None:
            raise ValueError("Argument `weight_decay` must be a float. Received: weight_decay=None")


class Adamax(_Moments):
    """Adamax: Adam with the infinity norm in place of the second moment.

    ```
    m += (g - m) * (1 - beta_1)
    u = max(beta_2 * u, |g|)
    w -= lr * m / ((1 - beta_1^t) * (u + epsilon))
    ```

    Args:
        learning_rate: float, schedule or callable; 0.001 by default.
        beta_1: decay of the first-moment estimate.
        beta_2: decay of the infinity norm.
        epsilon: small constant for numerical stability.
        name: name of the optimizer.
        **kwargs: the common arguments of `Optimizer`.
    """

    _elementwise_update = True  # the rule may run on all variables at once (flat.py)

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 name="adamax", **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, name, **kwargs)

    def build_slots(self, variable):
        return {"m": _zeros_like(variable), "u": _zeros_like(variable)}

    def update_step(self, gradient, variable, slots, learning_rate):
        xp = backend_of(variable).xp
        correction = 1 - self.beta_1 ** self._local_step
        m, u = slots["m"], slots["u"]
        tmp = xp.subtract(gradient, m)
        tmp *= 1 - self.beta_1
        m += tmp
        u *= self.beta_2
        xp.abs(gradient, out=tmp)
        xp.maximum(u, tmp, out=u)
        xp.add(u, self.epsilon, out=tmp)
        tmp *= correction
        xp.divide(m, tmp, out=tmp)
        tmp *= learning_rate
        variable -= tmp


class Nadam(_Moments):
    """Nadam: Adam with Nesterov momentum (Keras's momentum-schedule formulation).

    With `u_t = beta_1 (1 - 0.5 * 0.96^t)` and the running product `U_t = u_1 ... u_t`:

    ```
    m_hat = u_{t+1} m / (1 - U_t u_{t+1}) + (1 - u_t) g / (1 - U_t)
    v_hat = v / (1 - beta_2^t)
    w -= lr * m_hat / (sqrt(v_hat) + epsilon)
    ```

    Args:
        learning_rate: float, schedule or callable; 0.001 by default.
        beta_1: decay of the first-moment estimate.
        beta_2: decay of the second-moment estimate.
        epsilon: small constant for numerical stability.
        name: name of the optimizer.
        **kwargs: the common arguments of `Optimizer`.
    """

    _elementwise_update = True  # the rule may run on all variables at once (flat.py)

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 name="nadam", **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, name, **kwargs)

    def build_global(self, var_list):
        # the running product U_t lives on the host: it is a scalar the update reads as such
        self._global_slots["u_product"] = np.ones((), dtype=np.float64)

    def _u(self, step):
        return self.beta_1 * (1.0 - 0.5 * 0.96 ** step)

    def before_update_steps(self, learning_rate):
        self._global_slots["u_product"] *= self._u(self._local_step)

    def update_step(self, gradient, variable, slots, learning_rate):
        xp = backend_of(variable).xp
        t = self._local_step
        u_t, u_next = self._u(t), self._u(t + 1)
        u_product = float(self._global_slots["u_product"])
        m, v = slots["momentum"], slots["velocity"]
        tmp = xp.empty_like(variable)
        self._update_moments(gradient, m, v, tmp)
        xp.divide(v, 1 - self.beta_2 ** t, out=tmp)
        xp.sqrt(tmp, out=tmp)
        tmp += self.epsilon
        m_hat = m * (u_next / (1 - u_product * u_next))
        m_hat += gradient * ((1 - u_t) / (1 - u_product))
        m_hat /= tmp
        m_hat *= learning_rate
        variable -= m_hat

    def build_slots(self, variable):
        return {"momentum": _zeros_like(variable), "velocity": _zeros_like(variable)}
