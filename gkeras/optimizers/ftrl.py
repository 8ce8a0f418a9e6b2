"""`Ftrl` (Follow The Regularized Leader, McMahan et al. 2013) with Keras 3's update rule,
including its L1 / L2 / L2-shrinkage regularization and `beta`."""

import numbers

from gkeras.backend import backend_of
from gkeras.optimizers.base import Optimizer, _zeros_like


class Ftrl(Optimizer):
    """FTRL-proximal: per-coordinate rates, with L1 regularization giving exact zeros.

    With `n` the accumulator and `z` the linear slot, `p = -learning_rate_power`:

    ```
    g_s = g + 2 * l2_shrinkage * w
    n_new = n + g^2
    z += g_s - (n_new^p - n^p) / lr * w
    quadratic = n_new^p / lr + 2 * (l2 + beta / (2 * lr))
    w = (clip(z, -l1, l1) - z) / quadratic
    n = n_new
    ```

    Args:
        learning_rate: float, schedule or callable; 0.001 by default.
        learning_rate_power: <= 0; how the rate decays with the accumulated squared
            gradients (-0.5: Adagrad-like, 0: a fixed rate).
        initial_accumulator_value: starting value of the accumulators, >= 0.
        l1_regularization_strength: >= 0.
        l2_regularization_strength: >= 0 (the stabilization penalty).
        l2_shrinkage_regularization_strength: >= 0 (the magnitude penalty on the weights,
            added to the gradient).
        beta: added to the L2 strength as `beta / (2 * lr)`, as in the paper.
        name: name of the optimizer.
        **kwargs: the common arguments of `Optimizer` (`weight_decay`, `clipnorm`, ...).
    """

    _elementwise_update = True  # the rule may run on all variables at once (flat.py)

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5,
                 initial_accumulator_value=0.1, l1_regularization_strength=0.0,
                 l2_regularization_strength=0.0, l2_shrinkage_regularization_strength=0.0,
                 beta=0.0, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name="ftrl", **kwargs):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay,
                         clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name,
                         **kwargs)
        args = {"learning_rate_power": learning_rate_power,
                "initial_accumulator_value": initial_accumulator_value,
                "l1_regularization_strength": l1_regularization_strength,
                "l2_regularization_strength": l2_regularization_strength,
                "l2_shrinkage_regularization_strength": l2_shrinkage_regularization_strength,
                "beta": beta}
        for arg, value in args.items():
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise ValueError(f"`{arg}` must be a float. Received: {arg}={value!r}")
        if learning_rate_power > 0.0:
            raise ValueError("`learning_rate_power` needs to be negative or zero. Received: "
                             f"learning_rate_power={learning_rate_power}.")
        for arg in ("initial_accumulator_value", "l1_regularization_strength",
                    "l2_regularization_strength", "l2_shrinkage_regularization_strength"):
            if args[arg] < 0.0:
                raise ValueError(f"`{arg}` needs to be positive or zero. Received: "
                                 f"{arg}={args[arg]}.")
        self.learning_rate_power = learning_rate_power
        self.initial_accumulator_value = initial_accumulator_value
        self.l1_regularization_strength = l1_regularization_strength
        self.l2_regularization_strength = l2_regularization_strength
        self.l2_shrinkage_regularization_strength = l2_shrinkage_regularization_strength
        self.beta = beta

    def build_slots(self, variable):
        accumulator = _zeros_like(variable)
        accumulator += self.initial_accumulator_value
        return {"accumulator": accumulator, "linear": _zeros_like(variable)}

    def update_step(self, gradient, variable, slots, learning_rate):
        xp = backend_of(variable).xp
        power = -self.learning_rate_power
        l1 = self.l1_regularization_strength
        l2 = self.l2_regularization_strength + self.beta / (2.0 * learning_rate)
        acc, linear = slots["accumulator"], slots["linear"]
        old_scale = xp.power(acc, power)
        tmp = xp.multiply(gradient, gradient)
        acc += tmp  # the new accumulator
        new_scale = xp.power(acc, power)
        # z += g_s - (n_new^p - n^p) / lr * w, with g_s = g + 2 * shrinkage * w
        xp.subtract(new_scale, old_scale, out=tmp)
        tmp /= learning_rate
        tmp *= variable
        linear += gradient
        if self.l2_shrinkage_regularization_strength:
            linear += variable * (2 * self.l2_shrinkage_regularization_strength)
        linear -= tmp
        # w = (clip(z, -l1, l1) - z) / (n_new^p / lr + 2 * l2)
        new_scale /= learning_rate
        new_scale += 2 * l2
        xp.clip(linear, -l1, l1, out=tmp)
        tmp -= linear
        xp.divide(tmp, new_scale, out=variable)

    def get_config(self):
        config = super().get_config()
        config.update({
            "learning_rate_power": self.learning_rate_power,
            "initial_accumulator_value": self.initial_accumulator_value,
            "l1_regularization_strength": self.l1_regularization_strength,
            "l2_regularization_strength": self.l2_regularization_strength,
            "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
            "beta": self.beta,
        })
        return config
